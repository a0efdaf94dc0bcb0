//! The `rocket-ssr` example, run as a process and driven over plain HTTP
//! (no cookie store: cookies are set by hand).

#[macro_use]
mod common;

// The scenarios every example app shares (tests/common/mod.rs), as tests of their own.
app_scenarios!(env!("CARGO_BIN_EXE_e2e-rocket-ssr"));

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use ssr_session_example_support::process::Server;

const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";
const JSON: &str = "application/json";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(
    client: &reqwest::Client,
    url: String,
    accept: &str,
    cookie: Option<&str>,
) -> (u16, HeaderMap, String) {
    let mut request = client.get(url).header("accept", accept);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rocket_site_verifies_sessions_while_rendering() {
    let server = Server::start(env!("CARGO_BIN_EXE_e2e-rocket-ssr"), &[]);
    let client = client();

    // Public page.
    let (status, _, body) = get(&client, server.url("/"), HTML, None).await;
    assert_eq!(status, 200);
    assert!(body.contains("/auth/dev/signin"), "{body}");

    // No session: the page gets the refresh bridge, the APIs the SuperTokens answers.
    let (status, _, body) = get(&client, server.url("/dashboard"), HTML, None).await;
    assert_eq!(status, 401);
    assert!(body.contains("/auth/session/refresh"), "{body}");
    let (status, _, body) = get(&client, server.url("/api/me"), JSON, None).await;
    assert_eq!(
        (status, json(&body)),
        (401, json!({"message": "try refresh token"}))
    );
    let (status, _, body) = get(&client, server.url("/api/props/dashboard"), JSON, None).await;
    assert_eq!(
        (status, json(&body)),
        (200, json!({"fromSupertokens": "needs-refresh"}))
    );
    let (status, _, body) = get(&client, server.url("/optional"), HTML, None).await;
    assert_eq!(status, 200);
    assert!(body.contains("anonymous"), "{body}");

    // `/auth` and everything below it reach the dev issuer, whatever the method.
    let (status, _, _) = get(&client, server.url("/auth"), HTML, None).await;
    assert_eq!(status, 200);
    let refresh = client
        .post(server.url("/auth/session/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 401, "a refresh without a refresh token");

    // Sign in with the dev issuer and keep the access token.
    let (status, headers, _) = get(
        &client,
        server.url("/auth/dev/signin?userId=alice"),
        HTML,
        None,
    )
    .await;
    assert!(status < 400, "sign-in answered {status}");
    let access_token = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix("sAccessToken="))
        .and_then(|rest| rest.split(';').next())
        .filter(|token| !token.is_empty())
        .expect("an sAccessToken cookie")
        .to_string();
    let cookie = format!("theme=dark; sAccessToken={access_token}");

    // Signed in: the pages and APIs see alice.
    let (status, _, body) = get(&client, server.url("/dashboard"), HTML, Some(&cookie)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("alice"), "{body}");
    let (status, _, body) = get(
        &client,
        server.url("/api/props/dashboard"),
        JSON,
        Some(&cookie),
    )
    .await;
    assert_eq!((status, json(&body)), (200, json!({"userId": "alice"})));
    let (status, _, body) = get(&client, server.url("/api/me"), JSON, Some(&cookie)).await;
    assert_eq!((status, json(&body)), (200, json!({"userId": "alice"})));
    let (status, _, body) = get(&client, server.url("/optional"), HTML, Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(body.contains("alice"), "{body}");

    // A forged token: sent to sign in again, with the way back and the cookie expired.
    let forged = format!("sAccessToken={access_token}x");
    let (status, headers, _) =
        get(&client, server.url("/dashboard?tab=1"), HTML, Some(&forged)).await;
    assert_eq!(status, 303);
    assert_eq!(
        headers["location"],
        "/auth?redirectToPath=%2Fdashboard%3Ftab%3D1"
    );
    let expired = headers["set-cookie"].to_str().unwrap();
    assert!(expired.starts_with("sAccessToken=;"), "{expired}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bridge_carries_the_csp_nonce_and_header() {
    let server = Server::start(
        env!("CARGO_BIN_EXE_e2e-rocket-ssr"),
        &["--csp-nonce", "n0nce"],
    );
    let (status, headers, body) = get(&client(), server.url("/dashboard"), HTML, None).await;
    assert_eq!(status, 401);
    assert!(body.contains("nonce=\"n0nce\""), "{body}");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("'nonce-n0nce'"), "{policy}");
}
