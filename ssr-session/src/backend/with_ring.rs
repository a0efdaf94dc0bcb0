//! ring: RSA, ECDSA and Ed25519 checks with ring's own assembly. ring keeps
//! no pre-parsed public keys, so a key is checked here once, at parse, with
//! the rules ring applies on each verification (the same words as
//! aws-lc-rs's refusals), and re-read by ring on each check.

#[cfg(feature = "testing")]
pub(crate) use ::ring as crypto;

use ::ring::signature::{self as sig, RsaPublicKeyComponents, UnparsedPublicKey};
use ::ring::{agreement, digest, hmac, rand};

use crate::algorithm::Algorithm;
use crate::error::KeyError;

/// A public key ready to check one algorithm's signatures.
pub(crate) struct PublicKey(Inner);

enum Inner {
    Rsa {
        params: &'static sig::RsaParameters,
        components: RsaPublicKeyComponents<Box<[u8]>>,
    },
    Point(UnparsedPublicKey<Box<[u8]>>),
}

impl PublicKey {
    /// An RSA key from its big-endian modulus and exponent (no leading zeros).
    pub(crate) fn rsa(alg: Algorithm, modulus: &[u8], exponent: &[u8]) -> Result<Self, KeyError> {
        super::rsa_checks::check_rsa(modulus, exponent)?;
        let params: &'static sig::RsaParameters = match alg {
            Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
            other => {
                return Err(KeyError::new(format!(
                    "{} does not fit this key type",
                    other.name()
                )));
            }
        };
        Ok(Self(Inner::Rsa {
            params,
            components: RsaPublicKeyComponents {
                n: modulus.into(),
                e: exponent.into(),
            },
        }))
    }

    /// An EC key from its uncompressed point, or an Ed25519 key from its 32 bytes.
    pub(crate) fn point(alg: Algorithm, bytes: &[u8]) -> Result<Self, KeyError> {
        let (verification, curve): (&'static dyn sig::VerificationAlgorithm, _) = match alg {
            Algorithm::ES256 => (&sig::ECDSA_P256_SHA256_FIXED, Some(&agreement::ECDH_P256)),
            Algorithm::ES384 => (&sig::ECDSA_P384_SHA384_FIXED, Some(&agreement::ECDH_P384)),
            Algorithm::EdDSA => (&sig::ED25519, None),
            other => {
                return Err(KeyError::new(format!(
                    "{} does not fit this key type",
                    other.name()
                )));
            }
        };
        if let Some(curve) = curve {
            check_point(curve, bytes)?;
        } else if bytes.len() != 32 {
            return Err(KeyError::new("key rejected: an Ed25519 key has 32 bytes"));
        }
        Ok(Self(Inner::Point(UnparsedPublicKey::new(
            verification,
            bytes.into(),
        ))))
    }

    /// `true` when `signature` over `message` is good.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.0 {
            Inner::Rsa { params, components } => {
                components.verify(params, message, signature).is_ok()
            }
            Inner::Point(key) => key.verify(message, signature).is_ok(),
        }
    }
}

/// Refuses a point off its curve at parse, as aws-lc-rs does. ring's only
/// public check of a bare EC public key is the one key agreement makes of
/// its peer's, so one throw-away agreement stands in for it (key sets are
/// parsed rarely: at start and on rotation).
fn check_point(curve: &'static agreement::Algorithm, point: &[u8]) -> Result<(), KeyError> {
    let refused = || KeyError::new("key rejected: not a point on the key's curve");
    let private = agreement::EphemeralPrivateKey::generate(curve, &rand::SystemRandom::new())
        .map_err(|_| KeyError::new("key rejected: no system randomness to check it"))?;
    let peer = agreement::UnparsedPublicKey::new(curve, point);
    agreement::agree_ephemeral(private, &peer, |_| ()).map_err(|_| refused())
}

/// An HMAC secret ready to check tags.
pub(crate) struct HmacKey(hmac::Key);

