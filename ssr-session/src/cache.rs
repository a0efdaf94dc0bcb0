//! The verified-token cache (its safety argument is in the crate docs).
//!
//! A hit is on every SSR request, so it is kept to one hash of the token,
//! one uncontended read lock, one comparison of the token's full bytes and
//! the time checks. The table is sharded (up to 16 shards), each shard a
//! hash table behind an `RwLock`, bounded by weight and evicting with the
//! CLOCK algorithm (a hit sets the entry's *referenced* bit; the eviction
//! hand spares referenced entries once, so recently used tokens stay).
//!
//! # Hashing
//!
//! The table's bucketing hash is foldhash, seeded at random per cache, over
//! the token's length and its last 32 bytes. It decides nothing about a
//! match: an entry is found only when the token's full bytes are equal to
//! the stored ones. A non-cryptographic hash opens one door, hash flooding
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
//! left the key set, is removed by the hit that finds it, by the eviction
//! hand, or by a sweep of its shard at most a minute later (on the next
//! insertion).

use std::collections::VecDeque;
use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use hashbrown::HashTable;

use crate::keys::VerifyingKey;
use crate::metrics::{self, Eviction};
use crate::session::Session;

/// Default capacity of the verified-token cache (weight units ≈ tokens).
pub const DEFAULT_TOKEN_CACHE_CAPACITY: u64 = 10_000;

/// The longest an entry is kept, whatever its token's lifetime (seconds).
const MAX_ENTRY_SECS: f64 = 3600.0;

/// How often (verifier clock seconds) a shard drops its dead entries.
const SWEEP_EVERY_SECS: f64 = 60.0;

/// At most this many shards; fewer for small capacities (≥ 256 units each).
const MAX_SHARDS: usize = 16;

/// The table's bucketing hasher (see the module docs).
type Hasher = foldhash::fast::RandomState;

/// How many of a token's last bytes the bucketing hash reads.
const HASHED_TAIL: usize = 32;

pub(crate) struct Verified<C> {
    pub session: Session<C>,
    pub exp: f64,
    pub nbf: Option<f64>,
    pub key: Weak<VerifyingKey>,
}

pub(crate) struct TokenCache<C> {
    hasher: Hasher,
    shards: Box<[RwLock<Shard<C>>]>,
}

struct Shard<C> {
    table: HashTable<Slot<C>>,
    /// The CLOCK ring: `(hash, id)` of entries, oldest first. May hold ids
    /// of entries removed since (skipped, and compacted away).
    ring: VecDeque<(u64, u64)>,
    weight: u64,
    capacity: u64,
    next_id: u64,
    next_sweep: f64,
}

struct Slot<C> {
    hash: u64,
    id: u64,
    token: Box<[u8]>,
    verified: Verified<C>,
    /// `min(exp, inserted + 1 h)`, on the verifier's clock.
    deadline: f64,
    weight: u64,
    referenced: AtomicBool,
}

impl<C> Slot<C> {
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

impl<C: Send + Sync + 'static> TokenCache<C> {
    pub(crate) fn new(capacity: u64) -> Self {
        let count = usize::try_from(capacity / 256)
            .unwrap_or(MAX_SHARDS)
            .clamp(1, MAX_SHARDS);
        let count = 1 << count.ilog2(); // a power of two
        let base = capacity / count as u64;
        let extra = capacity % count as u64;
        let shards = (0..count)
            .map(|index| {
                RwLock::new(Shard {
                    table: HashTable::new(),
                    ring: VecDeque::new(),
                    weight: 0,
                    capacity: base + u64::from((index as u64) < extra),
                    next_id: 0,
                    next_sweep: f64::NEG_INFINITY,
                })
            })
            .collect();
        Self {
            hasher: Hasher::default(),
            shards,
        }
    }

    /// The bucketing hash (see the module docs): length and tail only.
    fn hash(&self, token: &[u8]) -> u64 {
        let tail = &token[token.len().saturating_sub(HASHED_TAIL)..];
        self.hasher.hash_one((token.len(), tail))
    }

