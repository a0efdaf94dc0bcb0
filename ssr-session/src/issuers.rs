//! [`IssuerKeyProvider`]: the key set chosen by the token's `iss`, from an
//! allow-list, each issuer with its own [`JwksKeyProvider`], the providers
//! kept in a bounded `moka` cache.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;
use moka::future::Cache;
use moka::policy::EvictionPolicy;
use url::Url;

use crate::error::{ConfigError, KeySourceError};
use crate::jwks::{DiscoveryError, JwksKeyProvider, JwksKeyProviderBuilder, error_chain};
use crate::keys::{KeyLookupError, KeyProvider, KeyRequest, VerifyingKey};

const TARGET: &str = "ssr_session::issuers";

/// The placeholder an issuer template (and its JWKS URL template) holds.
pub const TENANT_PLACEHOLDER: &str = "{tenant}";

/// The longest issuer this provider logs in full; longer ones (they come
/// from untrusted tokens) are cut.
const LOGGED_ISSUER_CHARS: usize = 120;

/// Where an allowed issuer's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssuerKeys {
    /// OpenID Connect discovery: `{issuer}/.well-known/openid-configuration`
    /// names the `jwks_uri` (and must name the issuer itself), as
    /// [`JwksKeyProvider::from_oidc_issuer`] does.
    Discovery,
    /// This JWKS URL. For an [issuer template](IssuerKeyProviderBuilder::issuer_template)
    /// it may hold `{tenant}`, replaced by the token's tenant.
    JwksUrl(String),
}

/// Approves (or refuses) a tenant of an
/// [issuer template](IssuerKeyProviderBuilder::issuer_template) before its
/// issuer is set up: before any request is made for it.
///
/// Called once per issuer setup (concurrent lookups for one issuer share
/// it), and not again while the answer is remembered: a rejection for
/// [`refused_ttl`](IssuerKeyProviderBuilder::refused_ttl), an approval for
/// as long as the issuer stays cached. An error makes the lookup
/// *unavailable* and is not remembered.
///
/// A closure works too (see
/// [`approve_tenants_with`](IssuerKeyProviderBuilder::approve_tenants_with)).
#[async_trait]
pub trait TenantApproval: Send + Sync + 'static {
    /// `Ok(true)` when `tenant` (the part of `issuer` that stands for the
    /// template's `{tenant}`) may sign in.
    async fn approve(
        &self,
        issuer: &str,
        tenant: &str,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>>;
}

/// A closure as a [`TenantApproval`].
struct ApprovalFn<F>(F);

#[async_trait]
impl<F, Fut> TenantApproval for ApprovalFn<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    async fn approve(
        &self,
        _issuer: &str,
        tenant: &str,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        Ok((self.0)(tenant.to_owned()).await)
    }
}

type Configure = Arc<dyn Fn(JwksKeyProviderBuilder) -> JwksKeyProviderBuilder + Send + Sync>;

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
/// allow-list: equal, byte for byte, to an [`issuer`](IssuerKeyProviderBuilder::issuer),
/// or to an [`issuer_template`](IssuerKeyProviderBuilder::issuer_template)
/// with its `{tenant}` replaced by 1 to
/// [`max_tenant_len`](IssuerKeyProviderBuilder::max_tenant_len) characters
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
/// `moka::future::Cache` of at most [`max_issuers`](IssuerKeyProviderBuilder::max_issuers)
/// issuers (least recently used evicted first), dropped after
/// [`idle_timeout`](IssuerKeyProviderBuilder::idle_timeout) without a
/// lookup; an evicted issuer is set up again (one JWKS fetch, plus one
/// discovery) on its next token, and its tokens leave the verified-token
/// cache with its keys.
///
/// Failures are remembered (a second bounded `moka` cache, at most
/// [`max_refused`](IssuerKeyProviderBuilder::max_refused) issuers): an issuer
/// refused by the hook, or that its own discovery does not know (404 or 410,
/// or a configuration naming another issuer, for a template's issuers) is
/// *not allowed* for [`refused_ttl`](IssuerKeyProviderBuilder::refused_ttl);
/// any other failed setup is *unavailable* for
/// [`failure_backoff`](IssuerKeyProviderBuilder::failure_backoff). Within
/// those, lookups make no request.
///
/// New issuers from templates are also rate-limited
/// ([`new_issuer_limit`](IssuerKeyProviderBuilder::new_issuer_limit): a
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
    exact: HashMap<Arc<str>, IssuerKeys>,
    templates: Vec<Template>,
    approval: Option<Arc<dyn TenantApproval>>,
    configure: Configure,
    client: reqwest::Client,
    settings: Settings,
    providers: Cache<Arc<str>, JwksKeyProvider>,
    refused: Cache<Arc<str>, Refused>,
    new_issuers: Mutex<Bucket>,
    setups: AtomicU64,
    discoveries: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    max_issuers: u64,
    idle_timeout: Duration,
    refused_ttl: Duration,
    failure_backoff: Duration,
    max_refused: u64,
    max_tenant_len: usize,
    new_issuer_burst: u32,
    new_issuer_every: Duration,
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

