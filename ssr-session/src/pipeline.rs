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

use futures_util::future::Either;
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
/// and a place to keep the request's [`Memo`].
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
    /// The memo an entry point before this one kept with the request, if
    /// any (a clone: cheap). A framework that cannot look without creating
    /// (Rocket's local cache) answers `None` and finds the memo through
    /// [`keep_memo`](Self::keep_memo).
    fn memo(&self) -> Option<Memo<C>>;
    /// Keeps `memo` with the request, in place of the one it had, for the
    /// entry points after this one (one entry: a layer's configuration and
    /// the outcome travel together), and answers `None`. A framework whose
    /// request-local storage is written once (Rocket's local cache) keeps
    /// the first memo instead and answers with it.
    fn keep_memo(&mut self, memo: Memo<C>) -> Option<Memo<C>>;
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

/// What one request has learned about its session, kept with the request
/// in one place (an extensions entry, Rocket's local cache): the
/// configuration of the route group (which a layer provides to the
/// extractors behind it) and, once known, the outcome, with the outcome
/// as that configuration judged it for this request. A layer and the
/// extractors behind it, or several extractors of one handler, share it,
/// so the token is read, and the group's requirements are judged, once
/// per request. Cheap to clone.
pub struct Memo<C = SuperTokensClaims> {
    config: SessionConfig<C>,
    known: Known<C>,
}

/// What a [`Memo`] knows of the outcome.
enum Known<C> {
    /// Nothing yet: a layer only provided the configuration.
    Nothing,
    /// Verified in full, or being verified: shared, so that entry points
    /// polled together (actix's extractors) wait for one verification.
    Verifying(Arc<OnceCell<SessionOutcome<C>>>),
    /// Known at once: the outcome, the verification time (read when a
    /// session was judged; `None` when nothing needed it), and how the
    /// memo's configuration judged it for this request.
    Judged {
        outcome: SessionOutcome<C>,
        at: Option<f64>,
        judged: Judgement<C>,
    },
}

/// How a memo's configuration judged its outcome for the request.
enum Judgement<C> {
    /// Not judged by it (a configuration provided after the outcome was
    /// known).
    Not,
    /// The outcome stands: no forgery, the requirements met (the common
    /// case, so the memo holds one outcome).
    Same,
    /// Refused: what the request gets instead.
    Refused(Box<SessionOutcome<C>>),
}

impl<C> Clone for Judgement<C> {
    fn clone(&self) -> Self {
        match self {
            Self::Not => Self::Not,
            Self::Same => Self::Same,
            Self::Refused(refused) => Self::Refused(refused.clone()),
        }
    }
}

impl<C> Clone for Known<C> {
    fn clone(&self) -> Self {
        match self {
            Self::Nothing => Self::Nothing,
            Self::Verifying(cell) => Self::Verifying(cell.clone()),
            Self::Judged {
                outcome,
                at,
                judged,
            } => Self::Judged {
                outcome: outcome.clone(),
                at: *at,
                judged: judged.clone(),
            },
        }
    }
}

impl<C> Clone for Memo<C> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            known: self.known.clone(),
        }
    }
}

impl<C> fmt::Debug for Memo<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memo")
            .field("outcome", &self.get())
            .finish_non_exhaustive()
    }
}

impl<C> Memo<C> {
    /// The memoised outcome (before any requirement), if known.
    pub fn get(&self) -> Option<&SessionOutcome<C>> {
        match &self.known {
            Known::Nothing => None,
            Known::Verifying(cell) => cell.get(),
            Known::Judged { outcome, .. } => Some(outcome),
        }
    }

    /// The configuration of the entry point that kept the memo: a layer's,
    /// for the extractors behind it.
    pub fn config(&self) -> &SessionConfig<C> {
        &self.config
    }
}

impl<C: DeserializeOwned + Send + Sync + 'static> Memo<C> {
    /// [`SessionConfig::extract`] with the memo's configuration, for the
    /// memo of this `request` (an extractor behind a layer that provided
    /// it). Decided when called if it can be (the memo, a verified-token
    /// cache hit): then the future is a ready value.
    pub fn extract<'a, T, R>(
        self,
        request: &'a mut R,
        requirement: Option<&'a dyn Requirement<C>>,
    ) -> impl Future<Output = Result<T, Rejection>> + 'a
    where
        T: Extract<C> + 'a,
        R: RequestView<C> + ?Sized,
    {
        let config = self.config.clone();
        match config.extract_now(Some(self), request, requirement) {
            Ok(decided) => Either::Left(std::future::ready(decided)),
            Err(pending) => Either::Right(Box::pin(async move {
                config.extract_later(pending, request, requirement).await
            })),
        }
    }
}

