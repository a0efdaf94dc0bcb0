//! [`StaticKeys`]: a key provider that never fetches.

use std::sync::Arc;

use async_trait::async_trait;

use super::{KeyLookupError, KeyProvider, KeyRequest, KeySet, VerifyingKey};
use crate::algorithm::Algorithm;
use crate::error::KeyError;

/// Keys known up front: from a JWKS document, PEM public keys, or
/// (explicitly) a symmetric secret. Never fetches anything.
#[derive(Debug, Clone, Default)]
pub struct StaticKeys {
    set: KeySet,
}

impl StaticKeys {
    /// Keys from a JWKS JSON document (unsupported members skipped).
    pub fn from_jwks_json(json: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        KeySet::from_jwks_json(json).map(|set| Self { set })
    }

    /// One public key from PEM, named by `kid` (or none).
    pub fn from_pem(kid: Option<&str>, pem: &str) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_pem(pem)?.with_kid(kid.map(str::to_owned));
        Ok(Self::from_keys([key]))
    }

    /// A shared HMAC secret: anyone who holds it can mint tokens, so use it
    /// only where your own server signs the tokens.
    pub fn from_symmetric_secret(
        kid: Option<&str>,
        secret: &[u8],
        alg: Algorithm,
    ) -> Result<Self, KeyError> {
        let key =
            VerifyingKey::from_symmetric_secret(secret, alg)?.with_kid(kid.map(str::to_owned));
        Ok(Self::from_keys([key]))
    }

    /// Keys you built yourself.
    pub fn from_keys(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            set: KeySet::new(keys),
        }
    }

    /// The key set.
    pub fn key_set(&self) -> &KeySet {
        &self.set
    }
}

#[async_trait]
impl KeyProvider for StaticKeys {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        self.set
            .select(request.kid, request.algorithm)
            .into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_rsa_keys_are_refused() {
        let error = VerifyingKey::from_rsa_components(&[0xff; 128], &[1, 0, 1], &[]).unwrap_err();
        assert!(error.to_string().contains("1024 bits"), "{error}");
    }

    #[test]
    fn short_hmac_secrets_and_non_hmac_algorithms_are_refused() {
        assert!(VerifyingKey::from_symmetric_secret(&[1; 16], Algorithm::HS256).is_err());
        assert!(VerifyingKey::from_symmetric_secret(&[1; 32], Algorithm::RS256).is_err());
        assert!(VerifyingKey::from_symmetric_secret(&[1; 32], Algorithm::HS256).is_ok());
    }

    #[test]
    fn jwks_errors_agree() {
        let garbage = "{not json";
        let from_keys = StaticKeys::from_jwks_json(garbage).unwrap_err();
        let from_set = KeySet::from_jwks_json(garbage).unwrap_err();
        assert_eq!(from_keys, from_set);
    }
}
