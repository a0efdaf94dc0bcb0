//! Headless Chromium through chromedriver, for the examples' browser tests
//! (feature `browser`): finding the two programs, starting the driver,
//! opening a browser with the project's flags, and the polling every
//! scenario uses. Each test suite keeps its own apps and scenarios.

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// Any failure of a scenario step.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// A scenario step's result.
pub type Result<T = ()> = std::result::Result<T, Error>;

/// Chromium and chromedriver, found on this machine.
#[derive(Clone, Debug)]
pub struct Tools {
    /// The browser binary.
    pub chromium: PathBuf,
    /// The WebDriver server for it.
    pub chromedriver: PathBuf,
}

impl Tools {
    /// `$SSR_SESSION_CHROMIUM` / `$SSR_SESSION_CHROMEDRIVER`, else the
    /// programs on `PATH`; the error names what is missing.
    pub fn find() -> std::result::Result<Tools, String> {
        let chromium = find_tool("SSR_SESSION_CHROMIUM", &["chromium", "chromium-browser"]);
        let chromedriver = find_tool("SSR_SESSION_CHROMEDRIVER", &["chromedriver"]);
        match (chromium, chromedriver) {
            (Some(chromium), Some(chromedriver)) => Ok(Tools {
                chromium,
                chromedriver,
            }),
            (chromium, chromedriver) => {
                let missing: Vec<&str> = [
                    chromium.is_none().then_some("chromium"),
                    chromedriver.is_none().then_some("chromedriver"),
                ]
                .into_iter()
                .flatten()
                .collect();
                Err(format!("{} not found", missing.join(" and ")))
            }
        }
    }

    /// The tools, or `None` (after saying so) when they are missing outside
    /// CI. Under `CI=true` a missing browser fails `test`.
    pub fn or_skip(test: &str) -> Option<Tools> {
        match Tools::find() {
            Ok(tools) => Some(tools),
            Err(missing) if std::env::var("CI").is_ok_and(|ci| ci == "true") => panic!(
                "{test}: {missing}; with CI=true the browser tests must run \
                 (scripts/install-test-deps.sh installs chromium and chromium-driver)"
            ),
            Err(missing) => {
                eprintln!(
                    "SKIPPED {test}: {missing}. Run scripts/install-test-deps.sh to install \
                     chromium and chromium-driver (with CI=true this is a failure, not a skip)."
                );
                None
            }
        }
    }
}

