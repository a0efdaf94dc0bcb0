//! One HTTP GET of a JSON document (a JWKS or an OpenID configuration):
//! a timeout around the whole exchange, a cap on the body, and the
//! freshness the answer's `Cache-Control` grants.

use std::time::Duration;

use reqwest::header::{ACCEPT, AGE, CACHE_CONTROL, HeaderMap};
use reqwest::{Client, redirect};
use url::Url;

use crate::error::{ConfigError, KeySourceError};

/// Redirects the default client follows before giving up.
pub(super) const MAX_REDIRECTS: usize = 3;

/// The limits of one fetch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) timeout: Duration,
    pub(super) max_body_bytes: usize,
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub(super) struct Fetched {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
    /// What `Cache-Control` grants, less the `Age` header: `None` when the
    /// answer names no (valid) `max-age`; zero for `no-store`/`no-cache`.
    pub(super) max_age: Option<Duration>,
}

/// GETs `url`. The timeout covers connecting, the headers and the whole
/// body, so a server that dribbles its answer times out too.
pub(super) async fn get(
    client: &Client,
    url: &Url,
    limits: Limits,
) -> Result<Fetched, KeySourceError> {
    match tokio::time::timeout(limits.timeout, exchange(client, url, limits)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(KeySourceError::Timeout {
            url: url.to_string(),
            timeout: limits.timeout,
        }),
    }
}

async fn exchange(client: &Client, url: &Url, limits: Limits) -> Result<Fetched, KeySourceError> {
    let fetch_error = |source| KeySourceError::Fetch {
        url: url.to_string(),
        source,
    };
    let too_large = || KeySourceError::TooLarge {
        url: url.to_string(),
        limit: limits.max_body_bytes,
    };
    let mut response = client
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(fetch_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(KeySourceError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let declared = response.content_length();
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return Err(too_large());
    }
    let max_age = max_age(response.headers());
    let capacity = declared.map_or(8 * 1024, |length| length as usize);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
        if chunk.len() > limits.max_body_bytes - body.len() {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        status: status.as_u16(),
        body,
        max_age,
    })
}

/// The freshness lifetime an answer grants: `max-age` (a private cache
/// ignores `s-maxage`) less `Age`; `no-store` and `no-cache` grant zero.
/// Directive names are case-insensitive; the first valid `max-age` counts;
/// an invalid one is ignored.
pub(super) fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    let mut forbidden = false;
    let directives = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for directive in directives {
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            forbidden = true;
        } else if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
            max_age = value.and_then(|value| value.parse::<u64>().ok());
        }
    }
    if forbidden {
        return Some(Duration::ZERO);
    }
    let age = headers
        .get(AGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    max_age.map(|seconds| Duration::from_secs(seconds.saturating_sub(age)))
}

/// The client built when the caller brings none: rustls on the crate's
/// crypto backend, at most [`MAX_REDIRECTS`] redirects, never from `https`
/// down to `http`.
pub(super) fn default_client() -> Result<Client, ConfigError> {
    let policy = redirect::Policy::custom(|attempt| {
        let downgrade = attempt.url().scheme() != "https"
            && attempt.previous().iter().any(|url| url.scheme() == "https");
        if downgrade {
            attempt.error("refused a redirect from https to http")
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    });
    client_builder()?
        .redirect(policy)
        .user_agent(concat!("ssr-session/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(ConfigError::Client)
}

/// A `reqwest` client builder whose TLS is rustls on the crate's crypto
/// backend (`aws-lc-rs` or `ring`), checking certificates against the
/// platform's roots as reqwest's own rustls client does: what
/// [`JwksKeyProviderBuilder::client`](super::JwksKeyProviderBuilder::client)
/// and [`IssuerKeyProviderBuilder::client`](crate::issuers::IssuerKeyProviderBuilder::client)
/// want when you bring a client of your own (reqwest's `Client::new()`
/// needs a rustls provider of its own).
///
/// ```
/// let client = ssr_session::jwks::client_builder()?
///     .user_agent("my-app")
///     .build()
///     .map_err(ssr_session::ConfigError::Client)?;
/// let keys = ssr_session::JwksKeyProvider::for_supertokens("https://api.example.com")
///     .client(client)
///     .build()?;
/// # drop(keys);
/// # Ok::<(), ssr_session::ConfigError>(())
/// ```
pub fn client_builder() -> Result<reqwest::ClientBuilder, ConfigError> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let tls_error = |error: rustls::Error| ConfigError::Tls(Box::new(error));
    let mut tls = rustls::ClientConfig::builder_with_provider(crate::backend::tls_provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_platform_verifier()
        .map_err(tls_error)?
        .with_no_client_auth();
    // What reqwest offers when it builds its own configuration (HTTP/2, then HTTP/1.1).
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Client::builder().tls_backend_preconfigured(tls))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn max_age_is_read_case_insensitively_and_quoted() {
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            max_age(&headers(&[("cache-control", "max-age=60")])),
            secs(60)
        );
        assert_eq!(
            max_age(&headers(&[(
                "cache-control",
                "public, Max-Age = \"120\", must-revalidate"
            )])),
            secs(120)
        );
        assert_eq!(
            max_age(&headers(&[
                ("cache-control", "s-maxage=5"),
                ("cache-control", "max-age=7")
            ])),
            secs(7)
        );
    }

    #[test]
    fn missing_or_invalid_max_age_grants_nothing() {
        assert_eq!(max_age(&headers(&[])), None);
        assert_eq!(max_age(&headers(&[("cache-control", "public")])), None);
        assert_eq!(
            max_age(&headers(&[("cache-control", "max-age=soon")])),
            None
        );
        assert_eq!(max_age(&headers(&[("cache-control", "max-age=-3")])), None);
    }

    #[test]
    fn no_store_grants_zero_and_age_is_subtracted() {
        assert_eq!(
            max_age(&headers(&[("cache-control", "no-store, max-age=60")])),
            Some(Duration::ZERO)
        );
        assert_eq!(
            max_age(&headers(&[("cache-control", "no-cache")])),
            Some(Duration::ZERO)
        );
        assert_eq!(
            max_age(&headers(&[("cache-control", "max-age=60"), ("age", "45")])),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            max_age(&headers(&[("cache-control", "max-age=60"), ("age", "90")])),
            Some(Duration::ZERO)
        );
    }
}