impl HmacKey {
    /// An HMAC-SHA256 key (the keyed hash of a span's `enduser.id`).
    pub(crate) fn sha256(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// `None` when `alg` is not an HMAC algorithm.
    pub(crate) fn new(alg: Algorithm, secret: &[u8]) -> Option<Self> {
        let hmac_alg = match alg {
            Algorithm::HS256 => hmac::HMAC_SHA256,
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            _ => return None,
        };
        Some(Self(hmac::Key::new(hmac_alg, secret)))
    }

    /// `true` when `tag` is the HMAC of `message` (compared in constant time).
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.0, message, tag).is_ok()
    }

    /// The HMAC of `message` (the keyed hash of a span's `enduser.id`).
    pub(crate) fn sign(&self, message: &[u8]) -> hmac::Tag {
        hmac::sign(&self.0, message)
    }
}

/// The rustls provider the JWKS client's TLS runs on.
pub(crate) fn tls_provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Key generation for the `testing` module. ring generates EC and Ed25519
/// keys but no RSA keys: RSA test keys come from a fixed pool of 2048-bit
/// keys, handed out in turn (see `testing::TestKey::generate`).
#[cfg(feature = "testing")]
pub(crate) mod keygen {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ring::rand::SystemRandom;
    use ring::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        EcdsaSigningAlgorithm, Ed25519KeyPair, RsaKeyPair,
    };

    /// PKCS#1 `RSAPrivateKey` DER RSA-2048 keys, one after the other (made once with
    /// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -outform DER`).
    const RSA_POOL: &[u8] = include_bytes!("rsa-2048-pool.der");

    static NEXT_RSA: AtomicUsize = AtomicUsize::new(0);

    /// The pool's next RSA-2048 key pair (distinct for the first keys a
    /// process asks for, as many as the pool holds; then in turn again).
    pub(crate) fn rsa() -> RsaKeyPair {
        let keys = pool();
        let key = keys[NEXT_RSA.fetch_add(1, Ordering::Relaxed) % keys.len()];
        RsaKeyPair::from_der(key).expect("the pool holds PKCS#1 RSA keys")
    }

    fn pool() -> Vec<&'static [u8]> {
        let mut keys = Vec::new();
        let mut rest = RSA_POOL;
        // Each key is one DER SEQUENCE with a two-byte long-form length (0x30 0x82 hi lo).
        while rest.len() >= 4 {
            let len = 4 + (usize::from(rest[2]) << 8 | usize::from(rest[3]));
            let (key, tail) = rest.split_at(len.min(rest.len()));
            keys.push(key);
            rest = tail;
        }
        keys
    }

    /// A fresh P-256 (`p384 == false`) or P-384 key pair.
    pub(crate) fn ec(p384: bool) -> EcdsaKeyPair {
        let alg: &'static EcdsaSigningAlgorithm = if p384 {
            &ECDSA_P384_SHA384_FIXED_SIGNING
        } else {
            &ECDSA_P256_SHA256_FIXED_SIGNING
        };
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("ECDSA keygen");
        EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("ring reads its own key")
    }

    /// A fresh Ed25519 key pair.
    pub(crate) fn ed25519() -> Ed25519KeyPair {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("Ed25519 keygen");
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("ring reads its own key")
    }

    #[cfg(test)]
    mod tests {
        use ring::signature::KeyPair as _;

        #[test]
        fn the_rsa_pool_holds_32_distinct_2048_bit_keys() {
            let keys = super::pool();
            assert_eq!(keys.len(), 32);
            let mut moduli: Vec<Vec<u8>> = keys
                .iter()
                .map(|der| {
                    let pair = super::RsaKeyPair::from_der(der).expect("PKCS#1 RSA key");
                    assert_eq!(pair.public().modulus_len(), 256);
                    pair.public_key().as_ref().to_vec()
                })
                .collect();
            moduli.sort();
            moduli.dedup();
            assert_eq!(moduli.len(), 32);
        }
    }
}
