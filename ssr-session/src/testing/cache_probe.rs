//! [`TokenCacheProbe`]: the verified-token cache on its own, for benchmarks.

use std::sync::Arc;

use crate::cache::{TokenCache, Verified};
use crate::keys::{Algorithm, VerifyingKey};
use crate::session::{Session, SessionFacts};

/// The verifier's verified-token cache on its own (the same code a
/// [`Verifier`](crate::Verifier) runs), for benchmarks that compare it
/// with other designs. Every entry holds a session of user `u` and the
/// probe's one key (weakly, as in a verifier); time is the caller's, in
/// seconds.
pub struct TokenCacheProbe {
    cache: TokenCache<()>,
    key: Arc<VerifyingKey>,
}

// By hand: the cache holds tokens, which are never printed.
impl std::fmt::Debug for TokenCacheProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCacheProbe")
            .field("len", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl TokenCacheProbe {
    /// An empty cache of `capacity` weight units.
    pub fn new(capacity: u64) -> Self {
        let key = VerifyingKey::from_symmetric_secret(&[7; 32], Algorithm::HS256)
            .expect("a 32-byte HMAC secret");
        Self {
            cache: TokenCache::new(capacity),
            key: Arc::new(key),
        }
    }

    /// Caches `token` as verified at `now`, valid until `exp`.
    pub fn insert(&self, token: &[u8], exp: f64, now: f64) {
        let facts = SessionFacts {
            expires_at: exp as i64,
            issued_at: None,
            session_handle: None,
            anti_csrf_token: None,
        };
        let verified = Verified {
            session: Session::new("u".into(), (), facts),
            exp,
            nbf: None,
            key: Arc::downgrade(&self.key),
        };
        self.cache.insert(token, verified, now);
    }

    /// The cached session of `token` at `now` (no leeway), as a hit gives it.
    pub fn get(&self, token: &[u8], now: f64) -> Option<Session<()>> {
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
