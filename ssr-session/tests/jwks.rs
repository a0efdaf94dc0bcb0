//! `JwksKeyProvider` against a real HTTP server on 127.0.0.1, one server
//! (with its own request counter) per test.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use ssr_session::testing::{TestKey, TokenBuilder, jwks, random_hex};
use ssr_session::{
    JwksKeyProvider, KeyProvider, SessionOutcome, Verifier, error::InvalidKind,
    error::KeySourceError, keys::Algorithm, keys::KeyLookupError, keys::KeyRequest,
    keys::VerifyingKey,
};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::subscriber::Interest;

// ---------------------------------------------------------------------------
// The test server
// ---------------------------------------------------------------------------

#[derive(Clone)]
enum Payload {
    Text(String),
    /// `bytes` bytes in 64 KiB chunks, without `Content-Length`.
    Stream(usize),
    /// A body that never sends a byte.
    Stalled,
}

/// What the server answers on one path.
#[derive(Clone)]
struct Reply {
    status: StatusCode,
    payload: Payload,
    delay: Duration,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn text(body: impl Into<String>) -> Self {
        Self {
            status: StatusCode::OK,
            payload: Payload::Text(body.into()),
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }

    fn json(value: &Value) -> Self {
        Self::text(value.to_string()).header("content-type", "application/json")
    }

    fn jwks(keys: &[&TestKey]) -> Self {
        Self::json(&jwks(keys))
    }

    fn stream(bytes: usize) -> Self {
        Self {
            payload: Payload::Stream(bytes),
            ..Self::text("")
        }
    }

    fn status(mut self, status: u16) -> Self {
        self.status = StatusCode::from_u16(status).unwrap();
        self
    }

    fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

struct ServerState {
    routes: Mutex<HashMap<String, Reply>>,
    /// Requests received (counted on arrival, once the reply is chosen and
    /// before any delay: a test that sees a request may change the routes
    /// without changing that request's answer).
    hits: watch::Sender<usize>,
}

struct Server {
    base: String,
    state: Arc<ServerState>,
}

impl Server {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ServerState {
            routes: Mutex::new(HashMap::new()),
            hits: watch::channel(0).0,
        });
        let app = Router::new().fallback(answer).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, state }
    }

    /// A server answering `/jwks.json` with `reply`.
    async fn serving(reply: Reply) -> Self {
        let server = Self::start().await;
        server.set("/jwks.json", reply);
        server
    }

    fn set(&self, path: &str, reply: Reply) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), reply);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn jwks_url(&self) -> String {
        self.url("/jwks.json")
    }

    fn hits(&self) -> usize {
        *self.state.hits.borrow()
    }

    /// Waits (at most 5 s) until `n` requests have arrived.
    async fn wait_for_hits(&self, n: usize) {
        let mut hits = self.state.hits.subscribe();
        tokio::time::timeout(Duration::from_secs(5), hits.wait_for(|hits| *hits >= n))
            .await
            .unwrap_or_else(|_| panic!("expected {n} requests, saw {}", self.hits()))
            .unwrap();
    }
}

async fn answer(State(state): State<Arc<ServerState>>, uri: Uri) -> Response {
    let reply = state.routes.lock().unwrap().get(uri.path()).cloned();
    state.hits.send_modify(|hits| *hits += 1);
    let Some(reply) = reply else {
        return StatusCode::NOT_FOUND.into_response();
    };
    tokio::time::sleep(reply.delay).await;
    let body = match reply.payload {
        Payload::Text(text) => Body::from(text),
        Payload::Stream(bytes) => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let chunks =
                (0..bytes.div_ceil(chunk.len())).map(move |_| Ok::<_, Infallible>(chunk.clone()));
            Body::from_stream(futures_util::stream::iter(chunks))
        }
        Payload::Stalled => {
            Body::from_stream(futures_util::stream::pending::<Result<Bytes, Infallible>>())
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = reply.status;
    for (name, value) in reply.headers {
        response.headers_mut().append(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    response
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// An RSA key under `kid`. One RSA key pair is generated per test binary
/// and shared under different `kid`s (they are distinct keys to the
/// provider, which selects by `kid`).
fn key(kid: &str) -> TestKey {
    static PAIR: OnceLock<TestKey> = OnceLock::new();
    PAIR.get_or_init(|| TestKey::generate(Algorithm::RS256, "shared"))
        .with_kid(kid)
}

async fn lookup(
    provider: &JwksKeyProvider,
    kid: &str,
) -> Result<Arc<VerifyingKey>, KeyLookupError> {
    let request = KeyRequest::new(Some(kid), Algorithm::RS256);
    provider.key(&request).await
}

/// Looks `kid` up, expects a key that verifies a signature by `signer`,
/// and returns how long the lookup took.
async fn expect_key(provider: &JwksKeyProvider, signer: &TestKey) -> Duration {
    let started = Instant::now();
    let found = lookup(provider, signer.kid()).await;
    let elapsed = started.elapsed();
    let found = found.unwrap_or_else(|e| panic!("no key for {}: {e:?}", signer.kid()));
    assert_eq!(found.kid(), Some(signer.kid()));
    let signature = signer.sign_raw(Algorithm::RS256, b"message");
    assert!(found.verify(Algorithm::RS256, b"message", &signature));
    elapsed
}

fn expect_unknown(result: Result<Arc<VerifyingKey>, KeyLookupError>) {
    assert!(
        matches!(result, Err(KeyLookupError::UnknownKey)),
        "{result:?}"
    );
}

fn expect_unavailable(result: Result<Arc<VerifyingKey>, KeyLookupError>) -> Arc<KeySourceError> {
    match result {
        Err(KeyLookupError::Unavailable(error)) => error,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// A provider with test-sized durations; tests override what they probe.
fn provider(url: &str) -> ssr_session::jwks::JwksKeyProviderBuilder {
    JwksKeyProvider::builder(url)
        .timeout(Duration::from_secs(2))
        .min_ttl(Duration::ZERO)
        .unknown_kid_interval(MS(200))
        .retry_interval(Duration::from_secs(10))
}

/// A cold provider's error for one reply.
async fn cold_error(reply: Reply) -> (Arc<KeySourceError>, Server) {
    let server = Server::serving(reply).await;
    let keys = provider(&server.jwks_url()).build().unwrap();
    let error = expect_unavailable(lookup(&keys, "kid-1").await);
    assert_eq!(keys.fetch_count(), 1);
    (error, server)
}

const MS: fn(u64) -> Duration = Duration::from_millis;

// ---------------------------------------------------------------------------
// Caching
// ---------------------------------------------------------------------------

#[tokio::test]
async fn cache_hit_makes_no_second_request() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let keys = provider(&server.jwks_url()).build().unwrap();
    assert_eq!(keys.fetch_count(), 0, "building fetches nothing");

    expect_key(&keys, &k1).await;
    for _ in 0..10 {
        expect_key(&keys, &k1).await;
    }
    let clone = keys.clone();
    expect_key(&clone, &k1).await;
    assert_eq!(keys.key_set().await.unwrap().keys().len(), 1);

    assert_eq!(server.hits(), 1);
    assert_eq!(keys.fetch_count(), 1);
}

#[tokio::test]
async fn expired_ttl_refetches() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let keys = provider(&server.jwks_url())
        .default_ttl(MS(300))
        .build()
        .unwrap();

    expect_key(&keys, &k1).await;
    expect_key(&keys, &k1).await;
    assert_eq!(server.hits(), 1, "fresh within the TTL");

    tokio::time::sleep(MS(350)).await;
    expect_key(&keys, &k1).await; // stale: answered, refreshed behind
    server.wait_for_hits(2).await;
    // The refresh lands; the set is fresh again and no more requests go out.
    tokio::time::sleep(MS(50)).await;
    expect_key(&keys, &k1).await;
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn max_age_is_honoured() {
    let k1 = key("kid-1");
    let reply = Reply::jwks(&[&k1]).header("cache-control", "public, max-age=1");
    let server = Server::serving(reply).await;
    // Without max-age the set would be fresh for 300 ms only.
    let keys = provider(&server.jwks_url())
        .default_ttl(MS(300))
        .build()
        .unwrap();

    expect_key(&keys, &k1).await;
    tokio::time::sleep(MS(600)).await;
    expect_key(&keys, &k1).await;
    tokio::time::sleep(MS(100)).await; // room for a (wrong) background refresh
    assert_eq!(
        server.hits(),
        1,
        "max-age=1 keeps the set fresh past the default TTL"
    );

    tokio::time::sleep(MS(500)).await;
    expect_key(&keys, &k1).await;
    server.wait_for_hits(2).await;
}

#[tokio::test]
async fn max_age_is_clamped_by_max_ttl() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1]).header("cache-control", "max-age=3600")).await;
    let keys = provider(&server.jwks_url())
        .max_ttl(MS(300))
        .build()
        .unwrap();

    expect_key(&keys, &k1).await;
    tokio::time::sleep(MS(350)).await;
    expect_key(&keys, &k1).await;
    server.wait_for_hits(2).await;
}

#[tokio::test]
async fn max_age_zero_is_raised_to_min_ttl() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1]).header("cache-control", "max-age=0")).await;
    let unclamped = provider(&server.jwks_url()).build().unwrap();
    expect_key(&unclamped, &k1).await;
    tokio::time::sleep(MS(10)).await;
    expect_key(&unclamped, &k1).await;
    server.wait_for_hits(2).await; // max-age=0 with min_ttl 0: stale at once

    let clamped = provider(&server.jwks_url())
        .min_ttl(Duration::from_secs(10))
        .build()
        .unwrap();
    expect_key(&clamped, &k1).await;
    tokio::time::sleep(MS(10)).await;
    expect_key(&clamped, &k1).await;
    tokio::time::sleep(MS(50)).await;
    assert_eq!(clamped.fetch_count(), 1, "min_ttl keeps the set fresh");
}

