//! The request and the three in-process apps the pipeline benches drive:
//! each serves `/dashboard` (the adapter's `Session` extractor or guard,
//! rendering the user id) and `/public` (the same page, no auth).

use ssr_session::SessionConfig;

use crate::cookie_header;

/// The user id of the fixture's tokens.
pub const USER: &str = "bench-user-7f3c9a";

/// The role the fixture's tokens carry (`st-role`), which the `*_role`
/// entry points require.
pub const ROLE: &str = "member";

/// Calls one path of an app and returns the response body's length
/// (asserting status 200).
pub type App = Box<dyn FnMut(&str) -> usize>;

/// Builds an [`App`] from the configuration and the request's headers.
pub type Build = fn(&SessionConfig, &[(&'static str, String)]) -> App;

/// The entry points, by bench name: each framework's extractor or guard on
/// the protected route, and the route-group forms (axum's layer, actix's
/// middleware) with the extractor behind them.
pub const FRAMEWORKS: [(&str, Build); 9] = [
    ("axum", axum),
    ("actix", actix),
    ("rocket", rocket),
    ("axum_layer", axum_layer),
    ("actix_middleware", actix_middleware),
    ("axum_layer_role", axum_layer_role),
    ("axum_noop_layer", axum_noop_layer),
    ("actix_middleware_role", actix_middleware_role),
    ("axum_post", axum_post),
];

/// The page both routes render: the protected one with the session's user id.
pub fn page(user: &str) -> String {
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!(
        "<!doctype html><html><head><title>Dashboard</title></head>\
         <body><main><h1>Dashboard</h1><p>Signed in as <b>{user}</b></p></main></body></html>"
    )
}

/// A browser's page navigation: the usual headers and a `Cookie` header
/// with 20 other cookies and `sAccessToken` ([`cookie_header`]).
pub fn request_headers(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("host", "app.example.com".into()),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0".into(),
        ),
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".into(),
        ),
        ("accept-language", "en-GB,en;q=0.5".into()),
        ("accept-encoding", "gzip, deflate, br, zstd".into()),
        ("cookie", cookie_header(token)),
    ]
}

