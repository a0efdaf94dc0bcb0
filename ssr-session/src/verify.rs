//! The [`Verifier`]: one request's headers in, one [`SessionOutcome`] out.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::Either;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::algorithm::{self, Algorithm, AlgorithmSet};
use crate::cache::{DEFAULT_TOKEN_CACHE_CAPACITY, TokenCache, Verified};
use crate::claims::{ClaimValidator, SuperTokensClaims};
use crate::error::{ClaimFailure, ConfigError, InvalidKind, InvalidToken};
use crate::keys::{KeyLookupError, KeyProvider, KeyRequest};
use crate::outcome::{NeedsRefreshReason, Session, SessionOutcome, Unavailable};
use crate::redact::Fingerprint;
use crate::source::{Headers, SourceChain, TokenSource, Tokens};
use crate::token;

/// Default cap on a token's size.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Which tokens count as sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
pub enum UnknownKeyPolicy {
    /// Invalid (kind [`InvalidKind::UnknownKey`]): the safe default.
    #[default]
    Invalid,
    /// Needs refresh (reason [`NeedsRefreshReason::UnknownKey`]). Helps
    /// when the auth server's keys changed in a way the key source has not
    /// caught up with (a refresh brings a token of a known key), but costs
    /// every forged token with a random `kid` one refresh round-trip, and a
    /// lasting key mismatch becomes a refresh loop that only the browser's
    /// loop guard stops.
    NeedsRefresh,
}

/// Verifies requests' sessions. Cheap to clone (shared inside).
///
/// The checks, in order, and the outcome each gives:
/// 1. no token (or an empty one) → needs refresh (*missing*);
/// 2. larger than the cap (default 16 KiB) → invalid (*too large*); not a
///    compact JWS, bad base64url, header not a JSON object, any `crit` →
///    invalid (*malformed*);
/// 3. `alg` `none`, unknown, or outside the allow-list → invalid
///    (*algorithm not allowed*);
/// 4. key by `kid` from the [`KeyProvider`] (never from `jku`, `x5u`,
///    `jwk`, `x5c`): unknown → invalid (*unknown key*) or, if so configured,
///    needs refresh; ambiguous → invalid; the key does not allow the `alg`
///    → invalid (*algorithm not allowed*); key source down → unavailable;
/// 5. signature → invalid (*bad signature*);
/// 6. payload a JSON object in UTF-8 → else invalid (*malformed*); a
///    SuperTokens session token's structure ([`TokenStructure`], default)
///    → else invalid (*claim*); `exp`
///    present and a number, `nbf` a number if present, `sub` a string,
///    `iss` / `aud` when configured → else invalid (*claim*); `nbf` in the
///    future beyond leeway → invalid (*claim*);
/// 7. only then `exp`: now ≥ `exp` + leeway → needs refresh (*expired*);
/// 8. claims into `C` → else invalid (*malformed*); claim validators →
///    invalid (*claim*, validators);
/// 9. valid.
///
/// So *expired* means "valid but for `exp`": an expired token that fails
/// anything else is invalid. `iat` is never checked against the clock. The
/// verifier never refreshes, re-signs or rewrites a token.
///
/// When a request carries several tokens (duplicate `sAccessToken` cookies),
/// they are tried in order: the first valid one wins; if none is valid, the
/// first one's outcome decides.
pub struct Verifier<C = SuperTokensClaims> {
    inner: Arc<Inner<C>>,
}

impl<C> Clone for Verifier<C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<C> {
    keys: Arc<dyn KeyProvider>,
    source: Box<dyn TokenSource>,
    policy: Policy,
    validators: Vec<Box<dyn ClaimValidator<C>>>,
    cache: Option<TokenCache<C>>,
    _claims: PhantomData<fn() -> C>,
}

/// A source of the current time, in seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> f64 + Send + Sync>;

#[derive(Clone)]
struct Policy {
    issuer: Option<String>,
    audience: Option<String>,
    leeway_secs: u64,
    algorithms: Option<AlgorithmSet>,
    max_token_bytes: usize,
    unknown_key: UnknownKeyPolicy,
    structure: TokenStructure,
    clock: Option<Clock>,
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
    fn now(&self) -> f64 {
        self.clock.as_ref().map_or_else(now_secs, |clock| clock())
    }
}

