//! [actix-web](https://actix.rs) support for [`ssr_session`]: middleware for
//! whole scopes and extractors for handlers, verifying SuperTokens-style
//! access tokens while pages render on the server.
//!
//! | entry point | gives | answers instead (see [Rejections](#rejections)) |
//! |---|---|---|
//! | [`SessionMiddleware::required`] | every route of the scope needs a valid session | every outcome but *valid* |
//! | [`SessionMiddleware::optional`] | routes run without a token too | expired, invalid, unavailable |
//! | [`SessionMiddleware::observe`] | every route runs; the outcome is recorded | never |
//! | [`SessionMiddleware::new`] | provides the configuration; nothing checked until an extractor asks | never |
//! | [`Session<C>`] | a valid session | every outcome but *valid* |
//! | [`OptionalSession<C>`] | `None` when the request has no token at all | expired, invalid, unavailable |
//! | [`Require<V, C>`] | the session, when it also meets requirement `V` | those of `Session`, and `403 invalid claim` |
//! | [`Verification<C>`] | the [`SessionOutcome`], whatever it is | never |
//! | [`Props<C>`] | the [`SessionProps`] of SuperTokens' Next.js guide | invalid, unavailable |
//!
//! The extractors take the [`SessionConfig`] from the middleware in front
//! of them (`App::wrap` / `Scope::wrap`), or else from
//! `App::app_data(web::Data::new(config))`. All policy lives in
//! [`ssr_session`]: this crate reads the request, runs the core's pipeline
//! and converts its answer. actix's own `Option<T>` extractor swallows
//! errors, so an expired or forged token would silently read as "signed
//! out": use [`OptionalSession`] instead.
//!
//! # Quick start
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use ssr_session::{JwksKeyProvider, SessionConfig, Verifier};
//! use ssr_session_actix::{OptionalSession, Session, SessionMiddleware};
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
//! let config = SessionConfig::new(Verifier::builder(keys).build()?);
//!
//! let app = test::init_service(
//!     App::new()
//!         .app_data(web::Data::new(config.clone()))
//!         .route("/", web::get().to(home))
//!         .service(web::scope("/app")
//!             .wrap(SessionMiddleware::required(config))
//!             .route("/dashboard", web::get().to(dashboard))),
//! )
//! .await;
//!
//! // No access token: a data request is told to refresh, as SuperTokens does.
//! let response = test::call_service(&app, test::TestRequest::get().uri("/app/dashboard").to_request()).await;
//! assert_eq!(response.status(), 401);
//! let body = test::read_body(response).await;
//! assert_eq!(body, r#"{"message":"try refresh token"}"#);
//! # Ok(()) }
//! ```
//!
//! # Rejections
//!
//! A rejection is a [`SessionRejection`], an actix [`ResponseError`] that
//! answers exactly the core's [`ResponseData`] (status, every header
//! including repeated `set-cookie`, body). With
//! [`DefaultResponses`] (a *navigation* is a
//! request whose `Accept` includes `text/html`):
//!
//! | situation | navigation | other requests |
//! |---|---|---|
//! | needs refresh | refresh bridge page (status 401 by default, configurable) | `401 {"message":"try refresh token"}` |
//! | invalid, revoked | `303` to the login URL with the redirect-back parameter, `sAccessToken` expired | `401 {"message":"unauthorised"}` |
//! | a requirement or claim validator refused | `403 {"message":"invalid claim","claimValidationErrors":[…]}` | same |
//! | unavailable | `503`, `Retry-After`, a short page | `503 {"message":"session verification unavailable"}` |
//! | no configuration (middleware or `web::Data<SessionConfig<C>>`) | `500`, naming the missing setup call (and logged at error level) | same |
//!
//! # Once per request
//!
//! The token is verified once per request, however many of these
//! extractors a handler (and the middleware) asks for, even when actix
//! extracts them concurrently: a computed outcome is kept in the request's
//! extensions, and a verified-token cache hit is simply looked up again
//! (which costs what reading the memo would). A checking middleware keeps
//! the outcome it decided on, judged by its configuration, with that
//! configuration (one extensions entry): the extractors behind it read no
//! token and judge the scope's requirements no second time.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::borrow::Cow;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::{
    Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, Responder, ResponseError, web,
};
use serde::de::DeserializeOwned;
use ssr_session::{
    SessionProps, adapter::Extract, adapter::Memo, adapter::Rejection, adapter::RequestView,
    respond::ResponseData, source::Headers,
};

/// The core crate, re-exported so that an app depends on this adapter alone
/// (`ssr_session_actix::ssr_session::keys::StaticKeys` and so on).
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

/// The setup the extractors need, as named in the 500 answer.
const SETUP: &str = "App::new().app_data(web::Data::new(session_config))";

/// actix's header map (http 0.2 types) as the core's [`Headers`].
struct ActixHeaders<'a>(&'a HeaderMap);

impl Headers for ActixHeaders<'_> {
    fn for_each_value<'a>(&'a self, name: &str, each: &mut dyn FnMut(&'a [u8])) {
        for value in self.0.get_all(name) {
            each(value.as_bytes());
        }
    }
}

/// The request, as the core's pipeline sees it.
struct Request<'a> {
    request: &'a HttpRequest,
    headers: ActixHeaders<'a>,
}

impl<'a> Request<'a> {
    fn new(request: &'a HttpRequest) -> Self {
        let headers = ActixHeaders(request.headers());
        Self { request, headers }
    }
}

impl<C: 'static> RequestView<C> for Request<'_> {
    fn headers(&self) -> &dyn Headers {
        &self.headers
    }

