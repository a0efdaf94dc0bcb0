//! [`Session`]: a verified session, shared by every request that shows the
//! same token.

use std::fmt;
use std::sync::Arc;

use crate::claims::SuperTokensClaims;

/// A verified session: the user id, the token's claims and the registered
/// claims the library itself acts on.
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
    issued_at: Option<i64>,
    session_handle: Option<Box<str>>,
    anti_csrf_token: Option<Box<str>>,
}

/// The registered claims a [`Session`] keeps besides the user id and `C`.
pub(crate) struct SessionFacts {
    pub expires_at: i64,
    pub issued_at: Option<i64>,
    pub session_handle: Option<Box<str>>,
    pub anti_csrf_token: Option<Box<str>>,
}

impl<C> Clone for Session<C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<C> Session<C> {
    pub(crate) fn new(user_id: Box<str>, claims: C, facts: SessionFacts) -> Self {
        Self {
            inner: Arc::new(SessionData {
                user_id,
                claims,
                expires_at: facts.expires_at,
                issued_at: facts.issued_at,
                session_handle: facts.session_handle,
                anti_csrf_token: facts.anti_csrf_token,
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

    /// The token's `iat`, in seconds since the Unix epoch, when it has one.
    pub fn issued_at(&self) -> Option<i64> {
        self.inner.issued_at
    }

    /// SuperTokens' `sessionHandle`: the session's id, the same for every
    /// access token of one sign-in.
    pub fn session_handle(&self) -> Option<&str> {
        self.inner.session_handle.as_deref()
    }

    /// SuperTokens' `antiCsrfToken`: present in tokens of a backend in
    /// anti-CSRF mode `VIA_TOKEN`, where unsafe requests must echo it in the
    /// `anti-csrf` header ([`AntiCsrf::ViaToken`](crate::csrf::AntiCsrf::ViaToken)).
    pub fn anti_csrf_token(&self) -> Option<&str> {
        self.inner.anti_csrf_token.as_deref()
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
