//! The shared conformance suite, sent through axum's real pipeline: once
//! through the extractors, once through route groups behind the layer.

use axum::Router;
use axum::body::Body;
use axum::routing::any;
use ssr_session::SessionConfig;
use ssr_session_axum::{OptionalSession, Props, Require, Session, SessionLayer, Verification};
use ssr_session_conformance::{
    ANTI_CSRF_MODES, Fixture, SdkClaims, Suite, TestRequest, TestResponse, requiring_sdk_checks,
    run, run_forgery,
};
use tower::ServiceExt as _;

async fn required(session: Session) -> String {
    format!("user:{}", session.user_id())
}

async fn optional(session: Option<Session>) -> String {
    match session {
        Some(session) => format!("user:{}", session.user_id()),
        None => "anonymous".to_string(),
    }
}

async fn optional_session(OptionalSession(session): OptionalSession) -> String {
    session.map_or_else(|| "anonymous".into(), |s| format!("user:{}", s.user_id()))
}

async fn outcome(Verification(outcome): Verification) -> String {
    format!("outcome:{}", outcome.name())
}

async fn props(props: Props) -> Props {
    props
}

async fn require(session: Require<SdkClaims>) -> String {
    format!("user:{}", session.user_id())
}

async fn send(app: Router, request: TestRequest) -> TestResponse {
    let mut builder = http::Request::builder()
        .method(request.method)
        .uri(request.path.as_str());
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = app
        .oneshot(builder.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
        .collect();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap()
        .to_vec();
    TestResponse {
        status: parts.status.as_u16(),
        headers,
        body,
    }
}

fn extractor_app(config: SessionConfig) -> Router {
    Router::new()
        .route("/required", any(required))
        .route("/optional", any(optional))
        .route("/outcome", any(outcome))
        .route("/props", any(props))
        .route("/require", any(require))
        .layer(SessionLayer::new(config))
}

#[tokio::test]
async fn extractors() {
    let fixture = Fixture::new();
    let app = extractor_app(fixture.session_config());
    run(&fixture, &Suite::extractors(), |request| {
        send(app.clone(), request)
    })
    .await;
}

#[tokio::test]
async fn route_groups_behind_the_layer() {
    let fixture = Fixture::new();
    let app = group_app(fixture.session_config());
    run(&fixture, &Suite::groups(), |request| {
        send(app.clone(), request)
    })
    .await;
}

#[tokio::test]
async fn forgery_through_the_extractors() {
    let fixture = Fixture::new();
    for mode in ANTI_CSRF_MODES {
        let app = extractor_app(fixture.forgery_config(mode));
        run_forgery(&fixture, &Suite::extractors(), mode, |request| {
            send(app.clone(), request)
        })
        .await;
    }
}

#[tokio::test]
async fn forgery_through_the_layer() {
    let fixture = Fixture::new();
    for mode in ANTI_CSRF_MODES {
        let app = group_app(fixture.forgery_config(mode));
        run_forgery(&fixture, &Suite::groups(), mode, |request| {
            send(app.clone(), request)
        })
        .await;
    }
}

fn group_app(config: SessionConfig) -> Router {
    // Each group nested, so the redirect-back path must come from the
    // original URI; the handlers read what the layer recorded.
    Router::new()
        .nest(
            "/group/required",
            Router::new()
                .route("/", any(required))
                .layer(SessionLayer::required(config.clone())),
        )
        .nest(
            "/group/optional",
            Router::new()
                .route("/", any(optional_session))
                .layer(SessionLayer::optional(config.clone())),
        )
        .nest(
            "/group/observe",
            Router::new()
                .route("/", any(outcome))
                .layer(SessionLayer::observe(config.clone())),
        )
        .nest(
            "/group/require",
            Router::new()
                .route("/", any(required))
                .layer(SessionLayer::required(requiring_sdk_checks(config))),
        )
}
