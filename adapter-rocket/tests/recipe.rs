//! Recipe: test your own Rocket app with a signed-in user.
//!
//! Build the app's `Rocket` from a [`SessionConfig`] (in `main`, its keys
//! come from `JwksKeyProvider::for_supertokens(api_domain)`); in tests, give
//! it the keys of a [`TestKey`] and send tokens minted with [`TokenBuilder`]
//! through Rocket's local client. Needs, in the app's `Cargo.toml`:
//!
//! ```toml
//! [dev-dependencies]
//! ssr-session = { version = "0.1", features = ["testing"] }
//! tokio = { version = "1", features = ["macros", "rt"] }
//! ```

use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket};
use ssr_session::keys::{Algorithm, StaticKeys};
use ssr_session::supertokens::{email_verified, has_permission, has_role};
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session_rocket::{Require, Session, SessionConfig, Verifier, catchers};

// ---- The app (in a real project: `src/lib.rs`). ----

ssr_session_rocket::requirement!(
    /// The `admin` role.
    Admin = has_role("admin")
);

ssr_session_rocket::requirement!(
    /// The permission to read invoices.
    ReadBilling = has_permission("read:billing")
);

ssr_session_rocket::requirement!(
    /// A verified email.
    EmailVerified = email_verified()
);

#[rocket::get("/dashboard")]
fn dashboard(session: Session) -> String {
    format!("hello {}", session.user_id())
}

#[rocket::get("/admin")]
fn admin(session: Require<Admin>) -> String {
    format!("admin {}", session.user_id())
}

// Rocket has no refusing middleware: a group's requirements are guards on
// each of its routes (verified once per request however many there are).
#[rocket::get("/billing/invoices")]
fn invoices(session: Require<ReadBilling>, _verified: Require<EmailVerified>) -> String {
    format!("invoices of {}", session.user_id())
}

/// The whole app, from its session configuration.
fn app(config: SessionConfig) -> Rocket<Build> {
    rocket::build()
        .manage(config)
        .register("/", catchers())
        .mount("/", rocket::routes![dashboard, admin, invoices])
}

// ---- The tests (in a real project: `tests/*.rs`). ----

/// The app with keys the test can sign with.
async fn test_app() -> (Client, TestKey) {
    let key = TestKey::generate(Algorithm::ES256, "test-key");
    let keys = StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap();
    let config = SessionConfig::new(Verifier::builder(keys).build().unwrap());
    let client = Client::tracked(app(config)).await.unwrap();
    (client, key)
}

/// A data request (no `Accept: text/html`) carrying `token` in SuperTokens'
/// cookie; its status and body.
async fn get_with_token(client: &Client, path: &str, token: &str) -> (Status, String) {
    let response = client
        .get(path)
        .cookie(Cookie::new("sAccessToken", token.to_owned()))
        .dispatch()
        .await;
    let status = response.status();
    (status, response.into_string().await.unwrap_or_default())
}

#[rocket::async_test]
async fn a_signed_in_user_sees_the_dashboard() {
    let (client, key) = test_app().await;
    let token = TokenBuilder::supertokens("alice", 3600).sign(&key);

    let (status, body) = get_with_token(&client, "/dashboard", &token).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body, "hello alice");
}

#[rocket::async_test]
async fn the_admin_page_needs_the_admin_role() {
    let (client, key) = test_app().await;

    let admin = TokenBuilder::supertokens("alice", 3600)
        .roles(["admin"])
        .sign(&key);
    let (status, body) = get_with_token(&client, "/admin", &admin).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body, "admin alice");

    let user = TokenBuilder::supertokens("bob", 3600)
        .roles(["user"])
        .sign(&key);
    let (status, body) = get_with_token(&client, "/admin", &user).await;
    assert_eq!(status, Status::Forbidden);
    assert!(body.contains(r#""message":"invalid claim""#), "{body}");
    assert!(body.contains(r#""id":"st-role""#), "{body}");
}

#[rocket::async_test]
async fn the_billing_pages_need_a_permission_and_a_verified_email() {
    let (client, key) = test_app().await;

    let allowed = TokenBuilder::supertokens("carol", 3600)
        .permissions(["read:billing"])
        .email_verified(true);
    let (status, body) = get_with_token(&client, "/billing/invoices", &allowed.sign(&key)).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body, "invoices of carol");

    let unverified = allowed.clone().email_verified(false).sign(&key);
    let (status, body) = get_with_token(&client, "/billing/invoices", &unverified).await;
    assert_eq!(status, Status::Forbidden);
    assert!(body.contains(r#""id":"st-ev""#), "{body}");
}

#[rocket::async_test]
async fn an_expired_token_is_told_to_refresh() {
    let (client, key) = test_app().await;
    let expired = TokenBuilder::supertokens("alice", -5).sign(&key);

    let (status, body) = get_with_token(&client, "/dashboard", &expired).await;
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(body, r#"{"message":"try refresh token"}"#);
}
