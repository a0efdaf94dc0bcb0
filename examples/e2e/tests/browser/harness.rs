//! The machinery of the browser tests: starting an example app and
//! browsers, limiting how many run at once, and saving what each browser
//! showed when a scenario fails. Finding Chromium, chromedriver, the
//! browser's flags and the polling are shared with the Leptos example
//! (`ssr_session_example_support::browser`).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::{Client, Locator};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

use ssr_session_example_support::browser::{self, Profile, Tools};
pub use ssr_session_example_support::browser::{
    BrowserOptions, Driver, Result, access_token, eventually, path_and_query, text_of,
};

/// The access-token lifetime the apps run with: short, so that scenarios
/// can wait past it. Tokens carry whole seconds, so a fresh token lives
/// between 2 and 3 s: a scenario that needs a token to stay valid for a
/// while runs with a longer lifetime.
pub const ACCESS_TOKEN_SECS: u64 = 3;
/// How long a condition may take to come true (page loads, the bridge's
/// refresh and reload).
pub const WAIT: Duration = Duration::from_secs(10);
/// How long to watch for something that must *not* happen (another
/// refresh, a navigation).
pub const SETTLE: Duration = Duration::from_millis(500);
/// A whole scenario's budget; past it the scenario fails (with a capture).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

/// Browsers running at once, across the whole test binary (2 cores).
static BROWSER_SLOTS: Semaphore = Semaphore::const_new(2);

/// The example app a test runs against.
#[derive(Clone, Copy, Debug)]
pub enum Framework {
    /// `axum-ssr`
    Axum,
    /// `actix-ssr`
    Actix,
    /// `rocket-ssr`
    Rocket,
}

impl Framework {
    fn binary(self) -> &'static str {
        match self {
            Framework::Axum => env!("CARGO_BIN_EXE_e2e-axum-ssr"),
            Framework::Actix => env!("CARGO_BIN_EXE_e2e-actix-ssr"),
            Framework::Rocket => env!("CARGO_BIN_EXE_e2e-rocket-ssr"),
        }
    }
}

/// The `target/` directory (the binaries live in `target/<profile>/`).
fn target_dir() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_e2e-axum-ssr"));
    binary
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
}

/// An example app running as a child process, killed on drop.
pub struct App {
    _child: Child,
    port: u16,
    origin: String,
    http: reqwest::Client,
}

impl App {
    async fn start(framework: Framework, args: &[&str], log: &Path) -> Result<App> {
        let log_file = std::fs::File::create(log)?;
        let mut command = Command::new(framework.binary());
        command.args(["--addr", "127.0.0.1:0"]);
        if !args.contains(&"--access-token-secs") {
            command.args(["--access-token-secs", &ACCESS_TOKEN_SECS.to_string()]);
        }
        let mut child = command
            .args(args)
            .env_remove("SSR_SESSION_ADDR")
            .env_remove("SSR_SESSION_ACCESS_TOKEN_SECS")
            .env_remove("SSR_SESSION_API_DOMAIN")
            .env_remove("SSR_SESSION_CSP_NONCE")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "ssr_session=debug,warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", framework.binary()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| format!("{framework:?} app printed no address within 30 s"))??
            .ok_or_else(|| format!("{framework:?} app exited before printing its address"))?;
        // Keep draining stdout, so that the app never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let origin = first.trim().trim_end_matches('/').to_owned();
        let port = origin
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .ok_or_else(|| format!("first stdout line is not an address: {first:?}"))?;
        let http = ssr_session::jwks::client_builder()
            .unwrap()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(App {
            _child: child,
            port,
            origin,
            http,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The port the app listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `path` on the app's origin.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// An HTTP client for the test itself (no redirects followed).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// How many refresh calls the dev issuer has answered so far.
    pub async fn refresh_calls(&self) -> Result<u64> {
        self.counter("/auth/dev/stats", "refreshCalls").await
    }

    /// How many JWKS requests the dev issuer has answered so far (all the app's).
    pub async fn jwks_requests(&self) -> Result<u64> {
        self.counter("/auth/dev/stats", "jwksRequests").await
    }

    /// How many times the settings form reached its handler (`/dev/form-posts`).
    pub async fn form_posts(&self) -> Result<u64> {
        self.counter("/dev/form-posts", "formPosts").await
    }

    /// The number `name` of the JSON at `path`.
    async fn counter(&self, path: &str, name: &str) -> Result<u64> {
        let answer: Value = self
            .http
            .get(self.url(path))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        answer[name]
            .as_u64()
            .ok_or_else(|| format!("no {name} in {path}: {answer}").into())
    }

    /// `POST /auth/dev/<control>` (e.g. `refresh-mode?mode=expired`).
    pub async fn control(&self, control: &str) -> Result<Value> {
        let response = self
            .http
            .post(self.url(&format!("/auth/dev/{control}")))
            .send()
            .await?
            .error_for_status()?;
        Ok(response.json().await?)
    }
}

/// What a scenario gets: a way to start apps and browsers. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    inner: Arc<CtxInner>,
}

struct CtxInner {
    test: &'static str,
    framework: Framework,
    tools: Tools,
    driver_url: String,
    /// Every browser opened, in order, for the capture on failure and the
    /// final close.
    browsers: Mutex<Vec<(Client, Profile)>>,
    apps_started: AtomicU32,
}

impl Ctx {
    /// Starts the test's example app with extra arguments (e.g. `--csp-nonce`;
    /// `--access-token-secs` replaces the default 3 s).
    pub async fn start_app(&self, args: &[&str]) -> Result<App> {
        let dir = target_dir().join("browser-logs");
        std::fs::create_dir_all(&dir)?;
        let n = self.inner.apps_started.fetch_add(1, Ordering::Relaxed);
        let suffix = if n == 0 {
            String::new()
        } else {
            format!(".{n}")
        };
        let log = dir.join(format!("{}{suffix}.log", self.inner.test));
        App::start(self.inner.framework, args, &log).await
    }

