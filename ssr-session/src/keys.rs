//! Verification keys: [`VerifyingKey`], the [`KeySet`] that picks one for a
//! token, the [`KeyProvider`] trait and the [`StaticKeys`] provider.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};

use crate::algorithm::{self, Algorithm, AlgorithmSet, RSA_FAMILY};
use crate::error::{KeyError, KeySourceError};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

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
    jwk_digest: Option<[u8; 32]>,
    algorithms: AlgorithmSet,
    verifiers: Vec<(Algorithm, Material)>,
}

enum Material {
    Public(ParsedPublicKey),
    Hmac(Box<aws_lc_rs::hmac::Key>),
}

impl VerifyingKey {
    /// An RSA public key from its big-endian modulus and exponent.
    /// `algorithms` empty means the whole RSA family.
    pub fn from_rsa_components(
        modulus: &[u8],
        exponent: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<Self, KeyError> {
        let modulus = strip_leading_zeros(modulus);
        let bits = modulus.len() * 8 - modulus.first().map_or(8, |b| b.leading_zeros() as usize);
        if bits < MIN_RSA_BITS {
            return Err(KeyError::new(format!(
                "RSA key of {bits} bits refused (minimum {MIN_RSA_BITS})"
            )));
        }
        let der = rsa_public_key_der(modulus, strip_leading_zeros(exponent));
        let wanted = if algorithms.is_empty() {
            &RSA_FAMILY[..]
        } else {
            algorithms
        };
        Self::from_public_bytes(&der, wanted, &RSA_FAMILY)
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
        Self::from_public_bytes(point, &[alg], &[alg])
    }

    /// An Ed25519 public key (32 bytes), verifying EdDSA.
    pub fn from_ed25519(public_key: &[u8]) -> Result<Self, KeyError> {
        if public_key.len() != 32 {
            return Err(KeyError::new("an Ed25519 public key has 32 bytes"));
        }
        Self::from_public_bytes(public_key, &[Algorithm::EdDSA], &[Algorithm::EdDSA])
    }

    /// A public key from PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`): RSA, EC
    /// P-256/P-384 or Ed25519.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        use jsonwebtoken::{DecodingKey, DecodingKeyKind};
        let bytes = pem.as_bytes();
        let from_der = |key: DecodingKey, make: &dyn Fn(&[u8]) -> Result<Self, KeyError>| match key
            .kind()
        {
            DecodingKeyKind::SecretOrDer(der) => make(der),
            DecodingKeyKind::RsaModulusExponent { n, e } => Self::from_rsa_components(n, e, &[]),
        };
        if let Ok(key) = DecodingKey::from_rsa_pem(bytes) {
            return from_der(key, &|der| {
                let (n, e) = parse_rsa_public_key_der(der)
                    .ok_or_else(|| KeyError::new("malformed RSA public key"))?;
                Self::from_rsa_components(n, e, &[])
            });
        }
        if let Ok(key) = DecodingKey::from_ec_pem(bytes) {
            return from_der(key, &Self::from_ec_point);
        }
        if let Ok(key) = DecodingKey::from_ed_pem(bytes) {
            return from_der(key, &Self::from_ed25519);
        }
        Err(KeyError::new(
            "PEM is not an RSA, EC (P-256/P-384) or Ed25519 public key",
        ))
    }