// ---------------------------------------------------------------------------
// Unknown kids: answered only from a set fetched after the lookup arrived
// ---------------------------------------------------------------------------

#[tokio::test]
async fn unknown_kid_refetches_once_and_finds_a_rotated_key() {
    let (k1, k2) = (key("kid-1"), key("kid-2"));
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let keys = provider(&server.jwks_url())
        .unknown_kid_interval(Duration::ZERO)
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;

    server.set("/jwks.json", Reply::jwks(&[&k1, &k2]));
    expect_key(&keys, &k2).await;
    assert_eq!(server.hits(), 2, "one refetch for the new kid");
    expect_key(&keys, &k2).await;
    assert_eq!(server.hits(), 2, "then cached");

    expect_unknown(lookup(&keys, "kid-3").await);
    assert_eq!(server.hits(), 3, "still unknown after its one refetch");
}

/// The issuer publishes a key and signs with it at once, shortly after
/// this provider fetched: inside the unknown-kid interval, and just after
/// it. Every lookup of the new kid verifies, within the interval plus one
/// fetch of the publication; none is answered *unknown*.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_published_right_after_a_fetch_verifies_within_the_interval() {
    let (k1, k2, k3) = (key("kid-1"), key("kid-2"), key("kid-3"));
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let interval = Duration::from_secs(1);
    let keys = provider(&server.jwks_url())
        .unknown_kid_interval(interval)
        .default_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;

    // Inside the interval: published 200 ms after the fetch, then twenty
    // lookups over the next second, each asserting that the key verifies.
    tokio::time::sleep(MS(200)).await;
    server.set("/jwks.json", Reply::jwks(&[&k1, &k2]));
    let published = Instant::now();
    let lookups: Vec<_> = (0..20)
        .map(|i| {
            let (keys, k2) = (keys.clone(), k2.clone());
            tokio::spawn(async move {
                tokio::time::sleep(MS(50) * i).await;
                expect_key(&keys, &k2).await;
                published.elapsed()
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for lookup in lookups {
        slowest = slowest.max(lookup.await.unwrap());
    }
    eprintln!("inside the interval: every lookup verified within {slowest:?} of the publication");
    assert!(
        slowest < interval + MS(500),
        "the new key verified {slowest:?} after its publication (interval {interval:?})"
    );
    assert_eq!(server.hits(), 2, "one fetch, at the end of the interval");

    // Just after the interval: the first lookup fetches at once.
    tokio::time::sleep(interval + MS(100)).await;
    server.set("/jwks.json", Reply::jwks(&[&k1, &k2, &k3]));
    let took = expect_key(&keys, &k3).await;
    eprintln!("after the interval: the new key verified in {took:?}");
    assert!(took < MS(500), "{took:?}");
    assert_eq!(server.hits(), 3);
}

/// A fresh set fetched 100 ms ago does not make a kid it lacks unknown:
/// the lookup waits for a fetch at the end of the interval. A set that
/// answered one lookup does not answer the next either. Concurrent
/// lookups share one fetch, and a fetch already in flight when a lookup
/// arrives answers it if it brings the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kid_is_never_answered_from_a_set_older_than_the_lookup() {
    let (k1, k2) = (key("kid-1"), key("kid-2"));
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let interval = MS(400);
    let keys = provider(&server.jwks_url())
        .unknown_kid_interval(interval)
        .default_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let before_fetch = Instant::now();
    expect_key(&keys, &k1).await;
    tokio::time::sleep(MS(100)).await;

    expect_unknown(lookup(&keys, "kid-x").await);
    assert_eq!(server.hits(), 2, "a fetch made after the lookup arrived");
    assert!(
        before_fetch.elapsed() >= interval,
        "the fetch waited for the interval: {:?}",
        before_fetch.elapsed()
    );

    expect_unknown(lookup(&keys, "kid-x").await);
    assert_eq!(server.hits(), 3, "the same kid again: one more fetch");

    let concurrent: Vec<_> = (0..100)
        .map(|_| {
            let keys = keys.clone();
            tokio::spawn(async move { lookup(&keys, &random_hex(8)).await })
        })
        .collect();
    for task in concurrent {
        expect_unknown(task.await.unwrap());
    }
    assert_eq!(server.hits(), 4, "100 concurrent unknown kids: one fetch");

    // A fetch that started before the lookup may still bring its key.
    server.set("/jwks.json", Reply::jwks(&[&k1, &k2]).delay(MS(300)));
    tokio::time::sleep(interval).await;
    let first = {
        let keys = keys.clone();
        tokio::spawn(async move { lookup(&keys, "kid-y").await })
    };
    server.wait_for_hits(5).await;
    expect_key(&keys, &k2).await;
    expect_unknown(first.await.unwrap());
    assert_eq!(server.hits(), 5, "the key came from the fetch in flight");

    // A fetch in flight that does not bring the key is no answer when it
    // started before the lookup: the key was published after its request
    // was answered, and the next fetch brings it.
    let k3 = key("kid-3");
    server.set("/jwks.json", Reply::jwks(&[&k1, &k2]).delay(MS(300)));
    tokio::time::sleep(interval).await;
    let first = {
        let keys = keys.clone();
        tokio::spawn(async move { lookup(&keys, "kid-z").await })
    };
    server.wait_for_hits(6).await;
    server.set("/jwks.json", Reply::jwks(&[&k1, &k2, &k3]));
    expect_key(&keys, &k3).await;
    expect_unknown(first.await.unwrap());
    assert_eq!(server.hits(), 7, "one more fetch, after the one in flight");
}

/// The fetch scheduled for the end of the interval runs in its own task:
/// it happens, and fills the cache, even when every lookup waiting for it
/// is gone.
#[tokio::test]
async fn a_scheduled_fetch_runs_when_its_lookups_are_dropped() {
    let (k1, k2) = (key("kid-1"), key("kid-2"));
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let keys = provider(&server.jwks_url())
        .unknown_kid_interval(MS(300))
        .default_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;
    server.set("/jwks.json", Reply::jwks(&[&k1, &k2]));
    assert!(
        tokio::time::timeout(MS(50), lookup(&keys, k2.kid()))
            .await
            .is_err(),
        "the lookup waits for the end of the interval"
    );
    server.wait_for_hits(2).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !keys.key_set().await.unwrap().contains_kid("kid-2") {
        assert!(
            Instant::now() < deadline,
            "the scheduled fetch never landed"
        );
        tokio::time::sleep(MS(10)).await;
    }
    assert!(expect_key(&keys, &k2).await < MS(100));
    assert_eq!(server.hits(), 2);
}

/// A key removed from the JWKS verifies from the cached set until its
/// TTL, and is unknown once a set without it has been fetched.
#[tokio::test]
async fn a_removed_key_is_unknown_once_a_set_without_it_is_fetched() {
    let (k1, k2) = (key("kid-1"), key("kid-2"));
    let server = Server::serving(Reply::jwks(&[&k1, &k2])).await;
    let keys = provider(&server.jwks_url())
        .default_ttl(MS(300))
        .unknown_kid_interval(MS(100))
        .build()
        .unwrap();
    expect_key(&keys, &k2).await;

    server.set("/jwks.json", Reply::jwks(&[&k1]));
    expect_key(&keys, &k2).await;
    assert_eq!(server.hits(), 1, "within the TTL the cached set answers");

    tokio::time::sleep(MS(350)).await;
    expect_key(&keys, &k2).await; // stale: still answered, refreshed behind
    server.wait_for_hits(2).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while keys.key_set().await.unwrap().contains_kid("kid-2") {
        assert!(Instant::now() < deadline, "the refresh never landed");
        tokio::time::sleep(MS(10)).await;
    }
    expect_unknown(lookup(&keys, k2.kid()).await);
    expect_key(&keys, &k1).await;
}

/// 10,000 forged tokens with random kids, sent over four seconds with at
/// most about 2,500 waiting at once, through a verifier; two seconds in,
/// the issuer publishes a key and signs with it. Every forged token is
/// *invalid* (`unknown_key`, never unavailable); every token of the new
/// key verifies within two seconds of the publication; the JWKS server
/// sees at most one request per second of flood, plus one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_published_mid_flood_verifies_and_every_forged_kid_is_unknown() {
    const WAVES: u32 = 40;
    const PER_WAVE: usize = 250;
    let (k1, k2) = (key("kid-1"), key("kid-2"));
    let server = Server::serving(Reply::jwks(&[&k1]).delay(MS(20))).await;
    let keys = provider(&server.jwks_url())
        .unknown_kid_interval(Duration::from_secs(1))
        .default_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let verifier = Verifier::builder(keys.clone())
        .without_token_cache()
        .build()
        .unwrap();
    let signed = |key: &TestKey| TokenBuilder::supertokens("alice", 600).sign(key);
    assert!(verifier.verify_token(&signed(&k1)).await.is_valid());
    let forged: Vec<String> = (0..WAVES as usize * PER_WAVE)
        .map(|_| {
            TokenBuilder::supertokens("mallory", 600)
                .header("alg", "RS256")
                .header("kid", random_hex(8))
                .with_signature(&[7; 256])
        })
        .collect();

    let hits_before = server.hits();
    let started = Instant::now();
    let mut published = None;
    let mut forged_tasks = Vec::new();
    let mut legit_tasks = Vec::new();
    for wave in 0..WAVES {
        tokio::time::sleep_until(started + MS(100) * wave).await;
        if wave == WAVES / 2 {
            server.set("/jwks.json", Reply::jwks(&[&k1, &k2]).delay(MS(20)));
            published = Some(Instant::now());
        }
        for token in &forged[wave as usize * PER_WAVE..][..PER_WAVE] {
            let (verifier, token) = (verifier.clone(), token.clone());
            forged_tasks.push(tokio::spawn(
                async move { verifier.verify_token(&token).await },
            ));
        }
        if let Some(published) = published {
            for _ in 0..2 {
                let (verifier, token) = (verifier.clone(), signed(&k2));
                legit_tasks.push(tokio::spawn(async move {
                    let issued = Instant::now();
                    let outcome = verifier.verify_token(&token).await;
                    (outcome, issued.elapsed(), published.elapsed())
                }));
            }
        }
    }

    let (mut unknown, mut other) = (0, Vec::new());
    for task in forged_tasks {
        match task.await.unwrap() {
            SessionOutcome::Invalid(invalid) if invalid.kind() == &InvalidKind::UnknownKey => {
                unknown += 1
            }
            outcome => other.push(format!("{outcome:?}")),
        }
    }
    // Tokens of the new key are signed from the publication on: each one
    // must verify within two seconds of being sent, the first ones within
    // two seconds of the publication.
    let (mut slowest_legit, mut first_verified) = (Duration::ZERO, Duration::MAX);
    let legit = legit_tasks.len();
    for task in legit_tasks {
        let (outcome, latency, since_publication) = task.await.unwrap();
        assert!(outcome.is_valid(), "a token of the new key: {outcome:?}");
        slowest_legit = slowest_legit.max(latency);
        first_verified = first_verified.min(since_publication);
    }
    let flood = started.elapsed();
    let fetches = server.hits() - hits_before;
    let bound = flood.as_secs_f64().ceil() as usize + 1;
    eprintln!(
        "flood of {} forged tokens over {flood:?}: {fetches} JWKS fetches (bound {bound}); \
         {legit} tokens of the new key, all valid, the first {first_verified:?} after the publication, \
         the slowest in {slowest_legit:?}",
        forged.len()
    );
    assert!(
        other.is_empty(),
        "{} forged tokens not unknown: {:?}",
        other.len(),
        &other[..other.len().min(5)]
    );
    assert_eq!(unknown, forged.len());
    assert!(
        slowest_legit < Duration::from_secs(2),
        "a token of the new key took {slowest_legit:?} to verify"
    );
    assert!(fetches <= bound, "{fetches} fetches in {flood:?}");
    assert_eq!(keys.waiting_lookups(), 0);
}

/// With room for five waiting lookups and a slow endpoint, a sixth
/// unknown kid is unavailable at once (`TooManyWaiting`), a cached kid is
/// not held up, and the five get their answer after the fetch. Places
/// are given back, also by a caller that stops waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_beyond_the_waiting_bound_are_unavailable_at_once() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    // They arrive within the interval, so they all join the fetch
    // scheduled at its end.
    let keys = provider(&server.jwks_url())
        .unknown_kid_interval(MS(500))
        .max_waiting_lookups(5)
        .default_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;

    server.set("/jwks.json", Reply::jwks(&[&k1]).delay(MS(800)));
    let waiting: Vec<_> = (0..5)
        .map(|i| {
            let keys = keys.clone();
            tokio::spawn(async move {
                let answer = lookup(&keys, &format!("forged-{i}")).await;
                (answer, Instant::now())
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    while keys.waiting_lookups() < 5 {
        assert!(
            Instant::now() < deadline,
            "{} waiting",
            keys.waiting_lookups()
        );
        tokio::time::sleep(MS(5)).await;
    }
    server.wait_for_hits(2).await;

    let started = Instant::now();
    let error = expect_unavailable(lookup(&keys, "forged-6").await);
    let refused_in = started.elapsed();
    assert!(
        matches!(*error, KeySourceError::TooManyWaiting { limit: 5 }),
        "{error:?}"
    );
    assert!(refused_in < MS(300), "the sixth waited {refused_in:?}");
    assert!(expect_key(&keys, &k1).await < MS(300));

    for task in waiting {
        let (answer, answered) = task.await.unwrap();
        expect_unknown(answer);
        assert!(
            answered >= started + MS(300),
            "answered before the fetch ended"
        );
    }
    assert_eq!(server.hits(), 2);
    assert_eq!(keys.waiting_lookups(), 0);

    assert!(
        tokio::time::timeout(MS(50), lookup(&keys, "forged-7"))
            .await
            .is_err()
    );
    assert_eq!(
        keys.waiting_lookups(),
        0,
        "a dropped lookup gives its place back"
    );
}

/// An unknown kid's wait is bounded: against a hanging endpoint it ends
/// at the fetch timeout after the interval; behind a slow fetch that
/// started before it, then another slow fetch, it ends after the interval
/// plus the timeout (and the slack), `WaitTimeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kid_waits_at_most_the_interval_and_the_timeout() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let (interval, timeout) = (MS(300), MS(400));
    let keys = provider(&server.jwks_url())
        .unknown_kid_interval(interval)
        .timeout(timeout)
        .default_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;
    server.set(
        "/jwks.json",
        Reply::jwks(&[&k1]).delay(Duration::from_secs(30)),
    );
    let started = Instant::now();
    let error = expect_unavailable(lookup(&keys, "kid-x").await);
    let waited = started.elapsed();
    eprintln!("hanging endpoint: unavailable after {waited:?} ({error})");
    assert!(
        matches!(
            *error,
            KeySourceError::Timeout { .. } | KeySourceError::WaitTimeout { .. }
        ),
        "{error:?}"
    );
    assert!(
        waited >= timeout && waited < interval + timeout + Duration::from_secs(1),
        "waited {waited:?}"
    );

    // Two slow fetches back to back: the first started before the lookup.
    let slow = Server::serving(Reply::jwks(&[&k1])).await;
    let timeout = Duration::from_secs(2);
    let keys = provider(&slow.jwks_url())
        .unknown_kid_interval(Duration::ZERO)
        .timeout(timeout)
        .default_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;
    slow.set("/jwks.json", Reply::jwks(&[&k1]).delay(MS(1600)));
    let first = {
        let keys = keys.clone();
        tokio::spawn(async move { lookup(&keys, "kid-a").await })
    };
    slow.wait_for_hits(2).await;
    let started = Instant::now();
    let error = expect_unavailable(lookup(&keys, "kid-b").await);
    let waited = started.elapsed();
    eprintln!("two slow fetches: unavailable after {waited:?} ({error})");
    assert!(
        matches!(*error, KeySourceError::WaitTimeout { .. }),
        "{error:?}"
    );
    assert!(
        waited >= timeout && waited < timeout + Duration::from_secs(1),
        "waited {waited:?}"
    );
    expect_unknown(first.await.unwrap());
}

/// When the fetch made for an unknown kid fails, the kid is unavailable
/// with that failure, not unknown; until the retry interval passes, the
/// next one is too, at once and without a request.
#[tokio::test]
async fn an_unknown_kid_whose_fetch_fails_is_unavailable() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let keys = provider(&server.jwks_url())
        .unknown_kid_interval(MS(100))
        .retry_interval(Duration::from_secs(10))
        .default_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;

    server.set("/jwks.json", Reply::text("down").status(502));
    let error = expect_unavailable(lookup(&keys, "kid-x").await);
    assert!(
        matches!(*error, KeySourceError::Status { status: 502, .. }),
        "{error:?}"
    );
    assert_eq!(server.hits(), 2);
    let started = Instant::now();
    let error = expect_unavailable(lookup(&keys, "kid-y").await);
    assert!(
        matches!(*error, KeySourceError::Status { status: 502, .. }),
        "{error:?}"
    );
    assert!(started.elapsed() < MS(100));
    assert_eq!(server.hits(), 2, "no retry within the retry interval");
    expect_key(&keys, &k1).await;
}

// ---------------------------------------------------------------------------
// Single flight
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_on_a_cold_cache_share_one_request() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1]).delay(MS(200))).await;
    let keys = provider(&server.jwks_url()).build().unwrap();

    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let keys = keys.clone();
            tokio::spawn(async move {
                lookup(&keys, "kid-1")
                    .await
                    .map(|key| key.kid().map(str::to_owned))
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().as_deref(), Some("kid-1"));
    }
    assert_eq!(server.hits(), 1);
    assert_eq!(keys.fetch_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_share_one_failing_request() {
    let server = Server::serving(Reply::text("down").status(503).delay(MS(200))).await;
    let keys = provider(&server.jwks_url()).build().unwrap();

    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let keys = keys.clone();
            tokio::spawn(async move { lookup(&keys, "kid-1").await })
        })
        .collect();
    for task in tasks {
        let error = expect_unavailable(task.await.unwrap());
        assert!(
            matches!(*error, KeySourceError::Status { status: 503, .. }),
            "{error:?}"
        );
    }
    assert_eq!(server.hits(), 1);
}

