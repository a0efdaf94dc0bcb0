//! Test support: signing keys, JWKS documents and tokens of any shape.
//!
//! Compiled only with the `testing` feature. Keys live in memory and are generated per call;
//! [`TokenBuilder`] deliberately produces hostile tokens too (a foreign `alg`, no `kid`,
//! `alg: none`, a payload that is not an object) so verifiers can be tested against them.
//!
//! One file a job: keys (`key`), tokens (`token`) and the verified-token
//! cache probe for benchmarks (`cache_probe`).
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

mod cache_probe;
mod key;
mod token;

use crate::backend::crypto::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

pub use self::cache_probe::TokenCacheProbe;
pub use self::key::{TestKey, jwks};
pub use self::token::TokenBuilder;
use crate::keys::Algorithm;

/// Base64url without padding, as JWS and JWK use.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The current time in whole seconds since the Unix epoch (the system
/// clock a verifier reads unless given its own).
pub fn now_secs() -> i64 {
    crate::clock::now_secs() as i64
}

/// `num_bytes` random bytes as lowercase hex (e.g. for opaque refresh tokens).
pub fn random_hex(num_bytes: usize) -> String {
    random_bytes(num_bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn alg_value(alg: Algorithm) -> Value {
    serde_json::to_value(alg).expect("Algorithm serializes to its JWA name")
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("system randomness");
    bytes
}
