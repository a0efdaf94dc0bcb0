//! What verifying one request's session gives: the [`SessionOutcome`].

use std::fmt;
use std::sync::Arc;

use crate::claims::SuperTokensClaims;
use crate::error::{InvalidToken, KeySourceError};

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
    /// unauthorised, or a claim validator refused it).
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
pub enum NeedsRefreshReason {
    /// The request carried no access token (or an empty one).
    Missing,
    /// The token would be valid but for its `exp`, which has passed.
    Expired,
    /// The token's `kid` is unknown even after a refetch, and the verifier
    /// was configured with [`UnknownKeyPolicy::NeedsRefresh`](crate::UnknownKeyPolicy).
    UnknownKey,
}

impl NeedsRefreshReason {
    /// `missing`, `expired` or `unknown_key`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Expired => "expired",
            Self::UnknownKey => "unknown_key",
        }
    }
}

impl fmt::Display for NeedsRefreshReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key source could not give a key: the server's fault.
#[derive(Debug, Clone)]
pub struct Unavailable {
    error: Arc<KeySourceError>,
}

impl Unavailable {
    pub(crate) fn new(error: Arc<KeySourceError>) -> Self {
        Self { error }
    }

    /// The key source's error, with its `source()` chain.
    pub fn error(&self) -> &KeySourceError {
        &self.error
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session verification unavailable: {}", self.error)
    }
}

impl std::error::Error for Unavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.error)
    }
}

/// A verified session: the user id and the token's claims.
///
/// One shared allocation (`Arc`), so cloning a session is one reference
/// count, and a cached token's claims are shared by every hit rather than
/// cloned. `Debug` shows the user id and expiry, never the token or the
/// claims.
pub struct Session<C = SuperTokensClaims> {
    inner: Arc<SessionData<C>>,
}

struct SessionData<C> {
    user_id: Box<str>,
    claims: C,
    expires_at: i64,
}

impl<C> Clone for Session<C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<C> Session<C> {
    pub(crate) fn new(user_id: Box<str>, claims: C, expires_at: i64) -> Self {
        Self {
            inner: Arc::new(SessionData {
                user_id,
                claims,
                expires_at,
            }),
        }
    }

    /// The user id: the token's `sub` claim.
    pub fn user_id(&self) -> &str {
        &self.inner.user_id
    }

    /// The token's claims.
    pub fn claims(&self) -> &C {
        &self.inner.claims
    }

    /// The token's `exp`, in seconds since the Unix epoch.
    pub fn expires_at(&self) -> i64 {
        self.inner.expires_at
    }

    /// `true` when both are clones of one verified session (as every hit of
    /// one cached token is).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Consumes the session and gives the claims (cloned only if shared).
    pub fn into_claims(self) -> C
    where
        C: Clone,
    {
        match Arc::try_unwrap(self.inner) {
            Ok(data) => data.claims,
            Err(shared) => shared.claims.clone(),
        }
    }
}

impl<C> fmt::Debug for Session<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.inner.user_id)
            .field("expires_at", &self.inner.expires_at)
            .finish_non_exhaustive()
    }
}
