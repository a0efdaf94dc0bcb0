//! The verified-token cache (its safety argument is in the crate docs).

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::keys::VerifyingKey;
use crate::outcome::Session;

/// Default capacity of the verified-token cache (weight units ≈ tokens).
pub const DEFAULT_TOKEN_CACHE_CAPACITY: u64 = 10_000;

/// The longest an entry is kept, whatever its token's lifetime.
const MAX_ENTRY_TTL: Duration = Duration::from_secs(3600);

pub(crate) struct Verified<C> {
    pub session: Session<C>,
    pub exp: f64,
    pub nbf: Option<f64>,
    pub key: Weak<VerifyingKey>,
}

/// The table's bucketing hasher: foldhash, seeded at random per cache.
///
/// moka's default (SipHash-1-3) costs about a cycle per byte, so hashing a
/// 1 KB token cost more than the rest of a hit. foldhash is several times
/// faster. It decides nothing about a match: entries are found by comparing
/// the token's full bytes. What a weaker hash could give an attacker is
/// hash flooding (many entries in one bucket), and that needs many
/// *inserted* tokens of chosen bytes; only tokens that passed the signature
/// check are inserted, whose bytes the attacker cannot choose, and the
/// random seed keeps the buckets unpredictable anyway.
type Hasher = foldhash::fast::RandomState;

pub(crate) struct TokenCache<C> {
    entries: moka::sync::Cache<Box<[u8]>, Arc<Verified<C>>, Hasher>,
}

struct UntilExpiry;

impl<C> moka::Expiry<Box<[u8]>, Arc<Verified<C>>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _token: &Box<[u8]>,
        verified: &Arc<Verified<C>>,
        _created_at: Instant,
    ) -> Option<Duration> {
        let remaining = verified.exp - crate::verify::now_secs();
        Some(Duration::from_secs_f64(
            remaining.clamp(0.0, MAX_ENTRY_TTL.as_secs_f64()),
        ))
    }
}

impl<C: Send + Sync + 'static> TokenCache<C> {
    pub(crate) fn new(capacity: u64) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .weigher(weigh)
                .expire_after(UntilExpiry)
                .build_with_hasher(Hasher::default()),
        }
    }

    /// The cached session for `token`, if it is still usable at `now`.
    pub(crate) fn get(&self, token: &[u8], now: f64, leeway: f64) -> Option<Session<C>> {
        let verified = self.entries.get(token)?;
        let key_alive = verified.key.strong_count() > 0;
        let in_time =
            now < verified.exp + leeway && verified.nbf.is_none_or(|nbf| nbf <= now + leeway);
        if key_alive && in_time {
            return Some(verified.session.clone());
        }
        self.entries.invalidate(token);
        None
    }

    pub(crate) fn insert(&self, token: &[u8], verified: Verified<C>) {
        self.entries.insert(token.into(), Arc::new(verified));
    }

    pub(crate) fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}

/// 1 plus 1 per KiB of token.
#[allow(clippy::borrowed_box)] // moka's weigher takes `&K`, and `K` is `Box<[u8]>`.
fn weigh<V>(token: &Box<[u8]>, _: &V) -> u32 {
    1 + u32::try_from(token.len() / 1024).unwrap_or(u32::MAX - 1)
}
