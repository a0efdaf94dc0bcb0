//! [axum](https://docs.rs/axum/0.8) support for [`ssr_session`]: a tower
//! layer for whole route groups and extractors for handlers, answering with
//! the core's responses when the session is missing, expired, invalid or
//! cannot be checked.
//!
//! | entry point | gives | answers instead (see [Rejections](#rejections)) |
//! |---|---|---|
//! | [`SessionLayer::required`] | every route behind it needs a valid session | every outcome but *valid* |
//! | [`SessionLayer::optional`] | routes behind it run without a token too | expired, invalid, unavailable |
//! | [`SessionLayer::observe`] | every route runs; the outcome is recorded | never |
//! | [`SessionLayer::new`] | nothing is checked until an extractor asks | never |
//! | [`Session<C>`] | the verified session | every outcome but *valid* |
//! | `Option<Session<C>>`, [`OptionalSession<C>`] | `None` when the request has no token at all | expired, invalid, unavailable |
//! | [`Require<V, C>`] | the session, when it also meets requirement `V` | those of `Session`, and `403 invalid claim` |
//! | [`Verification<C>`] | the [`SessionOutcome`], whatever it is | never |
//! | [`Props<C>`] | the Next.js guide's [`SessionProps`] | invalid, unavailable |
//!
//! The layer puts the [`SessionConfig`] in the request's extensions (in
//! the request's memo, one entry), so handlers need nothing in their
//! state; every extractor behind it reads it from there. All policy lives in [`ssr_session`]: this crate reads the
//! request, runs the core's pipeline and converts its answer into a
//! [`Response`].
//!
//! # Quick start
//!
//! ```
//! use axum::{Router, routing::get};
//! use ssr_session::{JwksKeyProvider, SessionConfig, Verifier};
//! use ssr_session_axum::{OptionalSession, Session, SessionLayer};
//! use tower::ServiceExt as _;
//!
//! async fn dashboard(session: Session) -> String {
//!     format!("Hello, {}", session.user_id())
//! }
//!
//! async fn home(session: OptionalSession) -> &'static str {
//!     if session.is_some() { "welcome back" } else { "welcome" }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = JwksKeyProvider::for_supertokens("https://api.example.com").build()?;
//! let config = SessionConfig::new(Verifier::builder(keys).build()?);
//! let app = Router::new()
//!     .nest("/app", Router::new().route("/dashboard", get(dashboard))
//!         .layer(SessionLayer::required(config.clone())))
//!     .route("/", get(home))
//!     .layer(SessionLayer::new(config));
//!
//! // No `sAccessToken` cookie: a data request is told to refresh.
//! let request = http::Request::get("/app/dashboard").body(axum::body::Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), 401);
//! let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
//! assert_eq!(&body[..], br#"{"message":"try refresh token"}"#);
//! # Ok(())
//! # }
//! ```
//!
//! A route group with its own requirement: give the group's layer a
//! configuration that [requires](SessionConfig::require) it. A single route
//! states it in its signature with [`Require`] (see
//! [`ssr_session::requirement!`]).
//!
//! # Rejections
//!
//! What a request without a usable session is answered with, by default
//! ([`DefaultResponses`]; replace it with
//! [`SessionConfig::responses`]). A *navigation* is a request whose
//! `Accept` header includes `text/html`.
//!
//! | situation | navigation | other requests |
//! |---|---|---|
//! | needs refresh (no token, expired) | refresh bridge page (status 401 by default) | `401 {"message":"try refresh token"}` |
//! | invalid, revoked | `303` to the login URL with the redirect-back parameter, `sAccessToken` expired | `401 {"message":"unauthorised"}` |
//! | a requirement or claim validator refused | `403 {"message":"invalid claim","claimValidationErrors":[…]}` | same |
//! | unavailable (key source down) | `503`, `Retry-After`, a short page | `503 {"message":"session verification unavailable"}` |
//! | no [`SessionLayer`] in front of an extractor | `500`, logged at `error` | same |
//!
//! All carry `Cache-Control: no-store`. [`Props`] answers *needs refresh*
//! with `{"fromSupertokens":"needs-refresh"}` instead. The bridge page
//! reloads a `GET` page after the refresh, and sends a form post back to
//! the page it came from, never posting it again.
//!
//! # Once per request
//!
//! A layer and the extractors behind it share one outcome: a checking
//! layer keeps the outcome it decided on, as its configuration judged it,
//! in the request's memo (one extensions entry, with the configuration),
//! so the extractors behind it read no token and judge the group's
//! requirements no second time (a `Require<V>` judges only `V`). Without
//! a checking layer, a computed outcome is memoised, and a verified-token
//! cache hit is simply looked up again (which costs what reading the memo
//! would). The redirect-back parameter is the full original URI, also
//! under [`Router::nest`](https://docs.rs/axum/0.8/axum/struct.Router.html#method.nest)
//! (axum's `OriginalUri`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use futures_util::future::{Either, Map};
use http::request::Parts;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use ssr_session::{
    SessionProps, adapter::Extract, adapter::GuardMode, adapter::Memo, adapter::Rejection,
    adapter::RequestView, respond::ResponseData, source::Headers,
};
use tower_layer::Layer;
use tower_service::Service;