    fn method(&self) -> &str {
        self.request.method().as_str()
    }

    fn path_and_query(&self) -> Cow<'_, str> {
        let uri = self.request.uri();
        Cow::Borrowed(uri.path_and_query().map_or("/", |p| p.as_str()))
    }

    fn memo(&self) -> Option<Memo<C>> {
        self.request.extensions().get::<Memo<C>>().cloned()
    }

    fn keep_memo(&mut self, memo: Memo<C>) -> Option<Memo<C>> {
        self.request.extensions_mut().insert(memo);
        None
    }
}

/// Where the configuration comes from: the middleware's, kept in the
/// request's memo, else the app's `web::Data`.
enum Setup<C> {
    Memo(Memo<C>),
    Data(SessionConfig<C>),
}

fn setup<C: 'static>(request: &HttpRequest) -> Option<Setup<C>> {
    if let Some(memo) = request.extensions().get::<Memo<C>>() {
        return Some(Setup::Memo(memo.clone()));
    }
    let data = request.app_data::<web::Data<SessionConfig<C>>>()?;
    Some(Setup::Data(SessionConfig::clone(data)))
}

/// An extractor's future (actix runs extractors on one thread).
type Extraction<T> = Pin<Box<dyn Future<Output = Result<T, SessionRejection>>>>;

/// Runs the core's pipeline for one extractor.
fn extract<T, C>(
    request: &HttpRequest,
    requirement: Option<Box<dyn Requirement<C>>>,
) -> Extraction<T>
where
    T: Extract<C> + 'static,
    C: DeserializeOwned + Send + Sync + 'static,
{
    let request = request.clone();
    Box::pin(async move {
        let Some(setup) = setup::<C>(&request) else {
            tracing::error!(
                target: "ssr_session_actix",
                "no `web::Data<{}>` for `{}`: add {SETUP}",
                std::any::type_name::<SessionConfig<C>>(),
                request.match_name().unwrap_or_else(|| request.path()),
            );
            return Err(Rejection::missing_setup(SETUP).into());
        };
        let requirement = requirement.as_deref();
        let view = &mut Request::new(&request);
        let value = match setup {
            Setup::Memo(memo) => memo.extract(view, requirement).await?,
            Setup::Data(config) => config.extract(view, requirement).await?,
        };
        Ok(value)
    })
}

macro_rules! extractor {
    ($name:ty, $value:ty, $requirement:expr, $make:expr) => {
        impl<C: DeserializeOwned + Send + Sync + 'static> FromRequest for $name {
            type Error = SessionRejection;
            type Future = Extraction<Self>;

            fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
                let extraction = extract::<$value, C>(request, $requirement);
                Box::pin(async move { extraction.await.map($make) })
            }
        }
    };
}

extractor!(Session<C>, ssr_session::Session<C>, None, Session);
extractor!(
    OptionalSession<C>,
    Option<ssr_session::Session<C>>,
    None,
    OptionalSession
);
extractor!(Verification<C>, SessionOutcome<C>, None, Verification);
extractor!(Props<C>, SessionProps, None, |props| Props(
    props,
    std::marker::PhantomData
));

impl<V, C> FromRequest for Require<V, C>
where
    V: Requirement<C> + Default,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Error = SessionRejection;
    type Future = Extraction<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let requirement: Box<dyn Requirement<C>> = Box::new(V::default());
        let extraction = extract::<ssr_session::Session<C>, C>(request, Some(requirement));
        Box::pin(async move { Ok(Self(extraction.await?, std::marker::PhantomData)) })
    }
}

impl<C> Responder for Props<C> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        HttpResponse::Ok().json(&self.0)
    }
}

impl ResponseError for SessionRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        // actix answers an error by reference: the rendered data is cloned.
        into_response(self.0.response_data().clone())
    }
}

/// Converts the core's [`ResponseData`] (a rejection, or any other answer
/// as data) into an actix response: status, every header in order
/// (repeated ones included), body.
pub fn into_response(data: ResponseData) -> HttpResponse {
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
    response.body(data.body)
}

ssr_session::__adapter_group!(
    /// Middleware that puts the [`SessionConfig`] in front of an app or a
    /// scope (`App::wrap`, `Scope::wrap`) and, in the modes that check,
    /// answers for it. The configuration's [requirements](SessionConfig::require)
    /// apply to the whole scope, extractors included.
    ///
    /// # Rejections
    /// In [`required`](Self::required) mode every outcome but valid; in
    /// [`optional`](Self::optional) mode expired, invalid and unavailable
    /// sessions; with the core's answers (see the [crate docs](crate#rejections)).
    SessionMiddleware
);

impl<S, B, C> Transform<S, ServiceRequest> for SessionMiddleware<C>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = SessionService<S, C>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service: Rc::new(service),
            middleware: self.clone(),
        }))
    }
}

/// The service [`SessionMiddleware`] wraps around an app or a scope.
pub struct SessionService<S, C = SuperTokensClaims> {
    service: Rc<S>,
    middleware: SessionMiddleware<C>,
}

impl<S, B, C> Service<ServiceRequest> for SessionService<S, C>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Error>>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let config = self.middleware.config.clone();
        let mode = self.middleware.mode;
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let view = &mut Request::new(request.request());
            match mode {
                None => config.provide(view),
                Some(mode) => {
                    if let Err(rejection) = config.guard(view, mode).await {
                        let response = into_response(rejection.into_response_data());
                        return Ok(request.into_response(response).map_into_right_body());
                    }
                }
            }
            Ok(service.call(request).await?.map_into_left_body())
        })
    }
}
