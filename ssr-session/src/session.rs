//! [`SessionConfig`]: the verifier and the responses together, with the
//! decisions every adapter shares (required, optional, props).

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::claims::SuperTokensClaims;
use crate::error::InvalidToken;
use crate::outcome::{NeedsRefreshReason, Session, SessionOutcome, Unavailable};
use crate::respond::{self, DefaultResponses, Rejected, RequestInfo, Respond, ResponseData};
use crate::source::Headers;
use crate::verify::Verifier;

/// What an adapter needs from the app: the [`Verifier`] and the
/// [`Respond`]er. Cheap to clone (one reference count). Adapters hold no
/// policy: every decision below is made here, once, for all frameworks.
///
/// The decisions ([`require`](Self::require), [`optional`](Self::optional),
/// [`props`](Self::props)) need only the outcome; a [`Refusal`] is rendered
/// by [`respond`](Self::respond), so an adapter looks at the request (its
/// `Accept` header, its path) only when it has to answer without a session.
///
/// An adapter, in full:
///
/// ```
/// use ssr_session::{HeaderList, RequestInfo, SessionConfig, SessionOutcome, StaticKeys, Verifier};
/// use ssr_session::testing::{TestKey, TokenBuilder, jwks};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = TestKey::generate(ssr_session::Algorithm::RS256, "d-1");
/// let keys = StaticKeys::from_jwks_json(&jwks(&[&key]).to_string())?;
/// let config = SessionConfig::new(Verifier::builder(keys).build()?);
///
/// let page = async |headers: &HeaderList, path: &str| {
///     // A token-cache hit needs no per-request memo; anything else would
///     // be memoised in the request here.
///     let outcome = match config.cached_session(headers) {
///         Some(session) => SessionOutcome::Valid(session),
///         None => config.outcome(headers).await,
///     };
///     match config.require(outcome) {
///         Ok(session) => (200, format!("Hello, {}", session.user_id())),
///         Err(refusal) => {
///             let response = config.respond(&refusal, &RequestInfo::new(headers, path));
///             (response.status, String::from_utf8_lossy(&response.body).into_owned())
///         }
///     }
/// };
///
/// let token = TokenBuilder::supertokens("user-1", 3600).sign(&key);
/// let signed_in = HeaderList::new().with("cookie", format!("sAccessToken={token}"));
/// assert_eq!(page(&signed_in, "/").await, (200, "Hello, user-1".into()));
/// let anonymous = HeaderList::new().with("accept", "application/json");
/// assert_eq!(page(&anonymous, "/").await, (401, r#"{"message":"try refresh token"}"#.into()));
/// # Ok(())
/// # }
/// ```
pub struct SessionConfig<C = SuperTokensClaims> {
    inner: Arc<Parts<C>>,
}

struct Parts<C> {
    verifier: Verifier<C>,
    responses: Box<dyn Respond>,
}

impl<C> Clone for SessionConfig<C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<C> std::fmt::Debug for SessionConfig<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("verifier", &self.inner.verifier)
            .finish_non_exhaustive()
    }
}

