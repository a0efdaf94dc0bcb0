//! [`TestKey`]: signing keys of every algorithm, their public forms (JWK,
//! PEM, DER, raw) and their JWKS document.

use std::fmt;
use std::sync::Arc;

use crate::backend::crypto::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair,
};
use crate::backend::crypto::{hmac, rand};
use crate::backend::keygen;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{alg_value, b64url, random_bytes};
use crate::keys::{Algorithm, der};

/// A signing key for tests, with its `kid` and the algorithm it was generated for.
///
/// Cheap to clone (the key material is shared). `Debug` shows only the `kid`, the algorithm
/// and the key type, never private material.
#[derive(Clone)]
pub struct TestKey {
    kid: String,
    inner: Arc<Inner>,
}

struct Inner {
    algorithm: Algorithm,
    material: Material,
}

enum Material {
    /// The key pair and its public modulus and exponent (big-endian, no leading zeros).
    Rsa {
        pair: RsaKeyPair,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ec {
        pair: EcdsaKeyPair,
        curve: Curve,
    },
    Ed(Ed25519KeyPair),
    Hmac(Vec<u8>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

impl Curve {
    fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }
}

impl TestKey {
    /// Generates a fresh key for `alg`: RSA 2048 for `RS*`/`PS*`, P-256 for `ES256`, P-384 for
    /// `ES384`, Ed25519 for `EdDSA`, and a random 32/48/64-byte secret for `HS256/384/512`.
    ///
    /// With the `ring` backend, which cannot generate RSA keys, RSA keys come in turn from a
    /// pool of 32 fixed RSA-2048 keys shipped with the crate: distinct for a process's first
    /// 32 RSA keys, then the same again. Every other kind is fresh under both backends.
    pub fn generate(alg: Algorithm, kid: impl Into<String>) -> TestKey {
        let material = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => {
                let pair: RsaKeyPair = keygen::rsa();
                let (n, e) = der::parse_rsa_public_key_der(pair.public_key().as_ref())
                    .expect("the backend returns a PKCS#1 RSAPublicKey");
                let unsigned = |int| der::strip_leading_zeros(int).to_vec();
                let (n, e) = (unsigned(n), unsigned(e));
                Material::Rsa { pair, n, e }
            }
            Algorithm::ES256 => Material::Ec {
                pair: keygen::ec(false),
                curve: Curve::P256,
            },
            Algorithm::ES384 => Material::Ec {
                pair: keygen::ec(true),
                curve: Curve::P384,
            },
            Algorithm::EdDSA => Material::Ed(keygen::ed25519()),
            Algorithm::HS256 => Material::Hmac(random_bytes(32)),
            Algorithm::HS384 => Material::Hmac(random_bytes(48)),
            Algorithm::HS512 => Material::Hmac(random_bytes(64)),
        };
        TestKey {
            kid: kid.into(),
            inner: Arc::new(Inner {
                algorithm: alg,
                material,
            }),
        }
    }

    /// The same key material under another `kid` (e.g. for kid-swap tests).
    pub fn with_kid(&self, kid: impl Into<String>) -> TestKey {
        TestKey {
            kid: kid.into(),
            inner: Arc::clone(&self.inner),
        }
    }

    /// The key id, as put in JWKs and token headers.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm the key was generated for (used for `alg` in its JWK and tokens).
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }

