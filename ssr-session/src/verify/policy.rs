//! The verifier's policy: what it accepts ([`TokenStructure`],
//! [`UnknownKeyPolicy`], the registered claims' expectations) and its clock,
//! apart from the builder that sets it and the verifier that applies it.

use crate::algorithm::AlgorithmSet;
use crate::clock::{Clock, now_secs};

/// Default cap on a token's size.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Which tokens count as sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenStructure {
    /// Only SuperTokens session access tokens, checked as `supertokens-node`
    /// checks them: `stt` absent or 0 (so OAuth2-provider tokens signed by
    /// the same keys are refused), and for the header's `version` (a
    /// string, absent means 3; v1/v2 are not supported) the session claims:
    /// `sub`, `sessionHandle`, `refreshTokenHash1` strings, `iat` a number,
    /// and `rsub` a string from v5. Any other signed JWT of the same issuer
    /// (e.g. from the JWT recipe's `createJWT`) is invalid (*claim*).
    #[default]
    SuperTokensSession,
    /// Any JWT with a string `sub` and a numeric `exp` (for OIDC issuers
    /// and other non-SuperTokens sources). Only choose this when every JWT
    /// the keys sign is meant to be a session.
    AnyJwt,
}

/// What to answer for a token whose `kid` is unknown even after a refetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnknownKeyPolicy {
    /// Invalid (kind [`InvalidKind::UnknownKey`](crate::error::InvalidKind::UnknownKey)): the safe default.
    #[default]
    Invalid,
    /// Needs refresh (reason [`NeedsRefreshReason::UnknownKey`](crate::NeedsRefreshReason::UnknownKey)). Helps
    /// when the auth server's keys changed in a way the key source has not
    /// caught up with (a refresh brings a token of a known key), but costs
    /// every forged token with a random `kid` one refresh round-trip, and a
    /// lasting key mismatch becomes a refresh loop that only the browser's
    /// loop guard stops.
    NeedsRefresh,
}

#[derive(Clone)]
pub(super) struct Policy {
    pub(super) issuer: Option<String>,
    pub(super) audience: Option<String>,
    pub(super) leeway_secs: u64,
    pub(super) algorithms: Option<AlgorithmSet>,
    pub(super) max_token_bytes: usize,
    pub(super) unknown_key: UnknownKeyPolicy,
    pub(super) structure: TokenStructure,
    pub(super) clock: Option<Clock>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .field("algorithms", &self.algorithms)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("unknown_key", &self.unknown_key)
            .field("structure", &self.structure)
            .finish_non_exhaustive()
    }
}

impl Policy {
    pub(super) fn now(&self) -> f64 {
        self.clock.as_ref().map_or_else(now_secs, |clock| clock())
    }
}
