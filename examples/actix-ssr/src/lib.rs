//! The example site on actix-web: the same pages as the axum example, with
//! the admin area and the account scope behind [`SessionMiddleware`].
//!
//! ```text
//! cargo run -p ssr-session-example-actix -- --addr 127.0.0.1:3000
//! ```
//!
//! Open the printed address, sign in, and watch the dashboard survive the
//! access token's expiry (`--access-token-secs`) through the refresh bridge.

use std::net::TcpListener;
use std::sync::atomic::Ordering;

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use clap::Parser as _;
use ssr_session::supertokens::{email_verified, has_role};
use ssr_session_actix::{
    OptionalSession, Props, Require, Session, SessionMiddleware, into_response,
};
use ssr_session_example_support::site::{self, Options, Site};

ssr_session::requirement!(
    /// A verified email (`st-ev` is true).
    pub EmailVerified = email_verified()
);

ssr_session::requirement!(
    /// The `admin` role, fetched recently (see `site::fresh_admin`).
    pub FreshAdmin = site::fresh_admin()
);

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
    html(&site, site::home_page(site.metrics.is_some()))
}

/// `/metrics`: the Prometheus text format (404 without `--metrics`).
async fn metrics(site: web::Data<Site>) -> HttpResponse {
    match &site.metrics {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(ssr_session_example_support::metrics::render(handle)),
        None => HttpResponse::NotFound().finish(),
    }
}

/// `/metrics/live`: the key numbers, reloading itself (404 without `--metrics`).
async fn live_metrics(site: web::Data<Site>) -> HttpResponse {
    use ssr_session_example_support::metrics::{live_page, render};
    match &site.metrics {
        Some(handle) => html(&site, live_page(&render(handle))),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn dashboard(site: web::Data<Site>, session: Session) -> HttpResponse {
    html(&site, site::dashboard_page(&session))
}

async fn optional(site: web::Data<Site>, session: OptionalSession) -> HttpResponse {
    html(&site, site::optional_page(session.as_ref()))
}

/// Behind the admin scope's middleware: only sessions with the `admin` role.
async fn admin(site: web::Data<Site>, session: Session) -> HttpResponse {
    html(&site, site::admin_page(&session))
}

async fn verified(site: web::Data<Site>, session: Require<EmailVerified>) -> HttpResponse {
    html(&site, site::verified_page(&session))
}

async fn reports(site: web::Data<Site>, session: Require<FreshAdmin>) -> HttpResponse {
    html(&site, site::reports_page(&session))
}

async fn admin_api(session: Session) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "userId": session.user_id(), "admin": true }))
}

async fn settings(site: web::Data<Site>, session: Session) -> HttpResponse {
    let theme = site.theme_of(session.user_id());
    html(
        &site,
        site::settings_page(&session, theme.as_deref(), false),
    )
}

async fn save_settings(site: web::Data<Site>, session: Session, body: web::Bytes) -> HttpResponse {
    let theme = site::form_theme(&body);
    site.save_theme(session.user_id(), &theme);
    html(&site, site::settings_page(&session, Some(&theme), true))
}

async fn form_posts(site: web::Data<Site>) -> HttpResponse {
    HttpResponse::Ok()
        .json(serde_json::json!({ "formPosts": site.form_posts.load(Ordering::SeqCst) }))
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
        Some(response) => into_response(response),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Runs the site with the command line's options until Ctrl-C.
#[actix_web::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    site::init_logging();
    let options = Options::parse();
    let listener = TcpListener::bind(options.addr)?;
    let bound = listener.local_addr()?;
    let site = Site::new(&options, bound)?;
    site.ready().await?;
    let config = site.session.clone();
    let site = web::Data::new(site);

    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(config.clone()))
            .app_data(site.clone())
            .route("/", web::get().to(home))
            .route("/metrics", web::get().to(metrics))
            .route("/metrics/live", web::get().to(live_metrics))
            .route("/dashboard", web::get().to(dashboard))
            .route("/optional", web::get().to(optional))
            .route("/verified", web::get().to(verified))
            .route("/reports", web::get().to(reports))
            .service(
                web::scope("/admin")
                    .wrap(SessionMiddleware::required(
                        config.clone().require(has_role(site::ADMIN_ROLE)),
                    ))
                    .route("", web::get().to(admin)),
            )
            .service(
                web::scope("/api/admin")
                    .wrap(SessionMiddleware::required(
                        config.clone().require(has_role(site::ADMIN_ROLE)),
                    ))
                    .route("", web::get().to(admin_api)),
            )
            .service(
                web::scope("/account")
                    .wrap(SessionMiddleware::required(config.clone()))
                    .route("/settings", web::get().to(settings))
                    .route("/settings", web::post().to(save_settings)),
            )
            .route("/api/props/dashboard", web::get().to(props))
            .route("/api/me", web::get().to(me))
            .route("/dev/form-posts", web::get().to(form_posts))
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
