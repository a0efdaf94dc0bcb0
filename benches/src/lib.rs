//! Shared fixtures for the `ssr-session` benchmarks (see `BENCHMARKS.md` at the
//! workspace root for what is measured and how to reproduce it).
//!
//! - [`Fixture`]: a key and a SuperTokens access token per algorithm;
//! - [`cookie_header`]: a realistic `Cookie` header with 20 other cookies;
//! - [`JwksServer`]: a real JWKS server on 127.0.0.1 that counts its requests;
//! - [`poll_once`]: drives a future that is ready at once without a
//!   runtime's per-call overhead (what a handler's own task does);
//! - [`apps`]: the request and the axum / actix-web / Rocket apps of the
//!   pipeline benches;
//! - [`paired`]: an interleaved A/B timing for ratios on a noisy machine.

pub mod apps;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::{JwksKeyProvider, SessionConfig, Verifier, keys::Algorithm};

/// How long the fixture's tokens live: long enough for every bench and for
/// `compare.sh` to hand the same token to the Node run afterwards.
pub const TOKEN_LIFETIME_SECS: i64 = 2 * 3600;

/// One algorithm's key and token.
#[derive(Clone)]
pub struct Case {
    /// The stable lower-case name used in bench ids (`rs256`, `es256`, `eddsa`).
    pub name: &'static str,
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The signing key (its public JWK is in the fixture's JWKS).
    pub key: TestKey,
    /// A SuperTokens v5 access token signed by `key`.
    pub token: String,
}

// By hand: the token is never printed.
impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Case {
    /// A fresh key and token for `algorithm`.
    pub fn generate(name: &'static str, algorithm: Algorithm) -> Self {
        let key = TestKey::generate(algorithm, format!("d-{name}-bench"));
        // With the roles claim a SuperTokens app with the UserRoles recipe carries.
        let roles =
            serde_json::json!({"v": [apps::ROLE], "t": ssr_session::testing::now_secs() * 1000});
        let token = TokenBuilder::supertokens(apps::USER, TOKEN_LIFETIME_SECS)
            .claim("st-role", roles)
            .sign(&key);
        Self {
            name,
            algorithm,
            key,
            token,
        }
    }

    /// The token's signing input and decoded signature, for the raw floor.
    pub fn signing_input_and_signature(&self) -> (&[u8], Vec<u8>) {
        use base64::Engine as _;
        let dot = self.token.rfind('.').expect("a compact JWS");
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&self.token[dot + 1..])
            .expect("base64url signature");
        (&self.token.as_bytes()[..dot], signature)
    }
}

/// RS256, ES256 and EdDSA cases, with one JWKS holding all three keys.
#[derive(Debug)]
pub struct Fixture {
    /// The cases, in the order `rs256`, `es256`, `eddsa`.
    pub cases: Vec<Case>,
    /// `{"keys":[…]}` with every case's public key.
    pub jwks_json: String,
}

impl Fixture {
    /// Generates fresh keys and tokens.
    pub fn generate() -> Self {
        let cases = vec![
            Case::generate("rs256", Algorithm::RS256),
            Case::generate("es256", Algorithm::ES256),
            Case::generate("eddsa", Algorithm::EdDSA),
        ];
        let keys: Vec<&TestKey> = cases.iter().map(|case| &case.key).collect();
        let jwks_json = jwks(&keys).to_string();
        Self { cases, jwks_json }
    }

    /// The case named `name`.
    pub fn case(&self, name: &str) -> &Case {
        self.cases
            .iter()
            .find(|case| case.name == name)
            .unwrap_or_else(|| panic!("no case {name}"))
    }

    /// Writes `jwks.json` and `token-rs256.txt` (and the other algorithms'
    /// tokens) into `dir`, for the Node comparison to verify the very same
    /// token against the very same key set.
    pub fn export(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("jwks.json"), &self.jwks_json)?;
        for case in &self.cases {
            std::fs::write(dir.join(format!("token-{}.txt", case.name)), &case.token)?;
        }
        Ok(())
    }
}

