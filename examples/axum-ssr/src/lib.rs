//! A small server-rendered site on axum whose pages check the SuperTokens
//! session while rendering: the Rust take on SuperTokens' Next.js
//! `getServerSideProps` guide.
//!
//! ```text
//! cargo run -p ssr-session-example-axum
//! ```
//!
//! Open the printed address and sign in with the embedded dev issuer (or
//! point `--api-domain` at a real SuperTokens backend). Once the access
//! token expires (60 s by default), `/dashboard` answers with the refresh
//! bridge, which refreshes the session and reloads the page.
//!
//! | route | session | answer |
//! |---|---|---|
//! | `/` | none | public page |
//! | `/dashboard` | required (`Session`) | the user id, roles and a few claims |
//! | `/optional` | optional (`Option<Session>`) | a greeting for anonymous or signed-in users |
//! | `/admin` | a group behind `SessionLayer::required`, role `admin` | the admin page, or `403` |
//! | `/verified` | `Require<EmailVerified>` | the page, or `403` |
//! | `/reports` | `Require<FreshAdmin>`: role `admin` fetched within `--claims-max-age-secs` | the page; a stale role asks for a refresh |
//! | `/api/admin` | behind `SessionLayer::required`, role `admin` | JSON, or `403 {"message":"invalid claim",…}` |
//! | `/account/settings` | a nested group behind `SessionLayer::required` | the user's saved theme and a form posting to itself |
//! | `/api/props/dashboard` | props | `{"userId":…}` or `{"fromSupertokens":"needs-refresh"}` |
//! | `/api/me` | required | `{"userId":…}` |
//! | `/auth/…` | — | the dev issuer (sign-in, refresh, JWKS, sign-out) |
//! | `/metrics` | none, with `--metrics` | the library's numbers, Prometheus text format |
//! | `/metrics/live` | none, with `--metrics` | the key numbers as a page that reloads itself (linked from `/`) |

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{Html, Json};
use axum::routing::get;
use clap::Parser as _;
use serde_json::{Value, json};
use ssr_session::supertokens::{email_verified, has_role};
use ssr_session_axum::{Props, Require, Session, SessionLayer};
use ssr_session_example_support::site::{self, Options, SetupError, Site};

ssr_session::requirement!(
    /// A verified email (`st-ev` is true).
    pub EmailVerified = email_verified()
);

ssr_session::requirement!(
    /// The `admin` role, fetched recently (see `site::fresh_admin`).
    pub FreshAdmin = site::fresh_admin()
);

async fn home(State(site): State<Arc<Site>>) -> Html<String> {
    Html(site::home_page(site.metrics.is_some()))
}

/// Runs only with a valid session; otherwise the visitor gets the refresh
/// bridge (expired or no token) or is sent to sign in (invalid token).
async fn dashboard(session: Session) -> Html<String> {
    Html(site::dashboard_page(&session))
}

/// `None` when the request carries no token at all.
async fn optional(session: Option<Session>) -> Html<String> {
    Html(site::optional_page(session.as_deref()))
}

/// Behind the admin group's layer: only sessions with the `admin` role.
async fn admin(session: Session) -> Html<String> {
    Html(site::admin_page(&session))
}

async fn verified(session: Require<EmailVerified>) -> Html<String> {
    Html(site::verified_page(&session))
}

async fn reports(session: Require<FreshAdmin>) -> Html<String> {
    Html(site::reports_page(&session))
}

/// The admin API: a data request refused with SuperTokens' `403 invalid claim`.
async fn admin_api(session: Session) -> Json<Value> {
    Json(json!({ "userId": session.user_id(), "admin": true }))
}

async fn settings(State(site): State<Arc<Site>>, session: Session) -> Html<String> {
    let theme = site.theme_of(session.user_id());
    Html(site::settings_page(&session, theme.as_deref(), false))
}

async fn save_settings(
    State(site): State<Arc<Site>>,
    session: Session,
    body: Bytes,
) -> Html<String> {
    let theme = site::form_theme(&body);
    site.save_theme(session.user_id(), &theme);
    Html(site::settings_page(&session, Some(&theme), true))
}

/// The Next.js guide's props, as JSON.
async fn dashboard_props(props: Props) -> Props {
    props
}

async fn me(session: Session) -> Json<Value> {
    Json(json!({ "userId": session.user_id() }))
}

/// The site's router.
pub fn router(site: Site) -> Router {
    let config = site.session.clone();
    let site = Arc::new(site);
    // A route group of its own: the layer refuses every request without a
    // session that has the admin role, before any handler runs.
    let admins = config.clone().require(has_role(site::ADMIN_ROLE));
    let admin_area = Router::new()
        .route("/", get(admin))
        .layer(SessionLayer::required(admins.clone()));
    let admin_api_group = Router::new()
        .route("/", get(admin_api))
        .layer(SessionLayer::required(admins));
    let account = Router::new()
        .route("/settings", get(settings).post(save_settings))
        .layer(SessionLayer::required(config.clone()));
    let routes = Router::new()
        .route("/", get(home))
        .route("/dashboard", get(dashboard))
        .route("/optional", get(optional))
        .route("/verified", get(verified))
        .route("/reports", get(reports))
        .nest("/api/admin", admin_api_group)
        .route("/api/props/dashboard", get(dashboard_props))
        .route("/api/me", get(me))
        .nest("/admin", admin_area)
        .nest("/account", account);
    site::axum_site(routes, site)
}

/// Runs the site with the command line's options until Ctrl-C.
#[tokio::main]
pub async fn main() -> Result<(), SetupError> {
    let options = Options::parse();
    site::init_logging();
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    let site = Site::new(&options, addr)?;
    site.ready().await?;
    site::print_address(addr);
    axum::serve(listener, router(site))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
