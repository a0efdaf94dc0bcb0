//! A Leptos server-function client for sessions that
//! [ssr-session](https://docs.rs/ssr-session) verifies: what a hydrated page
//! needs once the access token expires while it is open.
//!
//! ```
//! use leptos::prelude::*;
//! use leptos::server_fn::ServerFn as _;
//! use ssr_session_leptos_client::{SessionClient, SessionError};
//!
//! /// The signed-in user's id.
//! #[server(prefix = "/api/session", endpoint = "user_id", client = SessionClient)]
//! pub async fn user_id() -> Result<String, SessionError> {
//!     // In an app behind the layer (see examples/leptos-ssr/src/api.rs):
//!     // let session: ssr_session_axum::Session = leptos_axum::extract().await?;
//!     Ok("alice".to_owned())
//! }
//!
//! // Routed behind `SessionLayer::required` on `/api/session/{*name}`.
//! assert_eq!(UserId::PATH, "/api/session/user_id");
//! ```
//!
//! Nothing changes at the call sites: `whoami().await` is the same call,
//! with the session handled on the way.
//!
//! # What the client does
//!
//! | the layer answers | the client |
//! |---|---|
//! | anything but `401` | hands the answer to Leptos as it came: a valid session costs no extra request |
//! | `401` (SuperTokens' `try refresh token`) | refreshes the session **once** (`POST {refresh url}`, `rid: session`, credentials included), shared by every call of the page that meets a `401` meanwhile, then sends the call again, once |
//! | `401`, and the refresh fails | sends the browser to the login page with the way back (`?redirectToPath=/the/page`); the call ends with [`SessionError::SignInRequired`] |
//! | `403 {"message":"invalid claim",…}` | the call ends with [`SessionError::ClaimsFailed`]: the SDK-format failures, for the component to show |
//!
//! # With supertokens-website on the page
//!
//! The SuperTokens frontend SDK replaces `window.fetch` with one that
//! refreshes on a `401` by itself (and keeps the original as
//! `window.__supertokensOriginalFetch`). When it is there, this client steps
//! aside: it never refreshes, so a page makes one refresh whichever of the two
//! meets the `401` first. A `401` that still comes through means the SDK
//! could not refresh: the client then only goes to the login page. (The SDK
//! handles only requests to its own `apiDomain` / `sessionTokenBackendDomain`:
//! an app that loads it serves its server functions there, as the example
//! does on one origin.)
//!
//! # Configuration
//!
//! [`configure`] sets where the refresh call and the login page are; the
//! defaults are SuperTokens' on the page's own origin (`/auth/session/refresh`
//! and `/auth`).
//!
//! # Targets
//!
//! The crate builds for any target, because a server build of a Leptos app
//! names the client type too; it only ever runs in a browser
//! (`wasm32-unknown-unknown`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod browser;
mod client;
mod error;
mod refresh;
mod request;

pub use client::SessionClient;
pub use error::{ClaimFailure, SessionError, SessionErrorEncoding};
pub use refresh::{SessionClientConfig, configure, is_supertokens_website_loaded};
pub use request::SessionRequest;
