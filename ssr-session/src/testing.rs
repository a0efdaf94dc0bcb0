//! Test support: signing keys, JWKS documents and tokens of any shape.
//!
//! Compiled only with the `testing` feature. Keys live in memory and are generated per call;
//! [`TokenBuilder`] deliberately produces hostile tokens too (a foreign `alg`, no `kid`,
//! `alg: none`, a payload that is not an object) so verifiers can be tested against them.
//!
//! ```
//! use ssr_session::keys::Algorithm;
//! use ssr_session::testing::{TestKey, TokenBuilder, jwks};
//!
//! let key = TestKey::generate(Algorithm::ES256, "d-1700000000000");
//! let token = TokenBuilder::supertokens("alice", 3600).sign(&key);
//! assert_eq!(token.split('.').count(), 3);
//! assert_eq!(jwks(&[&key])["keys"][0]["kid"], "d-1700000000000");
//! ```

use std::fmt;
use std::sync::Arc;

use crate::keys::Algorithm;
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use aws_lc_rs::{hmac, rand, rsa};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

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
    pub fn generate(alg: Algorithm, kid: impl Into<String>) -> TestKey {
        let material = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => {
                let pair = RsaKeyPair::generate(rsa::KeySize::Rsa2048).expect("RSA keygen");
                let (n, e) = rsa_public_components(pair.public_key().as_ref())
                    .expect("aws-lc-rs returns a PKCS#1 RSAPublicKey");
                Material::Rsa { pair, n, e }
            }
            Algorithm::ES256 => Material::Ec {
                pair: EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .expect("P-256 keygen"),
                curve: Curve::P256,
            },
            Algorithm::ES384 => Material::Ec {
                pair: EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING)
                    .expect("P-384 keygen"),
                curve: Curve::P384,
            },
            Algorithm::EdDSA => Material::Ed(Ed25519KeyPair::generate().expect("Ed25519 keygen")),
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
        let der: PublicKeyX509Der<'static> = match &self.inner.material {
            Material::Rsa { pair, .. } => pair.public_key().as_der(),
            Material::Ec { pair, .. } => pair.public_key().as_der(),
            Material::Ed(pair) => pair.public_key().as_der(),
            Material::Hmac(_) => return None,
        }
        .expect("aws-lc-rs encodes its own public key");
        Some(der.as_ref().to_vec())
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

    /// The public key in the form aws-lc-rs's `UnparsedPublicKey` takes: RSA → PKCS#1
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
            Material::Rsa { pair, .. } => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_SHA384,
                    _ => &signature::RSA_PSS_SHA512,
                };
                let mut sig = vec![0; pair.public_modulus_len()];
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

/// Base64url without padding, as JWS and JWK use.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The current time in whole seconds since the Unix epoch (the system
/// clock a verifier reads unless given its own).
pub fn now_secs() -> i64 {
    crate::verify::now_secs() as i64
}

