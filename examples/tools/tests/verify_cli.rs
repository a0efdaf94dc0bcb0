//! The `verify` CLI run as a subprocess, with the JWKS served by a real
//! loopback HTTP server and read from a file: one test per outcome and exit
//! status.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;
use ssr_session::keys::Algorithm;
use ssr_session::testing::{self, TestKey, TokenBuilder};

const VALID: i32 = 0;
const USAGE: i32 = 2;
const NEEDS_REFRESH: i32 = 3;
const INVALID: i32 = 4;
const UNAVAILABLE: i32 = 5;

/// A published key, served at `url` (with a per-test fetch counter) and
/// written to `file`.
struct Fixture {
    key: TestKey,
    url: String,
    broken_url: String,
    fetches: Arc<AtomicUsize>,
    file: PathBuf,
    // Dropped last: stops the server.
    _runtime: tokio::runtime::Runtime,
}

impl Fixture {
    /// `name` keeps the tests' JWKS files apart.
    fn new(name: &str) -> Self {
        let key = TestKey::generate(Algorithm::RS256, "k1");
        let jwks = testing::jwks(&[&key]);
        let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("verify-cli-{}-{name}.json", std::process::id()));
        std::fs::write(&file, jwks.to_string()).unwrap();

        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let app = Router::new()
            .route(
                "/jwks.json",
                get(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let jwks = jwks.clone();
                    async move { axum::Json(jwks) }
                }),
            )
            .route(
                "/broken.json",
                get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
            );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });

        Self {
            key,
            url: format!("http://{address}/jwks.json"),
            broken_url: format!("http://{address}/broken.json"),
            fetches,
            file,
            _runtime: runtime,
        }
    }

    /// The same keys, from the URL and from the file.
    fn key_sources(&self) -> [(&'static str, Vec<String>); 2] {
        [
            ("url", vec!["--jwks-url".into(), self.url.clone()]),
            (
                "file",
                vec!["--jwks-file".into(), self.file.display().to_string()],
            ),
        ]
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// One run of the binary.
#[derive(Debug)]
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

/// Runs `verify` with `args` on top of `keys`, without the caller's
/// `SSR_SESSION_TOKEN` or `RUST_LOG`.
fn verify(keys: &[String], args: &[&str]) -> Run {
    verify_with_env(keys, args, &[])
}

fn verify_with_env(keys: &[String], args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_verify"));
    command
        .args(keys)
        .args(args)
        .env_remove("SSR_SESSION_TOKEN")
        .env_remove("RUST_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let run = Run {
        status: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    // Every JWS starts with `eyJ` (base64url of `{"`); none may be echoed.
    assert!(!run.stdout.contains("eyJ"), "token on stdout: {run:?}");
    assert!(!run.stderr.contains("eyJ"), "token on stderr: {run:?}");
    run
}

impl Run {
    /// Asserts the exit status and that stdout is exactly one line of JSON;
    /// gives the JSON.
    fn report(&self, status: i32) -> Value {
        assert_eq!(self.status, status, "{self:?}");
        let line = self
            .stdout
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("stdout not one line: {self:?}"));
        assert!(!line.contains('\n'), "stdout not one line: {self:?}");
        let json: Value = serde_json::from_str(line).unwrap();
        assert!(json.is_object(), "{self:?}");
        json
    }

    /// Asserts a usage error: status 2, a message on stderr, nothing on stdout.
    fn assert_usage_error(&self, mentions: &str) {
        assert_eq!(self.status, USAGE, "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
        assert!(self.stderr.contains(mentions), "{self:?}");
    }
}

fn assert_needs_refresh(run: &Run, reason: &str, source: &str) {
    let json = run.report(NEEDS_REFRESH);
    assert_eq!(
        json,
        serde_json::json!({"outcome": "needs_refresh", "reason": reason}),
        "{source}"
    );
}

fn assert_invalid(run: &Run, kind: &str, source: &str) {
    let json = run.report(INVALID);
    assert_eq!(json["outcome"], "invalid", "{source}: {run:?}");
    assert_eq!(json["kind"], kind, "{source}: {run:?}");
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{source}: {run:?}"
    );
    assert_eq!(json.as_object().unwrap().len(), 3, "{source}: {run:?}");
}

fn assert_valid(run: &Run, sub: &str, source: &str) -> Value {
    let json = run.report(VALID);
    assert_eq!(json["outcome"], "valid", "{source}: {run:?}");
    assert_eq!(json["sub"], sub, "{source}: {run:?}");
    assert_eq!(json["claims"]["sub"], sub, "{source}: {run:?}");
    json
}

#[test]
fn valid_via_cookie_echoes_sub_and_all_claims() {
    let fixture = Fixture::new("valid-cookie");
    let token = TokenBuilder::supertokens("user-1", 3600)
        .claim("role", "admin")
        .sign(&fixture.key);
    let cookie = format!("theme=dark; sAccessToken={token}; other=1");
    for (source, keys) in fixture.key_sources() {
        let run = verify(&keys, &["--cookie", &cookie]);
        let json = assert_valid(&run, "user-1", source);
        assert_eq!(json["claims"]["role"], "admin", "{source}");
        assert_eq!(json["claims"]["tId"], "public", "{source}");
        assert_eq!(
            json["claims"]["iss"], "http://localhost:3000/auth",
            "{source}"
        );
        assert!(json["claims"]["exp"].is_i64(), "{source}");
    }
    assert_eq!(fixture.fetches(), 1, "the URL run fetched the JWKS once");
}

#[test]
fn valid_via_token() {
    let fixture = Fixture::new("valid-token");
    let token = TokenBuilder::supertokens("user-2", 3600).sign(&fixture.key);
    for (source, keys) in fixture.key_sources() {
        let run = verify(&keys, &["--token", &token]);
        assert_valid(&run, "user-2", source);
    }
}

#[test]
fn valid_via_token_from_the_environment() {
    let fixture = Fixture::new("valid-token-env");
    let token = TokenBuilder::supertokens("user-3", 3600).sign(&fixture.key);
    for (source, keys) in fixture.key_sources() {
        let run = verify_with_env(&keys, &[], &[("SSR_SESSION_TOKEN", &token)]);
        assert_valid(&run, "user-3", source);
    }
}

#[test]
fn valid_via_authorization_bearer() {
    let fixture = Fixture::new("valid-authorization");
    let token = TokenBuilder::supertokens("user-4", 3600).sign(&fixture.key);
    let authorization = format!("Bearer {token}");
    for (source, keys) in fixture.key_sources() {
        let run = verify(&keys, &["--authorization", &authorization]);
        assert_valid(&run, "user-4", source);
    }
}

#[test]
fn valid_with_all_checks_configured() {
    let fixture = Fixture::new("valid-configured");
    let token = TokenBuilder::supertokens("user-5", -10)
        .claim("aud", "app")
        .sign(&fixture.key);
    let args = [
        "--token",
        &token,
        "--issuer",
        "http://localhost:3000/auth",
        "--audience",
        "app",
        "--algorithms",
        "ES256,RS256",
        "--leeway-secs",
        "60",
    ];
    for (source, keys) in fixture.key_sources() {
        let run = verify(&keys, &args);
        assert_valid(&run, "user-5", source);
    }
    let keys = ["--jwks-url".to_owned(), fixture.url.clone()];
    let run = verify(&keys, &[&args[..], &["--timeout-secs", "10"]].concat());
    assert_valid(&run, "user-5", "url with timeout");
}

#[test]
fn needs_refresh_when_no_token() {
    let fixture = Fixture::new("missing");
    for (source, keys) in fixture.key_sources() {
        assert_needs_refresh(&verify(&keys, &[]), "missing", source);
        let run = verify(&keys, &["--cookie", "theme=dark"]);
        assert_needs_refresh(&run, "missing", source);
    }
}

#[test]
fn needs_refresh_when_expired() {
    let fixture = Fixture::new("expired");
    let token = TokenBuilder::supertokens("user-6", -60).sign(&fixture.key);
    let cookie = format!("sAccessToken={token}");
    for (source, keys) in fixture.key_sources() {
        assert_needs_refresh(&verify(&keys, &["--token", &token]), "expired", source);
        assert_needs_refresh(&verify(&keys, &["--cookie", &cookie]), "expired", source);
    }
}

#[test]
fn invalid_when_signed_by_a_key_not_in_the_jwks() {
    let fixture = Fixture::new("forged");
    // Same `kid` as the published key, other key material.
    let forger = TestKey::generate(Algorithm::RS256, "k1");
    let token = TokenBuilder::supertokens("user-1", 3600).sign(&forger);
    for (source, keys) in fixture.key_sources() {
        assert_invalid(
            &verify(&keys, &["--token", &token]),
            "bad_signature",
            source,
        );
    }
}

#[test]
fn invalid_when_malformed() {
    let fixture = Fixture::new("malformed");
    for (source, keys) in fixture.key_sources() {
        assert_invalid(&verify(&keys, &["--token", "x.y.z"]), "malformed", source);
        let run = verify(&keys, &["--authorization", "Bearer x.y.z"]);
        assert_invalid(&run, "malformed", source);
    }
}

#[test]
fn invalid_when_the_issuer_is_wrong() {
    let fixture = Fixture::new("issuer");
    let token = TokenBuilder::supertokens("user-1", 3600).sign(&fixture.key);
    for (source, keys) in fixture.key_sources() {
        let run = verify(
            &keys,
            &[
                "--token",
                &token,
                "--issuer",
                "https://elsewhere.example/auth",
            ],
        );
        assert_invalid(&run, "claim", source);
    }
}

#[test]
fn invalid_when_the_audience_is_wrong() {
    let fixture = Fixture::new("audience");
    let token = TokenBuilder::supertokens("user-1", 3600)
        .claim("aud", "app")
        .sign(&fixture.key);
    for (source, keys) in fixture.key_sources() {
        let run = verify(&keys, &["--token", &token, "--audience", "other-app"]);
        assert_invalid(&run, "claim", source);
    }
}

#[test]
fn invalid_when_the_algorithm_is_not_allowed() {
    let fixture = Fixture::new("algorithm");
    let token = TokenBuilder::supertokens("user-1", 3600).sign(&fixture.key);
    for (source, keys) in fixture.key_sources() {
        let run = verify(&keys, &["--token", &token, "--algorithms", "ES256"]);
        assert_invalid(&run, "algorithm_not_allowed", source);
    }
}

#[test]
fn unavailable_when_nothing_listens_on_the_jwks_port() {
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let token = TokenBuilder::supertokens("user-1", 3600).sign(&key);
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/jwks.json");
    let keys = ["--jwks-url".to_owned(), url.clone()];
    let run = verify(&keys, &["--token", &token, "--timeout-secs", "10"]);
    let json = run.report(UNAVAILABLE);
    assert_eq!(json["outcome"], "unavailable", "{run:?}");
    assert_eq!(json.as_object().unwrap().len(), 2, "{run:?}");
    let message = json["message"].as_str().unwrap();
    assert!(message.contains(&url), "{run:?}");
    // The source chain is joined on: the cause is more than the top line.
    assert!(message.matches(": ").count() >= 1, "{run:?}");
}

#[test]
fn unavailable_when_the_jwks_endpoint_fails() {
    let fixture = Fixture::new("broken");
    let token = TokenBuilder::supertokens("user-1", 3600).sign(&fixture.key);
    let keys = ["--jwks-url".to_owned(), fixture.broken_url.clone()];
    let run = verify(&keys, &["--token", &token]);
    let json = run.report(UNAVAILABLE);
    assert_eq!(json["outcome"], "unavailable", "{run:?}");
    assert!(json["message"].as_str().unwrap().contains("500"), "{run:?}");
}

#[test]
fn usage_error_without_a_key_source() {
    let run = verify(&[], &["--token", "x.y.z"]);
    run.assert_usage_error("--jwks-url");
}

#[test]
fn usage_error_with_both_key_sources() {
    let fixture = Fixture::new("both-sources");
    let [(_, url), (_, file)] = fixture.key_sources();
    verify(&[url, file].concat(), &[]).assert_usage_error("cannot be used with");
}

#[test]
fn usage_error_for_unknown_algorithms() {
    let fixture = Fixture::new("bad-algorithms");
    for (source, keys) in fixture.key_sources() {
        for algorithms in ["RS256,XX512", "rs256", "none", ""] {
            let run = verify(&keys, &["--token", "x.y.z", "--algorithms", algorithms]);
            run.assert_usage_error("--algorithms");
            assert!(
                run.stderr
                    .contains(&format!("'{}'", algorithms.trim_start_matches("RS256,"))),
                "{source}: {run:?}"
            );
        }
    }
}

#[test]
fn usage_error_for_an_unreadable_jwks_file() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verify-cli-no-such-file.json");
    let keys = ["--jwks-file".to_owned(), missing.display().to_string()];
    verify(&keys, &[]).assert_usage_error("cannot read --jwks-file");
}

#[test]
fn usage_error_for_a_file_that_is_not_a_jwks() {
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("verify-cli-{}-not-jwks.json", std::process::id()));
    std::fs::write(&file, "not json").unwrap();
    let keys = ["--jwks-file".to_owned(), file.display().to_string()];
    let run = verify(&keys, &[]);
    let _ = std::fs::remove_file(&file);
    run.assert_usage_error("--jwks-file");
}

