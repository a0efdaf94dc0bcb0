//! The retry queue: revocations Redis did not acknowledge in time, already
//! in force on this replica, written again in the background until Redis
//! takes them.
//!
//! The queue is bounded ([`capacity`](crate::RedisRevocationsBuilder::retry_queue)):
//! a revocation that does not fit is still applied on this replica, and
//! its caller is told so ([`Error::QueueFull`]); nothing already queued is
//! ever pushed out. An entry is dropped unwritten only once its retention
//! has passed (no token it could match is still valid then) or when the
//! process ends. Writing an entry twice is harmless (a timed-out write may
//! have been stored after all): replicas merge revocations, keeping the
//! later expiry.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ssr_session::Revocation;
use tokio::sync::{Notify, watch};

use crate::error::Error;
use crate::shared::{Shared, unix_now};

/// The first delay before a queued revocation is written again; doubled on
/// every failure.
const RETRY_MIN: Duration = Duration::from_millis(100);
/// The longest delay between two attempts, so that a Redis that comes back
/// gets the queue within about this long.
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How often a lasting failure is logged again.
const REMIND_EVERY: u32 = 15;

/// The revocations waiting for Redis, oldest first.
pub(crate) struct Outbox {
    queue: Mutex<VecDeque<Pending>>,
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

impl Outbox {
    pub fn new(capacity: usize, retention: Duration) -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            capacity,
            retention: i64::try_from(retention.as_secs()).unwrap_or(i64::MAX / 2),
            wake: Notify::new(),
        }
    }

    /// How many revocations are waiting for Redis.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Pending>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A direct write of `revocation` failed with `cause`: applies it to
    /// this replica's set at once and queues it for Redis. Returns the
    /// error the caller gets: [`Error::Queued`], or [`Error::QueueFull`]
    /// when there is no room (then it holds on this replica only).
    pub fn hold(&self, shared: &Shared, revocation: &Revocation, cause: Error) -> Error {
        let made = unix_now();
        shared.memory.apply(revocation, made);
        let queued = {
            let mut queue = self.lock();
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
                Error::Queued(cause)
            }
            None => {
                tracing::error!(
                    target: "ssr_session_redis",
                    error = %cause,
                    capacity = self.capacity,
                    "Redis did not acknowledge a revocation and the retry queue is full: \
                     applied on this replica only"
                );
                Error::QueueFull {
                    capacity: self.capacity,
                    cause,
                }
            }
        }
    }

    /// Redis took a direct write: whatever is queued may go through now.
    pub fn redis_answered(&self) {
        if !self.lock().is_empty() {
            self.wake.notify_one();
        }
    }

    /// The oldest revocation still worth writing; drops the moot ones
    /// (past their retention) on the way.
    fn next(&self, now: i64) -> Option<Revocation> {
        let mut queue = self.lock();
        while let Some(pending) = queue.front() {
            // `before` of a user revocation is rounded up by a second.
            if pending
                .made
                .saturating_add(self.retention)
                .saturating_add(1)
                > now
            {
                return Some(pending.revocation.clone());
            }
            queue.pop_front();
            tracing::info!(
                target: "ssr_session_redis",
                "dropped a queued revocation past its retention: no token it matches is \
                 still valid"
            );
        }
        None
    }

    /// The oldest entry was written.
    fn written(&self) {
        self.lock().pop_front();
    }

    /// Writes the queue to Redis with `write` (which bounds each attempt by
    /// the write deadline), oldest first, backing off while Redis fails,
    /// until `stop` says so or every handle is gone; then makes one last
    /// attempt of at most `last_try` and says what was left.
    pub async fn run<W, F>(
        &self,
        shared: &Shared,
        write: W,
        mut stop: watch::Receiver<bool>,
        last_try: Duration,
    ) where
        W: Fn(Revocation) -> F,
        F: Future<Output = Result<i64, Error>>,
    {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => {}
            () = self.retry(shared, &write) => {}
        }
        if self.next(unix_now()).is_some() {
            let _ = tokio::time::timeout(last_try, self.flush(shared, &write)).await;
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
    async fn flush<W, F>(&self, shared: &Shared, write: &W)
    where
        W: Fn(Revocation) -> F,
        F: Future<Output = Result<i64, Error>>,
    {
        while let Some(revocation) = self.next(unix_now()) {
            match write(revocation.clone()).await {
                Ok(at) => {
                    shared.memory.apply(&revocation, at);
                    self.written();
                }
                Err(_) => return,
            }
        }
    }

    async fn retry<W, F>(&self, shared: &Shared, write: &W)
    where
        W: Fn(Revocation) -> F,
        F: Future<Output = Result<i64, Error>>,
    {
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
                self.wake.notified().await;
                continue;
            };
            match write(revocation.clone()).await {
                Ok(at) => {
                    // Redis' date for it: kept as long as the other replicas keep it.
                    shared.memory.apply(&revocation, at);
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

    fn down() -> Error {
        Error::Timeout {
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
            Error::Queued(_)
        ));
        assert!(matches!(
            outbox.hold(&shared, &session("b"), down()),
            Error::Queued(_)
        ));
        let full = outbox.hold(&shared, &session("c"), down());
        assert!(
            matches!(full, Error::QueueFull { capacity: 2, .. }),
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
        outbox.lock().push_back(Pending {
            revocation: session("old"),
            made: 1000,
        });
        outbox.lock().push_back(Pending {
            revocation: session("new"),
            made: 1100,
        });
        assert_eq!(outbox.next(1061), Some(session("new")));
        assert_eq!(outbox.len(), 1);
    }
}