impl<C: DeserializeOwned + Send + Sync + 'static> SessionConfig<C> {
    /// The verifier with SuperTokens-compatible [`DefaultResponses`].
    pub fn new(verifier: Verifier<C>) -> Self {
        Self::with_responses(verifier, DefaultResponses::default())
    }

    /// The verifier with other responses.
    pub fn with_responses(verifier: Verifier<C>, responses: impl Respond) -> Self {
        Self {
            inner: Arc::new(Parts {
                verifier,
                responses: Box::new(responses),
            }),
        }
    }

    /// Replaces the responses.
    pub fn responses(self, responses: impl Respond) -> Self {
        Self::with_responses(self.inner.verifier.clone(), responses)
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier<C> {
        &self.inner.verifier
    }

    /// Verifies a request's session.
    /// The future is `Send` whatever the header type (see [`Verifier::verify`]).
    pub fn outcome<'a>(
        &'a self,
        headers: &'a dyn Headers,
    ) -> impl Future<Output = SessionOutcome<C>> + Send + 'a {
        self.inner.verifier.verify(headers)
    }

    /// The session, when the request's token is in the verified-token
    /// cache (see [`Verifier::cached_session`]). Adapters try this before
    /// their per-request memo, and memoise only what
    /// [`outcome`](Self::outcome) computes.
    pub fn cached_session(&self, headers: &dyn Headers) -> Option<Session<C>> {
        self.inner.verifier.cached_session(headers)
    }

    /// The response for a non-valid outcome; `None` when valid.
    pub fn rejection(
        &self,
        outcome: &SessionOutcome<C>,
        request: &RequestInfo<'_>,
    ) -> Option<ResponseData> {
        let rejected = match outcome {
            SessionOutcome::Valid(_) => return None,
            SessionOutcome::NeedsRefresh(reason) => Rejected::NeedsRefresh(*reason),
            SessionOutcome::Invalid(error) => Rejected::Invalid(error),
            SessionOutcome::Unavailable(error) => Rejected::Unavailable(error),
        };
        Some(respond::render(&*self.inner.responses, request, rejected))
    }

    /// The response for a [`Refusal`] (rendered by the [`Respond`]er).
    pub fn respond(&self, refusal: &Refusal, request: &RequestInfo<'_>) -> ResponseData {
        let rejected = match refusal {
            Refusal::NeedsRefresh(reason) => Rejected::NeedsRefresh(*reason),
            Refusal::Invalid(error) => Rejected::Invalid(error),
            Refusal::Unavailable(error) => Rejected::Unavailable(error),
        };
        respond::render(&*self.inner.responses, request, rejected)
    }

    /// A required session: the session, or why there is none.
    pub fn require(&self, outcome: SessionOutcome<C>) -> Result<Session<C>, Refusal> {
        match outcome {
            SessionOutcome::Valid(session) => Ok(session),
            SessionOutcome::NeedsRefresh(reason) => Err(Refusal::NeedsRefresh(reason)),
            SessionOutcome::Invalid(error) => Err(Refusal::Invalid(error)),
            SessionOutcome::Unavailable(error) => Err(Refusal::Unavailable(error)),
        }
    }

    /// An optional session (SuperTokens' `sessionRequired: false`): no token
    /// at all gives `None`; an expired, invalid or unavailable session is
    /// still refused.
    pub fn optional(&self, outcome: SessionOutcome<C>) -> Result<Option<Session<C>>, Refusal> {
        match outcome {
            SessionOutcome::NeedsRefresh(NeedsRefreshReason::Missing) => Ok(None),
            other => self.require(other).map(Some),
        }
    }

    /// The page props of the SuperTokens Next.js guide: `{"userId": …}` when
    /// valid, `{"fromSupertokens":"needs-refresh"}` when a refresh is
    /// needed; invalid and unavailable sessions are refused.
    pub fn props(&self, outcome: SessionOutcome<C>) -> Result<SessionProps, Refusal> {
        match outcome {
            SessionOutcome::NeedsRefresh(_) => Ok(SessionProps::NeedsRefresh),
            other => self
                .require(other)
                .map(|session| SessionProps::user(session.user_id())),
        }
    }
}

/// Why a request gets no session: every [`SessionOutcome`] but `Valid`.
/// [`SessionConfig::respond`] renders it.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// No token, or an expired one.
    NeedsRefresh(NeedsRefreshReason),
    /// An invalid token.
    Invalid(InvalidToken),
    /// The key source is down.
    Unavailable(Unavailable),
}

/// Page props, serialized exactly as the SuperTokens Next.js guide's
/// `getServerSideProps` returns them, so existing frontends keep working.
///
/// ```
/// use ssr_session::SessionProps;
/// assert_eq!(serde_json::to_string(&SessionProps::user("u1")).unwrap(), r#"{"userId":"u1"}"#);
/// assert_eq!(
///     serde_json::to_string(&SessionProps::NeedsRefresh).unwrap(),
///     r#"{"fromSupertokens":"needs-refresh"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionProps {
    /// `{"userId": "<sub>"}`
    User {
        /// The user id.
        user_id: String,
    },
    /// `{"fromSupertokens": "needs-refresh"}`
    NeedsRefresh,
}

impl SessionProps {
    /// Props for a signed-in user.
    pub fn user(user_id: impl Into<String>) -> Self {
        Self::User {
            user_id: user_id.into(),
        }
    }
}

impl Serialize for SessionProps {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Self::User { user_id } => map.serialize_entry("userId", user_id)?,
            Self::NeedsRefresh => map.serialize_entry("fromSupertokens", "needs-refresh")?,
        }
        map.end()
    }
}