#[test]
fn usage_error_for_a_bad_url() {
    for url in ["not a url", "ftp://127.0.0.1/jwks.json"] {
        let keys = ["--jwks-url".to_owned(), url.to_owned()];
        verify(&keys, &[]).assert_usage_error("--jwks-url");
    }
}

#[test]
fn usage_error_when_token_and_headers_are_combined() {
    let fixture = Fixture::new("token-and-cookie");
    let [(_, keys), _] = fixture.key_sources();
    verify(
        &keys,
        &["--token", "x.y.z", "--cookie", "sAccessToken=x.y.z"],
    )
    .assert_usage_error("cannot be used with");
}

#[test]
fn oidc_issuer_finds_the_keys_by_discovery_and_requires_the_issuer() {
    // An OpenID provider on loopback: its discovery document names itself
    // and a JWKS URL, each request counted.
    let key = TestKey::generate(Algorithm::RS256, "oidc-1");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let configuration = serde_json::json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/keys"),
    });
    let jwks = testing::jwks(&[&key]);
    let requests = Arc::new(AtomicUsize::new(0));
    let (discovery_count, jwks_count) = (requests.clone(), requests.clone());
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || {
                discovery_count.fetch_add(1, Ordering::SeqCst);
                let configuration = configuration.clone();
                async move { axum::Json(configuration) }
            }),
        )
        .route(
            "/keys",
            get(move || {
                jwks_count.fetch_add(1, Ordering::SeqCst);
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
    runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });

    let token = |iss: &str| {
        TokenBuilder::new()
            .claim("sub", "client-1")
            .claim("exp", testing::now_secs() + 600)
            .claim("iss", iss)
            .claim("aud", "urn:api")
            .sign(&key)
    };
    let keys = ["--oidc-issuer".to_owned(), issuer.clone()];
    let run = verify(
        &keys,
        &["--token", &token(&issuer), "--audience", "urn:api"],
    );
    assert_valid(&run, "client-1", "oidc");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        2,
        "one discovery, one JWKS fetch"
    );

    // The discovered issuer is the required `iss`.
    let run = verify(&keys, &["--token", &token("http://other.invalid")]);
    assert_invalid(&run, "claim", "oidc, another iss");

    // The issuer must be spelled as the provider names itself.
    let localhost = issuer.replace("127.0.0.1", "localhost");
    verify(
        &["--oidc-issuer".to_owned(), localhost.clone()],
        &["--token", &token(&localhost)],
    )
    .assert_usage_error("names issuer");
}