    /// The shard for `hash`: bits that neither the table's bucket index
    /// (low bits) nor its control bytes (top 7 bits) use.
    fn shard(&self, hash: u64) -> &RwLock<Shard<C>> {
        &self.shards[(hash >> 40) as usize & (self.shards.len() - 1)]
    }

    /// The cached session for `token`, if it is still usable at `now`.
    pub(crate) fn get(&self, token: &[u8], now: f64, leeway: f64) -> Option<Session<C>> {
        let hash = self.hash(token);
        let shard = self.shard(hash);
        let matches = |slot: &Slot<C>| slot.hash == hash && *slot.token == *token;
        {
            let guard = read(shard);
            let slot = guard.table.find(hash, matches)?;
            if slot.is_usable(now, leeway) {
                if !slot.referenced.load(Ordering::Relaxed) {
                    slot.referenced.store(true, Ordering::Relaxed);
                }
                return Some(slot.verified.session.clone());
            }
        }
        let mut guard = write(shard);
        if let Ok(entry) = guard.table.find_entry(hash, matches)
            && !entry.get().is_usable(now, leeway)
        {
            let (slot, _) = entry.remove();
            guard.weight -= slot.weight;
            metrics::cache_eviction(Eviction::Expired, 1);
        }
        None
    }

    /// Caches a verified token (at `now`, on the verifier's clock), making
    /// room if needed; a token whose deadline already passed is not kept.
    pub(crate) fn insert(&self, token: &[u8], verified: Verified<C>, now: f64) {
        let deadline = verified.exp.min(now + MAX_ENTRY_SECS);
        let weight = weigh(token.len());
        if now >= deadline {
            return;
        }
        let hash = self.hash(token);
        let mut guard = write(self.shard(hash));
        let shard = &mut *guard;
        if weight > shard.capacity {
            return;
        }
        if now >= shard.next_sweep {
            shard.sweep(now);
            shard.next_sweep = now + SWEEP_EVERY_SECS;
        }
        if let Ok(entry) = shard
            .table
            .find_entry(hash, |slot| slot.hash == hash && *slot.token == *token)
        {
            let (old, _) = entry.remove();
            shard.weight -= old.weight;
        }
        while shard.weight + weight > shard.capacity && shard.evict_one(now) {}
        if shard.weight + weight > shard.capacity {
            return;
        }
        let id = shard.next_id;
        shard.next_id += 1;
        shard.table.insert_unique(
            hash,
            Slot {
                hash,
                id,
                token: token.into(),
                verified,
                deadline,
                weight,
                referenced: AtomicBool::new(false),
            },
            |slot| slot.hash,
        );
        shard.weight += weight;
        shard.ring.push_back((hash, id));
        if shard.ring.len() > 2 * shard.table.len() + 16 {
            shard.compact_ring();
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.shards
            .iter()
            .map(|shard| read(shard).table.len() as u64)
            .sum()
    }
}

impl<C> Shard<C> {
    /// CLOCK: the oldest entry goes, unless it was used since the hand
    /// last passed (then it gets one more round). Dead entries go first
    /// whatever their bit. `false` when the shard is empty.
    fn evict_one(&mut self, now: f64) -> bool {
        while let Some((hash, id)) = self.ring.pop_front() {
            let Ok(mut entry) = self.table.find_entry(hash, |slot| slot.id == id) else {
                continue; // removed since
            };
            let slot = entry.get_mut();
            if slot.is_alive(now) && std::mem::take(slot.referenced.get_mut()) {
                self.ring.push_back((hash, id));
                continue;
            }
            let (slot, _) = entry.remove();
            self.weight -= slot.weight;
            metrics::cache_eviction(
                if slot.is_alive(now) {
                    Eviction::Capacity
                } else {
                    Eviction::Expired
                },
                1,
            );
            return true;
        }
        false
    }