/// `num_bytes` random bytes as lowercase hex (e.g. for opaque refresh tokens).
pub fn random_hex(num_bytes: usize) -> String {
    random_bytes(num_bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Builds tokens of any shape, including hostile ones.
///
/// SuperTokens' SDK claims (roles, permissions, a verified email, or your
/// own) have typed setters that write the SDK's payload shape
/// `{"v": …, "t": <now, ms>}`: [`roles`](Self::roles),
/// [`permissions`](Self::permissions), [`email_verified`](Self::email_verified),
/// [`claim_values`](Self::claim_values) and [`claim_value`](Self::claim_value).
#[must_use = "a builder does nothing until `sign()`"]
#[derive(Clone, Debug, Default)]
pub struct TokenBuilder {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    /// `alg` / `kid` are filled from the key at signing unless set or removed explicitly.
    fill_alg: bool,
    fill_kid: bool,
}

impl TokenBuilder {
    /// Empty header and claims. When signing, `alg` and `kid` still come from the key unless
    /// set or removed explicitly.
    pub fn new() -> Self {
        TokenBuilder {
            fill_alg: true,
            fill_kid: true,
            ..Default::default()
        }
    }

    /// A SuperTokens v5 access token: header `{"alg":…,"typ":"JWT","kid":…,"version":"5"}`
    /// (`alg` and `kid` from the key at signing); claims `sub`, `exp` (now + `lifetime_secs`), `iat`,
    /// `sessionHandle`, `refreshTokenHash1`, `parentRefreshTokenHash1: null`,
    /// `antiCsrfToken: null`, `tId: "public"`, `rsub` (= `sub`) and
    /// `iss: "http://localhost:3000/auth"` (override with [`claim`](Self::claim)).
    pub fn supertokens(sub: &str, lifetime_secs: i64) -> Self {
        let now = now_secs();
        let handle = random_hex(16);
        let session_handle = format!(
            "{}-{}-{}-{}-{}",
            &handle[..8],
            &handle[8..12],
            &handle[12..16],
            &handle[16..20],
            &handle[20..]
        );
        Self::new()
            .header("typ", "JWT")
            .header("version", "5")
            .claim("sub", sub)
            .claim("exp", now + lifetime_secs)
            .claim("iat", now)
            .claim("sessionHandle", session_handle)
            .claim("refreshTokenHash1", random_hex(32))
            .claim("parentRefreshTokenHash1", Value::Null)
            .claim("antiCsrfToken", Value::Null)
            .claim("tId", "public")
            .claim("rsub", sub)
            .claim("iss", "http://localhost:3000/auth")
    }

    /// Sets a header member (an explicit `alg` or `kid` is kept as is when signing).
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.not_filled(name);
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header member (a removed `alg` or `kid` stays absent when signing).
    pub fn without_header(mut self, name: &str) -> Self {
        self.not_filled(name);
        self.header.remove(name);
        self
    }

    /// Sets a claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets the roles claim `st-role` to `{"v": [roles…], "t": <now, ms>}`,
    /// as supertokens-node's `UserRoleClaim` writes it.
    ///
    /// ```
    /// use ssr_session::SuperTokensClaims;
    /// use ssr_session::testing::TokenBuilder;
    ///
    /// let token = TokenBuilder::supertokens("alice", 3600).roles(["admin", "user"]);
    /// let claims: SuperTokensClaims = serde_json::from_value(token.claims().clone().into())?;
    /// assert_eq!(claims.roles(), Some(vec!["admin", "user"]));
    /// assert_eq!(token.claims()["st-role"]["v"], serde_json::json!(["admin", "user"]));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn roles<I>(self, roles: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.claim_values(crate::supertokens::ROLES.key(), roles)
    }

    /// Sets the permissions claim `st-perm` to `{"v": [permissions…], "t": <now, ms>}`,
    /// as supertokens-node's `PermissionClaim` writes it.
    ///
    /// ```
    /// use ssr_session::SuperTokensClaims;
    /// use ssr_session::testing::TokenBuilder;
    ///
    /// let token = TokenBuilder::supertokens("alice", 3600).permissions(["read:billing"]);
    /// let claims: SuperTokensClaims = serde_json::from_value(token.claims().clone().into())?;
    /// assert_eq!(claims.permissions(), Some(vec!["read:billing"]));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn permissions<I>(self, permissions: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.claim_values(crate::supertokens::PERMISSIONS.key(), permissions)
    }

    /// Sets the email-verification claim `st-ev` to `{"v": verified, "t": <now, ms>}`,
    /// as supertokens-node's `EmailVerificationClaim` writes it.
    ///
    /// ```
    /// use ssr_session::SuperTokensClaims;
    /// use ssr_session::testing::TokenBuilder;
    ///
    /// let token = TokenBuilder::supertokens("alice", 3600).email_verified(true);
    /// let claims: SuperTokensClaims = serde_json::from_value(token.claims().clone().into())?;
    /// assert_eq!(claims.email_verified(), Some(true));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn email_verified(self, verified: bool) -> Self {
        self.claim_value(crate::supertokens::EMAIL_VERIFIED.key(), verified)
    }

    /// Sets the SDK claim `key` to an array, `{"v": [values…], "t": <now, ms>}`:
    /// your own array claims (read with
    /// [`ArrayClaim`](crate::supertokens::ArrayClaim)).
    ///
    /// ```
    /// use ssr_session::testing::TokenBuilder;
    ///
    /// let token = TokenBuilder::supertokens("alice", 3600).claim_values("app-plan", ["pro"]);
    /// assert_eq!(token.claims()["app-plan"]["v"], serde_json::json!(["pro"]));
    /// assert!(token.claims()["app-plan"]["t"].is_u64());
    /// ```
    pub fn claim_values<I>(self, key: &str, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let values: Vec<Value> = values
            .into_iter()
            .map(|value| Value::String(value.into()))
            .collect();
        self.claim_value(key, values)
    }

    /// Sets the SDK claim `key` to `{"v": value, "t": <now, ms>}`: any value
    /// (a boolean for [`BooleanClaim`](crate::supertokens::BooleanClaim)s).
    /// For a chosen fetch time (to test `max_age_secs`), set the whole
    /// member with [`claim`](Self::claim).
    ///
    /// ```
    /// use ssr_session::testing::TokenBuilder;
    ///
    /// let token = TokenBuilder::supertokens("alice", 3600).claim_value("app-beta", true);
    /// assert_eq!(token.claims()["app-beta"]["v"], true);
    /// ```
    pub fn claim_value(self, key: &str, value: impl Into<Value>) -> Self {
        let fetched_at_millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64);
        self.claim(key, json!({"v": value.into(), "t": fetched_at_millis}))
    }

    /// Sets `exp` to now + `secs` (negative: in the past).
    pub fn expires_in(self, secs: i64) -> Self {
        self.claim("exp", now_secs() + secs)
    }

    /// The claims as they will be serialized.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Signs with `key`. The header gets the key's `alg` and `kid` unless they were set or
    /// removed explicitly; the signature uses the header's `alg` if the key can produce it
    /// ([`TestKey::can_sign`]), else the key's own algorithm.
    pub fn sign(&self, key: &TestKey) -> String {
        let claims = serde_json::to_vec(&self.claims).expect("claims serialize");
        self.sign_payload_bytes(&claims, key)
    }

    /// Like [`sign`](Self::sign) with `payload` as the raw payload bytes instead of the claims
    /// (e.g. JSON that is not an object, or invalid UTF-8).
    pub fn sign_payload_bytes(&self, payload: &[u8], key: &TestKey) -> String {
        // Members in SuperTokens' order, `{"alg","typ","kid","version"}`: serde_json keeps
        // insertion order in this workspace, and minted tokens should look like the core's.
        let mut header = Map::new();
        if self.fill_alg {
            header.insert("alg".to_owned(), alg_value(key.algorithm()));
        }
        for (name, value) in &self.header {
            if name == "version" && self.fill_kid {
                header.insert("kid".to_owned(), key.kid().into());
            }
            header.insert(name.clone(), value.clone());
        }
        if self.fill_kid && !header.contains_key("kid") {
            header.insert("kid".to_owned(), key.kid().into());
        }
        let alg = header
            .get("alg")
            .and_then(|alg| serde_json::from_value::<Algorithm>(alg.clone()).ok())
            .filter(|alg| key.can_sign(*alg))
            .unwrap_or_else(|| key.algorithm());
        let header = serde_json::to_vec(&header).expect("header serializes");
        let signing_input = format!("{}.{}", b64url(&header), b64url(payload));
        let signature = key.sign_raw(alg, signing_input.as_bytes());
        format!("{signing_input}.{}", b64url(&signature))
    }

    /// `header.payload.signature` from the header and claims as set (no `alg`/`kid` filled
    /// in) and the given signature bytes, e.g. empty for `alg: none`.
    pub fn with_signature(&self, signature: &[u8]) -> String {
        let header = serde_json::to_vec(&self.header).expect("header serializes");
        let claims = serde_json::to_vec(&self.claims).expect("claims serialize");
        format!(
            "{}.{}.{}",
            b64url(&header),
            b64url(&claims),
            b64url(signature)
        )
    }

    fn not_filled(&mut self, name: &str) {
        match name {
            "alg" => self.fill_alg = false,
            "kid" => self.fill_kid = false,
            _ => {}
        }
    }
}

