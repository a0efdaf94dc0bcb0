//! [actix-web](https://actix.rs) extractors for [`ssr_session`]: verify
//! SuperTokens-style access tokens while rendering pages on the server.
//!
//! The adapter only converts: it reads the request's headers, takes the
//! [`SessionConfig`] from `web::Data`, verifies once per request and turns
//! the core's [`ResponseData`] into an actix response. Every decision (which
//! token, which outcome, which answer) is made by [`ssr_session`].
//!
//! | extractor | gives | rejects with |
//! |---|---|---|
//! | [`Session<C>`] | a valid session | every other outcome's response |
//! | [`OptionalSession<C>`] | `Some` session, or `None` when the request has no token | expired, invalid or unavailable sessions' responses |
//! | [`Outcome<C>`] | the [`SessionOutcome`] itself | never (but for a missing configuration) |
//! | [`Props<C>`] | the [`SessionProps`] of SuperTokens' Next.js guide | invalid or unavailable sessions' responses |
//!
//! actix's own `Option<T>` extractor swallows errors, so an expired or
//! forged token would silently read as "signed out": use
//! [`OptionalSession`] instead.
//!
//! # Quick start
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use ssr_session::{JwksKeyProvider, SessionConfig, Verifier};
//! use ssr_session_actix::{OptionalSession, Props, Session};
//!
//! async fn dashboard(session: Session) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("Hello, {}", session.user_id()))
//! }
//!
//! async fn home(session: OptionalSession) -> HttpResponse {
//!     match session.into_inner() {
//!         Some(session) => HttpResponse::Ok().body(format!("Welcome back, {}", session.user_id())),
//!         None => HttpResponse::Ok().body("Welcome, please sign in"),
//!     }
//! }
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = JwksKeyProvider::for_supertokens("https://api.example.com").build()?;
//! let session_config = SessionConfig::new(Verifier::builder(keys).build()?);
//!
//! let app = test::init_service(
//!     App::new()
//!         .app_data(web::Data::new(session_config))
//!         .route("/", web::get().to(home))
//!         .route("/dashboard", web::get().to(dashboard))
//!         .route("/api/props/dashboard", web::get().to(|props: Props| async { props })),
//! )
//! .await;
//!
//! // No access token: a data request is told to refresh, as SuperTokens does.
//! let response = test::call_service(&app, test::TestRequest::get().uri("/dashboard").to_request()).await;
//! assert_eq!(response.status(), 401);
//! let body = test::read_body(response).await;
//! assert_eq!(body, r#"{"message":"try refresh token"}"#);
//!
//! // The props route answers the Next.js guide's props instead.
//! let request = test::TestRequest::get().uri("/api/props/dashboard").to_request();
//! let body = test::call_and_read_body(&app, request).await;
//! assert_eq!(body, r#"{"fromSupertokens":"needs-refresh"}"#);
//! # Ok(()) }
//! ```
//!
//! # Rejections
//!
//! A rejection is a [`SessionRejection`], an actix [`ResponseError`] that
//! answers exactly the core's [`ResponseData`] (status, every header
//! including repeated `set-cookie`, body). With
//! [`DefaultResponses`](ssr_session::DefaultResponses):
//!
//! | situation | HTML navigation | other requests |
//! |---|---|---|
//! | needs refresh | refresh bridge page (status 401 by default, configurable) | `401 {"message":"try refresh token"}` |
//! | invalid | `303` to the login URL with the redirect-back parameter, `sAccessToken` expired | `401 {"message":"unauthorised"}` |
//! | claim validator failed | `403 {"message":"invalid claim","claimValidationErrors":[…]}` | same |
//! | unavailable | `503`, `Retry-After`, a short page | `503 {"message":"session verification unavailable"}` |
//! | no `web::Data<SessionConfig<C>>` in the app | `500`, naming the missing setup call (and logged at error level) | same |
//!
//! # Memoisation
//!
//! The token is verified once per request, however many of these extractors
//! a handler (or a middleware) asks for, even when actix extracts them
//! concurrently: a computed outcome is kept in the request's extensions, and
//! a verified-token cache hit is simply looked up again (which costs what
//! reading the memo would).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::{
    FromRequest, HttpMessage, HttpRequest, HttpResponse, Responder, ResponseError, web,
};
use serde::de::DeserializeOwned;
use ssr_session::{Headers, Refusal, RequestInfo, SessionConfig, SuperTokensClaims};
pub use ssr_session::{ResponseData, SessionOutcome, SessionProps};
use tokio::sync::OnceCell;

