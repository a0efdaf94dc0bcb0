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
//! | [`Require<V, C>`] | the session, when it also meets requirement `V` | those of `Session`, and `403 invalid claim` |
//! | [`Verification<C>`] | the [`SessionOutcome`] itself | never (but for a missing configuration) |
//! | [`Props<C>`] | the [`SessionProps`] of SuperTokens' Next.js guide | invalid or unavailable sessions' responses |
//!
//! # Route groups: guards, not middleware
//!
//! Rocket has no middleware that can refuse a request (a fairing can
//! rewrite it, never answer it), so what other frameworks do with a layer
//! over a route group, Rocket does with a guard on each route: "every route
//! of the admin area needs role X" is `Require<IsAdmin>` in each handler's
//! signature (see [`ssr_session::requirement!`]), and the managed
//! configuration's [requirements](SessionConfig::require) apply to every
//! guard of the app.
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
//! [`DefaultResponses`]:
//!
//! | situation | HTML navigation | other requests |
//! |---|---|---|
//! | needs refresh | refresh bridge page (status 401 by default, configurable) | `401 {"message":"try refresh token"}` |
//! | invalid, revoked | `303` to the login URL with the redirect-back parameter, `sAccessToken` expired | `401 {"message":"unauthorised"}` |
//! | a requirement or claim validator refused | `403 {"message":"invalid claim","claimValidationErrors":[…]}` | same |
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
//! (`local_cache`), and a verified-token cache hit is simply looked up
//! again (which costs what reading the memo would).
//!
//! # Testing with Rocket's local client
//!
//! The guards read the request's real `Cookie` header. Rocket's local
//! client keeps cookies given with `.cookie(…)` in the request's jar only,
//! and its requests have no remote address; for such a request, and only
//! then, the jar stands in for the missing header. A request from the
//! network always has a remote address, so the production path never
//! touches the jar.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::borrow::Cow;
use std::io::Cursor;
use std::sync::{Mutex, PoisonError};

use rocket::catcher::{BoxFuture, Catcher};
use rocket::http::{ContentType, HeaderMap, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder, Response};
use rocket::{Ignite, Phase, Rocket, Sentinel};
use serde::de::DeserializeOwned;
use ssr_session::{
    SessionProps, adapter::Extract, adapter::Memo, adapter::Rejection, adapter::RequestView,
    respond::ResponseData, source::Headers,
};

/// The core crate, re-exported so that an app depends on this adapter alone
/// (`ssr_session_rocket::ssr_session::keys::StaticKeys` and so on).
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

/// The setup the guards need, as named in the 500 answer.
const SETUP: &str = "rocket::build().manage(session_config)";
/// The setup that lets rejections reach the client.
const CATCHER_SETUP: &str = "rocket::build().register(\"/\", ssr_session_rocket::catchers())";
const CATCHER_NAME: &str = "ssr_session_rocket::rejection";
/// The private status a rejecting guard fails with; only our catcher handles it.
const REJECTED: Status = Status::new(555);

impl<'r, C> Responder<'r, 'static> for Props<C> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let json = serde_json::to_string(&self.0).map_err(|_| Status::InternalServerError)?;
        (ContentType::JSON, json).respond_to(request)
    }
}

impl<'r> Responder<'r, 'static> for SessionRejection {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Ok(into_response(self.0.into_response_data()))
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

fn has_catcher<P: Phase>(rocket: &Rocket<P>) -> bool {
    rocket
        .catchers()
        .any(|c| c.code == Some(REJECTED.code) && c.name.as_deref() == Some(CATCHER_NAME))
}

/// The request, as the core's pipeline sees it.
struct RocketRequest<'a, 'r> {
    request: &'a Request<'r>,
    headers: &'a HeaderMap<'r>,
    /// The local client's jar as a `Cookie` header (see the crate docs).
    jar: Option<String>,
}

impl<'a, 'r> RocketRequest<'a, 'r> {
    fn new(request: &'a Request<'r>) -> Self {
        let headers = request.headers();
        let local = request.remote().is_none() && !headers.contains("cookie");
        let jar = local
            .then(|| {
                let pairs: Vec<String> = request
                    .cookies()
                    .iter()
                    .map(|c| format!("{}={}", c.name(), c.value()))
                    .collect();
                pairs.join("; ")
            })
            .filter(|jar| !jar.is_empty());
        Self {
            request,
            headers,
            jar,
        }
    }
}