fn alg_value(alg: Algorithm) -> Value {
    serde_json::to_value(alg).expect("Algorithm serializes to its JWA name")
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rand::fill(&mut bytes).expect("system randomness");
    bytes
}

/// `(n, e)` from a PKCS#1 `RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }`.
fn rsa_public_components(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (sequence, _) = der_element(der, 0x30)?;
    let (n, rest) = der_element(sequence, 0x02)?;
    let (e, _) = der_element(rest, 0x02)?;
    let unsigned = |int: &[u8]| int.iter().skip_while(|b| **b == 0).copied().collect();
    Some((unsigned(n), unsigned(e)))
}

/// Splits one DER element with `tag` off `input`: `(contents, rest)`.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if found != tag {
        return None;
    }
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len, rest) = rest.split_at(count);
        (
            len.iter().fold(0, |acc, b| (acc << 8) | usize::from(*b)),
            rest,
        )
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// The verifier's verified-token cache on its own (the same code a
/// [`Verifier`](crate::Verifier) runs), for benchmarks that compare it
/// with other designs. Every entry holds a session of user `u` and the
/// probe's one key (weakly, as in a verifier); time is the caller's, in
/// seconds.
pub struct TokenCacheProbe {
    cache: crate::cache::TokenCache<()>,
    key: Arc<crate::keys::VerifyingKey>,
}

