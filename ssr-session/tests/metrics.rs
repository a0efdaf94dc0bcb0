//! The labels of `docs/metrics.md` that the examples' scrapes do not reach
//! (`examples/axum-ssr/tests/metrics.rs`, `examples/multi-issuer`,
//! `redis/tests/metrics.rs`): each reason below is driven through the real
//! verifier, pipeline or key provider, with JWKS served over 127.0.0.1,
//! and read back from `metrics-util`'s debugging recorder.
//!
//! One recorder serves the whole process, so the tests take turns
//! ([`SERIAL`]); its snapshots hand counters back and zero them, so each
//! snapshot holds what moved since the one before.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::{Value, json};
use ssr_session::adapter::{Memo, RequestView};
use ssr_session::csrf::AntiCsrf;
use ssr_session::issuers::{IssuerKeyProvider, IssuerKeys};
use ssr_session::keys::{Algorithm, StaticKeys};
use ssr_session::requirement::{RequirementContext, RequirementFailure};
use ssr_session::source::{HeaderList, Headers};
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::verify::{TokenStructure, UnknownKeyPolicy};
use ssr_session::{
    CsrfProtection, JwksKeyProvider, Session, SessionConfig, SuperTokensClaims, Verifier,
};
use tokio::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::const_new(());

/// Installs the recorder once (before any verifier of this binary is built,
/// since each test calls this first) and zeroes every counter.
fn fresh_counters() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    let snapshotter = SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this binary");
        snapshotter
    });
    snapshotter.snapshot();
    snapshotter
}

/// What each counter gained since the last snapshot, by
/// `name{label="value",…}` (labels in the order recorded).
fn moved(snapshotter: &Snapshotter) -> HashMap<String, u64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let DebugValue::Counter(count) = value else {
                return None;
            };
            let key = key.key();
            let labels: Vec<String> = key
                .labels()
                .map(|label| format!("{}=\"{}\"", label.key(), label.value()))
                .collect();
            let series = if labels.is_empty() {
                key.name().to_owned()
            } else {
                format!("{}{{{}}}", key.name(), labels.join(","))
            };
            Some((series, count))
        })
        .filter(|(_, count)| *count > 0)
        .collect()
}

fn decision(outcome: &str, reason: &str) -> String {
    format!("ssr_session_decisions_total{{outcome=\"{outcome}\",reason=\"{reason}\"}}")
}

/// Exactly `expected` moved among the decisions and claim failures (no
/// other outcome or reason was counted).
#[track_caller]
fn assert_decided(snapshotter: &Snapshotter, expected: &[(&str, u64)]) {
    let mut moved = moved(snapshotter);
    moved.retain(|series, _| {
        series.starts_with("ssr_session_decisions_total")
            || series.starts_with("ssr_session_claim_failures_total")
    });
    let expected: HashMap<String, u64> = expected
        .iter()
        .map(|(series, count)| ((*series).to_owned(), *count))
        .collect();
    assert_eq!(moved, expected);
}

fn es256(kid: &str) -> TestKey {
    TestKey::generate(Algorithm::ES256, kid)
}

fn static_keys(keys: &[&TestKey]) -> StaticKeys {
    StaticKeys::from_jwks_json(jwks(keys).to_string()).unwrap()
}