// Single-threaded runtime: the refresh task logs on this thread.
#[tokio::test(flavor = "current_thread")]
async fn a_dropped_lookup_does_not_cancel_the_fetch() {
    let (lines, _guard) = capture();
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1]).delay(MS(200))).await;
    let keys = provider(&server.jwks_url()).build().unwrap();

    // The lookup that starts the fetch gives up long before the answer.
    assert!(
        tokio::time::timeout(MS(50), lookup(&keys, "kid-1"))
            .await
            .is_err()
    );
    // The fetch finishes with nobody waiting for it, and fills the cache.
    let finished = || {
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("fetched the JWKS"))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !finished() {
        assert!(
            Instant::now() < deadline,
            "the fetch did not run on its own"
        );
        tokio::time::sleep(MS(10)).await;
    }
    assert!(expect_key(&keys, &k1).await < MS(100));
    assert_eq!(server.hits(), 1);
}

// ---------------------------------------------------------------------------
// Stale while revalidate, stale if error
// ---------------------------------------------------------------------------

#[tokio::test]
async fn stale_keys_serve_while_the_endpoint_is_down() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let keys = provider(&server.jwks_url())
        .default_ttl(MS(200))
        .stale_if_error(Duration::from_secs(10))
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;

    server.set("/jwks.json", Reply::text("down").status(500).delay(MS(300)));
    tokio::time::sleep(MS(250)).await;
    // Past the TTL, during the (slow, failing) refresh: every lookup answers at once.
    for _ in 0..20 {
        assert!(expect_key(&keys, &k1).await < MS(100));
    }
    server.wait_for_hits(2).await;
    for _ in 0..20 {
        assert!(expect_key(&keys, &k1).await < MS(100));
    }
    // A kid that is not cached joins the refresh and learns that it failed.
    let error = expect_unavailable(lookup(&keys, "kid-2").await);
    assert!(
        matches!(*error, KeySourceError::Status { status: 500, .. }),
        "{error:?}"
    );
    // After the failure: still serving, and no retry within the retry interval;
    // an uncached kid is not called unknown while the source is failing.
    for _ in 0..20 {
        assert!(expect_key(&keys, &k1).await < MS(100));
    }
    let error = expect_unavailable(lookup(&keys, "kid-3").await);
    assert!(
        matches!(*error, KeySourceError::Status { status: 500, .. }),
        "{error:?}"
    );
    tokio::time::sleep(MS(50)).await;
    assert_eq!(server.hits(), 2);
    assert_eq!(keys.key_set().await.unwrap().keys().len(), 1);
}