/// What the request's memo, or the verified-token cache, tells without
/// waiting.
enum Found<C> {
    /// The outcome, judged by this configuration for this request:
    /// `refused` is what the request gets instead, if anything.
    Judged {
        outcome: SessionOutcome<C>,
        at: Option<f64>,
        refused: Option<Box<SessionOutcome<C>>>,
    },
    /// The outcome, not yet judged by this configuration.
    Outcome {
        outcome: SessionOutcome<C>,
        at: Option<f64>,
    },
    /// A token to verify in full.
    Verify(Pending<C>),
}

/// What a full verification needs from the request's memo: the cell of
/// one already under way, else the configuration a layer provided (to
/// keep in the memo with the new cell).
struct Pending<C> {
    cell: Option<Arc<OnceCell<SessionOutcome<C>>>>,
    config: Option<SessionConfig<C>>,
}

impl<C> Pending<C> {
    fn from_memo(memo: Option<Memo<C>>) -> Self {
        match memo {
            Some(Memo {
                known: Known::Verifying(cell),
                ..
            }) => Self {
                cell: Some(cell),
                config: None,
            },
            memo => Self {
                cell: None,
                config: memo.map(|memo| memo.config),
            },
        }
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
    /// answer. A memo this configuration judged (a layer in front) is not
    /// judged again: only the route's own `requirement` is.
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
    ///     fn memo(&self) -> Option<Memo> { self.memo.clone() }
    ///     fn keep_memo(&mut self, memo: Memo) -> Option<Memo> { self.memo = Some(memo); None }
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
    pub fn extract<'a, T, R>(
        &'a self,
        request: &'a mut R,
        requirement: Option<&'a dyn Requirement<C>>,
    ) -> impl Future<Output = Result<T, Rejection>> + 'a
    where
        T: Extract<C> + 'a,
        R: RequestView<C> + ?Sized,
    {
        let memo = request.memo();
        // Decided now when it can be: the common request's future is a
        // ready value, and the full verification's state is boxed apart
        // (frameworks box every handler future, extractors included).
        match self.extract_now(memo, request, requirement) {
            Ok(decided) => Either::Left(std::future::ready(decided)),
            Err(pending) => {
                Either::Right(Box::pin(self.extract_later(pending, request, requirement)))
            }
        }
    }

    /// [`extract`](Self::extract) without waiting, given the request's
    /// memo: the answer, or what a full verification needs.
    fn extract_now<T, R>(
        &self,
        memo: Option<Memo<C>>,
        request: &R,
        requirement: Option<&dyn Requirement<C>>,
    ) -> Result<Result<T, Rejection>, Pending<C>>
    where
        T: Extract<C>,
        R: RequestView<C> + ?Sized,
    {
        let judged = match self.find(memo, request) {
            // The group's judgement stands; a route requirement is judged
            // on a session the group admitted.
            Found::Judged {
                outcome,
                mut at,
                refused: None,
            } => match (requirement, &outcome) {
                (Some(requirement), SessionOutcome::Valid(session)) => {
                    let context = RequirementContext::new(self.time(&mut at));
                    requirement::refusal(session, std::iter::once(requirement), &context)
                        .unwrap_or(outcome)
                }
                _ => outcome,
            },
            Found::Judged {
                refused: Some(refused),
                outcome,
                mut at,
            } => match requirement {
                None => *refused,
                // Every failure is reported together, as without a memo.
                Some(requirement) => self.judge(outcome, Some(requirement), request, &mut at),
            },
            Found::Outcome { outcome, mut at } => {
                self.judge(outcome, requirement, request, &mut at)
            }
            Found::Verify(pending) => return Err(pending),
        };
        Ok(T::extract(judged).map_err(|outcome| self.refuse_request(&outcome, request)))
    }

    /// [`extract`](Self::extract) once the token is verified in full.
    async fn extract_later<T, R>(
        &self,
        pending: Pending<C>,
        request: &mut R,
        requirement: Option<&dyn Requirement<C>>,
    ) -> Result<T, Rejection>
    where
        T: Extract<C>,
        R: RequestView<C> + ?Sized,
    {
        let outcome = self.verified(pending, request).await;
        let judged = self.judge(outcome, requirement, request, &mut None);
        T::extract(judged).map_err(|outcome| self.refuse_request(&outcome, request))
    }