impl<C> std::fmt::Debug for Verifier<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("policy", &self.inner.policy)
            .field("validators", &self.inner.validators.len())
            .finish_non_exhaustive()
    }
}

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

    /// Verifies the session of a request, given its headers.
    ///
    /// The tokens are read, and looked up in the verified-token cache,
    /// before the returned future starts: the future is `Send` whatever the
    /// header type (axum and Rocket require it), and a hit's future is a
    /// ready value.
    pub fn verify<'a>(
        &'a self,
        headers: &'a dyn Headers,
    ) -> impl Future<Output = SessionOutcome<C>> + Send + 'a {
        let tokens = self.inner.source.tokens(headers);
        match self.first_cached(&tokens) {
            Some(session) => Either::Left(std::future::ready(SessionOutcome::Valid(session))),
            // Boxed, so that the hit's future stays small: frameworks box
            // every handler future, and the full check's state would make
            // that allocation several hundred bytes larger on every request.
            None => Either::Right(Box::pin(self.verify_uncached(tokens))),
        }
    }

    /// Verifies one token as it would be verified from a request (an empty
    /// token is *missing*).
    pub async fn verify_token(&self, token: &str) -> SessionOutcome<C> {
        let token = token.trim();
        if token.is_empty() {
            return SessionOutcome::NeedsRefresh(NeedsRefreshReason::Missing);
        }
        match self.cached(token.as_bytes()) {
            Some(session) => SessionOutcome::Valid(session),
            None => self.verify_one(token.as_bytes()).await,
        }
    }

    /// The session of a request whose token is in the verified-token cache
    /// (and still usable): no future, no key lookup, no signature. `None`
    /// when it is not (or the cache is off); [`verify`](Self::verify) then
    /// gives the outcome.
    ///
    /// Adapters call this before their per-request memo: a hit costs what
    /// reading a memo costs, so only computed outcomes need memoising.
    pub fn cached_session(&self, headers: &dyn Headers) -> Option<Session<C>> {
        self.inner.cache.as_ref()?;
        self.first_cached(&self.inner.source.tokens(headers))
    }

    /// Every cached token is valid, and the first valid token wins.
    fn first_cached(&self, tokens: &Tokens<'_>) -> Option<Session<C>> {
        tokens
            .as_slice()
            .iter()
            .find_map(|token| self.cached(token))
    }

    /// The cached session of a token verified before and still usable.
    fn cached(&self, token: &[u8]) -> Option<Session<C>> {
        let cache = self.inner.cache.as_ref()?;
        let leeway = self.inner.policy.leeway_secs as f64;
        cache.get(token, self.inner.policy.now(), leeway)
    }

    /// The request's tokens, none of them cached: the first valid one wins,
    /// else the first one's outcome decides.
    async fn verify_uncached(&self, tokens: Tokens<'_>) -> SessionOutcome<C> {
        let mut first: Option<SessionOutcome<C>> = None;
        for token in tokens.as_slice() {
            let outcome = self.verify_one(token).await;
            if outcome.is_valid() {
                return outcome;
            }
            first.get_or_insert(outcome);
        }
        first.unwrap_or_else(|| {
            tracing::debug!(target: "ssr_session::verify", outcome = "needs_refresh", reason = "missing");
            SessionOutcome::NeedsRefresh(NeedsRefreshReason::Missing)
        })
    }

    /// The full check of one token, logged, and cached when valid.
    async fn verify_one(&self, token: &[u8]) -> SessionOutcome<C> {
        let outcome = self.check(token).await;
        match &outcome {
            SessionOutcome::Valid(session) => tracing::debug!(
                target: "ssr_session::verify",
                outcome = "valid", user = session.user_id(), token = %Fingerprint(token)
            ),
            SessionOutcome::NeedsRefresh(reason) => tracing::debug!(
                target: "ssr_session::verify",
                outcome = "needs_refresh", reason = reason.as_str(), token = %Fingerprint(token)
            ),
            SessionOutcome::Invalid(invalid) => tracing::debug!(
                target: "ssr_session::verify",
                outcome = "invalid", kind = invalid.kind().as_str(), detail = invalid.detail(),
                token = %Fingerprint(token)
            ),
            SessionOutcome::Unavailable(unavailable) => tracing::debug!(
                target: "ssr_session::verify",
                outcome = "unavailable", error = %unavailable, token = %Fingerprint(token)
            ),
        }
        outcome
    }

    async fn check(&self, token: &[u8]) -> SessionOutcome<C> {
        let policy = &self.inner.policy;
        if token.len() > policy.max_token_bytes {
            return invalid(
                InvalidKind::TooLarge,
                "token larger than the configured cap",
            );
        }
        let jws = match token::split(token) {
            Ok(jws) => jws,
            Err(error) => return SessionOutcome::Invalid(error),
        };
        let Some(alg) = algorithm::parse(&jws.header.alg) else {
            return invalid(InvalidKind::AlgorithmNotAllowed, "`alg` is none or unknown");
        };
        if let Some(allowed) = policy.algorithms
            && !allowed.contains(alg)
        {
            return invalid(
                InvalidKind::AlgorithmNotAllowed,
                "`alg` outside the allow-list",
            );
        }
        let request = KeyRequest {
            kid: jws.header.kid.as_deref(),
            algorithm: alg,
        };
        let key = match self.inner.keys.key(&request).await {
            Ok(key) => key,
            Err(KeyLookupError::UnknownKey) => {
                return match policy.unknown_key {
                    UnknownKeyPolicy::Invalid => {
                        invalid(InvalidKind::UnknownKey, "no key with the token's `kid`")
                    }
                    UnknownKeyPolicy::NeedsRefresh => {
                        SessionOutcome::NeedsRefresh(NeedsRefreshReason::UnknownKey)
                    }
                };
            }
            Err(KeyLookupError::AlgorithmMismatch) => {
                return invalid(
                    InvalidKind::AlgorithmNotAllowed,
                    "the key named by `kid` may not verify this `alg`",
                );
            }
            Err(KeyLookupError::Ambiguous) => {
                return invalid(InvalidKind::AmbiguousKey, "several keys fit the token");
            }
            Err(KeyLookupError::Unavailable(error)) => {
                return SessionOutcome::Unavailable(Unavailable::new(error));
            }
        };
        if !key.allows(alg) {
            return invalid(
                InvalidKind::AlgorithmNotAllowed,
                "the key may not verify this `alg`",
            );
        }
        let Some(signature) = token::decode(jws.signature) else {
            return invalid(InvalidKind::Malformed, "signature is not base64url");
        };
        if !key.verify(alg, jws.signing_input, &signature) {
            return invalid(InvalidKind::BadSignature, "signature does not verify");
        }
        let Some(payload) = token::decode(jws.payload) else {
            return invalid(InvalidKind::Malformed, "payload is not base64url");
        };
        let Some(registered) = token::parse_object::<Registered>(&payload) else {
            return invalid(InvalidKind::Malformed, "payload is not a JSON object");
        };
        if policy.structure == TokenStructure::SuperTokensSession
            && let Err(detail) = supertokens_structure(jws.header.version.as_ref(), &registered)
        {
            return claim(ClaimFailure::SessionStructure, detail);
        }
        let (exp, nbf) = match self.check_registered(&registered) {
            Ok(times) => times,
            Err(outcome) => return outcome,
        };
        let Some(Value::String(user_id)) = registered.sub else {
            return claim(ClaimFailure::Subject, "`sub` missing or not a string");
        };
        let claims: C = match serde_json::from_slice(&payload) {
            Ok(claims) => claims,
            Err(_) => return invalid(InvalidKind::Malformed, "claims do not fit the claims type"),
        };
        let failures: Vec<_> = self
            .inner
            .validators
            .iter()
            .filter_map(|validator| validator.validate(&claims).err())
            .collect();
        if !failures.is_empty() {
            return claim(
                ClaimFailure::Validators(failures),
                "a claim validator refused the token",
            );
        }
        let session = Session::new(user_id.into(), claims, exp as i64);
        if let Some(cache) = &self.inner.cache {
            let key = Arc::downgrade(&key);
            let verified = Verified {
                session: session.clone(),
                exp,
                nbf,
                key,
            };
            cache.insert(token, verified, policy.now());
        }
        SessionOutcome::Valid(session)
    }

    /// Registered claims in the order of precedence; `exp` last, so that
    /// *expired* only ever means "valid but for `exp`".
    fn check_registered(
        &self,
        claims: &Registered,
    ) -> Result<(f64, Option<f64>), SessionOutcome<C>> {
        let policy = &self.inner.policy;
        let leeway = policy.leeway_secs as f64;
        let now = policy.now();
        let Some(exp) = claims.exp.as_ref().and_then(Value::as_f64) else {
            return Err(claim(ClaimFailure::Expiry, "`exp` missing or not a number"));
        };
        let nbf = match &claims.nbf {
            None => None,
            Some(nbf) => match nbf.as_f64() {
                None => return Err(claim(ClaimFailure::NotYetValid, "`nbf` not a number")),
                Some(nbf) if nbf > now + leeway => {
                    return Err(claim(ClaimFailure::NotYetValid, "`nbf` in the future"));
                }
                Some(nbf) => Some(nbf),
            },
        };
        if let Some(issuer) = &policy.issuer
            && claims.iss.as_ref().and_then(Value::as_str) != Some(issuer.as_str())
        {
            return Err(claim(
                ClaimFailure::Issuer,
                "`iss` missing or not the expected issuer",
            ));
        }
        if let Some(audience) = &policy.audience {
            let matches = match &claims.aud {
                Some(Value::String(aud)) => aud == audience,
                Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
                _ => false,
            };
            if !matches {
                return Err(claim(
                    ClaimFailure::Audience,
                    "`aud` missing or without the expected audience",
                ));
            }
        }
        if now >= exp + leeway {
            return Err(SessionOutcome::NeedsRefresh(NeedsRefreshReason::Expired));
        }
        Ok((exp, nbf))
    }

    /// How many verified tokens are cached now (0 with the cache off).
    pub fn cached_tokens(&self) -> u64 {
        self.inner.cache.as_ref().map_or(0, TokenCache::len)
    }

    /// The key provider, shared.
    pub fn key_provider(&self) -> &Arc<dyn KeyProvider> {
        &self.inner.keys
    }
}

