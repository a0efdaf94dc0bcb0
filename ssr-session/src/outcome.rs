//! What verifying one request's session gives: the [`SessionOutcome`].

use std::fmt;
use std::sync::Arc;

use crate::claims::SuperTokensClaims;
use crate::error::{InvalidToken, KeySourceError};
use crate::revocation::RevocationError;
use crate::session::Session;

/// The result of verifying the session of one request.
///
/// Every adapter matches on this one enum; the four variants are the whole
/// contract (see the crate docs for which situation gives which variant).
pub enum SessionOutcome<C = SuperTokensClaims> {
    /// The token verified: signature, algorithm, key, header and claims.
    Valid(Session<C>),
    /// No token, or a token whose only fault is its expiry: the browser
    /// should call the refresh endpoint and try again.
    NeedsRefresh(NeedsRefreshReason),
    /// The token is wrong in a way a refresh cannot fix (the user is
    /// unauthorised, or a requirement refused it).
    Invalid(InvalidToken),
    /// The key source failed and no usable cached key exists: our failure,
    /// never the user's.
    Unavailable(Unavailable),
}

// By hand: the derives would demand `C: Clone` / `C: Debug`, but the claims
// sit behind an `Arc` and are never printed.
impl<C> Clone for SessionOutcome<C> {
    fn clone(&self) -> Self {
        match self {
            Self::Valid(session) => Self::Valid(session.clone()),
            Self::NeedsRefresh(reason) => Self::NeedsRefresh(*reason),
            Self::Invalid(error) => Self::Invalid(error.clone()),
            Self::Unavailable(error) => Self::Unavailable(error.clone()),
        }
    }
}

impl<C> std::fmt::Debug for SessionOutcome<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Valid(session) => f.debug_tuple("Valid").field(session).finish(),
            Self::NeedsRefresh(reason) => f.debug_tuple("NeedsRefresh").field(reason).finish(),
            Self::Invalid(error) => f.debug_tuple("Invalid").field(error).finish(),
            Self::Unavailable(error) => f.debug_tuple("Unavailable").field(error).finish(),
        }
    }
}

impl<C> SessionOutcome<C> {
    /// The session, when the outcome is valid.
    pub fn session(&self) -> Option<&Session<C>> {
        match self {
            Self::Valid(session) => Some(session),
            _ => None,
        }
    }

    /// Consumes the outcome and gives the session, when valid.
    pub fn into_session(self) -> Option<Session<C>> {
        match self {
            Self::Valid(session) => Some(session),
            _ => None,
        }
    }

    /// `true` for [`SessionOutcome::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid(_))
    }

    /// `true` for [`SessionOutcome::NeedsRefresh`].
    pub fn is_needs_refresh(&self) -> bool {
        matches!(self, Self::NeedsRefresh(_))
    }

    /// `true` for [`SessionOutcome::Invalid`].
    pub fn is_invalid(&self) -> bool {
        matches!(self, Self::Invalid(_))
    }

    /// `true` for [`SessionOutcome::Unavailable`].
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// `true` when the request carried no token at all.
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::NeedsRefresh(NeedsRefreshReason::Missing))
    }

    /// A short, stable name of the outcome: `valid`, `needs_refresh`,
    /// `invalid` or `unavailable`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Valid(_) => "valid",
            Self::NeedsRefresh(_) => "needs_refresh",
            Self::Invalid(_) => "invalid",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

/// Why a request needs a refresh before its session can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NeedsRefreshReason {
    /// The request carried no access token (or an empty one).
    Missing,
    /// The token would be valid but for its `exp`, which has passed.
    Expired,
    /// The token's `kid` is unknown even after a refetch, and the verifier
    /// was configured with [`UnknownKeyPolicy::NeedsRefresh`](crate::verify::UnknownKeyPolicy).
    UnknownKey,
    /// A claim check failed in a way a refresh may fix (its value is
    /// missing or too old, and the check was marked
    /// [`refresh_may_help`](crate::requirement::RequirementFailure::refresh_may_help)).
    Claim,
}

impl NeedsRefreshReason {
    /// `missing`, `expired`, `unknown_key` or `claim`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Expired => "expired",
            Self::UnknownKey => "unknown_key",
            Self::Claim => "claim",
        }
    }
}

impl fmt::Display for NeedsRefreshReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The session could not be checked: the server's fault, never the user's.
#[derive(Debug, Clone)]
pub struct Unavailable {
    cause: Cause,
}

#[derive(Debug, Clone)]
enum Cause {
    Keys(Arc<KeySourceError>),
    Revocation(Arc<RevocationError>),
}

impl Unavailable {
    pub(crate) fn keys(error: Arc<KeySourceError>) -> Self {
        Self {
            cause: Cause::Keys(error),
        }
    }

    pub(crate) fn revocation(error: Arc<RevocationError>) -> Self {
        Self {
            cause: Cause::Revocation(error),
        }
    }

    /// The key source's error, when the keys were unavailable.
    pub fn key_source_error(&self) -> Option<&KeySourceError> {
        match &self.cause {
            Cause::Keys(error) => Some(error),
            Cause::Revocation(_) => None,
        }
    }

    /// The revocation list's error, when revocations could not be checked.
    pub fn revocation_error(&self) -> Option<&RevocationError> {
        match &self.cause {
            Cause::Revocation(error) => Some(error),
            Cause::Keys(_) => None,
        }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Keys(error) => write!(f, "session verification unavailable: {error}"),
            Cause::Revocation(error) => write!(f, "session verification unavailable: {error}"),
        }
    }
}

impl std::error::Error for Unavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Cause::Keys(error) => Some(&**error),
            Cause::Revocation(error) => Some(&**error),
        }
    }
}
