//! End-to-end tests in a real browser: headless Chromium, driven through
//! chromedriver (WebDriver, with `fantoccini`), against each example app
//! (`axum-ssr`, `actix-ssr`, `rocket-ssr`) started as a child process on an
//! ephemeral loopback port with the embedded dev issuer and a 3 s access
//! token. Each scenario runs once per framework, as its own test:
//!
//! 1. sign in → `/dashboard` shows the user id;
//! 2. the access token expires → the refresh bridge refreshes once, with no
//!    user action, and the page comes back at the same URL;
//! 3. the refresh token is revoked (signed out elsewhere) → the login page,
//!    with the redirect-back parameter;
//! 4. refresh keeps answering 200 with tokens that still fail → the loop
//!    guard stops after its 2 attempts and goes to the login page;
//! 5. two `sAccessToken` cookies (host and parent domain) → the documented
//!    outcome (the first valid token wins), and no loop;
//! 6. a CSP nonce → the bridge still runs (and a wrong nonce would not);
//!    JavaScript off → the `<noscript>` link to the login page;
//! 7. `/api/me` and `/api/props/dashboard` called from a page's script with
//!    an expired token, then after the script refreshes;
//! 8. a form posted with an expired token → the bridge refreshes and goes
//!    back to the form with GET: the post is never sent again;
//! 9. the issuer rotates its key right after the app's JWKS fetch, and the
//!    refresh hands out a token under the new key → still signed in;
//! 10. a user without role `admin` → the 403 page on `/admin`; with it, the
//!     admin page;
//! 11. a claim too old for `/reports` → refreshes that cannot help end on
//!     the login page after the loop guard's 2; a backend that refetches
//!     claims on refresh → the page after one;
//! 12. sign-out everywhere in one browser → the other browser's next page
//!     load goes to the login page;
//! 13. a page of another origin (another loopback port: same site) posts
//!     the settings form by itself, sends it as a `no-cors` fetch and posts
//!     the sign-out form → nothing saved, still signed in, the 403 page; the
//!     app's own form then saves exactly once and its sign-out form works.
//!
//! Refresh calls are counted through the dev issuer's `/auth/dev/stats`.
//!
//! Run them alone with `cargo test -p ssr-session-example-e2e --test browser`.
//! They need Debian's `chromium` and `chromium-driver`
//! (`scripts/install-test-deps.sh` installs them; `SSR_SESSION_CHROMIUM` and
//! `SSR_SESSION_CHROMEDRIVER` override where they are looked for). When
//! they are missing, each test prints `SKIPPED …` and passes, **except under
//! `CI=true`, where a missing browser fails the test**. At most two
//! browsers run at once.
//!
//! On failure a test saves a screenshot and the page source of each of its
//! browsers as `target/browser-failures/<test>.png` / `.html`; the app's
//! log is in `target/browser-logs/<test>.log`.

#[path = "browser/harness.rs"]
mod harness;

use fantoccini::{Client, Locator};
use harness::{
    App, BrowserOptions, Ctx, Framework, Result, SETTLE, WAIT, access_token, access_token_cookies,
    eventually, path_and_query, sign_in, text_of, token_exp, wait_for_login, wait_for_user,
    wait_past_browser_token_expiry, wait_past_expiry,
};
use serde_json::{Value, json};
use ssr_session_example_support::attacker::{Attacker, wait_for_forged_page};

/// The loop guard's default: automatic refreshes allowed within its window.
const MAX_REFRESH_ATTEMPTS: u64 = 2;

/// Starts the app and a browser side by side.
async fn start(ctx: &Ctx, args: &[&str], options: BrowserOptions) -> Result<(App, Client)> {
    tokio::try_join!(ctx.start_app(args), ctx.open_browser(options))
}

/// Asserts that the refresh count stays at `expected` for a moment.
async fn assert_refresh_calls_settle(app: &App, since: u64, expected: u64) -> Result {
    tokio::time::sleep(SETTLE).await;
    let calls = app.refresh_calls().await? - since;
    assert_eq!(calls, expected, "refresh calls");
    Ok(())
}

/// Scenario 1: Sign in → `/dashboard` shows the user id (and `/optional` greets them).
async fn sign_in_shows_the_user_id(ctx: Ctx) -> Result {
    // Nothing here waits for expiry: a token that outlives the scenario.
    let args = ["--access-token-secs", "60"];
    let (app, browser) = start(&ctx, &args, BrowserOptions::default()).await?;
    browser.goto(&app.url("/optional")).await?;
    assert_eq!(
        text_of(&browser, "#anonymous").await?.as_deref(),
        Some("anonymous")
    );
    sign_in(&browser, app.origin()).await?;
    browser.goto(&app.url("/optional")).await?;
    assert_eq!(
        text_of(&browser, "#user-id").await?.as_deref(),
        Some("alice")
    );
    assert_eq!(app.refresh_calls().await?, 0);
    Ok(())
}

