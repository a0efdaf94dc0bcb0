//! [Rocket](https://rocket.rs) request guards for [`ssr_session`]: verify
//! SuperTokens-style access tokens while rendering pages on the server.
//!
//! The adapter only converts: it reads the request's headers, takes the
//! [`SessionConfig`] from managed state, verifies once per request and turns
//! the core's [`ResponseData`] into a Rocket response. Every decision (which
//! token, which outcome, which answer) is made by [`ssr_session`].
//!
//! | guard | gives | rejects with |
//! |---|---|---|
//! | [`Session<C>`] | a valid session | every other outcome's response |
//! | [`OptionalSession<C>`] | `Some` session, or `None` when the request has no token | expired, invalid or unavailable sessions' responses |
//! | [`Outcome<C>`] | the [`SessionOutcome`] itself | never (but for a missing configuration) |
//! | [`Props<C>`] | the [`SessionProps`] of SuperTokens' Next.js guide | invalid or unavailable sessions' responses |
//!
//! Rocket's own `Option<T>` guard turns *every* failure into `None`, so
//! `Option<Session>` would read an expired or forged token as "signed out":
//! use [`OptionalSession`] instead.
//!
//! # Quick start
//!
//! Two setup calls: the configuration as managed state, and the
//! [`catchers()`] that send rejections.
//!
//! ```
//! use rocket::http::{Accept, Status};
//! use rocket::local::blocking::Client;
//! use ssr_session::{JwksKeyProvider, SessionConfig, Verifier};
//! use ssr_session_rocket::{OptionalSession, Props, Session};
//!
//! #[rocket::get("/dashboard")]
//! fn dashboard(session: Session) -> String {
//!     format!("Hello, {}", session.user_id())
//! }
//!
//! #[rocket::get("/")]
//! fn home(session: OptionalSession) -> String {
//!     match session.into_inner() {
//!         Some(session) => format!("Welcome back, {}", session.user_id()),
//!         None => "Welcome, please sign in".into(),
//!     }
//! }
//!
//! #[rocket::get("/api/props/dashboard")]
//! fn dashboard_props(props: Props) -> Props {
//!     props
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = JwksKeyProvider::for_supertokens("https://api.example.com").build()?;
//! let session_config = SessionConfig::new(Verifier::builder(keys).build()?);
//!
//! let rocket = rocket::build()
//!     .manage(session_config)
//!     .register("/", ssr_session_rocket::catchers())
//!     .mount("/", rocket::routes![home, dashboard, dashboard_props]);
//! let client = Client::tracked(rocket)?;
//!
//! // No access token: a data request is told to refresh, as SuperTokens does…
//! let response = client.get("/dashboard").dispatch();
//! assert_eq!(response.status(), Status::Unauthorized);
//! assert_eq!(response.into_string().unwrap(), r#"{"message":"try refresh token"}"#);
//!
//! // …a page navigation gets the refresh bridge page…
//! let response = client.get("/dashboard").header(Accept::HTML).dispatch();
//! assert!(response.into_string().unwrap().contains("/auth/session/refresh"));
//!
//! // …and the props route answers the Next.js guide's props.
//! let props = client.get("/api/props/dashboard").dispatch().into_string().unwrap();
//! assert_eq!(props, r#"{"fromSupertokens":"needs-refresh"}"#);
//! assert_eq!(client.get("/").dispatch().into_string().unwrap(), "Welcome, please sign in");
//! # Ok(()) }
//! ```
//!
//! # Rejections
//!
//! A guard that rejects answers exactly the core's [`ResponseData`]
//! (status, every header including repeated `set-cookie`, body). With
//! [`DefaultResponses`](ssr_session::DefaultResponses):
//!
//! | situation | HTML navigation | other requests |
//! |---|---|---|
//! | needs refresh | refresh bridge page (status 401 by default, configurable) | `401 {"message":"try refresh token"}` |
//! | invalid | `303` to the login URL with the redirect-back parameter, `sAccessToken` expired | `401 {"message":"unauthorised"}` |
//! | claim validator failed | `403 {"message":"invalid claim","claimValidationErrors":[…]}` | same |
//! | unavailable | `503`, `Retry-After`, a short page | `503 {"message":"session verification unavailable"}` |
//! | no managed `SessionConfig<C>` | `500`, naming the missing setup call (and logged at error level) | same |
//!
//! ## How a rejection reaches the client
//!
//! A Rocket guard can only fail with a status, and Rocket then answers with
//! a catcher. So a rejecting guard keeps the core's response in the
//! request-local cache and fails with a private status (555) for which
//! [`catchers()`] registers the one catcher; that catcher sends the kept
//! response as it is, whatever its status (a `303`, or a bridge page served
//! with `200`). The app's own catchers (401, 503, `default`, …) are left
//! alone, response fairings see the real response, and a handler that takes
//! `Result<Session, SessionRejection>` gets the [`SessionRejection`] (a
//! responder sending that same response) instead.
//!
//! A `default` catcher registered under a deeper base (say `/admin`) wins
//! over ours for requests below it: register [`catchers()`] at that base too.
//!
//! ## Launch checks
//!
//! Each guard is a [`Sentinel`]: launch is refused when `SessionConfig<C>`
//! is not managed or [`catchers()`] are not registered, naming the missing
//! call in the log. A guard that still runs without them (it was invoked by
//! another guard, where sentinels cannot see it) answers the `500` above, or
//! the bare status without the catcher.
//!
//! # Memoisation
//!
//! The token is verified once per request, however many of these guards a
//! route uses: a computed outcome is kept in the request-local cache
//! (`local_cache_async`), and a verified-token cache hit is simply looked up
//! again (which costs what reading the memo would).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::borrow::Cow;
use std::io::Cursor;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Mutex, PoisonError};

