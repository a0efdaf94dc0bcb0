//! JWK (RFC 7517) members into [`VerifyingKey`]s.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};

use super::VerifyingKey;
use crate::algorithm::Algorithm;
use crate::error::KeyError;

impl VerifyingKey {
    /// A public key from one JWK (RFC 7517). The JWK's `alg`, `use` and
    /// `key_ops` are honoured; symmetric (`oct`) keys are refused.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        if let Some(key_use) = &jwk.common.public_key_use
            && *key_use != PublicKeyUse::Signature
        {
            return Err(KeyError::new("key `use` is not `sig`"));
        }
        if let Some(ops) = &jwk.common.key_operations
            && !ops.contains(&KeyOperations::Verify)
        {
            return Err(KeyError::new("key `key_ops` lacks `verify`"));
        }
        let declared = match jwk.common.key_algorithm {
            None => None,
            Some(alg) => Some(
                key_algorithm_to_signing(alg)
                    .ok_or_else(|| KeyError::new("key `alg` is not a signature algorithm"))?,
            ),
        };
        let key = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => {
                let n = decode_b64(&rsa.n, "n")?;
                let e = decode_b64(&rsa.e, "e")?;
                let algs = declared.map(|a| vec![a]).unwrap_or_default();
                Self::from_rsa_components(&n, &e, &algs)?
            }
            AlgorithmParameters::EllipticCurve(ec) => {
                let size = match ec.curve {
                    EllipticCurve::P256 => 32,
                    EllipticCurve::P384 => 48,
                    _ => return Err(KeyError::new("unsupported EC curve")),
                };
                let (x, y) = (decode_b64(&ec.x, "x")?, decode_b64(&ec.y, "y")?);
                if x.len() != size || y.len() != size {
                    return Err(KeyError::new("EC coordinates of the wrong length"));
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Self::from_ec_point(&point)?
            }
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
                Self::from_ed25519(&decode_b64(&okp.x, "x")?)?
            }
            AlgorithmParameters::OctetKeyPair(_) => {
                return Err(KeyError::new("unsupported OKP curve"));
            }
            AlgorithmParameters::OctetKey(_) => {
                return Err(KeyError::new(
                    "symmetric (`oct`) keys are not accepted from a key set",
                ));
            }
            _ => return Err(KeyError::new("unsupported key type")),
        };
        let key = match declared {
            Some(alg) if !key.algorithms.contains(alg) => {
                return Err(KeyError::new(format!(
                    "key `alg` {} does not fit its key type",
                    alg.name()
                )));
            }
            Some(alg) => key.restricted_to(&[alg]),
            None => key,
        };
        Ok(key.with_kid(jwk.common.key_id.clone()))
    }
}

fn key_algorithm_to_signing(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

fn decode_b64(value: &str, field: &str) -> Result<Vec<u8>, KeyError> {
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| KeyError::new(format!("JWK member `{field}` is not base64url")))
}

/// SHA-256 of a JWK member as parsed, so that a refreshed set recognises
/// an unchanged key.
pub(super) fn jwk_digest(member: &serde_json::Value) -> [u8; 32] {
    let canonical = serde_json::to_vec(member).unwrap_or_default();
    crate::backend::sha256(&canonical)
}