/// Scenario 2: Past the access token's expiry, `/dashboard?tab=2` answers with the
/// bridge, which refreshes once and reloads: the user id shows again at the
/// same URL, with no user action.
async fn expired_token_is_refreshed_by_the_bridge(ctx: Ctx) -> Result {
    let (app, browser) = start(&ctx, &[], BrowserOptions::default()).await?;
    sign_in(&browser, app.origin()).await?;
    let old = wait_past_browser_token_expiry(&browser).await?;
    let before = app.refresh_calls().await?;

    browser.goto(&app.url("/dashboard?tab=2")).await?;
    wait_for_user(&browser, "alice", "/dashboard?tab=2").await?;
    assert_refresh_calls_settle(&app, before, 1).await?;
    assert_eq!(path_and_query(&browser).await?, "/dashboard?tab=2");
    let new = access_token(&browser).await?;
    assert!(
        token_exp(&new)? > token_exp(&old)?,
        "the cookie was renewed"
    );
    Ok(())
}

/// Scenario 3: Signed out elsewhere (the refresh token is revoked) → past expiry,
/// `/dashboard?x=1` ends on the login page with `redirectToPath=/dashboard?x=1`,
/// and signing in there leads back.
async fn revoked_refresh_token_leads_to_login(ctx: Ctx) -> Result {
    let (app, browser) = start(&ctx, &[], BrowserOptions::default()).await?;
    sign_in(&browser, app.origin()).await?;
    let token = access_token(&browser).await?;
    // Another client signs this session out (the dev issuer finds the
    // session through the access token, as SuperTokens does).
    let signed_out = app
        .http()
        .post(app.url("/auth/signout"))
        .header("cookie", format!("sAccessToken={token}"))
        .header("rid", "session")
        .send()
        .await?;
    assert_eq!(signed_out.status(), 200);
    wait_past_expiry(&token).await?;
    let before = app.refresh_calls().await?;

    browser.goto(&app.url("/dashboard?x=1")).await?;
    wait_for_login(&browser, "/dashboard?x=1").await?;
    assert_refresh_calls_settle(&app, before, 1).await?;
    assert_eq!(
        path_and_query(&browser).await?,
        "/auth?redirectToPath=%2Fdashboard%3Fx%3D1"
    );

    // The login page's form leads back where the user was.
    browser
        .find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    wait_for_user(&browser, "dev-user", "/dashboard?x=1").await?;
    Ok(())
}

/// Scenario 4: Loop guard. The dev issuer answers refresh with 200 but tokens that
/// still fail:
/// - already expired (as with clock skew): every reload asks for a refresh
///   again, so only the bridge's guard stops it: exactly 2 refresh calls
///   (the default `max_refresh_attempts`), then the login page;
/// - signed by a key not in the JWKS: with the default
///   `UnknownKeyPolicy::Invalid` the reload is *invalid*, which goes to the
///   login page at once: 1 refresh call.
async fn loop_guard_stops_refreshing_and_goes_to_login(ctx: Ctx) -> Result {
    let (app, browser) = start(&ctx, &[], BrowserOptions::default()).await?;
    sign_in(&browser, app.origin()).await?;

    app.control("refresh-mode?mode=expired").await?;
    // No access token at all: the bridge starts at once, no need to wait.
    browser.delete_cookie("sAccessToken").await?;
    let before = app.refresh_calls().await?;
    browser.goto(&app.url("/dashboard?x=1")).await?;
    wait_for_login(&browser, "/dashboard?x=1").await?;
    assert_refresh_calls_settle(&app, before, MAX_REFRESH_ATTEMPTS).await?;
    let guard = browser
        .get_all_cookies()
        .await?
        .into_iter()
        .find(|cookie| cookie.name() == "ssrSessionRefreshAttempts");
    assert!(
        guard.is_none(),
        "the guard cookie is cleared on the way to login: {guard:?}"
    );
    // The login page is stable: nothing refreshes behind it.
    assert_eq!(
        path_and_query(&browser).await?,
        "/auth?redirectToPath=%2Fdashboard%3Fx%3D1"
    );

    app.control("refresh-mode?mode=unverifiable").await?;
    let before = app.refresh_calls().await?;
    browser.goto(&app.url("/dashboard?y=2")).await?;
    wait_for_login(&browser, "/dashboard?y=2").await?;
    assert_refresh_calls_settle(&app, before, 1).await?;
    // The invalid answer expired the rejected cookie.
    assert_eq!(access_token_cookies(&browser).await?, Vec::new());
    Ok(())
}