impl Headers for RocketRequest<'_, '_> {
    fn for_each_value<'a>(&'a self, name: &str, each: &mut dyn FnMut(&'a [u8])) {
        for value in self.headers.get(name) {
            each(value.as_bytes());
        }
        if let (Some(jar), "cookie") = (&self.jar, name) {
            each(jar.as_bytes());
        }
    }
}

impl<C: Send + Sync + 'static> RequestView<C> for RocketRequest<'_, '_> {
    fn headers(&self) -> &dyn Headers {
        self
    }

    fn method(&self) -> &str {
        self.request.method().as_str()
    }

    fn path_and_query(&self) -> Cow<'_, str> {
        Cow::Owned(self.request.uri().to_string())
    }

    fn memo(&self) -> Option<Memo<C>> {
        // Rocket's request-local cache cannot be read without filling it:
        // the memo is found through `keep_memo`.
        None
    }

    fn keep_memo(&mut self, memo: Memo<C>) -> Option<Memo<C>> {
        // Written once: the first guard's memo is the request's.
        Some(self.request.local_cache(|| memo).clone())
    }
}

/// Runs the core's pipeline for one guard.
async fn guard<T, C>(
    request: &Request<'_>,
    requirement: Option<&dyn Requirement<C>>,
) -> request::Outcome<T, SessionRejection>
where
    T: Extract<C>,
    C: DeserializeOwned + Send + Sync + 'static,
{
    let Some(config) = request.rocket().state::<SessionConfig<C>>() else {
        tracing::error!(
            target: "ssr_session_rocket",
            "no managed `SessionConfig<{}>` for {}: add {SETUP}",
            std::any::type_name::<C>(),
            request.uri(),
        );
        return reject(request, Rejection::missing_setup(SETUP));
    };
    let mut context = RocketRequest::new(request);
    match config.extract(&mut context, requirement).await {
        Ok(value) => request::Outcome::Success(value),
        Err(rejection) => reject(request, rejection),
    }
}

fn reject<T>(request: &Request<'_>, rejection: Rejection) -> request::Outcome<T, SessionRejection> {
    let status = if has_catcher(request.rocket()) {
        let mut pending = request
            .local_cache(Pending::default)
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *pending = Some(rejection.response_data().clone());
        REJECTED
    } else {
        tracing::error!(
            target: "ssr_session_rocket",
            "the session rejection's headers and body are lost: add {CATCHER_SETUP}"
        );
        Status::new(rejection.status())
    };
    request::Outcome::Error((status, SessionRejection(rejection)))
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
    ($name:ident, $value:ty, $make:expr) => {
        #[rocket::async_trait]
        impl<'r, C: DeserializeOwned + Send + Sync + 'static> FromRequest<'r> for $name<C> {
            type Error = SessionRejection;

            async fn from_request(
                request: &'r Request<'_>,
            ) -> request::Outcome<Self, SessionRejection> {
                guard::<$value, C>(request, None).await.map($make)
            }
        }

        impl<C: Send + Sync + 'static> Sentinel for $name<C> {
            fn abort(rocket: &Rocket<Ignite>) -> bool {
                setup_missing::<C>(rocket)
            }
        }
    };
}

guard!(Session, ssr_session::Session<C>, Session);
guard!(
    OptionalSession,
    Option<ssr_session::Session<C>>,
    OptionalSession
);
guard!(Verification, SessionOutcome<C>, Verification);
guard!(Props, SessionProps, |props| Props(
    props,
    std::marker::PhantomData
));

#[rocket::async_trait]
impl<'r, V, C> FromRequest<'r> for Require<V, C>
where
    V: Requirement<C> + Default,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Error = SessionRejection;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, SessionRejection> {
        let requirement = V::default();
        guard::<ssr_session::Session<C>, C>(request, Some(&requirement))
            .await
            .map(|session| Require(session, std::marker::PhantomData))
    }
}

impl<V, C: Send + Sync + 'static> Sentinel for Require<V, C> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        setup_missing::<C>(rocket)
    }
}