    /// Opens a headless Chromium with a fresh profile.
    pub async fn open_browser(&self, options: BrowserOptions) -> Result<Client> {
        let (client, profile) =
            browser::open_browser(&self.inner.tools, &self.inner.driver_url, &options).await?;
        self.browsers().push((client.clone(), profile));
        Ok(client)
    }

    fn browsers(&self) -> std::sync::MutexGuard<'_, Vec<(Client, Profile)>> {
        self.inner
            .browsers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Saves a screenshot and the page source of each browser under
    /// `target/browser-failures/`; returns what was saved.
    async fn capture(&self) -> Vec<String> {
        let dir = target_dir().join("browser-failures");
        if let Err(error) = std::fs::create_dir_all(&dir) {
            return vec![format!("cannot create {}: {error}", dir.display())];
        }
        let clients: Vec<Client> = self.browsers().iter().map(|(c, _)| c.clone()).collect();
        let mut saved = Vec::new();
        for (index, client) in clients.iter().enumerate() {
            let stem = match index {
                0 => self.inner.test.to_owned(),
                n => format!("{}.browser{}", self.inner.test, n + 1),
            };
            let url = client
                .current_url()
                .await
                .map_or_else(|e| format!("(no url: {e})"), |url| url.to_string());
            saved.push(format!("browser {} was at {url}", index + 1));
            let png = dir.join(format!("{stem}.png"));
            match client.screenshot().await {
                Ok(bytes) => match std::fs::write(&png, bytes) {
                    Ok(()) => saved.push(png.display().to_string()),
                    Err(e) => saved.push(format!("writing {}: {e}", png.display())),
                },
                Err(e) => saved.push(format!("no screenshot: {e}")),
            }
            let html = dir.join(format!("{stem}.html"));
            match client.source().await {
                Ok(source) => match std::fs::write(&html, source) {
                    Ok(()) => saved.push(html.display().to_string()),
                    Err(e) => saved.push(format!("writing {}: {e}", html.display())),
                },
                Err(e) => saved.push(format!("no page source: {e}")),
            }
        }
        saved
    }

    async fn close_browsers(&self) {
        let browsers: Vec<(Client, Profile)> = std::mem::take(&mut *self.browsers());
        for (client, profile) in browsers {
            let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
            drop(profile);
        }
    }
}

/// Runs one scenario against one framework: skips (or fails under CI) when
/// the browser is missing, limits how many browsers run at once, and on any
/// failure or panic first saves what the browsers show, then fails.
pub async fn run<F, Fut>(test: &'static str, framework: Framework, scenario: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = Result> + Send + 'static,
{
    let Some(tools) = Tools::or_skip(test) else {
        return;
    };
    let _slot = BROWSER_SLOTS
        .acquire()
        .await
        .expect("the semaphore is never closed");
    remove_old_captures(test);
    let started = Instant::now();
    let driver = match Driver::start(&tools).await {
        Ok(driver) => driver,
        Err(error) => panic!("{test}: {error}"),
    };
    let ctx = Ctx {
        inner: Arc::new(CtxInner {
            test,
            framework,
            tools,
            driver_url: driver.url().to_owned(),
            browsers: Mutex::new(Vec::new()),
            apps_started: AtomicU32::new(0),
        }),
    };
    // A task of its own, so that a panic (an assert) is caught here and the
    // browsers can still be captured.
    let task = tokio::spawn(tokio::time::timeout(
        SCENARIO_TIMEOUT,
        scenario(ctx.clone()),
    ));
    let failure = match task.await {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(error))) => Some(error.to_string()),
        Ok(Err(_elapsed)) => Some(format!("timed out after {SCENARIO_TIMEOUT:?}")),
        Err(join) => Some(match join.try_into_panic() {
            Ok(panic) => panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panic".to_owned()),
            Err(join) => join.to_string(),
        }),
    };
    let saved = match &failure {
        Some(_) => ctx.capture().await,
        None => Vec::new(),
    };
    ctx.close_browsers().await;
    drop(driver);
    eprintln!("{test}: {:.1?}", started.elapsed());
    if let Some(failure) = failure {
        let log = target_dir()
            .join("browser-logs")
            .join(format!("{test}.log"));
        panic!(
            "{test} failed: {failure}\nsaved:\n  {}\napp log: {}",
            saved.join("\n  "),
            log.display()
        );
    }
}