/// The app's view of the `sAccessToken` cookies the browser sends, in order:
/// their `exp` claims.
async fn sent_token_exps(browser: &Client) -> Result<Vec<u64>> {
    let answer = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/auth/dev/access-tokens', { credentials: 'include' })
               .then(r => r.json()).then(done, e => done({ error: String(e) }));",
            vec![],
        )
        .await?;
    let tokens = answer["tokens"]
        .as_array()
        .ok_or_else(|| format!("unexpected answer {answer}"))?;
    Ok(tokens.iter().filter_map(|t| t["exp"].as_u64()).collect())
}

/// Scenario 5: Two `sAccessToken` cookies, one for the host `app.ssr.test`
/// and one for the parent domain `ssr.test` (as after a cookie-domain
/// change), the stale parent-domain one sent first. The documented outcome
/// (`Verifier`): the tokens are tried in the order sent, the first valid one
/// wins, and if none is valid the first one's outcome decides. So:
/// - stale parent + fresh host → the dashboard, no refresh;
/// - both stale → the bridge refreshes once, which replaces the host
///   cookie, then the dashboard: no loop;
/// - only the stale parent → the same: one refresh adds a host cookie.
async fn duplicate_access_token_cookies_do_not_loop(ctx: Ctx) -> Result {
    let options = BrowserOptions {
        host_resolver_rules: Some("MAP *.ssr.test 127.0.0.1".to_owned()),
        ..BrowserOptions::default()
    };
    let (app, browser) = start(&ctx, &[], options).await?;
    let origin = format!("http://app.ssr.test:{}", app.port());
    let stale: Value = app
        .http()
        .get(app.url("/auth/dev/expired-access-token?userId=alice"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let stale = stale["accessToken"].as_str().ok_or("no token")?.to_owned();
    let stale_exp = token_exp(&stale)?;

    // The stale parent-domain cookie first (so the browser sends it first),
    // then the sign-in's fresh host cookie: the dashboard, with no refresh.
    browser.goto(&format!("{origin}/")).await?;
    browser
        .execute(
            "document.cookie = 'sAccessToken=' + arguments[0] + '; domain=ssr.test; path=/; samesite=lax';",
            vec![json!(stale)],
        )
        .await?;
    sign_in(&browser, &origin).await?;
    let cookies = access_token_cookies(&browser).await?;
    let domains: Vec<(&str, bool)> = cookies
        .iter()
        .map(|c| (c.domain.as_str(), c.exp == stale_exp))
        .collect();
    assert_eq!(
        domains,
        vec![("app.ssr.test", false), ("ssr.test", true)],
        "{cookies:?}"
    );
    let fresh = cookies[0].clone();
    assert_eq!(
        sent_token_exps(&browser).await?,
        vec![stale_exp, fresh.exp],
        "the browser sends the stale parent-domain token first"
    );
    assert_eq!(app.refresh_calls().await?, 0);

    // Both stale: one refresh replaces the host cookie, then the dashboard.
    wait_past_expiry(&fresh.token).await?;
    let before = app.refresh_calls().await?;
    browser.goto(&format!("{origin}/dashboard?x=1")).await?;
    wait_for_user(&browser, "alice", "/dashboard?x=1").await?;
    assert_refresh_calls_settle(&app, before, 1).await?;
    let sent = sent_token_exps(&browser).await?;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0], stale_exp);
    assert!(
        sent[1] > fresh.exp,
        "the host cookie was replaced: {sent:?}"
    );

    // Only the stale parent: one refresh adds a host cookie, then the dashboard.
    browser.delete_cookie("sAccessToken").await?;
    browser
        .execute(
            "document.cookie = 'sAccessToken=' + arguments[0] + '; domain=ssr.test; path=/; samesite=lax';",
            vec![json!(stale)],
        )
        .await?;
    let cookies = access_token_cookies(&browser).await?;
    assert_eq!(
        cookies.len(),
        1,
        "only the parent-domain cookie: {cookies:?}"
    );
    assert_eq!(cookies[0].domain, "ssr.test");
    let before = app.refresh_calls().await?;
    browser.goto(&format!("{origin}/dashboard?y=2")).await?;
    wait_for_user(&browser, "alice", "/dashboard?y=2").await?;
    assert_refresh_calls_settle(&app, before, 1).await?;
    let domains: Vec<String> = access_token_cookies(&browser)
        .await?
        .into_iter()
        .map(|c| c.domain)
        .collect();
    assert_eq!(domains, vec!["app.ssr.test", "ssr.test"]);
    Ok(())
}