/// The app-data setup the extractors need, as named in the 500 answer.
const SETUP: &str = "App::new().app_data(web::Data::new(session_config))";

/// A required session: the handler runs only when the request's session is
/// valid. Derefs to [`ssr_session::Session`].
///
/// # Rejections
/// Every outcome but valid, with the core's response (see the
/// [crate docs](crate#rejections)).
pub struct Session<C = SuperTokensClaims>(pub ssr_session::Session<C>);

/// An optional session (SuperTokens' `sessionRequired: false`): `None` when
/// the request carries no access token at all.
///
/// # Rejections
/// An expired token (so that the browser refreshes), an invalid token and
/// an unavailable key source, with the core's responses.
pub struct OptionalSession<C = SuperTokensClaims>(pub Option<ssr_session::Session<C>>);

/// The request's [`SessionOutcome`], for handlers that decide themselves
/// (the claims type must be `Clone`, as the outcome is shared by the
/// request's extractors).
///
/// # Rejections
/// None, except the 500 for a missing configuration.
#[derive(Debug)]
pub struct Outcome<C = SuperTokensClaims>(pub SessionOutcome<C>);

/// The page props of SuperTokens' Next.js `getServerSideProps` guide:
/// `{"userId":…}` or `{"fromSupertokens":"needs-refresh"}`. Derefs to
/// [`SessionProps`]; as a [`Responder`] it answers `200` with that JSON.
///
/// # Rejections
/// Invalid tokens and an unavailable key source, with the core's responses.
pub struct Props<C = SuperTokensClaims> {
    props: SessionProps,
    claims: PhantomData<fn() -> C>,
}

macro_rules! wrapper {
    ($name:ident, $inner:ty) => {
        impl<C> $name<C> {
            /// The wrapped value.
            pub fn into_inner(self) -> $inner {
                self.0
            }
        }

        impl<C> Deref for $name<C> {
            type Target = $inner;
            fn deref(&self) -> &$inner {
                &self.0
            }
        }
    };
}

wrapper!(Session, ssr_session::Session<C>);
wrapper!(OptionalSession, Option<ssr_session::Session<C>>);
wrapper!(Outcome, SessionOutcome<C>);

// By hand, so that neither needs `C: Clone` or `C: Debug` (claims are shared).
macro_rules! shared {
    ($name:ident) => {
        impl<C> Clone for $name<C> {
            fn clone(&self) -> Self {
                Self(self.0.clone())
            }
        }

        impl<C> fmt::Debug for $name<C> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }
    };
}

shared!(Session);
shared!(OptionalSession);

impl<C> Props<C> {
    /// The props.
    pub fn into_inner(self) -> SessionProps {
        self.props
    }
}

impl<C> Deref for Props<C> {
    type Target = SessionProps;
    fn deref(&self) -> &SessionProps {
        &self.props
    }
}

impl<C> fmt::Debug for Props<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.props.fmt(f)
    }
}

impl<C> Responder for Props<C> {
    type Body = BoxBody;
    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        HttpResponse::Ok().json(&self.props)
    }
}

/// The answer to a request without a usable session: the core's
/// [`ResponseData`], sent as it is.
#[derive(Debug, Clone)]
pub struct SessionRejection {
    response: ResponseData,
}

impl SessionRejection {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.response.status
    }

    /// The body as text (lossy UTF-8).
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.response.body)
    }

    /// The response as data.
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

impl ResponseError for SessionRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        to_response(&self.response)
    }
}