    /// The public JWK with `kid`, `alg` and `"use":"sig"`: `RSA` (`n`, `e`), `EC` (`crv`, `x`,
    /// `y`), `OKP` (`crv: Ed25519`, `x`), or for HMAC keys `oct` with the secret as `k`.
    /// All binary members are base64url without padding.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.public_jwk_without_alg();
        jwk["alg"] = alg_value(self.algorithm());
        jwk["use"] = json!("sig");
        jwk
    }

    /// Like [`public_jwk`](Self::public_jwk) but without `alg` and `use`, so that algorithm
    /// inference from `kty`/`crv` can be tested.
    pub fn public_jwk_without_alg(&self) -> Value {
        let kid = self.kid();
        match &self.inner.material {
            Material::Rsa { n, e, .. } => {
                json!({"kty": "RSA", "kid": kid, "n": b64url(n), "e": b64url(e)})
            }
            Material::Ec { pair, curve } => {
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = &pair.public_key().as_ref()[1..];
                let (x, y) = point.split_at(point.len() / 2);
                json!({"kty": "EC", "kid": kid, "crv": curve.name(), "x": b64url(x), "y": b64url(y)})
            }
            Material::Ed(pair) => {
                json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64url(pair.public_key().as_ref())})
            }
            Material::Hmac(secret) => json!({"kty": "oct", "kid": kid, "k": b64url(secret)}),
        }
    }

    /// The public key as DER `SubjectPublicKeyInfo`; `None` for HMAC keys.
    pub fn public_key_der(&self) -> Option<Vec<u8>> {
        // AlgorithmIdentifier DER (RFC 3279, 5480, 8410) of each key type.
        const RSA: &[u8] = &[
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
            0x00,
        ];
        const EC_P256: &[u8] = &[
            0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
            0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
        ];
        const EC_P384: &[u8] = &[
            0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
            0x81, 0x04, 0x00, 0x22,
        ];
        const ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
        let algorithm = match &self.inner.material {
            Material::Rsa { .. } => RSA,
            Material::Ec { curve, .. } if *curve == Curve::P256 => EC_P256,
            Material::Ec { .. } => EC_P384,
            Material::Ed(_) => ED25519,
            Material::Hmac(_) => return None,
        };
        let mut key = vec![0]; // a BIT STRING's count of unused bits
        key.extend_from_slice(&self.public_key_bytes()?);
        let mut body = algorithm.to_vec();
        der::push_tlv(&mut body, 0x03, &key);
        let mut spki = Vec::with_capacity(body.len() + 4);
        der::push_tlv(&mut spki, 0x30, &body);
        Some(spki)
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`, SPKI); `None` for HMAC keys.
    pub fn public_key_pem(&self) -> Option<String> {
        let body = STANDARD.encode(self.public_key_der()?);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        Some(pem)
    }

    /// The public key in the form ring's and aws-lc-rs's `UnparsedPublicKey` take: RSA → PKCS#1
    /// `RSAPublicKey` DER, EC → uncompressed SEC1 point, Ed25519 → the 32 raw bytes.
    /// `None` for HMAC keys.
    pub fn public_key_bytes(&self) -> Option<Vec<u8>> {
        match &self.inner.material {
            Material::Rsa { pair, .. } => Some(pair.public_key().as_ref().to_vec()),
            Material::Ec { pair, .. } => Some(pair.public_key().as_ref().to_vec()),
            Material::Ed(pair) => Some(pair.public_key().as_ref().to_vec()),
            Material::Hmac(_) => None,
        }
    }

    /// RSA public modulus `n` and exponent `e`, big-endian without leading zeros; `None`
    /// for other key types.
    pub fn rsa_public_components(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        match &self.inner.material {
            Material::Rsa { n, e, .. } => Some((n.clone(), e.clone())),
            _ => None,
        }
    }

    /// The shared secret of an HMAC key; `None` for asymmetric keys.
    pub fn hmac_secret(&self) -> Option<&[u8]> {
        match &self.inner.material {
            Material::Hmac(secret) => Some(secret),
            _ => None,
        }
    }

    /// Whether [`sign_raw`](Self::sign_raw) can produce an `alg` signature with this key:
    /// RSA keys sign every `RS*`/`PS*`, EC keys their own curve's `ES*`, Ed25519 keys
    /// `EdDSA`; every key can produce `HS*` (see `sign_raw`).
    pub fn can_sign(&self, alg: Algorithm) -> bool {
        match (&self.inner.material, alg) {
            (_, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => true,
            (
                Material::Rsa { .. },
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512,
            ) => true,
            (Material::Ec { curve, .. }, Algorithm::ES256) => *curve == Curve::P256,
            (Material::Ec { curve, .. }, Algorithm::ES384) => *curve == Curve::P384,
            (Material::Ed(_), Algorithm::EdDSA) => true,
            _ => false,
        }
    }

    /// The JWS signature of `signing_input` (`b64(header).b64(payload)`) under `alg`, which may
    /// differ from the key's own algorithm (for algorithm-confusion tests). ECDSA signatures
    /// are in fixed `r || s` form, as JWS requires.
    ///
    /// `HS*` with an asymmetric key is the classic confusion attack: the HMAC secret is the
    /// key's public PEM text ([`public_key_pem`](Self::public_key_pem), trailing newline
    /// included), i.e. what a verifier that treats its public key as an HMAC secret would use.
    ///
    /// # Panics
    /// If [`can_sign`](Self::can_sign) is false for `alg`.
    pub fn sign_raw(&self, alg: Algorithm, signing_input: &[u8]) -> Vec<u8> {
        assert!(
            self.can_sign(alg),
            "key {:?} cannot produce {alg:?} signatures",
            self.kid()
        );
        let hmac_alg = match alg {
            Algorithm::HS256 => Some(hmac::HMAC_SHA256),
            Algorithm::HS384 => Some(hmac::HMAC_SHA384),
            Algorithm::HS512 => Some(hmac::HMAC_SHA512),
            _ => None,
        };
        if let Some(hmac_alg) = hmac_alg {
            let secret = match &self.inner.material {
                Material::Hmac(secret) => secret.clone(),
                _ => self.public_key_pem().expect("asymmetric key").into_bytes(),
            };
            return hmac::sign(&hmac::Key::new(hmac_alg, &secret), signing_input)
                .as_ref()
                .to_vec();
        }
        match &self.inner.material {
            Material::Rsa { pair, n, .. } => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_SHA384,
                    _ => &signature::RSA_PSS_SHA512,
                };
                let mut sig = vec![0; n.len()];
                pair.sign(padding, &rand::SystemRandom::new(), signing_input, &mut sig)
                    .expect("RSA signing");
                sig
            }
            Material::Ec { pair, .. } => pair
                .sign(&rand::SystemRandom::new(), signing_input)
                .expect("ECDSA signing")
                .as_ref()
                .to_vec(),
            Material::Ed(pair) => pair.sign(signing_input).as_ref().to_vec(),
            Material::Hmac(_) => unreachable!("HMAC handled above"),
        }
    }
}

impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kty = match &self.inner.material {
            Material::Rsa { .. } => "RSA",
            Material::Ec { .. } => "EC",
            Material::Ed(_) => "OKP",
            Material::Hmac(_) => "oct",
        };
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.inner.algorithm)
            .field("kty", &kty)
            .finish_non_exhaustive()
    }
}

/// A JWKS document, `{"keys":[...]}`, of the keys' [`public_jwk`](TestKey::public_jwk)s.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|key| key.public_jwk()).collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::crypto::signature::{
        RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
    };
    use crate::keys::VerifyingKey;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const INPUT: &[u8] = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";

    fn flipped(mut sig: Vec<u8>) -> Vec<u8> {
        let last = sig.len() - 1;
        sig[last] ^= 0x01;
        sig
    }

    /// Verifies with the backend directly, from the public material the key exposes.
    fn verify(key: &TestKey, alg: Algorithm, sig: &[u8]) -> bool {
        let verification: &'static dyn VerificationAlgorithm = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let hmac_alg = match alg {
                    Algorithm::HS256 => hmac::HMAC_SHA256,
                    Algorithm::HS384 => hmac::HMAC_SHA384,
                    _ => hmac::HMAC_SHA512,
                };
                let secret = key.hmac_secret().expect("HMAC key");
                return hmac::verify(&hmac::Key::new(hmac_alg, secret), INPUT, sig).is_ok();
            }
            Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
            Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
            _ => &signature::ED25519,
        };
        let raw = key.public_key_bytes().expect("asymmetric key");
        let from_raw = UnparsedPublicKey::new(verification, &raw)
            .verify(INPUT, sig)
            .is_ok();
        // The SPKI DER behind the PEM must name the same key.
        let pem = key.public_key_pem().expect("asymmetric key");
        let from_spki = VerifyingKey::from_pem(&pem)
            .expect("the PEM parses")
            .verify(alg, INPUT, sig);
        assert_eq!(
            from_raw, from_spki,
            "raw and SPKI forms disagree for {alg:?}"
        );
        from_raw
    }

    fn assert_round_trip(key: &TestKey, alg: Algorithm) {
        let sig = key.sign_raw(alg, INPUT);
        assert!(verify(key, alg, &sig), "{alg:?} signature does not verify");
        assert!(
            !verify(key, alg, &flipped(sig)),
            "{alg:?} flipped signature verifies"
        );
    }

    #[test]
    fn rsa_key_signs_every_rsa_alg_and_exposes_n_e() {
        let key = TestKey::generate(Algorithm::RS256, "rsa");
        for alg in [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ] {
            assert_round_trip(&key, alg);
        }
        let (n, e) = key.rsa_public_components().unwrap();
        assert_eq!((n.len(), e.as_slice()), (256, &[1, 0, 1][..]));
        let components = RsaPublicKeyComponents { n: &n, e: &e };
        let sig = key.sign_raw(Algorithm::RS256, INPUT);
        assert!(
            components
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, INPUT, &sig)
                .is_ok()
        );
        assert!(
            components
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, INPUT, &flipped(sig))
                .is_err()
        );
        let jwk = key.public_jwk();
        assert_eq!(
            (jwk["kty"].as_str(), jwk["alg"].as_str()),
            (Some("RSA"), Some("RS256"))
        );
        assert_eq!(jwk["n"], b64url(&n));
        assert_eq!(jwk["e"], "AQAB");
    }

    #[test]
    fn ec_ed_and_hmac_keys_sign_and_verify() {
        let cases = [
            (Algorithm::ES256, "EC", Some("P-256"), 32),
            (Algorithm::ES384, "EC", Some("P-384"), 48),
            (Algorithm::EdDSA, "OKP", Some("Ed25519"), 32),
            (Algorithm::HS256, "oct", None, 32),
            (Algorithm::HS384, "oct", None, 48),
            (Algorithm::HS512, "oct", None, 64),
        ];
        for (alg, kty, crv, len) in cases {
            let key = TestKey::generate(alg, "k");
            assert_round_trip(&key, alg);
            let jwk = key.public_jwk();
            assert_eq!(jwk["kty"], kty, "{alg:?}");
            assert_eq!(jwk["crv"].as_str(), crv, "{alg:?}");
            assert_eq!(jwk["alg"], alg_value(alg));
            let member = if kty == "oct" { "k" } else { "x" };
            let decoded = URL_SAFE_NO_PAD
                .decode(jwk[member].as_str().unwrap())
                .unwrap();
            assert_eq!(decoded.len(), len, "{alg:?} {member}");
            if kty == "EC" {
                let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
                let raw = key.public_key_bytes().unwrap();
                assert_eq!(raw, [&[4][..], &decoded, &y].concat());
            }
            let bare = key.public_jwk_without_alg();
            assert!(bare.get("alg").is_none() && bare.get("use").is_none());
            assert_eq!(bare["kid"], "k");
        }
        // ECDSA fixed form: r || s.
        let p384 = TestKey::generate(Algorithm::ES384, "p384");
        assert_eq!(p384.sign_raw(Algorithm::ES384, INPUT).len(), 96);
    }

    #[test]
    fn pem_is_spki_and_absent_for_hmac() {
        let key = TestKey::generate(Algorithm::EdDSA, "ed");
        let pem = key.public_key_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(
            STANDARD.decode(body).unwrap(),
            key.public_key_der().unwrap()
        );
        let hmac = TestKey::generate(Algorithm::HS256, "h");
        assert!(hmac.public_key_pem().is_none() && hmac.public_key_bytes().is_none());
    }

    #[test]
    fn pem_reads_pkcs1_rsa_and_refuses_what_it_cannot_use() {
        let key = TestKey::generate(Algorithm::RS256, "rsa");
        let pkcs1 = STANDARD.encode(key.public_key_bytes().unwrap());
        let pem =
            format!("-----BEGIN RSA PUBLIC KEY-----\n{pkcs1}\n-----END RSA PUBLIC KEY-----\n");
        let sig = key.sign_raw(Algorithm::RS256, INPUT);
        assert!(
            VerifyingKey::from_pem(&pem)
                .unwrap()
                .verify(Algorithm::RS256, INPUT, &sig)
        );
        // A P-256 SPKI whose point has P-384's length.
        let p256 = TestKey::generate(Algorithm::ES256, "p256");
        let mut der = p256.public_key_der().unwrap();
        let p384_point = TestKey::generate(Algorithm::ES384, "p384")
            .public_key_bytes()
            .unwrap();
        let point_at = der.len() - 65;
        der.truncate(point_at);
        der.extend_from_slice(&p384_point);
        let (spki_len, bits_len) = (der.len() - 2, 1 + p384_point.len());
        der[1] = spki_len as u8;
        der[point_at - 2] = bits_len as u8;
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(&der)
        );
        let error = VerifyingKey::from_pem(&pem).unwrap_err().to_string();
        assert!(error.contains("does not fit its named curve"), "{error}");
        for refused in [
            "",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
        ] {
            let error = VerifyingKey::from_pem(refused).unwrap_err().to_string();
            assert!(error.contains("PEM is not"), "{refused:?}: {error}");
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let hmac = TestKey::generate(Algorithm::HS256, "h");
        let debug = format!("{hmac:?}");
        assert_eq!(
            debug,
            r#"TestKey { kid: "h", algorithm: HS256, kty: "oct", .. }"#
        );
        let secret = hmac.hmac_secret().unwrap();
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!debug.contains(&hex) && !debug.contains(&b64url(secret)));
    }

    #[test]
    fn jwks_lists_every_key() {
        let a = TestKey::generate(Algorithm::ES256, "a");
        let b = TestKey::generate(Algorithm::EdDSA, "b");
        let set = jwks(&[&a, &b]);
        let kids: Vec<_> = set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].clone())
            .collect();
        assert_eq!(kids, [json!("a"), json!("b")]);
        let renamed = a.with_kid("c");
        assert_eq!(renamed.kid(), "c");
        assert_eq!(renamed.public_jwk()["x"], a.public_jwk()["x"]);
        assert_eq!(a.kid(), "a");
    }
}
