//! The retry queue and the journal: what this replica wrote, until Redis
//! holds it.
//!
//! - **The queue**: revocations Redis did not acknowledge in time, already in
//!   force on this replica, written again in the background (oldest first, with
//!   a backoff) until Redis takes them. Bounded
//!   ([`retry_queue`](crate::RedisRevocationsBuilder::retry_queue)): a
//!   revocation that does not fit is still applied on this replica, and its
//!   caller is told so ([`RedisRevocationsError::QueueFull`]); nothing already
//!   queued is ever pushed out.
//! - **The journal**: the revocations Redis did acknowledge from this
//!   replica within the retention (at most as many as the queue holds).
//!   Every second the oldest and the newest are looked up in the stream;
//!   when Redis no longer has one of them although, by Redis' clock, its
//!   retention has not ended (restarted empty or flushed: the oldest is
//!   gone; restarted from a file that missed the last second, or failed
//!   over to a replica that had not received it: the newest), Redis lost
//!   data, and the whole journal is queued to be written again, so
//!   replicas that missed it and replicas started afterwards learn it. An
//!   entry the trim or the key's expiry removed on time is not lost: the
//!   journal dates entries in whole seconds, rounded up, so it keeps each
//!   one up to a second or two after Redis drops it, and taking that for a
//!   loss would write every journaled revocation again, each time re-dated
//!   a retention later (see [`crate::stream::LOST`]).
//!
//! An entry is dropped unwritten only once its retention has passed (no
//! token it could match is still valid then) or when the process ends.
//! Writing an entry twice is harmless (a timed-out write may have been
//! stored after all): replicas merge revocations, keeping the later expiry.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ssr_session::Revocation;
use tokio::sync::{Notify, watch};

use crate::entry::made_at;
use crate::error::RedisRevocationsError;
use crate::shared::{Shared, unix_now};

/// The first delay before a queued revocation is written again; doubled on
/// every failure.
const RETRY_MIN: Duration = Duration::from_millis(100);
/// The longest delay between two attempts, so that a Redis that comes back
/// gets the queue within about this long.
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How often the journal's oldest and newest entries are looked up in Redis.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How many failed attempts in a row between two log lines.
const REMIND_EVERY: u32 = 15;

/// The revocations waiting for Redis, and those it took.
pub(crate) struct Outbox {
    queue: Mutex<VecDeque<Pending>>,
    journal: Mutex<VecDeque<Written>>,
    capacity: usize,
    /// Seconds a revocation is kept; a queued one older than that is moot.
    retention: i64,
    /// Something was queued, or Redis answered a direct write again.
    wake: Notify,
}

struct Pending {
    revocation: Revocation,
    /// When it was made, by this machine's clock (seconds).
    made: i64,
}

struct Written {
    revocation: Revocation,
    /// The stream entry's id.
    id: String,
    /// Its date (seconds, Redis' clock, rounded up).
    at: i64,
}

