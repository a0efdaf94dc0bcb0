//! [`KeySet`]: verification keys and the rules that pick one for a token.

use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;

use super::jwk::jwk_digest;
use super::{KeyLookupError, VerifyingKey};
use crate::algorithm::Algorithm;
use crate::error::KeyError;

/// What a key set gives for one token's `kid` and `alg`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySelection {
    /// Exactly one key fits.
    Found(Arc<VerifyingKey>),
    /// No key has this `kid` (or, for a token without `kid`, no key fits its `alg`).
    Unknown,
    /// Keys with this `kid` exist, but none may verify the token's `alg`.
    AlgorithmMismatch,
    /// More than one key fits: fail closed.
    Ambiguous,
}

/// A set of verification keys, with the rules that pick one for a token.
///
/// Candidates are the keys whose `kid` equals the token's `kid` exactly
/// (case-sensitive) and that may verify the token's `alg`. Exactly one
/// candidate is required. A token without `kid` uses the set's single key
/// for its `alg`, if there is exactly one; a key without `kid` never matches
/// a token that names one.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Arc<VerifyingKey>>,
}

impl KeySet {
    /// A set of the given keys.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            keys: keys.into_iter().map(Arc::new).collect(),
        }
    }

    /// Parses a JWKS document (`{"keys":[…]}`). Members that are broken or
    /// unsupported (other key types, `use` other than `sig`, `key_ops`
    /// without `verify`, RSA under 2048 bits, symmetric keys) are skipped
    /// with a warning, as RFC 7517 §5 asks; only a document that is not a
    /// JWKS at all is an error.
    pub fn from_jwks_json(json: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        Self::from_jwks_json_reusing(json.as_ref(), None)
            .map_err(|e| KeyError::new(format!("not a JWKS document: {e}")))
    }

    /// The set a newer JWKS document gives, keeping this set's `Arc` for
    /// every member that did not change, so that the verified-token cache
    /// keeps the tokens those keys verified (see
    /// [`KeyProvider`](crate::KeyProvider)). Errors as
    /// [`KeySet::from_jwks_json`].
    pub fn update_from_jwks_json(&self, json: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        Self::from_jwks_json_reusing(json.as_ref(), Some(self))
            .map_err(|e| KeyError::new(format!("not a JWKS document: {e}")))
    }

    /// Like [`KeySet::from_jwks_json`], but a member identical to one of
    /// `previous`'s keeps that key's `Arc`. Identity matters: the
    /// verified-token cache drops a token as soon as its key's `Arc` is
    /// gone, so a refresh that returns the same keys must not look like a
    /// rotation.
    pub(crate) fn from_jwks_json_reusing(
        json: &[u8],
        previous: Option<&KeySet>,
    ) -> Result<Self, serde_json::Error> {
        Self::from_jwks_json_bound(json, previous, None)
    }

    /// Like [`KeySet::from_jwks_json_reusing`], every key bound to
    /// `issuer` ([`VerifyingKey::with_issuer`]) when one is given. A key of
    /// `previous` is reused only if it is bound to the same issuer, so the
    /// binding holds whatever `previous` is.
    pub(crate) fn from_jwks_json_bound(
        json: &[u8],
        previous: Option<&KeySet>,
        issuer: Option<&Arc<str>>,
    ) -> Result<Self, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_slice(json)?;
        let mut keys = Vec::with_capacity(document.keys.len());
        for (index, member) in document.keys.into_iter().enumerate() {
            let digest = jwk_digest(&member);
            let known = previous.and_then(|set| {
                set.keys.iter().find(|key| {
                    key.jwk_digest == Some(digest) && key.issuer() == issuer.map(|i| &**i)
                })
            });
            if let Some(known) = known {
                keys.push(known.clone());
                continue;
            }
            let parsed = serde_json::from_value::<Jwk>(member)
                .map_err(|e| KeyError::new(format!("not a JWK: {e}")))
                .and_then(|jwk| VerifyingKey::from_jwk(&jwk));
            match parsed {
                Ok(mut key) => {
                    key.jwk_digest = Some(digest);
                    if let Some(issuer) = issuer {
                        key = key.with_issuer(issuer.clone());
                    }
                    keys.push(Arc::new(key));
                }
                Err(error) => tracing::warn!(
                    target: "ssr_session::keys",
                    index,
                    %error,
                    "skipping a key of the key set"
                ),
            }
        }
        Ok(Self { keys })
    }

    /// Adds the keys of `other` (several JWKS URLs combined).
    pub fn extend(&mut self, other: &KeySet) {
        self.keys.extend(other.keys.iter().cloned());
    }

    /// The keys.
    pub fn keys(&self) -> &[Arc<VerifyingKey>] {
        &self.keys
    }

    /// `true` when the set holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `true` when some key carries this exact `kid`.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| key.kid() == Some(kid))
    }

    /// Picks the key for a token's `kid` and `alg`.
    pub fn select(&self, kid: Option<&str>, alg: Algorithm) -> KeySelection {
        let mut found: Option<&Arc<VerifyingKey>> = None;
        let mut named = false;
        for key in &self.keys {
            if let Some(kid) = kid {
                if key.kid() != Some(kid) {
                    continue;
                }
                named = true;
            }
            if !key.allows(alg) {
                continue;
            }
            if found.is_some() {
                return KeySelection::Ambiguous;
            }
            found = Some(key);
        }
        match found {
            Some(key) => KeySelection::Found(key.clone()),
            None if named => KeySelection::AlgorithmMismatch,
            None => KeySelection::Unknown,
        }
    }
}

