//! One conformance suite for every adapter and every entry point, written
//! once (test machinery: not published).
//!
//! An adapter's test builds an app over [`Fixture::session_config`] and
//! hands [`run`] a [`Suite`] (which routes it serves) and a function that
//! sends one request through the framework's real pipeline. Each route
//! answers `GET` and `POST`:
//!
//! | [`Suite::extractors`] route | [`Suite::groups`] route | entry point | success body (`text/plain`) |
//! |---|---|---|---|
//! | `/required` | `/group/required` | required session (layer in required mode) | `user:<id>` |
//! | `/optional` | `/group/optional` | optional session (layer in optional mode) | `user:<id>` or `anonymous` |
//! | `/outcome` | `/group/observe` | the outcome, never refusing (layer observing) | `outcome:<SessionOutcome::name()>` |
//! | `/props` | — | props | the [`SessionProps`](ssr_session::SessionProps) JSON |
//! | `/require` | `/group/require` | `Require<`[`SdkClaims`]`>` (layer requiring each of [`sdk_checks`]) | `user:<id>` |
//!
//! Every case is checked for identical status, key headers and body
//! across adapters, against literal SuperTokens answers and against the
//! core's own rendering.
//!
//! [`forgery`] adds the cross-site request forgery matrix
//! ([`run_forgery`]), run through the same routes.

pub mod forgery;

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use ssr_session::supertokens::{
    BooleanClaim, ClaimRequirement, EMAIL_VERIFIED, PERMISSIONS, ROLES, tenant_is,
};
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::{
    KeyProvider, MemoryRevocations, Requirement, Revocation, SessionConfig, SessionOutcome,
    SuperTokensClaims, Verifier, adapter::Memo, adapter::RequestView, async_trait, keys::Algorithm,
    keys::KeyLookupError, keys::KeyRequest, keys::StaticKeys, keys::VerifyingKey,
    requirement::RequirementContext, requirement::RequirementFailure, respond::RequestInfo,
    source::HeaderList, source::Headers,
};

/// A request of the suite.
#[derive(Debug, Clone)]
pub struct TestRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
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

/// What a route of the suite does with the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Required,
    Optional,
    Outcome,
    Props,
    Require,
}

/// The routes an app under test serves.
#[derive(Debug, Clone)]
pub struct Suite {
    routes: Vec<(&'static str, Entry)>,
}

impl Suite {
    /// Per-route extractors or guards: `/required`, `/optional`,
    /// `/outcome`, `/props`, `/require`.
    pub fn extractors() -> Self {
        Self {
            routes: vec![
                ("/required", Entry::Required),
                ("/optional", Entry::Optional),
                ("/outcome", Entry::Outcome),
                ("/props", Entry::Props),
                ("/require", Entry::Require),
            ],
        }
    }

