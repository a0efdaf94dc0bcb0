//! The settings a list runs with, their defaults, and the failure mode.

use std::time::Duration;

/// The stream key used unless the builder's
/// [`key`](crate::RedisRevocationsBuilder::key) says otherwise. The braces
/// are a Redis Cluster hash tag: every key named `{ssr-session}…` lives in
/// the same slot, so a command or script that names several of them never
/// fails with `CROSSSLOT`.
pub const DEFAULT_KEY: &str = "{ssr-session}:revocations";
/// How long a revocation is kept unless the builder's
/// [`retention`](crate::RedisRevocationsBuilder::retention) says otherwise:
/// SuperTokens' default access-token lifetime.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(3600);
/// How long a fail-open list keeps answering without Redis, by default.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(300);
/// How many unacknowledged revocations a replica queues for Redis unless the
/// builder's [`retry_queue`](crate::RedisRevocationsBuilder::retry_queue)
/// says otherwise (about 1 MB at most).
pub const DEFAULT_RETRY_QUEUE: usize = 10_000;

/// What [`is_revoked`](ssr_session::RevocationList::is_revoked) answers
/// while Redis cannot be followed.
///
/// Either way no request ever waits on Redis, and the list never answers
/// before its first load
/// ([`NotLoaded`](crate::RedisRevocationsError::NotLoaded)). "Staleness" is
/// the time since the list was last known to hold every revocation in Redis;
/// while Redis is healthy it stays below two
/// [poll intervals](crate::RedisRevocationsBuilder::poll_interval) (a read
/// proves the set current as of when it was sent, and is answered up to one
/// interval later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureMode {
    /// Keep answering from the last known set while Redis is unreachable
    /// (logged at `warn`, then `error`), until the set is `max_staleness`
    /// old; from then on, *unavailable*
    /// ([`RevocationError::Stale`](ssr_session::revocation::RevocationError::Stale), a
    /// 503) until Redis is back. A revocation made during the outage is
    /// missed for at most that long. The default, with 5 minutes.
    /// `Duration::MAX` never turns unavailable.
    Open {
        /// How stale the set may get before requests are refused.
        max_staleness: Duration,
    },
    /// Answer *unavailable* as soon as the set may be missing a revocation:
    /// from the moment the connection to Redis fails until the set has been
    /// reloaded ([`Disconnected`](crate::RedisRevocationsError::Disconnected)),
    /// and when no poll has succeeded for `max_staleness` (a Redis that hangs
    /// without failing). No
    /// revocation is ever missed for longer than that, at the price of 503s
    /// during every Redis outage.
    Closed {
        /// How long a silent Redis is trusted (a few poll intervals).
        max_staleness: Duration,
    },
}

impl FailureMode {
    /// Fail-open, unavailable after `max_staleness`.
    pub const fn open(max_staleness: Duration) -> Self {
        Self::Open { max_staleness }
    }

    /// Fail-closed, unavailable at once on a failure and after
    /// `max_staleness` without a successful poll.
    pub const fn closed(max_staleness: Duration) -> Self {
        Self::Closed { max_staleness }
    }

    /// The staleness after which requests are refused.
    pub const fn max_staleness(&self) -> Duration {
        match *self {
            Self::Open { max_staleness } | Self::Closed { max_staleness } => max_staleness,
        }
    }

    /// `true` for [`FailureMode::Closed`].
    pub const fn is_closed(&self) -> bool {
        matches!(self, Self::Closed { .. })
    }
}

impl Default for FailureMode {
    /// Fail-open for at most [`DEFAULT_MAX_STALENESS`] (5 minutes).
    fn default() -> Self {
        Self::open(DEFAULT_MAX_STALENESS)
    }
}

/// Settings shared by the handles, the writer and the follower.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub key: String,
    pub retention: Duration,
    pub failure: FailureMode,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub poll_interval: Duration,
    pub batch: usize,
    pub retry_queue: usize,
}

impl Settings {
    /// The longest a `revoke` may take: a connection, then the command.
    pub fn write_deadline(&self) -> Duration {
        self.connect_timeout + self.command_timeout
    }

    pub fn retention_ms(&self) -> u64 {
        u64::try_from(self.retention.as_millis()).unwrap_or(u64::MAX)
    }
}

impl Default for Settings {
    /// The builder's defaults (see its table).
    fn default() -> Self {
        Self {
            key: DEFAULT_KEY.to_owned(),
            retention: DEFAULT_RETENTION,
            failure: FailureMode::default(),
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(2),
            poll_interval: Duration::from_secs(1),
            batch: 1000,
            retry_queue: DEFAULT_RETRY_QUEUE,
        }
    }
}
