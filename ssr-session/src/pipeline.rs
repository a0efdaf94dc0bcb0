//! The one request pipeline every entry point runs: memo → verified-token
//! cache → verification → requirements → decision → (only when refusing)
//! the response.
//!
//! An adapter supplies what only its framework knows, as a
//! [`RequestView`]: a header view, a place to memoise the outcome for
//! the request, the method and the path-and-query. It converts the
//! [`Rejection`]'s [`ResponseData`] into its framework's response. Nothing
//! else.
//!
//! The pipeline is [`SessionConfig`]'s per-request methods; the struct, its
//! constructors and setters are in `config.rs` (set up once, not per request).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::claims::SuperTokensClaims;
use crate::config::SessionConfig;
use crate::csrf::ForgeryView;
use crate::outcome::{NeedsRefreshReason, SessionOutcome};
use crate::props::SessionProps;
use crate::requirement::{self, Requirement, RequirementContext};
use crate::respond::{self, RequestInfo, ResponseData};
use crate::session::Session;
use crate::source::Headers;

/// One request as the pipeline sees it: what only the framework knows,
/// and a place to memoise the outcome.
///
/// An adapter implements it over its request type in a few lines. Only
/// [`headers`](Self::headers) and the memo are read on the way to a
/// session; [`method`](Self::method) and
/// [`path_and_query`](Self::path_and_query) only when the request is
/// refused.
pub trait RequestView<C> {
    /// The request's headers.
    fn headers(&self) -> &dyn Headers;
    /// The request's method (`GET`, `POST`…).
    fn method(&self) -> &str;
    /// The path and query the browser asked for, in full (with the prefix
    /// of a nested router), for the redirect-back parameter.
    fn path_and_query(&self) -> Cow<'_, str>;
    /// The memo this request already has, if any.
    fn existing_memo(&self) -> Option<Memo<C>>;
    /// The request's memo, created and stored with the request on first
    /// use; called only when a token must be verified.
    fn memo(&mut self) -> Memo<C>;
    /// The host (and port) the client addressed, for the cross-origin
    /// check's `Origin` fallback; read only for an unsafe request from a
    /// browser without `Sec-Fetch-Site`. Defaults to the `Host` header; an
    /// adapter whose framework moves HTTP/2's `:authority` elsewhere
    /// overrides it.
    fn host(&self) -> Option<Cow<'_, str>> {
        let mut host = None;
        self.headers().for_each_value("host", &mut |value| {
            if host.is_none() {
                host = std::str::from_utf8(value).ok().map(Cow::Borrowed);
            }
        });
        host
    }
}

/// The outcome of one request, computed once and shared by every entry
/// point that asks (a layer and the extractors behind it, several
/// extractors of one handler). Cheap to clone.
pub struct Memo<C = SuperTokensClaims>(Arc<OnceCell<SessionOutcome<C>>>);

impl<C> Clone for Memo<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C> Default for Memo<C> {
    fn default() -> Self {
        Self(Arc::new(OnceCell::new()))
    }
}

impl<C> fmt::Debug for Memo<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Memo").field(&self.0.get()).finish()
    }
}

impl<C> Memo<C> {
    /// The memoised outcome, if computed.
    pub fn get(&self) -> Option<&SessionOutcome<C>> {
        self.0.get()
    }
}

/// What an entry point takes from a request's outcome: the value, or the
/// outcome to refuse the request with.
///
/// | type | gives | refuses |
/// |---|---|---|
/// | [`Session<C>`] | the session | every outcome but valid |
/// | `Option<Session<C>>` | `None` when the request has no token at all | expired, invalid, unavailable |
/// | [`SessionProps`] | the Next.js guide's props, needs-refresh included | invalid, unavailable |
/// | [`SessionOutcome<C>`] | the outcome, whatever it is | never |
pub trait Extract<C>: Sized {
    /// The value, or the outcome to refuse with.
    fn extract(outcome: SessionOutcome<C>) -> Result<Self, SessionOutcome<C>>;
}

