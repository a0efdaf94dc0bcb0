//! The [`Verifier`]: one request's headers in, one [`SessionOutcome`] out.

mod builder;
mod policy;
mod span;
mod structure;

pub use crate::cache::DEFAULT_TOKEN_CACHE_CAPACITY;
use futures_util::future::Either;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::marker::PhantomData;
use std::sync::Arc;
use tracing::Instrument as _;

pub use self::builder::VerifierBuilder;
use self::policy::Policy;
pub use self::policy::{DEFAULT_MAX_TOKEN_BYTES, TokenStructure, UnknownKeyPolicy};
pub use self::span::{KeyedHash, SpanUserId};
use self::structure::{Registered, supertokens_structure};
use crate::algorithm::Algorithm;
use crate::cache::{TokenCache, Verified};
use crate::claims::SuperTokensClaims;
pub use crate::clock::Clock;
use crate::error::{ClaimFailure, InvalidKind, InvalidToken};
use crate::keys::{KeyLookupError, KeyProvider, KeyRequest, VerifyingKey};
use crate::metrics;
use crate::outcome::{NeedsRefreshReason, SessionOutcome, Unavailable};
pub use crate::redact::Fingerprint;
use crate::requirement::{self, Requirement, RequirementContext};
use crate::revocation::RevocationList;
use crate::session::{Session, SessionFacts};
use crate::source::{Headers, TokenCarrier, TokenSource, Tokens};
use crate::token;

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
///    → else invalid (*claim*); `exp` present and a number, `nbf` a number
///    if present, `sub` a string, `iss` / `aud` when configured, `iss`
///    equal to the issuer the key is bound to (if it is) → else invalid
///    (*claim*); `nbf` in the future beyond leeway → invalid (*claim*);
/// 7. only then `exp`: now ≥ `exp` + leeway → needs refresh (*expired*);
/// 8. claims into `C` → else invalid (*malformed*);
/// 9. on every request from here, cache hit or not: the
///    [`RevocationList`], if any → invalid (*revoked*) or, when it cannot
///    answer, unavailable; the requirements → invalid (*claim*,
///    validators);
/// 10. valid.
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
    validators: Vec<Box<dyn Requirement<C>>>,
    revocations: Option<Box<dyn RevocationList<C>>>,
    cache: Option<TokenCache<C>>,
    span_user_id: SpanUserId,
    metrics: metrics::Handles,
    _claims: PhantomData<fn() -> C>,
}

impl<C> std::fmt::Debug for Verifier<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("policy", &self.inner.policy)
            .field("validators", &self.inner.validators.len())
            .field("revocations", &self.inner.revocations.is_some())
            .finish_non_exhaustive()
    }
}

