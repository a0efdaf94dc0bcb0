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
//!
//! The pages hydrate (the client bundle is served), and issue 24's flows run
//! from the hydrated page, with `ssr-session-leptos-client`'s
//! `SessionClient`:
//!
//! 6. a client-only interaction works, a call on a valid session is one
//!    request, client-side navigation keeps the page;
//! 7. the access token expires while the page is open → a button's server
//!    function shows its result after exactly one refresh call, no reload;
//!    three concurrent calls → one refresh;
//! 8. the refresh token is lost → a button's call ends on the login page with
//!    the way back;
//! 9. a server function behind the `admin` role → the page renders the claim
//!    error (`st-role`);
//! 10. the same call through Leptos' own client fails with no refresh: what
//!     the page meets when the client's refresh handling is removed;
//! 11. with supertokens-website on the page: the same flows, one refresh.
//!
//! They need Debian's `chromium` and `chromium-driver` (found on `PATH`, or
//! at `$SSR_SESSION_CHROMIUM` / `$SSR_SESSION_CHROMEDRIVER`). When they are
//! missing, each test prints `SKIPPED …` and passes, except under
//! `CI=true`, where a missing browser fails the test. They also need the
//! client bundle and the SDK's bundle that `scripts/build-leptos-bundle.sh`
//! builds (`scripts/test.sh` runs it): without them a test fails and names
//! the script.

use std::path::PathBuf;
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
            .env("LEPTOS_SITE_ROOT", site_root())
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

/// Where `scripts/build-leptos-bundle.sh` leaves the bundles: `site/` in
/// the target directory (the parent of this test's `CARGO_TARGET_TMPDIR`).
fn site_root() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .map_or(tmp.clone(), |target| target.join("site"))
}

/// The file `name` under [`site_root`], or an error that names the script.
fn built(name: &str) -> Result<PathBuf> {
    let path = site_root().join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: run scripts/build-leptos-bundle.sh (scripts/test.sh does) \
             to build the client bundle and the supertokens-website bundle",
            path.display()
        )
        .into())
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
    if let Err(missing) = built("pkg/ssr_session_example_leptos.js") {
        panic!("{test}: {missing}");
    }
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

// Issue 24: the hydrated page and its server-function client.

/// Waits until the app has hydrated the page (its effect ran in the browser).
async fn wait_for_hydration(browser: &Client) -> Result {
    eventually("the page to hydrate", WAIT, || async {
        let state = browser
            .execute(
                "const marker = document.getElementById('hydration');
                 return marker ? marker.dataset.state : null;",
                vec![],
            )
            .await?;
        Ok((state == json!("hydrated")).then_some(()))
    })
    .await
}

/// Leaves a mark in the page's JavaScript state, which a reload would lose.
async fn mark_page(browser: &Client) -> Result {
    browser
        .execute("window.__notReloaded = true; return true;", vec![])
        .await?;
    Ok(())
}

/// Whether the page still carries [`mark_page`]'s mark (no reload since).
async fn page_is_marked(browser: &Client) -> Result<bool> {
    Ok(browser
        .execute("return window.__notReloaded === true;", vec![])
        .await?
        == json!(true))
}

async fn click(browser: &Client, css: &str) -> Result {
    browser.find(Locator::Css(css)).await?.click().await?;
    Ok(())
}

/// Waits until `css` shows some text, and gives it.
async fn wait_for_text(browser: &Client, css: &str) -> Result<String> {
    eventually(&format!("text in {css}"), WAIT, || async {
        Ok(text_of(browser, css).await?.filter(|text| !text.is_empty()))
    })
    .await
}

/// supertokens-website on the page (the bundle `scripts/build-leptos-bundle.sh`
/// makes, as the interop suite injects it), initialised for the dev issuer:
/// from now on its `fetch` refreshes on a 401 by itself.
async fn load_supertokens_website(browser: &Client) -> Result {
    let sdk = std::fs::read_to_string(built("supertokens-website.js")?)?;
    let loaded = browser
        .execute(
            &format!(
                "{sdk}\n;window.supertokensSession.init({{ apiDomain: location.origin, apiBasePath: '/auth' }});
                 return typeof window.__supertokensOriginalFetch === 'function';"
            ),
            vec![],
        )
        .await?;
    if loaded != json!(true) {
        return Err("supertokens-website did not take over fetch".into());
    }
    Ok(())
}

/// Which client the page runs with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frontend {
    /// The app's bundle alone: `SessionClient` refreshes.
    Bundle,
    /// The bundle and supertokens-website: the SDK refreshes.
    WithSupertokensWebsite,
}