/// Several OpenID issuers on one loopback server, each request counted by
/// path (unrouted paths answer 404 and are counted too).
struct Issuers {
    base: String,
    hits: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Issuers {
    /// Serves an issuer at `{base}{path}` (discovery and keys) for each
    /// `(path, key)`; `down` paths answer 503 to discovery.
    fn start(issuers: &[(&str, &TestKey)], down: &[&str]) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut routes = std::collections::HashMap::new();
        for (path, key) in issuers {
            let issuer = format!("{base}{path}");
            routes.insert(
                format!("{path}/.well-known/openid-configuration"),
                (
                    StatusCode::OK,
                    serde_json::json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")})
                        .to_string(),
                ),
            );
            routes.insert(
                format!("{path}/keys"),
                (StatusCode::OK, testing::jwks(&[key]).to_string()),
            );
        }
        for path in down {
            routes.insert(
                format!("{path}/.well-known/openid-configuration"),
                (StatusCode::SERVICE_UNAVAILABLE, String::new()),
            );
        }
        let routes = Arc::new(routes);
        let hits = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
        let counted = hits.clone();
        let app = Router::new().fallback(move |uri: axum::http::Uri| {
            let routes = routes.clone();
            let counted = counted.clone();
            async move {
                *counted
                    .lock()
                    .unwrap()
                    .entry(uri.path().to_owned())
                    .or_insert(0) += 1;
                match routes.get(uri.path()) {
                    Some((status, body)) => (
                        *status,
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body.clone(),
                    ),
                    None => (
                        StatusCode::NOT_FOUND,
                        [(axum::http::header::CONTENT_TYPE, "text/plain")],
                        String::new(),
                    ),
                }
            }
        });
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            hits,
            _runtime: runtime,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }
}