/// Removes what an earlier failed run of `test` saved, so that whatever is
/// in `target/browser-failures/` belongs to the last run.
fn remove_old_captures(test: &str) {
    let dir = target_dir().join("browser-failures");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let prefix = format!("{test}.");
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Waits up to [`WAIT`] until the browser is at `expected` (path and
/// query) and shows `#user-id` with `user`.
pub async fn wait_for_user(browser: &Client, user: &str, expected: &str) -> Result {
    browser::wait_for_user(browser, user, expected, WAIT).await
}

/// Waits until the browser is on the login page whose redirect-back
/// parameter is `redirect`, and checks that the page's form carries it.
pub async fn wait_for_login(browser: &Client, redirect: &str) -> Result {
    let what = format!("the login page with redirectToPath={redirect:?}");
    eventually(&what, WAIT, || async {
        let url = browser.current_url().await?;
        let param = url
            .query_pairs()
            .find(|(name, _)| name == "redirectToPath")
            .map(|(_, value)| value.into_owned());
        Ok((url.path() == "/auth" && param.as_deref() == Some(redirect)).then_some(()))
    })
    .await?;
    let form_target = browser
        .find(Locator::Css("input[name=redirectTo]"))
        .await?
        .attr("value")
        .await?;
    if form_target.as_deref() != Some(redirect) {
        return Err(format!("login form goes back to {form_target:?}, not {redirect:?}").into());
    }
    Ok(())
}

/// Signs in as `alice` from the home page's link and waits for the dashboard.
pub async fn sign_in(browser: &Client, origin: &str) -> Result {
    browser::sign_in(browser, origin, WAIT).await
}

/// An `sAccessToken` cookie the browser holds.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccessCookie {
    /// The cookie's domain, without a leading dot (`app.ssr.test` for the
    /// host cookie, `ssr.test` for the parent-domain one).
    pub domain: String,
    /// The token's `exp`.
    pub exp: u64,
    /// The token.
    pub token: String,
}

impl std::fmt::Debug for AccessCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token itself is long and says nothing more.
        f.debug_struct("AccessCookie")
            .field("domain", &self.domain)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// The `sAccessToken` cookies the browser holds, sorted by domain.
pub async fn access_token_cookies(browser: &Client) -> Result<Vec<AccessCookie>> {
    let mut cookies = Vec::new();
    for cookie in browser.get_all_cookies().await? {
        if cookie.name() != "sAccessToken" {
            continue;
        }
        let domain = cookie.domain().unwrap_or_default();
        cookies.push(AccessCookie {
            domain: domain.trim_start_matches('.').to_owned(),
            exp: token_exp(cookie.value())?,
            token: cookie.value().to_owned(),
        });
    }
    cookies.sort();
    Ok(cookies)
}

/// The `exp` claim of an access token (decoded, not verified).
pub fn token_exp(token: &str) -> Result<u64> {
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    claims["exp"]
        .as_u64()
        .ok_or_else(|| format!("no exp in {claims}").into())
}

/// The `kid` of an access token's header (decoded, not verified).
pub fn token_kid(token: &str) -> Result<String> {
    let header = token.split('.').next().ok_or("not a JWT")?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header)?)?;
    header["kid"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no kid in {header}").into())
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Sleeps until the access token `token` has expired (its `exp` plus a
/// margin: the verifier's leeway is 0).
pub async fn wait_past_expiry(token: &str) -> Result {
    let exp = token_exp(token)? as f64;
    let wait = exp + 0.3 - now_secs();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
    Ok(())
}

/// Sleeps until the browser's (only) `sAccessToken` has expired; returns it.
pub async fn wait_past_browser_token_expiry(browser: &Client) -> Result<String> {
    let token = access_token(browser).await?;
    wait_past_expiry(&token).await?;
    Ok(token)
}
