//! [`IssuerKeyProvider`]: a token's keys looked up by its `iss`, each
//! allowed issuer set up once (approval, rate limit, discovery, first
//! fetch) and cached, failures remembered.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;
use moka::future::Cache;
use moka::policy::EvictionPolicy;

use super::allow_list::{AllowList, Allowed, IssuerKeys, TENANT_PLACEHOLDER};
use super::approval::TenantApproval;
use super::rate_limit::NewIssuerLimit;
use crate::error::KeySourceError;
use crate::jwks::{DiscoveryError, JwksKeyProvider, JwksKeyProviderBuilder, error_chain};
use crate::keys::{KeyLookupError, KeyProvider, KeyRequest, VerifyingKey};
use crate::metrics::{self, IssuerRefusal};

const TARGET: &str = "ssr_session::issuers";

/// The longest issuer this provider logs in full; longer ones (they come
/// from untrusted tokens) are cut.
const LOGGED_ISSUER_CHARS: usize = 120;

/// Adjusts each issuer's JWKS provider ([`IssuerKeyProviderBuilder::configure_jwks`](super::IssuerKeyProviderBuilder::configure_jwks)).
pub(super) type Configure =
    Arc<dyn Fn(JwksKeyProviderBuilder) -> JwksKeyProviderBuilder + Send + Sync>;

/// Keys chosen by the token's `iss`: each allowed issuer verifies with its
/// own [`JwksKeyProvider`] (found by OpenID discovery or at a given JWKS
/// URL), with all of its semantics (TTL from `Cache-Control`, single
/// flight, stale-while-revalidate, stale-if-error, unknown-`kid` refetch).
/// Cheap to clone: clones share everything.
///
/// ```
/// use std::time::Duration;
/// use ssr_session::{issuers::IssuerKeyProvider, issuers::IssuerKeys, Verifier};
///
/// let keys = IssuerKeyProvider::builder()
///     // An OIDC SaaS: every tenant has its own issuer and keys.
///     .issuer_template("https://login.example.com/{tenant}/v2.0", IssuerKeys::Discovery)
///     // A SuperTokens deployment: `iss` is apiDomain + apiBasePath.
///     .issuer(
///         "https://api.example.org/auth",
///         IssuerKeys::JwksUrl("https://api.example.org/auth/jwt/jwks.json".into()),
///     )
///     .configure_jwks(|jwks| jwks.timeout(Duration::from_secs(2)))
///     .build()?;
/// assert!(keys.allows("https://login.example.com/contoso/v2.0"));
/// assert!(!keys.allows("https://login.example.com/../evil/v2.0"));
/// assert!(!keys.allows("https://attacker.example/v2.0"));
/// let verifier = Verifier::builder(keys).build()?;
/// # let _ = verifier;
/// # Ok::<(), ssr_session::ConfigError>(())
/// ```
///
/// # What a token's `iss` can make it do
///
/// The `iss` is read before the signature is checked, so it is the
/// attacker's choice. It selects an issuer only if it is on the
/// allow-list: equal, byte for byte, to an [`issuer`](super::IssuerKeyProviderBuilder::issuer),
/// or to an [`issuer_template`](super::IssuerKeyProviderBuilder::issuer_template)
/// with its `{tenant}` replaced by 1 to
/// [`max_tenant_len`](super::IssuerKeyProviderBuilder::max_tenant_len) characters
/// among `A-Z a-z 0-9 - _` (so a tenant can never leave its path segment
/// or DNS label). Any other `iss`, or none, is
/// [`KeyLookupError::IssuerNotAllowed`] (the token is invalid, claim
/// *issuer*) **without a single outgoing request**. Only URLs built from
/// the allow-list are ever fetched: the discovery document of an allowed
/// issuer, and the `jwks_uri` it names or the configured JWKS URL.
///
/// After the signature verified, the token's `iss` must equal the issuer
/// whose keys verified it: every key is bound to its issuer
/// ([`JwksKeyProviderBuilder::bind_issuer`]), so the same `kid` at two
/// issuers never mixes, and a verified-token cache entry (keyed by the
/// token's exact bytes, so by its `iss` too) always belongs to the issuer
/// that verified it.
///
/// # The issuer cache
///
/// Issuers are set up on first use: the approval hook (templates only),
/// then discovery and the first JWKS fetch. Setups of one issuer are
/// single-flight (moka's `try_get_with`): a thousand concurrent first
/// visits make one discovery and one JWKS request. The providers live in a
/// `moka::future::Cache` of at most [`max_issuers`](super::IssuerKeyProviderBuilder::max_issuers)
/// issuers (least recently used evicted first), dropped after
/// [`idle_timeout`](super::IssuerKeyProviderBuilder::idle_timeout) without a
/// lookup; an evicted issuer is set up again (one JWKS fetch, plus one
/// discovery) on its next token, and its tokens leave the verified-token
/// cache with its keys.
///
/// Failures are remembered (a second bounded `moka` cache, at most
/// [`max_refused`](super::IssuerKeyProviderBuilder::max_refused) issuers): an issuer
/// refused by the hook, or that its own discovery does not know (404 or 410,
/// or a configuration naming another issuer, for a template's issuers) is
/// *not allowed* for [`refused_ttl`](super::IssuerKeyProviderBuilder::refused_ttl);
/// any other failed setup is *unavailable* for
/// [`failure_backoff`](super::IssuerKeyProviderBuilder::failure_backoff). Within
/// those, lookups make no request.
///
/// New issuers from templates are also rate-limited
/// ([`new_issuer_limit`](super::IssuerKeyProviderBuilder::new_issuer_limit): a
/// bucket of 100 setups, one more every 100 ms by default): a flood of
/// made-up tenants costs at most the bucket plus its refill in discovery
/// requests, whatever its size; beyond it a new tenant's lookup is
/// *unavailable* ([`KeySourceError::NewIssuerLimit`]) until the bucket
/// refills. Issuers already cached, and exact issuers, are never limited.
/// One issuer's outage touches only that issuer's tokens.
///
/// Use it without [`VerifierBuilder::issuer`](crate::verify::VerifierBuilder::issuer):
/// the binding already checks `iss`. Lookups must run inside a Tokio
/// runtime.
#[derive(Clone)]
pub struct IssuerKeyProvider {
    inner: Arc<Inner>,
}

