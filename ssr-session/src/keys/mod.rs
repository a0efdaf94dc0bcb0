//! Verification keys: the [`KeyProvider`] trait and what it answers with.
//!
//! One file a job: [`VerifyingKey`] (`verifying_key`), JWK parsing (`jwk`),
//! the DER an RSA JWK needs (`der`), the [`KeySet`] that picks a key for a
//! token (`key_set`) and the [`StaticKeys`] provider (`static_keys`).

mod der;
mod jwk;
mod key_set;
mod static_keys;
mod verifying_key;

use std::sync::Arc;

use async_trait::async_trait;

pub use self::key_set::{KeySelection, KeySet};
pub use self::static_keys::StaticKeys;
pub use self::verifying_key::{MIN_RSA_BITS, VerifyingKey};
pub use crate::algorithm::{Algorithm, AlgorithmSet, KeyKind, UnknownAlgorithm};
use crate::error::KeySourceError;

/// What a token asks of a key provider.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct KeyRequest<'a> {
    /// The token's `kid` header, if any.
    pub kid: Option<&'a str>,
    /// The token's `alg` header (already parsed; never `none`).
    pub algorithm: Algorithm,
    /// The token's `iss` claim, **not yet verified**, and only for a
    /// provider whose [`KeyProvider::selects_by_issuer`] is `true` (else
    /// `None`). Use it to choose among issuers you trust, never to fetch a
    /// URL you have not allowed.
    pub issuer: Option<&'a str>,
}

impl<'a> KeyRequest<'a> {
    /// A request for the key named `kid` that verifies `algorithm`.
    pub fn new(kid: Option<&'a str>, algorithm: Algorithm) -> Self {
        Self {
            kid,
            algorithm,
            issuer: None,
        }
    }

    /// The same request, naming the token's (unverified) issuer.
    pub fn with_issuer(mut self, issuer: Option<&'a str>) -> Self {
        self.issuer = issuer;
        self
    }
}

/// Why a key provider gave no key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyLookupError {
    /// No key has this `kid`, even after the provider refreshed its keys:
    /// the token is invalid (unknown key).
    UnknownKey,
    /// Keys with this `kid` exist but none may verify the token's `alg`.
    AlgorithmMismatch,
    /// Several keys fit: the token is invalid (ambiguous key).
    Ambiguous,
    /// The token's `iss` is not an issuer this provider accepts (not on
    /// its allow-list, refused by its approval hook, or unknown to the
    /// issuer's own discovery): the token is invalid (claim *issuer*).
    IssuerNotAllowed,
    /// The key source failed and no usable cached key exists: the
    /// verification is unavailable (a server-side failure).
    Unavailable(Arc<KeySourceError>),
}

impl KeyLookupError {
    /// The key source failed with `error` (your provider's own error type):
    /// the verification is unavailable, never the user's fault.
    pub fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Arc::new(KeySourceError::Custom(Box::new(error))))
    }
}

/// Resolves the key that verifies a token.
///
/// The verifier holds an `Arc<dyn KeyProvider>`, so a provider may be
/// anything: the built-in [`JwksKeyProvider`](crate::JwksKeyProvider) and
/// [`StaticKeys`], or your own. The token's `jku`, `x5u`, `jwk` and `x5c`
/// headers are never passed here: keys come only from your source.
///
/// # How often `key()` is called
///
/// Once for every token the verifier checks in full: a token's first
/// visit, and every visit with the verified-token cache off. A cache hit
/// calls nothing. Calls come concurrently from every request in flight, so
/// answer from memory when you can, and share one fetch among concurrent
/// callers when you cannot.
///
/// # Keep returning the same `Arc`
///
/// The verified-token cache remembers the key that verified a token
/// *weakly*: when the last `Arc` of a key is dropped, the key is gone
/// (rotated out), and every cached token it verified is checked in full
/// again. So a provider must hold its keys and hand out clones of the same
/// `Arc` for as long as a key is current. One that builds a new
/// `Arc<VerifyingKey>` on every call is correct but silently turns the
/// cache off: each cached entry dies as soon as the call that made it
/// returns.
///
/// A complete custom provider, with keys from an environment variable
/// holding a JWKS document. It keeps the parsed set (and so the same
/// `Arc`s) until the variable changes:
///
/// ```
/// use std::sync::{Arc, RwLock};
/// use ssr_session::{async_trait, keys::KeyLookupError, KeyProvider, keys::KeyRequest, keys::KeySet, keys::VerifyingKey};
///
/// struct EnvKeys {
///     variable: String,
///     /// The variable's last value and its keys, parsed once.
///     cached: RwLock<Option<(String, KeySet)>>,
/// }
///
/// #[async_trait]
/// impl KeyProvider for EnvKeys {
///     async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
///         let raw = std::env::var(&self.variable).map_err(KeyLookupError::unavailable)?;
///         if let Some((seen, set)) = &*self.cached.read().unwrap() {
///             if *seen == raw {
///                 return set.select(request.kid, request.algorithm).into_result();
///             }
///         }
///         let set = KeySet::from_jwks_json(&raw).map_err(KeyLookupError::unavailable)?;
///         let selection = set.select(request.kid, request.algorithm);
///         *self.cached.write().unwrap() = Some((raw, set));
///         selection.into_result()
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let provider = EnvKeys {
///     variable: "SSR_SESSION_DOC_EXAMPLE_JWKS".into(),
///     cached: RwLock::new(None),
/// };
/// let request = KeyRequest::new(Some("k1"), ssr_session::keys::Algorithm::RS256);
/// // The variable is unset here: the provider reports an unavailable source.
/// assert!(matches!(provider.key(&request).await, Err(KeyLookupError::Unavailable(_))));
/// # });
/// ```
#[async_trait]
pub trait KeyProvider: Send + Sync + 'static {
    /// The one key that verifies a token with this `kid` and `alg`.
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError>;

    /// `true` when this provider picks keys by the token's `iss`
    /// ([`KeyRequest::issuer`]); the verifier then reads the (unverified)
    /// payload's `iss` before asking. Default `false`: the claims are read
    /// only after the signature verified.
    fn selects_by_issuer(&self) -> bool {
        false
    }
}

#[async_trait]
impl<P: KeyProvider + ?Sized> KeyProvider for Arc<P> {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        (**self).key(request).await
    }

    fn selects_by_issuer(&self) -> bool {
        (**self).selects_by_issuer()
    }
}
