//! `IssuerKeyProvider` against real HTTP servers on 127.0.0.1: each test
//! starts its own issuers (discovery documents and JWKS), each server
//! counting the requests it receives, path by path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use ssr_session::testing::{TestKey, TokenBuilder, jwks, random_hex};
use ssr_session::{
    JwksKeyProvider, KeyProvider, SessionOutcome, Verifier, error::ClaimFailure,
    error::InvalidKind, error::KeySourceError, issuers::IssuerKeyProvider,
    issuers::IssuerKeyProviderBuilder, issuers::IssuerKeys, keys::Algorithm, keys::KeyLookupError,
    keys::KeyRequest,
};

// ---------------------------------------------------------------------------
// The test server
// ---------------------------------------------------------------------------

#[derive(Clone)]
struct Reply {
    status: StatusCode,
    body: String,
}

#[derive(Default)]
struct ServerState {
    routes: Mutex<HashMap<String, Reply>>,
    /// Requests per path, including paths with no route (404).
    hits: Mutex<HashMap<String, usize>>,
    total: AtomicUsize,
}

struct Server {
    base: String,
    state: Arc<ServerState>,
}

impl Server {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ServerState::default());
        let app = Router::new().fallback(answer).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, state }
    }

    fn set(&self, path: &str, status: u16, body: String) {
        let reply = Reply {
            status: StatusCode::from_u16(status).unwrap(),
            body,
        };
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), reply);
    }

    /// Publishes `keys` at `{path}/jwks.json`; returns its URL.
    fn publish_jwks(&self, path: &str, keys: &[&TestKey]) -> String {
        let jwks_path = format!("{path}/jwks.json");
        self.set(&jwks_path, 200, jwks(keys).to_string());
        self.url(&jwks_path)
    }

    /// An OpenID issuer at `{base}{path}`: its discovery document and its
    /// JWKS. Returns the issuer.
    fn oidc_issuer(&self, path: &str, keys: &[&TestKey]) -> String {
        let issuer = self.url(path);
        let jwks_uri = self.publish_jwks(path, keys);
        self.set(
            &format!("{path}/.well-known/openid-configuration"),
            200,
            json!({"issuer": issuer, "jwks_uri": jwks_uri}).to_string(),
        );
        issuer
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn total(&self) -> usize {
        self.state.total.load(Ordering::SeqCst)
    }

    fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

async fn answer(State(state): State<Arc<ServerState>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    state.total.fetch_add(1, Ordering::SeqCst);
    let reply = state.routes.lock().unwrap().get(&path).cloned();
    match reply {
        Some(reply) => (
            reply.status,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "max-age=300"),
            ],
            reply.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn es256(kid: &str) -> TestKey {
    TestKey::generate(Algorithm::ES256, kid)
}

fn token(issuer: &str, user: &str, key: &TestKey) -> String {
    TokenBuilder::supertokens(user, 600)
        .claim("iss", issuer)
        .sign(key)
}

fn builder() -> IssuerKeyProviderBuilder {
    IssuerKeyProvider::builder().configure_jwks(|jwks| jwks.timeout(Duration::from_secs(2)))
}

fn verifier(keys: &IssuerKeyProvider) -> Verifier {
    Verifier::builder(keys.clone()).build().unwrap()
}

/// The session's user and `iss`, or the outcome's description.
fn user_and_issuer(outcome: &SessionOutcome) -> Result<(String, String), String> {
    match outcome {
        SessionOutcome::Valid(session) => Ok((
            session.user_id().to_owned(),
            session.claims().iss.clone().unwrap_or_default(),
        )),
        other => Err(format!("{other:?}")),
    }
}

fn invalid_kind(outcome: &SessionOutcome) -> InvalidKind {
    match outcome {
        SessionOutcome::Invalid(invalid) => invalid.kind().clone(),
        other => panic!("expected invalid, got {other:?}"),
    }
}

fn is_issuer_refusal(outcome: &SessionOutcome) -> bool {
    matches!(
        outcome,
        SessionOutcome::Invalid(invalid) if *invalid.kind() == InvalidKind::Claim(ClaimFailure::Issuer)
    )
}

async fn lookup(
    keys: &IssuerKeyProvider,
    issuer: &str,
    kid: &str,
) -> Result<Arc<ssr_session::keys::VerifyingKey>, KeyLookupError> {
    let request = KeyRequest::new(Some(kid), Algorithm::ES256).with_issuer(Some(issuer));
    keys.key(&request).await
}

// ---------------------------------------------------------------------------
// Kept apart
// ---------------------------------------------------------------------------

#[tokio::test]
async fn three_issuers_with_colliding_kids_stay_apart() {
    let server = Server::start().await;
    let jwks_server = Server::start().await;
    let keys_of = [es256("k1"), es256("k1"), es256("k1")];
    // Two tenants of a template (discovery) and one exact issuer with a
    // JWKS URL on another server: all three call their key `k1`.
    let a = server.oidc_issuer("/tenant-a/v2.0", &[&keys_of[0]]);
    let b = server.oidc_issuer("/tenant-b/v2.0", &[&keys_of[1]]);
    let c = jwks_server.url("/c");
    let c_jwks = jwks_server.publish_jwks("/c", &[&keys_of[2]]);
    let keys = builder()
        .issuer_template(&server.url("/{tenant}/v2.0"), IssuerKeys::Discovery)
        .issuer(&c, IssuerKeys::JwksUrl(c_jwks))
        .build()
        .unwrap();
    let verifier = verifier(&keys);
    let issuers = [&a, &b, &c];
    for (i, issuer) in issuers.iter().enumerate() {
        for (j, signer) in keys_of.iter().enumerate() {
            let outcome = verifier
                .verify_token(&token(issuer, &format!("user-{i}"), signer))
                .await;
            if i == j {
                assert_eq!(
                    user_and_issuer(&outcome),
                    Ok((format!("user-{i}"), issuer.to_string())),
                    "issuer {i}"
                );
            } else {
                assert_eq!(
                    invalid_kind(&outcome),
                    InvalidKind::BadSignature,
                    "issuer {i}'s token signed by issuer {j}'s `k1`"
                );
            }
        }
    }
    // Each key is bound to its issuer.
    for issuer in issuers {
        let set = keys
            .issuer_keys(issuer)
            .await
            .unwrap()
            .key_set()
            .await
            .unwrap();
        assert_eq!(set.keys().len(), 1);
        assert_eq!(set.keys()[0].issuer(), Some(issuer.as_str()));
    }
    // One setup each: one discovery (two issuers) and one JWKS fetch each.
    assert_eq!(keys.setup_count(), 3);
    assert_eq!(keys.discovery_count(), 2);
    assert_eq!(server.total(), 4);
    assert_eq!(jwks_server.total(), 1);
}

#[tokio::test]
async fn the_token_cache_never_answers_for_another_issuer() {
    // The very same key published by two issuers: a token of each verifies,
    // each with its own issuer's (bound) key, and each is cached apart.
    let server = Server::start().await;
    let shared = es256("same");
    let a = server.oidc_issuer("/a", &[&shared]);
    let b = server.oidc_issuer("/b", &[&shared]);
    let keys = builder().oidc_issuer(&a).oidc_issuer(&b).build().unwrap();
    let verifier = verifier(&keys);
    let token_a = token(&a, "alice", &shared);
    let outcome = verifier.verify_token(&token_a).await;
    assert_eq!(user_and_issuer(&outcome), Ok(("alice".into(), a.clone())));
    assert_eq!(verifier.cached_tokens(), 1);
    assert_eq!(server.hits("/b/jwks.json"), 0);

    // Token A's header and signature with the payload's `iss` changed to B:
    // a different token, checked in full against B, and forged.
    let parts: Vec<&str> = token_a.split('.').collect();
    let claims = TokenBuilder::supertokens("alice", 600).claim("iss", b.as_str());
    let forged_payload = claims.sign(&shared);
    let forged_payload = forged_payload.split('.').nth(1).unwrap();
    let spliced = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(
        invalid_kind(&verifier.verify_token(&spliced).await),
        InvalidKind::BadSignature
    );
    assert_eq!(server.hits("/b/jwks.json"), 1, "B's keys were asked");

    let token_b = token(&b, "bob", &shared);
    for _ in 0..3 {
        assert_eq!(
            user_and_issuer(&verifier.verify_token(&token_b).await),
            Ok(("bob".into(), b.clone()))
        );
        assert_eq!(
            user_and_issuer(&verifier.verify_token(&token_a).await),
            Ok(("alice".into(), a.clone()))
        );
    }
    assert_eq!(verifier.cached_tokens(), 2);
    let key_a = lookup(&keys, &a, "same").await.unwrap();
    let key_b = lookup(&keys, &b, "same").await.unwrap();
    assert!(!Arc::ptr_eq(&key_a, &key_b));
    assert_eq!(
        (key_a.issuer(), key_b.issuer()),
        (Some(a.as_str()), Some(b.as_str()))
    );
}

#[tokio::test]
async fn a_key_bound_to_one_issuer_refuses_another_iss() {
    let server = Server::start().await;
    let key = es256("k");
    let url = server.publish_jwks("/a", &[&key]);
    let keys = JwksKeyProvider::builder(&url)
        .bind_issuer("https://a.example")
        .build()
        .unwrap();
    assert_eq!(keys.bound_issuer(), Some("https://a.example"));
    let verifier = Verifier::builder(keys).build().unwrap();
    let good = verifier
        .verify_token(&token("https://a.example", "u", &key))
        .await;
    assert_eq!(
        user_and_issuer(&good),
        Ok(("u".into(), "https://a.example".into()))
    );
    for bad in [
        token("https://b.example", "u", &key),
        TokenBuilder::supertokens("u", 600).sign(&key), // no `iss`
    ] {
        assert!(is_issuer_refusal(&verifier.verify_token(&bad).await));
    }
}

// ---------------------------------------------------------------------------
// No SSRF
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_attacker_pointed_iss_makes_no_request_at_all() {
    let legit = Server::start().await;
    let attacker = Server::start().await;
    let good_key = es256("k");
    let issuer = legit.oidc_issuer("/good/v2.0", &[&good_key]);
    // The attacker serves a perfectly good issuer of its own.
    let attacker_key = es256("k");
    let attacker_issuer = attacker.oidc_issuer("/evil/v2.0", &[&attacker_key]);
    let keys = builder()
        .issuer_template(&legit.url("/{tenant}/v2.0"), IssuerKeys::Discovery)
        .build()
        .unwrap();
    let verifier = verifier(&keys);
    let legit_prefix = legit.url("");
    let forged_issuers = [
        attacker_issuer.clone(),
        attacker.base.clone(),
        format!("{legit_prefix}/../evil/v2.0"),
        format!("{legit_prefix}/a/b/v2.0"),
        format!("{legit_prefix}/%2e%2e/v2.0"),
        format!("{legit_prefix}/good/v2.0/"),
        format!("{legit_prefix}/good/v2.0?x=1"),
        format!(
            "{legit_prefix}@{}/good/v2.0",
            attacker.base.trim_start_matches("http://")
        ),
        format!("{legit_prefix}//v2.0"),
        format!("{legit_prefix}/{}/v2.0", "a".repeat(65)),
        String::new(),
    ];
    for forged in &forged_issuers {
        let outcome = verifier
            .verify_token(&token(forged, "mallory", &attacker_key))
            .await;
        assert!(is_issuer_refusal(&outcome), "{forged}: {outcome:?}");
    }
    // `iss` missing, or not a string.
    for claims in [
        TokenBuilder::supertokens("mallory", 600),
        TokenBuilder::supertokens("mallory", 600).claim("iss", json!([attacker_issuer])),
        TokenBuilder::supertokens("mallory", 600).claim("iss", 7),
    ] {
        let outcome = verifier.verify_token(&claims.sign(&attacker_key)).await;
        assert!(is_issuer_refusal(&outcome), "{outcome:?}");
    }
    assert_eq!(attacker.total(), 0, "requests to the attacker's server");
    assert_eq!(legit.total(), 0, "requests to the allowed server");
    assert_eq!(keys.setup_count(), 0);
    // The allowed issuer still works.
    let outcome = verifier
        .verify_token(&token(&issuer, "alice", &good_key))
        .await;
    assert_eq!(user_and_issuer(&outcome), Ok(("alice".into(), issuer)));
    assert_eq!(attacker.total(), 0);
}

// ---------------------------------------------------------------------------
// Floods of made-up tenants
// ---------------------------------------------------------------------------

#[tokio::test]
async fn ten_thousand_random_tenants_cost_a_bounded_number_of_fetches() {
    const TENANTS: usize = 10_000;
    const BURST: u32 = 50;
    const REFILL: Duration = Duration::from_secs(10);
    const MAX_REFUSED: u64 = 1_000;
    let server = Server::start().await;
    let good_key = es256("k");
    let good = server.oidc_issuer("/good/v2.0", &[&good_key]);
    let keys = builder()
        .issuer_template(&server.url("/{tenant}/v2.0"), IssuerKeys::Discovery)
        .new_issuer_limit(BURST, REFILL)
        .max_refused(MAX_REFUSED)
        .max_issuers(100)
        .build()
        .unwrap();
    let verifier = verifier(&keys);
    assert!(
        verifier
            .verify_token(&token(&good, "alice", &good_key))
            .await
            .is_valid()
    );
    let before = server.total();
    assert_eq!(before, 2);

    let forger = es256("k");
    let started = Instant::now();
    let mut refused = 0;
    let mut limited = 0;
    for _ in 0..TENANTS {
        let tenant = random_hex(8);
        let issuer = server.url(&format!("/{tenant}/v2.0"));
        match verifier
            .verify_token(&token(&issuer, "mallory", &forger))
            .await
        {
            outcome if is_issuer_refusal(&outcome) => refused += 1,
            SessionOutcome::Unavailable(_) => limited += 1,
            other => panic!("a made-up tenant gave {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    let fetches = server.total() - before;
    // The stated bound: the bucket, plus one per refill interval elapsed.
    let bound = BURST as usize + (elapsed.as_secs_f64() / REFILL.as_secs_f64()).ceil() as usize;
    println!(
        "{TENANTS} random tenants in {elapsed:?}: {fetches} discovery requests \
         (bound {bound}), {refused} not allowed, {limited} rate-limited"
    );
    assert!(fetches <= bound, "{fetches} fetches, bound {bound}");
    // The good tenant took one setup from the bucket before the flood.
    assert!(
        fetches >= BURST as usize - 1,
        "the bucket was used: {fetches}"
    );
    assert_eq!(refused, fetches, "each fetched tenant is refused (404)");
    assert_eq!(refused + limited, TENANTS);
    assert_eq!(server.hits("/good/v2.0/jwks.json"), 1);

    // Bounded memory: no made-up tenant is cached as an issuer, and at most
    // `max_refused` are remembered.
    keys.run_pending_tasks().await;
    assert_eq!(keys.cached_issuers(), 1);
    assert!(keys.refused_issuers() <= MAX_REFUSED);
    assert_eq!(keys.refused_issuers() as usize, refused);

    // The issuer set up before the flood is untouched.
    assert!(
        verifier
            .verify_token(&token(&good, "alice-2", &good_key))
            .await
            .is_valid()
    );
    assert_eq!(server.total() - before, fetches);
}

#[tokio::test]
async fn refused_tenants_cost_no_request_and_one_hook_call() {
    let server = Server::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let approved_key = es256("k");
    let approved = server.oidc_issuer("/approved/v2.0", &[&approved_key]);
    let keys = builder()
        .issuer_template(&server.url("/{tenant}/v2.0"), IssuerKeys::Discovery)
        .approve_tenants_with(move |tenant| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { tenant == "approved" }
        })
        .build()
        .unwrap();
    let verifier = verifier(&keys);
    let forger = es256("k");
    let tenants: Vec<String> = (0..200).map(|_| random_hex(6)).collect();
    for round in 0..3 {
        for tenant in &tenants {
            let issuer = server.url(&format!("/{tenant}/v2.0"));
            let outcome = verifier.verify_token(&token(&issuer, "m", &forger)).await;
            assert!(is_issuer_refusal(&outcome), "round {round}: {outcome:?}");
        }
    }
    assert_eq!(server.total(), 0);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        tenants.len(),
        "one call per tenant"
    );
    let outcome = verifier
        .verify_token(&token(&approved, "a", &approved_key))
        .await;
    assert!(outcome.is_valid(), "{outcome:?}");
    assert_eq!(server.total(), 2);
}

#[tokio::test]
async fn an_unknown_tenant_is_invalid_and_remembered() {
    let server = Server::start().await;
    let keys = builder()
        .issuer_template(&server.url("/{tenant}/v2.0"), IssuerKeys::Discovery)
        .build()
        .unwrap();
    let issuer = server.url("/nobody/v2.0");
    for _ in 0..5 {
        assert!(matches!(
            lookup(&keys, &issuer, "k").await,
            Err(KeyLookupError::IssuerNotAllowed)
        ));
    }
    assert_eq!(server.total(), 1, "one discovery, remembered");
    // A discovery document naming another issuer is refused the same way.
    let liar = server.url("/liar/v2.0");
    server.set(
        "/liar/v2.0/.well-known/openid-configuration",
        200,
        json!({"issuer": server.url("/other/v2.0"), "jwks_uri": server.url("/x")}).to_string(),
    );
    for _ in 0..3 {
        assert!(matches!(
            lookup(&keys, &liar, "k").await,
            Err(KeyLookupError::IssuerNotAllowed)
        ));
    }
    assert_eq!(server.total(), 2);
    assert_eq!(server.hits("/x"), 0, "the liar's jwks_uri is never fetched");
}

// ---------------------------------------------------------------------------
// The issuer cache
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cold_issuer_is_set_up_once_for_concurrent_first_visits() {
    let server = Server::start().await;
    let key = es256("k");
    let issuer = server.oidc_issuer("/t/v2.0", &[&key]);
    let keys = builder()
        .issuer_template(&server.url("/{tenant}/v2.0"), IssuerKeys::Discovery)
        .build()
        .unwrap();
    let verifier = verifier(&keys);
    let visits = (0..64).map(|i| {
        let verifier = verifier.clone();
        let token = token(&issuer, &format!("user-{i}"), &key);
        tokio::spawn(async move { verifier.verify_token(&token).await.is_valid() })
    });
    for visit in futures_util::future::join_all(visits).await {
        assert!(visit.unwrap());
    }
    assert_eq!(server.hits("/t/v2.0/.well-known/openid-configuration"), 1);
    assert_eq!(server.hits("/t/v2.0/jwks.json"), 1);
    assert_eq!(keys.setup_count(), 1);
}

#[tokio::test]
async fn an_idle_issuer_is_evicted_and_comes_back_with_one_fetch() {
    let server = Server::start().await;
    let key = es256("k");
    let jwks_url = server.publish_jwks("/a", &[&key]);
    let issuer = server.url("/a");
    let oidc_key = es256("k");
    let oidc = server.oidc_issuer("/o", &[&oidc_key]);
    let keys = builder()
        .issuer(&issuer, IssuerKeys::JwksUrl(jwks_url))
        .oidc_issuer(&oidc)
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let verifier = verifier(&keys);
    let token_a = token(&issuer, "alice", &key);
    let token_o = token(&oidc, "olga", &oidc_key);
    assert!(verifier.verify_token(&token_a).await.is_valid());
    assert!(verifier.verify_token(&token_o).await.is_valid());
    assert!(verifier.verify_token(&token_a).await.is_valid()); // a cache hit
    assert_eq!(server.hits("/a/jwks.json"), 1);
    assert_eq!(server.total(), 3);
    assert_eq!(verifier.cached_tokens(), 2);
    // A clone that outlives the eviction, as moka's lazily reclaimed
    // entries and in-flight lookups do: the eviction must end the keys'
    // use all the same.
    let lingering = keys.issuer_keys(&issuer).await.unwrap();

    tokio::time::sleep(Duration::from_millis(700)).await;
    keys.run_pending_tasks().await;
    assert_eq!(keys.cached_issuers(), 0, "idle issuers evicted");
    // Their keys went with them, and so did the tokens they verified: the
    // next visit checks in full, with one fetch (plus one discovery).
    assert!(verifier.verify_token(&token_a).await.is_valid());
    assert_eq!(server.hits("/a/jwks.json"), 2);
    assert!(verifier.verify_token(&token_o).await.is_valid());
    assert_eq!(server.hits("/o/.well-known/openid-configuration"), 2);
    assert_eq!(server.hits("/o/jwks.json"), 2);
    assert_eq!(server.total(), 6);
    drop(lingering);
}

#[tokio::test]
async fn the_least_recently_used_issuer_is_evicted_past_max_issuers() {
    let server = Server::start().await;
    let (ka, kb) = (es256("k"), es256("k"));
    let a = server.oidc_issuer("/a", &[&ka]);
    let b = server.oidc_issuer("/b", &[&kb]);
    let keys = builder()
        .oidc_issuer(&a)
        .oidc_issuer(&b)
        .max_issuers(1)
        .build()
        .unwrap();
    lookup(&keys, &a, "k").await.unwrap();
    keys.run_pending_tasks().await;
    lookup(&keys, &b, "k").await.unwrap();
    keys.run_pending_tasks().await;
    assert_eq!(keys.cached_issuers(), 1);
    lookup(&keys, &a, "k").await.unwrap();
    assert_eq!(server.hits("/a/jwks.json"), 2, "A came back with one fetch");
    assert_eq!(server.hits("/b/jwks.json"), 1);
}

#[tokio::test]
async fn one_issuers_outage_does_not_affect_the_others() {
    let down = Server::start().await;
    let up = Server::start().await;
    let (ka, kb, kc, kd) = (es256("a1"), es256("b1"), es256("c1"), es256("d1"));
    let a = down.oidc_issuer("/a", &[&ka]);
    let b = up.oidc_issuer("/b", &[&kb]);
    let c = down.oidc_issuer("/c", &[&kc]);
    let d = up.oidc_issuer("/d", &[&kd]);
    let keys = builder()
        .oidc_issuer(&a)
        .oidc_issuer(&b)
        .oidc_issuer(&c)
        .oidc_issuer(&d)
        .configure_jwks(|jwks| {
            jwks.timeout(Duration::from_secs(2))
                .unknown_kid_interval(Duration::ZERO)
                .retry_interval(Duration::ZERO)
        })
        .build()
        .unwrap();
    let verifier = verifier(&keys);
    assert!(verifier.verify_token(&token(&a, "u", &ka)).await.is_valid());
    assert!(verifier.verify_token(&token(&b, "u", &kb)).await.is_valid());

    // A's server fails every request now.
    for path in [
        "/a/jwks.json",
        "/a/.well-known/openid-configuration",
        "/c/jwks.json",
        "/c/.well-known/openid-configuration",
    ] {
        down.set(path, 503, "{}".into());
    }
    // A: a rotated-in key cannot be fetched (unavailable, not invalid); its
    // cached key keeps verifying.
    let rotated = es256("a2");
    assert!(matches!(
        verifier.verify_token(&token(&a, "u2", &rotated)).await,
        SessionOutcome::Unavailable(_)
    ));
    assert!(
        verifier
            .verify_token(&token(&a, "u3", &ka))
            .await
            .is_valid()
    );
    // C, never set up, is unavailable, and the failure is remembered.
    for _ in 0..3 {
        assert!(matches!(
            verifier.verify_token(&token(&c, "u", &kc)).await,
            SessionOutcome::Unavailable(_)
        ));
    }
    assert_eq!(
        down.hits("/c/.well-known/openid-configuration"),
        1,
        "one attempt, then the remembered failure"
    );
    // B is untouched: new tokens verify, and a rotated-in key is fetched.
    assert!(
        verifier
            .verify_token(&token(&b, "u4", &kb))
            .await
            .is_valid()
    );
    let kb2 = es256("b2");
    up.publish_jwks("/b", &[&kb, &kb2]);
    assert!(
        verifier
            .verify_token(&token(&b, "u5", &kb2))
            .await
            .is_valid()
    );
    assert_eq!(up.hits("/b/jwks.json"), 2);
    // D, set up only now (after C's failure was remembered), is untouched.
    assert!(
        verifier
            .verify_token(&token(&d, "u6", &kd))
            .await
            .is_valid()
    );
    assert_eq!(up.hits("/d/jwks.json"), 1);
}

#[tokio::test]
async fn a_new_issuer_beyond_the_limit_is_unavailable_without_a_request() {
    let server = Server::start().await;
    let k = es256("k");
    let issuers: Vec<String> = (0..3)
        .map(|i| server.oidc_issuer(&format!("/t{i}/v2.0"), &[&k]))
        .collect();
    let keys = builder()
        .issuer_template(&server.url("/{tenant}/v2.0"), IssuerKeys::Discovery)
        .new_issuer_limit(2, Duration::from_secs(3600))
        .build()
        .unwrap();
    lookup(&keys, &issuers[0], "k").await.unwrap();
    lookup(&keys, &issuers[1], "k").await.unwrap();
    let limited = lookup(&keys, &issuers[2], "k").await;
    match limited {
        Err(KeyLookupError::Unavailable(error)) => {
            assert!(
                matches!(*error, KeySourceError::NewIssuerLimit),
                "{error:?}"
            )
        }
        other => panic!("expected the limit, got {other:?}"),
    }
    assert_eq!(server.total(), 4);
    // Cached issuers are not limited.
    lookup(&keys, &issuers[0], "k").await.unwrap();
    assert_eq!(server.total(), 4);
}

#[tokio::test]
async fn a_failing_hook_is_unavailable_and_not_remembered() {
    struct Flaky(AtomicUsize);
    #[ssr_session::async_trait]
    impl ssr_session::issuers::TenantApproval for Flaky {
        async fn approve(
            &self,
            _issuer: &str,
            _tenant: &str,
        ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
            match self.0.fetch_add(1, Ordering::SeqCst) {
                0 => Err("the tenant database is down".into()),
                _ => Ok(true),
            }
        }
    }
    let server = Server::start().await;
    let k = es256("k");
    let issuer = server.oidc_issuer("/t/v2.0", &[&k]);
    let keys = builder()
        .issuer_template(&server.url("/{tenant}/v2.0"), IssuerKeys::Discovery)
        .approve_tenants(Flaky(AtomicUsize::new(0)))
        .build()
        .unwrap();
    assert!(matches!(
        lookup(&keys, &issuer, "k").await,
        Err(KeyLookupError::Unavailable(_))
    ));
    assert_eq!(server.total(), 0);
    lookup(&keys, &issuer, "k").await.unwrap();
    assert_eq!(server.total(), 2);
}

/// The discovery document's `jwks_uri` of a template issuer with a JWKS URL
/// template: `{tenant}` is replaced, and only that URL is fetched.
#[tokio::test]
async fn a_jwks_url_template_fetches_the_tenants_keys() {
    let server = Server::start().await;
    let k = es256("k");
    server.publish_jwks("/keys/acme", &[&k]);
    let keys = builder()
        .issuer_template(
            "https://{tenant}.login.example.com/v1",
            IssuerKeys::JwksUrl(server.url("/keys/{tenant}/jwks.json")),
        )
        .build()
        .unwrap();
    let verifier = verifier(&keys);
    let outcome = verifier
        .verify_token(&token("https://acme.login.example.com/v1", "u", &k))
        .await;
    assert!(outcome.is_valid(), "{outcome:?}");
    assert_eq!(server.hits("/keys/acme/jwks.json"), 1);
    assert_eq!(server.total(), 1);
}