#[tokio::test]
async fn stale_keys_stop_serving_after_stale_if_error() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let keys = provider(&server.jwks_url())
        .default_ttl(MS(200))
        .stale_if_error(MS(600))
        .retry_interval(MS(100))
        .failure_backoff(MS(100))
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;
    let fetched = Instant::now();

    server.set("/jwks.json", Reply::text("down").status(500));
    tokio::time::sleep(MS(250)).await;
    expect_key(&keys, &k1).await;
    server.wait_for_hits(2).await;

    tokio::time::sleep_until(fetched + MS(850)).await;
    let error = expect_unavailable(lookup(&keys, "kid-1").await);
    assert!(
        matches!(*error, KeySourceError::Status { status: 500, .. }),
        "{error:?}"
    );

    // Once the endpoint recovers, the next attempt serves again.
    server.set("/jwks.json", Reply::jwks(&[&k1]));
    tokio::time::sleep(MS(120)).await;
    expect_key(&keys, &k1).await;
}

#[tokio::test]
async fn cached_keys_answer_while_a_refresh_hangs() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let keys = provider(&server.jwks_url())
        .timeout(Duration::from_secs(1))
        .default_ttl(MS(200))
        .unknown_kid_interval(Duration::ZERO)
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;

    // A lookup for a new kid starts a refetch that hangs…
    server.set(
        "/jwks.json",
        Reply::jwks(&[&k1]).delay(Duration::from_secs(30)),
    );
    let stuck = {
        let keys = keys.clone();
        tokio::spawn(async move { lookup(&keys, "kid-new").await })
    };
    server.wait_for_hits(2).await;
    // …while the cached kid answers at once, fresh…
    for _ in 0..10 {
        assert!(expect_key(&keys, &k1).await < MS(100));
    }
    // …and stale, still behind the same hung request.
    tokio::time::sleep(MS(250)).await;
    for _ in 0..10 {
        assert!(expect_key(&keys, &k1).await < MS(100));
    }
    assert!(!stuck.is_finished());
    let error = expect_unavailable(stuck.await.unwrap());
    assert!(
        matches!(*error, KeySourceError::Timeout { .. }),
        "{error:?}"
    );
    assert_eq!(server.hits(), 2, "one request in flight at a time");
}

