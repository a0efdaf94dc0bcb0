//! One in-process request through each framework's real pipeline to a page
//! that renders the user id (`protected`: the adapter's `Session`
//! extractor or guard, token cache on and warm), and the same page, same
//! request, without auth (`public`).
//!
//! `cargo bench -p ssr-session-benches --bench pipeline`

use std::hint::black_box;

use axum::http::{HeaderMap, HeaderValue, header};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ssr_session::{JwksKeyProvider, SessionConfig, Verifier};
use ssr_session_benches::{Fixture, JwksServer, cookie_header};

const USER: &str = "bench-user-7f3c9a";

/// The page both routes render: the protected one with the user id.
fn page(user: &str) -> String {
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!(
        "<!doctype html><html><head><title>Dashboard</title></head>\
         <body><main><h1>Dashboard</h1><p>Signed in as <b>{user}</b></p></main></body></html>"
    )
}

fn request_headers(token: &str) -> Vec<(&'static str, String)> {
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

fn axum_pipeline(c: &mut Criterion, config: &SessionConfig, headers: &[(&'static str, String)]) {
    use axum::response::Html;
    use axum::routing::get;
    use tower::ServiceExt as _;

    async fn dashboard(
        ssr_session_axum::Session(session): ssr_session_axum::Session,
    ) -> Html<String> {
        Html(page(session.user_id()))
    }
    async fn public() -> Html<String> {
        Html(page(USER))
    }

    let app = axum::Router::new()
        .route("/dashboard", get(dashboard))
        .route("/public", get(public))
        .with_state(config.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(*name, HeaderValue::from_str(value).expect("header"));
    }
    let request = |path: &str| {
        let mut request = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .expect("request");
        *request.headers_mut() = map.clone();
        request
    };
    let call = |request: axum::http::Request<axum::body::Body>| {
        runtime.block_on(async {
            let response = app.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status(), 200);
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body")
        })
    };
    assert!(String::from_utf8_lossy(&call(request("/dashboard"))).contains(USER));

    let mut group = c.benchmark_group("pipeline/axum");
    for (name, path) in [("public", "/public"), ("protected", "/dashboard")] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || request(path),
                |r| black_box(call(r)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn actix_pipeline(c: &mut Criterion, config: &SessionConfig, headers: &[(&'static str, String)]) {
    use actix_web::{App, HttpResponse, test, web};

    async fn dashboard(session: ssr_session_actix::Session) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page(session.user_id()))
    }
    async fn public() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page(USER))
    }

    let system = actix_web::rt::System::new();
    let app = system.block_on(test::init_service(
        App::new()
            .app_data(web::Data::new(config.clone()))
            .route("/dashboard", web::get().to(dashboard))
            .route("/public", web::get().to(public)),
    ));
    let request = |path: &str| {
        let mut request = test::TestRequest::get().uri(path);
        for (name, value) in headers {
            request = request.append_header((*name, value.as_str()));
        }
        request.to_request()
    };
    let call = |request| {
        system.block_on(async {
            let response = test::call_service(&app, request).await;
            assert_eq!(response.status(), 200);
            test::read_body(response).await
        })
    };
    assert!(String::from_utf8_lossy(&call(request("/dashboard"))).contains(USER));

    let mut group = c.benchmark_group("pipeline/actix");
    for (name, path) in [("public", "/public"), ("protected", "/dashboard")] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || request(path),
                |r| black_box(call(r)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn rocket_pipeline(c: &mut Criterion, config: &SessionConfig, headers: &[(&'static str, String)]) {
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
    let call = |path: &str| {
        let mut request = client.get(path.to_owned());
        for (name, value) in headers {
            request = request.header(Header::new(*name, value.clone()));
        }
        let response = request.dispatch();
        assert_eq!(response.status(), Status::Ok);
        response.into_bytes().expect("body")
    };
    assert!(String::from_utf8_lossy(&call("/dashboard")).contains(USER));

    let mut group = c.benchmark_group("pipeline/rocket");
    for (name, path) in [("public", "/public"), ("protected", "/dashboard")] {
        group.bench_function(name, |b| b.iter(|| black_box(call(path))));
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let fixture = Fixture::generate();
    let server = runtime.block_on(JwksServer::start(fixture.jwks_json.clone()));
    let keys = {
        let _context = runtime.enter();
        JwksKeyProvider::builder(&server.url())
            .build()
            .expect("provider")
    };
    // Token cache on (the default).
    let config = SessionConfig::new(Verifier::builder(keys).build().expect("verifier"));
    let token = &fixture.case("rs256").token;
    // Warm the JWKS and token caches.
    let mut warm = HeaderMap::new();
    warm.insert(
        header::COOKIE,
        HeaderValue::from_str(&cookie_header(token)).expect("cookie"),
    );
    assert!(runtime.block_on(config.verifier().verify(&warm)).is_valid());
    let headers = request_headers(token);

    axum_pipeline(c, &config, &headers);
    actix_pipeline(c, &config, &headers);
    rocket_pipeline(c, &config, &headers);
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