impl<C> Extract<C> for Session<C> {
    fn extract(outcome: SessionOutcome<C>) -> Result<Self, SessionOutcome<C>> {
        match outcome {
            SessionOutcome::Valid(session) => Ok(session),
            other => Err(other),
        }
    }
}

impl<C> Extract<C> for Option<Session<C>> {
    fn extract(outcome: SessionOutcome<C>) -> Result<Self, SessionOutcome<C>> {
        match outcome {
            SessionOutcome::NeedsRefresh(NeedsRefreshReason::Missing) => Ok(None),
            other => Session::extract(other).map(Some),
        }
    }
}

impl<C> Extract<C> for SessionProps {
    fn extract(outcome: SessionOutcome<C>) -> Result<Self, SessionOutcome<C>> {
        match outcome {
            SessionOutcome::NeedsRefresh(_) => Ok(SessionProps::NeedsRefresh),
            other => Session::extract(other).map(|session| SessionProps::user(session.user_id())),
        }
    }
}

impl<C> Extract<C> for SessionOutcome<C> {
    fn extract(outcome: SessionOutcome<C>) -> Result<Self, SessionOutcome<C>> {
        Ok(outcome)
    }
}

/// How a layer or middleware treats the requests of its route group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardMode {
    /// Only requests with a valid session (meeting the requirements) go
    /// on; the rest get the core's answer.
    Required,
    /// Requests without any token go on without a session too; expired,
    /// invalid and unavailable sessions are still refused (SuperTokens'
    /// `sessionRequired: false`).
    Optional,
    /// Every request goes on; the outcome is recorded for the handlers.
    Observe,
}

/// The answer to a request refused a session, rendered by the
/// [`Respond`](crate::Respond)er: status, headers and body, ready for an
/// adapter to send.
#[derive(Debug, Clone)]
pub struct Rejection {
    response: ResponseData,
    reason: &'static str,
}

impl Rejection {
    /// The 500 an adapter answers when the app forgot to provide the
    /// session configuration; `setup` names the call that fixes it.
    pub fn missing_setup(setup: &str) -> Self {
        Self {
            response: ResponseData::new(
                500,
                "text/plain; charset=utf-8",
                format!("ssr-session is not configured: {setup}"),
            ),
            reason: "missing_setup",
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.response.status
    }

    /// The headers, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.response.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.response.body
    }

    /// The body as text (lossy UTF-8).
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.response.body)
    }

    /// Why the request was refused: `needs_refresh`, `invalid`,
    /// `unavailable` or `missing_setup`.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The whole answer, as data.
    pub fn response_data(&self) -> &ResponseData {
        &self.response
    }

    /// The whole answer, as data, owned.
    pub fn into_response_data(self) -> ResponseData {
        self.response
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "session refused ({}) with status {}",
            self.reason, self.response.status
        )
    }
}

impl std::error::Error for Rejection {}

