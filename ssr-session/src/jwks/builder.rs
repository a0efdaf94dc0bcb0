//! [`JwksKeyProviderBuilder`]: where a [`JwksKeyProvider`] fetches its keys
//! from (URLs, a SuperTokens backend) and the settings it runs with.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::settings::{Settings, setting};
use super::{JwksKeyProvider, fetch};
use crate::error::ConfigError;

/// The path SuperTokens mounts its API under unless told otherwise.
const SUPERTOKENS_BASE_PATH: &str = "/auth";

/// Where the first JWKS URL comes from.
#[derive(Debug, Clone)]
pub(super) enum Target {
    Url(String),
    SuperTokens {
        api_domain: String,
    },
    /// [`JwksKeyProvider::from_oidc_issuer`], before discovery.
    Discovery,
}

// The constructors live beside the builder they return, so that the
// provider itself does not depend on its builder (the builder depends on it).
impl JwksKeyProvider {
    /// Starts configuring a provider for one JWKS URL (checked by
    /// [`build`](JwksKeyProviderBuilder::build)).
    pub fn builder(jwks_url: &str) -> JwksKeyProviderBuilder {
        JwksKeyProviderBuilder::new(Target::Url(jwks_url.to_owned()))
    }

    /// Starts configuring a provider for a SuperTokens backend: the keys at
    /// `{api_domain}{api_base_path}/jwt/jwks.json`, with the base path
    /// `/auth` unless [`api_base_path`](JwksKeyProviderBuilder::api_base_path)
    /// says otherwise. `api_domain` is an origin such as
    /// `https://api.example.com` (no path).
    pub fn for_supertokens(api_domain: &str) -> JwksKeyProviderBuilder {
        JwksKeyProviderBuilder::new(Target::SuperTokens {
            api_domain: api_domain.to_owned(),
        })
    }
}