/// Scenario 6: With `--csp-nonce`, the bridge's script carries the nonce and runs
/// under `script-src 'nonce-…'`; the same page under a policy with another
/// nonce does not run. With JavaScript off, the bridge's `<noscript>` link
/// leads to the login page.
async fn bridge_runs_under_a_csp_nonce_and_noscript_links_to_login(ctx: Ctx) -> Result {
    let nonce = format!("n{}", ssr_session::testing::random_hex(12));
    let no_js = BrowserOptions {
        javascript: false,
        ..BrowserOptions::default()
    };
    let args = ["--csp-nonce", nonce.as_str()];
    let (app, browser, no_js) = tokio::try_join!(
        ctx.start_app(&args),
        ctx.open_browser(BrowserOptions::default()),
        ctx.open_browser(no_js),
    )?;
    // Signed in first: the checks below run while the access token ages.
    sign_in(&browser, app.origin()).await?;
    let token = access_token(&browser).await?;

    // What a browser gets: the bridge, with the policy and the nonce.
    let policy = format!("default-src 'self'; script-src 'nonce-{nonce}'");
    let bridge = app
        .http()
        .get(app.url("/dashboard?x=1"))
        .header("accept", "text/html")
        .send()
        .await?;
    assert_eq!(bridge.status(), 401);
    let policies: Vec<_> = bridge
        .headers()
        .get_all("content-security-policy")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(policies, vec![policy]);
    let bridge_html = bridge.text().await?;
    assert!(
        bridge_html.contains(&format!("<script nonce=\"{nonce}\">")),
        "{bridge_html}"
    );

    // JavaScript off: the bridge stays, and its <noscript> link goes to login.
    let before = app.refresh_calls().await?;
    no_js.goto(&app.url("/dashboard?x=1")).await?;
    let link = eventually("the <noscript> login link", WAIT, || async {
        match no_js.find(Locator::Css("#ssr-session-login")).await {
            Ok(link) => Ok(Some(link)),
            Err(error) if error.is_no_such_element() => Ok(None),
            Err(error) => Err(error.into()),
        }
    })
    .await?;
    assert_eq!(
        link.attr("href").await?.as_deref(),
        Some("/auth?redirectToPath=%2Fdashboard%3Fx%3D1")
    );
    assert!(link.is_displayed().await?, "the link is shown");
    assert_refresh_calls_settle(&app, before, 0).await?;
    assert_eq!(path_and_query(&no_js).await?, "/dashboard?x=1");
    link.click().await?;
    wait_for_login(&no_js, "/dashboard?x=1").await?;

    // JavaScript on: the bridge runs under the policy.
    wait_past_expiry(&token).await?;
    let before = app.refresh_calls().await?;
    browser.goto(&app.url("/dashboard?x=1")).await?;
    wait_for_user(&browser, "alice", "/dashboard?x=1").await?;
    assert_refresh_calls_settle(&app, before, 1).await?;

    // The nonce is what lets it run: the same page under another nonce stays put.
    check_wrong_nonce_blocks_the_bridge(&browser, &bridge_html, &nonce).await?;
    Ok(())
}

/// Serves `bridge_html` from a throwaway origin, first under a policy with
/// a wrong nonce (the script must not run: no guard cookie, no navigation),
/// then under the right one (it runs: the refresh fails there, so it goes
/// to that origin's `/auth`).
async fn check_wrong_nonce_blocks_the_bridge(
    browser: &Client,
    bridge_html: &str,
    nonce: &str,
) -> Result {
    use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
    let html = bridge_html.to_owned();
    let nonce = nonce.to_owned();
    let page = move |policy: String| {
        let html = html.clone();
        move || async move {
            (
                [
                    (CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                    (CONTENT_SECURITY_POLICY, policy),
                ],
                html,
            )
        }
    };
    let router = axum::Router::new()
        .route(
            "/wrong",
            axum::routing::get(page(
                "default-src 'self'; script-src 'nonce-wrong'".to_owned(),
            )),
        )
        .route(
            "/right",
            axum::routing::get(page(format!(
                "default-src 'self'; script-src 'nonce-{nonce}'"
            ))),
        );
    // `localhost`, not `127.0.0.1`: cookies ignore ports, and the app's
    // guard cookie must not leak into this check.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://localhost:{}", listener.local_addr()?.port());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    browser.goto(&format!("{origin}/wrong")).await?;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(path_and_query(browser).await?, "/wrong");
    let cookies = browser.execute("return document.cookie;", vec![]).await?;
    assert!(
        !cookies
            .as_str()
            .unwrap_or_default()
            .contains("ssrSessionRefreshAttempts"),
        "the blocked script set no guard cookie: {cookies}"
    );
    assert!(
        text_of(browser, "#ssr-session-status").await?.is_some(),
        "the bridge page is still shown"
    );

    browser.goto(&format!("{origin}/right")).await?;
    eventually("the bridge to run and leave for /auth", WAIT, || async {
        Ok(browser
            .current_url()
            .await?
            .path()
            .eq("/auth")
            .then_some(()))
    })
    .await?;
    server.abort();
    Ok(())
}

/// Scenario 7: From a page's own script, with an expired token: `/api/me` answers
/// `401 {"message":"try refresh token"}` and `/api/props/dashboard` answers
/// `200 {"fromSupertokens":"needs-refresh"}`; after the script calls refresh,
/// both answer with the user id.
async fn api_answers_try_refresh_token_until_the_page_refreshes(ctx: Ctx) -> Result {
    let (app, browser) = start(&ctx, &[], BrowserOptions::default()).await?;
    sign_in(&browser, app.origin()).await?;
    browser.goto(&app.url("/")).await?;
    wait_past_browser_token_expiry(&browser).await?;
    let before = app.refresh_calls().await?;

    let answers = browser
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            async function get(url) {
              const r = await fetch(url, { credentials: "include" });
              return { status: r.status, body: await r.json() };
            }
            (async () => {
              const out = {};
              out.meBefore = await get("/api/me");
              out.propsBefore = await get("/api/props/dashboard");
              const r = await fetch("/auth/session/refresh", {
                method: "POST",
                credentials: "include",
                headers: { "rid": "session", "st-auth-mode": "cookie" },
              });
              out.refresh = { status: r.status, frontToken: r.headers.get("front-token") !== null };
              out.meAfter = await get("/api/me");
              out.propsAfter = await get("/api/props/dashboard");
              return out;
            })().then(done, (e) => done({ error: String(e) }));"#,
            vec![],
        )
        .await?;
    let expected: Value = json!({
        "meBefore": {"status": 401, "body": {"message": "try refresh token"}},
        "propsBefore": {"status": 200, "body": {"fromSupertokens": "needs-refresh"}},
        "refresh": {"status": 200, "frontToken": true},
        "meAfter": {"status": 200, "body": {"userId": "alice"}},
        "propsAfter": {"status": 200, "body": {"userId": "alice"}},
    });
    assert_eq!(answers, expected);
    assert_refresh_calls_settle(&app, before, 1).await?;
    Ok(())
}

