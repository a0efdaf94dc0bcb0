//! OpenID Connect discovery ([`JwksKeyProvider::from_oidc_issuer`]): the
//! JWKS URL read from the issuer's configuration, then an ordinary build.

use super::builder::{JwksKeyProviderBuilder, Target, parse_url};
use super::{JwksKeyProvider, fetch};
use crate::error::{ConfigError, KeySourceError};

/// Why [`JwksKeyProvider::from_oidc_issuer`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer, the discovered `jwks_uri` or a setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The OpenID configuration could not be fetched, or is not a JSON
    /// object with string members `issuer` and `jwks_uri`
    /// ([`KeySourceError::Parse`]).
    #[error("OpenID discovery failed")]
    Source(#[from] KeySourceError),
    /// The configuration names another issuer than the one asked for
    /// (OpenID Connect Discovery §4.3 requires them to be identical).
    #[error("the OpenID configuration names issuer {found:?}, not {expected:?}")]
    IssuerMismatch {
        /// The issuer passed to `from_oidc_issuer`.
        expected: String,
        /// The `issuer` of the configuration.
        found: String,
    },
}

impl JwksKeyProvider {
    /// OpenID Connect discovery: fetches
    /// `{issuer}/.well-known/openid-configuration` (a trailing `/` of the
    /// issuer removed first), checks that its `issuer` is exactly `issuer`,
    /// and builds a provider for its `jwks_uri`. `configure` adjusts the
    /// builder (client, timeout, body cap, more URLs…) before the
    /// discovery request, which uses the same client, timeout and body cap;
    /// it is not counted by [`fetch_count`](Self::fetch_count).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use ssr_session::JwksKeyProvider;
    ///
    /// let keys = JwksKeyProvider::from_oidc_issuer("https://auth.example.com/auth", |builder| {
    ///     builder.timeout(Duration::from_secs(2))
    /// })
    /// .await?;
    /// assert_eq!(keys.urls().len(), 1);
    /// # Ok(()) }
    /// ```
    pub async fn from_oidc_issuer(
        issuer: &str,
        configure: impl FnOnce(JwksKeyProviderBuilder) -> JwksKeyProviderBuilder,
    ) -> Result<Self, DiscoveryError> {
        discover(issuer, configure).await
    }
}

/// Runs OpenID discovery for `issuer` and builds with the `jwks_uri`
/// found. See [`JwksKeyProvider::from_oidc_issuer`].
async fn discover(
    issuer: &str,
    configure: impl FnOnce(JwksKeyProviderBuilder) -> JwksKeyProviderBuilder,
) -> Result<JwksKeyProvider, DiscoveryError> {
    #[derive(serde::Deserialize)]
    struct Configuration {
        issuer: String,
        jwks_uri: String,
    }
    parse_url(issuer)?;
    let discovery_url = parse_url(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))?;
    let mut builder = configure(JwksKeyProviderBuilder::new(Target::Discovery));
    builder.settings.validate()?;
    let client = match &builder.client {
        Some(client) => client.clone(),
        None => fetch::default_client()?,
    };
    builder.client = Some(client.clone());
    let fetched = fetch::get(&client, &discovery_url, builder.settings.limits()).await?;
    let configuration: Configuration =
        serde_json::from_slice(&fetched.body).map_err(|source| KeySourceError::Parse {
            url: discovery_url.to_string(),
            expected: "an OpenID configuration",
            source,
        })?;
    if configuration.issuer != issuer {
        return Err(DiscoveryError::IssuerMismatch {
            expected: issuer.to_owned(),
            found: configuration.issuer,
        });
    }
    tracing::debug!(
        target: "ssr_session::jwks",
        issuer,
        jwks_uri = %configuration.jwks_uri,
        "discovered the JWKS URL"
    );
    builder.target = Target::Url(configuration.jwks_uri);
    Ok(builder.build()?)
}