/// Signs in as `user` (with `roles`) and opens `path` hydrated, marked, with
/// the frontend asked for. With the SDK, signing in goes through its `fetch`
/// (as an app using it does), so that it knows the session.
async fn open_hydrated(
    browser: &Client,
    app: &App,
    frontend: Frontend,
    path: &str,
    user: &str,
) -> Result {
    match frontend {
        Frontend::Bundle => sign_in(browser, app).await?,
        Frontend::WithSupertokensWebsite => {
            browser.goto(&app.url("/")).await?;
            load_supertokens_website(browser).await?;
            let status = browser
                .execute_async(
                    "const [done] = arguments;
                     fetch('/auth/dev/signin', {
                       method: 'POST',
                       headers: { 'content-type': 'application/json' },
                       body: JSON.stringify({ userId: 'alice' }),
                     }).then(r => done(r.status), e => done(String(e)));",
                    vec![],
                )
                .await?;
            if status != json!(200) {
                return Err(format!("sign-in through the SDK: {status}").into());
            }
        }
    }
    browser.goto(&app.url(path)).await?;
    wait_for_user(browser, user, path).await?;
    wait_for_hydration(browser).await?;
    if frontend == Frontend::WithSupertokensWebsite {
        load_supertokens_website(browser).await?;
    }
    mark_page(browser).await
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_hydrate_and_navigate_on_the_client() {
    run("leptos_hydrate", 60, |app, browser| async move {
        sign_in(&browser, &app).await?;
        wait_for_hydration(&browser).await?;
        mark_page(&browser).await?;
        click(&browser, "#counter").await?;
        click(&browser, "#counter").await?;
        assert_eq!(text_of(&browser, "#count").await?.as_deref(), Some("2"));

        // A call on a valid session: one request, the call's own.
        click(&browser, "#call-one").await?;
        assert_eq!(wait_for_text(&browser, "#one-result").await?, "alice");
        let requests = browser
            .execute(
                "return performance.getEntriesByType('resource')
                   .map(entry => new URL(entry.name).pathname)
                   .filter(path => path.startsWith('/api/') || path.startsWith('/auth/'));",
                vec![],
            )
            .await?;
        assert_eq!(requests, json!(["/api/session/whoami"]), "requests");

        // What the page tells the client, and the bundle as served.
        let home = app.http.get(app.url("/")).send().await?.text().await?;
        assert!(
            home.contains(
                r#"<meta name="ssr-session-refresh-url" content="/auth/session/refresh">"#
            ),
            "{home}"
        );
        let wasm = app
            .http
            .get(app.url("/pkg/ssr_session_example_leptos_bg.wasm"))
            .header("accept-encoding", "gzip")
            .send()
            .await?;
        assert_eq!(wasm.status(), 200);
        assert_eq!(
            wasm.headers().get("content-encoding").map(|v| v.as_bytes()),
            Some(&b"gzip"[..]),
            "the precompressed bundle"
        );

        // A client-side navigation: the optional page's data comes from its
        // server function, and the page is not loaded again.
        click(&browser, "nav a[href='/optional']").await?;
        wait_for_user(&browser, "alice", "/optional").await?;
        assert!(page_is_marked(&browser).await?, "no reload");
        assert_eq!(app.refresh_calls().await?, 0);
        Ok(())
    })
    .await;
}

/// The token expires while the page is open; one button, then three calls
/// at once: each time exactly one refresh, the results, no reload.
async fn expired_token_calls(frontend: Frontend, app: App, browser: Client) -> Result {
    open_hydrated(&browser, &app, frontend, "/dashboard", "alice").await?;
    wait_past_expiry().await;
    let before = app.refresh_calls().await?;
    click(&browser, "#call-one").await?;
    assert_eq!(wait_for_text(&browser, "#one-result").await?, "alice");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(app.refresh_calls().await? - before, 1, "refresh calls");
    assert_eq!(path_and_query(&browser).await?, "/dashboard");
    assert!(page_is_marked(&browser).await?, "no reload");

    wait_past_expiry().await;
    let before = app.refresh_calls().await?;
    click(&browser, "#call-three").await?;
    assert_eq!(
        wait_for_text(&browser, "#three-result").await?,
        "alice,alice,alice"
    );
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        app.refresh_calls().await? - before,
        1,
        "refresh calls for three concurrent calls"
    );
    assert!(page_is_marked(&browser).await?, "no reload");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn server_function_calls_refresh_once_and_retry() {
    run("leptos_call_refresh", ACCESS_TOKEN_SECS, |app, browser| {
        expired_token_calls(Frontend::Bundle, app, browser)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_supertokens_website_calls_refresh_once() {
    run(
        "leptos_sdk_call_refresh",
        ACCESS_TOKEN_SECS,
        |app, browser| expired_token_calls(Frontend::WithSupertokensWebsite, app, browser),
    )
    .await;
}

/// Every refresh token revoked while the page is open: a button's call
/// tries one refresh, then the login page with the way back.
async fn lost_refresh_token_call(frontend: Frontend, app: App, browser: Client) -> Result {
    open_hydrated(&browser, &app, frontend, "/dashboard?x=1", "alice").await?;
    let revoked = app
        .http
        .post(app.url("/auth/dev/revoke-all"))
        .send()
        .await?;
    assert_eq!(revoked.status(), 200);
    wait_past_expiry().await;
    let before = app.refresh_calls().await?;

    click(&browser, "#call-one").await?;
    eventually("the login page with the way back", WAIT, || async {
        let url = browser.current_url().await?;
        let back = url
            .query_pairs()
            .find(|(name, _)| name == "redirectToPath")
            .map(|(_, value)| value.into_owned());
        Ok((url.path() == "/auth" && back.as_deref() == Some("/dashboard?x=1")).then_some(()))
    })
    .await?;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(app.refresh_calls().await? - before, 1, "refresh calls");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn server_function_call_without_refresh_token_goes_to_login() {
    run("leptos_call_revoked", ACCESS_TOKEN_SECS, |app, browser| {
        lost_refresh_token_call(Frontend::Bundle, app, browser)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_supertokens_website_lost_refresh_token_goes_to_login() {
    run(
        "leptos_sdk_call_revoked",
        ACCESS_TOKEN_SECS,
        |app, browser| lost_refresh_token_call(Frontend::WithSupertokensWebsite, app, browser),
    )
    .await;
}

/// A server function behind the `admin` role, called by alice: the page
/// shows the SDK-format claim failure, with no refresh and no reload.
async fn claim_error_call(frontend: Frontend, app: App, browser: Client) -> Result {
    open_hydrated(&browser, &app, frontend, "/dashboard", "alice").await?;
    // (Signing in through supertokens-website makes the SDK refresh once on
    // its own: only what the call causes counts.)
    let before = app.refresh_calls().await?;
    click(&browser, "#call-admin").await?;
    let failure = wait_for_text(&browser, "#claim-error li[data-claim='st-role']").await?;
    assert!(failure.starts_with("st-role: "), "{failure}");
    assert_eq!(text_of(&browser, "#admin-result").await?, None);
    assert!(page_is_marked(&browser).await?, "no reload");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(app.refresh_calls().await? - before, 0, "no refresh");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn role_requirement_on_a_server_function_renders_the_claim_error() {
    run("leptos_call_claim", 60, |app, browser| {
        claim_error_call(Frontend::Bundle, app, browser)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_supertokens_website_the_claim_error_renders() {
    run("leptos_sdk_call_claim", 60, |app, browser| {
        claim_error_call(Frontend::WithSupertokensWebsite, app, browser)
    })
    .await;
}

/// The control: the same call through Leptos' own client (`whoami_plain`,
/// no `SessionClient`) after the token expired gets the layer's 401 as an
/// opaque error, and nothing refreshes. This is what the calls above would
/// meet if the client's refresh handling were removed; `SessionClient`'s
/// call on the same page then succeeds with one refresh.
#[tokio::test(flavor = "multi_thread")]
async fn without_the_session_client_an_expired_call_fails() {
    run(
        "leptos_call_plain",
        ACCESS_TOKEN_SECS,
        |app, browser| async move {
            open_hydrated(&browser, &app, Frontend::Bundle, "/dashboard", "alice").await?;
            wait_past_expiry().await;
            let before = app.refresh_calls().await?;
            click(&browser, "#call-plain").await?;
            let plain = wait_for_text(&browser, "#plain-result").await?;
            assert!(plain.starts_with("error: "), "{plain}");
            tokio::time::sleep(SETTLE).await;
            assert_eq!(app.refresh_calls().await? - before, 0, "no refresh");

            click(&browser, "#call-one").await?;
            assert_eq!(wait_for_text(&browser, "#one-result").await?, "alice");
            assert_eq!(app.refresh_calls().await? - before, 1, "refresh calls");
            assert!(page_is_marked(&browser).await?, "no reload");
            Ok(())
        },
    )
    .await;
}