// By hand: the cache holds tokens, which are never printed.
impl fmt::Debug for TokenCacheProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCacheProbe")
            .field("len", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl TokenCacheProbe {
    /// An empty cache of `capacity` weight units.
    pub fn new(capacity: u64) -> Self {
        let key = crate::keys::VerifyingKey::from_symmetric_secret(&[7; 32], Algorithm::HS256)
            .expect("a 32-byte HMAC secret");
        Self {
            cache: crate::cache::TokenCache::new(capacity),
            key: Arc::new(key),
        }
    }

    /// Caches `token` as verified at `now`, valid until `exp`.
    pub fn insert(&self, token: &[u8], exp: f64, now: f64) {
        let facts = crate::session::SessionFacts {
            expires_at: exp as i64,
            issued_at: None,
            session_handle: None,
            anti_csrf_token: None,
        };
        let verified = crate::cache::Verified {
            session: crate::Session::new("u".into(), (), facts),
            exp,
            nbf: None,
            key: Arc::downgrade(&self.key),
        };
        self.cache.insert(token, verified, now);
    }

    /// The cached session of `token` at `now` (no leeway), as a hit gives it.
    pub fn get(&self, token: &[u8], now: f64) -> Option<crate::Session<()>> {
        self.cache.get(token, now, 0.0)
    }

    /// How many tokens are cached.
    pub fn len(&self) -> u64 {
        self.cache.len()
    }

    /// `true` when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm};

    const INPUT: &[u8] = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";

    fn flipped(mut sig: Vec<u8>) -> Vec<u8> {
        let last = sig.len() - 1;
        sig[last] ^= 0x01;
        sig
    }

    /// Verifies with aws-lc-rs directly, from the public material the key exposes.
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
        let spki = key.public_key_der().expect("asymmetric key");
        let from_spki = UnparsedPublicKey::new(verification, &spki)
            .verify(INPUT, sig)
            .is_ok();
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

    fn decode_segment(token: &str, index: usize) -> Value {
        let segment = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn supertokens_token_has_v5_header_and_claims() {
        let key = TestKey::generate(Algorithm::ES256, "d-1");
        let token = TokenBuilder::supertokens("alice", 60)
            .claim("st-role", json!({"v": ["admin"]}))
            .sign(&key);
        let header = decode_segment(&token, 0);
        assert_eq!(
            header,
            json!({"alg": "ES256", "typ": "JWT", "kid": "d-1", "version": "5"})
        );
        // The core's member order too (JSON maps compare without it).
        let header_bytes = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        assert_eq!(
            header_bytes,
            br#"{"alg":"ES256","typ":"JWT","kid":"d-1","version":"5"}"#
        );
        let claims = decode_segment(&token, 1);
        assert_eq!(
            (claims["sub"].as_str(), claims["rsub"].as_str()),
            (Some("alice"), Some("alice"))
        );
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            60
        );
        assert_eq!(claims["tId"], "public");
        assert!(claims["parentRefreshTokenHash1"].is_null() && claims["antiCsrfToken"].is_null());
        assert_eq!(claims["sessionHandle"].as_str().unwrap().len(), 36);
        assert_eq!(claims["st-role"], json!({"v": ["admin"]}));
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let raw = key.public_key_bytes().unwrap();
        let public = UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &raw);
        assert!(public.verify(input.as_bytes(), &sig).is_ok());
    }

    #[test]
    fn hostile_shapes() {
        let rsa = TestKey::generate(Algorithm::RS256, "r");
        // Header alg HS256 on an RSA key: HMAC keyed with the public PEM (confusion attack).
        let token = TokenBuilder::supertokens("mallory", 60)
            .header("alg", "HS256")
            .sign(&rsa);
        assert_eq!(decode_segment(&token, 0)["alg"], "HS256");
        let (input, sig) = token.rsplit_once('.').unwrap();
        let pem = rsa.public_key_pem().unwrap();
        let expected = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, pem.as_bytes()),
            input.as_bytes(),
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap(), expected.as_ref());
        // An alg the key cannot produce is named in the header but signed with the key's own.
        let token = TokenBuilder::new().header("alg", "ES256").sign(&rsa);
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(token.rsplit('.').next().unwrap())
                .unwrap()
                .len(),
            256
        );
        // Removed kid stays removed; alg none with an empty signature.
        let token = TokenBuilder::supertokens("a", 60)
            .without_header("kid")
            .sign(&rsa);
        assert!(decode_segment(&token, 0).get("kid").is_none());
        let none = TokenBuilder::supertokens("a", 60)
            .header("alg", "none")
            .with_signature(b"");
        assert!(none.ends_with('.'));
        assert_eq!(decode_segment(&none, 0)["alg"], "none");
        // Raw payload bytes and expiry in the past.
        let token = TokenBuilder::new().sign_payload_bytes(b"[1,2]", &rsa);
        assert_eq!(decode_segment(&token, 1), json!([1, 2]));
        let past = TokenBuilder::supertokens("a", 60).expires_in(-5);
        assert!(past.claims()["exp"].as_i64().unwrap() < now_secs());
        assert!(
            TokenBuilder::supertokens("a", 1)
                .without_claim("sub")
                .claims()
                .get("sub")
                .is_none()
        );
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
