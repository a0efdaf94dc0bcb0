//! Server functions: how components read the session.
//!
//! On the server a component calls them directly (no HTTP); from a browser
//! they are `POST` data requests. Either way their body runs behind the
//! route group's [`SessionLayer`](ssr_session_axum::SessionLayer), and
//! `leptos_axum::extract` reads the outcome the layer recorded, so the
//! token is verified once per request.
//!
//! Each function's URL prefix names the layer in front of it (see
//! [`crate::server::router`]): `/api/session/…` needs a session, and its
//! needs-refresh answer is SuperTokens' `401 {"message":"try refresh token"}`,
//! which the frontend SDK understands; `/api/optional/…` runs without a token
//! too.
//!
//! Every server function is a `POST`, so the layer also refuses one that a
//! page of another origin made the browser send (a form it submits, a
//! `no-cors` fetch): the core's cross-origin check
//! ([`CsrfProtection`](ssr_session::CsrfProtection)) runs before the body.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use ssr_session_leptos_client::{SessionClient, SessionError};

/// What the pages show of a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// The SuperTokens user id (`sub`).
    pub user_id: String,
    /// `st-role`, empty when the token has none.
    pub roles: Vec<String>,
    /// `st-perm`, empty when the token has none.
    pub permissions: Vec<String>,
    /// `st-ev`: `None` when the token does not say.
    pub email_verified: Option<bool>,
    /// The tenant (`tId`).
    pub tenant: String,
    /// The access token's expiry (unix seconds).
    pub expires_at: i64,
}

#[cfg(feature = "ssr")]
impl From<&ssr_session::Session> for UserView {
    fn from(session: &ssr_session::Session) -> Self {
        let claims = session.claims();
        let owned = |values: Option<Vec<&str>>| {
            values
                .unwrap_or_default()
                .into_iter()
                .map(str::to_owned)
                .collect()
        };
        UserView {
            user_id: session.user_id().to_owned(),
            roles: owned(claims.roles()),
            permissions: owned(claims.permissions()),
            email_verified: claims.email_verified(),
            tenant: claims.tenant().to_owned(),
            expires_at: session.expires_at(),
        }
    }
}

/// The request's session. Behind `SessionLayer::required`: over HTTP, a
/// request without a valid session never reaches this body. From the
/// browser, [`SessionClient`] refreshes an expired session and calls again.
#[server(prefix = "/api/session", endpoint = "whoami", client = SessionClient)]
pub async fn whoami() -> Result<UserView, SessionError> {
    let session: ssr_session_axum::Session = leptos_axum::extract().await?;
    Ok(UserView::from(&session.0))
}

/// [`whoami`] with Leptos' own client (no session handling): what a call
/// meets without [`SessionClient`], for the browser tests to compare.
#[server(prefix = "/api/session", endpoint = "whoami_plain")]
pub async fn whoami_plain() -> Result<UserView, ServerFnError> {
    let session: ssr_session_axum::Session = leptos_axum::extract().await?;
    Ok(UserView::from(&session.0))
}

/// The session of an administrator. Behind `SessionLayer::required` with
/// the `admin` role: without it the layer answers SuperTokens' `403 invalid
/// claim`, which the client turns into [`SessionError::ClaimsFailed`].
#[server(prefix = "/api/admin", endpoint = "whoami", client = SessionClient)]
pub async fn admin_whoami() -> Result<UserView, SessionError> {
    let session: ssr_session_axum::Session = leptos_axum::extract().await?;
    Ok(UserView::from(&session.0))
}

/// The request's session, or `None` without an access token. Behind
/// `SessionLayer::optional`: expired and invalid tokens are answered by the
/// layer.
#[server(prefix = "/api/optional", endpoint = "current_user", client = SessionClient)]
pub async fn current_user() -> Result<Option<UserView>, SessionError> {
    let session: ssr_session_axum::OptionalSession = leptos_axum::extract().await?;
    Ok(session.0.as_ref().map(UserView::from))
}

/// What the settings page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// The SuperTokens user id (`sub`).
    pub user_id: String,
    /// The theme the user saved, `None` before the first save.
    pub theme: Option<String>,
}

/// The site's state, which the server router provides to every page and
/// server function.
#[cfg(feature = "ssr")]
fn site() -> Result<std::sync::Arc<ssr_session_example_support::site::Site>, ServerFnError> {
    use_context().ok_or_else(|| ServerFnError::new("the site's state is not provided"))
}

/// The request's user and the theme they saved.
#[server(prefix = "/api/session", endpoint = "account", client = SessionClient)]
pub async fn account() -> Result<AccountView, SessionError> {
    let session: ssr_session_axum::Session = leptos_axum::extract().await?;
    let theme = site()?.theme_of(session.user_id());
    Ok(AccountView {
        user_id: session.user_id().to_owned(),
        theme,
    })
}

/// Saves the request's user's theme: a server function that changes
/// something, posted by the settings page's plain HTML form (Leptos then
/// redirects back to the page) or by the hydrated client.
#[server(prefix = "/api/session", endpoint = "save_theme", client = SessionClient)]
pub async fn save_theme(
    /// The theme to save (the form's `theme` field).
    theme: String,
) -> Result<(), SessionError> {
    let session: ssr_session_axum::Session = leptos_axum::extract().await?;
    site()?.save_theme(session.user_id(), &theme);
    Ok(())
}
