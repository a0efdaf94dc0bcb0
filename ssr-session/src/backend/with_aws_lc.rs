//! aws-lc-rs: RSA, ECDSA and Ed25519 keys parsed once into their
//! verification form (`ParsedPublicKey`), so a check does no key parsing.

#[cfg(feature = "testing")]
pub(crate) use aws_lc_rs as crypto;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use aws_lc_rs::{digest, hmac};

use crate::algorithm::Algorithm;
use crate::error::KeyError;
use crate::keys::der::rsa_public_key_der;

/// A public key ready to check one algorithm's signatures.
pub(crate) struct PublicKey(ParsedPublicKey);

impl PublicKey {
    /// An RSA key from its big-endian modulus and exponent (no leading zeros).
    pub(crate) fn rsa(alg: Algorithm, modulus: &[u8], exponent: &[u8]) -> Result<Self, KeyError> {
        super::rsa_checks::check_rsa(modulus, exponent)?;
        Self::parse(alg, &rsa_public_key_der(modulus, exponent))
    }

    /// An EC key from its uncompressed point, or an Ed25519 key from its 32 bytes.
    pub(crate) fn point(alg: Algorithm, bytes: &[u8]) -> Result<Self, KeyError> {
        Self::parse(alg, bytes)
    }

    fn parse(alg: Algorithm, bytes: &[u8]) -> Result<Self, KeyError> {
        ParsedPublicKey::new(verification(alg), bytes)
            .map(Self)
            .map_err(|e| KeyError::new(format!("key rejected: {e}")))
    }

    /// `true` when `signature` over `message` is good.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify_sig(message, signature).is_ok()
    }
}

fn verification(alg: Algorithm) -> &'static dyn VerificationAlgorithm {
    match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        // HMAC keys never come here (`HmacKey`); Ed25519 refuses their bytes anyway.
        Algorithm::EdDSA | Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => &sig::ED25519,
    }
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
    std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Key generation for the `testing` module (ring cannot generate RSA keys,
/// so each backend says how it gets its test keys).
#[cfg(feature = "testing")]
pub(crate) mod keygen {
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        EcdsaSigningAlgorithm, Ed25519KeyPair, RsaKeyPair,
    };

    /// A fresh RSA-2048 key pair.
    pub(crate) fn rsa() -> RsaKeyPair {
        RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA keygen")
    }

    /// A fresh P-256 (`p384 == false`) or P-384 key pair.
    pub(crate) fn ec(p384: bool) -> EcdsaKeyPair {
        let alg: &'static EcdsaSigningAlgorithm = if p384 {
            &ECDSA_P384_SHA384_FIXED_SIGNING
        } else {
            &ECDSA_P256_SHA256_FIXED_SIGNING
        };
        EcdsaKeyPair::generate(alg).expect("ECDSA keygen")
    }

    /// A fresh Ed25519 key pair.
    pub(crate) fn ed25519() -> Ed25519KeyPair {
        Ed25519KeyPair::generate().expect("Ed25519 keygen")
    }
}