/// An issuer template, split around its placeholder.
#[derive(Debug, Clone)]
struct Template {
    raw: String,
    prefix: String,
    suffix: String,
    keys: IssuerKeys,
}

/// What an allowed `iss` maps to.
struct Allowed<'a> {
    keys: &'a IssuerKeys,
    /// The tenant, for an issuer from a template.
    tenant: Option<&'a str>,
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

/// A token bucket for new issuers' setups.
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl IssuerKeyProvider {
    /// Starts configuring a provider (issuers are added on the builder).
    pub fn builder() -> IssuerKeyProviderBuilder {
        IssuerKeyProviderBuilder::default()
    }

    /// `true` when `issuer` is on the allow-list (an exact issuer, or a
    /// template with an acceptable tenant). Makes no request and calls no
    /// hook.
    pub fn allows(&self, issuer: &str) -> bool {
        self.inner.allowed(issuer).is_some()
    }

    /// The provider of `issuer`'s keys, setting the issuer up if needed
    /// (as a token's first lookup would). For tools and tests.
    pub async fn issuer_keys(&self, issuer: &str) -> Result<JwksKeyProvider, KeyLookupError> {
        let Some(allowed) = self.inner.allowed(issuer) else {
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
        let mut exact: Vec<&str> = self.inner.exact.keys().map(|k| &**k).collect();
        exact.sort_unstable();
        f.debug_struct("IssuerKeyProvider")
            .field("issuers", &exact)
            .field(
                "templates",
                &self
                    .inner
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
            tracing::debug!(target: TARGET, "a token without a string `iss` was refused");
            return Err(KeyLookupError::IssuerNotAllowed);
        };
        let Some(allowed) = self.inner.allowed(issuer) else {
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
    /// The allow-list's answer for `issuer`: exact issuers first, then the
    /// templates in the order given.
    fn allowed<'a>(&'a self, issuer: &'a str) -> Option<Allowed<'a>> {
        if let Some(keys) = self.exact.get(issuer) {
            return Some(Allowed { keys, tenant: None });
        }
        self.templates.iter().find_map(|template| {
            let tenant = issuer
                .strip_prefix(&*template.prefix)?
                .strip_suffix(&*template.suffix)?;
            valid_tenant(tenant, self.settings.max_tenant_len).then_some(Allowed {
                keys: &template.keys,
                tenant: Some(tenant),
            })
        })
    }

    /// The cached provider for an allowed issuer, or a new one (one setup
    /// at a time per issuer); remembered failures answer at once.
    async fn provider(
        &self,
        issuer: &str,
        allowed: Allowed<'_>,
    ) -> Result<JwksKeyProvider, KeyLookupError> {
        if let Some(refused) = self.refused.get(issuer).await {
            return Err(refused.into());
        }
        let key: Arc<str> = Arc::from(issuer);
        let setup = self.set_up(key.clone(), allowed);
        match self.providers.try_get_with(key.clone(), setup).await {
            Ok(provider) => Ok(provider),
            Err(failure) => match &*failure {
                SetupFailure::Refused(refused) => {
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
            if !self.take_new_issuer() {
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
        Ok(provider)
    }

    /// Takes one setup from the new-issuer bucket, if one is left.
    fn take_new_issuer(&self) -> bool {
        let settings = &self.settings;
        let mut bucket = self
            .new_issuers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let refill = now.saturating_duration_since(bucket.last).as_secs_f64()
            / settings.new_issuer_every.as_secs_f64();
        bucket.tokens = (bucket.tokens + refill).min(f64::from(settings.new_issuer_burst));
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// 1 to `max_len` characters among `A-Z a-z 0-9 - _`.
fn valid_tenant(tenant: &str, max_len: usize) -> bool {
    !tenant.is_empty()
        && tenant.len() <= max_len
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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

/// Configures an [`IssuerKeyProvider`]; made by [`IssuerKeyProvider::builder`].
/// Nothing is checked until [`build`](Self::build).
///
/// | setting | default |
/// | --- | --- |
/// | [`issuer`](Self::issuer) / [`oidc_issuer`](Self::oidc_issuer) / [`issuer_template`](Self::issuer_template) | none (at least one is required) |
/// | [`max_tenant_len`](Self::max_tenant_len) | 64 characters among `A-Z a-z 0-9 - _` |
/// | [`approve_tenants`](Self::approve_tenants) | none: every well-formed tenant may be set up |
/// | [`max_issuers`](Self::max_issuers) | 1,000 issuers cached (least recently used evicted) |
/// | [`idle_timeout`](Self::idle_timeout) | 1 h without a lookup |
/// | [`refused_ttl`](Self::refused_ttl) | 5 min for an issuer not allowed |
/// | [`failure_backoff`](Self::failure_backoff) | 5 s for an issuer whose setup failed |
/// | [`max_refused`](Self::max_refused) | 10,000 issuers remembered as refused or failed |
/// | [`new_issuer_limit`](Self::new_issuer_limit) | 100 setups of template issuers, one more every 100 ms |
/// | [`configure_jwks`](Self::configure_jwks) | each issuer's [`JwksKeyProvider`] with its defaults |
/// | [`client`](Self::client) | one client built by `build()`, shared by every issuer |
#[derive(Clone, Default)]
#[must_use = "a builder does nothing until `build()`"]
pub struct IssuerKeyProviderBuilder {
    exact: Vec<(String, IssuerKeys)>,
    templates: Vec<(String, IssuerKeys)>,
    approval: Option<Arc<dyn TenantApproval>>,
    configure: Option<Configure>,
    client: Option<reqwest::Client>,
    settings: Settings,
}

impl fmt::Debug for IssuerKeyProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKeyProviderBuilder")
            .field("issuers", &self.exact)
            .field("templates", &self.templates)
            .field("approval", &self.approval.is_some())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl IssuerKeyProviderBuilder {
    /// Allows tokens whose `iss` is exactly `issuer`, verified with keys
    /// from `keys`.
    pub fn issuer(mut self, issuer: &str, keys: IssuerKeys) -> Self {
        self.exact.push((issuer.to_owned(), keys));
        self
    }

    /// Allows `issuer`, its keys found by OpenID discovery
    /// (`issuer(issuer, IssuerKeys::Discovery)`).
    pub fn oidc_issuer(self, issuer: &str) -> Self {
        self.issuer(issuer, IssuerKeys::Discovery)
    }

    /// Allows every issuer that `template` gives with its one `{tenant}`
    /// replaced by a tenant: 1 to [`max_tenant_len`](Self::max_tenant_len)
    /// characters among `A-Z a-z 0-9 - _`, and, with an
    /// [approval hook](Self::approve_tenants), approved by it. `keys` is
    /// [`IssuerKeys::Discovery`] or a JWKS URL (which may hold `{tenant}`
    /// too). `{tenant}` may stand in a path (`https://login.example.com/{tenant}/v2.0`)
    /// or in the first DNS label of a host under a domain of at least two
    /// labels (`https://{tenant}.auth.example.com`), never in the scheme,
    /// port or user info, nor as a whole host.
    pub fn issuer_template(mut self, template: &str, keys: IssuerKeys) -> Self {
        self.templates.push((template.to_owned(), keys));
        self
    }

    /// The longest tenant a template accepts (default 64).
    pub fn max_tenant_len(mut self, chars: usize) -> Self {
        self.settings.max_tenant_len = chars;
        self
    }

    /// Asks `approval` before a template's issuer is set up (before any
    /// request for it). See [`TenantApproval`].
    pub fn approve_tenants(mut self, approval: impl TenantApproval) -> Self {
        self.approval = Some(Arc::new(approval));
        self
    }

    /// [`approve_tenants`](Self::approve_tenants) with an async closure
    /// given the tenant (it cannot fail).
    ///
    /// ```
    /// use ssr_session::{issuers::IssuerKeyProvider, issuers::IssuerKeys};
    ///
    /// let keys = IssuerKeyProvider::builder()
    ///     .issuer_template("https://login.example.com/{tenant}/v2.0", IssuerKeys::Discovery)
    ///     .approve_tenants_with(|tenant| async move { tenant == "contoso" || tenant == "fabrikam" })
    ///     .build()?;
    /// # let _ = keys;
    /// # Ok::<(), ssr_session::ConfigError>(())
    /// ```
    pub fn approve_tenants_with<F, Fut>(self, approve: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.approve_tenants(ApprovalFn(approve))
    }

    /// Adjusts every issuer's [`JwksKeyProviderBuilder`] (timeout, TTLs,
    /// body cap, unknown-`kid` interval…) before it is built. The client
    /// and the issuer binding are set after it.
    pub fn configure_jwks(
        mut self,
        configure: impl Fn(JwksKeyProviderBuilder) -> JwksKeyProviderBuilder + Send + Sync + 'static,
    ) -> Self {
        self.configure = Some(Arc::new(configure));
        self
    }

    /// The HTTP client every issuer fetches with (discovery and JWKS).
    /// Without one, `build()` makes one, as [`JwksKeyProviderBuilder::client`]
    /// describes, shared by every issuer.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The most issuers cached at once (default 1,000); past it, the least
    /// recently used is evicted (its keys dropped). More than zero.
    pub fn max_issuers(mut self, issuers: u64) -> Self {
        self.settings.max_issuers = issuers;
        self
    }

    /// How long an issuer with no lookup stays cached (default 1 h).
    /// Lookups come only from tokens' first visits (the verified-token
    /// cache answers the rest), so keep it longer than your tokens live.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.settings.idle_timeout = idle;
        self
    }

    /// How long an issuer found not allowed (refused by the approval hook,
    /// or unknown to its own discovery) is answered *not allowed* at once,
    /// without a request (default 5 min).
    pub fn refused_ttl(mut self, ttl: Duration) -> Self {
        self.settings.refused_ttl = ttl;
        self
    }

    /// How long an issuer whose setup failed otherwise (discovery or its
    /// first JWKS fetch down, timing out, malformed) is answered
    /// *unavailable* at once, without a request (default 5 s).
    pub fn failure_backoff(mut self, backoff: Duration) -> Self {
        self.settings.failure_backoff = backoff;
        self
    }

    /// The most issuers remembered as refused or failed (default 10,000;
    /// least recently used evicted). More than zero.
    pub fn max_refused(mut self, issuers: u64) -> Self {
        self.settings.max_refused = issuers;
        self
    }

    /// At most `burst` setups of new issuers from templates at once, one
    /// more every `refill_every` (default 100, one every 100 ms). A
    /// template's issuer set up beyond it is *unavailable*
    /// ([`KeySourceError::NewIssuerLimit`]) for that lookup, with no
    /// request. Exact issuers are not counted.
    pub fn new_issuer_limit(mut self, burst: u32, refill_every: Duration) -> Self {
        self.settings.new_issuer_burst = burst;
        self.settings.new_issuer_every = refill_every;
        self
    }

    /// Checks the issuers (absolute `http`/`https` URLs, none twice), the
    /// templates (one `{tenant}`, in a path or in a host's first label
    /// under a domain of at least two labels), the JWKS URLs, and the
    /// settings, and builds the client if none was given. Fetches nothing.
    pub fn build(self) -> Result<IssuerKeyProvider, ConfigError> {
        let settings = self.settings;
        if self.exact.is_empty() && self.templates.is_empty() {
            return Err(setting("no issuer and no issuer template"));
        }
        if settings.max_issuers == 0 || settings.max_refused == 0 {
            return Err(setting(
                "max_issuers and max_refused must be more than zero",
            ));
        }
        if settings.max_tenant_len == 0 {
            return Err(setting("max_tenant_len must be more than zero"));
        }
        if settings.new_issuer_every.is_zero() {
            return Err(setting(
                "new_issuer_limit's refill interval must be more than zero",
            ));
        }
        let year = Duration::from_secs(365 * 24 * 60 * 60);
        for (name, duration) in [
            ("idle_timeout", settings.idle_timeout),
            ("refused_ttl", settings.refused_ttl),
            ("failure_backoff", settings.failure_backoff),
        ] {
            if duration.is_zero() || duration > year {
                return Err(setting(format!(
                    "{name} must be more than zero and at most one year"
                )));
            }
        }
        let mut exact = HashMap::new();
        for (issuer, keys) in self.exact {
            check_url(&issuer)?;
            check_keys(&keys, false)?;
            if exact.insert(Arc::from(issuer.as_str()), keys).is_some() {
                return Err(ConfigError::Url {
                    url: issuer,
                    reason: "listed twice".to_owned(),
                });
            }
        }
        let templates = self
            .templates
            .into_iter()
            .map(|(raw, keys)| parse_template(raw, keys))
            .collect::<Result<Vec<_>, _>>()?;
        let client = match self.client {
            Some(client) => client,
            None => crate::jwks::default_client()?,
        };
        let configure = self
            .configure
            .unwrap_or_else(|| Arc::new(|builder| builder));
        // The per-issuer settings, checked now rather than at a first visit.
        configure(JwksKeyProvider::builder("https://issuer.invalid/jwks.json"))
            .client(client.clone())
            .build()?;
        let providers = Cache::builder()
            .max_capacity(settings.max_issuers)
            .time_to_idle(settings.idle_timeout)
            .eviction_policy(EvictionPolicy::lru())
            .build();
        let refused = Cache::builder()
            .max_capacity(settings.max_refused)
            .expire_after(RefusedExpiry {
                refused_ttl: settings.refused_ttl,
                failure_backoff: settings.failure_backoff,
            })
            .eviction_policy(EvictionPolicy::lru())
            .build();
        Ok(IssuerKeyProvider {
            inner: Arc::new(Inner {
                exact,
                templates,
                approval: self.approval,
                configure,
                client,
                settings,
                providers,
                refused,
                new_issuers: Mutex::new(Bucket {
                    tokens: f64::from(settings.new_issuer_burst),
                    last: Instant::now(),
                }),
                setups: AtomicU64::new(0),
                discoveries: AtomicU64::new(0),
            }),
        })
    }
}

fn setting(reason: impl Into<String>) -> ConfigError {
    ConfigError::Setting(reason.into())
}

fn check_url(raw: &str) -> Result<Url, ConfigError> {
    let refuse = |reason: &str| ConfigError::Url {
        url: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(raw).map_err(|error| refuse(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("only http and https are supported"));
    }
    if url.host().is_none() {
        return Err(refuse("no host"));
    }
    Ok(url)
}

/// A JWKS URL must be a URL (with `{tenant}` replaced, for a template).
fn check_keys(keys: &IssuerKeys, template: bool) -> Result<(), ConfigError> {
    if let IssuerKeys::JwksUrl(url) = keys {
        if url.contains(TENANT_PLACEHOLDER) && !template {
            return Err(ConfigError::Url {
                url: url.clone(),
                reason: "`{tenant}` is only for an issuer template's JWKS URL".to_owned(),
            });
        }
        if template {
            check_placement(url)?;
        }
        check_url(&url.replace(TENANT_PLACEHOLDER, "tenant"))?;
    }
    Ok(())
}

fn parse_template(raw: String, keys: IssuerKeys) -> Result<Template, ConfigError> {
    if raw.matches(TENANT_PLACEHOLDER).count() != 1 {
        return Err(ConfigError::Url {
            url: raw,
            reason: "an issuer template holds `{tenant}` exactly once".to_owned(),
        });
    }
    check_placement(&raw)?;
    check_url(&raw.replace(TENANT_PLACEHOLDER, "tenant"))?;
    check_keys(&keys, true)?;
    let (prefix, suffix) = raw
        .split_once(TENANT_PLACEHOLDER)
        .map(|(p, s)| (p.to_owned(), s.to_owned()))
        .unwrap_or_default();
    Ok(Template {
        raw,
        prefix,
        suffix,
        keys,
    })
}

/// `{tenant}` in a path, query or fragment, or as (part of) the first DNS
/// label of a host under a domain of at least two labels; never in the
/// scheme, user info or port, nor as a whole host.
fn check_placement(template: &str) -> Result<(), ConfigError> {
    let refuse = |reason: &str| ConfigError::Url {
        url: template.to_owned(),
        reason: reason.to_owned(),
    };
    let Some(at) = template.find(TENANT_PLACEHOLDER) else {
        return Ok(());
    };
    let Some(scheme_end) = template.find("://") else {
        return Err(refuse("not an absolute URL"));
    };
    if at < scheme_end + 3 {
        return Err(refuse("`{tenant}` may not stand in the scheme"));
    }
    let authority_end = template[scheme_end + 3..]
        .find(['/', '?', '#'])
        .map_or(template.len(), |end| scheme_end + 3 + end);
    if at >= authority_end {
        return Ok(()); // in the path, query or fragment
    }
    let before = &template[scheme_end + 3..at];
    let after = &template[at + TENANT_PLACEHOLDER.len()..authority_end];
    let host_after = after.split(':').next().unwrap_or_default();
    let labels = host_after.trim_start_matches('.').split('.').count();
    if before.contains(['@', ':', '.'])
        || !host_after.starts_with('.')
        || labels < 2
        || host_after.ends_with('.')
        || after.contains('@')
    {
        return Err(refuse(
            "in a host, `{tenant}` must be (part of) the first label under a domain of at least two labels",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(template: &str) -> Result<IssuerKeyProvider, ConfigError> {
        IssuerKeyProvider::builder()
            .issuer_template(template, IssuerKeys::Discovery)
            .build()
    }

    #[test]
    fn tenants_are_restricted_to_a_safe_set() {
        let keys = build("https://login.example.com/{tenant}/v2.0").unwrap();
        assert!(keys.allows("https://login.example.com/contoso/v2.0"));
        assert!(keys.allows("https://login.example.com/a-b_C9/v2.0"));
        for bad in [
            "https://login.example.com//v2.0",
            "https://login.example.com/../v2.0",
            "https://login.example.com/a/b/v2.0",
            "https://login.example.com/a%2Fb/v2.0",
            "https://login.example.com/a.b/v2.0",
            "https://login.example.com/a?b/v2.0",
            "https://login.example.com/contoso/v2.0/",
            "https://login.example.com/contoso/v2.0#",
            "http://login.example.com/contoso/v2.0",
            "https://LOGIN.example.com/contoso/v2.0",
            "https://login.example.com/t\u{e9}/v2.0",
        ] {
            assert!(!keys.allows(bad), "{bad}");
        }
        let long = format!("https://login.example.com/{}/v2.0", "a".repeat(65));
        assert!(!keys.allows(&long));
        let max = format!("https://login.example.com/{}/v2.0", "a".repeat(64));
        assert!(keys.allows(&max));
    }

    #[test]
    fn templates_are_checked_at_build() {
        assert!(build("https://{tenant}.auth.example.com").is_ok());
        assert!(build("https://login.example.com/{tenant}").is_ok());
        for bad in [
            "https://login.example.com/v2.0",
            "https://login.example.com/{tenant}/{tenant}",
            "{tenant}://login.example.com/",
            "https://{tenant}/v2.0",
            "https://{tenant}.com/v2.0",
            "https://login.example.com:{tenant}/v2.0",
            "https://{tenant}@login.example.com/v2.0",
            "https://a.{tenant}.example.com/v2.0",
            "ftp://login.example.com/{tenant}",
        ] {
            assert!(
                matches!(build(bad), Err(ConfigError::Url { .. })),
                "{bad} was accepted"
            );
        }
        let jwks_template = |url: &str| {
            IssuerKeyProvider::builder()
                .issuer_template(
                    "https://login.example.com/{tenant}",
                    IssuerKeys::JwksUrl(url.into()),
                )
                .build()
        };
        assert!(jwks_template("https://keys.example.com/{tenant}/jwks.json").is_ok());
        assert!(jwks_template("https://{tenant}/jwks.json").is_err());
        let exact_with_placeholder = IssuerKeyProvider::builder()
            .issuer(
                "https://a.example.com",
                IssuerKeys::JwksUrl("https://a.example.com/{tenant}".into()),
            )
            .build();
        assert!(exact_with_placeholder.is_err());
    }

    #[test]
    fn settings_are_checked_at_build() {
        let base = || IssuerKeyProvider::builder().oidc_issuer("https://a.example.com");
        assert!(base().build().is_ok());
        assert!(IssuerKeyProvider::builder().build().is_err());
        assert!(base().max_issuers(0).build().is_err());
        assert!(base().max_refused(0).build().is_err());
        assert!(base().max_tenant_len(0).build().is_err());
        assert!(base().idle_timeout(Duration::ZERO).build().is_err());
        assert!(base().new_issuer_limit(1, Duration::ZERO).build().is_err());
        assert!(base().oidc_issuer("https://a.example.com").build().is_err());
        assert!(
            base()
                .configure_jwks(|b| b.timeout(Duration::ZERO))
                .build()
                .is_err()
        );
        assert!(
            IssuerKeyProvider::builder()
                .oidc_issuer("not a url")
                .build()
                .is_err()
        );
    }

    #[test]
    fn exact_issuers_match_byte_for_byte() {
        let keys = IssuerKeyProvider::builder()
            .oidc_issuer("https://a.example.com/auth")
            .build()
            .unwrap();
        assert!(keys.allows("https://a.example.com/auth"));
        assert!(!keys.allows("https://a.example.com/auth/"));
        assert!(!keys.allows("https://A.example.com/auth"));
        assert!(!keys.allows(""));
    }

    #[test]
    fn the_bucket_refills_up_to_its_burst() {
        let keys = IssuerKeyProvider::builder()
            .oidc_issuer("https://a.example.com")
            .new_issuer_limit(3, Duration::from_secs(3600))
            .build()
            .unwrap();
        let taken = (0..10).filter(|_| keys.inner.take_new_issuer()).count();
        assert_eq!(taken, 3);
        keys.inner.new_issuers.lock().unwrap().last -= Duration::from_secs(3600 * 10);
        let taken = (0..10).filter(|_| keys.inner.take_new_issuer()).count();
        assert_eq!(taken, 3);
    }

    #[test]
    fn logged_issuers_are_cut_and_escaped() {
        let long = "x".repeat(500);
        let shown = Shown(&long).to_string();
        assert!(shown.len() < 130, "{shown}");
        assert_eq!(Shown("a\nb").to_string(), "\"a\\nb\"");
    }
}