/// What the background writer needs of Redis: the replica's writer, each
/// call bounded by the write deadline.
pub(crate) trait Redis {
    /// Appends `revocation`; the new entry's id.
    fn append(
        &self,
        revocation: Revocation,
    ) -> impl Future<Output = Result<String, RedisRevocationsError>> + Send;
    /// `true` when the stream lost the entry `id`: it is gone although
    /// its retention has not ended by Redis' clock.
    fn lost(&self, id: String) -> impl Future<Output = Result<bool, RedisRevocationsError>> + Send;
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Outbox {
    pub fn new(capacity: usize, retention: Duration) -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            journal: Mutex::new(VecDeque::new()),
            capacity,
            retention: i64::try_from(retention.as_secs()).unwrap_or(i64::MAX / 2),
            wake: Notify::new(),
        }
    }

    /// How many revocations are waiting for Redis.
    pub fn len(&self) -> usize {
        lock(&self.queue).len()
    }

    /// Redis acknowledged `revocation` as the entry `id`: applies it with
    /// Redis' date and journals it. Whatever is queued may go through now.
    pub fn acknowledged(&self, shared: &Shared, revocation: &Revocation, id: String) {
        // A reply that is not an entry id cannot come from the script; the
        // local clock is the next best date.
        let at = made_at(&id).unwrap_or_else(|_| unix_now());
        shared.memory.apply(revocation, at);
        {
            let mut journal = lock(&self.journal);
            if journal.len() >= self.capacity {
                journal.pop_front();
            }
            journal.push_back(Written {
                revocation: revocation.clone(),
                id,
                at,
            });
        }
        if !lock(&self.queue).is_empty() {
            self.wake.notify_one();
        }
    }

    /// A direct write of `revocation` failed with `cause`: applies it to this
    /// replica's set at once and queues it for Redis. Returns the error the
    /// caller gets: [`RedisRevocationsError::Queued`], or
    /// [`RedisRevocationsError::QueueFull`] when there is no room (then it
    /// holds on this replica only).
    pub fn hold(
        &self,
        shared: &Shared,
        revocation: &Revocation,
        cause: RedisRevocationsError,
    ) -> RedisRevocationsError {
        let made = unix_now();
        shared.memory.apply(revocation, made);
        let queued = {
            let mut queue = lock(&self.queue);
            if queue.len() < self.capacity {
                queue.push_back(Pending {
                    revocation: revocation.clone(),
                    made,
                });
                Some(queue.len())
            } else {
                None
            }
        };
        let cause = Box::new(cause);
        match queued {
            Some(waiting) => {
                self.wake.notify_one();
                tracing::warn!(
                    target: "ssr_session_redis",
                    error = %cause,
                    waiting,
                    "Redis did not acknowledge a revocation: applied on this replica, \
                     queued for Redis"
                );
                RedisRevocationsError::Queued(cause)
            }
            None => {
                tracing::error!(
                    target: "ssr_session_redis",
                    error = %cause,
                    capacity = self.capacity,
                    "Redis did not acknowledge a revocation and the retry queue is full: \
                     applied on this replica only"
                );
                RedisRevocationsError::QueueFull {
                    capacity: self.capacity,
                    cause,
                }
            }
        }
    }

    /// The oldest revocation still worth writing; drops the moot ones
    /// (past their retention) on the way.
    fn next(&self, now: i64) -> Option<Revocation> {
        let mut queue = lock(&self.queue);
        let mut dropped: usize = 0;
        let next = loop {
            let Some(pending) = queue.front() else {
                break None;
            };
            // `before` of a user revocation is rounded up by a second.
            if pending
                .made
                .saturating_add(self.retention)
                .saturating_add(1)
                > now
            {
                break Some(pending.revocation.clone());
            }
            queue.pop_front();
            dropped += 1;
        };
        drop(queue);
        // One line for the lot: a queue that outlived an outage may drop
        // thousands at once.
        if dropped > 0 {
            tracing::info!(
                target: "ssr_session_redis",
                dropped,
                "dropped queued revocations past their retention: no token they match is \
                 still valid"
            );
        }
        next
    }

    /// The oldest entry was written.
    fn written(&self) {
        lock(&self.queue).pop_front();
    }

    /// The ids of the oldest and the newest journaled entries still within
    /// their retention; drops the older ones past it.
    fn written_ends(&self, now: i64) -> Option<(String, String)> {
        let mut journal = lock(&self.journal);
        while journal
            .front()
            .is_some_and(|entry| entry.at.saturating_add(self.retention) <= now)
        {
            journal.pop_front();
        }
        let oldest = journal.front()?.id.clone();
        let newest = journal.back()?.id.clone();
        Some((oldest, newest))
    }

    /// Redis lost what it acknowledged: queues the journal to be written
    /// again (the queue may then hold up to twice its capacity, briefly).
    fn resend_journal(&self) -> usize {
        let written: Vec<Written> = lock(&self.journal).drain(..).collect();
        let now = unix_now();
        let mut queue = lock(&self.queue);
        for entry in &written {
            queue.push_back(Pending {
                revocation: entry.revocation.clone(),
                made: entry.at.min(now),
            });
        }
        written.len()
    }

    /// Writes the queue to Redis, oldest first, backing off while Redis
    /// fails, and looks after the journal, until `stop` says so or every
    /// handle is gone; then makes one last attempt of at most `last_try`
    /// and says what was left.
    pub async fn run(
        &self,
        shared: &Shared,
        redis: &(impl Redis + Sync),
        mut stop: watch::Receiver<bool>,
        last_try: Duration,
    ) {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => {}
            () = self.retry(shared, redis) => {}
        }
        if self.next(unix_now()).is_some() {
            let _ = tokio::time::timeout(last_try, self.flush(shared, redis)).await;
        }
        let left = self.len();
        if left > 0 {
            tracing::error!(
                target: "ssr_session_redis",
                left,
                "stopped with revocations Redis never acknowledged: they held on this \
                 replica only"
            );
        }
    }

    /// The queue, once, while Redis takes each entry.
    async fn flush(&self, shared: &Shared, redis: &(impl Redis + Sync)) {
        while let Some(revocation) = self.next(unix_now()) {
            match redis.append(revocation.clone()).await {
                Ok(id) => {
                    self.acknowledged(shared, &revocation, id);
                    self.written();
                }
                Err(_) => return,
            }
        }
    }

    async fn retry(&self, shared: &Shared, redis: &(impl Redis + Sync)) {
        let mut delay = RETRY_MIN;
        let mut failures: u32 = 0;
        let mut written: usize = 0;
        loop {
            let Some(revocation) = self.next(unix_now()) else {
                if written > 0 {
                    tracing::info!(
                        target: "ssr_session_redis",
                        written,
                        "Redis took every queued revocation"
                    );
                    written = 0;
                }
                self.check_journal(redis).await;
                let _ = tokio::time::timeout(CHECK_EVERY, self.wake.notified()).await;
                continue;
            };
            match redis.append(revocation.clone()).await {
                Ok(id) => {
                    self.acknowledged(shared, &revocation, id);
                    self.written();
                    written += 1;
                    delay = RETRY_MIN;
                    failures = 0;
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    if failures % REMIND_EVERY == 1 {
                        tracing::warn!(
                            target: "ssr_session_redis",
                            %error,
                            waiting = self.len(),
                            "Redis still does not take the queued revocations"
                        );
                    }
                    // A direct write that succeeds cuts the wait short.
                    let _ = tokio::time::timeout(delay, self.wake.notified()).await;
                    delay = delay.saturating_mul(2).min(RETRY_MAX);
                }
            }
        }
    }

    /// Looks the oldest and the newest journaled entries up in Redis; when
    /// Redis lost one of them, queues the journal to be written again. A
    /// failed lookup (Redis down) is left to the next round.
    async fn check_journal(&self, redis: &(impl Redis + Sync)) {
        let Some((oldest, newest)) = self.written_ends(unix_now()) else {
            return;
        };
        let lost = match redis.lost(oldest.clone()).await {
            Ok(true) => true,
            Ok(false) if newest != oldest => matches!(redis.lost(newest).await, Ok(true)),
            _ => false,
        };
        if lost {
            let again = self.resend_journal();
            tracing::warn!(
                target: "ssr_session_redis",
                again,
                "Redis lost revocations it had acknowledged (restarted without \
                 persistence, flushed or failed over): writing this replica's again"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::FailureMode;

    fn session(handle: &str) -> Revocation {
        Revocation::Session {
            handle: handle.into(),
        }
    }

    fn shared() -> Shared {
        Shared::new(Duration::from_secs(3600), FailureMode::default())
    }

    fn down() -> RedisRevocationsError {
        RedisRevocationsError::Timeout {
            during: "revoking",
            after: Duration::from_millis(1),
        }
    }

    #[test]
    fn a_held_revocation_applies_at_once_and_a_full_queue_says_so() {
        let shared = shared();
        let outbox = Outbox::new(2, Duration::from_secs(3600));
        assert!(matches!(
            outbox.hold(&shared, &session("a"), down()),
            RedisRevocationsError::Queued(_)
        ));
        assert!(matches!(
            outbox.hold(&shared, &session("b"), down()),
            RedisRevocationsError::Queued(_)
        ));
        let full = outbox.hold(&shared, &session("c"), down());
        assert!(
            matches!(full, RedisRevocationsError::QueueFull { capacity: 2, .. }),
            "{full:?}"
        );
        assert!(full.is_applied_locally() && !full.is_queued());
        assert_eq!(outbox.len(), 2, "nothing queued was pushed out");
        let now = unix_now();
        for handle in ["a", "b", "c"] {
            assert!(shared.memory.is_session_revoked(handle, now), "{handle}");
        }
    }

    #[test]
    fn a_queued_revocation_past_its_retention_is_dropped() {
        let outbox = Outbox::new(10, Duration::from_secs(60));
        for (handle, made) in [("old", 1000), ("new", 1100)] {
            lock(&outbox.queue).push_back(Pending {
                revocation: session(handle),
                made,
            });
        }
        assert_eq!(outbox.next(1061), Some(session("new")));
        assert_eq!(outbox.len(), 1);
    }

    #[test]
    fn the_journal_is_bounded_and_forgets_what_is_past_its_retention() {
        let shared = shared();
        let outbox = Outbox::new(2, Duration::from_secs(60));
        outbox.acknowledged(&shared, &session("a"), "1000000-0".into());
        outbox.acknowledged(&shared, &session("b"), "1030000-0".into());
        outbox.acknowledged(&shared, &session("c"), "1050000-0".into());
        assert_eq!(lock(&outbox.journal).len(), 2, "bounded by the capacity");
        assert_eq!(
            outbox.written_ends(1091),
            Some(("1050000-0".into(), "1050000-0".into()))
        );
        assert_eq!(lock(&outbox.journal).len(), 1, "b is past its retention");
        assert_eq!(outbox.written_ends(1110), None);
        outbox.acknowledged(&shared, &session("d"), "2000000-0".into());
        assert_eq!(outbox.resend_journal(), 1);
        assert_eq!(outbox.len(), 1, "queued to be written again");
    }
}