/// Signs `user` in through the dev issuer's sign-in link with `claims`
/// (e.g. `roles=admin`), landing on `to`.
async fn sign_in_as(browser: &Client, app: &App, user: &str, claims: &str, to: &str) -> Result {
    let mut url = app.url(&format!("/auth/dev/signin?userId={user}&redirectTo={to}"));
    if !claims.is_empty() {
        url = format!("{url}&{claims}");
    }
    browser.goto(&url).await?;
    Ok(())
}

/// Waits until the browser shows the core's 403 page at `expected`; returns
/// the JSON it embeds.
async fn wait_for_refusal(browser: &Client, expected: &str) -> Result<Value> {
    let what = format!("the 403 page at {expected}");
    eventually(&what, WAIT, || async {
        let here = path_and_query(browser).await?;
        let refused = text_of(browser, "#ssr-session-refused").await?;
        Ok((here == expected && refused.is_some()).then_some(()))
    })
    .await?;
    let text = browser
        .execute(
            "return document.getElementById('ssr-session-invalid-claim').textContent;",
            vec![],
        )
        .await?;
    Ok(serde_json::from_str(
        text.as_str().ok_or("no embedded JSON")?,
    )?)
}

/// Scenario 8: A form posted with an expired token is never posted again:
/// the post gets the bridge (`data-ssr-session-resume="back"`), which
/// refreshes once and goes back to the form's page with GET, the user still
/// signed in; the refused post never reached the handler and nothing was
/// posted again (`/dev/form-posts` stays 0). Submitting again with the fresh
/// token saves it, once.
async fn expired_form_post_is_never_posted_again(ctx: Ctx) -> Result {
    let (app, browser) = start(&ctx, &[], BrowserOptions::default()).await?;
    sign_in(&browser, app.origin()).await?;
    browser.goto(&app.url("/account/settings")).await?;
    wait_for_user(&browser, "alice", "/account/settings").await?;
    wait_past_browser_token_expiry(&browser).await?;
    let before = app.refresh_calls().await?;

    browser.find(Locator::Css("#save")).await?.click().await?;
    // Back on the form page, fetched with GET (a page that shows no `#saved`).
    eventually(
        "the settings page again, after the bridge",
        WAIT,
        || async {
            let here = path_and_query(&browser).await?;
            let shown = text_of(&browser, "#user-id").await?;
            Ok((here == "/account/settings" && shown.as_deref() == Some("alice")).then_some(()))
        },
    )
    .await?;
    assert_refresh_calls_settle(&app, before, 1).await?;
    assert_eq!(
        text_of(&browser, "#saved").await?,
        None,
        "nothing was saved"
    );
    assert_eq!(
        app.form_posts().await?,
        0,
        "the expired post never reached the handler"
    );
    assert_eq!(
        text_of(&browser, "#user-id").await?.as_deref(),
        Some("alice")
    );

    // The user submits again, now with a fresh token: saved, once.
    browser.find(Locator::Css("#save")).await?.click().await?;
    let saved = eventually("the saved settings", WAIT, || async {
        text_of(&browser, "#saved").await
    })
    .await?;
    assert_eq!(saved, "Saved: dark");
    assert_eq!(app.form_posts().await?, 1);
    assert_refresh_calls_settle(&app, before, 1).await?;
    Ok(())
}