fn oidc_token(iss: &str, sub: &str, key: &TestKey) -> String {
    TokenBuilder::new()
        .claim("sub", sub)
        .claim("exp", testing::now_secs() + 600)
        .claim("iss", iss)
        .sign(key)
}

#[test]
fn several_oidc_issuers_each_verify_their_own_tokens() {
    let (key_a, key_b) = (
        TestKey::generate(Algorithm::ES256, "k1"),
        TestKey::generate(Algorithm::ES256, "k1"),
    );
    let issuers = Issuers::start(&[("/a", &key_a), ("/b", &key_b)], &["/down"]);
    let attacker = Issuers::start(&[("/evil", &key_a)], &[]);
    let (a, b) = (issuers.url("/a"), issuers.url("/b"));
    let keys = [
        "--oidc-issuer".to_owned(),
        a.clone(),
        "--oidc-issuer".to_owned(),
        b.clone(),
        "--oidc-issuer".to_owned(),
        issuers.url("/down"),
    ];
    let run = verify(&keys, &["--token", &oidc_token(&a, "alice", &key_a)]);
    let json = assert_valid(&run, "alice", "issuer a");
    assert_eq!(json["claims"]["iss"], a.as_str());
    assert_eq!(issuers.total(), 2, "only A's discovery and keys");
    let run = verify(&keys, &["--token", &oidc_token(&b, "bob", &key_b)]);
    assert_valid(&run, "bob", "issuer b");
    assert_eq!(issuers.hits("/b/keys"), 1);

    // Both call their key `k1`: A's key does not verify B's tokens.
    let run = verify(&keys, &["--token", &oidc_token(&b, "mallory", &key_a)]);
    assert_invalid(&run, "bad_signature", "b's iss, a's key");

    // An `iss` on none of the issuers: invalid, and nobody is asked.
    let before = issuers.total();
    let run = verify(
        &keys,
        &["--token", &oidc_token(&attacker.url("/evil"), "m", &key_a)],
    );
    assert_invalid(&run, "claim", "attacker iss");
    assert_eq!(attacker.total(), 0, "requests to the attacker");
    assert_eq!(issuers.total(), before);

    // An allowed issuer whose discovery fails is unavailable.
    let down = issuers.url("/down");
    let run = verify(&keys, &["--token", &oidc_token(&down, "u", &key_a)]);
    let json = run.report(UNAVAILABLE);
    assert_eq!(json["outcome"], "unavailable", "{run:?}");
    assert_eq!(issuers.hits("/down/.well-known/openid-configuration"), 1);
}

