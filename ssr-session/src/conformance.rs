//! One conformance suite for every adapter, written once.
//!
//! An adapter's test builds an app with four routes over
//! [`Fixture::session_config`] and hands [`run`] a function that sends one
//! request through the framework's real pipeline:
//!
//! | route | extractor | success body (`text/plain`) |
//! |---|---|---|
//! | `/required` | required session | `user:<id>` |
//! | `/optional` | optional session | `user:<id>` or `anonymous` |
//! | `/outcome` | the outcome, never rejecting | `outcome:<SessionOutcome::name()>` |
//! | `/props` | props | the [`SessionProps`](crate::SessionProps) JSON |
//!
//! Every case is then checked for identical status, key headers and body
//! across adapters, against literal SuperTokens answers and against the
//! core's own rendering.

use std::future::Future;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::testing::{TestKey, TokenBuilder};
use crate::{
    Algorithm, ClaimValidationError, HeaderList, KeyLookupError, KeyProvider, KeyRequest,
    KeySourceError, RequestInfo, SessionConfig, StaticKeys, SuperTokensClaims, Verifier,
    VerifyingKey, async_trait,
};

/// A request of the suite.
#[derive(Debug, Clone)]
pub struct TestRequest {
    /// Path and query, e.g. `/required?x=1`.
    pub path: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
}

/// What the adapter answered.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// Headers (names in any case).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl TestResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Keys and tokens of the suite.
pub struct Fixture {
    key: TestKey,
    stranger: TestKey,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

/// The `kid` for which the fixture's key provider reports an outage.
pub const UNAVAILABLE_KID: &str = "down";

struct FixtureKeys {
    keys: StaticKeys,
}

#[async_trait]
impl KeyProvider for FixtureKeys {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        if request.kid == Some(UNAVAILABLE_KID) {
            let error = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "JWKS down");
            return Err(KeyLookupError::Unavailable(Arc::new(
                KeySourceError::Custom(Box::new(error)),
            )));
        }
        self.keys.key(request).await
    }
}

impl Fixture {
    /// Fresh keys.
    pub fn new() -> Self {
        Self {
            key: TestKey::generate(Algorithm::RS256, "conformance"),
            stranger: TestKey::generate(Algorithm::RS256, "conformance"),
        }
    }

    /// The configuration every adapter's test app must use: the fixture's
    /// key, an outage for `kid` [`UNAVAILABLE_KID`], and a claim validator
    /// refusing `"role": "banned"`.
    pub fn session_config(&self) -> SessionConfig<SuperTokensClaims> {
        let keys = StaticKeys::from_jwks_json(&crate::testing::jwks(&[&self.key]).to_string())
            .expect("fixture JWKS");
        let verifier = Verifier::builder(FixtureKeys { keys })
            .claim_validator(|claims: &SuperTokensClaims| {
                if claims.get("role") == Some(&json!("banned")) {
                    Err(ClaimValidationError::new(
                        "role",
                        json!({"message": "banned"}),
                    ))
                } else {
                    Ok(())
                }
            })
            .build()
            .expect("fixture verifier");
        SessionConfig::new(verifier)
    }

    fn tokens(&self) -> Vec<(&'static str, Option<(String, bool)>)> {
        let valid = TokenBuilder::supertokens("alice", 300).sign(&self.key);
        vec![
            ("valid-cookie", Some((valid.clone(), true))),
            ("valid-bearer", Some((valid, false))),
            ("missing", None),
            (
                "expired",
                Some((
                    TokenBuilder::supertokens("alice", -60).sign(&self.key),
                    true,
                )),
            ),
            (
                "forged",
                Some((
                    TokenBuilder::supertokens("alice", 300).sign(&self.stranger),
                    true,
                )),
            ),
            ("malformed", Some(("not.a.jwt".to_string(), true))),
            (
                "unknown-key",
                Some((
                    TokenBuilder::supertokens("alice", 300)
                        .header("kid", "nope")
                        .sign(&self.key),
                    true,
                )),
            ),
            (
                "claim",
                Some((
                    TokenBuilder::supertokens("alice", 300)
                        .claim("role", "banned")
                        .sign(&self.key),
                    true,
                )),
            ),
            (
                "unavailable",
                Some((
                    TokenBuilder::supertokens("alice", 300)
                        .header("kid", UNAVAILABLE_KID)
                        .sign(&self.key),
                    true,
                )),
            ),
        ]
    }
}

