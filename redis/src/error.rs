//! The crate's error.

use std::time::Duration;

/// What went wrong talking to Redis, or with the revocation list itself.
///
/// Inside [`RevocationError::Custom`](ssr_session::RevocationError::Custom)
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
}

impl From<redis::RedisError> for Error {
    fn from(error: redis::RedisError) -> Self {
        Self::Redis(Box::new(error))
    }
}