use rocket::catcher::{BoxFuture, Catcher};
use rocket::http::{ContentType, HeaderMap, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder, Response};
use rocket::{Ignite, Phase, Rocket, Sentinel};
use serde::de::DeserializeOwned;
use ssr_session::{Headers, Refusal, RequestInfo, SessionConfig, SuperTokensClaims};
pub use ssr_session::{ResponseData, SessionOutcome, SessionProps};

/// The setup the guards need, as named in the 500 answer.
const SETUP: &str = "rocket::build().manage(session_config)";
/// The setup that lets rejections reach the client.
const CATCHER_SETUP: &str = "rocket::build().register(\"/\", ssr_session_rocket::catchers())";
const CATCHER_NAME: &str = "ssr_session_rocket::rejection";
/// The private status a rejecting guard fails with; only our catcher handles it.
const REJECTED: Status = Status::new(555);

/// A required session: the handler runs only when the request's session is
/// valid. Derefs to [`ssr_session::Session`].
///
/// # Rejections
/// Every outcome but valid, with the core's response (see the
/// [crate docs](crate#rejections)).
#[derive(Debug, Clone)]
pub struct Session<C = SuperTokensClaims>(pub ssr_session::Session<C>);

/// An optional session (SuperTokens' `sessionRequired: false`): `None` when
/// the request carries no access token at all.
///
/// # Rejections
/// An expired token (so that the browser refreshes), an invalid token and
/// an unavailable key source, with the core's responses.
#[derive(Debug, Clone)]
pub struct OptionalSession<C = SuperTokensClaims>(pub Option<ssr_session::Session<C>>);

/// The request's [`SessionOutcome`], for handlers that decide themselves.
///
/// # Rejections
/// None, except the 500 for a missing configuration.
#[derive(Debug, Clone)]
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

impl<C> std::fmt::Debug for Props<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.props.fmt(f)
    }
}

impl<'r, C> Responder<'r, 'static> for Props<C> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let json = serde_json::to_string(&self.props).map_err(|_| Status::InternalServerError)?;
        (ContentType::JSON, json).respond_to(request)
    }
}

/// The answer to a request without a usable session: the core's
/// [`ResponseData`]. The guards' error type, and a [`Responder`] sending
/// that response as it is.
#[derive(Debug, Clone)]
#[non_exhaustive]
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

impl<'r> Responder<'r, 'static> for SessionRejection {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Ok(into_response(self.response))
    }
}

/// Converts the core's [`ResponseData`] into a Rocket [`Response`]: its
/// status, every header in order (repeated names kept) and its body.
pub fn into_response(data: ResponseData) -> Response<'static> {
    let mut response = Response::build();
    response.status(Status::new(data.status));
    for (name, value) in data.headers {
        response.raw_header_adjoin(name, value);
    }
    response.sized_body(data.body.len(), Cursor::new(data.body));
    response.finalize()
}

/// The catcher that sends a rejecting guard's response. Register it with
/// `rocket::build().register("/", ssr_session_rocket::catchers())`.
pub fn catchers() -> Vec<Catcher> {
    let mut catcher = Catcher::new(REJECTED.code, send_rejection);
    catcher.name = Some(CATCHER_NAME.into());
    vec![catcher]
}

fn send_rejection<'r>(_: Status, request: &'r Request<'_>) -> BoxFuture<'r> {
    let pending = request.local_cache(Pending::default).0.lock();
    let data = pending.unwrap_or_else(PoisonError::into_inner).take();
    let data = data.unwrap_or_else(|| {
        tracing::error!(target: "ssr_session_rocket", "status 555 without a pending session rejection");
        ResponseData::new(500, "text/plain; charset=utf-8", "internal error")
    });
    Box::pin(async move { Ok(into_response(data)) })
}

/// The rejection waiting for [`send_rejection`].
#[derive(Default)]
struct Pending(Mutex<Option<ResponseData>>);

/// The per-request outcome, shared by every guard of one request.
struct Memo<C>(SessionOutcome<C>);

fn has_catcher<P: Phase>(rocket: &Rocket<P>) -> bool {
    rocket
        .catchers()
        .any(|c| c.code == Some(REJECTED.code) && c.name.as_deref() == Some(CATCHER_NAME))
}