/// `supertokens-node`'s `validateAccessTokenStructure`, for versions 3+.
fn supertokens_structure(version: Option<&Value>, claims: &Registered) -> Result<(), &'static str> {
    let version = match version {
        None => 3,
        Some(Value::String(v)) => v
            .parse::<u32>()
            .map_err(|_| "header `version` is not a number")?,
        Some(_) => return Err("header `version` is not a string"),
    };
    if version < 3 {
        return Err("access tokens before version 3 are not supported");
    }
    if !matches!(&claims.stt, None | Some(Value::Null)) && claims.stt != Some(Value::from(0)) {
        return Err("not a session access token (`stt` is not 0)");
    }
    let is_string = |v: &Option<Value>| matches!(v, Some(Value::String(_)));
    let session_claims = is_string(&claims.sub)
        && matches!(claims.iat, Some(Value::Number(_)))
        && is_string(&claims.session_handle)
        && is_string(&claims.refresh_token_hash1)
        && (version < 5 || is_string(&claims.rsub));
    if !session_claims {
        return Err("session claims missing (sub, iat, sessionHandle, refreshTokenHash1, rsub)");
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Registered {
    #[serde(default)]
    exp: Option<Value>,
    #[serde(default)]
    nbf: Option<Value>,
    #[serde(default)]
    iss: Option<Value>,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default)]
    stt: Option<Value>,
    #[serde(default, rename = "sessionHandle")]
    session_handle: Option<Value>,
    #[serde(default, rename = "refreshTokenHash1")]
    refresh_token_hash1: Option<Value>,
    #[serde(default)]
    rsub: Option<Value>,
}

pub(crate) fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn invalid<C>(kind: InvalidKind, detail: &'static str) -> SessionOutcome<C> {
    SessionOutcome::Invalid(InvalidToken::new(kind, detail))
}

fn claim<C>(failure: ClaimFailure, detail: &'static str) -> SessionOutcome<C> {
    invalid(InvalidKind::Claim(failure), detail)
}

/// Configures a [`Verifier`]. Every default is the secure one.
pub struct VerifierBuilder<C> {
    keys: Arc<dyn KeyProvider>,
    source: Box<dyn TokenSource>,
    policy: Policy,
    validators: Vec<Box<dyn ClaimValidator<C>>>,
    cache_capacity: Option<u64>,
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

    /// Adds a claim validator (run on otherwise valid, unexpired tokens).
    pub fn claim_validator(mut self, validator: impl ClaimValidator<C>) -> Self {
        self.validators.push(Box::new(validator));
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
            inner: Arc::new(Inner {
                keys: self.keys,
                source: self.source,
                policy: self.policy,
                validators: self.validators,
                cache: self.cache_capacity.map(TokenCache::new),
                _claims: PhantomData,
            }),
        })
    }
}
