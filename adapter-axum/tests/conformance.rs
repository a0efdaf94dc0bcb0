//! The shared conformance suite, sent through axum's real pipeline.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use ssr_session::conformance::{Fixture, TestRequest, TestResponse, run};
use ssr_session_axum::{Outcome, Props, Session};
use tower::ServiceExt as _;

async fn required(Session(session): Session) -> String {
    format!("user:{}", session.user_id())
}

async fn optional(session: Option<Session>) -> String {
    match session {
        Some(Session(session)) => format!("user:{}", session.user_id()),
        None => "anonymous".to_string(),
    }
}

async fn outcome(Outcome(outcome): Outcome) -> String {
    format!("outcome:{}", outcome.name())
}

async fn props(props: Props) -> Props {
    props
}

async fn send(app: Router, request: TestRequest) -> TestResponse {
    let mut builder = http::Request::get(request.path.as_str());
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

#[tokio::test]
async fn conformance() {
    let fixture = Fixture::new();
    let app = Router::new()
        .route("/required", get(required))
        .route("/optional", get(optional))
        .route("/outcome", get(outcome))
        .route("/props", get(props))
        .with_state(fixture.session_config());
    run(&fixture, |request| send(app.clone(), request)).await;
}
