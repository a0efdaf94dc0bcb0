//! The verified-token cache: the verifier's own (`ssr_session::testing::
//! TokenCacheProbe`, the very same code: `quick_cache` since issue 22, with
//! the verifier's weight, hasher, checks and eviction hooks) against
//! `moka::sync::Cache` and a bare `quick_cache::sync::Cache` holding the
//! same entries, keyed by the token with a hasher that reads only its
//! length and last 32 bytes (signature) with foldhash, as the verifier's
//! does, and weighted as it is (1 + a unit per KiB of token, under the same
//! bound). All check `exp`, the entry's deadline and the key's liveness on
//! a hit and hand out the session by reference count. (The hand-written
//! cache it replaced is gone; its figures are in BENCHMARKS.md.)
//!
//! `cargo bench -p ssr-session-benches --bench token_cache`; the paired
//! ratios (moka / ours and bare quick_cache / ours, per hit) are printed at
//! the end.

use std::hash::{Hash, Hasher};
use std::hint::black_box;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use moka::Expiry;
use ssr_session::testing::{TestKey, TokenBuilder, TokenCacheProbe, now_secs};
use ssr_session::{Session, keys::Algorithm};
use ssr_session_benches::paired;

/// Tokens in the large case (the verifier's default capacity; both caches get twice that, so that neither evicts).
const MANY: usize = 10_000;
/// How many of a token's last bytes are hashed.
const HASHED_TAIL: usize = 32;

/// A token as a moka key, hashed over its length and tail only. Equality
/// is over all its bytes.
#[derive(PartialEq, Eq)]
struct TokenKey(Box<[u8]>);

/// A borrowed token to look a [`TokenKey`] up with.
struct TokenRef<'a>(&'a [u8]);

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

// moka and quick_cache both re-export the `equivalent` crate's trait: one
// implementation serves both lookups.
impl moka::Equivalent<TokenKey> for TokenRef<'_> {
    fn equivalent(&self, key: &TokenKey) -> bool {
        *self.0 == *key.0
    }
}

/// What the verifier caches for a token.
struct Entry {
    session: Session<()>,
    exp: f64,
    deadline: f64,
    key: Weak<()>,
}

/// Each entry lives until its own deadline (wall clock, like the tokens).
struct UntilDeadline;

impl Expiry<TokenKey, Arc<Entry>> for UntilDeadline {
    fn expire_after_create(
        &self,
        _key: &TokenKey,
        entry: &Arc<Entry>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs_f64((entry.deadline - now()).max(0.0)))
    }
}

/// The moka design.
struct MokaTokenCache {
    cache: moka::sync::Cache<TokenKey, Arc<Entry>, foldhash::fast::RandomState>,
}

impl MokaTokenCache {
    fn new(capacity: u64) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .weigher(|key: &TokenKey, _: &Arc<Entry>| 1 + (key.0.len() / 1024) as u32)
            .expire_after(UntilDeadline)
            .build_with_hasher(foldhash::fast::RandomState::default());
        Self { cache }
    }

    fn insert(&self, token: &[u8], entry: Entry) {
        self.cache.insert(TokenKey(token.into()), Arc::new(entry));
    }

    fn get(&self, token: &[u8], now: f64) -> Option<Session<()>> {
        let entry = self.cache.get(&TokenRef(token))?;
        (now < entry.deadline && now < entry.exp && entry.key.strong_count() > 0)
            .then(|| entry.session.clone())
    }
}

/// The verifier's weight: 1 + a unit per KiB of token.
#[derive(Clone)]
struct TokenWeight;

impl quick_cache::Weighter<TokenKey, Arc<Entry>> for TokenWeight {
    fn weight(&self, key: &TokenKey, _: &Arc<Entry>) -> u64 {
        1 + (key.0.len() / 1024) as u64
    }
}

/// The quick_cache design (no time-based expiry of its own: the deadline is
/// checked on a hit, as the others do, and stale entries go by eviction).
struct QuickTokenCache {
    cache: quick_cache::sync::Cache<TokenKey, Arc<Entry>, TokenWeight, foldhash::fast::RandomState>,
}

impl QuickTokenCache {
    fn new(capacity: u64) -> Self {
        let cache = quick_cache::sync::Cache::with(
            capacity as usize,
            capacity,
            TokenWeight,
            foldhash::fast::RandomState::default(),
            quick_cache::sync::DefaultLifecycle::default(),
        );
        Self { cache }
    }

    fn insert(&self, token: &[u8], entry: Entry) {
        self.cache.insert(TokenKey(token.into()), Arc::new(entry));
    }

