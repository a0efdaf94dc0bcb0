//! The verified-token cache (its safety argument is in the crate docs).
//!
//! A hit is on every SSR request, so it is kept to one hash of the token,
//! one uncontended read lock, one comparison of the token's full bytes,
//! the time checks and two reference counts (the entry's, the session's).
//! The table is `quick_cache`'s sharded cache (hot and cold entries, CLOCK-
//! PRO style: an entry hit since it was cached is spared once), bounded by
//! weight. It replaced a hand-written CLOCK cache once it came within
//! 1.34× of it per hit at one entry and 1.03× at 10,000 (BENCHMARKS.md,
//! issue 22).
//!
//! # Hashing
//!
//! The table's hash is foldhash, seeded at random per cache, over the
//! token's length and its last 32 bytes. It decides nothing about a match:
//! an entry is found only when the token's full bytes are equal to the
//! stored ones. A non-cryptographic hash opens one door, hash flooding
//! (many entries in one bucket), and that needs many *inserted* tokens that
//! hash alike. Only tokens that passed the signature check are inserted,
//! and the last 32 bytes of a compact JWS are signature (the shortest, an
//! HMAC-SHA256 one, is 43 characters), which the attacker cannot choose for
//! a token the issuer signed; the random seed keeps buckets unpredictable
//! anyway. A token crafted to share a cached token's tail costs its lookup
//! one byte comparison that fails early, no more. Hashing the tail only
//! keeps a hit's cost independent of the token's size: hashing all of a
//! 1 KB token took more instructions than the rest of the hit. (SipHash,
//! std's and moka's default, costs about a cycle per byte.)
//!
//! # Time
//!
//! Every hit re-checks `exp` and `nbf` against the verifier's clock and
//! leeway, and the entry's own deadline: at most the token's remaining
//! lifetime, and at most an hour. An entry past its deadline, or whose key
//! left the key set, is removed by the hit that finds it, by eviction, or
//! by a sweep of the whole cache at most a minute later (on the next
//! insertion): `quick_cache` has no expiry of its own.

use std::cell::Cell;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use quick_cache::{Equivalent, Lifecycle, OptionsBuilder, Weighter};

use crate::keys::VerifyingKey;
use crate::metrics::{self, Eviction};
use crate::session::Session;

/// Default capacity of the verified-token cache (weight units ≈ tokens).
pub const DEFAULT_TOKEN_CACHE_CAPACITY: u64 = 10_000;

/// The longest an entry is kept, whatever its token's lifetime (seconds).
const MAX_ENTRY_SECS: f64 = 3600.0;

/// How often (verifier clock seconds) the cache drops its dead entries.
const SWEEP_EVERY_SECS: f64 = 60.0;

/// At most this many shards; fewer for small capacities (≥ 256 units each).
const MAX_SHARDS: u64 = 16;

/// The table's hasher (see the module docs).
type BucketHasher = foldhash::fast::RandomState;

/// How many of a token's last bytes the hash reads.
const HASHED_TAIL: usize = 32;

pub(crate) struct Verified<C> {
    pub session: Session<C>,
    pub exp: f64,
    pub nbf: Option<f64>,
    pub key: Weak<VerifyingKey>,
}

struct Entry<C> {
    verified: Verified<C>,
    /// `min(exp, inserted + 1 h)`, on the verifier's clock.
    deadline: f64,
}

impl<C> Entry<C> {
    fn is_usable(&self, now: f64, leeway: f64) -> bool {
        let v = &self.verified;
        now < self.deadline + leeway
            && now < v.exp + leeway
            && v.nbf.is_none_or(|nbf| nbf <= now + leeway)
            && v.key.strong_count() > 0
    }

    /// Worth keeping at all (a sweep drops the rest).
    fn is_alive(&self, now: f64) -> bool {
        now < self.deadline && self.verified.key.strong_count() > 0
    }
}