/// [`request_headers`] as an `http` 1 header map.
pub fn header_map(headers: &[(&'static str, String)]) -> axum::http::HeaderMap {
    let mut map = axum::http::HeaderMap::new();
    for (name, value) in headers {
        map.append(
            *name,
            axum::http::HeaderValue::from_str(value).expect("header value"),
        );
    }
    map
}

async fn axum_dashboard(session: ssr_session_axum::Session) -> axum::response::Html<String> {
    axum::response::Html(page(session.user_id()))
}

async fn axum_public() -> axum::response::Html<String> {
    axum::response::Html(page(USER))
}

/// axum as the README writes it: `SessionLayer::new` on the router (it only
/// provides the configuration), the `Session` extractor on `/dashboard`.
pub fn axum(config: &SessionConfig, headers: &[(&'static str, String)]) -> App {
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/dashboard", get(axum_dashboard))
        .route("/public", get(axum_public))
        .layer(ssr_session_axum::SessionLayer::new(config.clone()));
    serve_axum(app, headers)
}

/// [`axum()`] for a form post from the app's own page (`POST` with
/// `Sec-Fetch-Site: same-origin`): what the cross-origin check adds to an
/// unsafe request.
pub fn axum_post(config: &SessionConfig, headers: &[(&'static str, String)]) -> App {
    use axum::routing::post;
    let app = axum::Router::new()
        .route("/dashboard", post(axum_dashboard))
        .route("/public", post(axum_public))
        .layer(ssr_session_axum::SessionLayer::new(config.clone()));
    let mut headers = headers.to_vec();
    headers.push(("sec-fetch-site", "same-origin".into()));
    serve_axum_as(app, &headers, axum::http::Method::POST)
}

/// axum: a route group behind `SessionLayer::required`, the handler reading
/// the recorded session; the public route outside the group.
pub fn axum_layer(config: &SessionConfig, headers: &[(&'static str, String)]) -> App {
    use axum::routing::get;
    let group = axum::Router::new()
        .route("/dashboard", get(axum_dashboard))
        .layer(ssr_session_axum::SessionLayer::required(config.clone()));
    let app = axum::Router::new()
        .route("/public", get(axum_public))
        .merge(group);
    serve_axum(app, headers)
}

/// A baseline, not an entry point: [`axum_layer`]'s shape with a tower layer
/// that does nothing (what axum's own layering costs a route group), and a
/// handler that needs no session.
pub fn axum_noop_layer(_: &SessionConfig, headers: &[(&'static str, String)]) -> App {
    use axum::routing::get;
    let group = axum::Router::new()
        .route("/dashboard", get(axum_public))
        .layer(tower::layer::layer_fn(|inner| inner));
    let app = axum::Router::new()
        .route("/public", get(axum_public))
        .merge(group);
    serve_axum(app, headers)
}

/// [`axum_layer`] with one role requirement on the group
/// (`has_role(ROLE)`), checked on every request.
pub fn axum_layer_role(config: &SessionConfig, headers: &[(&'static str, String)]) -> App {
    axum_layer(
        &config
            .clone()
            .require(ssr_session::supertokens::has_role(ROLE)),
        headers,
    )
}

/// [`actix_middleware`] with one role requirement on the scope.
pub fn actix_middleware_role(config: &SessionConfig, headers: &[(&'static str, String)]) -> App {
    actix_middleware(
        &config
            .clone()
            .require(ssr_session::supertokens::has_role(ROLE)),
        headers,
    )
}

/// `Router` + `tower::ServiceExt::oneshot` on a current-thread runtime.
fn serve_axum(app: axum::Router, headers: &[(&'static str, String)]) -> App {
    serve_axum_as(app, headers, axum::http::Method::GET)
}

fn serve_axum_as(
    app: axum::Router,
    headers: &[(&'static str, String)],
    method: axum::http::Method,
) -> App {
    use tower::ServiceExt as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let map = header_map(headers);
    Box::new(move |path| {
        // Built per request, as a server's parser would.
        let mut request = axum::http::Request::builder()
            .method(method.clone())
            .uri(path)
            .body(axum::body::Body::empty())
            .expect("request");
        *request.headers_mut() = map.clone();
        runtime.block_on(async {
            let response = app.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status(), 200);
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body")
                .len()
        })
    })
}

async fn actix_dashboard(session: ssr_session_actix::Session) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page(session.user_id()))
}

async fn actix_public() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page(USER))
}

/// actix-web: the `Session` extractor, its configuration from `app_data`.
pub fn actix(config: &SessionConfig, headers: &[(&'static str, String)]) -> App {
    use actix_web::{App as ActixApp, web};
    let app = ActixApp::new()
        .app_data(web::Data::new(config.clone()))
        .route("/dashboard", web::get().to(actix_dashboard))
        .route("/public", web::get().to(actix_public));
    serve_actix(app, headers)
}

/// actix-web: a scope behind `SessionMiddleware::required`, the handler
/// reading the recorded session; the public route outside the scope.
pub fn actix_middleware(config: &SessionConfig, headers: &[(&'static str, String)]) -> App {
    use actix_web::{App as ActixApp, web};
    let app = ActixApp::new()
        .route("/public", web::get().to(actix_public))
        .service(
            web::scope("")
                .wrap(ssr_session_actix::SessionMiddleware::required(
                    config.clone(),
                ))
                .route("/dashboard", web::get().to(actix_dashboard)),
        );
    serve_actix(app, headers)
}

/// `test::init_service` + `test::call_service` on an actix system.
fn serve_actix<T, B>(app: actix_web::App<T>, headers: &[(&'static str, String)]) -> App
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: actix_web::body::MessageBody + 'static,
{
    use actix_web::test;
    let system = actix_web::rt::System::new();
    let app = system.block_on(test::init_service(app));
    let headers = headers.to_vec();
    Box::new(move |path| {
        let mut request = test::TestRequest::get().uri(path);
        for (name, value) in &headers {
            request = request.append_header((*name, value.as_str()));
        }
        let request = request.to_request();
        system.block_on(async {
            let response = test::call_service(&app, request).await;
            assert_eq!(response.status(), 200);
            test::read_body(response).await.len()
        })
    })
}

/// Rocket: `local::blocking::Client` (untracked), logging off.
pub fn rocket(config: &SessionConfig, headers: &[(&'static str, String)]) -> App {
    use rocket::http::{Header, Status};
    use rocket::local::blocking::Client;
    use rocket::response::content::RawHtml;

    #[rocket::get("/dashboard")]
    fn dashboard(session: ssr_session_rocket::Session) -> RawHtml<String> {
        RawHtml(page(session.user_id()))
    }
    #[rocket::get("/public")]
    fn public() -> RawHtml<String> {
        RawHtml(page(USER))
    }

    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment)
        .manage(config.clone())
        .register("/", ssr_session_rocket::catchers())
        .mount("/", rocket::routes![dashboard, public]);
    let client = Client::untracked(rocket).expect("rocket client");
    let headers = headers.to_vec();
    Box::new(move |path| {
        let mut request = client.get(path.to_owned());
        for (name, value) in &headers {
            request = request.header(Header::new(*name, value.clone()));
        }
        let response = request.dispatch();
        assert_eq!(response.status(), Status::Ok);
        response.into_bytes().expect("body").len()
    })
}