/// Scenario 9 (issue 11): the issuer rotates its key a moment after the app
/// last fetched the JWKS; the refresh then hands out a token under the new
/// `kid`, one second old. The reload verifies it (the unknown `kid` waits
/// for a newer set instead of signing the user out): one refresh, the
/// dashboard, never the login page.
async fn refreshed_token_under_a_new_key_stays_signed_in(ctx: Ctx) -> Result {
    let (app, browser) = start(&ctx, &[], BrowserOptions::default()).await?;
    sign_in(&browser, app.origin()).await?;
    let fetched = app.jwks_requests().await?;
    assert!(fetched >= 1, "the app fetched the JWKS for the dashboard");
    let rotated = app.control("rotate").await?;
    let new_kid = rotated["kid"].as_str().ok_or("no kid")?.to_owned();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    wait_past_browser_token_expiry(&browser).await?;
    let before = app.refresh_calls().await?;

    browser.goto(&app.url("/dashboard")).await?;
    wait_for_user(&browser, "alice", "/dashboard").await?;
    assert_refresh_calls_settle(&app, before, 1).await?;
    assert_eq!(path_and_query(&browser).await?, "/dashboard");
    let token = access_token(&browser).await?;
    assert_eq!(
        harness::token_kid(&token)?,
        new_kid,
        "the refreshed token is under the new key"
    );
    assert!(
        app.jwks_requests().await? > fetched,
        "the app fetched the new set"
    );
    Ok(())
}

/// Scenario 10 (issues 12/13): a signed-in user without role `admin` gets the
/// core's 403 page on `/admin` (no refresh, no login page), whose embedded
/// JSON is SuperTokens' invalid-claim body; a user with `roles=admin` gets
/// the admin page.
async fn admin_page_refuses_a_user_without_the_role(ctx: Ctx) -> Result {
    let args = ["--access-token-secs", "60"];
    let (app, browser) = start(&ctx, &args, BrowserOptions::default()).await?;
    sign_in_as(&browser, &app, "bob", "roles=editor", "/admin").await?;
    let body = wait_for_refusal(&browser, "/admin").await?;
    assert_eq!(
        body,
        json!({"message": "invalid claim", "claimValidationErrors": [{"id": "st-role", "reason": {
            "message": "wrong value", "expectedToInclude": "admin", "actualValue": ["editor"]}}]})
    );
    assert_eq!(text_of(&browser, "#user-id").await?, None);
    assert_refresh_calls_settle(&app, 0, 0).await?;
    assert_eq!(path_and_query(&browser).await?, "/admin", "no navigation");

    sign_in_as(&browser, &app, "carol", "roles=admin", "/admin").await?;
    wait_for_user(&browser, "carol", "/admin").await?;
    assert_eq!(text_of(&browser, "#ssr-session-refused").await?, None);
    assert_refresh_calls_settle(&app, 0, 0).await?;
    Ok(())
}

/// Scenario 11 (issue 13): `/reports` needs role `admin` fetched within 2 s
/// (`--claims-max-age-secs 2`, marked refresh-if-stale). With the dev
/// issuer's `claims-on-refresh=keep` (supertokens-node's behaviour) a
/// refresh carries the old fetch time over and cannot help: the loop guard
/// ends on the login page after its 2 refreshes. With `refetch` the same
/// page is served after exactly one refresh.
async fn stale_claims_never_loop(ctx: Ctx) -> Result {
    let args = ["--access-token-secs", "60", "--claims-max-age-secs", "2"];
    let (app, browser) = start(&ctx, &args, BrowserOptions::default()).await?;
    let stale = std::time::Duration::from_millis(2600);

    app.control("claims-on-refresh?mode=keep").await?;
    sign_in_as(&browser, &app, "alice", "roles=admin", "/reports").await?;
    wait_for_user(&browser, "alice", "/reports").await?;
    tokio::time::sleep(stale).await;
    let before = app.refresh_calls().await?;
    browser.goto(&app.url("/reports")).await?;
    wait_for_login(&browser, "/reports").await?;
    assert_refresh_calls_settle(&app, before, MAX_REFRESH_ATTEMPTS).await?;
    assert_eq!(
        path_and_query(&browser).await?,
        "/auth?redirectToPath=%2Freports"
    );

    app.control("claims-on-refresh?mode=refetch").await?;
    sign_in_as(&browser, &app, "alice", "roles=admin", "/reports").await?;
    wait_for_user(&browser, "alice", "/reports").await?;
    tokio::time::sleep(stale).await;
    let before = app.refresh_calls().await?;
    browser.goto(&app.url("/reports")).await?;
    wait_for_user(&browser, "alice", "/reports").await?;
    assert_refresh_calls_settle(&app, before, 1).await?;
    Ok(())
}

