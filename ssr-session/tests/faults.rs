//! Faults of the key source, under load, against real servers on
//! 127.0.0.1: a JWKS server that goes away, hangs, dribbles its headers,
//! cannot be resolved, presents a self-signed certificate, redirects to
//! itself, rotates its keys mid-load, or serves a thousand keys or new keys
//! on every fetch. Each test states the promise it checks (SECURITY.md
//! lists them); every loop is bounded in count and time.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::{
    JwksKeyProvider, SessionConfig, SessionOutcome, Verifier, error::InvalidKind,
    error::KeySourceError, jwks::JwksKeyProviderBuilder, keys::Algorithm, respond::RequestInfo,
    source::HeaderList,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Headroom for a busy 2-core CI machine on top of every time bound.
const MARGIN: Duration = Duration::from_millis(1000);

// ---------------------------------------------------------------------------
// A JWKS server whose behaviour the test controls
// ---------------------------------------------------------------------------

/// How the server answers the next request.
#[derive(Clone)]
enum Mode {
    /// 200 with this body (no `Cache-Control`: the provider's default TTL).
    Body(String),
    /// This status, empty body.
    Status(u16),
    /// Reads the request and never answers (a server that answers after
    /// 30 s is the same to a client with a shorter timeout).
    Hang,
    /// Writes a status line and then one header byte every interval,
    /// forever: the headers never end.
    DribbleHeaders(Duration),
}

struct ControlledServer {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    /// Requests whose head was read.
    hits: Arc<AtomicUsize>,
    accept: Mutex<Option<JoinHandle<()>>>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl ControlledServer {
    async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            addr: listener.local_addr().unwrap(),
            mode: Arc::new(Mutex::new(mode)),
            hits: Arc::new(AtomicUsize::new(0)),
            accept: Mutex::new(None),
            connections: Arc::new(Mutex::new(Vec::new())),
        };
        server.listen(listener);
        server
    }

    fn listen(&self, listener: TcpListener) {
        let (mode, hits, connections) = (
            self.mode.clone(),
            self.hits.clone(),
            self.connections.clone(),
        );
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let connection = tokio::spawn(answer(stream, mode.clone(), hits.clone()));
                connections.lock().unwrap().push(connection.abort_handle());
            }
        });
        *self.accept.lock().unwrap() = Some(task);
    }

    fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The server goes away: the listening socket is closed (connections
    /// are refused) and every open connection is cut.
    async fn down(&self) {
        let accept = self.accept.lock().unwrap().take();
        if let Some(task) = accept {
            task.abort();
            let _ = task.await;
        }
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
        // The socket is closed once the aborted task is dropped: make sure.
        for _ in 0..50 {
            if TcpStream::connect(self.addr).await.is_err() {
                return;
            }
            tokio::time::sleep(MS(10)).await;
        }
        panic!("the server did not go away");
    }

    /// The server comes back on the same address.
    async fn up(&self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.listen(listener);
    }
}

