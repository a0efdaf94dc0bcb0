//! [`VerifyingKey`]: a public key (or, explicitly, a shared secret) parsed
//! once, with the algorithms it may verify.

use std::fmt;
use std::sync::Arc;

use super::der::{SpkiKey, parse_rsa_public_key_der, parse_spki, pem_block, strip_leading_zeros};
use crate::algorithm::{Algorithm, AlgorithmSet, KeyKind};
use crate::backend;
use crate::error::KeyError;

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = backend::MIN_RSA_BITS;

/// A public key (or, explicitly, a shared secret) ready to verify
/// signatures, with the algorithms it may verify.
///
/// The algorithms are decided by the key, never by the token: a JWK's
/// `alg`, or without one its type (`RSA` → RS256/384/512 and PS256/384/512,
/// EC P-256 → ES256, P-384 → ES384, OKP Ed25519 → EdDSA). Public keys never
/// verify HMAC algorithms; only [`VerifyingKey::from_symmetric_secret`]
/// does. Keys are parsed once, so verification does no key parsing.
pub struct VerifyingKey {
    kid: Option<String>,
    /// SHA-256 of the JWK member it came from, so that a refreshed key set
    /// can keep the very same `Arc` for an unchanged key.
    pub(super) jwk_digest: Option<[u8; 32]>,
    /// The issuer this key speaks for, when a provider binds it to one.
    issuer: Option<Arc<str>>,
    pub(super) algorithms: AlgorithmSet,
    verifiers: Vec<(Algorithm, Material)>,
}

enum Material {
    Public(backend::PublicKey),
    Hmac(Box<backend::HmacKey>),
}

impl VerifyingKey {
    /// An RSA public key from its big-endian modulus and exponent.
    /// `algorithms` empty means every RSA algorithm.
    pub fn from_rsa_components(
        modulus: &[u8],
        exponent: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<Self, KeyError> {
        let (modulus, exponent) = (strip_leading_zeros(modulus), strip_leading_zeros(exponent));
        backend::check_rsa(modulus, exponent)?;
        let family: Vec<Algorithm> = Algorithm::of_kind(KeyKind::Rsa).iter().collect();
        let wanted = if algorithms.is_empty() {
            &family[..]
        } else {
            algorithms
        };
        Self::from_public(wanted, KeyKind::Rsa, |alg| {
            backend::PublicKey::rsa(alg, modulus, exponent)
        })
    }

    /// An EC public key from its uncompressed point (`04 || x || y`);
    /// P-256 verifies ES256, P-384 verifies ES384.
    pub fn from_ec_point(point: &[u8]) -> Result<Self, KeyError> {
        let alg = match point.len() {
            65 => Algorithm::ES256,
            97 => Algorithm::ES384,
            n => {
                return Err(KeyError::new(format!(
                    "EC point of {n} bytes is not P-256 or P-384"
                )));
            }
        };
        Self::from_public(&[alg], alg.key_kind(), |alg| {
            backend::PublicKey::point(alg, point)
        })
    }

    /// An Ed25519 public key (32 bytes), verifying EdDSA.
    pub fn from_ed25519(public_key: &[u8]) -> Result<Self, KeyError> {
        if public_key.len() != 32 {
            return Err(KeyError::new("an Ed25519 public key has 32 bytes"));
        }
        Self::from_public(&[Algorithm::EdDSA], KeyKind::Ed25519, |alg| {
            backend::PublicKey::point(alg, public_key)
        })
    }

    /// A public key from PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`): RSA, EC
    /// P-256/P-384 or Ed25519.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let unsupported =
            || KeyError::new("PEM is not an RSA, EC (P-256/P-384) or Ed25519 public key");
        let malformed_rsa = || KeyError::new("malformed RSA public key");
        let (label, der) = pem_block(pem).ok_or_else(unsupported)?;
        let rsa = |pkcs1: &[u8]| {
            let (n, e) = parse_rsa_public_key_der(pkcs1).ok_or_else(malformed_rsa)?;
            Self::from_rsa_components(n, e, &[])
        };
        match label {
            "RSA PUBLIC KEY" => rsa(&der),
            "PUBLIC KEY" => match parse_spki(&der).ok_or_else(unsupported)? {
                SpkiKey::Rsa(pkcs1) => rsa(pkcs1),
                SpkiKey::Ec(point, size) if point.len() == 1 + 2 * size => {
                    Self::from_ec_point(point)
                }
                SpkiKey::Ec(..) => Err(KeyError::new("EC point does not fit its named curve")),
                SpkiKey::Ed25519(key) => Self::from_ed25519(key),
            },
            _ => Err(unsupported()),
        }
    }