/// Rocket's headers as the core's [`Headers`]. Without a `Cookie` header
/// (Rocket's local client puts `.cookie(…)` in the jar only), the jar's
/// cookies stand in for it.
struct RocketHeaders<'a, 'r> {
    headers: &'a HeaderMap<'r>,
    jar: Option<String>,
}

impl<'a, 'r> RocketHeaders<'a, 'r> {
    fn of(request: &'a Request<'r>) -> Self {
        let headers = request.headers();
        let mut jar = None;
        if !headers.contains("cookie") {
            let pairs: Vec<String> = request
                .cookies()
                .iter()
                .map(|c| format!("{}={}", c.name(), c.value()))
                .collect();
            jar = (!pairs.is_empty()).then(|| pairs.join("; "));
        }
        Self { headers, jar }
    }
}

impl Headers for RocketHeaders<'_, '_> {
    fn for_each_value<'a>(&'a self, name: &str, each: &mut dyn FnMut(&'a [u8])) {
        for value in self.headers.get(name) {
            each(value.as_bytes());
        }
        if let (Some(jar), "cookie") = (&self.jar, name) {
            each(jar.as_bytes());
        }
    }
}

/// One of the core's decisions: the guard's value, or a refusal.
type Decide<C, T> = fn(&SessionConfig<C>, SessionOutcome<C>) -> Result<T, Refusal>;

/// Verifies the request once (a cache hit, or memoised in the request-local
/// cache), then lets `decide` (one of the core's decisions) turn the outcome
/// into the guard's value or the response to send instead.
async fn guard<C, T>(
    request: &Request<'_>,
    decide: Decide<C, T>,
) -> request::Outcome<T, SessionRejection>
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    let Some(config) = request.rocket().state::<SessionConfig<C>>() else {
        tracing::error!(
            target: "ssr_session_rocket",
            "no managed `SessionConfig<{}>` for {}: add {SETUP}",
            std::any::type_name::<C>(),
            request.uri(),
        );
        return reject(request, ResponseData::missing_setup(SETUP));
    };
    let headers = RocketHeaders::of(request);
    let outcome = match config.cached_session(&headers) {
        Some(session) => SessionOutcome::Valid(session),
        None => {
            let Memo(outcome) = request
                .local_cache_async(async { Memo(config.outcome(&headers).await) })
                .await;
            outcome.clone()
        }
    };
    match decide(config, outcome) {
        Ok(value) => request::Outcome::Success(value),
        Err(refusal) => {
            // The request is looked at only to answer without a session.
            let path = request.uri().to_string();
            let response = config.respond(&refusal, &RequestInfo::new(&headers, &path));
            reject(request, response)
        }
    }
}

fn reject<T>(
    request: &Request<'_>,
    response: ResponseData,
) -> request::Outcome<T, SessionRejection> {
    let status = if has_catcher(request.rocket()) {
        let mut pending = request
            .local_cache(Pending::default)
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *pending = Some(response.clone());
        REJECTED
    } else {
        tracing::error!(
            target: "ssr_session_rocket",
            "the session rejection's headers and body are lost: add {CATCHER_SETUP}"
        );
        Status::new(response.status)
    };
    request::Outcome::Error((status, SessionRejection { response }))
}

/// Logs and reports what a guard is missing at launch.
fn setup_missing<C: Send + Sync + 'static>(rocket: &Rocket<Ignite>) -> bool {
    let config = rocket.state::<SessionConfig<C>>().is_some();
    if !config {
        tracing::error!(
            target: "ssr_session_rocket",
            "no managed `SessionConfig<{}>`: add {SETUP}",
            std::any::type_name::<C>()
        );
    }
    let catcher = has_catcher(rocket);
    if !catcher {
        tracing::error!(target: "ssr_session_rocket", "session rejections need their catcher: add {CATCHER_SETUP}");
    }
    !(config && catcher)
}

macro_rules! guard {
    ($name:ident, $decide:expr) => {
        #[rocket::async_trait]
        impl<'r, C: DeserializeOwned + Send + Sync + 'static> FromRequest<'r> for $name<C> {
            type Error = SessionRejection;

            async fn from_request(
                request: &'r Request<'_>,
            ) -> request::Outcome<Self, SessionRejection> {
                guard::<C, Self>(request, $decide).await
            }
        }

        impl<C: Send + Sync + 'static> Sentinel for $name<C> {
            fn abort(rocket: &Rocket<Ignite>) -> bool {
                setup_missing::<C>(rocket)
            }
        }
    };
}

guard!(Session, |config, outcome| {
    config.require(outcome).map(Session)
});
guard!(OptionalSession, |config, outcome| {
    config.optional(outcome).map(OptionalSession)
});
guard!(Outcome, |_, outcome| Ok(Outcome(outcome)));
guard!(Props, |config, outcome| {
    config.props(outcome).map(|props| Props {
        props,
        claims: PhantomData,
    })
});