async fn answer(mut stream: TcpStream, mode: Arc<Mutex<Mode>>, hits: Arc<AtomicUsize>) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let mode = mode.lock().unwrap().clone();
    let response = match mode {
        Mode::Body(body) => format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        ),
        Mode::Status(status) => {
            format!("HTTP/1.1 {status} Oops\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        }
        Mode::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        Mode::DribbleHeaders(interval) => {
            let mut bytes = b"HTTP/1.1 200 OK\r\nx-slow: "
                .iter()
                .chain(std::iter::repeat(&b'a'));
            loop {
                let byte = *bytes.next().unwrap();
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(interval).await;
            }
        }
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn es256(kid: &str) -> TestKey {
    TestKey::generate(Algorithm::ES256, kid)
}

fn set_of(keys: &[&TestKey]) -> Mode {
    Mode::Body(jwks(keys).to_string())
}

/// A provider with short, explicit timings (the defaults are seconds long).
fn provider(url: &str) -> JwksKeyProviderBuilder {
    JwksKeyProvider::builder(url)
        .min_ttl(Duration::ZERO)
        .default_ttl(MS(200))
        .unknown_kid_interval(MS(100))
        .retry_interval(MS(400))
        .timeout(MS(500))
        .failure_backoff(MS(200))
}

/// A verifier that goes to the key provider on every request (no
/// verified-token cache), so that every request exercises the fault.
fn uncached(keys: &JwksKeyProvider) -> Verifier {
    Verifier::builder(keys.clone())
        .without_token_cache()
        .build()
        .unwrap()
}

fn cookie(token: &str) -> HeaderList {
    HeaderList::new().with("Cookie", format!("sAccessToken={token}"))
}

fn token(key: &TestKey) -> String {
    TokenBuilder::supertokens("alice", 600).sign(key)
}

fn is_unavailable(outcome: &SessionOutcome) -> bool {
    matches!(outcome, SessionOutcome::Unavailable(_))
}

fn invalid_kind(outcome: &SessionOutcome) -> Option<InvalidKind> {
    match outcome {
        SessionOutcome::Invalid(invalid) => Some(invalid.kind().clone()),
        _ => None,
    }
}

/// Verifies with a hard stop, so that a fetch that never ends fails the
/// test instead of hanging it.
async fn verify_within(
    verifier: &Verifier,
    token: &str,
    bound: Duration,
) -> (SessionOutcome, Duration) {
    let started = Instant::now();
    let headers = cookie(token);
    match tokio::time::timeout(bound + Duration::from_secs(5), verifier.verify(&headers)).await {
        Ok(outcome) => (outcome, started.elapsed()),
        Err(_) => panic!(
            "a verification hung for more than {:?}",
            bound + Duration::from_secs(5)
        ),
    }
}

/// Polls `verify` until it gives an outcome accepted by `done`, at most
/// for `limit`; returns how long it took.
async fn until(
    verifier: &Verifier,
    token: &str,
    limit: Duration,
    done: impl Fn(&SessionOutcome) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let (outcome, _) = verify_within(verifier, token, limit).await;
        if done(&outcome) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "no matching outcome within {limit:?}; last {outcome:?}"
        );
        tokio::time::sleep(MS(20)).await;
    }
}

/// What a load run saw.
#[derive(Debug, Default)]
struct Tally {
    requests: usize,
    slowest: Duration,
    unexpected: Vec<String>,
}