    fn get(&self, token: &[u8], now: f64) -> Option<Session<()>> {
        let entry = self.cache.get(&TokenRef(token))?;
        (now < entry.deadline && now < entry.exp && entry.key.strong_count() > 0)
            .then(|| entry.session.clone())
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn benches(c: &mut Criterion) {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let tokens: Vec<Vec<u8>> = (0..MANY)
        .map(|i| {
            TokenBuilder::supertokens(&format!("user-{i}"), 3600)
                .sign(&key)
                .into_bytes()
        })
        .collect();
    let start = now_secs() as f64;
    let exp = start + 3600.0;
    // The moka entries hold a session taken from the verifier's cache
    // (the same `Session<()>` type) and a key of their own.
    let moka_key = Arc::new(());
    let fill = |count: usize| {
        let ours = TokenCacheProbe::new(2 * MANY as u64);
        let moka = MokaTokenCache::new(2 * MANY as u64);
        let quick = QuickTokenCache::new(2 * MANY as u64);
        for token in &tokens[..count] {
            ours.insert(token, exp, start);
            let session = ours.get(token, start).expect("just cached");
            let entry = || Entry {
                session: session.clone(),
                exp,
                deadline: start + 3600.0,
                key: Arc::downgrade(&moka_key),
            };
            moka.insert(token, entry());
            quick.insert(token, entry());
        }
        moka.cache.run_pending_tasks();
        assert_eq!(ours.len(), count as u64);
        assert_eq!(moka.cache.entry_count(), count as u64);
        assert_eq!(quick.cache.len(), count);
        (ours, moka, quick)
    };
    let now = start + 1.0;
    let mut summary = Vec::new();
    for (name, count) in [("hit_1", 1), ("hit_10000", MANY)] {
        let (ours, moka, quick) = fill(count);
        for token in &tokens[..count] {
            assert!(ours.get(token, now).is_some());
            assert!(moka.get(token, now).is_some());
            assert!(quick.get(token, now).is_some());
        }
        // A miss with the same length and tail as a cached token.
        let mut forged = tokens[0].clone();
        forged[0] ^= 1;
        assert!(ours.get(&forged, now).is_none());
        assert!(moka.get(&forged, now).is_none());
        assert!(quick.get(&forged, now).is_none());

        let mut group = c.benchmark_group(format!("token_cache/{name}"));
        let mut i = 0;
        group.bench_function("ours", |b| {
            b.iter(|| {
                i = (i + 1) % count;
                ours.get(black_box(&tokens[i]), now)
            })
        });
        let mut i = 0;
        group.bench_function("moka", |b| {
            b.iter(|| {
                i = (i + 1) % count;
                moka.get(black_box(&tokens[i]), now)
            })
        });
        let mut i = 0;
        group.bench_function("quick_cache", |b| {
            b.iter(|| {
                i = (i + 1) % count;
                quick.get(black_box(&tokens[i]), now)
            })
        });
        group.finish();
        let (mut i, mut j) = (0, 0);
        let quick_ratio = paired(
            21,
            Duration::from_millis(40),
            &mut || {
                i = (i + 1) % count;
                black_box(quick.get(&tokens[i], now));
            },
            &mut || {
                j = (j + 1) % count;
                black_box(ours.get(&tokens[j], now));
            },
        );
        summary.push((name, "quick_cache", quick_ratio));
        let (mut i, mut j) = (0, 0);
        let ratio = paired(
            21,
            Duration::from_millis(40),
            &mut || {
                i = (i + 1) % count;
                black_box(moka.get(&tokens[i], now));
            },
            &mut || {
                j = (j + 1) % count;
                black_box(ours.get(&tokens[j], now));
            },
        );
        summary.push((name, "moka", ratio));
    }
    // Two threads hitting the same 10,000 tokens at once (contention on
    // the shard locks, moka's read buffers).
    let (ours, moka, quick) = fill(MANY);
    for (name, hit) in [
        (
            "ours",
            &(|token: &[u8]| ours.get(token, now).is_some()) as &(dyn Fn(&[u8]) -> bool + Sync),
        ),
        ("moka", &|token: &[u8]| moka.get(token, now).is_some()),
        ("quick_cache", &|token: &[u8]| {
            quick.get(token, now).is_some()
        }),
    ] {
        let rounds = 2_000_000;
        let started = Instant::now();
        std::thread::scope(|scope| {
            for offset in [0, MANY / 2] {
                let tokens = &tokens;
                scope.spawn(move || {
                    for n in 0..rounds {
                        assert!(hit(&tokens[(n + offset) % MANY]));
                    }
                });
            }
        });
        let per_hit = started.elapsed().as_nanos() as f64 / rounds as f64;
        println!("token_cache/two_threads/{name}: {per_hit:.0} ns per hit per thread");
    }
    for (name, other, ratio) in summary {
        println!(
            "token_cache/{name}: {other} / ours, paired: {:.2}x (quartiles {:.2}..{:.2}); \
             {:.1} ns vs {:.1} ns",
            ratio.ratio, ratio.ratio_quartiles.0, ratio.ratio_quartiles.1, ratio.a_ns, ratio.b_ns
        );
    }
}

criterion_group!(token_cache, benches);
criterion_main!(token_cache);
