//! The small server-rendered site every example app serves, whatever its
//! framework: options, the session setup, the pages, and in-process access
//! to the embedded dev issuer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use ssr_session::{
    DefaultResponses, InvalidToken, JwksKeyProvider, MemoryRevocations, NeedsRefreshReason,
    Respond, RevocationList, Revoke, Session, SessionConfig, SessionOutcome, SuperTokensClaims,
    Unavailable, Verifier, adapter::Memo, adapter::RequestView, requirement::RequirementFailure,
    respond::RequestInfo, respond::ResponseData, source::HeaderList,
};
#[cfg(feature = "redis")]
use ssr_session_redis::RedisRevocations;
use tower::ServiceExt as _;

use crate::dev_issuer::{DevIssuer, DevIssuerConfig};

/// Options shared by all example apps (flag or environment variable).
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "An ssr-session example app")]
pub struct Options {
    /// Address to listen on (port 0 picks a free port; the actual address is
    /// printed as the first line of stdout).
    #[arg(long, env = "SSR_SESSION_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// The dev issuer's access-token lifetime in seconds.
    #[arg(long, env = "SSR_SESSION_ACCESS_TOKEN_SECS", default_value_t = 60)]
    pub access_token_secs: i64,
    /// A real SuperTokens backend (`apiDomain`) to use instead of the
    /// embedded dev issuer: keys from `{api-domain}/auth/jwt/jwks.json`,
    /// refresh and login on that domain.
    #[arg(long, env = "SSR_SESSION_API_DOMAIN")]
    pub api_domain: Option<String>,
    /// A CSP nonce for the refresh bridge; when set, pages are served with
    /// `Content-Security-Policy: script-src 'nonce-…'` (for the CSP tests).
    #[arg(long, env = "SSR_SESSION_CSP_NONCE")]
    pub csp_nonce: Option<String>,
    /// How old the `admin` role may be on `/reports` (seconds since the backend fetched it)
    /// before the page asks for a refresh.
    #[arg(long, env = "SSR_SESSION_CLAIMS_MAX_AGE_SECS", default_value_t = 300)]
    pub claims_max_age_secs: u64,
    /// Serve the library's metrics in the Prometheus text format at `/metrics`, and a
    /// live view of the key numbers at `/metrics/live` (linked from the home page).
    #[arg(long, env = "SSR_SESSION_METRICS")]
    pub metrics: bool,
    /// Revocations shared through Redis (the `redis` feature; without it, revocations
    /// stay in this process).
    #[cfg(feature = "redis")]
    #[command(flatten)]
    pub redis: RedisOptions,
}

/// The Redis options of [`Options`] (the `redis` feature).
#[cfg(feature = "redis")]
#[derive(Debug, Clone, clap::Args)]
pub struct RedisOptions {
    /// The Redis stream of revocations (with `--redis-url`): every replica and every
    /// backend that writes revocations (see `redis/STREAM.md`) must use the same key.
    #[arg(long, env = "SSR_SESSION_REDIS_KEY", default_value = ssr_session_redis::DEFAULT_KEY)]
    pub redis_key: String,
    /// A Redis server (`redis://127.0.0.1:6379/0`) that shares revocations among replicas:
    /// a sign-out on any replica reaches every replica's pages at once. Without it,
    /// revocations stay in this process.
    #[arg(long, env = "SSR_SESSION_REDIS_URL")]
    pub redis_url: Option<String>,
    /// A PEM file of the certificate authorities to trust for a `rediss://` `--redis-url`
    /// (a private CA, or the one a managed Redis publishes) instead of the platform's roots.
    #[arg(long, env = "SSR_SESSION_REDIS_CA_FILE", requires = "redis_url")]
    pub redis_ca_file: Option<std::path::PathBuf>,
}

