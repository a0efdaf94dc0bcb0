//! [`VerifierBuilder`]: the verifier's policy, every default the secure one.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{Clock, Verifier, now_secs};
use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::cache::{DEFAULT_TOKEN_CACHE_CAPACITY, TokenCache};
use crate::error::ConfigError;
use crate::keys::KeyProvider;
use crate::requirement::Requirement;
use crate::revocation::RevocationList;
use crate::source::{SourceChain, TokenSource};

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

/// Configures a [`Verifier`]. Every default is the secure one.
#[must_use = "a builder does nothing until `build()`"]
pub struct VerifierBuilder<C> {
    keys: Arc<dyn KeyProvider>,
    source: Box<dyn TokenSource>,
    policy: Policy,
    validators: Vec<Box<dyn Requirement<C>>>,
    revocations: Option<Box<dyn RevocationList<C>>>,
    cache_capacity: Option<u64>,
}

// By hand: the key provider, source, validators and revocation list are
// trait objects; what they are is told by how many there are.
impl<C> std::fmt::Debug for VerifierBuilder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("validators", &self.validators.len())
            .field("revocations", &self.revocations.is_some())
            .field("cache_capacity", &self.cache_capacity)
            .finish_non_exhaustive()
    }
}

impl<C: DeserializeOwned + Send + Sync + 'static> VerifierBuilder<C> {
    pub(super) fn new(keys: impl KeyProvider) -> Self {
        Self {
            keys: Arc::new(keys),
            source: Box::new(SourceChain::supertokens()),
            policy: Policy {
                issuer: None,
                audience: None,
                leeway_secs: 0,
                algorithms: None,
                max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
                unknown_key: UnknownKeyPolicy::Invalid,
                structure: TokenStructure::SuperTokensSession,
                clock: None,
            },
            validators: Vec::new(),
            revocations: None,
            cache_capacity: Some(DEFAULT_TOKEN_CACHE_CAPACITY),
        }
    }

    /// Capacity of the verified-token cache (default 10,000 tokens; see
    /// the crate docs for why the cache is safe).
    pub fn token_cache_capacity(mut self, capacity: u64) -> Self {
        self.cache_capacity = Some(capacity);
        self
    }

    /// Turns the verified-token cache off: every request verifies its
    /// token's signature.
    pub fn without_token_cache(mut self) -> Self {
        self.cache_capacity = None;
        self
    }

    /// Requires `iss` to equal `issuer` (SuperTokens: `apiDomain` + `apiBasePath`).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.policy.issuer = Some(issuer.into());
        self
    }

    /// Requires `aud` to be `audience`, or an array containing it.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.policy.audience = Some(audience.into());
        self
    }

    /// Clock leeway applied to `exp` and `nbf` (default 0 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.policy.leeway_secs = leeway.as_secs();
        self
    }

    /// Narrows the accepted algorithms to these (the key still has to allow
    /// the token's `alg`).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.policy.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Cap on a token's size in bytes (default 16 KiB).
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.policy.max_token_bytes = bytes;
        self
    }

    /// Where tokens come from (default: the `sAccessToken` cookie, then
    /// `Authorization: Bearer`).
    pub fn token_source(mut self, source: impl TokenSource) -> Self {
        self.source = Box::new(source);
        self
    }

    /// What an unknown `kid` gives (default: invalid). See [`UnknownKeyPolicy`].
    pub fn unknown_key(mut self, policy: UnknownKeyPolicy) -> Self {
        self.policy.unknown_key = policy;
        self
    }

    /// Replaces the system clock used for `exp` and `nbf` (for tests and
    /// simulations; seconds since the Unix epoch).
    pub fn clock(mut self, clock: impl Fn() -> f64 + Send + Sync + 'static) -> Self {
        self.policy.clock = Some(Arc::new(clock));
        self
    }

    /// Which tokens count as sessions (default: SuperTokens session access
    /// tokens only; see [`TokenStructure`]).
    pub fn token_structure(mut self, structure: TokenStructure) -> Self {
        self.policy.structure = structure;
        self
    }

    /// Adds a claim validator: run on every request whose token is
    /// otherwise valid and unexpired, verified-token cache hits included,
    /// with the verification time. See [`Requirement`].
    pub fn claim_validator(mut self, validator: impl Requirement<C>) -> Self {
        self.validators.push(Box::new(validator));
        self
    }

    /// Consults `revocations` for every verified session, cache hits
    /// included. See [`RevocationList`].
    pub fn revocation_list(mut self, revocations: impl RevocationList<C>) -> Self {
        self.revocations = Some(Box::new(revocations));
        self
    }

    /// Builds the verifier.
    pub fn build(self) -> Result<Verifier<C>, ConfigError> {
        if self.policy.max_token_bytes == 0 {
            return Err(ConfigError::Setting(
                "max_token_bytes must be above 0".into(),
            ));
        }
        if self.policy.algorithms.is_some_and(AlgorithmSet::is_empty) {
            return Err(ConfigError::Setting(
                "the algorithm allow-list is empty".into(),
            ));
        }
        Ok(Verifier {
            inner: Arc::new(super::Inner {
                keys: self.keys,
                source: self.source,
                policy: self.policy,
                validators: self.validators,
                revocations: self.revocations,
                cache: self.cache_capacity.map(TokenCache::new),
                _claims: PhantomData,
            }),
        })
    }
}