    /// The pipeline for a layer or middleware in `mode`: like
    /// [`extract`](Self::extract), with the configuration and the judged
    /// outcome kept in the request's memo (one entry), so the extractors
    /// behind it use this configuration, read no token and judge the
    /// group's requirements no second time.
    pub async fn guard<R>(&self, request: &mut R, mode: GuardMode) -> Result<(), Rejection>
    where
        R: RequestView<C> + ?Sized,
    {
        if let Some(decided) = self.guard_now(request, mode) {
            return decided;
        }
        let pending = Pending::from_memo(request.memo());
        let outcome = self.verified(pending, request).await;
        let mut at = None;
        let refused = self.refusal(&outcome, None, request, &mut at);
        self.decide(outcome, at, refused, mode, request)
    }

    /// [`guard`](Self::guard) when it can decide without waiting (a
    /// verified-token cache hit, a request without a token, a memoised
    /// outcome); `None` when the token must be verified first. A layer
    /// calls this first, so the common request costs no future.
    pub fn guard_now<R>(&self, request: &mut R, mode: GuardMode) -> Option<Result<(), Rejection>>
    where
        R: RequestView<C> + ?Sized,
    {
        match self.find(request.memo(), request) {
            // A layer of the same configuration decided already.
            Found::Judged {
                outcome, refused, ..
            } => Some(self.admit(refused.as_deref().unwrap_or(&outcome), mode, request)),
            Found::Outcome { outcome, mut at } => {
                let refused = self.refusal(&outcome, None, request, &mut at);
                Some(self.decide(outcome, at, refused, mode, request))
            }
            Found::Verify(_) => None,
        }
    }

    /// Provides this configuration to the entry points behind a layer that
    /// checks nothing itself ([`GuardMode`]-less): kept in the request's
    /// memo, with whatever outcome the memo knew (judged again by this
    /// configuration when an extractor asks).
    pub fn provide<R>(&self, request: &mut R)
    where
        R: RequestView<C> + ?Sized,
    {
        let known = match request.memo() {
            Some(memo) if memo.config.ptr_eq(self) => return,
            Some(Memo {
                known: Known::Judged { outcome, at, .. },
                ..
            }) => Known::Judged {
                outcome,
                at,
                judged: Judgement::Not,
            },
            Some(memo) => memo.known,
            None => Known::Nothing,
        };
        request.keep_memo(Memo {
            config: self.clone(),
            known,
        });
    }

    /// Admits or refuses the request by its outcome as judged (`refused`,
    /// else `outcome`); an admitted request keeps the memo, with this
    /// configuration, for the extractors behind the layer.
    fn decide<R>(
        &self,
        outcome: SessionOutcome<C>,
        at: Option<f64>,
        refused: Option<SessionOutcome<C>>,
        mode: GuardMode,
        request: &mut R,
    ) -> Result<(), Rejection>
    where
        R: RequestView<C> + ?Sized,
    {
        self.admit(refused.as_ref().unwrap_or(&outcome), mode, request)?;
        let judged = match refused {
            None => Judgement::Same,
            Some(refused) => Judgement::Refused(Box::new(refused)),
        };
        request.keep_memo(Memo {
            config: self.clone(),
            known: Known::Judged {
                outcome,
                at,
                judged,
            },
        });
        Ok(())
    }

    /// What each [`GuardMode`] lets through (as [`Extract`] takes
    /// `Session` and `Option<Session>`).
    fn admit<R>(
        &self,
        judged: &SessionOutcome<C>,
        mode: GuardMode,
        request: &R,
    ) -> Result<(), Rejection>
    where
        R: RequestView<C> + ?Sized,
    {
        let admitted = match mode {
            GuardMode::Required => judged.is_valid(),
            GuardMode::Optional => matches!(
                judged,
                SessionOutcome::Valid(_)
                    | SessionOutcome::NeedsRefresh(NeedsRefreshReason::Missing)
            ),
            GuardMode::Observe => true,
        };
        if admitted {
            Ok(())
        } else {
            Err(self.refuse_request(judged, request))
        }
    }