/// `--claims-max-age-secs`, once the site is set up (a requirement named in a route's
/// signature is a type, so it reads its setting from here).
static CLAIMS_MAX_AGE_SECS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// `/reports`' requirement: the `admin` role, fetched at most `--claims-max-age-secs` ago;
/// a role too old (or missing) asks for a refresh, which helps when the backend fetches
/// claims again while refreshing (the dev issuer's `claims-on-refresh=refetch`).
pub fn fresh_admin() -> ssr_session::supertokens::ClaimRequirement {
    let max_age = CLAIMS_MAX_AGE_SECS.get().copied().unwrap_or(300);
    ssr_session::supertokens::ROLES
        .includes(ADMIN_ROLE)
        .max_age_secs(max_age)
        .refresh_if_stale()
}

/// The session setup of a running example.
#[derive(Debug)]
pub struct Site {
    /// What the framework adapter needs.
    pub session: SessionConfig,
    /// How many times the settings form was submitted (the browser test
    /// checks that a refresh never posts it again, and that a forged post
    /// never gets through).
    pub form_posts: std::sync::atomic::AtomicU64,
    /// The theme each user last saved with the settings form, by user id.
    themes: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// The embedded dev issuer, unless `--api-domain` was given.
    pub issuer: Option<DevIssuer>,
    /// The `Content-Security-Policy` to send with pages, if any.
    pub content_security_policy: Option<String>,
    /// The revocations shared through Redis (`--redis-url`), if any.
    #[cfg(feature = "redis")]
    pub redis: Option<RedisRevocations>,
    /// The Prometheus recorder's handle (`--metrics`), if any.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// A setup failure (bad `--api-domain`, …).
pub type SetupError = Box<dyn std::error::Error + Send + Sync>;

impl Site {
    /// Sets the site up for the address it is actually served on.
    pub fn new(options: &Options, bound: SocketAddr) -> Result<Self, SetupError> {
        let _ = CLAIMS_MAX_AGE_SECS.set(options.claims_max_age_secs);
        // Installed before the verifier is built: it registers its
        // per-request counters with the recorder installed then.
        let metrics = options.metrics.then(crate::metrics::recorder);
        let mut responses = DefaultResponses::default();
        if let Some(nonce) = &options.csp_nonce {
            responses = responses.csp_nonce(nonce.clone());
        }
        let content_security_policy = options
            .csp_nonce
            .as_ref()
            .map(|nonce| format!("default-src 'self'; script-src 'nonce-{nonce}'"));
        // A revocation matters for as long as a token it matches can be valid.
        let lifetime = u64::try_from(options.access_token_secs.max(1)).unwrap_or(1);
        let retention = Duration::from_secs(lifetime);
        #[cfg(feature = "redis")]
        let redis = match &options.redis.redis_url {
            Some(url) => {
                let mut builder = RedisRevocations::builder(url.clone())
                    .key(options.redis.redis_key.clone())
                    .retention(retention.max(Duration::from_secs(3600)));
                if let Some(ca_file) = &options.redis.redis_ca_file {
                    builder = builder.tls_ca_file(ca_file);
                }
                Some(builder.spawn()?)
            }
            None => None,
        };
        let (verifier, issuer) = match &options.api_domain {
            Some(api_domain) => {
                let api_domain = api_domain.trim_end_matches('/');
                let keys = JwksKeyProvider::for_supertokens(api_domain).build()?;
                responses = responses
                    .refresh_url(format!("{api_domain}/auth/session/refresh"))
                    .login_url(format!("{api_domain}/auth"));
                #[cfg_attr(not(feature = "redis"), allow(unused_mut))]
                let mut verifier = Verifier::builder(keys).issuer(format!("{api_domain}/auth"));
                // Revocations are written by the SuperTokens backend (redis/STREAM.md):
                // only a list shared through Redis sees them.
                #[cfg(feature = "redis")]
                if let Some(redis) = &redis {
                    verifier = verifier.revocation_list(redis.clone());
                }
                (verifier.build()?, None)
            }
            None => {
                let origin = format!("http://{bound}");
                let issuer = DevIssuer::new(DevIssuerConfig {
                    access_token_secs: options.access_token_secs,
                    issuer: format!("{origin}/auth"),
                    ..DevIssuerConfig::default()
                });
                // The app reads its keys over HTTP from its own origin, as it
                // would from a real auth server: no shortcut around the JWKS path.
                let keys =
                    JwksKeyProvider::builder(&format!("{origin}/auth/jwt/jwks.json")).build()?;
                // Sign-outs reach pages at once: the issuer records each revocation in
                // the list the verifier consults on every request (shared through
                // Redis with `--redis-url`, else in this process). One value, both
                // roles, whichever list it is.
                let (list, revocations): (
                    Arc<dyn RevocationList<SuperTokensClaims>>,
                    Arc<dyn Revoke>,
                ) = {
                    #[cfg(feature = "redis")]
                    let shared = redis.as_ref().map(|redis| Arc::new(redis.clone()));
                    #[cfg(not(feature = "redis"))]
                    let shared: Option<Arc<MemoryRevocations>> = None;
                    match shared {
                        Some(shared) => (shared.clone(), shared),
                        None => {
                            let memory = Arc::new(MemoryRevocations::new(retention));
                            (memory.clone(), memory)
                        }
                    }
                };
                issuer.set_revocations(revocations);
                let verifier = Verifier::builder(keys)
                    .issuer(issuer.issuer())
                    .revocation_list(list);
                (verifier.build()?, Some(issuer))
            }
        };
        let session = SessionConfig::new(verifier);
        let session = match &content_security_policy {
            Some(policy) => session.responses(WithCsp {
                inner: responses,
                policy: policy.clone(),
            }),
            None => session.responses(responses),
        };
        Ok(Self {
            session,
            form_posts: std::sync::atomic::AtomicU64::new(0),
            themes: std::sync::Mutex::default(),
            issuer,
            content_security_policy,
            #[cfg(feature = "redis")]
            redis,
            metrics,
        })
    }