/// `variable`'s path, else the first of `names` on `PATH`.
fn find_tool(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(PathBuf::from(path)).filter(|path| path.is_file());
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A chromedriver process on a loopback port, killed on drop.
#[derive(Debug)]
pub struct Driver {
    _child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver and waits until it reports ready.
    pub async fn start(tools: &Tools) -> Result<Driver> {
        let mut last_error = String::new();
        // A free port can be taken between the check and chromedriver's bind: retry.
        for _ in 0..3 {
            let port = free_port()?;
            let mut child = Command::new(&tools.chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("starting {}: {e}", tools.chromedriver.display()))?;
            let url = format!("http://127.0.0.1:{port}");
            let status = format!("{url}/status");
            let http = ssr_session::jwks::client_builder()
                .unwrap()
                .build()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(exit)) = child.try_wait() {
                    last_error = format!("chromedriver exited with {exit}");
                    break;
                }
                let ready = match http.get(&status).send().await {
                    Ok(response) => response
                        .json::<Value>()
                        .await
                        .is_ok_and(|body| body["value"]["ready"] == true),
                    Err(error) => {
                        last_error = error.to_string();
                        false
                    }
                };
                if ready {
                    return Ok(Driver { _child: child, url });
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Err(format!("chromedriver did not become ready: {last_error}").into())
    }

    /// The driver's WebDriver address.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// How to start a browser.
#[derive(Clone, Debug)]
pub struct BrowserOptions {
    /// JavaScript on (the default) or off.
    pub javascript: bool,
    /// Chromium's `--host-resolver-rules`, e.g. `MAP *.ssr.test 127.0.0.1`.
    pub host_resolver_rules: Option<String>,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            javascript: true,
            host_resolver_rules: None,
        }
    }
}

/// A fresh Chromium profile directory, removed on drop.
#[derive(Debug)]
pub struct Profile(PathBuf);

impl Profile {
    fn new() -> std::io::Result<Profile> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ssr-session-browser-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Profile(dir))
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens a headless Chromium with a fresh profile through the chromedriver
/// at `driver_url` ([`Driver::url`]). The flags keep it off every network
/// but the loopback apps. Keep the profile until the browser is closed.
pub async fn open_browser(
    tools: &Tools,
    driver_url: &str,
    options: &BrowserOptions,
) -> Result<(Client, Profile)> {
    let profile = Profile::new()?;
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-extensions".to_owned(),
        "--disable-default-apps".to_owned(),
        "--disable-domain-reliability".to_owned(),
        "--disable-client-side-phishing-detection".to_owned(),
        "--password-store=basic".to_owned(),
        "--window-size=1024,768".to_owned(),
        format!("--user-data-dir={}", profile.0.display()),
    ];
    if let Some(rules) = &options.host_resolver_rules {
        args.push(format!("--host-resolver-rules={rules}"));
    }
    let mut prefs = json!({});
    if !options.javascript {
        args.push("--blink-settings=scriptEnabled=false".to_owned());
        prefs = json!({ "profile.managed_default_content_settings.javascript": 2 });
    }
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": tools.chromium, "args": args, "prefs": prefs },
        "timeouts": { "pageLoad": 20_000, "script": 20_000, "implicit": 0 },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal")
    };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(driver_url)
        .await
        .map_err(|e| format!("starting Chromium through chromedriver: {e}"))?;
    Ok((client, profile))
}

/// Polls `check` every 100 ms until it gives `Some`, for at most `timeout`.
/// Errors count as "not yet" (a page may be navigating), and the last one is
/// reported on timeout.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = String::new();
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => last_error = format!(" (last error: {error})"),
        }
        if Instant::now() >= deadline {
            return Err(
                format!("timed out after {timeout:?} waiting for {what}{last_error}").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The current URL's path and query, e.g. `/dashboard?x=1`.
pub async fn path_and_query(browser: &Client) -> Result<String> {
    let url = browser.current_url().await?;
    Ok(match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    })
}

/// The text of the element matching `css`, or `None` if there is none.
pub async fn text_of(browser: &Client, css: &str) -> Result<Option<String>> {
    match browser.find(Locator::Css(css)).await {
        Ok(element) => Ok(Some(element.text().await?)),
        Err(error) if error.is_no_such_element() => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The `sAccessToken` cookie's value the browser holds for its current page.
pub async fn access_token(browser: &Client) -> Result<String> {
    Ok(browser
        .get_named_cookie("sAccessToken")
        .await?
        .value()
        .to_owned())
}

/// Waits up to `timeout` until the browser is at `expected` (path and
/// query) and shows `#user-id` with `user`: every example site's page for
/// a signed-in user.
pub async fn wait_for_user(
    browser: &Client,
    user: &str,
    expected: &str,
    timeout: Duration,
) -> Result {
    let what = format!("{expected} showing user {user:?}");
    eventually(&what, timeout, || async {
        let here = path_and_query(browser).await?;
        let shown = text_of(browser, "#user-id").await?;
        Ok((here == expected && shown.as_deref() == Some(user)).then_some(()))
    })
    .await
}

/// Signs in as `alice` from the home page's `#signin` link and waits up to
/// `timeout` for the dashboard.
pub async fn sign_in(browser: &Client, origin: &str, timeout: Duration) -> Result {
    browser.goto(&format!("{origin}/")).await?;
    browser.find(Locator::Css("#signin")).await?.click().await?;
    wait_for_user(browser, "alice", "/dashboard", timeout).await
}
