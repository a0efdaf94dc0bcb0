//! The actix-web example app, started as a real process and spoken to over
//! plain HTTP (no cookie store: cookies are set by hand).

#[macro_use]
mod common;

// The scenarios every example app shares (tests/common/mod.rs), as tests of their own.
app_scenarios!(env!("CARGO_BIN_EXE_e2e-actix-ssr"));

use reqwest::header::{ACCEPT, COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use ssr_session_example_support::process::Server;

#[tokio::test]
async fn the_actix_site_serves_pages_by_session() {
    let server = Server::start(env!("CARGO_BIN_EXE_e2e-actix-ssr"), &[]);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The public home page.
    let home = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);

    // No session: a navigation gets the refresh bridge…
    let bridge = client
        .get(server.url("/dashboard"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(bridge.status(), 401);
    assert!(
        bridge
            .text()
            .await
            .unwrap()
            .contains("/auth/session/refresh")
    );

    // …and an API call the SuperTokens "try refresh token" answer.
    let me = client.get(server.url("/api/me")).send().await.unwrap();
    assert_eq!(me.status(), 401);
    assert_eq!(
        me.json::<Value>().await.unwrap(),
        json!({"message": "try refresh token"})
    );

    // Sign in through the embedded dev issuer and keep the access token.
    let sign_in = client
        .get(server.url("/auth/dev/signin?userId=alice"))
        .send()
        .await
        .unwrap();
    assert!(sign_in.status().is_redirection(), "{}", sign_in.status());
    let access_token = sign_in
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix("sAccessToken="))
        .and_then(|rest| rest.split(';').next())
        .filter(|token| !token.is_empty())
        .expect("an sAccessToken cookie")
        .to_owned();
    let cookie = format!("sAccessToken={access_token}");

    let dashboard = client
        .get(server.url("/dashboard"))
        .header(ACCEPT, "text/html")
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);
    assert!(dashboard.text().await.unwrap().contains("alice"));

    let props = client
        .get(server.url("/api/props/dashboard"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(props.status(), 200);
    assert_eq!(
        props.json::<Value>().await.unwrap(),
        json!({"userId": "alice"})
    );

    let me = client
        .get(server.url("/api/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap(),
        json!({"userId": "alice"})
    );

    // An optional page: anonymous without a token, the user with one.
    let anonymous = client.get(server.url("/optional")).send().await.unwrap();
    assert_eq!(anonymous.status(), 200);
    assert!(anonymous.text().await.unwrap().contains("anonymous"));
    let signed_in = client
        .get(server.url("/optional"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert!(signed_in.text().await.unwrap().contains("alice"));
}