/// Scenario 12 (issue 15): alice is signed in in two browsers (two
/// profiles); browser A posts `/auth/signout-everywhere` from a page
/// script; browser B's next load of `/dashboard` goes straight to the login
/// page (303, no refresh), with the way back.
async fn sign_out_everywhere_reaches_the_other_browser(ctx: Ctx) -> Result {
    let args = ["--access-token-secs", "60"];
    let (app, a, b) = tokio::try_join!(
        ctx.start_app(&args),
        ctx.open_browser(BrowserOptions::default()),
        ctx.open_browser(BrowserOptions::default()),
    )?;
    sign_in(&a, app.origin()).await?;
    sign_in(&b, app.origin()).await?;
    let b_token = access_token(&b).await?;
    let a_token = access_token(&a).await?;
    assert_ne!(a_token, b_token, "two sessions");

    let answer = a
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/auth/signout-everywhere', { method: 'POST', credentials: 'include' })
               .then(async r => done({ status: r.status, body: await r.json() }),
                     e => done({ error: String(e) }));",
            vec![],
        )
        .await?;
    assert_eq!(answer, json!({"status": 200, "body": {"status": "OK"}}));
    let before = app.refresh_calls().await?;

    b.goto(&app.url("/dashboard?from=b")).await?;
    wait_for_login(&b, "/dashboard?from=b").await?;
    assert_refresh_calls_settle(&app, before, 0).await?;
    // Browser B's revoked cookie was expired on the way.
    assert_eq!(access_token_cookies(&b).await?, Vec::new());
    // And browser A is signed out too.
    a.goto(&app.url("/dashboard")).await?;
    wait_for_login(&a, "/dashboard").await?;
    Ok(())
}

/// Scenario 13 (issue 19): signed in as alice, the browser opens pages of
/// another origin (a server of the test's on another port of 127.0.0.1:
/// the same site, so the `SameSite=Lax` cookie goes along, and Chromium
/// sends `Sec-Fetch-Site: same-site`):
/// - a `no-cors` fetch POSTs `theme=evil` to `/account/settings`: answered
///   (opaque to the page), not saved;
/// - a form it submits itself POSTs the same: the core's 403 page at
///   `/account/settings` (not the bridge, not the login page), not saved;
/// - a form POSTs the dev issuer's `/auth/signout`: the 403 page, and alice
///   stays signed in.
///
/// Read back as alice, the theme is still the default and the handler never
/// ran; no refresh was made. Then the app's own form saves `dark` exactly
/// once, and the dashboard's sign-out form signs her out.
async fn cross_origin_posts_are_refused(ctx: Ctx) -> Result {
    let args = ["--access-token-secs", "60"];
    let (app, browser) = start(&ctx, &args, BrowserOptions::default()).await?;
    let attacker = Attacker::start().await?;
    assert_ne!(attacker.origin(), app.origin());
    sign_in(&browser, app.origin()).await?;
    let settings = app.url("/account/settings");
    let evil = [("theme", "evil")];

    let sent = attacker
        .send_no_cors_fetch(&browser, &settings, &evil, WAIT)
        .await?;
    assert_eq!(sent, "opaque", "the forged fetch was sent and answered");
    assert_eq!(
        app.form_posts().await?,
        0,
        "the forged fetch was not handled"
    );
    attacker
        .submit_form(&browser, &settings, &evil, WAIT)
        .await?;
    wait_for_forged_page(&browser, "/account/settings", WAIT).await?;
    attacker
        .submit_form(&browser, &app.url("/auth/signout"), &[], WAIT)
        .await?;
    wait_for_forged_page(&browser, "/auth/signout", WAIT).await?;

    assert_eq!(app.form_posts().await?, 0, "no forged post was handled");
    browser.goto(&settings).await?;
    wait_for_user(&browser, "alice", "/account/settings").await?;
    assert_eq!(
        text_of(&browser, "#theme").await?.as_deref(),
        Some("default"),
        "nothing was saved"
    );
    assert_eq!(app.refresh_calls().await?, 0);

    // The app's own form: saved, once.
    browser.find(Locator::Css("#save")).await?.click().await?;
    let saved = eventually("the saved settings", WAIT, || async {
        text_of(&browser, "#saved").await
    })
    .await?;
    assert_eq!(saved, "Saved: dark");
    browser.goto(&settings).await?;
    wait_for_user(&browser, "alice", "/account/settings").await?;
    assert_eq!(text_of(&browser, "#theme").await?.as_deref(), Some("dark"));
    assert_eq!(app.form_posts().await?, 1, "saved exactly once");

    // The dashboard's own sign-out form passes.
    browser.goto(&app.url("/dashboard")).await?;
    wait_for_user(&browser, "alice", "/dashboard").await?;
    browser
        .find(Locator::Css("form[action='/auth/signout'] button"))
        .await?
        .click()
        .await?;
    eventually("the sign-out", WAIT, || async {
        Ok(access_token_cookies(&browser)
            .await?
            .is_empty()
            .then_some(()))
    })
    .await?;
    assert_eq!(path_and_query(&browser).await?, "/auth/signout");
    Ok(())
}

