//! The example site on Rocket: public home page, a dashboard behind a
//! required session, an optional-session page, the Next.js-style props
//! route, a JSON API, and the embedded dev issuer under `/auth/*`.
//!
//! ```text
//! cargo run -p ssr-session-examples --bin rocket-ssr -- --addr 127.0.0.1:3000
//! ```

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use clap::Parser as _;
use rocket::data::{Data, ToByteUnit as _};
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Method, Status};
use rocket::response::content::RawHtml;
use rocket::route::{Handler, Outcome, Route};
use rocket::{Build, Request, Rocket};
use ssr_session_examples::site::{self, Options, Site};
use ssr_session_rocket::{OptionalSession, Props, Session};

#[rocket::get("/")]
fn home() -> RawHtml<String> {
    RawHtml(site::home_page())
}

#[rocket::get("/dashboard")]
fn dashboard(session: Session) -> RawHtml<String> {
    RawHtml(site::dashboard_page(&session))
}

#[rocket::get("/optional")]
fn optional(session: OptionalSession) -> RawHtml<String> {
    RawHtml(site::optional_page(session.as_ref()))
}

#[rocket::get("/api/props/dashboard")]
fn dashboard_props(props: Props) -> Props {
    props
}

#[rocket::get("/api/me")]
fn me(session: Session) -> (ContentType, String) {
    let body = serde_json::json!({ "userId": session.user_id() });
    (ContentType::JSON, body.to_string())
}

/// Everything under `/auth` goes to the embedded dev issuer (404 with a
/// real `--api-domain`).
#[derive(Clone)]
struct Issuer(Arc<Site>);

#[rocket::async_trait]
impl Handler for Issuer {
    async fn handle<'r>(&self, request: &'r Request<'_>, data: Data<'r>) -> Outcome<'r> {
        let body = match data.open(1.mebibytes()).into_bytes().await {
            Ok(body) if body.is_complete() => body.into_inner(),
            _ => return Outcome::Error(Status::PayloadTooLarge),
        };
        let headers: Vec<(String, Vec<u8>)> = request
            .headers()
            .iter()
            .map(|h| (h.name().to_string(), h.value().as_bytes().to_vec()))
            .collect();
        let path = request.uri().to_string();
        let method = request.method().as_str();
        match self
            .0
            .dispatch_to_issuer(method, &path, &headers, body)
            .await
        {
            Some(response) => Outcome::Success(ssr_session_rocket::into_response(response)),
            None => Outcome::Error(Status::NotFound),
        }
    }
}

fn issuer_routes(site: &Arc<Site>) -> Vec<Route> {
    use Method::*;
    let methods = [Get, Put, Post, Delete, Options, Head, Trace, Connect, Patch];
    ["/auth", "/auth/<path..>"]
        .into_iter()
        .flat_map(|uri| methods.map(|method| Route::new(method, uri, Issuer(site.clone()))))
        .collect()
}

fn app(options: &Options, bound: SocketAddr) -> Result<Rocket<Build>, site::SetupError> {
    let site = Arc::new(Site::new(options, bound)?);
    // Rocket logs to stdout: silenced, so that the address is the first line.
    let figment = rocket::Config::figment()
        .merge(("address", bound.ip()))
        .merge(("port", bound.port()))
        .merge(("log_level", "off"))
        .merge(("cli_colors", false));
    let mut rocket = rocket::custom(figment)
        .manage(site.session.clone())
        .register("/", ssr_session_rocket::catchers())
        .mount(
            "/",
            rocket::routes![home, dashboard, optional, dashboard_props, me],
        )
        .mount("/", issuer_routes(&site))
        .attach(AdHoc::on_liftoff("Print the address", |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                site::print_address(SocketAddr::new(config.address, config.port));
            })
        }));
    if let Some(policy) = site.content_security_policy.clone() {
        // Pages and the refresh bridge alike.
        rocket = rocket.attach(AdHoc::on_response(
            "Content-Security-Policy",
            move |_, response| {
                let policy = policy.clone();
                Box::pin(async move {
                    if response.content_type().is_some_and(|t| t.is_html()) {
                        response.set_raw_header("Content-Security-Policy", policy);
                    }
                })
            },
        ));
    }
    Ok(rocket)
}

#[rocket::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let options = Options::parse();
    // Rocket 0.5 binds at launch, and the site must know its address first
    // (the dev issuer's JWKS URL): port 0 is resolved here, up front.
    let bound = if options.addr.port() == 0 {
        TcpListener::bind(options.addr)?.local_addr()?
    } else {
        options.addr
    };
    let rocket = app(&options, bound).map_err(|e| e.to_string())?;
    if let Err(error) = rocket.launch().await {
        return Err(error.to_string().into());
    }
    Ok(())
}