    /// Waits until the shared revocations are loaded (at once without Redis).
    pub async fn ready(&self) -> Result<(), SetupError> {
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            redis.ready().await?;
        }
        Ok(())
    }

    /// Saves `theme` as `user_id`'s (the settings form's handler), and
    /// counts the post.
    pub fn save_theme(&self, user_id: &str, theme: &str) {
        self.form_posts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.lock_themes()
            .insert(user_id.to_owned(), theme.to_owned());
    }

    /// The theme `user_id` last saved, if any.
    pub fn theme_of(&self, user_id: &str) -> Option<String> {
        self.lock_themes().get(user_id).cloned()
    }

    fn lock_themes(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, String>> {
        self.themes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends one request to the embedded dev issuer, in process; `None`
    /// when the site uses a real `--api-domain`. An unsafe request carrying
    /// the session cookie that a page of another origin sent (a forced
    /// sign-out, say) is answered by the core instead, as the site's own
    /// routes answer it (the forged-request 403).
    pub async fn dispatch_to_issuer(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, Vec<u8>)],
        body: Vec<u8>,
    ) -> Option<ResponseData> {
        let issuer = self.issuer.as_ref()?;
        if let Some(refused) = self.refuse_forged(method, path_and_query, headers).await {
            return Some(refused);
        }
        let mut request = http::Request::builder().method(method).uri(path_and_query);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_slice());
        }
        let Ok(request) = request.body(Body::from(body)) else {
            return Some(ResponseData::new(400, "text/plain", "bad request"));
        };
        let response = issuer.router().oneshot(request).await.ok()?;
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, 1024 * 1024).await.ok()?;
        Some(ResponseData {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
                .collect(),
            body: body.to_vec(),
        })
    }

    /// The core's answer to an unsafe request to the dev issuer (sign-out,
    /// sign-out everywhere, refresh) that carries the session cookie and was
    /// sent by a page of another origin, else `None`. The same rule as the
    /// app's own routes ([`ssr_session::CsrfProtection`]), decided by the
    /// same pipeline: a forced sign-out is refused as a forged save is.
    async fn refuse_forged(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, Vec<u8>)],
    ) -> Option<ResponseData> {
        // Only unsafe requests can be refused; a GET (the JWKS, the sign-in
        // link, the login page) is not verified here at all.
        if ["GET", "HEAD", "OPTIONS"]
            .iter()
            .any(|safe| method.eq_ignore_ascii_case(safe))
        {
            return None;
        }
        let mut request = IssuerRequest {
            headers: headers
                .iter()
                .fold(HeaderList::new(), |list, (name, value)| {
                    list.with(name.as_str(), value.as_slice())
                }),
            method,
            path_and_query,
            memo: None,
        };
        let outcome: SessionOutcome = self.session.extract(&mut request, None).await.ok()?;
        match &outcome {
            SessionOutcome::Invalid(error) if error.is_forgery() => {
                let info = RequestInfo::new(&request.headers, method, path_and_query);
                Some(self.session.reject(&outcome, &info).into_response_data())
            }
            _ => None,
        }
    }
}