    /// A shared secret for HMAC (`HS256`/`HS384`/`HS512`), for apps that sign
    /// their tokens with a symmetric key. Named so that it is never chosen
    /// by accident: anyone holding the secret can mint tokens.
    pub fn from_symmetric_secret(secret: &[u8], alg: Algorithm) -> Result<Self, KeyError> {
        let hmac_alg = match alg {
            Algorithm::HS256 => aws_lc_rs::hmac::HMAC_SHA256,
            Algorithm::HS384 => aws_lc_rs::hmac::HMAC_SHA384,
            Algorithm::HS512 => aws_lc_rs::hmac::HMAC_SHA512,
            other => {
                return Err(KeyError::new(format!(
                    "{} is not an HMAC algorithm",
                    algorithm::name_of(other)
                )));
            }
        };
        if secret.len() < 32 {
            return Err(KeyError::new("an HMAC secret needs at least 32 bytes"));
        }
        Ok(Self {
            kid: None,
            jwk_digest: None,
            algorithms: [alg].into_iter().collect(),
            verifiers: vec![(
                alg,
                Material::Hmac(Box::new(aws_lc_rs::hmac::Key::new(hmac_alg, secret))),
            )],
        })
    }

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
                    algorithm::name_of(alg)
                )));
            }
            Some(alg) => key.restricted_to(&[alg]),
            None => key,
        };
        Ok(key.with_kid(jwk.common.key_id.clone()))
    }

    fn from_public_bytes(
        bytes: &[u8],
        wanted: &[Algorithm],
        family: &[Algorithm],
    ) -> Result<Self, KeyError> {
        let mut verifiers = Vec::with_capacity(wanted.len());
        let mut algorithms = AlgorithmSet::empty();
        for &alg in wanted {
            if !family.contains(&alg) {
                return Err(KeyError::new(format!(
                    "{} does not fit this key type",
                    algorithm::name_of(alg)
                )));
            }
            let parsed = ParsedPublicKey::new(aws_algorithm(alg), bytes)
                .map_err(|e| KeyError::new(format!("key rejected: {e}")))?;
            verifiers.push((alg, Material::Public(parsed)));
            algorithms.insert(alg);
        }
        Ok(Self {
            kid: None,
            jwk_digest: None,
            algorithms,
            verifiers,
        })
    }

    /// Sets the key id (`kid`) tokens name this key by.
    pub fn with_kid(mut self, kid: Option<String>) -> Self {
        self.kid = kid;
        self
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
            Material::Public(key) => key.verify_sig(message, signature).is_ok(),
            Material::Hmac(key) => aws_lc_rs::hmac::verify(key, message, signature).is_ok(),
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

fn aws_algorithm(alg: Algorithm) -> &'static dyn VerificationAlgorithm {
    match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        // EdDSA; HMAC never reaches here (callers pass public-key families only).
        _ => &sig::ED25519,
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

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// DER of PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_public_key_der(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, value: &[u8]) {
        let pad = value.first().is_none_or(|b| b & 0x80 != 0);
        out.push(0x02);
        push_len(out, value.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(value);
    }
    fn push_len(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes
                .iter()
                .position(|&b| b != 0)
                .unwrap_or(bytes.len() - 1);
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    let mut body = Vec::with_capacity(modulus.len() + exponent.len() + 16);
    integer(&mut body, modulus);
    integer(&mut body, exponent);
    let mut der = Vec::with_capacity(body.len() + 6);
    der.push(0x30);
    push_len(&mut der, body.len());
    der.extend_from_slice(&body);
    der
}

/// Reads modulus and exponent back out of PKCS#1 `RSAPublicKey` DER.
fn parse_rsa_public_key_der(der: &[u8]) -> Option<(&[u8], &[u8])> {
    fn read_len(input: &[u8]) -> Option<(usize, &[u8])> {
        let (&first, rest) = input.split_first()?;
        if first < 0x80 {
            return Some((first as usize, rest));
        }
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        Some((len, &rest[count..]))
    }
    fn read_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&t, rest) = input.split_first()?;
        if t != tag {
            return None;
        }
        let (len, rest) = read_len(rest)?;
        (rest.len() >= len).then(|| rest.split_at(len))
    }
    let (sequence, _) = read_tlv(der, 0x30)?;
    let (modulus, rest) = read_tlv(sequence, 0x02)?;
    let (exponent, _) = read_tlv(rest, 0x02)?;
    Some((modulus, exponent))
}

fn jwk_digest(member: &serde_json::Value) -> [u8; 32] {
    let canonical = serde_json::to_vec(member).unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &canonical);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// What a key set gives for one token's `kid` and `alg`.
#[derive(Debug, Clone)]
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
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, serde_json::Error> {
        Self::from_jwks_json_reusing(json, None)
    }

    /// Like [`KeySet::from_jwks_json`], but a member identical to one of
    /// `previous`'s keeps that key's `Arc`. Identity matters: the
    /// verified-token cache drops a token as soon as its key's `Arc` is
    /// gone, so a refresh that returns the same keys must not look like a
    /// rotation.
    pub fn from_jwks_json_reusing(
        json: &[u8],
        previous: Option<&KeySet>,
    ) -> Result<Self, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_slice(json)?;
        let mut keys = Vec::with_capacity(document.keys.len());
        for (index, member) in document.keys.into_iter().enumerate() {
            let digest = jwk_digest(&member);
            let known =
                previous.and_then(|set| set.keys.iter().find(|key| key.jwk_digest == Some(digest)));
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

/// What a token asks of a key provider.
#[derive(Debug, Clone, Copy)]
pub struct KeyRequest<'a> {
    /// The token's `kid` header, if any.
    pub kid: Option<&'a str>,
    /// The token's `alg` header (already parsed; never `none`).
    pub algorithm: Algorithm,
}