    /// Drops entries past their deadline or whose key is gone.
    fn sweep(&mut self, now: f64) {
        let mut freed = 0;
        let mut removed = 0;
        self.table.retain(|slot| {
            let keep = slot.is_alive(now);
            if !keep {
                freed += slot.weight;
                removed += 1;
            }
            keep
        });
        self.weight -= freed;
        if removed > 0 {
            metrics::cache_eviction(Eviction::Expired, removed);
        }
        if freed > 0 {
            self.compact_ring();
        }
    }

    /// Drops the ring's ids of removed entries.
    fn compact_ring(&mut self) {
        let table = &self.table;
        self.ring
            .retain(|&(hash, id)| table.find(hash, |slot| slot.id == id).is_some());
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// 1 plus 1 per KiB of token.
fn weigh(token_len: usize) -> u64 {
    1 + (token_len / 1024) as u64
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

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
    fn shards_share_the_capacity_exactly() {
        for capacity in [0, 1, 15, 200, 256, 1000, 4097, 10_000, 1 << 40] {
            let cache = TokenCache::<()>::new(capacity);
            let total: u64 = cache.shards.iter().map(|s| read(s).capacity).sum();
            assert_eq!(total, capacity);
            assert!(cache.shards.len().is_power_of_two() && cache.shards.len() <= MAX_SHARDS);
        }
    }

    #[test]
    fn clock_spares_a_used_entry_once() {
        let key = key();
        let cache = TokenCache::new(3);
        for token in [b"a", b"b", b"c"] {
            cache.insert(token, verified(&key, 1e9), 0.0);
        }
        assert!(cache.get(b"a", 1.0, 0.0).is_some()); // `a` is referenced
        cache.insert(b"d", verified(&key, 1e9), 1.0); // evicts `b`, the oldest unused
        assert!(cache.get(b"a", 1.0, 0.0).is_some());
        assert!(cache.get(b"b", 1.0, 0.0).is_none());
        assert!(cache.get(b"c", 1.0, 0.0).is_some());
        assert!(cache.get(b"d", 1.0, 0.0).is_some());
        assert_eq!(cache.len(), 3);
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
        // The next insertion a minute on sweeps `doomed`, never hit again.
        cache.insert(b"other", verified(&key, 1e9), 10.0 + SWEEP_EVERY_SECS);
        assert_eq!(cache.len(), 2);
        assert_eq!(read(&cache.shards[0]).weight, 2);
        // An already expired token is not kept.
        cache.insert(b"expired", verified(&key, 5.0), 10.0);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn tokens_that_hash_alike_stay_apart() {
        // Same length and same tail: same bucket, different tokens.
        let key = key();
        let cache = TokenCache::new(100);
        let tail = [b'x'; HASHED_TAIL];
        let token = |head: &[u8]| [head, &tail[..]].concat();
        assert_eq!(cache.hash(&token(b"aaaa")), cache.hash(&token(b"bbbb")));
        cache.insert(&token(b"aaaa"), verified(&key, 1e9), 0.0);
        assert!(cache.get(&token(b"bbbb"), 1.0, 0.0).is_none());
        assert!(cache.get(&token(b"aaaa"), 1.0, 0.0).is_some());
        cache.insert(&token(b"bbbb"), verified(&key, 1e9), 0.0);
        assert_eq!(cache.len(), 2);
        // Shorter than the tail: all of it is hashed.
        assert_ne!(cache.hash(b"short-1"), cache.hash(b"short-2"));
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
    fn the_ring_stays_bounded_under_churn() {
        let key = key();
        let cache = TokenCache::new(4);
        for i in 0..10_000u32 {
            let token = i.to_le_bytes();
            cache.insert(&token, verified(&key, 1e9), 0.0);
            if i % 2 == 0 {
                // Removed by a failed hit, not by eviction.
                assert!(cache.get(&token, 1e10, 0.0).is_none());
            }
        }
        let shard = read(&cache.shards[0]);
        assert!(shard.table.len() <= 4);
        assert!(
            shard.ring.len() <= 2 * shard.table.len() + 17,
            "{}",
            shard.ring.len()
        );
        assert_eq!(shard.weight, shard.table.len() as u64);
    }
}