impl<C: DeserializeOwned + Send + Sync + 'static> SessionConfig<C> {
    /// The whole pipeline for one entry point: the request's outcome
    /// (memoised, or a verified-token cache hit, or verified now), judged
    /// at the verification time against the configuration's
    /// [`requirements`](Self::require) and the route's own `requirement`,
    /// then taken as `T` (see [`Extract`]) or refused with the rendered
    /// answer.
    ///
    /// ```
    /// use ssr_session::testing::{TestKey, TokenBuilder, jwks};
    /// use ssr_session::{source::HeaderList, adapter::Memo, adapter::RequestView, Session, SessionConfig, keys::StaticKeys, Verifier};
    /// use std::borrow::Cow;
    ///
    /// /// A framework's request, as the pipeline sees it.
    /// struct Request { headers: HeaderList, memo: Option<Memo> }
    ///
    /// impl RequestView<ssr_session::SuperTokensClaims> for Request {
    ///     fn headers(&self) -> &dyn ssr_session::source::Headers { &self.headers }
    ///     fn method(&self) -> &str { "GET" }
    ///     fn path_and_query(&self) -> Cow<'_, str> { "/dashboard".into() }
    ///     fn existing_memo(&self) -> Option<Memo> { self.memo.clone() }
    ///     fn memo(&mut self) -> Memo { self.memo.get_or_insert_with(Memo::default).clone() }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let key = TestKey::generate(ssr_session::keys::Algorithm::RS256, "d-1");
    /// let config = SessionConfig::new(Verifier::builder(StaticKeys::from_jwks_json(jwks(&[&key]).to_string())?).build()?);
    ///
    /// let token = TokenBuilder::supertokens("user-1", 3600).sign(&key);
    /// let mut signed_in = Request { headers: HeaderList::new().with("cookie", format!("sAccessToken={token}")), memo: None };
    /// let session: Session = config.extract(&mut signed_in, None).await?;
    /// assert_eq!(session.user_id(), "user-1");
    ///
    /// let mut anonymous = Request { headers: HeaderList::new().with("accept", "application/json"), memo: None };
    /// let rejection = config.extract::<Session, _>(&mut anonymous, None).await.unwrap_err();
    /// assert_eq!((rejection.status(), &*rejection.body_text()), (401, r#"{"message":"try refresh token"}"#));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn extract<T, R>(
        &self,
        request: &mut R,
        requirement: Option<&dyn Requirement<C>>,
    ) -> Result<T, Rejection>
    where
        T: Extract<C>,
        R: RequestView<C> + ?Sized,
    {
        let outcome = self.outcome(request).await;
        let judged = self.judge(outcome, requirement, request);
        T::extract(judged).map_err(|outcome| self.refuse_request(&outcome, request))
    }

    /// The pipeline for a layer or middleware in `mode`: like
    /// [`extract`](Self::extract), with the outcome memoised in the request
    /// (a cache hit needs no memo), so the extractors behind it verify
    /// nothing again.
    pub async fn guard<R>(&self, request: &mut R, mode: GuardMode) -> Result<(), Rejection>
    where
        R: RequestView<C> + ?Sized,
    {
        let outcome = self.outcome(request).await;
        self.decide(outcome, mode, request)
    }

    /// [`guard`](Self::guard) when it can decide without waiting (a
    /// verified-token cache hit, a request without a token, a memoised
    /// outcome); `None` when the token must be verified first. A layer
    /// calls this first, so the common request costs no future. The
    /// outcome it decided on is memoised, so the extractors behind the
    /// layer read the request's token no second time.
    pub fn guard_now<R>(&self, request: &mut R, mode: GuardMode) -> Option<Result<(), Rejection>>
    where
        R: RequestView<C> + ?Sized,
    {
        let outcome = match request.existing_memo().and_then(|memo| memo.get().cloned()) {
            Some(outcome) => outcome,
            None => {
                let outcome = self.verifier().verify_cached(request.headers())?;
                let _ = request.memo().0.set(outcome.clone());
                outcome
            }
        };
        Some(self.decide(outcome, mode, request))
    }

    fn decide<R>(
        &self,
        outcome: SessionOutcome<C>,
        mode: GuardMode,
        request: &R,
    ) -> Result<(), Rejection>
    where
        R: RequestView<C> + ?Sized,
    {
        let judged = self.judge(outcome, None, request);
        let decided = match mode {
            GuardMode::Required => Session::extract(judged).map(drop),
            GuardMode::Optional => Option::<Session<C>>::extract(judged).map(drop),
            GuardMode::Observe => Ok(()),
        };
        decided.map_err(|outcome| self.refuse_request(&outcome, request))
    }

    /// The request's outcome when it is known without waiting: memoised
    /// (by a layer in front, or an earlier extractor), else from the
    /// verified-token cache (or no token at all; not memoised: looking a
    /// hit up again costs what a memo would).
    fn outcome_now<R>(&self, request: &R) -> Option<SessionOutcome<C>>
    where
        R: RequestView<C> + ?Sized,
    {
        if let Some(outcome) = request.existing_memo().and_then(|memo| memo.get().cloned()) {
            return Some(outcome);
        }
        self.verifier().verify_cached(request.headers())
    }

    /// The request's outcome before any route requirement: from the
    /// verified-token cache (not memoised: a hit costs what reading a memo
    /// costs), or memoised, or verified now and memoised.
    pub async fn outcome<R>(&self, request: &mut R) -> SessionOutcome<C>
    where
        R: RequestView<C> + ?Sized,
    {
        if let Some(outcome) = self.outcome_now(request) {
            return outcome;
        }
        let verifier = self.verifier();
        let memo = request.memo();
        // Made before waiting on the memo: the future holds the tokens, not
        // the header view (which need not be `Sync`).
        let verification = verifier.verify(request.headers());
        memo.0.get_or_init(|| verification).await.clone()
    }

    /// `outcome` as this request may use it: refused as forged when the
    /// request is ([`CsrfProtection`](crate::CsrfProtection)), else with the requirements met.
    fn judge<R>(
        &self,
        outcome: SessionOutcome<C>,
        requirement: Option<&dyn Requirement<C>>,
        request: &R,
    ) -> SessionOutcome<C>
    where
        R: RequestView<C> + ?Sized,
    {
        // A GET, the common request, pays one comparison here.
        if !request.method().eq_ignore_ascii_case("GET") {
            let host = || request.host();
            let view = ForgeryView {
                headers: request.headers(),
                method: request.method(),
                host: &host,
            };
            let carrier = || self.verifier().token_carrier(request.headers());
            if let Some(forged) = self.csrf_protection().rejection(&view, &outcome, carrier) {
                return SessionOutcome::Invalid(forged);
            }
        }
        self.meet(outcome, requirement)
    }

    /// `outcome`, with the configuration's requirements and the route's
    /// `requirement` checked on a valid session.
    fn meet(
        &self,
        outcome: SessionOutcome<C>,
        requirement: Option<&dyn Requirement<C>>,
    ) -> SessionOutcome<C> {
        match outcome {
            SessionOutcome::Valid(session)
                if requirement.is_some() || !self.requirements().is_empty() =>
            {
                let context = RequirementContext::new(self.verifier().now());
                let all = self.requirements().iter().map(|r| &**r).chain(requirement);
                requirement::judge(session, all, &context)
            }
            other => other,
        }
    }

    /// The request's method and path are read only here, to refuse it.
    fn refuse_request<R>(&self, outcome: &SessionOutcome<C>, request: &R) -> Rejection
    where
        R: RequestView<C> + ?Sized,
    {
        let path = request.path_and_query();
        self.reject(
            outcome,
            &RequestInfo::new(request.headers(), request.method(), &path),
        )
    }

    /// The rendered answer to a non-valid outcome for this request.
    pub fn reject(&self, outcome: &SessionOutcome<C>, info: &RequestInfo<'_>) -> Rejection {
        let reason = outcome.name();
        let cause = match outcome {
            SessionOutcome::NeedsRefresh(why) => why.as_str(),
            SessionOutcome::Invalid(error) => error.kind().as_str(),
            _ => reason,
        };
        let response = respond::render(self.responder(), info, outcome).unwrap_or_else(|| {
            // Only a decision that refuses a valid outcome gets here; none does.
            ResponseData::new(500, "text/plain; charset=utf-8", "internal error")
        });
        tracing::debug!(
            target: "ssr_session::rejection",
            reason,
            cause,
            status = response.status,
            kind = ?info.kind,
            "refusing the request"
        );
        Rejection { response, reason }
    }
}