    /// A shared secret for HMAC (`HS256`/`HS384`/`HS512`), for apps that sign
    /// their tokens with a symmetric key. Named so that it is never chosen
    /// by accident: anyone holding the secret can mint tokens.
    pub fn from_symmetric_secret(secret: &[u8], alg: Algorithm) -> Result<Self, KeyError> {
        let Some(hmac_key) = backend::HmacKey::new(alg, secret) else {
            return Err(KeyError::new(format!(
                "{} is not an HMAC algorithm",
                alg.name()
            )));
        };
        if secret.len() < 32 {
            return Err(KeyError::new("an HMAC secret needs at least 32 bytes"));
        }
        Ok(Self {
            kid: None,
            jwk_digest: None,
            issuer: None,
            algorithms: [alg].into_iter().collect(),
            verifiers: vec![(alg, Material::Hmac(Box::new(hmac_key)))],
        })
    }

    fn from_public(
        wanted: &[Algorithm],
        kind: KeyKind,
        parse: impl Fn(Algorithm) -> Result<backend::PublicKey, KeyError>,
    ) -> Result<Self, KeyError> {
        let mut verifiers = Vec::with_capacity(wanted.len());
        let mut algorithms = AlgorithmSet::empty();
        for &alg in wanted {
            if alg.key_kind() != kind {
                return Err(KeyError::new(format!(
                    "{} does not fit this key type",
                    alg.name()
                )));
            }
            verifiers.push((alg, Material::Public(parse(alg)?)));
            algorithms.insert(alg);
        }
        Ok(Self {
            kid: None,
            jwk_digest: None,
            issuer: None,
            algorithms,
            verifiers,
        })
    }

    /// Sets the key id (`kid`) tokens name this key by.
    pub fn with_kid(mut self, kid: Option<String>) -> Self {
        self.kid = kid;
        self
    }

    /// Binds the key to one issuer: a token it verifies is valid only if
    /// its `iss` is exactly `issuer` (a provider over several issuers uses
    /// this so that one issuer's key can never vouch for another's token).
    pub fn with_issuer(mut self, issuer: impl Into<Arc<str>>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The issuer the key is bound to, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Narrows the algorithms this key may verify to those also in `algorithms`.
    pub fn restricted_to(mut self, algorithms: &[Algorithm]) -> Self {
        self.verifiers.retain(|(alg, _)| algorithms.contains(alg));
        self.algorithms = self.verifiers.iter().map(|(alg, _)| *alg).collect();
        self
    }

    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithms this key may verify.
    pub fn algorithms(&self) -> AlgorithmSet {
        self.algorithms
    }

    /// `true` when this key may verify `alg`.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(alg)
    }

    /// Checks `signature` over `message` with `alg`; `false` when the
    /// signature is wrong or the key may not verify `alg`.
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        let Some((_, material)) = self.verifiers.iter().find(|(a, _)| *a == alg) else {
            return false;
        };
        match material {
            Material::Public(key) => key.verify(message, signature),
            Material::Hmac(key) => key.verify(message, signature),
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod refused_at_parse {
    use crate::keys::VerifyingKey;

    fn refusal(result: Result<VerifyingKey, crate::error::KeyError>) -> String {
        result.expect_err("the key must be refused").to_string()
    }

    #[test]
    fn rsa_keys_outside_2048_to_8192_bits_are_refused_at_parse() {
        let small = refusal(VerifyingKey::from_rsa_components(
            &[0xff; 128],
            &[1, 0, 1],
            &[],
        ));
        assert!(small.contains("1024 bits"), "{small}");
        let large = refusal(VerifyingKey::from_rsa_components(
            &[0xff; 1025],
            &[1, 0, 1],
            &[],
        ));
        assert!(large.contains("maximum 8192"), "{large}");
    }

    #[test]
    fn rsa_moduli_and_exponents_ring_would_refuse_are_refused_by_both_backends() {
        let mut even = vec![0xff; 256];
        even[255] = 0xfe;
        let even = refusal(VerifyingKey::from_rsa_components(&even, &[1, 0, 1], &[]));
        assert!(even.contains("even"), "{even}");
        for exponent in [&[1][..], &[2], &[1, 0, 0, 0, 0, 1]] {
            let refused = refusal(VerifyingKey::from_rsa_components(
                &[0xff; 256],
                exponent,
                &[],
            ));
            assert!(refused.contains("exponent"), "{exponent:?}: {refused}");
        }
    }

    #[test]
    fn ec_points_off_their_curve_and_p521_are_refused_at_parse() {
        let mut off_curve = vec![4];
        off_curve.extend_from_slice(&[1; 64]);
        let refused = refusal(VerifyingKey::from_ec_point(&off_curve));
        assert!(refused.contains("key rejected"), "{refused}");
        let p521 = refusal(VerifyingKey::from_ec_point(&[4; 133]));
        assert!(p521.contains("not P-256 or P-384"), "{p521}");
    }
}