/// Runs every case through `send` and panics with the list of mismatches.
pub async fn run<F, Fut>(fixture: &Fixture, send: F)
where
    F: Fn(TestRequest) -> Fut,
    Fut: Future<Output = TestResponse>,
{
    let config = fixture.session_config();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (token_case, token) in fixture.tokens() {
        for route in ["/required", "/optional", "/outcome", "/props"] {
            for html in [true, false] {
                cases += 1;
                let path = format!("{route}?x=1");
                let mut headers = Vec::new();
                let accept = if html {
                    "text/html,application/xhtml+xml,*/*;q=0.8"
                } else {
                    "application/json"
                };
                headers.push(("accept".to_string(), accept.to_string()));
                match &token {
                    Some((token, true)) => {
                        headers.push(("cookie".into(), format!("theme=dark; sAccessToken={token}")))
                    }
                    Some((token, false)) => {
                        headers.push(("authorization".into(), format!("Bearer {token}")))
                    }
                    None => headers.push(("cookie".into(), "theme=dark".into())),
                }
                let request = TestRequest {
                    path: path.clone(),
                    headers: headers.clone(),
                };
                let response = send(request).await;
                let name = format!(
                    "{token_case} {route} {}",
                    if html { "html" } else { "json" }
                );
                let view = headers.iter().fold(HeaderList::new(), |list, (k, v)| {
                    list.with(k.as_str(), v.as_str())
                });
                let outcome = config.outcome(&view).await;
                let info = RequestInfo::new(&view, &path);
                if let Err(problem) =
                    check(&config, &outcome, &info, token_case, route, html, &response)
                {
                    failures.push(format!(
                        "{name}: {problem} (got {} {:?})",
                        response.status,
                        String::from_utf8_lossy(&response.body)
                            .chars()
                            .take(200)
                            .collect::<String>()
                    ));
                }
            }
        }
    }
    assert!(cases == 72, "the suite ran {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} conformance cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check(
    config: &SessionConfig,
    outcome: &crate::SessionOutcome,
    info: &RequestInfo<'_>,
    token_case: &str,
    route: &str,
    html: bool,
    response: &TestResponse,
) -> Result<(), String> {
    let valid = token_case.starts_with("valid");
    let expect_text = |body: &str| -> Result<(), String> {
        if response.status != 200 || response.body != body.as_bytes() {
            return Err(format!("expected 200 {body:?}"));
        }
        Ok(())
    };
    if route == "/outcome" {
        return expect_text(&format!("outcome:{}", outcome.name()));
    }
    if valid {
        return match route {
            "/props" => expect_json(response, 200, &json!({"userId": "alice"})),
            _ => expect_text("user:alice"),
        };
    }
    if route == "/optional" && token_case == "missing" {
        return expect_text("anonymous");
    }
    if route == "/props" && matches!(token_case, "missing" | "expired") {
        return expect_json(response, 200, &json!({"fromSupertokens": "needs-refresh"}));
    }
    // Everything else is the core's rejection, converted faithfully…
    let expected = config
        .rejection(outcome, info)
        .ok_or("the core gave no rejection")?;
    if response.status != expected.status || response.body != expected.body {
        return Err(format!("expected the core's {} response", expected.status));
    }
    for (name, value) in &expected.headers {
        if response.header(name) != Some(value.as_str()) {
            return Err(format!("header {name} should be {value:?}"));
        }
    }
    // …and that rendering is the SuperTokens-compatible one.
    match (token_case, html) {
        ("missing" | "expired", true) => {
            let body = String::from_utf8_lossy(&response.body);
            if response.status != 401
                || !body.contains("/auth/session/refresh")
                || !body.contains("<noscript>")
            {
                return Err("expected the refresh bridge page".into());
            }
            Ok(())
        }
        ("missing" | "expired", false) => {
            expect_json(response, 401, &json!({"message": "try refresh token"}))
        }
        ("forged" | "malformed" | "unknown-key", true) => {
            let location = response.header("location").unwrap_or_default();
            let cookie = response.header("set-cookie").unwrap_or_default();
            let expected_location = format!("/auth?redirectToPath=%2F{}%3Fx%3D1", &route[1..]);
            if response.status != 303
                || location != expected_location
                || !cookie.starts_with("sAccessToken=;")
            {
                return Err(format!(
                    "expected 303 to {expected_location} expiring sAccessToken"
                ));
            }
            Ok(())
        }
        ("forged" | "malformed" | "unknown-key", false) => {
            expect_json(response, 401, &json!({"message": "unauthorised"}))
        }
        ("claim", _) => expect_json(
            response,
            403,
            &json!({"message": "invalid claim", "claimValidationErrors": [{"id": "role", "reason": {"message": "banned"}}]}),
        ),
        ("unavailable", _) => {
            if response.status != 503 || response.header("retry-after").is_none() {
                return Err("expected 503 with retry-after".into());
            }
            if !html {
                return expect_json(
                    response,
                    503,
                    &json!({"message": "session verification unavailable"}),
                );
            }
            Ok(())
        }
        _ => Err(format!("no expectation for {token_case}")),
    }
}

fn expect_json(response: &TestResponse, status: u16, body: &Value) -> Result<(), String> {
    if response.status != status || response.json().as_ref() != Some(body) {
        return Err(format!("expected {status} {body}"));
    }
    let content_type = response.header("content-type").unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Err(format!("expected application/json, got {content_type:?}"));
    }
    Ok(())
}
