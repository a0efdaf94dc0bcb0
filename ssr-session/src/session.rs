//! [`SessionConfig`]: the verifier and the responses together, with the
//! decisions every adapter shares (required, optional, props).

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::claims::SuperTokensClaims;
use crate::outcome::{NeedsRefreshReason, Session, SessionOutcome};
use crate::respond::{self, DefaultResponses, Rejected, RequestInfo, Respond, ResponseData};
use crate::source::Headers;
use crate::verify::Verifier;

/// What an adapter needs from the app: the [`Verifier`] and the
/// [`Respond`]er. Cheap to clone. Adapters hold no policy: every decision
/// below is made here, once, for all frameworks.
pub struct SessionConfig<C = SuperTokensClaims> {
    verifier: Verifier<C>,
    responses: Arc<dyn Respond>,
}

impl<C> Clone for SessionConfig<C> {
    fn clone(&self) -> Self {
        Self {
            verifier: self.verifier.clone(),
            responses: self.responses.clone(),
        }
    }
}

impl<C> std::fmt::Debug for SessionConfig<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl<C: DeserializeOwned + Send + Sync + 'static> SessionConfig<C> {
    /// The verifier with SuperTokens-compatible [`DefaultResponses`].
    pub fn new(verifier: Verifier<C>) -> Self {
        Self {
            verifier,
            responses: Arc::new(DefaultResponses::default()),
        }
    }

    /// Replaces the responses.
    pub fn responses(mut self, responses: impl Respond) -> Self {
        self.responses = Arc::new(responses);
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier<C> {
        &self.verifier
    }

    /// Verifies a request's session.
    /// The future is `Send` whatever the header type (see [`Verifier::verify`]).
    pub fn outcome<'a>(
        &'a self,
        headers: &'a dyn Headers,
    ) -> impl Future<Output = SessionOutcome<C>> + Send + 'a {
        self.verifier.verify(headers)
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
        Some(respond::render(&*self.responses, request, rejected))
    }

    /// A required session: the session, or the response to send instead.
    pub fn require(
        &self,
        outcome: &SessionOutcome<C>,
        request: &RequestInfo<'_>,
    ) -> Result<Session<C>, ResponseData> {
        match outcome {
            SessionOutcome::Valid(session) => Ok(session.clone()),
            other => Err(self
                .rejection(other, request)
                .unwrap_or_else(unreachable_valid)),
        }
    }

    /// An optional session (SuperTokens' `sessionRequired: false`): no token
    /// at all gives `None`; an expired, invalid or unavailable session is
    /// still answered with its response.
    pub fn optional(
        &self,
        outcome: &SessionOutcome<C>,
        request: &RequestInfo<'_>,
    ) -> Result<Option<Session<C>>, ResponseData> {
        match outcome {
            SessionOutcome::NeedsRefresh(NeedsRefreshReason::Missing) => Ok(None),
            other => self.require(other, request).map(Some),
        }
    }

    /// The page props of the SuperTokens Next.js guide: `{"userId": …}` when
    /// valid, `{"fromSupertokens":"needs-refresh"}` when a refresh is
    /// needed; invalid and unavailable sessions get their responses.
    pub fn props(
        &self,
        outcome: &SessionOutcome<C>,
        request: &RequestInfo<'_>,
    ) -> Result<SessionProps, ResponseData> {
        match outcome {
            SessionOutcome::Valid(session) => Ok(SessionProps::user(session.user_id())),
            SessionOutcome::NeedsRefresh(_) => Ok(SessionProps::NeedsRefresh),
            other => Err(self
                .rejection(other, request)
                .unwrap_or_else(unreachable_valid)),
        }
    }
}

fn unreachable_valid() -> ResponseData {
    ResponseData::new(500, "text/plain", "internal error")
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