/// One test per scenario and framework, named `<framework>_<n>_<scenario>`.
macro_rules! browser_tests {
    ($($scenario:ident => $axum:ident, $actix:ident, $rocket:ident;)*) => {
        $(
            #[tokio::test]
            async fn $axum() {
                harness::run(stringify!($axum), Framework::Axum, $scenario).await;
            }

            #[tokio::test]
            async fn $actix() {
                harness::run(stringify!($actix), Framework::Actix, $scenario).await;
            }

            #[tokio::test]
            async fn $rocket() {
                harness::run(stringify!($rocket), Framework::Rocket, $scenario).await;
            }
        )*
    };
}

browser_tests! {
    sign_in_shows_the_user_id =>
        axum_1_sign_in_shows_the_user_id,
        actix_1_sign_in_shows_the_user_id,
        rocket_1_sign_in_shows_the_user_id;
    expired_token_is_refreshed_by_the_bridge =>
        axum_2_expired_token_is_refreshed_by_the_bridge,
        actix_2_expired_token_is_refreshed_by_the_bridge,
        rocket_2_expired_token_is_refreshed_by_the_bridge;
    revoked_refresh_token_leads_to_login =>
        axum_3_revoked_refresh_token_leads_to_login,
        actix_3_revoked_refresh_token_leads_to_login,
        rocket_3_revoked_refresh_token_leads_to_login;
    loop_guard_stops_refreshing_and_goes_to_login =>
        axum_4_loop_guard_stops_refreshing_and_goes_to_login,
        actix_4_loop_guard_stops_refreshing_and_goes_to_login,
        rocket_4_loop_guard_stops_refreshing_and_goes_to_login;
    duplicate_access_token_cookies_do_not_loop =>
        axum_5_duplicate_access_token_cookies_do_not_loop,
        actix_5_duplicate_access_token_cookies_do_not_loop,
        rocket_5_duplicate_access_token_cookies_do_not_loop;
    bridge_runs_under_a_csp_nonce_and_noscript_links_to_login =>
        axum_6_bridge_runs_under_a_csp_nonce_and_noscript_links_to_login,
        actix_6_bridge_runs_under_a_csp_nonce_and_noscript_links_to_login,
        rocket_6_bridge_runs_under_a_csp_nonce_and_noscript_links_to_login;
    api_answers_try_refresh_token_until_the_page_refreshes =>
        axum_7_api_answers_try_refresh_token_until_the_page_refreshes,
        actix_7_api_answers_try_refresh_token_until_the_page_refreshes,
        rocket_7_api_answers_try_refresh_token_until_the_page_refreshes;
    expired_form_post_is_never_posted_again =>
        axum_8_expired_form_post_is_never_posted_again,
        actix_8_expired_form_post_is_never_posted_again,
        rocket_8_expired_form_post_is_never_posted_again;
    refreshed_token_under_a_new_key_stays_signed_in =>
        axum_9_refreshed_token_under_a_new_key_stays_signed_in,
        actix_9_refreshed_token_under_a_new_key_stays_signed_in,
        rocket_9_refreshed_token_under_a_new_key_stays_signed_in;
    admin_page_refuses_a_user_without_the_role =>
        axum_10_admin_page_refuses_a_user_without_the_role,
        actix_10_admin_page_refuses_a_user_without_the_role,
        rocket_10_admin_page_refuses_a_user_without_the_role;
    stale_claims_never_loop =>
        axum_11_stale_claims_never_loop,
        actix_11_stale_claims_never_loop,
        rocket_11_stale_claims_never_loop;
    sign_out_everywhere_reaches_the_other_browser =>
        axum_12_sign_out_everywhere_reaches_the_other_browser,
        actix_12_sign_out_everywhere_reaches_the_other_browser,
        rocket_12_sign_out_everywhere_reaches_the_other_browser;
    cross_origin_posts_are_refused =>
        axum_13_cross_origin_posts_are_refused,
        actix_13_cross_origin_posts_are_refused,
        rocket_13_cross_origin_posts_are_refused;
}