/// The core crate, re-exported so that an app depends on this adapter alone
/// (`ssr_session_axum::ssr_session::keys::StaticKeys` and so on).
pub use ssr_session;
/// The core's everyday types, re-exported. The core's
/// [`Session`](ssr_session::Session) is not: this crate's [`Session`]
/// extractor derefs to it.
#[doc(no_inline)]
pub use ssr_session::{
    CsrfProtection, DefaultResponses, JwksKeyProvider, MemoryRevocations, NeedsRefreshReason,
    Requirement, Revocation, RevocationList, SessionConfig, SessionOutcome, SuperTokensClaims,
    Verifier, requirement,
};

ssr_session::__adapter_types!();

/// What an extractor answers when no layer put a configuration in front of it.
const SETUP: &str = "Router::layer(SessionLayer::new(session_config))";

/// The request, as the core's pipeline sees it.
struct Request<'a>(&'a mut Parts);

impl<C: Send + Sync + 'static> RequestView<C> for Request<'_> {
    fn headers(&self) -> &dyn Headers {
        &self.0.headers
    }

    fn method(&self) -> &str {
        self.0.method.as_str()
    }

    fn path_and_query(&self) -> Cow<'_, str> {
        full_path(&self.0.uri, &self.0.extensions)
    }

    fn host(&self) -> Option<Cow<'_, str>> {
        host(&self.0.headers, &self.0.uri)
    }

    fn memo(&self) -> Option<Memo<C>> {
        self.0.extensions.get::<Memo<C>>().cloned()
    }

    fn keep_memo(&mut self, memo: Memo<C>) -> Option<Memo<C>> {
        self.0.extensions.insert(memo);
        None
    }
}

/// A whole request: what a layer looks at to decide at once.
struct View<'a, B>(&'a mut http::Request<B>);

impl<C: Send + Sync + 'static, B> RequestView<C> for View<'_, B> {
    fn headers(&self) -> &dyn Headers {
        self.0.headers()
    }

    fn method(&self) -> &str {
        self.0.method().as_str()
    }

    fn path_and_query(&self) -> Cow<'_, str> {
        full_path(self.0.uri(), self.0.extensions())
    }

    fn host(&self) -> Option<Cow<'_, str>> {
        host(self.0.headers(), self.0.uri())
    }

    fn memo(&self) -> Option<Memo<C>> {
        self.0.extensions().get::<Memo<C>>().cloned()
    }

    fn keep_memo(&mut self, memo: Memo<C>) -> Option<Memo<C>> {
        self.0.extensions_mut().insert(memo);
        None
    }
}

/// The path and query the browser asked for: axum's `OriginalUri` under
/// `Router::nest`, else the request's.
fn full_path<'a>(uri: &'a http::Uri, extensions: &'a http::Extensions) -> Cow<'a, str> {
    let uri = extensions
        .get::<OriginalUri>()
        .map_or(uri, |original| &original.0);
    Cow::Borrowed(uri.path_and_query().map_or("/", |p| p.as_str()))
}

/// The host the client addressed: `Host`, else HTTP/2's `:authority`
/// (which hyper keeps in the URI).
fn host<'a>(headers: &'a http::HeaderMap, uri: &'a http::Uri) -> Option<Cow<'a, str>> {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    host.or_else(|| uri.authority().map(|a| a.as_str()))
        .map(Cow::Borrowed)
}

/// Runs the core's pipeline with the configuration the layer provided (in
/// the request's memo).
async fn extract<T, C>(
    parts: &mut Parts,
    requirement: Option<&dyn Requirement<C>>,
) -> Result<T, SessionRejection>
where
    T: Extract<C>,
    C: DeserializeOwned + Send + Sync + 'static,
{
    let Some(memo) = parts.extensions.get::<Memo<C>>().cloned() else {
        tracing::error!(
            target: "ssr_session_axum",
            "no `{}` for {}: add {SETUP}",
            std::any::type_name::<SessionConfig<C>>(),
            parts.uri.path(),
        );
        return Err(Rejection::missing_setup(SETUP).into());
    };
    let value = memo.extract(&mut Request(parts), requirement).await?;
    Ok(value)
}

