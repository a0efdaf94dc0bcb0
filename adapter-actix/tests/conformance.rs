//! The shared conformance suite, through actix's real service pipeline.

use actix_web::{App, HttpResponse, test, web};
use ssr_session::conformance::{Fixture, TestRequest, TestResponse, run};
use ssr_session_actix::{OptionalSession, Outcome, Props, Session};

async fn required(session: Session) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(format!("user:{}", session.user_id()))
}

async fn optional(session: OptionalSession) -> HttpResponse {
    let body = match session.into_inner() {
        Some(session) => format!("user:{}", session.user_id()),
        None => "anonymous".to_owned(),
    };
    HttpResponse::Ok().content_type("text/plain").body(body)
}

async fn outcome(outcome: Outcome) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(format!("outcome:{}", outcome.name()))
}

async fn props(props: Props) -> Props {
    props
}

#[actix_web::test]
async fn conformance() {
    let fixture = Fixture::new();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(fixture.session_config()))
            .route("/required", web::get().to(required))
            .route("/optional", web::get().to(optional))
            .route("/outcome", web::get().to(outcome))
            .route("/props", web::get().to(props)),
    )
    .await;
    let app = &app;
    run(&fixture, |request: TestRequest| async move {
        let mut builder = test::TestRequest::get().uri(&request.path);
        for (name, value) in request.headers {
            builder = builder.append_header((name, value));
        }
        let response = test::call_service(app, builder.to_request()).await;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        let body = test::read_body(response).await.to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    })
    .await;
}
