//! The builder's settings and the failure mode.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::connect::{Connector, TlsFiles, Topology, connectors};
use crate::error::Error;
use crate::revocations::RedisRevocations;

/// The stream key used unless [`RedisRevocationsBuilder::key`] says otherwise.
/// The braces are a Redis Cluster hash tag: every key named
/// `{ssr-session}…` lives in the same slot, so a command or script that
/// names several of them never fails with `CROSSSLOT`.
pub const DEFAULT_KEY: &str = "{ssr-session}:revocations";
/// How long a revocation is kept unless [`RedisRevocationsBuilder::retention`]
/// says otherwise: SuperTokens' default access-token lifetime.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(3600);
/// How long a fail-open list keeps answering without Redis, by default.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(300);
/// How many unacknowledged revocations a replica queues for Redis unless
/// [`RedisRevocationsBuilder::retry_queue`] says otherwise (about 1 MB at
/// most).
pub const DEFAULT_RETRY_QUEUE: usize = 10_000;

/// What [`is_revoked`](ssr_session::RevocationList::is_revoked) answers
/// while Redis cannot be followed.
///
/// Either way no request ever waits on Redis, and the list never answers
/// before its first load ([`Error::NotLoaded`]). "Staleness" is the time
/// since the list was last known to hold every revocation in Redis; while
/// Redis is healthy it stays below two
/// [poll intervals](RedisRevocationsBuilder::poll_interval) (a read proves
/// the set current as of when it was sent, and is answered up to one
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
    /// reloaded ([`Error::Disconnected`]), and when no poll has succeeded
    /// for `max_staleness` (a Redis that hangs without failing). No
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

/// Configures a [`RedisRevocations`]; from [`RedisRevocations::builder`],
/// [`builder_sentinel`](RedisRevocations::builder_sentinel) or
/// [`builder_cluster`](RedisRevocations::builder_cluster).
///
/// | setting | default |
/// |---|---|
/// | [`key`](Self::key) | `{ssr-session}:revocations` |
/// | [`retention`](Self::retention) | 1 h (the longest access-token lifetime) |
/// | [`failure_mode`](Self::failure_mode) | fail-open, unavailable after 5 min |
/// | [`connect_timeout`](Self::connect_timeout) | 2 s |
/// | [`command_timeout`](Self::command_timeout) | 2 s |
/// | [`poll_interval`](Self::poll_interval) | 1 s |
/// | [`tls_ca_file`](Self::tls_ca_file) | the platform's roots (for `rediss://`) |
/// | [`tls_client_cert`](Self::tls_client_cert) | none |
/// | [`primary_login`](Self::primary_login), [`primary_database`](Self::primary_database) | none, 0 (Sentinel only) |
/// | [`retry_queue`](Self::retry_queue) | 10,000 revocations |
///
/// Every replica must use the same key and retention.
#[must_use = "a builder does nothing until `connect()`"]
pub struct RedisRevocationsBuilder {
    topology: Topology,
    tls: TlsFiles,
    settings: Settings,
    /// A setter used with a kind it does not apply to, refused by `validate`.
    misplaced: Option<&'static str>,
}