struct Inner {
    allow_list: AllowList,
    approval: Option<Arc<dyn TenantApproval>>,
    configure: Configure,
    client: reqwest::Client,
    settings: Settings,
    providers: Cache<Arc<str>, JwksKeyProvider>,
    refused: Cache<Arc<str>, Refused>,
    new_issuers: NewIssuerLimit,
    setups: AtomicU64,
    discoveries: AtomicU64,
    /// How many issuers this provider adds to the `ssr_session_issuers_cached`
    /// gauge: one per setup that was cached, less one per eviction (moka's
    /// own count lags until its pending tasks run).
    reported: Arc<AtomicU64>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        metrics::issuers_cached(-(self.reported.load(Ordering::Relaxed) as f64));
    }
}

/// The issuer caches' bounds and lifetimes, and the limits on tenants.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) max_issuers: u64,
    pub(super) idle_timeout: Duration,
    pub(super) refused_ttl: Duration,
    pub(super) failure_backoff: Duration,
    pub(super) max_refused: u64,
    pub(super) max_tenant_len: usize,
    pub(super) new_issuer_burst: u32,
    pub(super) new_issuer_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_issuers: 1_000,
            idle_timeout: Duration::from_secs(60 * 60),
            refused_ttl: Duration::from_secs(5 * 60),
            failure_backoff: Duration::from_secs(5),
            max_refused: 10_000,
            max_tenant_len: 64,
            new_issuer_burst: 100,
            new_issuer_every: Duration::from_millis(100),
        }
    }
}

/// A remembered failure.
#[derive(Clone)]
enum Refused {
    /// Not an issuer we accept: invalid.
    NotAllowed,
    /// Its setup failed: unavailable.
    Failed(Arc<KeySourceError>),
}

impl From<Refused> for KeyLookupError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::NotAllowed => KeyLookupError::IssuerNotAllowed,
            Refused::Failed(error) => KeyLookupError::Unavailable(error),
        }
    }
}

/// Why a setup gave no provider.
enum SetupFailure {
    /// Remembered in the negative cache.
    Refused(Refused),
    /// Not remembered (the hook failed, or the new-issuer limit).
    Transient(Arc<KeySourceError>),
}

/// Per-entry lifetimes of the negative cache.
struct RefusedExpiry {
    refused_ttl: Duration,
    failure_backoff: Duration,
}

impl Expiry<Arc<str>, Refused> for RefusedExpiry {
    fn expire_after_create(
        &self,
        _issuer: &Arc<str>,
        refused: &Refused,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(match refused {
            Refused::NotAllowed => self.refused_ttl,
            Refused::Failed(_) => self.failure_backoff,
        })
    }
}

