//! The shared conformance suite, through actix's real service pipeline:
//! once through the extractors, once through scopes behind the middleware.

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, HttpResponse, test, web};
use ssr_session::SessionConfig;
use ssr_session_actix::{
    OptionalSession, Props, Require, Session, SessionMiddleware, Verification,
};
use ssr_session_conformance::{
    ANTI_CSRF_MODES, Fixture, SdkClaims, Suite, TestRequest, TestResponse, requiring_sdk_checks,
    run, run_forgery,
};

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body(body)
}

async fn required(session: Session) -> HttpResponse {
    text(format!("user:{}", session.user_id()))
}

async fn optional(session: OptionalSession) -> HttpResponse {
    text(match session.into_inner() {
        Some(session) => format!("user:{}", session.user_id()),
        None => "anonymous".to_owned(),
    })
}

async fn outcome(outcome: Verification) -> HttpResponse {
    text(format!("outcome:{}", outcome.name()))
}

async fn props(props: Props) -> Props {
    props
}

async fn require(session: Require<SdkClaims>) -> HttpResponse {
    text(format!("user:{}", session.user_id()))
}

async fn send<S, B>(app: &S, request: TestRequest) -> TestResponse
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let method = actix_web::http::Method::from_bytes(request.method.as_bytes()).unwrap();
    let mut builder = test::TestRequest::default()
        .method(method)
        .uri(&request.path);
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
}

/// The extractor routes over `config` (a macro: the app's type is not nameable).
macro_rules! extractor_app {
    ($config:expr) => {
        App::new()
            .app_data(web::Data::new($config))
            .route("/required", web::route().to(required))
            .route("/optional", web::route().to(optional))
            .route("/outcome", web::route().to(outcome))
            .route("/props", web::route().to(props))
            .route("/require", web::route().to(require))
    };
}

/// The scopes behind the middleware over `config`. No `app_data`: the
/// handlers read what the middleware provided.
macro_rules! group_app {
    ($config:expr) => {{
        let config: SessionConfig = $config;
        App::new()
            .service(
                web::scope("/group/required")
                    .wrap(SessionMiddleware::required(config.clone()))
                    .route("", web::route().to(required)),
            )
            .service(
                web::scope("/group/optional")
                    .wrap(SessionMiddleware::optional(config.clone()))
                    .route("", web::route().to(optional)),
            )
            .service(
                web::scope("/group/observe")
                    .wrap(SessionMiddleware::observe(config.clone()))
                    .route("", web::route().to(outcome)),
            )
            .service(
                web::scope("/group/require")
                    .wrap(SessionMiddleware::required(requiring_sdk_checks(config)))
                    .route("", web::route().to(required)),
            )
    }};
}

#[actix_web::test]
async fn forgery_through_the_extractors() {
    let fixture = Fixture::new();
    for mode in ANTI_CSRF_MODES {
        let app = test::init_service(extractor_app!(fixture.forgery_config(mode))).await;
        let app = &app;
        run_forgery(&fixture, &Suite::extractors(), mode, |request| {
            send(app, request)
        })
        .await;
    }
}

#[actix_web::test]
async fn forgery_through_the_middleware() {
    let fixture = Fixture::new();
    for mode in ANTI_CSRF_MODES {
        let app = test::init_service(group_app!(fixture.forgery_config(mode))).await;
        let app = &app;
        run_forgery(&fixture, &Suite::groups(), mode, |request| {
            send(app, request)
        })
        .await;
    }
}

#[actix_web::test]
async fn extractors() {
    let fixture = Fixture::new();
    let app = test::init_service(extractor_app!(fixture.session_config())).await;
    let app = &app;
    run(&fixture, &Suite::extractors(), |request| send(app, request)).await;
}

#[actix_web::test]
async fn scopes_behind_the_middleware() {
    let fixture = Fixture::new();
    let app = test::init_service(group_app!(fixture.session_config())).await;
    let app = &app;
    run(&fixture, &Suite::groups(), |request| send(app, request)).await;
}
