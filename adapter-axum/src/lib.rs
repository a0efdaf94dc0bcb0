//! [axum](https://docs.rs/axum/0.8) extractors for [`ssr_session`]: verify a
//! SuperTokens-style access token while rendering a page, and answer with the
//! core's responses when the session is missing, expired, invalid or cannot
//! be checked.
//!
//! | extractor | gives | answers instead (see [Rejections](#rejections)) |
//! |---|---|---|
//! | [`Session<C>`] | the verified session | every outcome but *valid* |
//! | `Option<Session<C>>` | `None` when the request has no token at all | expired, invalid, unavailable |
//! | [`Outcome<C>`] | the [`SessionOutcome`], whatever it is | never |
//! | [`Props`] | the Next.js guide's [`SessionProps`] | invalid, unavailable |
//!
//! This crate depends on `axum-core` only, as axum advises library authors.
//! All policy lives in [`ssr_session`]; this crate reads the request, takes
//! the [`SessionConfig`] from the router's state, verifies once per request
//! and converts the core's [`ResponseData`] into a [`Response`].
//!
//! # Quick start
//!
//! ```
//! use axum::{Router, routing::get};
//! use ssr_session::{JwksKeyProvider, SessionConfig, Verifier};
//! use ssr_session_axum::Session;
//! use tower::ServiceExt as _;
//!
//! async fn dashboard(Session(session): Session) -> String {
//!     format!("Hello, {}", session.user_id())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = JwksKeyProvider::for_supertokens("https://api.example.com").build()?;
//! let config = SessionConfig::new(Verifier::builder(keys).build()?);
//! let app = Router::new().route("/dashboard", get(dashboard)).with_state(config);
//!
//! // No `sAccessToken` cookie: a data request is told to refresh.
//! let request = http::Request::get("/dashboard").body(axum::body::Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), 401);
//! let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
//! assert_eq!(&body[..], br#"{"message":"try refresh token"}"#);
//! # Ok(())
//! # }
//! ```
//!
//! # Where the configuration comes from
//!
//! Every extractor takes the configuration from the router's state through
//! [`FromRef`], like axum's `State`: the state may be the [`SessionConfig`]
//! itself or any app state with `SessionConfig<C>: FromRef<AppState>`
//! (`#[derive(FromRef)]` with axum's `macros` feature, or a three-line impl).
//!
//! ```
//! use axum::extract::FromRef;
//! use ssr_session::SessionConfig;
//!
//! #[derive(Clone)]
//! struct AppState {
//!     session: SessionConfig,
//!     site_name: &'static str,
//! }
//!
//! impl FromRef<AppState> for SessionConfig {
//!     fn from_ref(state: &AppState) -> Self {
//!         state.session.clone()
//!     }
//! }
//! ```
//!
//! So a forgotten configuration never reaches a request: the router does
//! not compile (`#[axum::debug_handler]` turns axum's generic handler error
//! into one that names the extractor and the state). That is why the 500 that the other
//! adapters send for a missing configuration
//! ([`ResponseData::missing_setup`]) cannot happen here. Request
//! extensions were considered as a second source and left out: one
//! extractor cannot use both a `FromRef` bound and a runtime fallback, and
//! two sources would make it unclear which configuration a handler used.
//!
//! ```compile_fail
//! # use axum::{Router, routing::get};
//! # use ssr_session_axum::Session;
//! async fn dashboard(_: Session) {}
//! // No SessionConfig in the state: refused at compile time.
//! let app: Router = Router::new().route("/dashboard", get(dashboard));
//! ```
//!
//! # Rejections
//!
//! What a request without a usable session is answered with, by default
//! ([`DefaultResponses`](ssr_session::DefaultResponses); replace it with
//! [`SessionConfig::responses`]). *HTML* means the `Accept` header includes
//! `text/html`.
//!
//! | situation | HTML navigation | other requests |
//! |---|---|---|
//! | needs refresh (no token, expired) | refresh bridge page (status 401 by default) | `401 {"message":"try refresh token"}` |
//! | invalid | `303` to the login URL with the redirect-back parameter, `sAccessToken` expired | `401 {"message":"unauthorised"}` |
//! | claim validator failed | `403 {"message":"invalid claim","claimValidationErrors":[…]}` | same |
//! | unavailable (key source down) | `503`, `Retry-After`, a short page | `503 {"message":"session verification unavailable"}` |
//!
//! All carry `Cache-Control: no-store`. [`Props`] answers *needs refresh*
//! with `{"fromSupertokens":"needs-refresh"}` instead, and `Option<Session>`
//! gives `None` for a request without a token.
//!
//! # Once per request
//!
//! A handler (or a middleware and a handler) may use several of these
//! extractors without verifying twice: a computed outcome is kept in the
//! request's extensions, and a verified-token cache hit is simply looked up
//! again (which costs what reading the memo would, and saves storing it).
//!
//! # Nested routers
//!
//! The redirect-back parameter is the request's URI as the handler sees it.
//! Under `Router::nest` axum strips the prefix (the full URI is axum's
//! `OriginalUri`, which lives in `axum`, not `axum-core`), so the way back
//! would miss it: route pages that need a session at the top level, or
//! combine routers with `Router::merge`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::ops::Deref;

use axum_core::body::Body;
use axum_core::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use ssr_session::{
    Refusal, RequestInfo, ResponseData, SessionConfig, SessionOutcome, SessionProps,
    SuperTokensClaims,
};