/// A cached token: equal only to the same bytes, hashed over its tail.
#[derive(PartialEq, Eq)]
struct TokenKey(Box<[u8]>);

/// A request's token, to look a [`TokenKey`] up without copying it.
struct TokenRef<'a>(&'a [u8]);

/// The hash both key forms share (see the module docs): length and tail.
fn hash_tail<H: Hasher>(token: &[u8], state: &mut H) {
    state.write_usize(token.len());
    state.write(&token[token.len().saturating_sub(HASHED_TAIL)..]);
}

impl Hash for TokenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_tail(&self.0, state);
    }
}

impl Hash for TokenRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_tail(self.0, state);
    }
}

impl Equivalent<TokenKey> for TokenRef<'_> {
    fn equivalent(&self, key: &TokenKey) -> bool {
        *self.0 == *key.0
    }
}

/// 1 plus 1 per KiB of token.
#[derive(Clone)]
struct TokenWeight;

impl<C> Weighter<TokenKey, Arc<Entry<C>>> for TokenWeight {
    fn weight(&self, key: &TokenKey, _: &Arc<Entry<C>>) -> u64 {
        weigh(key.0.len())
    }
}

/// Hands the entries an insertion evicted back to it (out of the shard's
/// lock), which then tells capacity from expiry for the metrics: judging
/// needs the verifier's clock, which the cache does not have.
struct Evictions<C>(PhantomData<fn() -> C>);

impl<C> Clone for Evictions<C> {
    fn clone(&self) -> Self {
        Self(PhantomData)
    }
}

impl<C> Lifecycle<TokenKey, Arc<Entry<C>>> for Evictions<C> {
    /// Empty (no allocation) unless the insertion evicted something.
    type RequestState = Vec<Arc<Entry<C>>>;

    fn begin_request(&self) -> Self::RequestState {
        Vec::new()
    }

    fn on_evict(&self, evicted: &mut Self::RequestState, _: TokenKey, entry: Arc<Entry<C>>) {
        evicted.push(entry);
    }
}

type Table<C> =
    quick_cache::sync::Cache<TokenKey, Arc<Entry<C>>, TokenWeight, BucketHasher, Evictions<C>>;

pub(crate) struct TokenCache<C> {
    table: Table<C>,
    /// The heaviest entry a shard takes (heavier ones are not kept).
    shard_capacity: u64,
    /// When (verifier clock, `f64` bits) the next insertion sweeps.
    next_sweep: AtomicU64,
}

