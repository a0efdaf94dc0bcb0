//! [`IssuerKeyProviderBuilder`]: the allow-list, the approval hook and the
//! settings of an [`IssuerKeyProvider`], checked when it is built.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::allow_list::{AllowList, IssuerKeys};
use super::approval::{ApprovalFn, TenantApproval};
use super::provider::{Configure, IssuerKeyProvider, Settings};
use crate::error::ConfigError;
use crate::jwks::{JwksKeyProvider, JwksKeyProviderBuilder};

// The constructor lives beside the builder it returns, so that the provider
// itself does not depend on its builder (the builder depends on it).
impl IssuerKeyProvider {
    /// Starts configuring a provider (issuers are added on the builder).
    pub fn builder() -> IssuerKeyProviderBuilder {
        IssuerKeyProviderBuilder::default()
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
    /// ([`KeySourceError::NewIssuerLimit`](crate::error::KeySourceError::NewIssuerLimit)) for that lookup, with no
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
        let allow_list = AllowList::new(self.exact, self.templates, settings.max_tenant_len)?;
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
        Ok(IssuerKeyProvider::new(
            allow_list,
            self.approval,
            configure,
            client,
            settings,
        ))
    }
}

fn setting(reason: impl Into<String>) -> ConfigError {
    ConfigError::Setting(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
