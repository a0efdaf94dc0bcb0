//! A small server-rendered site on axum whose pages check the SuperTokens
//! session while rendering: the Rust take on SuperTokens' Next.js
//! `getServerSideProps` guide.
//!
//! ```text
//! cargo run -p ssr-session-examples --bin axum-ssr
//! ```
//!
//! Open the printed address and sign in as `alice` with the embedded dev
//! issuer (or point `--api-domain` at a real SuperTokens backend). Once the
//! access token expires (60 s by default), `/dashboard` answers with the
//! refresh bridge, which refreshes the session and reloads the page.
//!
//! | route | session | answer |
//! |---|---|---|
//! | `/` | none | public page |
//! | `/dashboard` | required | the user id and a few claims |
//! | `/optional` | optional | a greeting for anonymous or signed-in users |
//! | `/api/props/dashboard` | props | `{"userId":…}` or `{"fromSupertokens":"needs-refresh"}` |
//! | `/api/me` | required | `{"userId":…}` |
//! | `/auth/…` | — | the dev issuer (sign-in, refresh, JWKS, sign-out) |

use std::io::IsTerminal as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{any, get};
use clap::Parser as _;
use serde_json::{Value, json};
use ssr_session::SessionConfig;
use ssr_session_axum::{Props, Session};
use ssr_session_examples::site::{self, Options, SetupError, Site};

/// The router's state: the site, whose `session` the extractors find
/// through `FromRef`.
#[derive(Clone)]
struct App {
    site: Arc<Site>,
}

impl FromRef<App> for SessionConfig {
    fn from_ref(app: &App) -> Self {
        app.site.session.clone()
    }
}

async fn home() -> Html<String> {
    Html(site::home_page())
}

/// Runs only with a valid session; otherwise the visitor gets the refresh
/// bridge (expired or no token) or is sent to sign in (invalid token).
async fn dashboard(Session(session): Session) -> Html<String> {
    Html(site::dashboard_page(&session))
}

/// `None` when the request carries no token at all.
async fn optional(session: Option<Session>) -> Html<String> {
    Html(site::optional_page(session.as_deref()))
}

/// The Next.js guide's props, as JSON.
async fn dashboard_props(props: Props) -> Props {
    props
}

async fn me(Session(session): Session) -> Json<Value> {
    Json(json!({ "userId": session.user_id() }))
}

/// Everything under `/auth` goes to the embedded dev issuer, in process
/// (with a real `--api-domain`, the browser talks to that domain instead).
async fn auth(State(app): State<App>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let answer = app
        .site
        .dispatch_to_issuer(
            parts.method.as_str(),
            path_and_query,
            &headers,
            body.to_vec(),
        )
        .await;
    match answer {
        Some(answer) => ssr_session_axum::into_response(answer),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn router(site: Site) -> Router {
    let csp = site
        .content_security_policy
        .as_deref()
        .and_then(|policy| HeaderValue::from_str(policy).ok());
    let app = App {
        site: Arc::new(site),
    };
    Router::new()
        .route("/", get(home))
        .route("/dashboard", get(dashboard))
        .route("/optional", get(optional))
        .route("/api/props/dashboard", get(dashboard_props))
        .route("/api/me", get(me))
        .route("/auth", any(auth))
        .route("/auth/{*rest}", any(auth))
        .with_state(app)
        .layer(axum::middleware::map_response(
            move |mut response: Response| {
                // With `--csp-nonce`, every answer (the bridge page included)
                // carries the policy that allows only the nonced script.
                if let Some(csp) = &csp {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_SECURITY_POLICY, csp.clone());
                }
                std::future::ready(response)
            },
        ))
}

#[tokio::main]
async fn main() -> Result<(), SetupError> {
    let options = Options::parse();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init();
    }
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    let site = Site::new(&options, addr)?;
    site::print_address(addr);
    axum::serve(listener, router(site))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