/// A JWKS server on 127.0.0.1: `/jwks.json` (one key), `/big.json` (a
/// valid set, larger than the tests' cap), `/broken.json` (500),
/// `/slow.json` (answers after 10 s) and `/t/{tenant}/jwks.json`.
async fn serve(key: &TestKey) -> String {
    let set = jwks(&[key]);
    let big = {
        let mut big = set.clone();
        big["padding"] = Value::String("x".repeat(4096));
        big
    };
    let tenant_set = set.clone();
    let router = Router::new()
        .route("/jwks.json", get(move || async move { json_body(&set) }))
        .route("/big.json", get(move || async move { json_body(&big) }))
        .route(
            "/broken.json",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route(
            "/slow.json",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                StatusCode::OK
            }),
        )
        .route(
            "/t/{tenant}/jwks.json",
            get(move |Path(_tenant): Path<String>| async move { json_body(&tenant_set) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn json_body(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// A port of 127.0.0.1 that nothing listens on.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    base
}

fn plan_is_fresh(
    claims: &SuperTokensClaims,
    _: &RequirementContext,
) -> Result<(), RequirementFailure> {
    match claims.get("plan") {
        Some(plan) if plan == "pro" => Ok(()),
        // A value the backend would bring up to date on refresh.
        _ => Err(RequirementFailure::new("plan", json!({"message": "stale"})).refresh_may_help()),
    }
}

#[tokio::test]
async fn the_decisions_the_example_does_not_reach_are_counted_by_reason() {
    let _turn = SERIAL.lock().await;
    let counters = fresh_counters();
    let key = es256("k");
    let token = TokenBuilder::supertokens("alice", 600);

    // A `kid` nobody published, with the lenient policy: needs refresh.
    let lenient = Verifier::builder(static_keys(&[&key]))
        .unknown_key(UnknownKeyPolicy::NeedsRefresh)
        .build()
        .unwrap();
    let outcome = lenient.verify_token(&token.sign(&es256("other"))).await;
    assert!(outcome.is_needs_refresh(), "{outcome:?}");
    assert_decided(counters, &[(&decision("needs_refresh", "unknown_key"), 1)]);

    // A refreshable requirement of the verifier: needs refresh, and the
    // claim's failure counted by its id.
    let verifier = Verifier::builder(static_keys(&[&key]))
        .require(plan_is_fresh)
        .build()
        .unwrap();
    let outcome = verifier.verify_token(&token.sign(&key)).await;
    assert!(outcome.is_needs_refresh(), "{outcome:?}");
    assert_decided(
        counters,
        &[
            (&decision("needs_refresh", "claim"), 1),
            ("ssr_session_claim_failures_total{claim=\"plan\"}", 1),
        ],
    );

    // Past the size cap: refused before anything is decoded.
    let small = Verifier::builder(static_keys(&[&key]))
        .max_token_bytes(64)
        .build()
        .unwrap();
    assert!(small.verify_token(&token.sign(&key)).await.is_invalid());
    assert_decided(counters, &[(&decision("invalid", "too_large"), 1)]);

    // An algorithm the verifier does not accept.
    let rsa_only = Verifier::builder(static_keys(&[&key]))
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap();
    assert!(rsa_only.verify_token(&token.sign(&key)).await.is_invalid());
    assert_decided(
        counters,
        &[(&decision("invalid", "algorithm_not_allowed"), 1)],
    );

    // No `kid`, and two keys that could verify it.
    let twins = Verifier::builder(static_keys(&[&es256("a"), &es256("b")]))
        .token_structure(TokenStructure::AnyJwt)
        .build()
        .unwrap();
    let unnamed = TokenBuilder::new()
        .claim("sub", "alice")
        .expires_in(600)
        .without_header("kid")
        .sign(&key);
    let outcome = twins.verify_token(&unnamed).await;
    assert!(outcome.is_invalid(), "{outcome:?}");
    assert_decided(counters, &[(&decision("invalid", "ambiguous_key"), 1)]);
}

/// A request as the pipeline sees it, for the anti-CSRF check.
struct Request {
    headers: HeaderList,
    memo: Option<Memo>,
}

impl RequestView<SuperTokensClaims> for Request {
    fn headers(&self) -> &dyn Headers {
        &self.headers
    }
    fn method(&self) -> &str {
        "POST"
    }
    fn path_and_query(&self) -> Cow<'_, str> {
        "/account/settings".into()
    }
    fn memo(&self) -> Option<Memo> {
        self.memo.clone()
    }
    fn keep_memo(&mut self, memo: Memo) -> Option<Memo> {
        self.memo = Some(memo);
        None
    }
}

#[tokio::test]
async fn a_request_without_the_anti_csrf_token_is_counted_as_forged() {
    let _turn = SERIAL.lock().await;
    let counters = fresh_counters();
    let key = es256("k");
    let verifier = Verifier::builder(static_keys(&[&key])).build().unwrap();
    let config = SessionConfig::new(verifier).csrf(
        CsrfProtection::default()
            .public_origin("https://app.example")
            .unwrap()
            .anti_csrf(AntiCsrf::ViaToken),
    );
    let token = TokenBuilder::supertokens("alice", 600)
        .claim("antiCsrfToken", "the-right-one")
        .sign(&key);
    let request = |anti_csrf: &str| Request {
        headers: HeaderList::new()
            .with("cookie", format!("sAccessToken={token}"))
            .with("sec-fetch-site", "same-origin")
            .with("anti-csrf", anti_csrf),
        memo: None,
    };

    let allowed = config
        .extract::<Session, _>(&mut request("the-right-one"), None)
        .await;
    assert!(allowed.is_ok(), "{allowed:?}");
    let refused = config
        .extract::<Session, _>(&mut request("a-guess"), None)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 401, "{}", refused.body_text());
    let gained = moved(counters);
    assert_eq!(
        gained.get("ssr_session_forged_requests_total{kind=\"anti_csrf\"}"),
        Some(&1),
        "{gained:?}"
    );
    assert_eq!(
        gained.get("ssr_session_forged_requests_total{kind=\"cross_origin\"}"),
        None,
        "{gained:?}"
    );
}

#[tokio::test]
async fn jwks_fetches_are_counted_by_result() {
    let _turn = SERIAL.lock().await;
    let counters = fresh_counters();
    let key = es256("k");
    let base = serve(&key).await;
    let closed = closed_port().await;
    let token = TokenBuilder::supertokens("alice", 600).sign(&key);

    let cases = [
        (format!("{closed}/jwks.json"), "unreachable"),
        (format!("{base}/slow.json"), "timeout"),
        (format!("{base}/big.json"), "too_large"),
    ];
    for (url, result) in cases {
        let keys = JwksKeyProvider::builder(&url)
            .timeout(Duration::from_millis(300))
            .max_body_bytes(1024)
            .build()
            .unwrap();
        let verifier = Verifier::builder(keys).build().unwrap();
        let outcome = verifier.verify_token(&token).await;
        assert!(outcome.is_unavailable(), "{result}: {outcome:?}");
        let gained = moved(counters);
        let series = format!("ssr_session_jwks_fetches_total{{result=\"{result}\"}}");
        assert_eq!(gained.get(&series), Some(&1), "{result}: {gained:?}");
        assert_eq!(
            gained.get(&decision("unavailable", "keys")),
            Some(&1),
            "{result}: {gained:?}"
        );
    }
}

#[tokio::test]
async fn issuers_refused_for_the_limit_or_a_failed_setup_are_counted() {
    let _turn = SERIAL.lock().await;
    let counters = fresh_counters();
    let key = es256("k");
    let base = serve(&key).await;
    let keys = IssuerKeyProvider::builder()
        .issuer_template(
            "https://{tenant}.login.example/v1",
            IssuerKeys::JwksUrl(format!("{base}/t/{{tenant}}/jwks.json")),
        )
        .issuer(
            "https://broken.example/v1",
            IssuerKeys::JwksUrl(format!("{base}/broken.json")),
        )
        .new_issuer_limit(1, Duration::from_secs(3600))
        .build()
        .unwrap();
    let verifier = Verifier::builder(keys).build().unwrap();
    let token_of = |issuer: &str| {
        TokenBuilder::supertokens("alice", 600)
            .claim("iss", issuer)
            .sign(&key)
    };

    let first = verifier
        .verify_token(&token_of("https://acme.login.example/v1"))
        .await;
    assert!(first.is_valid(), "{first:?}");
    // The burst of one is spent: a second new tenant waits for the refill.
    let limited = verifier
        .verify_token(&token_of("https://globex.login.example/v1"))
        .await;
    assert!(limited.is_unavailable(), "{limited:?}");
    let gained = moved(counters);
    assert_eq!(
        gained.get("ssr_session_issuers_refused_total{reason=\"rate_limited\"}"),
        Some(&1),
        "{gained:?}"
    );

    // An allowed issuer whose JWKS endpoint fails (the limit spent, but
    // exact issuers are not limited).
    let broken = verifier
        .verify_token(&token_of("https://broken.example/v1"))
        .await;
    assert!(broken.is_unavailable(), "{broken:?}");
    let gained = moved(counters);
    assert_eq!(
        gained.get("ssr_session_issuers_refused_total{reason=\"setup_failed\"}"),
        Some(&1),
        "{gained:?}"
    );
    assert_eq!(
        gained.get("ssr_session_jwks_fetches_total{result=\"status\"}"),
        Some(&1),
        "{gained:?}"
    );
}
