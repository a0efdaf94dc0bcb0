//! The crate's error.

use std::time::Duration;

/// What went wrong talking to Redis, or with the revocation list itself.
///
/// Inside [`RevocationError::Custom`](ssr_session::revocation::RevocationError::Custom)
/// (when the list cannot vouch for a session) it is one of
/// [`NotLoaded`](Self::NotLoaded) or [`Disconnected`](Self::Disconnected).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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
    Queued(#[source] Box<Error>),
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
        cause: Box<Error>,
    },
}

impl Error {
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

impl From<redis::RedisError> for Error {
    fn from(error: redis::RedisError) -> Self {
        Self::Redis(Box::new(error))
    }
}