/// Why a key provider gave no key.
#[derive(Debug, Clone)]
pub enum KeyLookupError {
    /// No key has this `kid`, even after the provider refreshed its keys:
    /// the token is invalid (unknown key).
    UnknownKey,
    /// Keys with this `kid` exist but none may verify the token's `alg`.
    AlgorithmMismatch,
    /// Several keys fit: the token is invalid (ambiguous key).
    Ambiguous,
    /// The key source failed and no usable cached key exists: the
    /// verification is unavailable (a server-side failure).
    Unavailable(Arc<KeySourceError>),
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

/// Resolves the key that verifies a token.
///
/// The verifier holds an `Arc<dyn KeyProvider>`, so a provider may be
/// anything: the built-in [`JwksKeyProvider`](crate::JwksKeyProvider) and
/// [`StaticKeys`], or your own. The token's `jku`, `x5u`, `jwk` and `x5c`
/// headers are never passed here: keys come only from your source.
///
/// A complete custom provider, with keys from an environment variable
/// holding a JWKS document, reloaded when the variable changes:
///
/// ```
/// use std::sync::{Arc, RwLock};
/// use ssr_session::{async_trait, KeyLookupError, KeyProvider, KeyRequest, KeySet,
///                   KeySourceError, VerifyingKey};
///
/// struct EnvKeys {
///     variable: String,
///     cached: RwLock<Option<(String, KeySet)>>,
/// }
///
/// #[async_trait]
/// impl KeyProvider for EnvKeys {
///     async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
///         let raw = std::env::var(&self.variable).map_err(|e| {
///             KeyLookupError::Unavailable(Arc::new(KeySourceError::Custom(Box::new(e))))
///         })?;
///         if let Some((seen, set)) = &*self.cached.read().unwrap() {
///             if *seen == raw {
///                 return set.select(request.kid, request.algorithm).into_result();
///             }
///         }
///         let set = KeySet::from_jwks_json(raw.as_bytes()).map_err(|e| {
///             KeyLookupError::Unavailable(Arc::new(KeySourceError::Custom(Box::new(e))))
///         })?;
///         let selection = set.select(request.kid, request.algorithm);
///         *self.cached.write().unwrap() = Some((raw, set));
///         selection.into_result()
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // SAFETY of the example: single-threaded doc test.
/// # let variable = "SSR_SESSION_DOC_EXAMPLE_JWKS".to_string();
/// let provider = EnvKeys { variable, cached: RwLock::new(None) };
/// let request = KeyRequest { kid: Some("k1"), algorithm: ssr_session::Algorithm::RS256 };
/// // The variable is unset here: the provider reports an unavailable source.
/// assert!(matches!(provider.key(&request).await, Err(KeyLookupError::Unavailable(_))));
/// # });
/// ```
#[async_trait]
pub trait KeyProvider: Send + Sync + 'static {
    /// The one key that verifies a token with this `kid` and `alg`.
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError>;
}

#[async_trait]
impl<P: KeyProvider + ?Sized> KeyProvider for Arc<P> {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        (**self).key(request).await
    }
}

/// Keys known up front: from a JWKS document, PEM public keys, or
/// (explicitly) a symmetric secret. Never fetches anything.
#[derive(Debug, Clone, Default)]
pub struct StaticKeys {
    set: KeySet,
}

impl StaticKeys {
    /// Keys from a JWKS JSON document (unsupported members skipped).
    pub fn from_jwks_json(json: &str) -> Result<Self, KeyError> {
        KeySet::from_jwks_json(json.as_bytes())
            .map(|set| Self { set })
            .map_err(|e| KeyError::new(format!("not a JWKS document: {e}")))
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
    fn rsa_der_round_trips() {
        let modulus = [0x80u8; 256];
        let der = rsa_public_key_der(&modulus, &[1, 0, 1]);
        let (n, e) = parse_rsa_public_key_der(&der).unwrap();
        assert_eq!(strip_leading_zeros(n), modulus);
        assert_eq!(e, [1, 0, 1]);
    }

    #[test]
    fn an_unchanged_member_keeps_its_arc_across_refreshes() {
        let jwk = |kid: &str| {
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
        };
        let first = serde_json::json!({"keys": [jwk("a"), jwk("b")]}).to_string();
        let second = serde_json::json!({"keys": [jwk("b"), jwk("c")]}).to_string();
        let old = KeySet::from_jwks_json(first.as_bytes()).unwrap();
        let new = KeySet::from_jwks_json_reusing(second.as_bytes(), Some(&old)).unwrap();
        assert!(Arc::ptr_eq(&old.keys()[1], &new.keys()[0]));
        assert!(!Arc::ptr_eq(&old.keys()[0], &new.keys()[1]));
    }

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
}