/// A request to the dev issuer, as the session pipeline reads it.
struct IssuerRequest<'a> {
    headers: HeaderList,
    method: &'a str,
    path_and_query: &'a str,
    memo: Option<Memo>,
}

impl RequestView<SuperTokensClaims> for IssuerRequest<'_> {
    fn headers(&self) -> &dyn ssr_session::source::Headers {
        &self.headers
    }
    fn method(&self) -> &str {
        self.method
    }
    fn path_and_query(&self) -> std::borrow::Cow<'_, str> {
        self.path_and_query.into()
    }
    fn memo(&self) -> Option<Memo> {
        self.memo.clone()
    }

    fn keep_memo(&mut self, memo: Memo) -> Option<Memo> {
        self.memo = Some(memo);
        None
    }
}

/// What the axum and Leptos examples' routers share, around `routes`: the
/// embedded dev issuer under `/auth` ([`issuer_route`]), the settings
/// form's counter at `/dev/form-posts` ([`form_posts_route`]), the configuration
/// for every extractor (`SessionLayer::new`: they verify on demand), and
/// with `--csp-nonce` the `Content-Security-Policy` on every answer (the
/// bridge page included), which allows only the nonced script.
pub fn axum_site(routes: axum::Router<Arc<Site>>, site: Arc<Site>) -> axum::Router {
    use axum::routing::any;
    let csp = site
        .content_security_policy
        .as_deref()
        .and_then(|policy| http::HeaderValue::from_str(policy).ok());
    let config = site.session.clone();
    routes
        .route("/auth", any(issuer_route))
        .route("/auth/{*rest}", any(issuer_route))
        .route("/dev/form-posts", axum::routing::get(form_posts_route))
        .route("/metrics", axum::routing::get(metrics_route))
        .route("/metrics/live", axum::routing::get(live_metrics_route))
        .with_state(site)
        .layer(ssr_session_axum::SessionLayer::new(config))
        .layer(axum::middleware::map_response(
            move |mut response: axum::response::Response| {
                if let Some(csp) = &csp {
                    response
                        .headers_mut()
                        .insert(http::header::CONTENT_SECURITY_POLICY, csp.clone());
                }
                std::future::ready(response)
            },
        ))
}