/// Configures a [`JwksKeyProvider`]; made by [`JwksKeyProvider::builder`]
/// or [`JwksKeyProvider::for_supertokens`]. Nothing is checked until
/// [`build`](Self::build), which reports every mistake as a
/// [`ConfigError`].
///
/// | setting | default |
/// | --- | --- |
/// | [`timeout`](Self::timeout) | 5 s per fetch |
/// | [`max_body_bytes`](Self::max_body_bytes) | 1 MiB |
/// | [`min_ttl`](Self::min_ttl) | 30 s |
/// | [`max_ttl`](Self::max_ttl) | 10 min |
/// | [`default_ttl`](Self::default_ttl) | 5 min |
/// | [`unknown_kid_interval`](Self::unknown_kid_interval) | 1 s between fetches for unknown `kid`s |
/// | [`max_waiting_lookups`](Self::max_waiting_lookups) | 10,000 per provider |
/// | [`retry_interval`](Self::retry_interval) | 30 s between attempts after a failed fetch, while keys are cached |
/// | [`stale_if_error`](Self::stale_if_error) | 1 h |
/// | [`failure_backoff`](Self::failure_backoff) | 1 s |
/// | [`client`](Self::client) | one client built by `build()` |
/// | [`api_base_path`](Self::api_base_path) | `/auth` (SuperTokens only) |
/// | [`bind_issuer`](Self::bind_issuer) | none: keys are not bound to an issuer |
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build()`"]
pub struct JwksKeyProviderBuilder {
    // Discovery (discovery.rs) sets the target and the client it used.
    pub(super) target: Target,
    also: Vec<String>,
    api_base_path: Option<String>,
    pub(super) client: Option<reqwest::Client>,
    issuer: Option<Arc<str>>,
    pub(super) settings: Settings,
}

impl JwksKeyProviderBuilder {
    pub(super) fn new(target: Target) -> Self {
        Self {
            target,
            also: Vec::new(),
            api_base_path: None,
            client: None,
            issuer: None,
            settings: Settings::default(),
        }
    }

    /// Adds another JWKS URL. The keys of all URLs are merged into one set;
    /// a refresh fetches every URL in parallel and fails (keeping the last
    /// good set) if any of them fails.
    pub fn also_url(mut self, url: &str) -> Self {
        self.also.push(url.to_owned());
        self
    }

    /// The SuperTokens `apiBasePath` (default `/auth`); `""` or `/` for
    /// none. Only for [`JwksKeyProvider::for_supertokens`]; elsewhere
    /// [`build`](Self::build) refuses it.
    pub fn api_base_path(mut self, path: &str) -> Self {
        self.api_base_path = Some(path.to_owned());
        self
    }

    /// The HTTP client to fetch with (its proxy, TLS roots, pool…). Without
    /// one, `build()` makes one client with rustls, at most three
    /// redirects and no redirect from `https` to `http`, shared by every
    /// clone of the provider. The [`timeout`](Self::timeout) and
    /// [`max_body_bytes`](Self::max_body_bytes) apply to either.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The most one fetch may take, from connecting to the last byte of
    /// the body (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The largest JWKS body accepted (default 1 MiB). A larger
    /// `Content-Length` is refused before reading; a body without one is
    /// read in chunks and dropped as soon as it passes the cap.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_body_bytes = bytes;
        self
    }

    /// The shortest time a fetched set is fresh, whatever `Cache-Control`
    /// says, including `max-age=0`, `no-cache` and `no-store` (default 30 s).
    /// Zero lets such an answer make every lookup start a background
    /// refresh (one at a time, back to back): keep it above zero in
    /// production.
    pub fn min_ttl(mut self, ttl: Duration) -> Self {
        self.settings.min_ttl = ttl;
        self
    }

    /// The longest time a fetched set is fresh, whatever `Cache-Control`
    /// says (default 10 min).
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.settings.max_ttl = ttl;
        self
    }

    /// How long a set is fresh when the answer has no valid
    /// `Cache-Control: max-age` (default 5 min; clamped into
    /// [`min_ttl`](Self::min_ttl)..=[`max_ttl`](Self::max_ttl)).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.settings.default_ttl = ttl;
        self
    }

    /// The least time between the starts of two fetches made for tokens
    /// whose `kid` is not in the cached set (default 1 s). Such a token is
    /// answered *unknown* only from a set fetched after it arrived: within
    /// the interval it waits for the one fetch scheduled at its end, shared
    /// with every other lookup waiting for it. A flood of random `kid`s
    /// thus costs the JWKS server at most one request per interval, and a
    /// key published at any time verifies within the interval plus one
    /// fetch; a forged token pays the same wait. Zero lets each such token
    /// fetch at once (still one fetch at a time).
    pub fn unknown_kid_interval(mut self, interval: Duration) -> Self {
        self.settings.unknown_kid_interval = interval;
        self
    }

    /// The most lookups that may wait for a fetch at once, per provider and
    /// its clones (default 10,000): tokens with unknown `kid`s waiting for
    /// the next fetch, and lookups waiting for keys while none are cached.
    /// One more gets [`KeySourceError::TooManyWaiting`](crate::error::KeySourceError::TooManyWaiting) at once (a 503 with
    /// `Retry-After`, never a sign-out). Must be more than zero.
    pub fn max_waiting_lookups(mut self, limit: usize) -> Self {
        self.settings.max_waiting_lookups = limit;
        self
    }

    /// While keys are cached, the least time between the start of a fetch
    /// that failed and the next attempt (default 30 s): past its TTL, the
    /// set keeps serving and is retried at this pace, and a token whose
    /// `kid` is not cached is *unavailable* at once until the next attempt
    /// (the key may have rotated in while the source was down). With
    /// nothing cached, [`failure_backoff`](Self::failure_backoff) paces
    /// attempts instead.
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.settings.retry_interval = interval;
        self
    }

    /// How long past its TTL the last good set keeps serving while
    /// refreshes fail (default 1 h). After that, lookups report the key
    /// source unavailable.
    pub fn stale_if_error(mut self, window: Duration) -> Self {
        self.settings.stale_if_error = window;
        self
    }

    /// With nothing cached, how long a failed fetch is remembered (default
    /// 1 s): lookups within it get the same error at once, the first one
    /// after it tries again.
    pub fn failure_backoff(mut self, backoff: Duration) -> Self {
        self.settings.failure_backoff = backoff;
        self
    }

    /// Binds every key this provider parses to `issuer`
    /// ([`VerifyingKey::with_issuer`](crate::keys::VerifyingKey::with_issuer)):
    /// a token these keys verify is valid only if its `iss` is exactly
    /// `issuer` (else invalid, claim *issuer*), whatever the verifier's own
    /// [`issuer`](crate::verify::VerifierBuilder::issuer) setting. The binding is
    /// applied where each fetched set is parsed, so a refresh that returns
    /// an unchanged key keeps its `Arc` (and the verified-token cache its
    /// tokens). [`IssuerKeyProvider`](crate::issuers::IssuerKeyProvider) binds each
    /// issuer's provider this way. Default: unbound.
    pub fn bind_issuer(mut self, issuer: &str) -> Self {
        self.issuer = Some(Arc::from(issuer));
        self
    }

    /// Checks the URLs (absolute, `http` or `https`, with a host, none
    /// listed twice) and the settings (non-zero timeout, body cap and
    /// waiting bound, `min_ttl` ≤ `max_ttl`, no duration over a year), and
    /// builds the client if none was given. Fetches nothing: the first
    /// lookup does.
    pub fn build(self) -> Result<JwksKeyProvider, ConfigError> {
        self.settings.validate()?;
        let first = match &self.target {
            Target::Url(url) => parse_url(url)?,
            Target::SuperTokens { api_domain } => supertokens_jwks_url(
                api_domain,
                self.api_base_path
                    .as_deref()
                    .unwrap_or(SUPERTOKENS_BASE_PATH),
            )?,
            Target::Discovery => return Err(setting("no JWKS URL")),
        };
        if self.api_base_path.is_some() && !matches!(self.target, Target::SuperTokens { .. }) {
            return Err(setting(
                "api_base_path applies only to JwksKeyProvider::for_supertokens",
            ));
        }
        let mut urls = vec![first];
        for raw in &self.also {
            let url = parse_url(raw)?;
            if urls.contains(&url) {
                return Err(ConfigError::Url {
                    url: raw.clone(),
                    reason: "listed twice".to_owned(),
                });
            }
            urls.push(url);
        }
        for url in &urls {
            if url.scheme() == "http" && !is_loopback(url) {
                tracing::warn!(
                    target: "ssr_session::jwks",
                    url = %url,
                    "JWKS URL uses plain http: anyone on the path can substitute keys"
                );
            }
        }
        let client = match self.client {
            Some(client) => client,
            None => fetch::default_client()?,
        };
        Ok(JwksKeyProvider::new(
            urls,
            client,
            self.issuer,
            self.settings,
        ))
    }
}

pub(crate) fn parse_url(raw: &str) -> Result<Url, ConfigError> {
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

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `{api_domain}{api_base_path}/jwt/jwks.json`, normalised as SuperTokens
/// does: no trailing `/` on the domain, the base path with one leading `/`
/// and none trailing (`""` and `/` mean no base path).
fn supertokens_jwks_url(api_domain: &str, api_base_path: &str) -> Result<Url, ConfigError> {
    let domain = parse_url(api_domain)?;
    if domain.path() != "/" || domain.query().is_some() || domain.fragment().is_some() {
        return Err(ConfigError::Url {
            url: api_domain.to_owned(),
            reason: "the API domain has a path, query or fragment; put a path in api_base_path"
                .to_owned(),
        });
    }
    let base = api_base_path.trim_matches('/');
    let origin = api_domain.trim_end_matches('/');
    let url = if base.is_empty() {
        format!("{origin}/jwt/jwks.json")
    } else {
        format!("{origin}/{base}/jwt/jwks.json")
    };
    parse_url(&url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supertokens_url_is_normalised() {
        let url = |domain, base| supertokens_jwks_url(domain, base).unwrap().to_string();
        assert_eq!(
            url("https://api.example.com", "/auth"),
            "https://api.example.com/auth/jwt/jwks.json"
        );
        assert_eq!(
            url("https://api.example.com/", "auth/"),
            "https://api.example.com/auth/jwt/jwks.json"
        );
        assert_eq!(
            url("http://localhost:3567", "/"),
            "http://localhost:3567/jwt/jwks.json"
        );
        assert_eq!(
            url("https://a.example", "/api/v1/auth"),
            "https://a.example/api/v1/auth/jwt/jwks.json"
        );
        assert!(supertokens_jwks_url("https://a.example/auth", "/auth").is_err());
        assert!(supertokens_jwks_url("api.example.com", "/auth").is_err());
    }

    #[test]
    fn urls_are_validated() {
        assert!(parse_url("https://example.com/jwks.json").is_ok());
        assert!(parse_url("http://127.0.0.1:8080/jwks.json").is_ok());
        for bad in [
            "ftp://example.com/jwks.json",
            "file:///etc/jwks.json",
            "/jwks.json",
            "https://",
        ] {
            assert!(
                matches!(parse_url(bad), Err(ConfigError::Url { .. })),
                "{bad}"
            );
        }
    }
}
