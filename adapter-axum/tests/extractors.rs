//! Memoisation, response conversion and app states beyond the suite.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::{
    DefaultResponses, InvalidToken, KeyProvider, NeedsRefreshReason, Respond, SessionConfig,
    SessionProps, Unavailable, Verifier, async_trait, keys::Algorithm, keys::KeyLookupError,
    keys::KeyRequest, keys::StaticKeys, keys::VerifyingKey, respond::RequestInfo,
    respond::ResponseData,
};
use ssr_session_axum::{Props, Require, Session, SessionLayer, SessionRejection, Verification};
use tower::ServiceExt as _;

/// Counts key lookups: one per verification that reaches the key step.
struct CountingKeys {
    keys: StaticKeys,
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl KeyProvider for CountingKeys {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.keys.key(request).await
    }
}

struct Setup {
    key: TestKey,
    calls: Arc<AtomicUsize>,
    config: SessionConfig,
}

fn setup() -> Setup {
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let keys = StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let provider = CountingKeys {
        keys,
        calls: calls.clone(),
    };
    // Without the verifier's token cache, every verification asks for the
    // key, so the count is the number of verifications.
    let verifier = Verifier::builder(provider)
        .without_token_cache()
        .build()
        .unwrap();
    Setup {
        key,
        calls,
        config: SessionConfig::new(verifier),
    }
}

async fn get_with_cookie(app: Router, path: &str, token: &str) -> Response {
    let request = http::Request::get(path)
        .header("cookie", format!("sAccessToken={token}"))
        .body(Body::empty())
        .unwrap();
    app.oneshot(request).await.unwrap()
}