/// `/metrics`: the Prometheus text format (404 without `--metrics`).
pub async fn metrics_route(
    axum::extract::State(site): axum::extract::State<Arc<Site>>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match &site.metrics {
        Some(handle) => (
            [(
                http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            crate::metrics::render(handle),
        )
            .into_response(),
        None => http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/metrics/live`: the key numbers, reloading itself (404 without `--metrics`).
pub async fn live_metrics_route(
    axum::extract::State(site): axum::extract::State<Arc<Site>>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match &site.metrics {
        Some(handle) => {
            axum::response::Html(crate::metrics::live_page(&crate::metrics::render(handle)))
                .into_response()
        }
        None => http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/dev/form-posts`: `{"formPosts":n}`, how many times the settings form
/// reached its handler (for the tests).
pub async fn form_posts_route(
    axum::extract::State(site): axum::extract::State<Arc<Site>>,
) -> axum::Json<serde_json::Value> {
    let posts = site.form_posts.load(std::sync::atomic::Ordering::SeqCst);
    axum::Json(serde_json::json!({ "formPosts": posts }))
}

/// The axum handler for everything under `/auth`: the embedded dev issuer,
/// in process (404 with a real `--api-domain`: the browser talks to that
/// domain instead). The axum and Leptos examples route `/auth` and
/// `/auth/{*rest}` to it.
pub async fn issuer_route(
    axum::extract::State(site): axum::extract::State<Arc<Site>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let answer = site
        .dispatch_to_issuer(
            parts.method.as_str(),
            path_and_query,
            &headers,
            body.to_vec(),
        )
        .await;
    match answer {
        Some(answer) => ssr_session_axum::into_response(answer),
        None => http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// The default responses, with the site's `Content-Security-Policy` on
/// each: the bridge page's inline script then runs only thanks to its nonce.
struct WithCsp {
    inner: DefaultResponses,
    policy: String,
}

impl WithCsp {
    fn add(&self, response: ResponseData) -> ResponseData {
        response.with_header("content-security-policy", self.policy.clone())
    }
}

impl Respond for WithCsp {
    fn needs_refresh(&self, request: &RequestInfo<'_>, reason: NeedsRefreshReason) -> ResponseData {
        self.add(self.inner.needs_refresh(request, reason))
    }
    fn invalid(&self, request: &RequestInfo<'_>, error: &InvalidToken) -> ResponseData {
        self.add(self.inner.invalid(request, error))
    }
    fn unavailable(&self, request: &RequestInfo<'_>, error: &Unavailable) -> ResponseData {
        self.add(self.inner.unavailable(request, error))
    }
    fn claim_validation_failed(
        &self,
        request: &RequestInfo<'_>,
        errors: &[RequirementFailure],
    ) -> ResponseData {
        self.add(self.inner.claim_validation_failed(request, errors))
    }
}

/// Logs to stderr when `RUST_LOG` is set: `target=level` pairs and a bare
/// default level, comma-separated (e.g. `RUST_LOG=ssr_session=debug,warn`).
/// `Targets` reads that syntax without a regex engine (tracing-subscriber's
/// `EnvFilter` would compile one into the first page's build).
pub fn init_logging() {
    use std::io::IsTerminal as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let Ok(directives) = std::env::var("RUST_LOG") else {
        return;
    };
    let filter: tracing_subscriber::filter::Targets = match directives.parse() {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("RUST_LOG={directives:?} not understood ({error}): logging off");
            return;
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .finish()
        .with(filter)
        .init();
}

/// Prints the address to open as the first line of stdout.
pub fn print_address(addr: SocketAddr) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "http://{addr}");
    let _ = out.flush();
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body>\n<nav><a href=\"/\">Home</a> · <a href=\"/dashboard\">Dashboard</a> · \
         <a href=\"/optional\">Optional</a> · <a href=\"/admin\">Admin</a> · \
         <a href=\"/verified\">Verified</a> · <a href=\"/account/settings\">Settings</a></nav>\n{body}\n</body></html>\n"
    )
}

/// The role `/admin` requires.
pub const ADMIN_ROLE: &str = "admin";

/// `/admin`: for sessions with the `admin` role.
pub fn admin_page(session: &Session<SuperTokensClaims>) -> String {
    page(
        "Admin",
        &format!(
            "<h1>Admin</h1>\n<p>Welcome, administrator <strong id=\"user-id\">{}</strong>.</p>",
            escape(session.user_id())
        ),
    )
}

/// `/reports`: for sessions whose `admin` role is fresh.
pub fn reports_page(session: &Session<SuperTokensClaims>) -> String {
    page(
        "Reports",
        &format!(
            "<h1>Reports</h1>\n<p>Fresh admin role for <strong id=\"user-id\">{}</strong>.</p>",
            escape(session.user_id())
        ),
    )
}

/// `/verified`: for sessions whose email is verified.
pub fn verified_page(session: &Session<SuperTokensClaims>) -> String {
    page(
        "Verified",
        &format!(
            "<h1>Verified</h1>\n<p><strong id=\"user-id\">{}</strong> has a verified email.</p>",
            escape(session.user_id())
        ),
    )
}

/// `/account/settings`: the user's saved `theme` and a form that posts back
/// to itself; `just_saved` after a post.
pub fn settings_page(
    session: &Session<SuperTokensClaims>,
    theme: Option<&str>,
    just_saved: bool,
) -> String {
    let saved = match theme {
        Some(theme) if just_saved => format!("<p id=\"saved\">Saved: {}</p>", escape(theme)),
        _ => String::new(),
    };
    let theme = escape(theme.unwrap_or("default"));
    page(
        "Settings",
        &format!(
            "<h1>Settings of <strong id=\"user-id\">{}</strong></h1>\n{saved}\n\
             <p>Theme: <span id=\"theme\">{theme}</span></p>\n\
             <form id=\"settings\" method=\"post\" action=\"/account/settings\">\
             <input name=\"theme\" value=\"dark\"><button id=\"save\">Save</button></form>",
            escape(session.user_id())
        ),
    )
}

/// The `theme` field of a URL-encoded form body.
pub fn form_theme(body: &[u8]) -> String {
    let body = String::from_utf8_lossy(body);
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "theme")
        .map(|(_, value)| value.replace('+', " "))
        .unwrap_or_default()
}

/// `/`: public, with a sign-in link (and, with `--metrics`, a link to the
/// live numbers).
pub fn home_page(metrics: bool) -> String {
    let live = if metrics {
        "\n<p><a id=\"live-metrics\" href=\"/metrics/live\">Live numbers</a> \
         (decisions, token cache, key fetches) · <a href=\"/metrics\">/metrics</a></p>"
    } else {
        ""
    };
    page(
        "ssr-session example",
        &format!(
            "<h1>ssr-session example</h1>\n<p>This page is public.</p>\n\
             <p><a id=\"signin\" href=\"/auth/dev/signin?userId=alice&amp;redirectTo=/dashboard\">\
             Sign in as alice</a> (dev issuer)</p>{live}"
        ),
    )
}

/// `/dashboard`: the user id and a few claims.
pub fn dashboard_page(session: &Session<SuperTokensClaims>) -> String {
    let claims = session.claims();
    let row =
        |name: &str, value: &str| format!("<tr><th>{name}</th><td>{}</td></tr>", escape(value));
    let list = |values: Option<Vec<&str>>| values.map_or_else(|| "-".to_owned(), |v| v.join(", "));
    let email =
        claims.email_verified().map_or(
            "-",
            |verified| if verified { "verified" } else { "not verified" },
        );
    let rows = [
        row("tenant", claims.tenant()),
        format!(
            "<tr><th>roles</th><td id=\"roles\">{}</td></tr>",
            escape(&list(claims.roles()))
        ),
        row("permissions", &list(claims.permissions())),
        row("email", email),
        row("session", claims.session_handle.as_deref().unwrap_or("-")),
        row("expires (unix)", &claims.exp.to_string()),
    ]
    .concat();
    page(
        "Dashboard",
        &format!(
            "<h1>Dashboard</h1>\n<p>Signed in as <strong id=\"user-id\">{}</strong></p>\n\
             <table>{rows}</table>\n\
             <form method=\"post\" action=\"/auth/signout\"><button>Sign out</button></form>",
            escape(session.user_id())
        ),
    )
}

/// `/optional`: greets anonymous or signed-in users.
pub fn optional_page(session: Option<&Session<SuperTokensClaims>>) -> String {
    let greeting = match session {
        Some(session) => format!(
            "Hello, <strong id=\"user-id\">{}</strong>!",
            escape(session.user_id())
        ),
        None => "Hello, <strong id=\"anonymous\">anonymous</strong> visitor.".to_string(),
    };
    page(
        "Optional",
        &format!("<h1>Optional session</h1>\n<p>{greeting}</p>"),
    )
}