/// A `Cookie` header as a browser sends it to an SSR page of a SuperTokens
/// app: 20 other cookies (analytics, preferences, consent, SuperTokens'
/// own `sFrontToken`…) and then `sAccessToken`, last, so the source has to
/// scan past all the others.
pub fn cookie_header(token: &str) -> String {
    let front_token = "eyJ1aWQiOiJiZW5jaC11c2VyLTdmM2M5YSIsImF0ZSI6MTc2MDAwMDAwMDAwMCwidXAiOnsi\
                       c3QtZXYiOnsidiI6dHJ1ZSwidCI6MTc2MDAwMDAwMDAwMH19fQ";
    let others = [
        "_ga=GA1.1.1234567890.1760000000".to_owned(),
        "_ga_ABCDEF1234=GS1.1.1760000000.3.1.1760000100.0.0.0".to_owned(),
        "_gid=GA1.2.987654321.1760000000".to_owned(),
        "_fbp=fb.1.1760000000000.1234567890".to_owned(),
        "theme=dark".to_owned(),
        "locale=en-GB".to_owned(),
        "tz=Europe%2FLondon".to_owned(),
        "cookie_consent=%7B%22analytics%22%3Atrue%2C%22ads%22%3Afalse%7D".to_owned(),
        "intercom-id-abc123=6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b".to_owned(),
        "intercom-session-abc123=".to_owned(),
        "ajs_anonymous_id=%22b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e%22".to_owned(),
        "sidebar_collapsed=false".to_owned(),
        "recently_viewed=p-1029%2Cp-2231%2Cp-0042".to_owned(),
        "ab_test_bucket=checkout-v2%3AB".to_owned(),
        "csrftoken=Xk2pQ9rT4vW7yZ1aB3cD5eF7gH9iJ1kL".to_owned(),
        "st-last-access-token-update=1760000000000".to_owned(),
        format!("sFrontToken={front_token}"),
        "st-access-token=remove".to_owned(),
        "__stripe_mid=1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d7e8f9a".to_owned(),
        "last_seen_release=2025.10.1".to_owned(),
    ];
    assert_eq!(others.len(), 20);
    let mut header = others.join("; ");
    header.push_str("; sAccessToken=");
    header.push_str(token);
    header
}

