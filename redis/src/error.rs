//! The crate's error.

use std::time::Duration;

use ssr_session::revocation::RevocationError;

/// What went wrong talking to Redis, or with the revocation list itself.
///
/// [`revoke`](ssr_session::Revoke::revoke) and
/// [`is_revoked`](ssr_session::RevocationList::is_revoked) answer with the
/// core's [`RevocationError`], which holds this one as its source:
/// [`Queued`](Self::Queued) and [`QueueFull`](Self::QueueFull) inside
/// [`RevocationError::AppliedLocally`] (`queued` tells them apart, and
/// [`RevocationError::is_applied_locally`] / [`is_queued`](RevocationError::is_queued)
/// ask without downcasting); any other inside [`RevocationError::Custom`]
/// (from `is_revoked`, one of [`NotLoaded`](Self::NotLoaded) or
/// [`Disconnected`](Self::Disconnected)). To see this type, downcast the
/// source: `error.source()` then `downcast_ref::<RedisRevocationsError>()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisRevocationsError {
    /// A builder setting is out of range.
    #[error("invalid ssr-session-redis setting: {0}")]
    Config(String),
    /// Redis refused or failed a command, or the connection broke.
    #[error("Redis failed: {0}")]
    Redis(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {after:?} ({during})")]
    Timeout {
        /// What was being done.
        during: &'static str,
        /// The time allowed.
        after: Duration,
    },
    /// An entry in the stream is not a revocation this version understands.
    #[error("a revocation entry could not be read: {0}")]
    Entry(String),
    /// The revocations have not been loaded from Redis yet (the list was
    /// started with [`spawn`](crate::RedisRevocationsBuilder::spawn) and
    /// Redis has not answered since): nothing can be vouched for.
    #[error("the revocations have not been loaded from Redis yet")]
    NotLoaded,
    /// Fail-closed and not following Redis right now: a revocation may
    /// have been missed.
    #[error("not following the revocations in Redis (fail-closed)")]
    Disconnected,
    /// The background task was shut down before the revocations loaded.
    #[error("the revocation follower was shut down")]
    ShutDown,
    /// [`spawn`](crate::RedisRevocationsBuilder::spawn) was called outside a
    /// Tokio runtime.
    #[error("ssr-session-redis needs a Tokio runtime to run its background task")]
    NoRuntime,
    /// Not acknowledged by Redis (the error inside says why): the
    /// revocation is **in force on this replica** and queued; it is written
    /// to Redis in the background as soon as Redis takes it, and reaches the
    /// other replicas then. Not a success: tell the user it is not done
    /// everywhere yet (the examples answer `503` with `Retry-After`).
    #[error(
        "Redis did not acknowledge the revocation ({0}): applied on this replica, queued for Redis"
    )]
    Queued(#[source] Box<RedisRevocationsError>),
    /// Not acknowledged by Redis, and the retry queue is full: the
    /// revocation is **in force on this replica only**, not queued; revoke
    /// again later (a repeat is harmless).
    #[error(
        "Redis did not acknowledge the revocation ({cause}) and the retry queue is full \
         ({capacity} waiting): applied on this replica only"
    )]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
        /// Why Redis did not acknowledge it.
        #[source]
        cause: Box<RedisRevocationsError>,
    },
}

impl RedisRevocationsError {
    /// `true` for a revocation that failed to reach Redis but is in force
    /// on this replica ([`Queued`](Self::Queued),
    /// [`QueueFull`](Self::QueueFull)).
    pub fn is_applied_locally(&self) -> bool {
        matches!(self, Self::Queued(_) | Self::QueueFull { .. })
    }

    /// `true` for a revocation queued for Redis ([`Queued`](Self::Queued)):
    /// it reaches every replica once Redis is back, with no further call.
    pub fn is_queued(&self) -> bool {
        matches!(self, Self::Queued(_))
    }
}

impl From<redis::RedisError> for RedisRevocationsError {
    fn from(error: redis::RedisError) -> Self {
        Self::Redis(Box::new(error))
    }
}

impl From<RedisRevocationsError> for RevocationError {
    /// A revocation held on this replica ([`Queued`](RedisRevocationsError::Queued),
    /// [`QueueFull`](RedisRevocationsError::QueueFull)) is
    /// [`AppliedLocally`](RevocationError::AppliedLocally); anything else
    /// is [`Custom`](RevocationError::Custom).
    fn from(error: RedisRevocationsError) -> Self {
        if error.is_applied_locally() {
            Self::AppliedLocally {
                queued: error.is_queued(),
                source: Box::new(error),
            }
        } else {
            Self::Custom(Box::new(error))
        }
    }
}
