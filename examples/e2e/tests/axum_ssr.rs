//! The `axum-ssr` example, run as a process and driven over plain HTTP.

#[macro_use]
mod common;

// The scenarios every example app shares (tests/common/mod.rs), as tests of their own.
app_scenarios!(env!("CARGO_BIN_EXE_e2e-axum-ssr"));

use serde_json::{Value, json};

use ssr_session_example_support::process::Server;

const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

async fn get(
    client: &reqwest::Client,
    url: String,
    accept: &str,
    cookie: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
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
async fn the_site_verifies_sessions_while_rendering() {
    let server = Server::start(env!("CARGO_BIN_EXE_e2e-axum-ssr"), &[]);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Public page.
    let (status, _, body) = get(&client, server.url("/"), HTML, None).await;
    assert_eq!(status, 200);
    assert!(body.contains("/auth/dev/signin"), "{body}");

    // No session: the page gets the refresh bridge, the API the SuperTokens answer.
    let (status, _, body) = get(&client, server.url("/dashboard"), HTML, None).await;
    assert_eq!(status, 401);
    assert!(body.contains("/auth/session/refresh"), "{body}");
    let (status, _, body) = get(&client, server.url("/api/me"), "application/json", None).await;
    assert_eq!(
        (status, json(&body)),
        (401, json!({"message": "try refresh token"}))
    );
    let (status, _, body) = get(
        &client,
        server.url("/api/props/dashboard"),
        "application/json",
        None,
    )
    .await;
    assert_eq!(
        (status, json(&body)),
        (200, json!({"fromSupertokens": "needs-refresh"}))
    );
    let (status, _, body) = get(&client, server.url("/optional"), HTML, None).await;
    assert_eq!(status, 200);
    assert!(body.contains("anonymous"), "{body}");

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
    let cookie = format!("sAccessToken={access_token}");

    // Signed in: the pages and APIs see alice.
    let (status, _, body) = get(&client, server.url("/dashboard"), HTML, Some(&cookie)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("alice"), "{body}");
    let (status, _, body) = get(
        &client,
        server.url("/api/props/dashboard"),
        "application/json",
        Some(&cookie),
    )
    .await;
    assert_eq!((status, json(&body)), (200, json!({"userId": "alice"})));
    let (status, _, body) = get(
        &client,
        server.url("/api/me"),
        "application/json",
        Some(&cookie),
    )
    .await;
    assert_eq!((status, json(&body)), (200, json!({"userId": "alice"})));
    let (status, _, body) = get(&client, server.url("/optional"), HTML, Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(body.contains("alice"), "{body}");

    // A forged token: sent to sign in again, with the way back.
    let forged = format!("sAccessToken={access_token}x");
    let (status, headers, _) = get(&client, server.url("/dashboard"), HTML, Some(&forged)).await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/auth?redirectToPath=%2Fdashboard");
}