impl IssuerKeyProvider {
    /// A provider for a checked allow-list and settings, its caches empty.
    pub(super) fn new(
        allow_list: AllowList,
        approval: Option<Arc<dyn TenantApproval>>,
        configure: Configure,
        client: reqwest::Client,
        settings: Settings,
    ) -> Self {
        let reported = Arc::new(AtomicU64::new(0));
        let evicted = reported.clone();
        let providers = Cache::builder()
            .max_capacity(settings.max_issuers)
            .time_to_idle(settings.idle_timeout)
            .eviction_policy(EvictionPolicy::lru())
            .eviction_listener(move |_, provider: JwksKeyProvider, _| {
                provider.retire();
                evicted.fetch_sub(1, Ordering::Relaxed);
                metrics::issuers_cached(-1.0);
            })
            .build();
        let refused = Cache::builder()
            .max_capacity(settings.max_refused)
            .expire_after(RefusedExpiry {
                refused_ttl: settings.refused_ttl,
                failure_backoff: settings.failure_backoff,
            })
            .eviction_policy(EvictionPolicy::lru())
            .build();
        Self {
            inner: Arc::new(Inner {
                allow_list,
                approval,
                configure,
                client,
                settings,
                providers,
                refused,
                new_issuers: NewIssuerLimit::new(
                    settings.new_issuer_burst,
                    settings.new_issuer_every,
                ),
                setups: AtomicU64::new(0),
                discoveries: AtomicU64::new(0),
                reported,
            }),
        }
    }

    /// `true` when `issuer` is on the allow-list (an exact issuer, or a
    /// template with an acceptable tenant). Makes no request and calls no
    /// hook.
    pub fn allows(&self, issuer: &str) -> bool {
        self.inner.allow_list.allowed(issuer).is_some()
    }

    /// The provider of `issuer`'s keys, setting the issuer up if needed
    /// (as a token's first lookup would). For tools and tests.
    pub async fn issuer_keys(&self, issuer: &str) -> Result<JwksKeyProvider, KeyLookupError> {
        let Some(allowed) = self.inner.allow_list.allowed(issuer) else {
            metrics::issuer_refused(IssuerRefusal::NotAllowed);
            return Err(KeyLookupError::IssuerNotAllowed);
        };
        self.inner.provider(issuer, allowed).await
    }

    /// How many issuers are set up and cached now (an estimate until
    /// [`run_pending_tasks`](Self::run_pending_tasks)).
    pub fn cached_issuers(&self) -> u64 {
        self.inner.providers.entry_count()
    }

    /// How many issuers' failures are remembered now (an estimate until
    /// [`run_pending_tasks`](Self::run_pending_tasks)).
    pub fn refused_issuers(&self) -> u64 {
        self.inner.refused.entry_count()
    }

    /// How many issuer setups have made requests: each is one discovery
    /// (for [`IssuerKeys::Discovery`]) and one JWKS fetch.
    pub fn setup_count(&self) -> u64 {
        self.inner.setups.load(Ordering::Relaxed)
    }

    /// How many OpenID discovery requests have been made.
    pub fn discovery_count(&self) -> u64 {
        self.inner.discoveries.load(Ordering::Relaxed)
    }

    /// Runs the caches' pending evictions and expirations now (they
    /// otherwise run as lookups go), so that the counts above are exact.
    pub async fn run_pending_tasks(&self) {
        self.inner.providers.run_pending_tasks().await;
        self.inner.refused.run_pending_tasks().await;
    }
}

impl fmt::Debug for IssuerKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut exact: Vec<&str> = self.inner.allow_list.exact.keys().map(|k| &**k).collect();
        exact.sort_unstable();
        f.debug_struct("IssuerKeyProvider")
            .field("issuers", &exact)
            .field(
                "templates",
                &self
                    .inner
                    .allow_list
                    .templates
                    .iter()
                    .map(|t| &t.raw)
                    .collect::<Vec<_>>(),
            )
            .field("settings", &self.inner.settings)
            .field("cached_issuers", &self.cached_issuers())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl KeyProvider for IssuerKeyProvider {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        let Some(issuer) = request.issuer else {
            metrics::issuer_refused(IssuerRefusal::NoIssuer);
            tracing::debug!(target: TARGET, "a token without a string `iss` was refused");
            return Err(KeyLookupError::IssuerNotAllowed);
        };
        let Some(allowed) = self.inner.allow_list.allowed(issuer) else {
            metrics::issuer_refused(IssuerRefusal::NotAllowed);
            tracing::debug!(
                target: TARGET,
                issuer = %Shown(issuer),
                "a token's `iss` is not on the allow-list: refused without a request"
            );
            return Err(KeyLookupError::IssuerNotAllowed);
        };
        let provider = match self.inner.providers.get(issuer).await {
            Some(provider) => provider,
            None => self.inner.provider(issuer, allowed).await?,
        };
        provider.key(request).await
    }

    fn selects_by_issuer(&self) -> bool {
        true
    }
}