impl fmt::Debug for RedisRevocationsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may carry a password.
        f.debug_struct("RedisRevocationsBuilder")
            .field("topology", &self.topology)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RedisRevocationsBuilder {
    pub(crate) fn new(topology: Topology) -> Self {
        Self {
            topology,
            tls: TlsFiles::default(),
            settings: Settings {
                key: DEFAULT_KEY.to_owned(),
                retention: DEFAULT_RETENTION,
                failure: FailureMode::default(),
                connect_timeout: Duration::from_secs(2),
                command_timeout: Duration::from_secs(2),
                poll_interval: Duration::from_secs(1),
                batch: 1000,
                retry_queue: DEFAULT_RETRY_QUEUE,
            },
            misplaced: None,
        }
    }

    /// The Redis stream that holds the revocations. Give each application
    /// (or environment) sharing a Redis its own.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.settings.key = key.into();
        self
    }

    /// How long a revocation is kept, in Redis and in memory: the longest
    /// access-token lifetime (SuperTokens' `access_token_validity`), since
    /// after that no token it could match is still valid. At least 1 s.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.settings.retention = retention;
        self
    }

    /// What to answer while Redis cannot be followed; see [`FailureMode`].
    pub fn failure_mode(mut self, mode: FailureMode) -> Self {
        self.settings.failure = mode;
        self
    }

    /// How long opening a connection may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// How long one command (a write, one page of a reload) may take beyond
    /// any time it blocks on purpose. A [`revoke`](RedisRevocations::revoke)
    /// returns an error after at most the connect timeout plus this.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.settings.command_timeout = timeout;
        self
    }

    /// How long one blocking read waits for new revocations before it
    /// returns empty-handed. Each read, full or empty, proves the set
    /// current, so this is also the heartbeat that keeps the staleness low
    /// and detects a silent Redis; the maximum staleness must be at least
    /// three times as long. It does not delay propagation: a read returns
    /// as soon as a revocation arrives.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.settings.poll_interval = interval;
        self
    }

    /// Trusts the certificate authorities in this PEM file, instead of the
    /// platform's roots, for a `rediss://` server: a private CA, or the one
    /// a managed Redis publishes. The file is read by
    /// [`connect`](Self::connect) or [`spawn`](Self::spawn), which fail
    /// when it is missing or holds no certificate, or when the URL is not
    /// `rediss://`.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca = Some(path.into());
        self
    }

    /// Presents this client certificate (a PEM chain) and its private key
    /// (PEM) to a `rediss://` server that asks for one (`tls-auth-clients
    /// yes`). Read and checked like [`tls_ca_file`](Self::tls_ca_file).
    pub fn tls_client_cert(
        mut self,
        certificate: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.tls.client = Some((certificate.into(), key.into()));
        self
    }

    /// The primary's login, for a list found through Sentinel
    /// ([`RedisRevocations::builder_sentinel`]); the Sentinels' own login
    /// goes in their URLs. `"default"` is the user of a plain
    /// `requirepass`. Refused for the other kinds, whose URLs carry it.
    pub fn primary_login(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        if let Topology::Sentinel { login, .. } = &mut self.topology {
            *login = Some((username.into(), password.into()));
        } else {
            self.misplaced = Some("primary_login");
        }
        self
    }

    /// The primary's database (0 unless set), for a list found through
    /// Sentinel. Refused for the other kinds, whose URLs carry it.
    pub fn primary_database(mut self, database: i64) -> Self {
        if let Topology::Sentinel { database: db, .. } = &mut self.topology {
            *db = database;
        } else {
            self.misplaced = Some("primary_database");
        }
        self
    }

    /// How many revocations Redis did not acknowledge may wait in this
    /// replica's retry queue (each is already in force here). One that
    /// finds it full is in force on this replica only, and
    /// [`revoke`](RedisRevocations::revoke) says so
    /// ([`Error::QueueFull`]); nothing queued is ever pushed out. At least 1.
    pub fn retry_queue(mut self, capacity: usize) -> Self {
        self.settings.retry_queue = capacity;
        self
    }

    fn validate(&self) -> Result<(Connector, Connector, Settings), Error> {
        let s = &self.settings;
        if s.key.is_empty() {
            return Err(Error::Config("the key is empty".into()));
        }
        if s.retention < Duration::from_secs(1) {
            return Err(Error::Config("the retention is shorter than 1 s".into()));
        }
        if s.poll_interval < Duration::from_millis(1) {
            return Err(Error::Config(
                "the poll interval is shorter than 1 ms".into(),
            ));
        }
        if s.retry_queue == 0 {
            return Err(Error::Config("the retry queue holds nothing".into()));
        }
        if s.connect_timeout.is_zero() || s.command_timeout.is_zero() {
            return Err(Error::Config("a timeout is zero".into()));
        }
        // A healthy follower's staleness reaches two poll intervals just
        // before each reply; a limit that close would refuse requests
        // while nothing is wrong, at the first scheduling hiccup.
        if s.failure.max_staleness() < s.poll_interval.saturating_mul(3) {
            return Err(Error::Config(format!(
                "the maximum staleness ({:?}) is less than three poll intervals ({:?} each)",
                s.failure.max_staleness(),
                s.poll_interval
            )));
        }
        if let Some(setting) = self.misplaced {
            return Err(Error::Config(format!(
                "`{setting}` is for a list found through Sentinel"
            )));
        }
        let (follow, write) = connectors(&self.topology, &self.tls, s)?;
        Ok((follow, write, s.clone()))
    }

    /// Connects, loads every revocation of the last retention, then follows
    /// new ones in a background task. Returns once the set is loaded, so the
    /// list can answer at once; fails when Redis cannot be reached within
    /// the timeouts (use [`spawn`](Self::spawn) to start regardless).
    pub async fn connect(self) -> Result<RedisRevocations, Error> {
        let (follow, write, settings) = self.validate()?;
        RedisRevocations::connect(follow, write, Arc::new(settings)).await
    }

    /// Starts following Redis in a background task and returns at once,
    /// Redis reachable or not. Until the first load the list answers
    /// *unavailable* ([`Error::NotLoaded`]);
    /// [`ready`](RedisRevocations::ready) waits for that load. Needs a
    /// Tokio runtime.
    pub fn spawn(self) -> Result<RedisRevocations, Error> {
        let (follow, write, settings) = self.validate()?;
        RedisRevocations::spawn(follow, write, Arc::new(settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(builder: RedisRevocationsBuilder) -> String {
        match builder.validate() {
            Err(Error::Config(why)) => why,
            other => panic!(
                "expected a configuration error, got {:?}",
                other.map(|_| ())
            ),
        }
    }

    #[test]
    fn the_defaults_are_valid() {
        let builder = RedisRevocations::builder("redis://127.0.0.1:6379/0");
        let (_, _, settings) = builder.validate().unwrap();
        assert_eq!(settings.retention, DEFAULT_RETENTION);
        assert_eq!(settings.failure, FailureMode::open(DEFAULT_MAX_STALENESS));
        assert_eq!(settings.key, DEFAULT_KEY);
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let builder = || RedisRevocations::builder("redis://127.0.0.1:6379/0");
        assert!(refused(builder().key("")).contains("key"));
        assert!(refused(builder().retention(Duration::from_millis(999))).contains("retention"));
        assert!(refused(builder().command_timeout(Duration::ZERO)).contains("timeout"));
        assert!(refused(builder().retry_queue(0)).contains("retry queue"));
        let too_tight = builder()
            .poll_interval(Duration::from_secs(1))
            .failure_mode(FailureMode::closed(Duration::from_millis(2999)));
        assert!(refused(too_tight).contains("three poll intervals"));
        let enough = builder()
            .poll_interval(Duration::from_secs(1))
            .failure_mode(FailureMode::closed(Duration::from_secs(3)));
        assert!(enough.validate().is_ok());
        assert!(refused(RedisRevocations::builder("http://example.com")).contains("URL"));
    }

    #[test]
    fn deployment_settings_that_cannot_work_are_refused() {
        let single = || RedisRevocations::builder("redis://127.0.0.1:6379/0");
        assert!(refused(single().primary_login("default", "secret")).contains("Sentinel"));
        assert!(refused(single().primary_database(1)).contains("Sentinel"));
        let mixed = ["redis://127.0.0.1:7000", "rediss://127.0.0.1:7001"];
        assert!(refused(RedisRevocations::builder_cluster(mixed)).contains("TLS"));
        let none: [&str; 0] = [];
        assert!(refused(RedisRevocations::builder_cluster(none)).contains("no Redis URL"));
        assert!(refused(RedisRevocations::builder_sentinel("p", none)).contains("no Redis URL"));
        let sentinels = ["redis://127.0.0.1:26379"];
        assert!(
            refused(RedisRevocations::builder_sentinel("", sentinels)).contains("primary name")
        );
        let unix = ["redis+unix:///run/redis.sock"];
        assert!(refused(RedisRevocations::builder_cluster(unix)).contains("Cluster"));
        let logins = ["redis://:a@127.0.0.1:26379", "redis://:b@127.0.0.1:26380"];
        assert!(refused(RedisRevocations::builder_sentinel("p", logins)).contains("logins"));
        let sentinel = RedisRevocations::builder_sentinel("p", sentinels)
            .primary_login("default", "secret")
            .primary_database(2);
        assert!(sentinel.validate().is_ok());
        assert!(!format!("{sentinel:?}").contains("secret"));
        assert!(
            RedisRevocations::builder_cluster(["redis://127.0.0.1:7000"])
                .validate()
                .is_ok()
        );
    }

    #[cfg(feature = "tls")]
    #[test]
    fn a_tls_url_is_accepted_with_the_tls_feature() {
        assert!(
            RedisRevocations::builder("rediss://127.0.0.1:6379/0")
                .validate()
                .is_ok()
        );
        let nodes = ["rediss://127.0.0.1:7000", "rediss://127.0.0.1:7001"];
        assert!(RedisRevocations::builder_cluster(nodes).validate().is_ok());
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }

    #[test]
    fn the_builder_never_shows_the_url() {
        let builder = RedisRevocations::builder("redis://user:s3cret@127.0.0.1:6379/0");
        assert!(!format!("{builder:?}").contains("s3cret"));
    }
}
