//! [`VerifierBuilder`]: sets the verifier's policy, every default the secure one.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::Verifier;
use super::policy::{DEFAULT_MAX_TOKEN_BYTES, Policy, TokenStructure, UnknownKeyPolicy};
use super::span::SpanUserId;
use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::cache::{DEFAULT_TOKEN_CACHE_CAPACITY, TokenCache};
use crate::claims::SuperTokensClaims;
use crate::error::ConfigError;
use crate::keys::KeyProvider;
use crate::requirement::Requirement;
use crate::revocation::RevocationList;
use crate::source::{SourceChain, TokenSource};

// The constructors live beside the builder they return, so that the
// verifier itself does not depend on its builder (the builder depends on it).
impl Verifier<SuperTokensClaims> {
    /// A builder for a verifier with SuperTokens' claims.
    pub fn builder(keys: impl KeyProvider) -> VerifierBuilder<SuperTokensClaims> {
        VerifierBuilder::new(keys)
    }
}

impl<C: DeserializeOwned + Send + Sync + 'static> Verifier<C> {
    /// A builder for a verifier whose claims deserialize into `C`.
    pub fn builder_for(keys: impl KeyProvider) -> VerifierBuilder<C> {
        VerifierBuilder::new(keys)
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
    span_user_id: SpanUserId,
}

// By hand: the key provider, source, requirements and revocation list are
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
    fn new(keys: impl KeyProvider) -> Self {
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
            span_user_id: SpanUserId::Omitted,
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

    /// Adds a requirement: run on every request whose token is
    /// otherwise valid and unexpired, verified-token cache hits included,
    /// with the verification time. See [`Requirement`].
    pub fn require(mut self, validator: impl Requirement<C>) -> Self {
        self.validators.push(Box::new(validator));
        self
    }

    /// Consults `revocations` for every verified session, cache hits
    /// included. See [`RevocationList`].
    pub fn revocation_list(mut self, revocations: impl RevocationList<C>) -> Self {
        self.revocations = Some(Box::new(revocations));
        self
    }

    /// Whether the decision span (target `ssr_session::decision`, INFO)
    /// carries OpenTelemetry's `enduser.id`: the user id, a keyed hash of
    /// it, or nothing (the default; see [`SpanUserId`]).
    pub fn span_user_id(mut self, user_id: SpanUserId) -> Self {
        self.span_user_id = user_id;
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
                span_user_id: self.span_user_id,
                // Registered now, with the recorder the app installed
                // before building its verifier.
                metrics: crate::metrics::Handles::new(),
                _claims: PhantomData,
            }),
        })
    }
}