    /// Route groups behind a layer or middleware, one per mode:
    /// `/group/required`, `/group/optional`, `/group/observe`, and
    /// `/group/require` (required, the configuration made by
    /// [`requiring_sdk_checks`]).
    pub fn groups() -> Self {
        Self {
            routes: vec![
                ("/group/required", Entry::Required),
                ("/group/optional", Entry::Optional),
                ("/group/observe", Entry::Outcome),
                ("/group/require", Entry::Require),
            ],
        }
    }
}

/// SuperTokens' claim checks, one of every kind the core offers: array
/// `includes`, `excludes`, `includes_all`, `excludes_all`, `includes_any`,
/// boolean `is_true`, `is_false`, a maximum age, and the tenant. The
/// fixture's valid tokens pass them all.
pub fn sdk_checks() -> Vec<ClaimRequirement> {
    vec![
        ROLES.includes("admin"),
        ROLES.excludes("banned"),
        ROLES.includes_all(["admin", "user"]),
        ROLES.excludes_all(["banned", "suspended"]),
        PERMISSIONS.includes_any(["read", "write"]),
        EMAIL_VERIFIED.is_true(),
        LOCKED.is_false(),
        ROLES.includes("admin").max_age_secs(3600).id("fresh-role"),
        tenant_is("public"),
    ]
}

/// A boolean SDK claim of the suite's own (`PrimitiveClaim` style).
const LOCKED: BooleanClaim = BooleanClaim::new("st-locked");

/// Configuration `config` requiring each of [`sdk_checks`]: a group answers
/// with every failure, in order.
pub fn requiring_sdk_checks(config: SessionConfig) -> SessionConfig {
    sdk_checks()
        .into_iter()
        .fold(config, SessionConfig::require)
}

/// The route requirement of the suite: [`sdk_checks`] as one requirement,
/// answering with the first failure (a route names one requirement).
#[derive(Debug, Clone, Copy, Default)]
pub struct SdkClaims;

impl Requirement<SuperTokensClaims> for SdkClaims {
    fn validate(
        &self,
        claims: &SuperTokensClaims,
        context: &RequirementContext,
    ) -> Result<(), RequirementFailure> {
        sdk_checks()
            .iter()
            .try_for_each(|check| check.check(claims, context))
    }
}

pub use forgery::{ANTI_CSRF_MODES, run_forgery};

/// Keys and tokens of the suite.
#[derive(Debug)]
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

/// The session handle the fixture's revocation list has revoked.
pub const REVOKED_HANDLE: &str = "revoked-session";

struct FixtureKeys {
    keys: StaticKeys,
}

#[async_trait]
impl KeyProvider for FixtureKeys {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        if request.kid == Some(UNAVAILABLE_KID) {
            let error = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "JWKS down");
            return Err(KeyLookupError::unavailable(error));
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
    /// key, an outage for `kid` [`UNAVAILABLE_KID`], a requirement
    /// refusing `"role": "banned"`, and a revocation list holding
    /// [`REVOKED_HANDLE`].
    pub fn session_config(&self) -> SessionConfig<SuperTokensClaims> {
        let keys =
            StaticKeys::from_jwks_json(jwks(&[&self.key]).to_string()).expect("fixture JWKS");
        let revocations = MemoryRevocations::new(Duration::from_secs(3600));
        let now = ssr_session::testing::now_secs();
        // Dated by the fixture's clock, as the verifier judges it.
        revocations.apply(&Revocation::session(REVOKED_HANDLE), now);
        let verifier = Verifier::builder(FixtureKeys { keys })
            .require(|claims: &SuperTokensClaims, _: &RequirementContext| {
                if claims.get("role") == Some(&json!("banned")) {
                    Err(RequirementFailure::new(
                        "role",
                        json!({"message": "banned"}),
                    ))
                } else {
                    Ok(())
                }
            })
            .revocation_list(revocations)
            .build()
            .expect("fixture verifier");
        SessionConfig::new(verifier)
    }

    /// A token passing every check of the suite, [`sdk_checks`] included.
    fn valid_builder() -> TokenBuilder {
        Self::with_claims(
            TokenBuilder::supertokens("alice", 300),
            json!(["admin", "user"]),
            json!(["read"]),
            json!(true),
            json!(false),
            1_000,
        )
    }

    fn with_claims(
        builder: TokenBuilder,
        roles: Value,
        perms: Value,
        verified: Value,
        locked: Value,
        age_ms: i64,
    ) -> TokenBuilder {
        let now_ms = ssr_session::testing::now_secs() * 1000;
        let claim = |value: Value| json!({"v": value, "t": now_ms - age_ms});
        builder
            .claim("st-role", claim(roles))
            .claim("st-perm", claim(perms))
            .claim("st-ev", claim(verified))
            .claim("st-locked", claim(locked))
    }