// ---------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------

#[tokio::test]
async fn down_with_a_cold_cache_is_unavailable_and_retried_after_the_backoff() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::text("oops").status(500)).await;
    let keys = provider(&server.jwks_url())
        .failure_backoff(MS(300))
        .build()
        .unwrap();

    let error = expect_unavailable(lookup(&keys, "kid-1").await);
    assert!(
        matches!(*error, KeySourceError::Status { status: 500, .. }),
        "{error:?}"
    );
    assert!(keys.key_set().await.is_err());
    expect_unavailable(lookup(&keys, "kid-1").await);
    assert_eq!(
        server.hits(),
        1,
        "the failure is remembered for the backoff"
    );

    server.set("/jwks.json", Reply::jwks(&[&k1]));
    tokio::time::sleep(MS(350)).await;
    expect_key(&keys, &k1).await;
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn slow_endpoint_times_out_on_a_cold_cache() {
    let server =
        Server::serving(Reply::jwks(&[&key("kid-1")]).delay(Duration::from_secs(30))).await;
    let keys = provider(&server.jwks_url())
        .timeout(MS(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = expect_unavailable(lookup(&keys, "kid-1").await);
    let elapsed = started.elapsed();
    assert!(
        matches!(*error, KeySourceError::Timeout { timeout, .. } if timeout == MS(300)),
        "{error:?}"
    );
    assert!(elapsed >= MS(300) && elapsed < MS(1500), "{elapsed:?}");
}

#[tokio::test]
async fn a_dribbling_body_times_out() {
    // Headers arrive at once, the body never ends: the timeout covers it.
    let app = Router::new().fallback(|| async {
        let chunks = futures_util::stream::unfold(0, |n| async move {
            tokio::time::sleep(MS(50)).await;
            Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), n + 1))
        });
        Response::new(Body::from_stream(chunks))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let keys = provider(&url).timeout(MS(400)).build().unwrap();
    let started = Instant::now();
    let error = expect_unavailable(lookup(&keys, "kid-1").await);
    assert!(
        matches!(*error, KeySourceError::Timeout { .. }),
        "{error:?}"
    );
    assert!(started.elapsed() < MS(1500));
}

#[tokio::test]
async fn status_500_is_a_status_error() {
    let (error, _server) = cold_error(Reply::text("internal").status(500)).await;
    assert!(
        matches!(*error, KeySourceError::Status { status: 500, .. }),
        "{error:?}"
    );
    let (error, _server) = cold_error(Reply::text("nope").status(404)).await;
    assert!(
        matches!(*error, KeySourceError::Status { status: 404, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn html_is_a_parse_error() {
    let reply = Reply::text("<!doctype html><html><body>Welcome</body></html>")
        .header("content-type", "text/html");
    let (error, _server) = cold_error(reply).await;
    assert!(matches!(*error, KeySourceError::Parse { .. }), "{error:?}");
}

#[tokio::test]
async fn truncated_json_is_a_parse_error() {
    let whole = jwks(&[&key("kid-1")]).to_string();
    let (error, _server) = cold_error(Reply::text(&whole[..whole.len() / 2])).await;
    assert!(matches!(*error, KeySourceError::Parse { .. }), "{error:?}");
}

#[tokio::test]
async fn json_that_is_not_a_jwks_is_a_parse_error() {
    let (error, _server) = cold_error(Reply::json(&json!({"hello": "world"}))).await;
    assert!(matches!(*error, KeySourceError::Parse { .. }), "{error:?}");
}

#[tokio::test]
async fn a_streamed_10_mb_body_is_too_large() {
    let (error, _server) = cold_error(Reply::stream(10 * 1024 * 1024)).await;
    assert!(
        matches!(
            *error,
            KeySourceError::TooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_before_reading() {
    // Content-Length says 10 MB, and the body never comes: only a check of
    // the declared length answers TooLarge (reading would time out).
    let mut reply = Reply::stream(0).header("content-length", (10 * 1024 * 1024).to_string());
    reply.payload = Payload::Stalled;
    let server = Server::serving(reply).await;
    let keys = provider(&server.jwks_url()).build().unwrap();
    let error = expect_unavailable(lookup(&keys, "kid-1").await);
    assert!(
        matches!(*error, KeySourceError::TooLarge { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_body_cap_is_exact() {
    let k1 = key("kid-1");
    let body = jwks(&[&k1]).to_string();
    let server = Server::serving(Reply::text(body.clone())).await;
    let cap = body.len() - 1;
    let keys = provider(&server.jwks_url())
        .max_body_bytes(cap)
        .build()
        .unwrap();
    let error = expect_unavailable(lookup(&keys, "kid-1").await);
    assert!(
        matches!(*error, KeySourceError::TooLarge { limit, .. } if limit == cap),
        "{error:?}"
    );

    let keys = provider(&server.jwks_url())
        .max_body_bytes(body.len())
        .build()
        .unwrap();
    expect_key(&keys, &k1).await;
}

#[tokio::test]
async fn connection_refused_is_unavailable_with_a_fetch_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    drop(listener);
    let keys = provider(&url).build().unwrap();
    let error = expect_unavailable(lookup(&keys, "kid-1").await);
    assert!(matches!(*error, KeySourceError::Fetch { .. }), "{error:?}");
}

#[tokio::test]
async fn redirect_loops_stop() {
    let server = Server::start().await;
    server.set(
        "/jwks.json",
        Reply::text("").status(302).header("location", "/jwks.json"),
    );
    let keys = provider(&server.jwks_url()).build().unwrap();
    let error = expect_unavailable(lookup(&keys, "kid-1").await);
    assert!(matches!(*error, KeySourceError::Fetch { .. }), "{error:?}");
    assert_eq!(server.hits(), 4, "the request and three redirects");
}

#[tokio::test]
async fn a_redirect_is_followed() {
    let k1 = key("kid-1");
    let server = Server::start().await;
    server.set(
        "/old.json",
        Reply::text("").status(301).header("location", "/jwks.json"),
    );
    server.set("/jwks.json", Reply::jwks(&[&k1]));
    let keys = provider(&server.url("/old.json")).build().unwrap();
    expect_key(&keys, &k1).await;
}

// ---------------------------------------------------------------------------
// Key sets
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_encryption_key_next_to_a_good_one_is_skipped() {
    let k1 = key("kid-1");
    let mut encryption = key("enc-1").public_jwk();
    encryption["use"] = json!("enc");
    encryption["alg"] = json!("RSA-OAEP");
    let document = json!({"keys": [encryption, k1.public_jwk()]});
    let server = Server::serving(Reply::json(&document)).await;
    let keys = provider(&server.jwks_url()).build().unwrap();

    expect_key(&keys, &k1).await;
    expect_unknown(lookup(&keys, "enc-1").await);
    assert_eq!(keys.key_set().await.unwrap().keys().len(), 1);
}

#[tokio::test]
async fn a_set_of_unusable_keys_is_empty_not_an_error() {
    let mut encryption = key("enc-1").public_jwk();
    encryption["use"] = json!("enc");
    let document = json!({"keys": [encryption, {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]});
    let server = Server::serving(Reply::json(&document)).await;
    let keys = provider(&server.jwks_url()).build().unwrap();

    assert!(keys.key_set().await.unwrap().is_empty());
    expect_unknown(lookup(&keys, "enc-1").await);
    expect_unknown(lookup(&keys, "hmac").await);
    // Each unknown kid is confirmed by a fetch made after it arrived.
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn several_urls_are_fetched_and_merged() {
    let (ka, kb) = (key("kid-a"), key("kid-b"));
    let a = Server::serving(Reply::jwks(&[&ka]).delay(MS(300))).await;
    let b = Server::serving(Reply::jwks(&[&kb]).delay(MS(300))).await;
    let keys = provider(&a.jwks_url())
        .also_url(&b.jwks_url())
        .build()
        .unwrap();
    assert_eq!(keys.urls().count(), 2);

    let started = Instant::now();
    expect_key(&keys, &ka).await;
    assert!(
        started.elapsed() < MS(550),
        "fetched in parallel: {:?}",
        started.elapsed()
    );
    expect_key(&keys, &kb).await;
    assert_eq!((a.hits(), b.hits()), (1, 1));
    assert_eq!(keys.fetch_count(), 2);
}

#[tokio::test]
async fn one_failing_url_fails_the_refresh() {
    let a = Server::serving(Reply::jwks(&[&key("kid-a")])).await;
    let b = Server::serving(Reply::text("down").status(502)).await;
    let keys = provider(&a.jwks_url())
        .also_url(&b.jwks_url())
        .build()
        .unwrap();
    let error = expect_unavailable(lookup(&keys, "kid-a").await);
    assert!(
        matches!(*error, KeySourceError::Status { status: 502, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_shortest_ttl_of_several_urls_counts() {
    let (ka, kb) = (key("kid-a"), key("kid-b"));
    let a = Server::serving(Reply::jwks(&[&ka]).header("cache-control", "max-age=300")).await;
    let b = Server::serving(Reply::jwks(&[&kb])).await; // no max-age: default_ttl
    let keys = provider(&a.jwks_url())
        .also_url(&b.jwks_url())
        .default_ttl(MS(200))
        .build()
        .unwrap();
    expect_key(&keys, &ka).await;
    tokio::time::sleep(MS(250)).await;
    expect_key(&keys, &ka).await;
    a.wait_for_hits(2).await;
    b.wait_for_hits(2).await;
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

#[test]
fn for_supertokens_builds_the_jwks_url() {
    let urls = |builder: ssr_session::jwks::JwksKeyProviderBuilder| -> Vec<String> {
        builder.build().unwrap().urls().map(str::to_owned).collect()
    };
    assert_eq!(
        urls(JwksKeyProvider::for_supertokens("https://api.example.com")),
        ["https://api.example.com/auth/jwt/jwks.json"]
    );
    assert_eq!(
        urls(JwksKeyProvider::for_supertokens("https://api.example.com/").api_base_path("/x")),
        ["https://api.example.com/x/jwt/jwks.json"]
    );
    assert_eq!(
        urls(JwksKeyProvider::for_supertokens("http://localhost:3001").api_base_path("/")),
        ["http://localhost:3001/jwt/jwks.json"]
    );
    assert_eq!(
        urls(
            JwksKeyProvider::for_supertokens("https://api.example.com")
                .also_url("https://other.example/keys")
        ),
        [
            "https://api.example.com/auth/jwt/jwks.json",
            "https://other.example/keys"
        ]
    );
}

#[test]
fn bad_configurations_are_refused_at_build() {
    use ssr_session::ConfigError;
    let refused = |builder: ssr_session::jwks::JwksKeyProviderBuilder| builder.build().unwrap_err();
    assert!(matches!(
        refused(JwksKeyProvider::builder("ftp://example.com/jwks")),
        ConfigError::Url { .. }
    ));
    assert!(matches!(
        refused(JwksKeyProvider::builder("not a url")),
        ConfigError::Url { .. }
    ));
    assert!(matches!(
        refused(JwksKeyProvider::builder("https://a.example/k").also_url("https://a.example/k")),
        ConfigError::Url { .. }
    ));
    assert!(matches!(
        refused(JwksKeyProvider::for_supertokens("api.example.com")),
        ConfigError::Url { .. }
    ));
    assert!(matches!(
        refused(JwksKeyProvider::builder("https://a.example/k").api_base_path("/x")),
        ConfigError::Setting(_)
    ));
    assert!(matches!(
        refused(
            JwksKeyProvider::builder("https://a.example/k")
                .min_ttl(Duration::from_secs(60))
                .max_ttl(Duration::from_secs(30))
        ),
        ConfigError::Setting(_)
    ));
    assert!(matches!(
        refused(JwksKeyProvider::builder("https://a.example/k").timeout(Duration::ZERO)),
        ConfigError::Setting(_)
    ));
    assert!(matches!(
        refused(JwksKeyProvider::builder("https://a.example/k").max_body_bytes(0)),
        ConfigError::Setting(_)
    ));
    assert!(matches!(
        refused(JwksKeyProvider::builder("https://a.example/k").max_waiting_lookups(0)),
        ConfigError::Setting(_)
    ));
    assert!(matches!(
        refused(
            JwksKeyProvider::builder("https://a.example/k")
                .unknown_kid_interval(Duration::from_secs(400 * 24 * 60 * 60))
        ),
        ConfigError::Setting(_)
    ));
}

#[tokio::test]
async fn a_callers_client_is_used() {
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1])).await;
    let client = ssr_session::jwks::client_builder()
        .unwrap()
        .user_agent("custom-agent")
        .build()
        .unwrap();
    let keys = provider(&server.jwks_url()).client(client).build().unwrap();
    expect_key(&keys, &k1).await;
}

// ---------------------------------------------------------------------------
// OpenID discovery
// ---------------------------------------------------------------------------

#[tokio::test]
async fn oidc_discovery_finds_the_jwks_uri() {
    let k1 = key("kid-1");
    let server = Server::start().await;
    let issuer = server.url("/auth");
    server.set(
        "/auth/.well-known/openid-configuration",
        Reply::json(&json!({"issuer": issuer, "jwks_uri": server.url("/auth/jwt/jwks.json")})),
    );
    server.set("/auth/jwt/jwks.json", Reply::jwks(&[&k1]));

    let keys =
        JwksKeyProvider::from_oidc_issuer(&issuer, |builder| builder.unknown_kid_interval(MS(1)))
            .await
            .unwrap();
    assert_eq!(
        keys.urls().collect::<Vec<_>>(),
        [server.url("/auth/jwt/jwks.json")]
    );
    assert_eq!(keys.fetch_count(), 0);
    expect_key(&keys, &k1).await;
    assert_eq!(server.hits(), 2);

    // A trailing slash on the issuer is dropped for the discovery URL, but
    // the issuer must then match exactly.
    let error = JwksKeyProvider::from_oidc_issuer(&format!("{issuer}/"), |b| b)
        .await
        .unwrap_err();
    assert!(
        format!("{error:?}").starts_with("IssuerMismatch"),
        "{error:?}"
    );
}

#[tokio::test]
async fn oidc_issuer_mismatch_is_refused() {
    let server = Server::start().await;
    server.set(
        "/.well-known/openid-configuration",
        Reply::json(
            &json!({"issuer": "https://evil.example", "jwks_uri": server.url("/jwks.json")}),
        ),
    );
    let error = JwksKeyProvider::from_oidc_issuer(&server.base, |b| b)
        .await
        .unwrap_err();
    assert!(
        format!("{error:?}").starts_with("IssuerMismatch"),
        "{error:?}"
    );
    assert!(error.to_string().contains("evil.example"), "{error}");
}

#[tokio::test]
async fn oidc_without_jwks_uri_or_reachable_endpoint_fails() {
    let server = Server::start().await;
    server.set(
        "/.well-known/openid-configuration",
        Reply::json(&json!({"issuer": server.base})),
    );
    let error = JwksKeyProvider::from_oidc_issuer(&server.base, |b| b)
        .await
        .unwrap_err();
    let source = std::error::Error::source(&error).expect("a source");
    let source = source
        .downcast_ref::<KeySourceError>()
        .expect("a KeySourceError");
    assert!(matches!(source, KeySourceError::Parse { .. }), "{source:?}");

    let other = Server::start().await; // no route: 404
    let error = JwksKeyProvider::from_oidc_issuer(&other.base, |b| b)
        .await
        .unwrap_err();
    let source = std::error::Error::source(&error)
        .unwrap()
        .downcast_ref::<KeySourceError>()
        .unwrap();
    assert!(
        matches!(source, KeySourceError::Status { status: 404, .. }),
        "{source:?}"
    );

    let error = JwksKeyProvider::from_oidc_issuer("ftp://example.com", |b| b)
        .await
        .unwrap_err();
    assert!(format!("{error:?}").starts_with("Config"), "{error:?}");
}

// ---------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------

/// Records `ssr_session` events as `LEVEL target field=value…` lines.
struct Capture(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().starts_with("ssr_session")
    }
    fn register_callsite(&self, metadata: &'static tracing::Metadata<'static>) -> Interest {
        // Decided per event by the thread's subscriber: other tests run on
        // other threads without one.
        if self.enabled(metadata) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let metadata = event.metadata();
        let mut line = format!("{} {}", metadata.level(), metadata.target());
        event.record(
            &mut |field: &tracing::field::Field, value: &dyn fmt::Debug| {
                let _ = write!(line, " {}={value:?}", field.name());
            },
        );
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Installs a [`Capture`] for this thread. A second, process-wide one is
/// kept alive: with a single live subscriber, tracing decides a callsite's
/// interest from the thread that first hits it, and another test's thread
/// (without a subscriber) would turn our events off for good.
fn capture() -> (Arc<Mutex<Vec<String>>>, tracing::subscriber::DefaultGuard) {
    static KEEPER: OnceLock<tracing::Dispatch> = OnceLock::new();
    KEEPER.get_or_init(|| tracing::Dispatch::new(Capture(Arc::default())));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let guard = tracing::subscriber::set_default(Capture(lines.clone()));
    (lines, guard)
}

// Single-threaded runtime: the refresh task logs on this thread.
#[tokio::test(flavor = "current_thread")]
async fn fetches_are_logged_at_debug_and_failures_at_warn_with_url_and_chain() {
    let (lines, _guard) = capture();
    let k1 = key("kid-1");
    let server = Server::serving(Reply::jwks(&[&k1]).header("cache-control", "max-age=60")).await;
    let keys = provider(&server.jwks_url()).build().unwrap();
    expect_key(&keys, &k1).await;
    {
        let lines = lines.lock().unwrap();
        let fetched = lines
            .iter()
            .find(|l| l.contains("fetched the JWKS"))
            .expect("a debug line");
        assert!(fetched.starts_with("DEBUG ssr_session::jwks"), "{fetched}");
        for part in [
            &format!("url={}", server.jwks_url()),
            "status=200",
            "keys=1",
            "ttl=60s",
        ] {
            assert!(fetched.contains(part), "{part} in {fetched}");
        }
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    drop(listener);
    let keys = provider(&url).build().unwrap();
    expect_unavailable(lookup(&keys, "kid-1").await);
    let lines = lines.lock().unwrap();
    let warning = lines
        .iter()
        .find(|l| l.starts_with("WARN"))
        .expect("a warning");
    assert!(warning.starts_with("WARN ssr_session::jwks"), "{warning}");
    assert!(warning.contains(&url), "{warning}");
    // The chain reaches the OS error under reqwest's and hyper's.
    assert!(
        warning.to_lowercase().contains("connection refused"),
        "{warning}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn an_empty_set_is_logged_as_a_warning() {
    let (lines, _guard) = capture();
    let server = Server::serving(Reply::json(&json!({"keys": []}))).await;
    let keys = provider(&server.jwks_url()).build().unwrap();
    expect_unknown(lookup(&keys, "kid-1").await);
    let lines = lines.lock().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("WARN") && l.contains("no usable key")),
        "{lines:#?}"
    );
}