/// A required session: the handler runs only when the token is valid.
///
/// `Option<Session<C>>` is the optional form (SuperTokens'
/// `sessionRequired: false`): `None` when the request carries no token at
/// all; an expired, invalid or unavailable session is still rejected.
///
/// # Rejections
///
/// [`SessionRejection`] with the core's answer for every outcome that is not
/// valid (see the [crate docs](crate#rejections)).
#[derive(Debug, Clone)]
pub struct Session<C = SuperTokensClaims>(pub ssr_session::Session<C>);

impl<C> Deref for Session<C> {
    type Target = ssr_session::Session<C>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The session's outcome, whatever it is; never rejects. For pages that
/// render something different for each outcome.
#[derive(Debug)]
pub struct Outcome<C = SuperTokensClaims>(pub SessionOutcome<C>);

impl<C> Deref for Outcome<C> {
    type Target = SessionOutcome<C>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The page props of SuperTokens' Next.js guide: `{"userId":…}` or
/// `{"fromSupertokens":"needs-refresh"}`. As a response it is that JSON,
/// with status 200.
///
/// Reads the default claims' configuration, `SessionConfig<SuperTokensClaims>`.
///
/// # Rejections
///
/// [`SessionRejection`] for an invalid or unavailable session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Props(pub SessionProps);

impl IntoResponse for Props {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        into_response(ResponseData::new(200, "application/json", body))
    }
}

/// The answer to a request without a usable session, as the core rendered
/// it (status, headers, body).
#[derive(Debug, Clone)]
pub struct SessionRejection {
    response: ResponseData,
}

impl SessionRejection {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The response body, as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.response.body).into_owned()
    }

    /// The whole answer, as plain data.
    pub fn response_data(&self) -> &ResponseData {
        &self.response
    }
}

impl From<ResponseData> for SessionRejection {
    fn from(response: ResponseData) -> Self {
        Self { response }
    }
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session rejected with status {}", self.response.status)
    }
}

impl std::error::Error for SessionRejection {}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        tracing::trace!(
            target: "ssr_session_axum::rejection",
            status = self.response.status,
            rejection_type = "SessionRejection",
            "rejecting request",
        );
        into_response(self.response)
    }
}

/// Converts the core's [`ResponseData`] into an axum [`Response`]: the
/// status, every header in order (repeated names kept), the body. A header
/// that is not valid HTTP is dropped and logged; an invalid status becomes 500.
pub fn into_response(data: ResponseData) -> Response {
    let status = StatusCode::from_u16(data.status).unwrap_or_else(|_| {
        tracing::error!(target: "ssr_session_axum", status = data.status, "invalid status code");
        StatusCode::INTERNAL_SERVER_ERROR
    });
    let mut response = Response::new(Body::from(data.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in data.headers {
        match (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => {
                tracing::error!(target: "ssr_session_axum", header = %name, "invalid header dropped")
            }
        }
    }
    response
}

/// A computed outcome, kept in the request's extensions so that the token is
/// verified once per request. Held by value, without an extra `Arc`: it is
/// cloned once per extractor, and a valid one's clone is a reference count.
struct Memo<C>(SessionOutcome<C>);

impl<C> Clone for Memo<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// The configuration from the state, and the request's outcome: a token-cache
/// hit as is (looking it up again is as cheap as a memo), else memoised.
async fn outcome<S, C>(parts: &mut Parts, state: &S) -> (SessionConfig<C>, SessionOutcome<C>)
where
    SessionConfig<C>: FromRef<S>,
    C: DeserializeOwned + Send + Sync + 'static,
{
    let config = SessionConfig::<C>::from_ref(state);
    if let Some(session) = config.cached_session(&parts.headers) {
        return (config, SessionOutcome::Valid(session));
    }
    if let Some(Memo(outcome)) = parts.extensions.get::<Memo<C>>() {
        return (config, outcome.clone());
    }
    let outcome = config.outcome(&parts.headers).await;
    parts.extensions.insert(Memo(outcome.clone()));
    (config, outcome)
}

/// Renders a refusal; the request is looked at only here.
fn reject<C>(config: &SessionConfig<C>, parts: &Parts, refusal: Refusal) -> SessionRejection
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let request = RequestInfo::new(&parts.headers, path_and_query);
    config.respond(&refusal, &request).into()
}

impl<S, C> FromRequestParts<S> for Session<C>
where
    S: Send + Sync,
    SessionConfig<C>: FromRef<S>,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (config, outcome) = outcome(parts, state).await;
        match config.require(outcome) {
            Ok(session) => Ok(Self(session)),
            Err(refusal) => Err(reject(&config, parts, refusal)),
        }
    }
}

impl<S, C> OptionalFromRequestParts<S> for Session<C>
where
    S: Send + Sync,
    SessionConfig<C>: FromRef<S>,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let (config, outcome) = outcome(parts, state).await;
        match config.optional(outcome) {
            Ok(session) => Ok(session.map(Self)),
            Err(refusal) => Err(reject(&config, parts, refusal)),
        }
    }
}

impl<S, C> FromRequestParts<S> for Outcome<C>
where
    S: Send + Sync,
    SessionConfig<C>: FromRef<S>,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (_, outcome) = outcome(parts, state).await;
        Ok(Self(outcome))
    }
}

impl<S> FromRequestParts<S> for Props
where
    S: Send + Sync,
    SessionConfig: FromRef<S>,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (config, outcome) = outcome::<S, SuperTokensClaims>(parts, state).await;
        match config.props(outcome) {
            Ok(props) => Ok(Self(props)),
            Err(refusal) => Err(reject(&config, parts, refusal)),
        }
    }
}