/// `tasks` concurrent tasks, each sending `per_task` requests with a pause
/// between them; request *i* uses `tokens[i % len]` and must satisfy
/// `expect` for that token index.
async fn load(
    verifier: &Verifier,
    tokens: &[String],
    tasks: usize,
    per_task: usize,
    pause: Duration,
    bound: Duration,
    expect: fn(usize, &SessionOutcome) -> bool,
) -> Tally {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut handles = Vec::new();
    for task in 0..tasks {
        let (verifier, tokens, tally) = (verifier.clone(), tokens.to_vec(), tally.clone());
        handles.push(tokio::spawn(async move {
            for i in 0..per_task {
                let which = (task + i) % tokens.len();
                let (outcome, elapsed) = verify_within(&verifier, &tokens[which], bound).await;
                {
                    let mut tally = tally.lock().unwrap();
                    tally.requests += 1;
                    tally.slowest = tally.slowest.max(elapsed);
                    if !expect(which, &outcome) {
                        tally.unexpected.push(format!("token {which}: {outcome:?}"));
                    }
                }
                tokio::time::sleep(pause).await;
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    Arc::into_inner(tally).unwrap().into_inner().unwrap()
}

/// The status the core's default responses give an outcome (data request).
fn status_of(outcome: &SessionOutcome) -> u16 {
    let config = SessionConfig::new(
        Verifier::builder(ssr_session::keys::StaticKeys::default())
            .build()
            .unwrap(),
    );
    let headers = HeaderList::new();
    match outcome {
        SessionOutcome::Valid(_) => 200,
        other => config
            .reject(other, &RequestInfo::new(&headers, "GET", "/page"))
            .status(),
    }
}

// ---------------------------------------------------------------------------
// Outage during load
// ---------------------------------------------------------------------------

/// Token 0 is of the cached kid, token 1 of a kid never seen.
fn cached_valid_unknown_unavailable(which: usize, outcome: &SessionOutcome) -> bool {
    match which {
        0 => outcome.is_valid(),
        _ => is_unavailable(outcome),
    }
}

/// The server goes away (connections refused) in the middle of a load:
/// the cached kid keeps verifying from stale keys, an unknown kid is
/// *unavailable* (503, never 401: the key may have rotated in while the
/// source was down), no request waits longer than the fetch timeout,
/// retries stay one per retry interval, and after recovery a new kid
/// verifies within one retry interval plus one unknown-kid interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_during_load_serves_stale_keys_and_recovers_within_a_retry_interval() {
    let (k1, k2) = (es256("kid-1"), es256("kid-2"));
    let server = ControlledServer::start(set_of(&[&k1])).await;
    let keys = provider(&server.url()).build().unwrap();
    let verifier = uncached(&keys);
    let (t1, t2, unknown) = (token(&k1), token(&k2), token(&es256("kid-unknown")));
    assert!(verify_within(&verifier, &t1, MARGIN).await.0.is_valid());

    server.down().await;
    // Once the TTL passes, the first refresh fails; from then on an unknown
    // kid is unavailable.
    until(&verifier, &unknown, Duration::from_secs(3), is_unavailable).await;
    let hits_before = server.hits();
    let fetches_before = keys.fetch_count();
    let started = Instant::now();
    let tally = load(
        &verifier,
        &[t1.clone(), unknown.clone()],
        4,
        50,
        MS(20),
        MS(500),
        cached_valid_unknown_unavailable,
    )
    .await;
    let outage = started.elapsed();
    // Retries during the outage: at most one per retry interval (400 ms).
    let attempts = u128::from(keys.fetch_count() - fetches_before);
    let bound = outage.as_millis() / 400 + 2;
    assert!(
        attempts <= bound,
        "{attempts} fetches over {outage:?}, at most {bound}"
    );
    assert!(tally.unexpected.is_empty(), "{:#?}", tally.unexpected);
    assert_eq!(tally.requests, 200);
    assert!(
        tally.slowest < MS(500) + MARGIN,
        "a request took {:?} (fetch timeout 500 ms)",
        tally.slowest
    );
    assert_eq!(
        server.hits(),
        hits_before,
        "the server was down: nothing arrived"
    );
    assert_eq!(
        status_of(&verify_within(&verifier, &unknown, MARGIN).await.0),
        503
    );

    // Recovery with a rotated-in key: within one retry interval (400 ms)
    // of the last attempt, plus the unknown-kid interval (100 ms), the new
    // kid verifies.
    server.set(set_of(&[&k1, &k2]));
    server.up().await;
    let limit = MS(400) + MS(100) + MARGIN;
    let took = until(&verifier, &t2, limit, SessionOutcome::is_valid).await;
    assert!(took < limit, "new kid verified after {took:?}");
    assert!(verify_within(&verifier, &t1, MARGIN).await.0.is_valid());
}

/// The same promise when the server is up but answers 503, or answers
/// garbage with a 200: stale keys serve, unknown kids are unavailable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_statuses_and_garbage_answers_are_outages_too() {
    for broken in [
        Mode::Status(503),
        Mode::Body("<html><body>502 Bad Gateway</body></html>".into()),
        Mode::Body("{\"keys\": [".into()),
    ] {
        let k1 = es256("kid-1");
        let server = ControlledServer::start(set_of(&[&k1])).await;
        let keys = provider(&server.url()).build().unwrap();
        let verifier = uncached(&keys);
        let (t1, unknown) = (token(&k1), token(&es256("kid-unknown")));
        assert!(verify_within(&verifier, &t1, MARGIN).await.0.is_valid());
        server.set(broken);
        until(&verifier, &unknown, Duration::from_secs(3), is_unavailable).await;
        let tally = load(
            &verifier,
            &[t1, unknown],
            4,
            25,
            MS(10),
            MS(500),
            cached_valid_unknown_unavailable,
        )
        .await;
        assert!(tally.unexpected.is_empty(), "{:#?}", tally.unexpected);
        assert!(tally.slowest < MS(500) + MARGIN, "{:?}", tally.slowest);
    }
}

// ---------------------------------------------------------------------------
// Slow servers
// ---------------------------------------------------------------------------

/// A server that answers after 30 s: lookups of cached kids never wait for
/// the refresh in flight (fresh or stale), an unknown kid waits for it at
/// most the fetch timeout and is then *unavailable* with a timeout error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_server_delays_no_cached_kid_and_the_fetch_times_out() {
    let k1 = es256("kid-1");
    let server = ControlledServer::start(set_of(&[&k1])).await;
    let timeout = Duration::from_secs(3);
    let keys = provider(&server.url())
        .timeout(timeout)
        .unknown_kid_interval(Duration::ZERO)
        .build()
        .unwrap();
    let verifier = uncached(&keys);
    let (t1, unknown) = (token(&k1), token(&es256("kid-unknown")));
    assert!(verify_within(&verifier, &t1, MARGIN).await.0.is_valid());

    server.set(Mode::Hang);
    let waiting = {
        let verifier = verifier.clone();
        let unknown = unknown.clone();
        tokio::spawn(async move { verify_within(&verifier, &unknown, timeout).await })
    };
    // While that refetch hangs, the cached kid answers at once, fresh and
    // then stale (the TTL is 200 ms).
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while started.elapsed() < MS(1000) {
        let (outcome, elapsed) = verify_within(&verifier, &t1, timeout).await;
        assert!(outcome.is_valid(), "{outcome:?}");
        slowest = slowest.max(elapsed);
        tokio::time::sleep(MS(20)).await;
    }
    assert!(
        slowest < MS(1000),
        "a cached kid waited {slowest:?} behind a hanging fetch"
    );
    let (outcome, elapsed) = waiting.await.unwrap();
    match &outcome {
        SessionOutcome::Unavailable(unavailable) => assert!(
            matches!(
                unavailable.key_source_error().unwrap(),
                KeySourceError::Timeout { .. }
            ),
            "{unavailable:?}"
        ),
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert!(
        elapsed >= timeout - MS(50) && elapsed < timeout + MARGIN,
        "the unknown kid waited {elapsed:?} (timeout {timeout:?})"
    );
    assert_eq!(status_of(&outcome), 503);
}

/// A server that dribbles its headers one byte at a time never finishes
/// them: the fetch is cut at the timeout, which covers the whole exchange.
#[tokio::test]
async fn dribbled_headers_time_out() {
    let server = ControlledServer::start(Mode::DribbleHeaders(MS(50))).await;
    let keys = provider(&server.url()).timeout(MS(600)).build().unwrap();
    let verifier = uncached(&keys);
    let (outcome, elapsed) = verify_within(&verifier, &token(&es256("kid-1")), MS(600)).await;
    match &outcome {
        SessionOutcome::Unavailable(unavailable) => assert!(
            matches!(
                unavailable.key_source_error().unwrap(),
                KeySourceError::Timeout { .. }
            ),
            "{unavailable:?}"
        ),
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert!(elapsed < MS(600) + MARGIN, "{elapsed:?}");
    assert_eq!(server.hits(), 1);
}

// ---------------------------------------------------------------------------
// Unreachable sources: each a defined outcome with a useful log line
// ---------------------------------------------------------------------------

/// Records `ssr_session` warnings as `target field=value…` lines.
struct Capture(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().starts_with("ssr_session") && *metadata.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = event.metadata().target().to_owned();
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

/// A TLS server on 127.0.0.1 with a self-signed certificate made now.
async fn self_signed_https() -> String {
    use tokio_rustls::rustls;
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    #[cfg(feature = "ring")]
    let provider = rustls::crypto::ring::default_provider();
    #[cfg(not(feature = "ring"))]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            // The client refuses the certificate: the handshake fails here too.
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    url
}

/// An endpoint that redirects to itself.
async fn redirect_loop() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let target = url.clone();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let target = target.clone();
            async move { axum::response::Redirect::temporary(&target) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn refused() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    drop(listener);
    url
}

// Single-threaded: the refresh task logs on this thread, into the capture.
#[tokio::test(flavor = "current_thread")]
async fn unreachable_sources_are_unavailable_with_a_useful_log_line() {
    let cases = [
        (
            "unresolvable host",
            "http://jwks.invalid/jwks.json".to_owned(),
            "dns error",
        ),
        ("connection refused", refused().await, "connection refused"),
        ("TLS failure", self_signed_https().await, "certificate"),
        ("redirect loop", redirect_loop().await, "redirect"),
    ];
    for (name, url, cause) in cases {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let guard = tracing::subscriber::set_default(Capture(lines.clone()));
        let keys = provider(&url)
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        let verifier = uncached(&keys);
        let (outcome, elapsed) =
            verify_within(&verifier, &token(&es256("kid-1")), Duration::from_secs(3)).await;
        drop(guard);
        let SessionOutcome::Unavailable(unavailable) = &outcome else {
            panic!("{name}: expected unavailable, got {outcome:?}");
        };
        assert!(
            matches!(
                unavailable.key_source_error().unwrap(),
                KeySourceError::Fetch { .. }
            ),
            "{name}: {unavailable:?}"
        );
        assert_eq!(status_of(&outcome), 503, "{name}");
        assert!(elapsed < Duration::from_secs(3), "{name}: took {elapsed:?}");
        let lines = lines.lock().unwrap();
        let line = lines
            .iter()
            .find(|line| line.starts_with("ssr_session::jwks") && line.contains("failed"))
            .unwrap_or_else(|| panic!("{name}: no warning in {lines:#?}"));
        assert!(line.contains(&url), "{name}: the URL is not in {line}");
        assert!(
            line.to_lowercase().contains(cause),
            "{name}: the cause ({cause}) is not in {line}"
        );
        assert!(
            line.contains("verification is unavailable"),
            "{name}: {line}"
        );
    }
}

// ---------------------------------------------------------------------------
// Key rotation mid-load
// ---------------------------------------------------------------------------

/// A new key is added, then the old one removed, while requests flow
/// through a verifier with its verified-token cache on: no request of a
/// published key fails during the overlap, the new kid verifies at its
/// first lookup, even right after a fetch (the refetch at the end of the
/// unknown-kid interval brings it), and once the old key is gone from the
/// JWKS its tokens stop verifying after the next refresh, cached ones
/// included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_mid_load_loses_no_valid_request_and_drops_the_removed_key() {
    let (old, new) = (es256("d-1"), es256("d-2"));
    let server = ControlledServer::start(set_of(&[&old])).await;
    let keys = provider(&server.url()).build().unwrap();
    let verifier = Verifier::builder(keys.clone()).build().unwrap();
    let old_tokens: Vec<String> = (0..4).map(|_| token(&old)).collect();
    let all_valid = |_: usize, outcome: &SessionOutcome| outcome.is_valid();

    let tally = load(&verifier, &old_tokens, 4, 20, MS(10), MS(500), all_valid).await;
    assert!(tally.unexpected.is_empty(), "{:#?}", tally.unexpected);

    // Overlap: both keys published. The issuer signs with the new one at
    // once.
    server.set(set_of(&[&old, &new]));
    let mut mixed = old_tokens.clone();
    mixed.extend((0..4).map(|_| token(&new)));
    let tally = load(&verifier, &mixed, 4, 40, MS(10), MS(500), all_valid).await;
    assert!(tally.unexpected.is_empty(), "{:#?}", tally.unexpected);
    assert!(tally.slowest < MS(500) + MARGIN, "{:?}", tally.slowest);

    // The old key is removed. Its tokens, cached or not, stop verifying
    // after the next refresh (TTL 200 ms, started by any lookup).
    server.set(set_of(&[&new]));
    let started = Instant::now();
    // Requests keep coming (new tokens, so that they reach the provider);
    // the first lookup past the TTL refreshes in the background.
    while keys.key_set().await.unwrap().contains_kid("d-1") {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the old key was never dropped"
        );
        assert!(
            verify_within(&verifier, &token(&new), MARGIN)
                .await
                .0
                .is_valid()
        );
        tokio::time::sleep(MS(20)).await;
    }
    let fresh_new = token(&new);
    assert!(
        verify_within(&verifier, &fresh_new, MARGIN)
            .await
            .0
            .is_valid()
    );
    for old_token in &old_tokens {
        let (outcome, _) = verify_within(&verifier, old_token, MARGIN).await;
        assert_eq!(
            invalid_kind(&outcome),
            Some(InvalidKind::UnknownKey),
            "a token of the removed key: {outcome:?}"
        );
    }
    assert!(
        verify_within(&verifier, &mixed[4], MARGIN)
            .await
            .0
            .is_valid()
    );
}

// ---------------------------------------------------------------------------
// Large and changing key sets
// ---------------------------------------------------------------------------

/// A JWKS of 1,000 RSA keys (≈ 400 KB): fetched and parsed once within a
/// bounded time, any kid found, and the set held is exactly the 1,000 keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_keys_are_parsed_once_and_looked_up_quickly() {
    let pair = TestKey::generate(Algorithm::RS256, "pair");
    let keys: Vec<TestKey> = (0..1000).map(|i| pair.with_kid(format!("d-{i}"))).collect();
    let body = jwks(&keys.iter().collect::<Vec<_>>()).to_string();
    assert!(body.len() < 1024 * 1024, "{} bytes", body.len());
    let server = ControlledServer::start(Mode::Body(body)).await;
    let provider = provider(&server.url())
        .default_ttl(Duration::from_secs(60))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let verifier = uncached(&provider);

    let started = Instant::now();
    let (outcome, _) = verify_within(&verifier, &token(&keys[999]), Duration::from_secs(10)).await;
    assert!(outcome.is_valid(), "{outcome:?}");
    let first = started.elapsed();
    assert!(
        first < Duration::from_secs(5),
        "fetching and parsing took {first:?}"
    );
    assert_eq!(provider.key_set().await.unwrap().keys().len(), 1000);

    let tokens: Vec<String> = keys.iter().step_by(50).map(token).collect();
    let started = Instant::now();
    for token in &tokens {
        assert!(verify_within(&verifier, token, MARGIN).await.0.is_valid());
    }
    let each = started.elapsed() / 20;
    assert!(each < MS(250), "a lookup among 1,000 keys took {each:?}");
    assert_eq!(provider.fetch_count(), 1);
}

/// A server whose set changes on every fetch, claiming `no-store`, under a
/// flood of unknown kids: `no-store` is raised to `min_ttl`, and each
/// unknown kid waits for the next fetch, so fetches stay at most one per
/// `min_ttl` (here also the unknown-kid interval), and only the latest set
/// is held (memory does not grow with the number of fetches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_that_changes_every_fetch_is_fetched_at_most_once_per_min_ttl() {
    let pair = TestKey::generate(Algorithm::EdDSA, "pair");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let app = {
        let served = served.clone();
        axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let generation = served.fetch_add(1, Ordering::SeqCst);
                let keys: Vec<TestKey> = (0..100)
                    .map(|i| pair.with_kid(format!("g{generation}-{i}")))
                    .collect();
                let body = jwks(&keys.iter().collect::<Vec<_>>()).to_string();
                async move { ([("cache-control", "no-store")], body) }
            }),
        )
    };
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let keys = provider(&url).min_ttl(MS(100)).build().unwrap();
    let verifier = uncached(&keys);
    let random: Vec<String> = (0..64)
        .map(|i| token(&TestKey::generate(Algorithm::ES256, format!("random-{i}"))))
        .collect();

    let started = Instant::now();
    let not_valid = |_: usize, outcome: &SessionOutcome| !outcome.is_valid();
    // Each lookup waits up to the interval: 25 per task keep this short.
    let tally = load(&verifier, &random, 4, 25, MS(5), MS(500), not_valid).await;
    let elapsed = started.elapsed();
    assert!(tally.unexpected.is_empty(), "{:#?}", tally.unexpected);
    assert!(tally.slowest < MS(500) + MARGIN, "{:?}", tally.slowest);
    let fetches = keys.fetch_count() as u128;
    let bound = elapsed.as_millis() / 100 + 2;
    assert!(
        fetches <= bound,
        "{fetches} fetches in {elapsed:?}: more than one per min_ttl"
    );
    assert_eq!(
        keys.key_set().await.unwrap().keys().len(),
        100,
        "only the latest set is held"
    );
}