impl<C: DeserializeOwned + Send + Sync + 'static> Verifier<C> {
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
        match self.cached_outcome(&tokens) {
            Some((outcome, _)) => Either::Left(std::future::ready(outcome)),
            // Boxed, so that the hit's future stays small: frameworks box
            // every handler future, and the full check's state would make
            // that allocation several hundred bytes larger on every request.
            None => Either::Right(Box::pin(self.verify_uncached(tokens))),
        }
    }

    /// The outcome of a request whose tokens are all in the verified-token
    /// cache (or which has none): no future, no key lookup, no signature,
    /// but the revocation list and the requirements, judged now. `None`
    /// when a token must be checked in full; [`verify`](Self::verify) then
    /// gives the outcome.
    ///
    /// The request pipeline calls this before it memoises anything: a hit
    /// costs what reading a memo costs, so only computed outcomes need one.
    pub fn verify_cached(&self, headers: &dyn Headers) -> Option<SessionOutcome<C>> {
        self.verify_cached_at(headers).map(|(outcome, _)| outcome)
    }

    /// [`verify_cached`](Self::verify_cached), with the verification time
    /// when the clock was read (a cached token): the pipeline judges the
    /// route's requirements at that time, reading the clock once.
    pub(crate) fn verify_cached_at(
        &self,
        headers: &dyn Headers,
    ) -> Option<(SessionOutcome<C>, Option<f64>)> {
        self.cached_outcome(&self.inner.source.tokens(headers))
    }

    /// How the request's token was carried, as the verifier's sources
    /// find it; `None` when the request has no token. Read only when a
    /// forgery check must know (see [`CsrfProtection`](crate::CsrfProtection)).
    pub fn token_carrier(&self, headers: &dyn Headers) -> Option<TokenCarrier> {
        let tokens = self.inner.source.tokens(headers);
        (!tokens.is_empty()).then(|| tokens.carrier())
    }

    /// Verifies one token as it would be verified from a request (an empty
    /// token is *missing*).
    pub async fn verify_token(&self, token: &str) -> SessionOutcome<C> {
        let token = token.trim();
        let span = span::decision();
        let outcome = if token.is_empty() {
            SessionOutcome::NeedsRefresh(NeedsRefreshReason::Missing)
        } else {
            self.verify_one(token.as_bytes())
                .instrument(span.clone())
                .await
        };
        self.decided(&outcome, &span);
        outcome
    }

    /// Counts the request's `outcome` and records it into its decision
    /// `span`: once per request whose token was read (a memoised outcome
    /// is not decided again).
    #[inline]
    fn decided(&self, outcome: &SessionOutcome<C>, span: &tracing::Span) {
        self.inner.metrics.decision(outcome);
        span::record(span, outcome, &self.inner.span_user_id);
    }

    /// [`decided`](Self::decided) for an outcome known at once (no work to
    /// put in a span): the span is made only if anything can record it.
    #[inline]
    fn decided_now(&self, outcome: &SessionOutcome<C>) {
        self.inner.metrics.decision(outcome);
        if tracing::dispatcher::has_been_set() {
            span::record(&span::decision(), outcome, &self.inner.span_user_id);
        }
    }

    /// The verifier's clock: seconds since the Unix epoch.
    pub fn now(&self) -> f64 {
        self.inner.policy.now()
    }

    /// Judges a session that passed every check of its token, now: the
    /// revocation list, then the requirements.
    pub fn judge(&self, session: Session<C>) -> SessionOutcome<C> {
        self.judge_at(session, &RequirementContext::new(self.now()))
    }

    fn judge_at(&self, session: Session<C>, context: &RequirementContext) -> SessionOutcome<C> {
        if let Some(revocations) = &self.inner.revocations {
            // The verifier's clock, the moment `exp` and the validators are
            // judged at (whole seconds, as revocations are dated).
            match revocations.is_revoked(&session, context.now() as i64) {
                Ok(false) => {}
                Ok(true) => return invalid(InvalidKind::Revoked, "the session was revoked"),
                Err(error) => {
                    return SessionOutcome::Unavailable(Unavailable::revocation(error.into()));
                }
            }
        }
        if self.inner.validators.is_empty() {
            return SessionOutcome::Valid(session);
        }
        requirement::judge(session, self.inner.validators.iter().map(|v| &**v), context)
    }

    /// The cache's answer for the request's tokens: the first cached token
    /// judged valid; else, when every token is cached, the first one's
    /// outcome (no token at all is *missing*); else `None`. With the time
    /// the tokens were judged at, when the clock was read.
    fn cached_outcome(&self, tokens: &Tokens<'_>) -> Option<(SessionOutcome<C>, Option<f64>)> {
        let tokens = tokens.as_slice();
        if tokens.is_empty() {
            tracing::debug!(target: "ssr_session::verify", outcome = "needs_refresh", reason = "missing");
            let outcome = SessionOutcome::NeedsRefresh(NeedsRefreshReason::Missing);
            self.decided_now(&outcome);
            return Some((outcome, None));
        }
        let cache = self.inner.cache.as_ref()?;
        let now = self.now();
        let leeway = self.inner.policy.leeway_secs as f64;
        let context = RequirementContext::new(now);
        let mut first = None;
        let mut all_cached = true;
        for token in tokens {
            let Some(session) = cache.get(token, now, leeway) else {
                all_cached = false;
                continue;
            };
            self.inner.metrics.cache_hit();
            let outcome = self.judge_at(session, &context);
            if outcome.is_valid() {
                self.decided_now(&outcome);
                return Some((outcome, Some(now)));
            }
            first.get_or_insert(outcome);
        }
        let outcome = first.filter(|_| all_cached)?;
        self.decided_now(&outcome);
        Some((outcome, Some(now)))
    }

    /// The request's tokens: the first valid one wins, else the first
    /// one's outcome decides.
    async fn verify_uncached(&self, tokens: Tokens<'_>) -> SessionOutcome<C> {
        let span = span::decision();
        let outcome = self.verify_all(tokens).instrument(span.clone()).await;
        self.decided(&outcome, &span);
        outcome
    }

    /// The first valid outcome of `tokens`, else the first outcome.
    async fn verify_all(&self, tokens: Tokens<'_>) -> SessionOutcome<C> {
        let mut first: Option<SessionOutcome<C>> = None;
        for token in tokens.as_slice() {
            let outcome = self.verify_one(token).await;
            if outcome.is_valid() {
                return outcome;
            }
            first.get_or_insert(outcome);
        }
        first.unwrap_or(SessionOutcome::NeedsRefresh(NeedsRefreshReason::Missing))
    }

    /// One token: from the cache, or checked in full (and cached); then
    /// judged; logged.
    async fn verify_one(&self, token: &[u8]) -> SessionOutcome<C> {
        let now = self.now();
        let cached = self
            .inner
            .cache
            .as_ref()
            .and_then(|cache| cache.get(token, now, self.inner.policy.leeway_secs as f64));
        let outcome = match cached {
            Some(session) => {
                self.inner.metrics.cache_hit();
                self.judge_at(session, &RequirementContext::new(now))
            }
            None => {
                if self.inner.cache.is_some() {
                    metrics::cache_miss();
                }
                match self.check(token).await {
                    Ok(session) => self.judge(session),
                    Err(outcome) => outcome,
                }
            }
        };
        log(&outcome, token);
        outcome
    }

    /// Every check of the token itself (steps 2 to 8); a session that
    /// passes is cached.
    async fn check(&self, token: &[u8]) -> Result<Session<C>, SessionOutcome<C>> {
        let policy = &self.inner.policy;
        if token.len() > policy.max_token_bytes {
            return Err(invalid(
                InvalidKind::TooLarge,
                "token larger than the configured cap",
            ));
        }
        let jws = token::split(token).map_err(SessionOutcome::Invalid)?;
        let Some(alg) = Algorithm::from_name(&jws.header.alg) else {
            return Err(invalid(
                InvalidKind::AlgorithmNotAllowed,
                "`alg` is none or unknown",
            ));
        };
        if let Some(allowed) = policy.algorithms
            && !allowed.contains(alg)
        {
            return Err(invalid(
                InvalidKind::AlgorithmNotAllowed,
                "`alg` outside the allow-list",
            ));
        }
        // Decoded before the signature check only for a provider that picks
        // keys by issuer; otherwise attacker-controlled JSON waits until
        // the signature verified.
        let early_payload = if self.inner.keys.selects_by_issuer() {
            Some(decode_payload(jws.payload)?)
        } else {
            None
        };
        let issuer = early_payload
            .as_ref()
            .and_then(|(_, claims)| claims.iss.as_ref());
        let request = KeyRequest::new(jws.header.kid.as_deref(), alg)
            .with_issuer(issuer.and_then(Value::as_str));
        let key = self.key(&request).await?;
        if !key.allows(alg) {
            return Err(invalid(
                InvalidKind::AlgorithmNotAllowed,
                "the key may not verify this `alg`",
            ));
        }
        let Some(signature) = token::decode(jws.signature) else {
            return Err(invalid(
                InvalidKind::Malformed,
                "signature is not base64url",
            ));
        };
        if !key.verify(alg, jws.signing_input, &signature) {
            return Err(invalid(
                InvalidKind::BadSignature,
                "signature does not verify",
            ));
        }
        let (payload, registered) = match early_payload {
            Some(decoded) => decoded,
            None => decode_payload(jws.payload)?,
        };
        if policy.structure == TokenStructure::SuperTokensSession
            && let Err(detail) = supertokens_structure(jws.header.version.as_ref(), &registered)
        {
            return Err(claim(ClaimFailure::SessionStructure, detail));
        }
        if let Some(bound) = key.issuer()
            && registered.iss.as_ref().and_then(Value::as_str) != Some(bound)
        {
            return Err(claim(
                ClaimFailure::Issuer,
                "`iss` is not the issuer whose key verified the token",
            ));
        }
        let (exp, nbf) = self.check_registered(&registered)?;
        let Some(Value::String(user_id)) = registered.sub else {
            return Err(claim(
                ClaimFailure::Subject,
                "`sub` missing or not a string",
            ));
        };
        let claims: C = serde_json::from_slice(&payload)
            .map_err(|_| invalid(InvalidKind::Malformed, "claims do not fit the claims type"))?;
        let facts = SessionFacts {
            expires_at: exp as i64,
            issued_at: registered
                .iat
                .as_ref()
                .and_then(Value::as_f64)
                .map(|iat| iat as i64),
            session_handle: match registered.session_handle {
                Some(Value::String(handle)) => Some(handle.into()),
                _ => None,
            },
            anti_csrf_token: match registered.anti_csrf_token {
                Some(Value::String(token)) => Some(token.into()),
                _ => None,
            },
        };
        let session = Session::new(user_id.into(), claims, facts);
        if let Some(cache) = &self.inner.cache {
            let verified = Verified {
                session: session.clone(),
                exp,
                nbf,
                key: Arc::downgrade(&key),
            };
            cache.insert(token, verified, policy.now());
        }
        Ok(session)
    }

    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, SessionOutcome<C>> {
        self.inner
            .keys
            .key(request)
            .await
            .map_err(|error| match error {
                KeyLookupError::UnknownKey => match self.inner.policy.unknown_key {
                    UnknownKeyPolicy::Invalid => {
                        invalid(InvalidKind::UnknownKey, "no key with the token's `kid`")
                    }
                    UnknownKeyPolicy::NeedsRefresh => {
                        SessionOutcome::NeedsRefresh(NeedsRefreshReason::UnknownKey)
                    }
                },
                KeyLookupError::AlgorithmMismatch => invalid(
                    InvalidKind::AlgorithmNotAllowed,
                    "the key named by `kid` may not verify this `alg`",
                ),
                KeyLookupError::IssuerNotAllowed => claim(
                    ClaimFailure::Issuer,
                    "`iss` is not an issuer the key provider accepts",
                ),
                KeyLookupError::Ambiguous => {
                    invalid(InvalidKind::AmbiguousKey, "several keys fit the token")
                }
                KeyLookupError::Unavailable(error) => {
                    SessionOutcome::Unavailable(Unavailable::keys(error))
                }
            })
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

/// The payload's bytes and the claims the verifier acts on.
fn decode_payload<C>(segment: &[u8]) -> Result<(Vec<u8>, Registered), SessionOutcome<C>> {
    let Some(payload) = token::decode(segment) else {
        return Err(invalid(InvalidKind::Malformed, "payload is not base64url"));
    };
    let Some(registered) = token::parse_object::<Registered>(&payload) else {
        return Err(invalid(
            InvalidKind::Malformed,
            "payload is not a JSON object",
        ));
    };
    Ok((payload, registered))
}

fn log<C>(outcome: &SessionOutcome<C>, token: &[u8]) {
    match outcome {
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
}

fn invalid<C>(kind: InvalidKind, detail: &'static str) -> SessionOutcome<C> {
    SessionOutcome::Invalid(InvalidToken::new(kind, detail))
}

fn claim<C>(failure: ClaimFailure, detail: &'static str) -> SessionOutcome<C> {
    invalid(InvalidKind::Claim(failure), detail)
}