macro_rules! extractor {
    ($name:ty, $value:ty, $make:expr) => {
        impl<S, C> FromRequestParts<S> for $name
        where
            S: Send + Sync,
            C: DeserializeOwned + Send + Sync + 'static,
        {
            type Rejection = SessionRejection;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
                extract::<$value, C>(parts, None).await.map($make)
            }
        }
    };
}

extractor!(Session<C>, ssr_session::Session<C>, Session);
extractor!(
    OptionalSession<C>,
    Option<ssr_session::Session<C>>,
    OptionalSession
);
extractor!(Verification<C>, SessionOutcome<C>, Verification);
extractor!(Props<C>, SessionProps, |props| Props(
    props,
    std::marker::PhantomData
));

impl<S, C> OptionalFromRequestParts<S> for Session<C>
where
    S: Send + Sync,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        extract::<Option<_>, C>(parts, None)
            .await
            .map(|s| s.map(Self))
    }
}

impl<S, V, C> FromRequestParts<S> for Require<V, C>
where
    S: Send + Sync,
    V: Requirement<C> + Default,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let requirement = V::default();
        let session = extract::<ssr_session::Session<C>, C>(parts, Some(&requirement)).await?;
        Ok(Self(session, std::marker::PhantomData))
    }
}

impl<C> IntoResponse for Props<C> {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        into_response(ResponseData::new(200, "application/json", body))
    }
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        tracing::trace!(
            target: "ssr_session_axum::rejection",
            status = self.0.status(),
            reason = self.0.reason(),
            rejection_type = "SessionRejection",
            "rejecting request",
        );
        into_response(self.0.into_response_data())
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

ssr_session::__adapter_group!(
    /// A tower [`Layer`] that puts the [`SessionConfig`] in front of a route
    /// group and, in the modes that check, answers for the group.
    ///
    /// Works with `Router::layer`, `Router::route_layer`, `nest` and `merge`.
    /// The configuration's [requirements](SessionConfig::require) apply to the
    /// whole group, extractors included.
    ///
    /// # Rejections
    /// In [`required`](Self::required) mode every outcome but valid; in
    /// [`optional`](Self::optional) mode expired, invalid and unavailable
    /// sessions; with the core's answers (see the [crate docs](crate#rejections)).
    SessionLayer
);

impl<S, C> Layer<S> for SessionLayer<C> {
    type Service = SessionService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around a route group.
pub struct SessionService<S, C = SuperTokensClaims> {
    inner: S,
    layer: SessionLayer<C>,
}

impl<S: Clone, C> Clone for SessionService<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S, C> std::fmt::Debug for SessionService<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

/// The inner service's answer as a response.
fn into_axum_response<T: IntoResponse>(
    answer: Result<T, Infallible>,
) -> Result<Response, Infallible> {
    answer.map(IntoResponse::into_response)
}

/// The future of [`SessionService`]: the inner service's, when the layer
/// decided at once (a verified-token cache hit, no token, or nothing to
/// check), else the whole pipeline boxed.
type ServiceFuture<F, T> = Either<
    Map<F, fn(Result<T, Infallible>) -> Result<Response, Infallible>>,
    Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>,
>;

impl<S, C, B> Service<http::Request<B>> for SessionService<S, C>
where
    S: Service<http::Request<B>, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send,
    C: DeserializeOwned + Send + Sync + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ServiceFuture<S::Future, S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let config = &self.layer.config;
        let decided = match self.layer.mode {
            None => {
                config.provide(&mut View(&mut request));
                Some(Ok(()))
            }
            Some(mode) => config.guard_now(&mut View(&mut request), mode),
        };
        match decided {
            Some(Ok(())) => {
                // Called at once, so the service made ready takes the request.
                let answer = self.inner.call(request);
                Either::Left(answer.map(into_axum_response::<S::Response> as fn(_) -> _))
            }
            Some(Err(rejection)) => {
                let response = SessionRejection(rejection).into_response();
                Either::Right(Box::pin(std::future::ready(Ok(response))))
            }
            None => {
                // Called later: the service made ready leaves with the request.
                let ready = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, ready);
                let (mut parts, body) = request.into_parts();
                let (config, mode) = (
                    config.clone(),
                    self.layer.mode.unwrap_or(GuardMode::Observe),
                );
                Either::Right(Box::pin(async move {
                    if let Err(rejection) = config.guard(&mut Request(&mut parts), mode).await {
                        return Ok(SessionRejection(rejection).into_response());
                    }
                    let response = inner.call(http::Request::from_parts(parts, body)).await;
                    response.map(IntoResponse::into_response)
                }))
            }
        }
    }
}
