//! Recipe: test your own axum app with a signed-in user.
//!
//! Build the app's router from a [`SessionConfig`] (in `main`, its keys
//! come from `JwksKeyProvider::for_supertokens(api_domain)`); in tests, give
//! it the keys of a [`TestKey`] and send tokens minted with
//! [`TokenBuilder`] through `tower::ServiceExt::oneshot`. Needs, in the
//! app's `Cargo.toml`:
//!
//! ```toml
//! [dev-dependencies]
//! ssr-session = { version = "0.1", features = ["testing"] }
//! tower = { version = "0.5", features = ["util"] }
//! tokio = { version = "1", features = ["macros", "rt"] }
//! ```

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use ssr_session::keys::{Algorithm, StaticKeys};
use ssr_session::supertokens::{email_verified, has_permission, has_role};
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session_axum::{Require, Session, SessionConfig, SessionLayer, Verifier};
use tower::ServiceExt as _;

// ---- The app (in a real project: `src/lib.rs`). ----

ssr_session_axum::requirement!(
    /// The `admin` role.
    Admin = has_role("admin")
);

async fn dashboard(session: Session) -> String {
    format!("hello {}", session.user_id())
}

async fn admin(session: Require<Admin>) -> String {
    format!("admin {}", session.user_id())
}

async fn invoices(session: Session) -> String {
    format!("invoices of {}", session.user_id())
}

/// The whole app, from its session configuration.
fn app(config: SessionConfig) -> Router {
    // A route group that needs a permission and a verified email.
    let billing = Router::new()
        .route("/invoices", get(invoices))
        .layer(SessionLayer::required(
            config
                .clone()
                .require(has_permission("read:billing"))
                .require(email_verified()),
        ));
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/admin", get(admin))
        .nest("/billing", billing)
        .layer(SessionLayer::new(config))
}

// ---- The tests (in a real project: `tests/*.rs`). ----

/// The app with keys the test can sign with.
fn test_app() -> (Router, TestKey) {
    let key = TestKey::generate(Algorithm::ES256, "test-key");
    let keys = StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap();
    let config = SessionConfig::new(Verifier::builder(keys).build().unwrap());
    (app(config), key)
}

/// A data request (no `Accept: text/html`) carrying `token` in SuperTokens'
/// cookie; its status and body.
async fn get_with_token(app: &Router, path: &str, token: &str) -> (StatusCode, String) {
    let request = Request::get(path)
        .header(header::COOKIE, format!("sAccessToken={token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn a_signed_in_user_sees_the_dashboard() {
    let (app, key) = test_app();
    let token = TokenBuilder::supertokens("alice", 3600).sign(&key);

    let (status, body) = get_with_token(&app, "/dashboard", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "hello alice");
}

#[tokio::test]
async fn the_admin_page_needs_the_admin_role() {
    let (app, key) = test_app();

    let admin = TokenBuilder::supertokens("alice", 3600)
        .roles(["admin"])
        .sign(&key);
    let (status, body) = get_with_token(&app, "/admin", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "admin alice");

    let user = TokenBuilder::supertokens("bob", 3600)
        .roles(["user"])
        .sign(&key);
    let (status, body) = get_with_token(&app, "/admin", &user).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains(r#""message":"invalid claim""#), "{body}");
    assert!(body.contains(r#""id":"st-role""#), "{body}");
}

#[tokio::test]
async fn the_billing_group_needs_a_permission_and_a_verified_email() {
    let (app, key) = test_app();

    let allowed = TokenBuilder::supertokens("carol", 3600)
        .permissions(["read:billing"])
        .email_verified(true);
    let (status, body) = get_with_token(&app, "/billing/invoices", &allowed.sign(&key)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "invoices of carol");

    let unverified = allowed.clone().email_verified(false).sign(&key);
    let (status, body) = get_with_token(&app, "/billing/invoices", &unverified).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains(r#""id":"st-ev""#), "{body}");
}

#[tokio::test]
async fn an_expired_token_is_told_to_refresh() {
    let (app, key) = test_app();
    let expired = TokenBuilder::supertokens("alice", -5).sign(&key);

    let (status, body) = get_with_token(&app, "/dashboard", &expired).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, r#"{"message":"try refresh token"}"#);
}
