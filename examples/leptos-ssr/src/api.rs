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

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

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
/// request without a valid session never reaches this body.
#[server(prefix = "/api/session", endpoint = "whoami")]
pub async fn whoami() -> Result<UserView, ServerFnError> {
    let session: ssr_session_axum::Session = leptos_axum::extract().await?;
    Ok(UserView::from(&session.0))
}

/// The request's session, or `None` without an access token. Behind
/// `SessionLayer::optional`: expired and invalid tokens are answered by the
/// layer.
#[server(prefix = "/api/optional", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, ServerFnError> {
    let session: ssr_session_axum::OptionalSession = leptos_axum::extract().await?;
    Ok(session.0.as_ref().map(UserView::from))
}
