//! Recipe: test your own actix-web app with a signed-in user.
//!
//! Build the app's routes from a [`SessionConfig`] (in `main`, its keys come
//! from `JwksKeyProvider::for_supertokens(api_domain)`); in tests, give it
//! the keys of a [`TestKey`] and send tokens minted with [`TokenBuilder`]
//! through `actix_web::test`. Needs, in the app's `Cargo.toml`:
//!
//! ```toml
//! [dev-dependencies]
//! ssr-session = { version = "0.1", features = ["testing"] }
//! ```

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::{App, test, web};
use ssr_session::keys::{Algorithm, StaticKeys};
use ssr_session::supertokens::{email_verified, has_permission, has_role};
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session_actix::{Require, Session, SessionConfig, SessionMiddleware, Verifier};

// ---- The app (in a real project: `src/lib.rs`). ----

ssr_session_actix::requirement!(
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

/// The whole app's routes, from its session configuration (as
/// `App::new().configure(routes(config))` in `main`).
fn routes(config: SessionConfig) -> impl FnOnce(&mut web::ServiceConfig) {
    move |app| {
        app.app_data(web::Data::new(config.clone()))
            .route("/dashboard", web::get().to(dashboard))
            .route("/admin", web::get().to(admin))
            // A scope that needs a permission and a verified email.
            .service(
                web::scope("/billing")
                    .wrap(SessionMiddleware::required(
                        config
                            .require(has_permission("read:billing"))
                            .require(email_verified()),
                    ))
                    .route("/invoices", web::get().to(invoices)),
            );
    }
}

// ---- The tests (in a real project: `tests/*.rs`). ----

/// The app with keys the test can sign with.
async fn test_app() -> (
    impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
    TestKey,
) {
    let key = TestKey::generate(Algorithm::ES256, "test-key");
    let keys = StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap();
    let config = SessionConfig::new(Verifier::builder(keys).build().unwrap());
    let app = test::init_service(App::new().configure(routes(config))).await;
    (app, key)
}

/// A data request (no `Accept: text/html`) carrying `token` in SuperTokens'
/// cookie; its status and body.
async fn get_with_token(
    app: &impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
    path: &str,
    token: &str,
) -> (StatusCode, String) {
    let request = test::TestRequest::get()
        .uri(path)
        .insert_header((header::COOKIE, format!("sAccessToken={token}")))
        .to_request();
    let response = test::call_service(app, request).await;
    let status = response.status();
    let body = test::read_body(response).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn a_signed_in_user_sees_the_dashboard() {
    let (app, key) = test_app().await;
    let token = TokenBuilder::supertokens("alice", 3600).sign(&key);

    let (status, body) = get_with_token(&app, "/dashboard", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "hello alice");
}

#[actix_web::test]
async fn the_admin_page_needs_the_admin_role() {
    let (app, key) = test_app().await;

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

#[actix_web::test]
async fn the_billing_scope_needs_a_permission_and_a_verified_email() {
    let (app, key) = test_app().await;

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

#[actix_web::test]
async fn an_expired_token_is_told_to_refresh() {
    let (app, key) = test_app().await;
    let expired = TokenBuilder::supertokens("alice", -5).sign(&key);

    let (status, body) = get_with_token(&app, "/dashboard", &expired).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, r#"{"message":"try refresh token"}"#);
}