/// Converts the core's [`ResponseData`] (a rejection, or any other answer
/// as data) into an actix response: status, every header in order
/// (repeated ones included), body.
pub fn to_response(data: &ResponseData) -> HttpResponse {
    let status = StatusCode::from_u16(data.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in &data.headers {
        let name_value = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        );
        if let (Ok(name), Ok(value)) = name_value {
            response.append_header((name, value));
        } else {
            tracing::warn!(target: "ssr_session_actix", header = %name, "invalid header skipped");
        }
    }
    response.body(data.body.clone())
}

/// actix's header map (http 0.2 types) as the core's [`Headers`].
struct ActixHeaders<'a>(&'a HeaderMap);

impl Headers for ActixHeaders<'_> {
    fn for_each_value<'a>(&'a self, name: &str, each: &mut dyn FnMut(&'a [u8])) {
        for value in self.0.get_all(name) {
            each(value.as_bytes());
        }
    }
}

/// The per-request outcome, shared by every extractor of one request.
struct Memo<C>(Rc<OnceCell<SessionOutcome<C>>>);

/// An extractor's future (actix runs extractors on one thread).
type Extraction<T> = Pin<Box<dyn Future<Output = Result<T, SessionRejection>>>>;

/// One of the core's decisions: the outcome into a value or a refusal.
type Decide<C, T> = fn(&SessionConfig<C>, SessionOutcome<C>) -> Result<T, Refusal>;

/// The request's outcome, computed once and kept in its extensions.
async fn memoised<C>(
    request: &HttpRequest,
    config: &SessionConfig<C>,
    headers: &ActixHeaders<'_>,
) -> SessionOutcome<C>
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    let existing = request
        .extensions()
        .get::<Memo<C>>()
        .map(|memo| memo.0.clone());
    let memo = existing.unwrap_or_else(|| {
        let memo = Rc::new(OnceCell::new());
        request.extensions_mut().insert(Memo(memo.clone()));
        memo
    });
    memo.get_or_init(|| config.outcome(headers)).await.clone()
}

/// Verifies the request once (a cache hit, or memoised), then lets
/// `decide` (one of the core's decisions) turn the outcome into the
/// extractor's value or the response to send instead.
fn extract<C, T>(request: &HttpRequest, decide: Decide<C, T>) -> Extraction<T>
where
    C: DeserializeOwned + Send + Sync + 'static,
    T: 'static,
{
    let request = request.clone();
    Box::pin(async move {
        let Some(config) = request.app_data::<web::Data<SessionConfig<C>>>() else {
            tracing::error!(
                target: "ssr_session_actix",
                "no `web::Data<{}>` for `{}`: add {SETUP}",
                std::any::type_name::<SessionConfig<C>>(),
                request.match_name().unwrap_or_else(|| request.path()),
            );
            return Err(ResponseData::missing_setup(SETUP).into());
        };
        let headers = ActixHeaders(request.headers());
        let outcome = match config.cached_session(&headers) {
            Some(session) => SessionOutcome::Valid(session),
            None => memoised(&request, config, &headers).await,
        };
        decide(config, outcome).map_err(|refusal| {
            // The request is looked at only to answer without a session.
            let path = request
                .uri()
                .path_and_query()
                .map_or(request.path(), |p| p.as_str());
            config
                .respond(&refusal, &RequestInfo::new(&headers, path))
                .into()
        })
    })
}

impl<C: DeserializeOwned + Send + Sync + 'static> FromRequest for Session<C> {
    type Error = SessionRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract::<C, _>(request, |config, outcome| config.require(outcome).map(Self))
    }
}

impl<C: DeserializeOwned + Send + Sync + 'static> FromRequest for OptionalSession<C> {
    type Error = SessionRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract::<C, _>(request, |config, outcome| {
            config.optional(outcome).map(Self)
        })
    }
}

impl<C: DeserializeOwned + Send + Sync + 'static> FromRequest for Outcome<C> {
    type Error = SessionRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract::<C, _>(request, |_, outcome| Ok(Self(outcome)))
    }
}

impl<C: DeserializeOwned + Send + Sync + 'static> FromRequest for Props<C> {
    type Error = SessionRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract::<C, _>(request, |config, outcome| {
            config.props(outcome).map(|props| Self {
                props,
                claims: PhantomData,
            })
        })
    }
}
