//! The state the request path reads and the follower writes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ssr_session::{MemoryRevocations, revocation::RevocationError};
use tokio::sync::watch;

use crate::error::RedisRevocationsError;
use crate::settings::FailureMode;

/// `last_sync` before the first load.
const NEVER: u64 = u64::MAX;

/// The follower's lifecycle, for [`ready`](crate::RedisRevocations::ready).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Loading,
    Loaded,
    Stopped,
}

pub(crate) struct Shared {
    pub memory: MemoryRevocations,
    pub failure: FailureMode,
    /// The origin of `last_sync`: a monotonic clock, so that a wall-clock
    /// step never makes a stale set look fresh.
    origin: Instant,
    /// Nanoseconds after `origin` at which the set was last known to hold
    /// every revocation in Redis, or `NEVER`.
    last_sync: AtomicU64,
    /// The follower is connected and has (re)loaded the set.
    following: AtomicBool,
    pub phase: watch::Sender<Phase>,
}

impl Shared {
    pub fn new(retention: Duration, failure: FailureMode) -> Self {
        Self {
            memory: MemoryRevocations::new(retention),
            failure,
            origin: Instant::now(),
            last_sync: AtomicU64::new(NEVER),
            following: AtomicBool::new(false),
            phase: watch::Sender::new(Phase::Loading),
        }
    }

    /// Records that the set held everything in Redis at `at`. Only the
    /// follower calls this, one request after the other, so the marks
    /// arrive in order.
    pub fn synced_at(&self, at: Instant) {
        let nanos = u64::try_from(at.saturating_duration_since(self.origin).as_nanos())
            .unwrap_or(NEVER - 1);
        self.last_sync.store(nanos, Ordering::Release);
    }

    pub fn set_following(&self, following: bool) {
        self.following.store(following, Ordering::Release);
    }

    pub fn is_following(&self) -> bool {
        self.following.load(Ordering::Acquire)
    }

    /// Time since the set was last known current; `None` before the first
    /// load.
    pub fn staleness(&self) -> Option<Duration> {
        let at = self.last_sync.load(Ordering::Acquire);
        (at != NEVER).then(|| {
            self.origin
                .elapsed()
                .saturating_sub(Duration::from_nanos(at))
        })
    }

    /// Whether the set may be used to answer now. The staleness is
    /// measured on the monotonic clock; what is revoked is judged at the
    /// verifier's time, which the caller has.
    pub fn check(&self) -> Result<(), RevocationError> {
        let elapsed = self.origin.elapsed();
        let at = self.last_sync.load(Ordering::Acquire);
        if at == NEVER {
            return Err(RedisRevocationsError::NotLoaded.into());
        }
        let age = elapsed.saturating_sub(Duration::from_nanos(at));
        let limit = self.failure.max_staleness();
        if age > limit {
            return Err(RevocationError::Stale { age, limit });
        }
        if self.failure.is_closed() && !self.is_following() {
            return Err(RedisRevocationsError::Disconnected.into());
        }
        Ok(())
    }
}

/// The wall clock in seconds since the Unix epoch, as `MemoryRevocations`
/// and token claims count time.
pub(crate) fn unix_now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}
