//! The allow-list: which `iss` values an [`IssuerKeyProvider`](super::IssuerKeyProvider)
//! accepts (exact issuers, and templates with a `{tenant}`), checked when
//! the provider is built and matched, without a request, on every lookup.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ConfigError;
use crate::jwks::parse_url;

/// The placeholder an issuer template (and its JWKS URL template) holds.
pub const TENANT_PLACEHOLDER: &str = "{tenant}";

/// Where an allowed issuer's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssuerKeys {
    /// OpenID Connect discovery: `{issuer}/.well-known/openid-configuration`
    /// names the `jwks_uri` (and must name the issuer itself), as
    /// [`JwksKeyProvider::from_oidc_issuer`](crate::JwksKeyProvider::from_oidc_issuer) does.
    Discovery,
    /// This JWKS URL. For an [issuer template](super::IssuerKeyProviderBuilder::issuer_template)
    /// it may hold `{tenant}`, replaced by the token's tenant.
    JwksUrl(String),
}

/// The accepted issuers, checked.
pub(super) struct AllowList {
    pub(super) exact: HashMap<Arc<str>, IssuerKeys>,
    pub(super) templates: Vec<Template>,
    max_tenant_len: usize,
}

/// An issuer template, split around its placeholder.
#[derive(Debug, Clone)]
pub(super) struct Template {
    pub(super) raw: String,
    prefix: String,
    suffix: String,
    keys: IssuerKeys,
}

/// What an allowed `iss` maps to.
pub(super) struct Allowed<'a> {
    pub(super) keys: &'a IssuerKeys,
    /// The tenant, for an issuer from a template.
    pub(super) tenant: Option<&'a str>,
}

impl AllowList {
    /// Checks the issuers (absolute `http`/`https` URLs, none twice), the
    /// templates (one `{tenant}`, in a path or in a host's first label
    /// under a domain of at least two labels) and their JWKS URLs.
    pub(super) fn new(
        exact: Vec<(String, IssuerKeys)>,
        templates: Vec<(String, IssuerKeys)>,
        max_tenant_len: usize,
    ) -> Result<Self, ConfigError> {
        let mut checked = HashMap::new();
        for (issuer, keys) in exact {
            parse_url(&issuer)?;
            check_keys(&keys, false)?;
            if checked.insert(Arc::from(issuer.as_str()), keys).is_some() {
                return Err(ConfigError::Url {
                    url: issuer,
                    reason: "listed twice".to_owned(),
                });
            }
        }
        let templates = templates
            .into_iter()
            .map(|(raw, keys)| parse_template(raw, keys))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            exact: checked,
            templates,
            max_tenant_len,
        })
    }

    /// The allow-list's answer for `issuer`: exact issuers first, then the
    /// templates in the order given.
    pub(super) fn allowed<'a>(&'a self, issuer: &'a str) -> Option<Allowed<'a>> {
        if let Some(keys) = self.exact.get(issuer) {
            return Some(Allowed { keys, tenant: None });
        }
        self.templates.iter().find_map(|template| {
            let tenant = issuer
                .strip_prefix(&*template.prefix)?
                .strip_suffix(&*template.suffix)?;
            valid_tenant(tenant, self.max_tenant_len).then_some(Allowed {
                keys: &template.keys,
                tenant: Some(tenant),
            })
        })
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
        parse_url(&url.replace(TENANT_PLACEHOLDER, "tenant"))?;
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
    parse_url(&raw.replace(TENANT_PLACEHOLDER, "tenant"))?;
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

    fn template(template: &str) -> Result<AllowList, ConfigError> {
        template_with_keys(template, IssuerKeys::Discovery)
    }

    fn template_with_keys(template: &str, keys: IssuerKeys) -> Result<AllowList, ConfigError> {
        AllowList::new(Vec::new(), vec![(template.to_owned(), keys)], 64)
    }

    impl AllowList {
        fn allows(&self, issuer: &str) -> bool {
            self.allowed(issuer).is_some()
        }
    }

    #[test]
    fn tenants_are_restricted_to_a_safe_set() {
        let keys = template("https://login.example.com/{tenant}/v2.0").unwrap();
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
        assert!(template("https://{tenant}.auth.example.com").is_ok());
        assert!(template("https://login.example.com/{tenant}").is_ok());
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
                matches!(template(bad), Err(ConfigError::Url { .. })),
                "{bad} was accepted"
            );
        }
        let jwks_template = |url: &str| {
            template_with_keys(
                "https://login.example.com/{tenant}",
                IssuerKeys::JwksUrl(url.into()),
            )
        };
        assert!(jwks_template("https://keys.example.com/{tenant}/jwks.json").is_ok());
        assert!(jwks_template("https://{tenant}/jwks.json").is_err());
        let exact_with_placeholder = AllowList::new(
            vec![(
                "https://a.example.com".to_owned(),
                IssuerKeys::JwksUrl("https://a.example.com/{tenant}".into()),
            )],
            Vec::new(),
            64,
        );
        assert!(exact_with_placeholder.is_err());
    }

    #[test]
    fn exact_issuers_match_byte_for_byte() {
        let exact = |issuer: &str| (issuer.to_owned(), IssuerKeys::Discovery);
        let keys =
            AllowList::new(vec![exact("https://a.example.com/auth")], Vec::new(), 64).unwrap();
        assert!(keys.allows("https://a.example.com/auth"));
        assert!(!keys.allows("https://a.example.com/auth/"));
        assert!(!keys.allows("https://A.example.com/auth"));
        assert!(!keys.allows(""));
        let twice = vec![
            exact("https://a.example.com"),
            exact("https://a.example.com"),
        ];
        assert!(matches!(
            AllowList::new(twice, Vec::new(), 64),
            Err(ConfigError::Url { .. })
        ));
    }
}
