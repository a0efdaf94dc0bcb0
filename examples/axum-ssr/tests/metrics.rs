//! Every number of `ssr-session/docs/metrics.md` moves when it should: the
//! axum example, in process with `--metrics` (its real router, the real
//! adapter's pipeline, its keys fetched over HTTP from its own origin),
//! driven through each outcome over 127.0.0.1 and scraped at `/metrics`.
//!
//! One recorder serves the whole process, so the tests take turns
//! ([`SERIAL`]) and assert on what each request added.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use ssr_session::keys::Algorithm;
use ssr_session::testing::{TestKey, TokenBuilder};
use ssr_session::{JwksKeyProvider, Verifier, keys::StaticKeys, source::HeaderList};
use ssr_session_example_support::dev_issuer::DevIssuer;
use ssr_session_example_support::metrics::{recorder, render, value};
use ssr_session_example_support::site::{Options, Site};
use tokio::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::const_new(());

/// The example, serving on a free port of 127.0.0.1.
struct App {
    base: String,
    issuer: DevIssuer,
    client: reqwest::Client,
}

impl App {
    async fn start(args: &[&str]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options =
            Options::parse_from(["axum-ssr", "--addr", &addr.to_string()].iter().chain(args));
        let site = Site::new(&options, addr).unwrap();
        site.ready().await.unwrap();
        let issuer = site.issuer.clone().expect("the embedded dev issuer");
        let router = ssr_session_example_axum::router(site);
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            base: format!("http://{addr}"),
            issuer,
            client: reqwest::Client::new(),
        }
    }

    /// `GET path` with `token` as the `sAccessToken` cookie (none when empty).
    async fn get(&self, path: &str, token: &str) -> u16 {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if !token.is_empty() {
            request = request.header("cookie", format!("sAccessToken={token}"));
        }
        request.send().await.unwrap().status().as_u16()
    }

    async fn scrape(&self) -> String {
        let answer = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let content_type = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        answer.text().await.unwrap()
    }
}

/// The value of `series` in `text`, 0 when absent (a counter not moved yet).
fn at(text: &str, series: &str) -> f64 {
    value(text, series).unwrap_or(0.0)
}

fn decisions(outcome: &str, reason: &str) -> String {
    format!("ssr_session_decisions_total{{outcome=\"{outcome}\",reason=\"{reason}\"}}")
}

/// What `series` gained while `step` ran.
async fn moved<F: Future<Output = ()>>(app: &App, series: &str, step: F) -> f64 {
    let before = at(&app.scrape().await, series);
    step.await;
    at(&app.scrape().await, series) - before
}