async fn body_text(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn one_verification_per_request_whatever_the_extractors() {
    async fn all(
        Verification(outcome): Verification,
        optional: Option<Session>,
        Props(props, _): Props,
        Session(session): Session,
    ) -> String {
        assert!(outcome.is_valid());
        assert_eq!(optional.unwrap().user_id(), session.user_id());
        assert_eq!(props, SessionProps::user(session.user_id()));
        format!("user:{}", session.user_id())
    }
    let setup = setup();
    let app = Router::new()
        .route("/all", get(all))
        .layer(SessionLayer::new(setup.config));
    let token = TokenBuilder::supertokens("alice", 300).sign(&setup.key);

    let response = get_with_cookie(app.clone(), "/all", &token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(response).await, "user:alice");
    assert_eq!(setup.calls.load(Ordering::SeqCst), 1);

    // The memo belongs to the request: the next request verifies again.
    get_with_cookie(app, "/all", &token).await;
    assert_eq!(setup.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn with_the_token_cache_extractors_share_one_verification_across_requests() {
    async fn all(
        Verification(outcome): Verification,
        optional: Option<Session>,
        Session(session): Session,
    ) -> String {
        // Every extractor sees the one cached session.
        assert!(outcome.session().unwrap().ptr_eq(&session));
        assert!(optional.unwrap().ptr_eq(&session));
        format!("user:{}", session.user_id())
    }
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let calls = Arc::new(AtomicUsize::new(0));
    let provider = CountingKeys {
        keys: StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap(),
        calls: calls.clone(),
    };
    let config = SessionConfig::new(Verifier::builder(provider).build().unwrap());
    let app = Router::new()
        .route("/all", get(all))
        .layer(SessionLayer::new(config));
    let token = TokenBuilder::supertokens("alice", 300).sign(&key);
    for _ in 0..3 {
        let response = get_with_cookie(app.clone(), "/all", &token).await;
        assert_eq!(body_text(response).await, "user:alice");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one verification, then hits"
    );
    // Outcomes the cache does not hold are still computed once per request.
    let forged =
        TokenBuilder::supertokens("alice", 300).sign(&TestKey::generate(Algorithm::RS256, "k1"));
    let response = get_with_cookie(app, "/all", &forged).await;
    assert_eq!(response.status(), 401);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_middleware_and_the_handler_share_the_outcome() {
    async fn note_outcome(
        Verification(outcome): Verification,
        request: Request,
        next: Next,
    ) -> Response {
        let mut response = next.run(request).await;
        response
            .headers_mut()
            .insert("x-outcome", outcome.name().parse().unwrap());
        response
    }
    async fn page(Verification(outcome): Verification, Props(props, _): Props) -> String {
        assert!(outcome.is_needs_refresh());
        serde_json::to_string(&props).unwrap()
    }
    let setup = setup();
    let app = Router::new()
        .route("/page", get(page))
        .route_layer(middleware::from_fn(note_outcome))
        .layer(SessionLayer::new(setup.config));
    // Expired: never cached by any layer, verified up to the key step.
    let token = TokenBuilder::supertokens("alice", -60).sign(&setup.key);

    let response = get_with_cookie(app, "/page", &token).await;
    assert_eq!(response.headers()["x-outcome"], "needs_refresh");
    assert_eq!(
        body_text(response).await,
        r#"{"fromSupertokens":"needs-refresh"}"#
    );
    assert_eq!(setup.calls.load(Ordering::SeqCst), 1);
}

/// Answers needs-refresh with two `set-cookie` headers and a custom status.
struct TwoCookies;

impl Respond for TwoCookies {
    fn needs_refresh(&self, _: &RequestInfo<'_>, _: NeedsRefreshReason) -> ResponseData {
        ResponseData::new(418, "text/plain; charset=utf-8", "refresh, please")
            .with_header("set-cookie", "a=1; Path=/")
            .with_header("set-cookie", "b=2; Path=/")
    }
    fn invalid(&self, request: &RequestInfo<'_>, error: &InvalidToken) -> ResponseData {
        DefaultResponses::default().invalid(request, error)
    }
    fn unavailable(&self, request: &RequestInfo<'_>, error: &Unavailable) -> ResponseData {
        DefaultResponses::default().unavailable(request, error)
    }
}

#[tokio::test]
async fn rejections_keep_status_every_header_and_body() {
    async fn required(_: Session) {}
    let config = setup().config.responses(TwoCookies);
    let app = Router::new()
        .route("/", get(required))
        .layer(SessionLayer::new(config));

    let response = app
        .oneshot(http::Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 418);
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/"]);
    let content_types: Vec<_> = response.headers().get_all("content-type").iter().collect();
    assert_eq!(content_types, ["text/plain; charset=utf-8"]);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(body_text(response).await, "refresh, please");
}

#[tokio::test]
async fn the_rejection_can_be_inspected_and_replaced() {
    async fn custom(session: Result<Session, SessionRejection>) -> (http::StatusCode, String) {
        match session {
            Ok(Session(session)) => (http::StatusCode::OK, session.user_id().to_string()),
            Err(rejection) => (
                http::StatusCode::IM_A_TEAPOT,
                format!("{} {}", rejection.status(), rejection.body_text()),
            ),
        }
    }
    let app = Router::new()
        .route("/", get(custom))
        .layer(SessionLayer::new(setup().config));
    let response = app
        .oneshot(http::Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 418);
    assert_eq!(
        body_text(response).await,
        r#"401 {"message":"try refresh token"}"#
    );
}

#[tokio::test]
async fn an_extractor_without_a_layer_answers_500_naming_the_fix() {
    async fn page(_: Session) {}
    let app = Router::new().route("/", get(page));
    let response = app
        .oneshot(http::Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert!(body_text(response).await.contains("SessionLayer::new"));
}

#[tokio::test]
async fn a_layer_and_the_extractors_behind_it_verify_once() {
    async fn page(session: Session, Verification(outcome): Verification) -> String {
        assert!(outcome.session().unwrap().ptr_eq(&session));
        format!("user:{}", session.user_id())
    }
    let setup = setup();
    let app = Router::new()
        .route("/", get(page))
        .layer(SessionLayer::required(setup.config));
    let token = TokenBuilder::supertokens("bob", 300).sign(&setup.key);
    let response = get_with_cookie(app, "/", &token).await;
    assert_eq!(body_text(response).await, "user:bob");
    assert_eq!(setup.calls.load(Ordering::SeqCst), 1);
}

ssr_session::requirement!(
    IsAdmin = |claims: &ssr_session::SuperTokensClaims,
               _: &ssr_session::requirement::RequirementContext| {
        match claims.get("role") {
            Some(role) if role == "admin" => Ok(()),
            _ => Err(ssr_session::requirement::RequirementFailure::new(
                "role",
                serde_json::json!({"message": "wrong value"}),
            )),
        }
    }
);

#[tokio::test]
async fn public_optional_and_admin_routes_share_one_router() {
    async fn home(session: Option<Session>) -> String {
        session.map_or("anonymous".into(), |s| s.user_id().to_owned())
    }
    async fn admin(session: Require<IsAdmin>) -> String {
        format!("admin:{}", session.user_id())
    }
    async fn public() -> &'static str {
        "public"
    }
    let setup = setup();
    let app = Router::new()
        .route("/", get(home))
        .route("/admin", get(admin))
        .layer(SessionLayer::optional(setup.config))
        .merge(Router::new().route("/public", get(public)));
    let user = TokenBuilder::supertokens("u", 300).sign(&setup.key);
    let boss = TokenBuilder::supertokens("boss", 300)
        .claim("role", "admin")
        .sign(&setup.key);
    let anonymous = app
        .clone()
        .oneshot(http::Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(body_text(anonymous).await, "anonymous");
    assert_eq!(
        body_text(get_with_cookie(app.clone(), "/", &user).await).await,
        "u"
    );
    let refused = get_with_cookie(app.clone(), "/admin", &user).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        body_text(refused).await,
        r#"{"message":"invalid claim","claimValidationErrors":[{"id":"role","reason":{"message":"wrong value"}}]}"#
    );
    let allowed = get_with_cookie(app.clone(), "/admin", &boss).await;
    assert_eq!(body_text(allowed).await, "admin:boss");
    // The public route outside the layer never verifies.
    let before = setup.calls.load(Ordering::SeqCst);
    let public = get_with_cookie(app, "/public", "garbage").await;
    assert_eq!(body_text(public).await, "public");
    assert_eq!(setup.calls.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn custom_claims_types_work() {
    #[derive(serde::Deserialize)]
    struct MyClaims {
        role: String,
    }
    async fn role(Session(session): Session<MyClaims>) -> String {
        format!("{}:{}", session.user_id(), session.claims().role)
    }
    let setup = setup();
    let keys = StaticKeys::from_jwks_json(jwks(&[&setup.key]).to_string()).unwrap();
    let config = SessionConfig::new(Verifier::<MyClaims>::builder_for(keys).build().unwrap());
    let app = Router::new()
        .route("/", get(role))
        .layer(SessionLayer::new(config));
    let token = TokenBuilder::supertokens("carol", 300)
        .claim("role", "admin")
        .sign(&setup.key);
    let response = get_with_cookie(app, "/", &token).await;
    assert_eq!(body_text(response).await, "carol:admin");
}

#[tokio::test]
async fn an_http2_request_is_compared_with_its_authority() {
    use axum::routing::post;
    let setup = setup();
    let token = TokenBuilder::supertokens("alice", 60).sign(&setup.key);
    let app = Router::new()
        .route(
            "/save",
            post(|session: Session| async move { format!("saved:{}", session.user_id()) }),
        )
        .layer(SessionLayer::new(setup.config));
    // No `Host` header, as in HTTP/2, where the authority is in the URI;
    // no `Sec-Fetch-Site` (an older browser), so `Origin` decides.
    let post_from = |origin: &str| {
        http::Request::post("http://app.example:8443/save")
            .header("cookie", format!("sAccessToken={token}"))
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let own = app
        .clone()
        .oneshot(post_from("https://app.example:8443"))
        .await
        .unwrap();
    assert_eq!(body_text(own).await, "saved:alice");
    let other = app
        .oneshot(post_from("https://evil.example:8443"))
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
    assert_eq!(
        body_text(other).await,
        r#"{"message":"cross-origin request refused"}"#
    );
}

/// A group requirement that counts its checks (and passes).
fn counting_requirement(
    checks: &Arc<AtomicUsize>,
) -> impl ssr_session::Requirement<ssr_session::SuperTokensClaims> + use<> {
    let checks = checks.clone();
    move |_: &ssr_session::SuperTokensClaims, _: &ssr_session::requirement::RequirementContext| {
        checks.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn a_groups_requirements_are_judged_once_per_request_cache_hits_included() {
    async fn page(session: Session, Verification(outcome): Verification) -> String {
        assert!(outcome.session().unwrap().ptr_eq(&session));
        format!("user:{}", session.user_id())
    }
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let keys = StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap();
    let clock_reads = Arc::new(AtomicUsize::new(0));
    let reads = clock_reads.clone();
    // The verifier's clock, counted: a decision reads it once.
    let verifier = Verifier::builder(keys)
        .clock(move || {
            reads.fetch_add(1, Ordering::SeqCst);
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
        })
        .build()
        .unwrap();
    let checks = Arc::new(AtomicUsize::new(0));
    let config = SessionConfig::new(verifier).require(counting_requirement(&checks));
    let app = Router::new()
        .route("/", get(page))
        .layer(SessionLayer::required(config));
    let token = TokenBuilder::supertokens("dana", 300).sign(&key);

    // A first visit fills the verified-token cache.
    let response = get_with_cookie(app.clone(), "/", &token).await;
    assert_eq!(body_text(response).await, "user:dana");
    assert_eq!(checks.load(Ordering::SeqCst), 1);

    // A hit: the layer judges, the two extractors behind it reuse that.
    for request in 2..=4 {
        let reads_before = clock_reads.load(Ordering::SeqCst);
        let response = get_with_cookie(app.clone(), "/", &token).await;
        assert_eq!(body_text(response).await, "user:dana");
        assert_eq!(checks.load(Ordering::SeqCst), request, "once per request");
        assert_eq!(clock_reads.load(Ordering::SeqCst) - reads_before, 1);
    }
}

ssr_session::requirement!(
    IsEditor = |claims: &ssr_session::SuperTokensClaims,
                _: &ssr_session::requirement::RequirementContext| {
        match claims.get("editor") {
            Some(editor) if editor == true => Ok(()),
            _ => Err(ssr_session::requirement::RequirementFailure::new(
                "editor",
                serde_json::json!({"message": "wrong value"}),
            )),
        }
    }
);

#[tokio::test]
async fn a_layer_of_another_configuration_judges_again() {
    async fn page(session: Session) -> String {
        format!("user:{}", session.user_id())
    }
    async fn editor(session: Require<IsEditor>) -> String {
        format!("editor:{}", session.user_id())
    }
    let setup = setup();
    let admins = setup.config.clone().require(IsAdmin);
    let user = TokenBuilder::supertokens("erin", 300).sign(&setup.key);

    // An outer layer judged the session valid for its configuration; an
    // inner one requiring more judges it again, and refuses.
    let app = Router::new()
        .route("/", get(page))
        .layer(SessionLayer::required(admins.clone()))
        .layer(SessionLayer::required(setup.config.clone()));
    let refused = get_with_cookie(app, "/", &user).await;
    assert_eq!(refused.status(), 403);

    // The other way round: the outer group's requirement failed (observed),
    // and the configuration provided inside it requires nothing.
    let app = Router::new()
        .route("/", get(page))
        .layer(SessionLayer::new(setup.config.clone()))
        .layer(SessionLayer::observe(admins.clone()));
    let admitted = get_with_cookie(app, "/", &user).await;
    assert_eq!(body_text(admitted).await, "user:erin");

    // A route requirement behind a group whose requirement failed: every
    // failure is reported, as without a layer.
    let app = Router::new()
        .route("/", get(editor))
        .layer(SessionLayer::observe(admins));
    let refused = get_with_cookie(app, "/", &user).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        body_text(refused).await,
        r#"{"message":"invalid claim","claimValidationErrors":[{"id":"role","reason":{"message":"wrong value"}},{"id":"editor","reason":{"message":"wrong value"}}]}"#
    );
}
