//! A server-rendered site that accepts sessions from two issuers: two
//! tenants (`acme` and `globex`) of the embedded dev issuer, each with its
//! own keys, on the site's own origin. The verifier picks each token's keys
//! by its `iss` ([`IssuerKeyProvider`]), from an allow-list: the template
//! `{origin}/{tenant}/auth`, with the two tenants approved.
//!
//! ```text
//! cargo run -p ssr-session-example-multi-issuer
//! ```
//!
//! | route | session | answer |
//! |---|---|---|
//! | `/` | none | links to sign in at either tenant |
//! | `/dashboard` | required | the user and the issuer that signed the session |
//! | `/api/me` | required | `{"userId":…,"issuer":…}` |
//! | `/api/issuers` | none | `{"cached":N,"setups":N}`: the issuers set up so far |
//! | `/metrics` | none | with `--metrics`: the Prometheus text format (issuers cached and refused, …) |
//! | `/acme/auth/…`, `/globex/auth/…` | — | the two dev issuers (sign-in, refresh, JWKS) |
//!
//! Kept small on purpose: the refresh bridge posts to `acme`'s refresh
//! route, so an expired `globex` session is sent to sign in again. An app
//! whose tenants refresh at different URLs chooses the refresh URL per
//! request (for example by host).
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::response::{Html, Json};
use axum::routing::get;
use clap::Parser;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::{Value, json};
use ssr_session::{
    DefaultResponses, SessionConfig, Verifier, issuers::IssuerKeyProvider, issuers::IssuerKeys,
};
use ssr_session_axum::{Session, SessionLayer};
use ssr_session_example_support::dev_issuer::{DevIssuer, DevIssuerConfig};
use ssr_session_example_support::site;

/// The tenants this site accepts.
const TENANTS: [&str; 2] = ["acme", "globex"];

/// Accepts sessions from two issuers.
#[derive(Debug, Parser)]
#[command(name = "multi-issuer-ssr")]
struct Options {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000", env = "SSR_SESSION_ADDR")]
    addr: SocketAddr,
    /// Serve the library's metrics in the Prometheus text format at `/metrics`.
    #[arg(long, env = "SSR_SESSION_METRICS")]
    metrics: bool,
}

type SetupError = Box<dyn std::error::Error + Send + Sync>;

/// The issuer of `tenant` on `origin`: apiDomain + apiBasePath, as
/// SuperTokens sets `iss`.
fn issuer_of(origin: &str, tenant: &str) -> String {
    format!("{origin}/{tenant}/auth")
}

/// The key provider: the template's issuers, approved tenants only, keys
/// at each issuer's SuperTokens JWKS path.
fn key_provider(origin: &str) -> Result<IssuerKeyProvider, ssr_session::ConfigError> {
    IssuerKeyProvider::builder()
        .issuer_template(
            &format!("{origin}/{{tenant}}/auth"),
            IssuerKeys::JwksUrl(format!("{origin}/{{tenant}}/auth/jwt/jwks.json")),
        )
        .approve_tenants_with(|tenant| async move { TENANTS.contains(&tenant.as_str()) })
        .build()
}

async fn home() -> Html<String> {
    let links: String = TENANTS
        .iter()
        .map(|tenant| {
            format!(
                "<li><a href=\"/{tenant}/auth/dev/signin?userId={tenant}-user&amp;redirectTo=/dashboard\">\
                 Sign in at {tenant}</a></li>"
            )
        })
        .collect();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Two issuers</title></head>\n\
         <body><h1>Two issuers</h1><ul>{links}</ul></body></html>\n"
    ))
}

async fn dashboard(session: Session) -> Html<String> {
    let issuer = session.claims().iss.clone().unwrap_or_default();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Dashboard</title></head>\n\
         <body><h1>Dashboard</h1><p>Signed in as <b id=\"user\">{}</b> by <code id=\"issuer\">{}</code></p></body></html>\n",
        escape(session.user_id()),
        escape(&issuer)
    ))
}

async fn me(session: Session) -> Json<Value> {
    Json(json!({ "userId": session.user_id(), "issuer": session.claims().iss }))
}

async fn issuers(State(keys): State<IssuerKeyProvider>) -> Json<Value> {
    keys.run_pending_tasks().await;
    Json(json!({ "cached": keys.cached_issuers(), "setups": keys.setup_count() }))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The site's router for `origin`, with `/metrics` when given the recorder.
fn router(origin: &str, metrics: Option<PrometheusHandle>) -> Result<Router, SetupError> {
    let keys = key_provider(origin)?;
    let verifier = Verifier::builder(keys.clone()).build()?;
    let config = SessionConfig::new(verifier).responses(
        DefaultResponses::default()
            .refresh_url(format!("{}/session/refresh", issuer_of(origin, TENANTS[0])))
            .login_url("/"),
    );
    let mut app = Router::new()
        .route("/", get(home))
        .route("/dashboard", get(dashboard))
        .route("/api/me", get(me))
        .route("/api/issuers", get(issuers))
        .with_state(keys);
    if let Some(handle) = metrics {
        app = app.route(
            "/metrics",
            get(move || std::future::ready(ssr_session_example_support::metrics::render(&handle))),
        );
    }
    for tenant in TENANTS {
        let issuer = DevIssuer::new(DevIssuerConfig {
            issuer: issuer_of(origin, tenant),
            api_base_path: format!("/{tenant}/auth"),
            ..DevIssuerConfig::default()
        });
        app = app.merge(issuer.router());
    }
    Ok(app.layer(SessionLayer::new(config)))
}

#[tokio::main]
async fn main() -> Result<(), SetupError> {
    let options = Options::parse();
    site::init_logging();
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    // Installed before the verifier is built (it registers its counters then).
    let metrics = options
        .metrics
        .then(ssr_session_example_support::metrics::recorder);
    let app = router(&format!("http://{addr}"), metrics)?;
    site::print_address(addr);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
