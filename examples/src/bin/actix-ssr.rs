//! The example site on actix-web.
//!
//! ```text
//! cargo run -p ssr-session-examples --bin actix-ssr -- --addr 127.0.0.1:3000
//! ```
//!
//! Open the printed address, follow "Sign in as alice", and watch the
//! dashboard survive the access token's expiry (`--access-token-secs`)
//! through the refresh bridge.

use std::net::TcpListener;

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use clap::Parser as _;
use ssr_session_actix::{OptionalSession, Props, Session, to_response};
use ssr_session_examples::site::{self, Options, Site};

/// An HTML page, with the site's `Content-Security-Policy` if it has one.
fn html(site: &Site, body: String) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.content_type("text/html; charset=utf-8");
    if let Some(policy) = &site.content_security_policy {
        response.insert_header((header::CONTENT_SECURITY_POLICY, policy.as_str()));
    }
    response.body(body)
}

async fn home(site: web::Data<Site>) -> HttpResponse {
    html(&site, site::home_page())
}

async fn dashboard(site: web::Data<Site>, session: Session) -> HttpResponse {
    html(&site, site::dashboard_page(&session))
}

async fn optional(site: web::Data<Site>, session: OptionalSession) -> HttpResponse {
    html(&site, site::optional_page(session.as_ref()))
}

/// The Next.js guide's `getServerSideProps` result, as JSON.
async fn props(props: Props) -> Props {
    props
}

async fn me(session: Session) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "userId": session.user_id() }))
}

/// Everything under `/auth`: the embedded dev issuer, in process.
async fn auth(site: web::Data<Site>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let headers: Vec<(String, Vec<u8>)> = request
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    let path = request
        .uri()
        .path_and_query()
        .map_or(request.path(), |p| p.as_str());
    let method = request.method().as_str();
    match site
        .dispatch_to_issuer(method, path, &headers, body.to_vec())
        .await
    {
        Some(response) => to_response(&response),
        None => HttpResponse::NotFound().finish(),
    }
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let options = Options::parse();
    let listener = TcpListener::bind(options.addr)?;
    let bound = listener.local_addr()?;
    let site = Site::new(&options, bound)?;
    let session_config = web::Data::new(site.session.clone());
    let site = web::Data::new(site);

    let server = HttpServer::new(move || {
        App::new()
            .app_data(session_config.clone())
            .app_data(site.clone())
            .route("/", web::get().to(home))
            .route("/dashboard", web::get().to(dashboard))
            .route("/optional", web::get().to(optional))
            .route("/api/props/dashboard", web::get().to(props))
            .route("/api/me", web::get().to(me))
            .route("/auth", web::route().to(auth))
            .route("/auth/{rest:.*}", web::route().to(auth))
    })
    .workers(2)
    .listen(listener)?
    .run();
    site::print_address(bound);
    server.await?;
    Ok(())
}
