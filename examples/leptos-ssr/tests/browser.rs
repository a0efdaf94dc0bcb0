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
//!    page; an admin gets it;
//! 5. a page of another origin (another loopback port: same site) calls
//!    the server functions with a form it submits itself and a `no-cors`
//!    fetch → the 403 page, nothing saved; the site's own form saves once.
//!
//! They need Debian's `chromium` and `chromium-driver` (found on `PATH`, or
//! at `$SSR_SESSION_CHROMIUM` / `$SSR_SESSION_CHROMEDRIVER`). When they are
//! missing, each test prints `SKIPPED …` and passes, except under
//! `CI=true`, where a missing browser fails the test.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use ssr_session_example_support::attacker::{Attacker, wait_for_forged_page};
use ssr_session_example_support::browser::{
    self, BrowserOptions, Driver, Profile, Result, Tools, access_token, eventually, path_and_query,
    text_of,
};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The app's access-token lifetime: short, so that scenarios wait past it.
const ACCESS_TOKEN_SECS: u64 = 3;
/// How long a condition may take to come true (page loads, the bridge).
const WAIT: Duration = Duration::from_secs(15);
/// How long to watch for something that must not happen (another refresh).
const SETTLE: Duration = Duration::from_millis(700);
/// A whole scenario's budget.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

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
            http: ssr_session::jwks::client_builder()
                .unwrap()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// How many refresh calls the dev issuer has answered.
    async fn refresh_calls(&self) -> Result<u64> {
        self.counter("/auth/dev/stats", "refreshCalls").await
    }

    /// How many saves reached the `save_theme` server function.
    async fn form_posts(&self) -> Result<u64> {
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
}

/// chromedriver and one headless Chromium with a fresh profile; both end
/// on drop (the session is closed by [`Browser::close`]).
struct Browser {
    client: Client,
    _driver: Driver,
    _profile: Profile,
}

impl Browser {
    async fn open(tools: &Tools) -> Result<Browser> {
        let driver = Driver::start(tools).await?;
        let (client, profile) =
            browser::open_browser(tools, driver.url(), &BrowserOptions::default()).await?;
        Ok(Browser {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.close()).await;
    }
}

/// Runs a scenario with the app and a browser; skips without a browser
/// (outside CI), fails on an error, a panic or the timeout.
async fn run<F, Fut>(test: &str, access_token_secs: u64, scenario: F)
where
    F: FnOnce(App, Client) -> Fut,
    Fut: Future<Output = Result> + Send + 'static,
{
    let Some(tools) = Tools::or_skip(test) else {
        return;
    };
    let (app, browser) = tokio::try_join!(App::start(access_token_secs), Browser::open(&tools))
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

/// Waits up to [`WAIT`] until the browser is at `expected` and shows
/// `#user-id` = `user`.
async fn wait_for_user(browser: &Client, user: &str, expected: &str) -> Result {
    browser::wait_for_user(browser, user, expected, WAIT).await
}

/// Signs in as alice from the home page's link.
async fn sign_in(browser: &Client, app: &App) -> Result {
    browser::sign_in(browser, &app.origin, WAIT).await
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
            let old = access_token(&browser).await?;
            wait_past_expiry().await;
            let before = app.refresh_calls().await?;

            browser.goto(&app.url("/dashboard?tab=2")).await?;
            wait_for_user(&browser, "alice", "/dashboard?tab=2").await?;
            tokio::time::sleep(SETTLE).await;
            assert_eq!(app.refresh_calls().await? - before, 1, "refresh calls");
            let new = access_token(&browser).await?;
            assert_ne!(old, new, "the cookie was renewed");
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
            eventually("the login page with the way back", WAIT, || async {
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

/// Issue 19: signed in as alice, the browser opens pages of another origin
/// (a server of the test's on another port of 127.0.0.1: the same site, so
/// the cookie goes along; Chromium sends `Sec-Fetch-Site: same-site`). A
/// `no-cors` fetch and a self-submitting form POST `theme=evil` to the
/// `save_theme` server function, and a form POSTs `whoami` (which would
/// show alice's session): each is refused before the function runs, the
/// navigations with the 403 page. Read back as alice, nothing was saved;
/// the settings page's own form then saves exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn cross_origin_posts_never_reach_server_functions() {
    run("leptos_cross_origin", 60, |app, browser| async move {
        let attacker = Attacker::start().await?;
        sign_in(&browser, &app).await?;
        let save = app.url("/api/session/save_theme");
        let evil = [("theme", "evil")];

        let sent = attacker
            .send_no_cors_fetch(&browser, &save, &evil, WAIT)
            .await?;
        assert_eq!(sent, "opaque", "the forged fetch was sent and answered");
        assert_eq!(
            app.form_posts().await?,
            0,
            "the forged fetch was not handled"
        );
        attacker.submit_form(&browser, &save, &evil, WAIT).await?;
        wait_for_forged_page(&browser, "/api/session/save_theme", WAIT).await?;
        let whoami = app.url("/api/session/whoami");
        attacker.submit_form(&browser, &whoami, &[], WAIT).await?;
        wait_for_forged_page(&browser, "/api/session/whoami", WAIT).await?;
        assert_eq!(app.form_posts().await?, 0, "no forged call was handled");

        browser.goto(&app.url("/account/settings")).await?;
        wait_for_user(&browser, "alice", "/account/settings").await?;
        assert_eq!(
            text_of(&browser, "#theme").await?.as_deref(),
            Some("default"),
            "nothing was saved"
        );

        // The page's own form: Leptos runs `save_theme` and redirects back
        // (to the page's URL with an empty query: `/account/settings?`).
        browser.find(Locator::Css("#save")).await?.click().await?;
        eventually("the saved theme", WAIT, || async {
            let here = browser.current_url().await?;
            let theme = text_of(&browser, "#theme").await?;
            if here.path() == "/account/settings" && theme.as_deref() == Some("dark") {
                Ok(Some(()))
            } else {
                Err(format!("at {here}, theme {theme:?}").into())
            }
        })
        .await?;
        assert_eq!(app.form_posts().await?, 1, "saved exactly once");
        assert_eq!(app.refresh_calls().await?, 0);
        Ok(())
    })
    .await;
}