    fn tokens(&self) -> Vec<(&'static str, Option<(String, bool)>)> {
        let with_claims = Self::with_claims;
        let token = Self::valid_builder;
        // Every check fails on its value (the role also on its age).
        let wrong = with_claims(
            TokenBuilder::supertokens("alice", 300),
            json!(["user", "banned"]),
            json!(["none"]),
            json!(false),
            json!(true),
            7_200_000,
        )
        .claim("tId", "other");
        let valid = token().sign(&self.key);
        let cookie = |builder: TokenBuilder| Some((builder.sign(&self.key), true));
        vec![
            ("valid-cookie", Some((valid.clone(), true))),
            ("valid-bearer", Some((valid, false))),
            ("missing", None),
            ("expired", cookie(token().expires_in(-60))),
            ("forged", Some((token().sign(&self.stranger), true))),
            ("malformed", Some(("not.a.jwt".to_string(), true))),
            ("unknown-key", cookie(token().header("kid", "nope"))),
            ("claim", cookie(token().claim("role", "banned"))),
            (
                "revoked",
                cookie(token().claim("sessionHandle", REVOKED_HANDLE)),
            ),
            ("requirement", cookie(wrong)),
            (
                "requirement-missing",
                cookie(TokenBuilder::supertokens("alice", 300)),
            ),
            (
                "unavailable",
                cookie(token().header("kid", UNAVAILABLE_KID)),
            ),
        ]
    }
}

/// The request variants every (token, route) pair is sent as.
const VARIANTS: [(&str, bool); 3] = [("GET", true), ("GET", false), ("POST", true)];

/// Runs every case of `suite` through `send` and panics with the list of
/// mismatches.
pub async fn run<F, Fut>(fixture: &Fixture, suite: &Suite, send: F)
where
    F: Fn(TestRequest) -> Fut,
    Fut: Future<Output = TestResponse>,
{
    let config = fixture.session_config();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (token_case, token) in fixture.tokens() {
        for &(route, entry) in &suite.routes {
            for (method, html) in VARIANTS {
                cases += 1;
                let path = format!("{route}?x=1");
                let accept = if html {
                    "text/html,application/xhtml+xml,*/*;q=0.8"
                } else {
                    "application/json"
                };
                let mut headers = vec![("accept".to_string(), accept.to_string())];
                headers.push(match &token {
                    Some((token, true)) => {
                        ("cookie".into(), format!("theme=dark; sAccessToken={token}"))
                    }
                    Some((token, false)) => ("authorization".into(), format!("Bearer {token}")),
                    None => ("cookie".into(), "theme=dark".into()),
                });
                let request = TestRequest {
                    method,
                    path: path.clone(),
                    headers: headers.clone(),
                };
                let response = send(request).await;
                let name = format!(
                    "{token_case} {method} {route} {}",
                    if html { "html" } else { "json" }
                );
                let mut context = Context {
                    headers: headers.iter().fold(HeaderList::new(), |list, (k, v)| {
                        list.with(k.as_str(), v.as_str())
                    }),
                    method,
                    path,
                    memo: None,
                };
                let outcome = config.outcome(&mut context).await;
                let case = Case {
                    config: &config,
                    context: &context,
                    outcome: &outcome,
                    token_case,
                    entry,
                    route,
                    method,
                    html,
                };
                if let Err(problem) = case.check(&response) {
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
    let expected = fixture.tokens().len() * suite.routes.len() * VARIANTS.len();
    assert_eq!(cases, expected, "the suite ran {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} conformance cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The suite's own view of a request, to ask the core what it expects.
struct Context {
    headers: HeaderList,
    method: &'static str,
    path: String,
    memo: Option<Memo>,
}

impl RequestView<SuperTokensClaims> for Context {
    fn headers(&self) -> &dyn Headers {
        &self.headers
    }

    fn method(&self) -> &str {
        self.method
    }

    fn path_and_query(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.path)
    }

    fn memo(&self) -> Option<Memo> {
        self.memo.clone()
    }

    fn keep_memo(&mut self, memo: Memo) -> Option<Memo> {
        self.memo = Some(memo);
        None
    }
}

struct Case<'a> {
    config: &'a SessionConfig,
    context: &'a Context,
    outcome: &'a SessionOutcome,
    token_case: &'static str,
    entry: Entry,
    route: &'static str,
    method: &'static str,
    html: bool,
}

impl Case<'_> {
    fn check(&self, response: &TestResponse) -> Result<(), String> {
        let token_case = self.token_case;
        let expect_text = |body: &str| -> Result<(), String> {
            if response.status != 200 || response.body != body.as_bytes() {
                return Err(format!("expected 200 {body:?}"));
            }
            Ok(())
        };
        let requirement_token = token_case.starts_with("requirement");
        let requirement_fails = self.entry == Entry::Require && requirement_token;
        if self.entry == Entry::Outcome {
            return expect_text(&format!("outcome:{}", self.outcome.name()));
        }
        let valid = token_case.starts_with("valid") || requirement_token;
        if valid && !requirement_fails {
            return match self.entry {
                Entry::Props => expect_json(response, 200, &json!({"userId": "alice"})),
                _ => expect_text("user:alice"),
            };
        }
        if self.entry == Entry::Optional && token_case == "missing" {
            return expect_text("anonymous");
        }
        if self.entry == Entry::Props && matches!(token_case, "missing" | "expired") {
            return expect_json(response, 200, &json!({"fromSupertokens": "needs-refresh"}));
        }
        if requirement_fails {
            return self.expect_sdk_refusal(response);
        }
        // Everything else is the core's rejection, converted faithfully…
        let info = RequestInfo::new(&self.context.headers, self.method, &self.context.path);
        let expected = self.config.reject(self.outcome, &info);
        if response.status != expected.status() || response.body != expected.body() {
            return Err(format!(
                "expected the core's {} response",
                expected.status()
            ));
        }
        for (name, value) in expected.headers() {
            if response.header(name) != Some(value.as_str()) {
                return Err(format!("header {name} should be {value:?}"));
            }
        }
        // …and that rendering is the SuperTokens-compatible one.
        self.literal(response)
    }

    /// The answer to a token failing [`sdk_checks`]: a route reports the
    /// first failure, a group every one, in order; the reasons as
    /// supertokens-node words them (spot-checked literally, all of them
    /// computed by the core's checks).
    fn expect_sdk_refusal(&self, response: &TestResponse) -> Result<(), String> {
        let SessionOutcome::Valid(session) = self.outcome else {
            return Err("the requirement's token should verify".into());
        };
        let context = RequirementContext::new(self.config.verifier().now());
        let mut errors: Vec<_> = sdk_checks()
            .iter()
            .filter_map(|check| check.check(session.claims(), &context).err())
            .collect();
        let (first, literal) = match self.token_case {
            "requirement" => (
                json!({"id": "st-role", "reason": {"message": "wrong value", "expectedToInclude": "admin", "actualValue": ["user", "banned"]}}),
                9,
            ),
            _ => (
                json!({"id": "st-role", "reason": {"message": "value does not exist", "expectedToInclude": "admin"}}),
                8, // the tenant defaults to `public`
            ),
        };
        if errors.len() != literal || serde_json::to_value(&errors[0]).ok() != Some(first) {
            return Err(format!("unexpected check results: {errors:?}"));
        }
        if self.route.starts_with("/group") {
            // A group's every requirement: one error per failing check.
        } else {
            errors.truncate(1);
        }
        let body = json!({"message": "invalid claim", "claimValidationErrors": errors});
        expect_invalid_claim(response, self.html, &body)
    }
}

/// The age in an `expired` reason, which moves with the clock between the
/// app's check and the suite's: kept only as "older than the maximum".
fn without_age(mut body: Value) -> Value {
    let errors = body
        .get_mut("claimValidationErrors")
        .and_then(Value::as_array_mut);
    for reason in errors
        .into_iter()
        .flatten()
        .filter_map(|e| e.get_mut("reason"))
    {
        if let (Some(age), Some(max)) = (
            reason.get("ageInSeconds").and_then(Value::as_f64),
            reason.get("maxAgeInSeconds").and_then(Value::as_f64),
        ) {
            reason["ageInSeconds"] = Value::Bool(age > max);
        }
    }
    body
}

impl Case<'_> {
    fn literal(&self, response: &TestResponse) -> Result<(), String> {
        match (self.token_case, self.html) {
            ("missing" | "expired", true) => {
                let body = String::from_utf8_lossy(&response.body);
                let resume = if self.method == "GET" {
                    "reload"
                } else {
                    "back"
                };
                if response.status != 401
                    || !body.contains("/auth/session/refresh")
                    || !body.contains("<noscript>")
                    || !body.contains(&format!("data-ssr-session-resume=\"{resume}\""))
                {
                    return Err(format!("expected the refresh bridge page ({resume})"));
                }
                Ok(())
            }
            ("missing" | "expired", false) => {
                expect_json(response, 401, &json!({"message": "try refresh token"}))
            }
            ("forged" | "malformed" | "unknown-key" | "revoked", true) => {
                let location = response.header("location").unwrap_or_default();
                let cookie = response.header("set-cookie").unwrap_or_default();
                let path: String = url_encode(&format!("{}?x=1", self.route));
                let expected_location = format!("/auth?redirectToPath={path}");
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
            ("forged" | "malformed" | "unknown-key" | "revoked", false) => {
                expect_json(response, 401, &json!({"message": "unauthorised"}))
            }
            ("claim", html) => expect_invalid_claim(
                response,
                html,
                &json!({"message": "invalid claim", "claimValidationErrors": [{"id": "role", "reason": {"message": "banned"}}]}),
            ),
            ("unavailable", _) => {
                if response.status != 503 || response.header("retry-after").is_none() {
                    return Err("expected 503 with retry-after".into());
                }
                if !self.html {
                    return expect_json(
                        response,
                        503,
                        &json!({"message": "session verification unavailable"}),
                    );
                }
                Ok(())
            }
            (other, _) => Err(format!("no expectation for {other}")),
        }
    }
}

/// `application/x-www-form-urlencoded` of a path, as the login redirect
/// writes it.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// SuperTokens' 403: the JSON itself, or for a navigation a page carrying it.
fn expect_invalid_claim(response: &TestResponse, html: bool, body: &Value) -> Result<(), String> {
    let body = &without_age(body.clone());
    if !html {
        let json = response.json().map(without_age);
        let content_type = response.header("content-type").unwrap_or_default();
        if response.status != 403
            || json.as_ref() != Some(body)
            || !content_type.starts_with("application/json")
        {
            return Err(format!("expected 403 {body}"));
        }
        return Ok(());
    }
    let page = String::from_utf8_lossy(&response.body);
    let embedded = page
        .split("<script type=\"application/json\" id=\"ssr-session-invalid-claim\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .and_then(|json| serde_json::from_str::<Value>(json).ok())
        .map(without_age);
    if response.status != 403 || embedded.as_ref() != Some(body) {
        return Err(format!("expected a 403 page carrying {body}"));
    }
    Ok(())
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
