//! The `rocket-ssr` example, run as a process and driven over plain HTTP
//! (no cookie store: cookies are set by hand): the scenarios shared with
//! the other frameworks (tests/common/mod.rs), and what only the Rocket app
//! has to show.

#[macro_use]
mod common;

use common::{App, HTML};

app_scenarios!(env!("CARGO_BIN_EXE_e2e-rocket-ssr"));

/// `/auth` and everything below it reach the dev issuer, whatever the
/// method (Rocket mounts the issuer as its own routes).
#[tokio::test(flavor = "multi_thread")]
async fn every_auth_route_reaches_the_dev_issuer() {
    let app = App::start(env!("CARGO_BIN_EXE_e2e-rocket-ssr"), &[]);
    let login = app.get("/auth", HTML, None).await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("Dev sign-in"), "{}", login.body);
    let refresh = app.post_form("/auth/session/refresh", HTML, None, "").await;
    assert_eq!(refresh.status, 401, "a refresh without a refresh token");
    assert_eq!(
        refresh.json(),
        serde_json::json!({"message": "unauthorised"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bridge_carries_the_csp_nonce_and_header() {
    let app = App::start(
        env!("CARGO_BIN_EXE_e2e-rocket-ssr"),
        &["--csp-nonce", "n0nce"],
    );
    let bridge = app.get("/dashboard", HTML, None).await;
    assert_eq!(bridge.status, 401);
    assert!(bridge.body.contains("nonce=\"n0nce\""), "{}", bridge.body);
    let policy = bridge.header("content-security-policy");
    assert!(policy.contains("'nonce-n0nce'"), "{policy}");
}