impl<C: Send + Sync + 'static> TokenCache<C> {
    pub(crate) fn new(capacity: u64) -> Self {
        let shards = (capacity / 256).clamp(1, MAX_SHARDS);
        let shards = 1 << shards.ilog2(); // a power of two, as quick_cache uses
        // quick_cache gives each shard the capacity divided by the shard
        // count, rounded up: a multiple of the count keeps the sum within
        // the bound.
        let weight = capacity - capacity % shards;
        let options = OptionsBuilder::new()
            .shards(shards as usize)
            .estimated_items_capacity(usize::try_from(capacity).unwrap_or(usize::MAX))
            .weight_capacity(weight)
            .build()
            .expect("both required options are set");
        let table = Table::with_options(
            options,
            TokenWeight,
            BucketHasher::default(),
            Evictions(PhantomData),
        );
        Self {
            shard_capacity: table.shard_capacity(),
            table,
            next_sweep: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
        }
    }

    /// The cached session for `token`, if it is still usable at `now`.
    pub(crate) fn get(&self, token: &[u8], now: f64, leeway: f64) -> Option<Session<C>> {
        let entry = self.table.get(&TokenRef(token))?;
        if entry.is_usable(now, leeway) {
            return Some(entry.verified.session.clone());
        }
        // Only this entry: another request may have cached a fresh one since.
        if self
            .table
            .remove_if(&TokenRef(token), |found| Arc::ptr_eq(found, &entry))
            .is_some()
        {
            metrics::cache_eviction(Eviction::Expired, 1);
        }
        None
    }

    /// Caches a verified token (at `now`, on the verifier's clock), making
    /// room if needed; a token whose deadline already passed is not kept.
    pub(crate) fn insert(&self, token: &[u8], verified: Verified<C>, now: f64) {
        let deadline = verified.exp.min(now + MAX_ENTRY_SECS);
        if now >= deadline || weigh(token.len()) > self.shard_capacity {
            return;
        }
        self.sweep_if_due(now);
        let entry = Arc::new(Entry { verified, deadline });
        let evicted = self
            .table
            .insert_with_lifecycle(TokenKey(token.into()), entry.clone());
        let (mut capacity, mut expired) = (0, 0);
        for gone in &evicted {
            if Arc::ptr_eq(gone, &entry) {
                continue; // refused: too heavy for a shard's share
            }
            if gone.is_alive(now) {
                capacity += 1;
            } else {
                expired += 1;
            }
        }
        if capacity > 0 {
            metrics::cache_eviction(Eviction::Capacity, capacity);
        }
        if expired > 0 {
            metrics::cache_eviction(Eviction::Expired, expired);
        }
    }

    /// Drops entries past their deadline or whose key is gone, when the
    /// last sweep is a minute old (by `now`); one insertion does it.
    fn sweep_if_due(&self, now: f64) {
        let due = self.next_sweep.load(Ordering::Relaxed);
        if now < f64::from_bits(due)
            || self
                .next_sweep
                .compare_exchange(
                    due,
                    (now + SWEEP_EVERY_SECS).to_bits(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        let removed = Cell::new(0);
        self.table.retain(|_, entry| {
            let keep = entry.is_alive(now);
            if !keep {
                removed.set(removed.get() + 1);
            }
            keep
        });
        if removed.get() > 0 {
            metrics::cache_eviction(Eviction::Expired, removed.get());
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.table.len() as u64
    }
}

/// 1 plus 1 per KiB of token.
fn weigh(token_len: usize) -> u64 {
    1 + (token_len / 1024) as u64
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher as _;

    use super::*;

    fn verified(key: &Arc<VerifyingKey>, exp: f64) -> Verified<()> {
        Verified {
            session: Session::new(
                "u".into(),
                (),
                crate::session::SessionFacts {
                    expires_at: exp as i64,
                    issued_at: None,
                    session_handle: None,
                    anti_csrf_token: None,
                },
            ),
            exp,
            nbf: None,
            key: Arc::downgrade(key),
        }
    }

    fn key() -> Arc<VerifyingKey> {
        Arc::new(
            VerifyingKey::from_symmetric_secret(&[7; 32], crate::keys::Algorithm::HS256).unwrap(),
        )
    }

    #[test]
    fn shards_never_hold_more_than_the_capacity() {
        for capacity in [0, 1, 15, 200, 256, 1000, 4097, 10_000, 1 << 40] {
            let cache = TokenCache::<()>::new(capacity);
            let total = cache.table.capacity();
            let shards = cache.table.num_shards() as u64;
            assert!(total <= capacity, "{total} > {capacity}");
            assert!(total + shards > capacity, "{total} for {capacity}");
            assert!(shards.is_power_of_two() && shards <= MAX_SHARDS);
            assert_eq!(cache.shard_capacity * shards, total);
        }
    }

    #[test]
    fn a_full_cache_stays_within_its_weight() {
        let key = key();
        let cache = TokenCache::new(1000);
        let heavy = vec![b'h'; 3 * 1024]; // weighs 4
        for i in 0..5_000u32 {
            let mut token = if i % 3 == 0 {
                heavy.clone()
            } else {
                Vec::new()
            };
            token.extend_from_slice(&i.to_le_bytes());
            cache.insert(&token, verified(&key, 1e9), 0.0);
            assert!(cache.table.weight() <= 1000);
        }
        assert!(cache.len() > 100, "{}", cache.len());
        // The newest token stays: an insertion evicts others to make room.
        let mut last = Vec::new();
        last.extend_from_slice(&4_999u32.to_le_bytes());
        assert!(cache.get(&last, 1.0, 0.0).is_some());
    }

    #[test]
    fn a_capacity_of_one_keeps_the_newest_token() {
        let key = key();
        let cache = TokenCache::new(1);
        for token in [b"a", b"b", b"c"] {
            cache.insert(token, verified(&key, 1e9), 0.0);
            assert!(cache.get(token, 1.0, 0.0).is_some());
            assert_eq!(cache.len(), 1);
        }
        assert!(cache.get(b"a", 1.0, 0.0).is_none());
        // Heavier than the whole capacity: not kept, nothing evicted for it.
        cache.insert(&[b'x'; 2048], verified(&key, 1e9), 0.0);
        assert!(cache.get(b"c", 1.0, 0.0).is_some());
        assert_eq!(cache.len(), 1);
        assert_eq!(TokenCache::<()>::new(0).shard_capacity, 0);
    }

    #[test]
    fn entries_end_at_their_deadline_and_sweeps_free_them() {
        let key = key();
        let cache = TokenCache::new(100);
        cache.insert(b"short", verified(&key, 50.0), 0.0);
        cache.insert(b"long", verified(&key, 1e9), 0.0);
        assert!(cache.get(b"short", 49.0, 0.0).is_some());
        assert!(cache.get(b"short", 50.0, 0.0).is_none());
        // At most an hour, whatever `exp` says.
        assert!(cache.get(b"long", MAX_ENTRY_SECS - 1.0, 0.0).is_some());
        assert!(cache.get(b"long", MAX_ENTRY_SECS, 0.0).is_none());
        cache.insert(b"late", verified(&key, 1e9), 10.0);
        cache.insert(b"doomed", verified(&key, 20.0), 10.0);
        assert_eq!(cache.len(), 2);
        // Within the minute, no sweep.
        cache.insert(b"early", verified(&key, 1e9), 30.0);
        assert_eq!(cache.len(), 3);
        // The next insertion a minute on sweeps `doomed`, never hit again.
        cache.insert(b"other", verified(&key, 1e9), 10.0 + SWEEP_EVERY_SECS);
        assert_eq!(cache.len(), 3);
        assert!(
            cache.get(b"doomed", 0.0, 0.0).is_none(),
            "gone, not just stale"
        );
        assert_eq!(cache.table.weight(), 3);
        // An already expired token is not kept.
        cache.insert(b"expired", verified(&key, 5.0), 10.0);
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn tokens_that_hash_alike_stay_apart() {
        // Same length and same tail: same bucket, different tokens.
        let key = key();
        let cache = TokenCache::new(100);
        let hasher = BucketHasher::default();
        let hash = |token: &[u8]| hasher.hash_one(TokenRef(token));
        let tail = [b'x'; HASHED_TAIL];
        let token = |head: &[u8]| [head, &tail[..]].concat();
        assert_eq!(hash(&token(b"aaaa")), hash(&token(b"bbbb")));
        assert_eq!(
            hash(&token(b"aaaa")),
            hasher.hash_one(TokenKey(token(b"aaaa").into()))
        );
        cache.insert(&token(b"aaaa"), verified(&key, 1e9), 0.0);
        assert!(cache.get(&token(b"bbbb"), 1.0, 0.0).is_none());
        assert!(cache.get(&token(b"aaaa"), 1.0, 0.0).is_some());
        cache.insert(&token(b"bbbb"), verified(&key, 1e9), 0.0);
        assert_eq!(cache.len(), 2);
        // Shorter than the tail: all of it is hashed.
        assert_ne!(hash(b"short-1"), hash(b"short-2"));
    }

    #[test]
    fn a_dropped_key_ends_its_entries() {
        let key = key();
        let cache = TokenCache::new(100);
        cache.insert(b"t", verified(&key, 1e9), 0.0);
        assert!(cache.get(b"t", 1.0, 0.0).is_some());
        drop(key);
        assert!(cache.get(b"t", 1.0, 0.0).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_stale_hit_removes_only_its_own_entry() {
        let key = key();
        let cache = TokenCache::new(100);
        cache.insert(b"t", verified(&key, 50.0), 0.0);
        assert!(cache.get(b"t", 60.0, 0.0).is_none());
        assert_eq!(cache.len(), 0);
        // Re-verified later: the fresh entry serves.
        cache.insert(b"t", verified(&key, 1e9), 60.0);
        assert!(cache.get(b"t", 61.0, 0.0).is_some());
        assert_eq!(cache.len(), 1);
    }

    /// The eviction counters, by reason, through a recorder of this thread.
    #[cfg(feature = "metrics")]
    #[test]
    fn evictions_are_counted_by_reason() {
        use std::sync::Mutex;

        use ::metrics::{Counter, CounterFn, Key, KeyName, Metadata, Recorder, SharedString};

        #[derive(Default)]
        struct Evictions(Mutex<Vec<(String, u64)>>);
        struct Reason(Arc<Evictions>, String);
        impl CounterFn for Reason {
            fn increment(&self, count: u64) {
                self.0.0.lock().unwrap().push((self.1.clone(), count));
            }
            fn absolute(&self, _: u64) {}
        }
        struct Counting(Arc<Evictions>);
        impl Recorder for Counting {
            fn describe_counter(&self, _: KeyName, _: Option<::metrics::Unit>, _: SharedString) {}
            fn describe_gauge(&self, _: KeyName, _: Option<::metrics::Unit>, _: SharedString) {}
            fn describe_histogram(&self, _: KeyName, _: Option<::metrics::Unit>, _: SharedString) {}
            fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
                let reason = key.labels().map(|label| label.value().to_owned()).collect();
                Counter::from_arc(Arc::new(Reason(self.0.clone(), reason)))
            }
            fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> ::metrics::Gauge {
                ::metrics::Gauge::noop()
            }
            fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> ::metrics::Histogram {
                ::metrics::Histogram::noop()
            }
        }

        let seen = Arc::new(Evictions::default());
        let recorder = Counting(seen.clone());
        ::metrics::with_local_recorder(&recorder, || {
            let key = key();
            let cache = TokenCache::new(1);
            for token in [b"a", b"b"] {
                cache.insert(token, verified(&key, 1e9), 0.0);
            }
            // `c` is past its deadline when `d` needs its room.
            cache.insert(b"c", verified(&key, 5.0), 0.0);
            cache.insert(b"d", verified(&key, 1e9), 10.0);
            assert!(cache.get(b"d", 1e10, 0.0).is_none());
            // Too heavy for the cache: not kept, and no eviction.
            cache.insert(&[b'x'; 2048], verified(&key, 1e9), 0.0);
            // Within the shard's weight but over quick_cache's share for
            // one entry (97 %): refused by quick_cache, still no eviction.
            let cache = TokenCache::new(17);
            cache.insert(b"a", verified(&key, 1e9), 0.0);
            cache.insert(&[b'x'; 16 * 1024], verified(&key, 1e9), 0.0);
            assert_eq!(cache.len(), 1);
            assert!(cache.get(b"a", 1.0, 0.0).is_some());
        });
        let seen = seen.0.lock().unwrap();
        let reasons: Vec<(&str, u64)> = seen.iter().map(|(r, n)| (r.as_str(), *n)).collect();
        assert_eq!(
            reasons,
            [
                ("capacity", 1),
                ("capacity", 1),
                ("expired", 1),
                ("expired", 1)
            ]
        );
    }
}
