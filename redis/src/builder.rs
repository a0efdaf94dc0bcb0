//! [`RedisRevocationsBuilder`]: where a [`RedisRevocations`] is configured,
//! checked and started.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::connect::{Connector, TlsFiles, Topology, connectors};
use crate::error::RedisRevocationsError;
use crate::revocations::RedisRevocations;
use crate::settings::{FailureMode, Settings};

/// The builders, beside what they build from.
impl RedisRevocations {
    /// A builder for a list on the Redis at `url`:
    /// `redis://[user:password@]host:port[/db]`,
    /// `rediss://[user:password@]host:port[/db]` (TLS; see
    /// [`tls_ca_file`](RedisRevocationsBuilder::tls_ca_file)) or
    /// `redis+unix:///path/to/socket`.
    pub fn builder(url: impl Into<String>) -> RedisRevocationsBuilder {
        RedisRevocationsBuilder::new(Topology::Single(url.into()))
    }

    /// A builder for a list on the primary that Redis Sentinel names
    /// `primary` (`sentinel monitor <primary> …`), asking the Sentinels at
    /// `sentinels` (`redis://[user:password@]host:26379`, or `rediss://`
    /// for TLS, which the primary is then reached with too). The primary's
    /// login and database: [`primary_login`](RedisRevocationsBuilder::primary_login),
    /// [`primary_database`](RedisRevocationsBuilder::primary_database).
    /// After a failover the next connection goes to the new primary, and
    /// the set is reloaded from it.
    pub fn builder_sentinel(
        primary: impl Into<String>,
        sentinels: impl IntoIterator<Item = impl Into<String>>,
    ) -> RedisRevocationsBuilder {
        RedisRevocationsBuilder::new(Topology::Sentinel {
            primary: primary.into(),
            sentinels: sentinels.into_iter().map(Into::into).collect(),
            login: None,
            database: 0,
        })
    }

    /// A builder for a list on a Redis Cluster, found through any of
    /// `nodes` (`redis://[user:password@]host:port`, or `rediss://`; every
    /// node with the same login and scheme). The stream is one key, so one
    /// slot; a resharding or failover that moves it is followed (the list
    /// reconnects and reloads in full).
    pub fn builder_cluster(
        nodes: impl IntoIterator<Item = impl Into<String>>,
    ) -> RedisRevocationsBuilder {
        RedisRevocationsBuilder::new(Topology::Cluster(
            nodes.into_iter().map(Into::into).collect(),
        ))
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
            settings: Settings::default(),
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
    /// any time it blocks on purpose. A [`revoke`](ssr_session::Revoke::revoke)
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
    /// [`revoke`](ssr_session::Revoke::revoke) says so (not `queued`, the
    /// source [`RedisRevocationsError::QueueFull`]); nothing queued is ever
    /// pushed out. At least 1.
    pub fn retry_queue(mut self, capacity: usize) -> Self {
        self.settings.retry_queue = capacity;
        self
    }

    fn validate(&self) -> Result<(Connector, Connector, Settings), RedisRevocationsError> {
        let s = &self.settings;
        if s.key.is_empty() {
            return Err(RedisRevocationsError::Config("the key is empty".into()));
        }
        if s.retention < Duration::from_secs(1) {
            return Err(RedisRevocationsError::Config(
                "the retention is shorter than 1 s".into(),
            ));
        }
        if s.poll_interval < Duration::from_millis(1) {
            return Err(RedisRevocationsError::Config(
                "the poll interval is shorter than 1 ms".into(),
            ));
        }
        if s.retry_queue == 0 {
            return Err(RedisRevocationsError::Config(
                "the retry queue holds nothing".into(),
            ));
        }
        if s.connect_timeout.is_zero() || s.command_timeout.is_zero() {
            return Err(RedisRevocationsError::Config("a timeout is zero".into()));
        }
        // A healthy follower's staleness reaches two poll intervals just
        // before each reply; a limit that close would refuse requests
        // while nothing is wrong, at the first scheduling hiccup.
        if s.failure.max_staleness() < s.poll_interval.saturating_mul(3) {
            return Err(RedisRevocationsError::Config(format!(
                "the maximum staleness ({:?}) is less than three poll intervals ({:?} each)",
                s.failure.max_staleness(),
                s.poll_interval
            )));
        }
        if let Some(setting) = self.misplaced {
            return Err(RedisRevocationsError::Config(format!(
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
    pub async fn connect(self) -> Result<RedisRevocations, RedisRevocationsError> {
        let (follow, write, settings) = self.validate()?;
        RedisRevocations::connect(follow, write, Arc::new(settings)).await
    }

    /// Starts following Redis in a background task and returns at once,
    /// Redis reachable or not. Until the first load the list answers
    /// *unavailable* ([`RedisRevocationsError::NotLoaded`]);
    /// [`ready`](RedisRevocations::ready) waits for that load. Needs a
    /// Tokio runtime.
    pub fn spawn(self) -> Result<RedisRevocations, RedisRevocationsError> {
        let (follow, write, settings) = self.validate()?;
        RedisRevocations::spawn(follow, write, Arc::new(settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{DEFAULT_KEY, DEFAULT_MAX_STALENESS, DEFAULT_RETENTION};

    fn refused(builder: RedisRevocationsBuilder) -> String {
        match builder.validate() {
            Err(RedisRevocationsError::Config(why)) => why,
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