impl From<KeySelection> for Result<Arc<VerifyingKey>, KeyLookupError> {
    fn from(selection: KeySelection) -> Self {
        match selection {
            KeySelection::Found(key) => Ok(key),
            KeySelection::Unknown => Err(KeyLookupError::UnknownKey),
            KeySelection::AlgorithmMismatch => Err(KeyLookupError::AlgorithmMismatch),
            KeySelection::Ambiguous => Err(KeyLookupError::Ambiguous),
        }
    }
}

impl KeySelection {
    /// The selection as a provider's answer.
    pub fn into_result(self) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_member_keeps_its_arc_across_refreshes() {
        let jwk = |kid: &str| {
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
        };
        let first = serde_json::json!({"keys": [jwk("a"), jwk("b")]}).to_string();
        let second = serde_json::json!({"keys": [jwk("b"), jwk("c")]}).to_string();
        let old = KeySet::from_jwks_json(&first).unwrap();
        let new = KeySet::from_jwks_json_reusing(second.as_bytes(), Some(&old)).unwrap();
        assert!(Arc::ptr_eq(&old.keys()[1], &new.keys()[0]));
        assert!(!Arc::ptr_eq(&old.keys()[0], &new.keys()[1]));
    }

    #[test]
    fn bound_keys_carry_their_issuer_and_are_reused_only_for_it() {
        let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": "a",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let doc = serde_json::json!({"keys": [jwk]}).to_string();
        let a: Arc<str> = Arc::from("https://a.example");
        let b: Arc<str> = Arc::from("https://b.example");
        let first = KeySet::from_jwks_json_bound(doc.as_bytes(), None, Some(&a)).unwrap();
        assert_eq!(first.keys()[0].issuer(), Some("https://a.example"));
        let again = KeySet::from_jwks_json_bound(doc.as_bytes(), Some(&first), Some(&a)).unwrap();
        assert!(Arc::ptr_eq(&first.keys()[0], &again.keys()[0]));
        let other = KeySet::from_jwks_json_bound(doc.as_bytes(), Some(&first), Some(&b)).unwrap();
        assert!(!Arc::ptr_eq(&first.keys()[0], &other.keys()[0]));
        assert_eq!(other.keys()[0].issuer(), Some("https://b.example"));
        let unbound = KeySet::from_jwks_json_reusing(doc.as_bytes(), Some(&first)).unwrap();
        assert_eq!(unbound.keys()[0].issuer(), None);
    }
}