/// A JWKS server on 127.0.0.1 (an ephemeral port) that serves one document
/// with `Cache-Control: max-age=600` and counts the requests it answers.
#[derive(Debug)]
pub struct JwksServer {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    /// Starts serving `body` on the current Tokio runtime.
    pub async fn start(body: String) -> Self {
        use axum::http::header;
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        let body: Arc<str> = body.into();
        let app = axum::Router::new().fallback(move || {
            let body = body.clone();
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                (
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        (header::CACHE_CONTROL, "max-age=600"),
                    ],
                    body.to_string(),
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("JWKS server");
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    /// The JWKS URL.
    pub fn url(&self) -> String {
        format!("http://{}/auth/jwt/jwks.json", self.addr)
    }

    /// How many requests the server answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `future` once and returns its output.
///
/// # Panics
/// If the future is not ready at once. The benchmarked paths are (warm key
/// cache, token cache hit), so a pending future means the bench is wrong.
pub fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked future was not ready at once"),
    }
}

/// The peak resident set size of this process so far (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// The current resident set size of this process (`VmRSS`), in KiB.
pub fn current_rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The runtime the single-threaded benches share: one worker thread (the
/// JWKS server and the provider's refreshes), every driver on.
pub fn bench_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A [`SessionConfig`] with the default verifier (token cache on) over a
/// [`JwksKeyProvider`] for `server`, its JWKS and token caches warmed with
/// `token`.
pub fn warm_session_config(
    runtime: &tokio::runtime::Runtime,
    server: &JwksServer,
    token: &str,
) -> SessionConfig {
    let keys = {
        let _context = runtime.enter();
        JwksKeyProvider::builder(&server.url())
            .build()
            .expect("provider")
    };
    let config = SessionConfig::new(Verifier::builder(keys).build().expect("verifier"));
    let outcome = runtime.block_on(config.verifier().verify_token(token));
    assert!(outcome.is_valid(), "{outcome:?}");
    config
}

/// The result of [`paired`]: medians over the rounds.
#[derive(Debug, Clone, Copy)]
pub struct Paired {
    /// Median of the rounds' `time(a) / time(b)` (per operation).
    pub ratio: f64,
    /// The 25th and 75th percentiles of those ratios.
    pub ratio_quartiles: (f64, f64),
    /// Median time of one `a`, in nanoseconds.
    pub a_ns: f64,
    /// Median time of one `b`, in nanoseconds.
    pub b_ns: f64,
}

/// Times `a` and `b` in alternating blocks of about `block` each, for
/// `rounds` rounds (the order flips every round), and gives the median of
/// the per-round ratios. Load that drifts over seconds hits both sides of
/// a round alike, so the ratio stays meaningful on a busy machine where
/// two separate benchmark runs would not be comparable.
pub fn paired(rounds: usize, block: Duration, a: &mut dyn FnMut(), b: &mut dyn FnMut()) -> Paired {
    fn per_block(f: &mut dyn FnMut(), block: Duration) -> u64 {
        let mut n = 1u64;
        loop {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            let elapsed = start.elapsed();
            if elapsed >= block / 4 {
                let scaled = n as f64 * block.as_secs_f64() / elapsed.as_secs_f64();
                return (scaled as u64).max(1);
            }
            n *= 2;
        }
    }
    fn run(f: &mut dyn FnMut(), n: u64) -> f64 {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed().as_nanos() as f64 / n as f64
    }
    fn median(values: &mut [f64]) -> f64 {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    }
    let (na, nb) = (per_block(a, block), per_block(b, block));
    let (mut ratios, mut times_a, mut times_b) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let (ta, tb) = if round % 2 == 0 {
            let ta = run(a, na);
            (ta, run(b, nb))
        } else {
            let tb = run(b, nb);
            (run(a, na), tb)
        };
        ratios.push(ta / tb);
        times_a.push(ta);
        times_b.push(tb);
    }
    let ratio = median(&mut ratios);
    let quartiles = (ratios[ratios.len() / 4], ratios[ratios.len() * 3 / 4]);
    Paired {
        ratio,
        ratio_quartiles: quartiles,
        a_ns: median(&mut times_a),
        b_ns: median(&mut times_b),
    }
}

/// OpenID issuers on 127.0.0.1 for any tenant: `/{tenant}/.well-known/openid-configuration`
/// names the issuer `{base}/{tenant}` and the JWKS `{base}/{tenant}/jwks.json`, which
/// serves `jwks_json` for every tenant. Discovery and JWKS requests are counted apart.
#[derive(Debug)]
pub struct IssuersServer {
    addr: SocketAddr,
    discoveries: Arc<AtomicU64>,
    jwks: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl IssuersServer {
    /// Starts serving on the current Tokio runtime.
    pub async fn start(jwks_json: String) -> Self {
        use axum::http::{StatusCode, Uri, header};
        use axum::response::IntoResponse as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let base = format!("http://{addr}");
        let (discoveries, jwks) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (d, j) = (discoveries.clone(), jwks.clone());
        let jwks_json: Arc<str> = jwks_json.into();
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let path = uri.path().to_owned();
            let answer = if let Some(tenant) = path
                .strip_suffix("/.well-known/openid-configuration")
                .map(|t| t.trim_start_matches('/'))
            {
                d.fetch_add(1, Ordering::SeqCst);
                let issuer = format!("{base}/{tenant}");
                Some(
                    serde_json::json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks.json")})
                        .to_string(),
                )
            } else if path.ends_with("/jwks.json") {
                j.fetch_add(1, Ordering::SeqCst);
                Some(jwks_json.to_string())
            } else {
                None
            };
            async move {
                match answer {
                    Some(body) => (
                        [
                            (header::CONTENT_TYPE, "application/json"),
                            (header::CACHE_CONTROL, "max-age=600"),
                        ],
                        body,
                    )
                        .into_response(),
                    None => StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("issuers server");
        });
        Self {
            addr,
            discoveries,
            jwks,
            task,
        }
    }

    /// The issuer of `tenant`.
    pub fn issuer(&self, tenant: &str) -> String {
        format!("http://{}/{tenant}", self.addr)
    }

    /// The issuer template, `{base}/{tenant}`.
    pub fn template(&self) -> String {
        format!("http://{}/{{tenant}}", self.addr)
    }

    /// Discovery requests answered so far.
    pub fn discoveries(&self) -> u64 {
        self.discoveries.load(Ordering::SeqCst)
    }

    /// JWKS requests answered so far.
    pub fn jwks_requests(&self) -> u64 {
        self.jwks.load(Ordering::SeqCst)
    }
}

impl Drop for IssuersServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
