//! The `leptos-ssr` example in a real browser: headless Chromium driven
//! through chromedriver (WebDriver, with `fantoccini`), against the app
//! started as a process with the embedded dev issuer and a 3 s access token.
//!
//! 1. sign in → `/dashboard` shows the user id, `/optional` greets them;
//! 2. the access token expires → the layer's refresh bridge refreshes once,
//!    with no user action, and the Leptos page comes back at the same URL;
//! 3. every refresh token is revoked → the login page, with the
//!    redirect-back parameter;
//! 4. a user without the `admin` role → `/admin` is refused with the 403
//!    page; an admin gets it.
//!
//! They need Debian's `chromium` and `chromium-driver` (found on `PATH`, or
//! at `$SSR_SESSION_CHROMIUM` / `$SSR_SESSION_CHROMEDRIVER`). When they are
//! missing, each test prints `SKIPPED …` and passes, except under
//! `CI=true`, where a missing browser fails the test.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T = ()> = std::result::Result<T, Error>;

/// The app's access-token lifetime: short, so that scenarios wait past it.
const ACCESS_TOKEN_SECS: u64 = 3;
/// How long a condition may take to come true (page loads, the bridge).
const WAIT: Duration = Duration::from_secs(15);
/// How long to watch for something that must not happen (another refresh).
const SETTLE: Duration = Duration::from_millis(700);
/// A whole scenario's budget.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Chromium and chromedriver, or `None` (after saying so) outside CI.
fn tools_or_skip(test: &str) -> Option<(PathBuf, PathBuf)> {
    let find = |variable: &str, name: &str| -> Option<PathBuf> {
        if let Some(path) = std::env::var_os(variable) {
            return Some(PathBuf::from(path)).filter(|path| path.is_file());
        }
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    };
    let chromium = find("SSR_SESSION_CHROMIUM", "chromium");
    let driver = find("SSR_SESSION_CHROMEDRIVER", "chromedriver");
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!(
                "{test}: chromium or chromedriver not found; with CI=true the browser tests must run"
            )
        }
        _ => {
            eprintln!("SKIPPED {test}: chromium or chromedriver not found");
            None
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until `url` answers at all.
async fn wait_until_up(url: &str) -> Result {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if http.get(url).send().await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{url} did not answer within 20 s").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The app as a process, killed on drop.
struct App {
    _child: Child,
    origin: String,
    http: reqwest::Client,
}

impl App {
    async fn start(access_token_secs: u64) -> Result<App> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leptos-ssr"))
            .args(["--addr", "127.0.0.1:0", "--access-token-secs"])
            .arg(access_token_secs.to_string())
            .env_remove("SSR_SESSION_API_DOMAIN")
            .env_remove("SSR_SESSION_CSP_NONCE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| "the app printed no address within 30 s")??
            .ok_or("the app exited before printing its address")?;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(App {
            _child: child,
            origin: first.trim().to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// How many refresh calls the dev issuer has answered.
    async fn refresh_calls(&self) -> Result<u64> {
        let stats: Value = self
            .http
            .get(self.url("/auth/dev/stats"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        stats["refreshCalls"]
            .as_u64()
            .ok_or_else(|| format!("bad stats: {stats}").into())
    }
}

/// chromedriver and one headless Chromium with a fresh profile; both end
/// on drop (the session is closed by [`Browser::close`]).
struct Browser {
    client: Client,
    _driver: Child,
    profile: PathBuf,
}

impl Browser {
    async fn open(chromium: &PathBuf, chromedriver: &PathBuf) -> Result<Browser> {
        let port = free_port()?;
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let driver_url = format!("http://127.0.0.1:{port}");
        wait_until_up(&format!("{driver_url}/status")).await?;
        let profile = std::env::temp_dir().join(format!(
            "ssr-session-leptos-browser-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&profile)?;
        // The flags the project's browser tests use: no network beyond the
        // loopback app, a throwaway profile.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--password-store=basic",
            "--window-size=1024,768",
        ]
        .map(str::to_owned)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let Value::Object(capabilities) = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            "timeouts": { "pageLoad": 20_000, "script": 20_000, "implicit": 0 },
        }) else {
            unreachable!("an object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .map_err(|e| format!("starting Chromium through chromedriver: {e}"))?;
        Ok(Browser {
            client,
            _driver: driver,
            profile,
        })
    }

    async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.close()).await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Runs a scenario with the app and a browser; skips without a browser
/// (outside CI), fails on an error, a panic or the timeout.
async fn run<F, Fut>(test: &str, access_token_secs: u64, scenario: F)
where
    F: FnOnce(App, Client) -> Fut,
    Fut: Future<Output = Result> + Send + 'static,
{
    let Some((chromium, chromedriver)) = tools_or_skip(test) else {
        return;
    };
    let (app, browser) = tokio::try_join!(
        App::start(access_token_secs),
        Browser::open(&chromium, &chromedriver)
    )
    .unwrap_or_else(|e| panic!("{test}: {e}"));
    let task = tokio::spawn(tokio::time::timeout(
        SCENARIO_TIMEOUT,
        scenario(app, browser.client.clone()),
    ));
    let outcome = task.await;
    let page = browser.client.source().await.unwrap_or_default();
    browser.close().await;
    match outcome {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => panic!("{test}: {error}\nlast page:\n{page}"),
        Ok(Err(_)) => panic!("{test}: timed out after {SCENARIO_TIMEOUT:?}\nlast page:\n{page}"),
        Err(join) => panic!("{test}: {join}\nlast page:\n{page}"),
    }
}

/// Polls `check` every 100 ms until it gives `Some`, for at most [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + WAIT;
    let mut last_error = String::new();
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => last_error = format!(" (last error: {error})"),
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {WAIT:?} waiting for {what}{last_error}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The current URL's path and query.
async fn path_and_query(browser: &Client) -> Result<String> {
    let url = browser.current_url().await?;
    Ok(match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    })
}

/// The text of the element matching `css`, or `None`.
async fn text_of(browser: &Client, css: &str) -> Result<Option<String>> {
    match browser.find(Locator::Css(css)).await {
        Ok(element) => Ok(Some(element.text().await?)),
        Err(error) if error.is_no_such_element() => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Waits until the browser is at `expected` and shows `#user-id` = `user`.
async fn wait_for_user(browser: &Client, user: &str, expected: &str) -> Result {
    eventually(&format!("{expected} showing {user:?}"), || async {
        let here = path_and_query(browser).await?;
        let shown = text_of(browser, "#user-id").await?;
        Ok((here == expected && shown.as_deref() == Some(user)).then_some(()))
    })
    .await
}

/// Signs in as alice from the home page's link.
async fn sign_in(browser: &Client, app: &App) -> Result {
    browser.goto(&app.url("/")).await?;
    browser.find(Locator::Css("#signin")).await?.click().await?;
    wait_for_user(browser, "alice", "/dashboard").await
}

/// Sleeps until the browser's access token has certainly expired (tokens
/// carry whole seconds: a fresh one lives at most `ACCESS_TOKEN_SECS`).
async fn wait_past_expiry() {
    tokio::time::sleep(Duration::from_millis(ACCESS_TOKEN_SECS * 1000 + 1500)).await;
}

/// The status of a navigation-like `fetch` of `path` with the browser's cookies.
async fn status_in_browser(browser: &Client, path: &str) -> Result<u64> {
    let answer = browser
        .execute_async(
            "const [path, done] = arguments;
             fetch(path, { headers: { accept: 'text/html' }, credentials: 'include' })
               .then(r => done(r.status), e => done(String(e)));",
            vec![json!(path)],
        )
        .await?;
    answer
        .as_u64()
        .ok_or_else(|| format!("fetch {path}: {answer}").into())
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_shows_the_user_id() {
    run("leptos_sign_in", 60, |app, browser| async move {
        browser.goto(&app.url("/optional")).await?;
        assert_eq!(
            text_of(&browser, "#anonymous").await?.as_deref(),
            Some("anonymous")
        );
        sign_in(&browser, &app).await?;
        assert_eq!(text_of(&browser, "#roles").await?.as_deref(), Some("-"));
        browser.goto(&app.url("/optional")).await?;
        wait_for_user(&browser, "alice", "/optional").await?;
        assert_eq!(app.refresh_calls().await?, 0);
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_token_is_refreshed_once_and_the_page_comes_back() {
    run(
        "leptos_refresh",
        ACCESS_TOKEN_SECS,
        |app, browser| async move {
            sign_in(&browser, &app).await?;
            let old = browser.get_named_cookie("sAccessToken").await?;
            wait_past_expiry().await;
            let before = app.refresh_calls().await?;

            browser.goto(&app.url("/dashboard?tab=2")).await?;
            wait_for_user(&browser, "alice", "/dashboard?tab=2").await?;
            tokio::time::sleep(SETTLE).await;
            assert_eq!(app.refresh_calls().await? - before, 1, "refresh calls");
            let new = browser.get_named_cookie("sAccessToken").await?;
            assert_ne!(old.value(), new.value(), "the cookie was renewed");
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_refresh_token_leads_to_login_and_back() {
    run(
        "leptos_revoked",
        ACCESS_TOKEN_SECS,
        |app, browser| async move {
            sign_in(&browser, &app).await?;
            let revoked = app
                .http
                .post(app.url("/auth/dev/revoke-all"))
                .send()
                .await?;
            assert_eq!(revoked.status(), 200);
            wait_past_expiry().await;
            let before = app.refresh_calls().await?;

            browser.goto(&app.url("/dashboard?x=1")).await?;
            eventually("the login page with the way back", || async {
                let url = browser.current_url().await?;
                let back = url
                    .query_pairs()
                    .find(|(name, _)| name == "redirectToPath")
                    .map(|(_, value)| value.into_owned());
                Ok(
                    (url.path() == "/auth" && back.as_deref() == Some("/dashboard?x=1"))
                        .then_some(()),
                )
            })
            .await?;
            tokio::time::sleep(SETTLE).await;
            assert_eq!(app.refresh_calls().await? - before, 1, "refresh calls");

            // Signing in on the login page leads back where the user was.
            browser
                .find(Locator::Css("button[type=submit]"))
                .await?
                .click()
                .await?;
            wait_for_user(&browser, "dev-user", "/dashboard?x=1").await?;
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_page_needs_the_admin_role() {
    run("leptos_admin", 60, |app, browser| async move {
        sign_in(&browser, &app).await?;
        browser.goto(&app.url("/admin")).await?;
        assert_eq!(path_and_query(&browser).await?, "/admin");
        assert!(
            text_of(&browser, "#ssr-session-refused").await?.is_some(),
            "the 403 page"
        );
        assert_eq!(text_of(&browser, "#user-id").await?, None);
        assert_eq!(status_in_browser(&browser, "/admin").await?, 403);

        // An admin (the home page's second link) gets the page.
        browser.goto(&app.url("/")).await?;
        browser
            .find(Locator::Css("#signin-admin"))
            .await?
            .click()
            .await?;
        wait_for_user(&browser, "root", "/admin").await?;
        assert_eq!(text_of(&browser, "#roles").await?.as_deref(), Some("admin"));
        assert_eq!(status_in_browser(&browser, "/admin").await?, 200);
        Ok(())
    })
    .await;
}