impl Inner {
    /// The cached provider for an allowed issuer, or a new one (one setup
    /// at a time per issuer); remembered failures answer at once.
    async fn provider(
        &self,
        issuer: &str,
        allowed: Allowed<'_>,
    ) -> Result<JwksKeyProvider, KeyLookupError> {
        if let Some(refused) = self.refused.get(issuer).await {
            metrics::issuer_refused(IssuerRefusal::Remembered);
            return Err(refused.into());
        }
        let key: Arc<str> = Arc::from(issuer);
        let setup = self.set_up(key.clone(), allowed);
        match self.providers.try_get_with(key.clone(), setup).await {
            Ok(provider) => Ok(provider),
            Err(failure) => match &*failure {
                SetupFailure::Refused(refused) => {
                    metrics::issuer_refused(match refused {
                        Refused::NotAllowed => IssuerRefusal::NotApproved,
                        Refused::Failed(_) => IssuerRefusal::SetupFailed,
                    });
                    self.refused.insert(key, refused.clone()).await;
                    Err(refused.clone().into())
                }
                SetupFailure::Transient(error) => Err(KeyLookupError::Unavailable(error.clone())),
            },
        }
    }

    /// One issuer's setup: approval, rate limit, discovery, first fetch.
    async fn set_up(
        &self,
        issuer: Arc<str>,
        allowed: Allowed<'_>,
    ) -> Result<JwksKeyProvider, SetupFailure> {
        if let Some(tenant) = allowed.tenant {
            if let Some(approval) = &self.approval {
                match approval.approve(&issuer, tenant).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::debug!(target: TARGET, issuer = %Shown(&issuer), "tenant refused by the approval hook");
                        return Err(SetupFailure::Refused(Refused::NotAllowed));
                    }
                    Err(error) => {
                        tracing::warn!(target: TARGET, issuer = %Shown(&issuer), %error, "the tenant approval hook failed");
                        return Err(SetupFailure::Transient(Arc::new(KeySourceError::Custom(
                            error,
                        ))));
                    }
                }
            }
            if !self.new_issuers.take() {
                metrics::issuer_refused(IssuerRefusal::RateLimited);
                tracing::debug!(target: TARGET, issuer = %Shown(&issuer), "new-issuer limit reached");
                return Err(SetupFailure::Transient(Arc::new(
                    KeySourceError::NewIssuerLimit,
                )));
            }
        }
        self.setups.fetch_add(1, Ordering::Relaxed);
        let configure = |builder: JwksKeyProviderBuilder| {
            (self.configure)(builder)
                .client(self.client.clone())
                .bind_issuer(&issuer)
        };
        let failed =
            |error: KeySourceError| SetupFailure::Refused(Refused::Failed(Arc::new(error)));
        let provider = match allowed.keys {
            IssuerKeys::Discovery => {
                self.discoveries.fetch_add(1, Ordering::Relaxed);
                match JwksKeyProvider::from_oidc_issuer(&issuer, configure).await {
                    Ok(provider) => provider,
                    Err(error) => {
                        tracing::warn!(target: TARGET, issuer = %Shown(&issuer), error = %error_chain(&error), "OpenID discovery failed");
                        let unknown = match &error {
                            DiscoveryError::IssuerMismatch { .. } => true,
                            DiscoveryError::Source(KeySourceError::Status { status, .. }) => {
                                matches!(status, 404 | 410)
                            }
                            _ => false,
                        };
                        if unknown && allowed.tenant.is_some() {
                            return Err(SetupFailure::Refused(Refused::NotAllowed));
                        }
                        return Err(match error {
                            DiscoveryError::Source(error) => failed(error),
                            other => failed(KeySourceError::Custom(Box::new(other))),
                        });
                    }
                }
            }
            IssuerKeys::JwksUrl(url) => {
                let url = match allowed.tenant {
                    Some(tenant) => url.replace(TENANT_PLACEHOLDER, tenant),
                    None => url.clone(),
                };
                configure(JwksKeyProvider::builder(&url))
                    .build()
                    .map_err(|error| failed(KeySourceError::Custom(Box::new(error))))?
            }
        };
        if let Err(error) = provider.key_set().await {
            return Err(SetupFailure::Refused(Refused::Failed(error)));
        }
        tracing::debug!(target: TARGET, issuer = %Shown(&issuer), "issuer set up");
        // Counted here, where it is cached (once: concurrent first lookups
        // share this setup).
        self.reported.fetch_add(1, Ordering::Relaxed);
        metrics::issuers_cached(1.0);
        Ok(provider)
    }
}

/// An untrusted issuer for a log line: debug-escaped, cut after
/// [`LOGGED_ISSUER_CHARS`] characters.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(LOGGED_ISSUER_CHARS) {
            Some((end, _)) => write!(f, "{:?}…", &self.0[..end]),
            None => write!(f, "{:?}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_issuers_are_cut_and_escaped() {
        let long = "x".repeat(500);
        let shown = Shown(&long).to_string();
        assert!(shown.len() < 130, "{shown}");
        assert_eq!(Shown("a\nb").to_string(), "\"a\\nb\"");
    }
}