#[test]
fn an_issuer_template_accepts_its_tenants_only() {
    let key = TestKey::generate(Algorithm::ES256, "k1");
    let issuers = Issuers::start(&[("/t/acme", &key)], &[]);
    let keys = ["--issuer-template".to_owned(), issuers.url("/t/{tenant}")];
    let acme = issuers.url("/t/acme");
    let run = verify(&keys, &["--token", &oidc_token(&acme, "wile", &key)]);
    assert_valid(&run, "wile", "tenant acme");
    assert_eq!(issuers.total(), 2);

    // A tenant its discovery does not know: invalid after one request.
    let nobody = issuers.url("/t/nobody");
    let run = verify(&keys, &["--token", &oidc_token(&nobody, "u", &key)]);
    assert_invalid(&run, "claim", "unknown tenant");
    assert_eq!(
        issuers.hits("/t/nobody/.well-known/openid-configuration"),
        1
    );

    // Outside the template's safe tenant set: no request at all.
    let before = issuers.total();
    for iss in [
        issuers.url("/t/../a"),
        issuers.url("/t/a/b"),
        issuers.url("/t/a.b"),
    ] {
        let run = verify(&keys, &["--token", &oidc_token(&iss, "u", &key)]);
        assert_invalid(&run, "claim", &iss);
    }
    assert_eq!(issuers.total(), before);
}

#[test]
fn usage_errors_for_issuer_templates_and_mixed_key_sources() {
    verify(
        &[
            "--issuer-template".to_owned(),
            "https://login.example.com/v2.0".to_owned(),
        ],
        &["--token", "x"],
    )
    .assert_usage_error("{tenant}");
    verify(
        &[
            "--issuer-template".to_owned(),
            "https://{tenant}/v2.0".to_owned(),
        ],
        &["--token", "x"],
    )
    .assert_usage_error("--issuer-template");
    let run = verify(
        &[
            "--jwks-url".to_owned(),
            "http://127.0.0.1:9/jwks.json".to_owned(),
            "--oidc-issuer".to_owned(),
            "https://a.example.com".to_owned(),
        ],
        &["--token", "x"],
    );
    assert_eq!(run.status, USAGE, "{run:?}");
    assert_eq!(run.stdout, "");
}
