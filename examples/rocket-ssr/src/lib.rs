//! The example site on Rocket: the same pages as the axum example. Rocket
//! has no middleware that can refuse a request, so the admin page states
//! its requirement in its signature (`Require<Admin>`), as every route of a
//! Rocket "route group" would.
//!
//! ```text
//! cargo run -p ssr-session-example-rocket -- --addr 127.0.0.1:3000
//! ```

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use clap::Parser as _;
use rocket::data::{Data, ToByteUnit as _};
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Method, Status};
use rocket::response::content::RawHtml;
use rocket::route::{Handler, Outcome, Route};
use rocket::{Build, Request, Rocket, State};
use ssr_session::supertokens::{email_verified, has_role};
use ssr_session_example_support::site::{self, Options, Site};
use ssr_session_rocket::{OptionalSession, Props, Require, Session};

ssr_session::requirement!(
    /// The `admin` role.
    pub Admin = has_role(site::ADMIN_ROLE)
);

ssr_session::requirement!(
    /// A verified email (`st-ev` is true).
    pub EmailVerified = email_verified()
);

ssr_session::requirement!(
    /// The `admin` role, fetched recently (see `site::fresh_admin`).
    pub FreshAdmin = site::fresh_admin()
);

#[rocket::get("/")]
fn home(site: &State<Arc<Site>>) -> RawHtml<String> {
    RawHtml(site::home_page(site.metrics.is_some()))
}

/// `/metrics`: the Prometheus text format (404 without `--metrics`).
#[rocket::get("/metrics")]
fn metrics(site: &State<Arc<Site>>) -> Option<(ContentType, String)> {
    let handle = site.metrics.as_ref()?;
    let text = ContentType::new("text", "plain").with_params([("version", "0.0.4")]);
    Some((text, ssr_session_example_support::metrics::render(handle)))
}

/// `/metrics/live`: the key numbers, reloading itself (404 without `--metrics`).
#[rocket::get("/metrics/live")]
fn live_metrics(site: &State<Arc<Site>>) -> Option<RawHtml<String>> {
    use ssr_session_example_support::metrics::{live_page, render};
    Some(RawHtml(live_page(&render(site.metrics.as_ref()?))))
}

#[rocket::get("/dashboard")]
fn dashboard(session: Session) -> RawHtml<String> {
    RawHtml(site::dashboard_page(&session))
}

#[rocket::get("/optional")]
fn optional(session: OptionalSession) -> RawHtml<String> {
    RawHtml(site::optional_page(session.as_ref()))
}

#[rocket::get("/admin")]
fn admin(session: Require<Admin>) -> RawHtml<String> {
    RawHtml(site::admin_page(&session))
}

#[rocket::get("/reports")]
fn reports(session: Require<FreshAdmin>) -> RawHtml<String> {
    RawHtml(site::reports_page(&session))
}

#[rocket::get("/api/admin")]
fn admin_api(session: Require<Admin>) -> (ContentType, String) {
    let body = serde_json::json!({ "userId": session.user_id(), "admin": true });
    (ContentType::JSON, body.to_string())
}

#[rocket::get("/verified")]
fn verified(session: Require<EmailVerified>) -> RawHtml<String> {
    RawHtml(site::verified_page(&session))
}

#[rocket::get("/account/settings")]
fn settings(site: &State<Arc<Site>>, session: Session) -> RawHtml<String> {
    let theme = site.theme_of(session.user_id());
    RawHtml(site::settings_page(&session, theme.as_deref(), false))
}

#[rocket::post("/account/settings", data = "<body>")]
fn save_settings(site: &State<Arc<Site>>, session: Session, body: Vec<u8>) -> RawHtml<String> {
    let theme = site::form_theme(&body);
    site.save_theme(session.user_id(), &theme);
    RawHtml(site::settings_page(&session, Some(&theme), true))
}

#[rocket::get("/dev/form-posts")]
fn form_posts(site: &State<Arc<Site>>) -> (ContentType, String) {
    let body = serde_json::json!({ "formPosts": site.form_posts.load(Ordering::SeqCst) });
    (ContentType::JSON, body.to_string())
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

async fn app(options: &Options, bound: SocketAddr) -> Result<Rocket<Build>, site::SetupError> {
    let site = Arc::new(Site::new(options, bound)?);
    site.ready().await?;
    // Rocket logs to stdout: silenced, so that the address is the first line.
    let figment = rocket::Config::figment()
        .merge(("address", bound.ip()))
        .merge(("port", bound.port()))
        .merge(("log_level", "off"))
        .merge(("cli_colors", false));
    let mut rocket = rocket::custom(figment)
        .manage(site.session.clone())
        .manage(site.clone())
        .register("/", ssr_session_rocket::catchers())
        .mount(
            "/",
            rocket::routes![
                home,
                metrics,
                live_metrics,
                dashboard,
                optional,
                admin,
                admin_api,
                reports,
                verified,
                settings,
                save_settings,
                form_posts,
                dashboard_props,
                me
            ],
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

/// Runs the site with the command line's options until Ctrl-C.
#[rocket::main]
pub async fn main() -> Result<(), site::SetupError> {
    site::init_logging();
    let options = Options::parse();
    // Rocket 0.5 binds at launch, and the site must know its address first
    // (the dev issuer's JWKS URL): port 0 is resolved here, up front.
    let bound = if options.addr.port() == 0 {
        TcpListener::bind(options.addr)?.local_addr()?
    } else {
        options.addr
    };
    let rocket = app(&options, bound).await.map_err(|e| e.to_string())?;
    if let Err(error) = rocket.launch().await {
        return Err(error.to_string().into());
    }
    Ok(())
}