#[tokio::test]
async fn every_decision_is_counted_by_outcome_and_reason() {
    let _turn = SERIAL.lock().await;
    let app = App::start(&["--metrics"]).await;
    let issuer = &app.issuer;

    let token = issuer.mint_access_token("alice");
    let valid = decisions("valid", "");
    assert_eq!(
        moved(&app, &valid, async {
            assert_eq!(app.get("/api/me", &token).await, 200)
        })
        .await,
        1.0
    );

    let missing = decisions("needs_refresh", "missing");
    assert_eq!(
        moved(&app, &missing, async {
            assert_eq!(app.get("/api/me", "").await, 401)
        })
        .await,
        1.0
    );

    let expired = issuer.mint_expired_access_token("alice");
    let series = decisions("needs_refresh", "expired");
    assert_eq!(
        moved(&app, &series, async {
            assert_eq!(app.get("/api/me", &expired).await, 401)
        })
        .await,
        1.0
    );

    let series = decisions("invalid", "malformed");
    assert_eq!(
        moved(&app, &series, async {
            assert_eq!(app.get("/api/me", "not.a-token").await, 401)
        })
        .await,
        1.0
    );

    let (head, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", "A".repeat(342));
    let series = decisions("invalid", "bad_signature");
    assert_eq!(
        moved(&app, &series, async {
            assert_eq!(app.get("/api/me", &forged).await, 401)
        })
        .await,
        1.0
    );

    // A key the app never published: refetched once, then refused.
    let stranger = TestKey::generate(Algorithm::RS256, "stranger");
    let unknown = TokenBuilder::supertokens("alice", 3600)
        .claim("iss", issuer.issuer())
        .sign(&stranger);
    let refetches = "ssr_session_jwks_unknown_kid_refetches_total";
    let before = app.scrape().await;
    assert_eq!(app.get("/api/me", &unknown).await, 401);
    let after = app.scrape().await;
    let series = decisions("invalid", "unknown_key");
    assert_eq!(at(&after, &series) - at(&before, &series), 1.0);
    assert_eq!(at(&after, refetches) - at(&before, refetches), 1.0);

    // The issuer's own key, the wrong `iss`: a registered claim fails.
    let elsewhere = issuer.sign(
        &TokenBuilder::supertokens("alice", 3600).claim("iss", "https://elsewhere.example/auth"),
    );
    let claim_iss = "ssr_session_claim_failures_total{claim=\"iss\"}";
    let before = app.scrape().await;
    assert_eq!(app.get("/api/me", &elsewhere).await, 401);
    let after = app.scrape().await;
    let series = decisions("invalid", "claim");
    assert_eq!(at(&after, &series) - at(&before, &series), 1.0);
    assert_eq!(at(&after, claim_iss) - at(&before, claim_iss), 1.0);

    // Signed out: the next request with the same token is refused as revoked.
    let session = issuer.mint_session("bob");
    let signed_out = app
        .client
        .post(format!("{}/auth/signout", app.base))
        .header("cookie", format!("sAccessToken={}", session.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 200);
    let series = decisions("invalid", "revoked");
    assert_eq!(
        moved(&app, &series, async {
            assert_eq!(app.get("/api/me", &session.access_token).await, 401)
        })
        .await,
        1.0
    );

    // A rotated key while the JWKS endpoint is down: our failure, a 503.
    issuer.rotate_keys();
    issuer.set_jwks_outage(true);
    let rotated = issuer.mint_access_token("carol");
    let failed_fetches = "ssr_session_jwks_fetches_total{result=\"status\"}";
    let before = app.scrape().await;
    assert_eq!(app.get("/api/me", &rotated).await, 503);
    let after = app.scrape().await;
    let series = decisions("unavailable", "keys");
    assert_eq!(at(&after, &series) - at(&before, &series), 1.0);
    assert_eq!(
        at(&after, failed_fetches) - at(&before, failed_fetches),
        1.0
    );
    issuer.set_jwks_outage(false);
}

#[tokio::test]
async fn the_token_cache_and_the_key_fetches_are_counted() {
    let _turn = SERIAL.lock().await;
    let app = App::start(&["--metrics"]).await;
    let before = app.scrape().await;
    let token = app.issuer.mint_access_token("alice");
    for _ in 0..3 {
        assert_eq!(app.get("/dashboard", &token).await, 200);
    }
    let after = app.scrape().await;
    let gained = |series: &str| at(&after, series) - at(&before, series);
    // Verified once in full, then found in the cache.
    assert_eq!(gained("ssr_session_token_cache_misses_total"), 1.0);
    assert_eq!(gained("ssr_session_token_cache_hits_total"), 2.0);
    // This app's first lookup fetched its key set: one fetch, timed, and
    // its one key held (the gauge sums every provider of the process).
    assert_eq!(gained("ssr_session_jwks_fetches_total{result=\"ok\"}"), 1.0);
    assert_eq!(gained("ssr_session_jwks_fetch_duration_seconds_count"), 1.0);
    assert!(gained("ssr_session_jwks_fetch_duration_seconds_sum") > 0.0);
    assert_eq!(gained("ssr_session_jwks_keys"), 1.0);
}

#[tokio::test]
async fn requirement_failures_and_forged_requests_are_counted() {
    let _turn = SERIAL.lock().await;
    let app = App::start(&["--metrics"]).await;
    // `/verified` requires a verified email; alice's is not.
    let token = app.issuer.mint_access_token("alice");
    let series = "ssr_session_claim_failures_total{claim=\"st-ev\"}";
    assert_eq!(
        moved(&app, series, async {
            assert_eq!(app.get("/verified", &token).await, 403)
        })
        .await,
        1.0
    );

    // A form posted from another site, with a valid session.
    let series = "ssr_session_forged_requests_total{kind=\"cross_origin\"}";
    let post = async {
        let answer = app
            .client
            .post(format!("{}/account/settings", app.base))
            .header("cookie", format!("sAccessToken={token}"))
            .header("sec-fetch-site", "cross-site")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("theme=dark")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 403);
    };
    assert_eq!(moved(&app, series, post).await, 1.0);
}

#[tokio::test]
async fn the_live_view_is_linked_and_nothing_is_served_without_the_flag() {
    let _turn = SERIAL.lock().await;
    let app = App::start(&["--metrics"]).await;
    let token = app.issuer.mint_access_token("alice");
    assert_eq!(app.get("/dashboard", &token).await, 200);
    assert_eq!(app.get("/dashboard", &token).await, 200);
    let home = app
        .client
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("href=\"/metrics/live\""), "{home}");
    let live = app
        .client
        .get(format!("{}/metrics/live", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(live.contains("http-equiv=\"refresh\""), "{live}");
    assert!(live.contains("ssr_session_decisions_total"), "{live}");
    assert!(live.contains("id=\"cache-hit-ratio\">"), "{live}");
    assert!(
        !live.contains("id=\"cache-hit-ratio\">-<"),
        "a hit ratio once there were hits: {live}"
    );

    let plain = App::start(&[]).await;
    assert_eq!(plain.get("/metrics", "").await, 404);
    assert_eq!(plain.get("/metrics/live", "").await, 404);
    let home = plain
        .client
        .get(format!("{}/", plain.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("/metrics/live"), "{home}");
}

/// The cache's evictions, through a verifier of the same process (the
/// example's cache holds 10 000 tokens: no request sequence fills it).
#[tokio::test]
async fn a_full_token_cache_counts_its_evictions() {
    let _turn = SERIAL.lock().await;
    let handle = recorder();
    let key = TestKey::generate(Algorithm::RS256, "k-1");
    let keys = StaticKeys::from_jwks_json(ssr_session::testing::jwks(&[&key]).to_string()).unwrap();
    let verifier = Verifier::builder(keys)
        .token_cache_capacity(1)
        .build()
        .unwrap();
    let series = "ssr_session_token_cache_evictions_total{reason=\"capacity\"}";
    let before = at(&render(&handle), series);
    for user in ["a", "b", "c"] {
        let token = TokenBuilder::supertokens(user, 3600).sign(&key);
        let headers = HeaderList::new().with("authorization", format!("Bearer {token}"));
        assert!(verifier.verify(&headers).await.is_valid());
    }
    // A capacity of one: each new token evicts the last.
    assert_eq!(at(&render(&handle), series) - before, 2.0);
}

/// Lookups turned away when too many wait for a key set that does not come.
#[tokio::test]
async fn lookups_past_the_waiting_limit_are_turned_away() {
    let _turn = SERIAL.lock().await;
    let handle = recorder();
    // A server that accepts and never answers: every lookup waits.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let keys = JwksKeyProvider::builder(&format!("http://{addr}/jwks.json"))
        .max_waiting_lookups(1)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let verifier = Arc::new(Verifier::builder(keys).build().unwrap());
    let key = TestKey::generate(Algorithm::RS256, "k-1");
    let token = TokenBuilder::supertokens("alice", 3600).sign(&key);
    let series = "ssr_session_jwks_lookups_turned_away_total";
    let before = at(&render(&handle), series);
    let first = {
        let (verifier, token) = (verifier.clone(), token.clone());
        tokio::spawn(async move { verifier.verify_token(&token).await })
    };
    // The second lookup finds the one waiting place taken: turned away at
    // once (retried until the first is surely waiting).
    let mut turned_away = 0.0;
    for _ in 0..200 {
        let outcome = verifier.verify_token(&token).await;
        assert!(outcome.is_unavailable(), "{outcome:?}");
        turned_away = at(&render(&handle), series) - before;
        if turned_away >= 1.0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(turned_away >= 1.0, "no lookup was turned away");
    assert!(first.await.unwrap().is_unavailable());
}