    /// What the request's memo, or else the verified-token cache (a hit
    /// is not memoised: looking it up again costs what a memo costs), tells
    /// at once; the judged outcome only when this configuration judged it.
    fn find<R>(&self, memo: Option<Memo<C>>, request: &R) -> Found<C>
    where
        R: RequestView<C> + ?Sized,
    {
        let memo = match memo {
            Some(Memo {
                config,
                known:
                    Known::Judged {
                        outcome,
                        at,
                        judged,
                    },
            }) => {
                return match judged {
                    Judgement::Same if config.ptr_eq(self) => Found::Judged {
                        outcome,
                        at,
                        refused: None,
                    },
                    Judgement::Refused(refused) if config.ptr_eq(self) => Found::Judged {
                        outcome,
                        at,
                        refused: Some(refused),
                    },
                    _ => Found::Outcome { outcome, at },
                };
            }
            memo => memo,
        };
        if let Some(outcome) = memo.as_ref().and_then(Memo::get) {
            return Found::Outcome {
                outcome: outcome.clone(),
                at: None,
            };
        }
        match self.verifier().verify_cached_at(request.headers()) {
            Some((outcome, at)) => Found::Outcome { outcome, at },
            None => Found::Verify(Pending::from_memo(memo)),
        }
    }

    /// The outcome verified in full, shared through the request's memo
    /// (kept there now if the request had none being verified).
    async fn verified<R>(&self, pending: Pending<C>, request: &mut R) -> SessionOutcome<C>
    where
        R: RequestView<C> + ?Sized,
    {
        let cell = match pending.cell {
            Some(cell) => cell,
            None => {
                let cell = Arc::new(OnceCell::new());
                // The configuration stays the one a layer provided.
                let config = pending.config.unwrap_or_else(|| self.clone());
                let kept = request.keep_memo(Memo {
                    config,
                    known: Known::Verifying(cell.clone()),
                });
                match kept.map(|memo| memo.known) {
                    Some(Known::Verifying(kept)) => kept,
                    Some(Known::Judged { outcome, .. }) => return outcome,
                    Some(Known::Nothing) | None => cell,
                }
            }
        };
        // Made before waiting on the memo: the future holds the tokens, not
        // the header view (which need not be `Sync`).
        let verification = self.verifier().verify(request.headers());
        cell.get_or_init(|| verification).await.clone()
    }

    /// The request's outcome before any requirement of the configuration
    /// or the route: memoised, or from the verified-token cache (not
    /// memoised: a hit costs what reading a memo costs), or verified now
    /// and memoised.
    pub async fn outcome<R>(&self, request: &mut R) -> SessionOutcome<C>
    where
        R: RequestView<C> + ?Sized,
    {
        match self.find(request.memo(), request) {
            Found::Judged { outcome, .. } | Found::Outcome { outcome, .. } => outcome,
            Found::Verify(pending) => self.verified(pending, request).await,
        }
    }

    /// The verification time: the one the outcome was judged at, else the
    /// verifier's clock, read now and kept for the rest of the request.
    fn time(&self, at: &mut Option<f64>) -> f64 {
        *at.get_or_insert_with(|| self.verifier().now())
    }

    /// `outcome` as this request may use it: refused as forged when the
    /// request is ([`CsrfProtection`](crate::CsrfProtection)), else with the
    /// requirements met, judged at the verification time `at`.
    fn judge<R>(
        &self,
        outcome: SessionOutcome<C>,
        requirement: Option<&dyn Requirement<C>>,
        request: &R,
        at: &mut Option<f64>,
    ) -> SessionOutcome<C>
    where
        R: RequestView<C> + ?Sized,
    {
        self.refusal(&outcome, requirement, request, at)
            .unwrap_or(outcome)
    }

    /// What [`judge`](Self::judge) answers instead of `outcome`, if
    /// anything: `None` when the outcome stands.
    fn refusal<R>(
        &self,
        outcome: &SessionOutcome<C>,
        requirement: Option<&dyn Requirement<C>>,
        request: &R,
        at: &mut Option<f64>,
    ) -> Option<SessionOutcome<C>>
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
            if let Some(forged) = self.csrf_protection().rejection(&view, outcome, carrier) {
                crate::metrics::forged(forged.kind());
                return Some(SessionOutcome::Invalid(forged));
            }
        }
        match outcome {
            SessionOutcome::Valid(session)
                if requirement.is_some() || !self.requirements().is_empty() =>
            {
                let context = RequirementContext::new(self.time(at));
                let all = self.requirements().iter().map(|r| &**r).chain(requirement);
                requirement::refusal(session, all, &context)
            }
            _ => None,
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
        let response = respond::render(self.rendering(), info, outcome).unwrap_or_else(|| {
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
