//! Memoisation, response conversion and app states beyond the suite.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::{
    Algorithm, DefaultResponses, InvalidToken, KeyLookupError, KeyProvider, KeyRequest,
    NeedsRefreshReason, RequestInfo, Respond, ResponseData, SessionConfig, SessionProps,
    StaticKeys, Unavailable, Verifier, VerifyingKey, async_trait,
};
use ssr_session_axum::{Outcome, Props, Session, SessionRejection};
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
    let keys = StaticKeys::from_jwks_json(&jwks(&[&key]).to_string()).unwrap();
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
        Outcome(outcome): Outcome,
        optional: Option<Session>,
        Props(props): Props,
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
        .with_state(setup.config);
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
        Outcome(outcome): Outcome,
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
        keys: StaticKeys::from_jwks_json(&jwks(&[&key]).to_string()).unwrap(),
        calls: calls.clone(),
    };
    let config = SessionConfig::new(Verifier::builder(provider).build().unwrap());
    let app = Router::new().route("/all", get(all)).with_state(config);
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
    async fn note_outcome(Outcome(outcome): Outcome, request: Request, next: Next) -> Response {
        let mut response = next.run(request).await;
        response
            .headers_mut()
            .insert("x-outcome", outcome.name().parse().unwrap());
        response
    }
    async fn page(Outcome(outcome): Outcome, Props(props): Props) -> String {
        assert!(outcome.is_needs_refresh());
        serde_json::to_string(&props).unwrap()
    }
    let setup = setup();
    let app = Router::new()
        .route("/page", get(page))
        .route_layer(middleware::from_fn_with_state(
            setup.config.clone(),
            note_outcome,
        ))
        .with_state(setup.config);
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
    let app = Router::new().route("/", get(required)).with_state(config);

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
                format!("{} {}", rejection.status().as_u16(), rejection.body_text()),
            ),
        }
    }
    let app = Router::new()
        .route("/", get(custom))
        .with_state(setup().config);
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
async fn the_config_can_live_in_an_app_state() {
    #[derive(Clone)]
    struct AppState {
        session: SessionConfig,
        greeting: &'static str,
    }
    impl FromRef<AppState> for SessionConfig {
        fn from_ref(state: &AppState) -> Self {
            state.session.clone()
        }
    }
    async fn hello(
        axum::extract::State(state): axum::extract::State<AppState>,
        Session(session): Session,
    ) -> String {
        format!("{}, {}", state.greeting, session.user_id())
    }
    let setup = setup();
    let state = AppState {
        session: setup.config,
        greeting: "Hello",
    };
    let app = Router::new().route("/", get(hello)).with_state(state);
    let token = TokenBuilder::supertokens("bob", 300).sign(&setup.key);
    let response = get_with_cookie(app, "/", &token).await;
    assert_eq!(body_text(response).await, "Hello, bob");
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
    let keys = StaticKeys::from_jwks_json(&jwks(&[&setup.key]).to_string()).unwrap();
    let config = SessionConfig::new(Verifier::<MyClaims>::builder_for(keys).build().unwrap());
    let app = Router::new().route("/", get(role)).with_state(config);
    let token = TokenBuilder::supertokens("carol", 300)
        .claim("role", "admin")
        .sign(&setup.key);
    let response = get_with_cookie(app, "/", &token).await;
    assert_eq!(body_text(response).await, "carol:admin");
}
