//! [`RedisRevocations`]: the handle the application keeps and the verifier
//! consults.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use ssr_session::{Revocation, RevocationError, RevocationList, Session};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::connect::{Connection, Connector, Topology};
use crate::error::Error;
use crate::follow::Follower;
use crate::settings::{FailureMode, RedisRevocationsBuilder, Settings};
use crate::shared::{Phase, Shared, unix_now};
use crate::stream::{append, append_script};

/// Revocations shared by every replica through one Redis stream, checked
/// from memory.
///
/// Cheap to clone: every clone is the same list (give one to the
/// [`Verifier`](ssr_session::Verifier) and keep one to revoke with). The
/// background task stops on [`shutdown`](Self::shutdown) or when the last
/// clone is dropped. See the [crate docs](crate) for the design.
#[derive(Clone)]
pub struct RedisRevocations {
    shared: Arc<Shared>,
    handle: Arc<Handle>,
}

/// What only the handles hold: dropping the last one drops `stop`, which
/// ends the follower.
struct Handle {
    settings: Arc<Settings>,
    writer: Writer,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

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

    pub(crate) async fn connect(
        follow: Connector,
        write: Connector,
        settings: Arc<Settings>,
    ) -> Result<Self, Error> {
        let shared = Arc::new(Shared::new(settings.retention, settings.failure));
        let follower = Follower {
            connector: follow,
            shared: shared.clone(),
            settings: settings.clone(),
        };
        let (position, loaded) = follower.open().await?;
        tracing::debug!(loaded, "loaded the revocations from Redis");
        // Following from here on: the task takes the open position over, and
        // a fail-closed list must not refuse in the moment before it runs.
        shared.set_following(true);
        Ok(Self::start(
            write,
            settings,
            shared,
            follower,
            Some(position),
        ))
    }

    pub(crate) fn spawn(
        follow: Connector,
        write: Connector,
        settings: Arc<Settings>,
    ) -> Result<Self, Error> {
        tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let shared = Arc::new(Shared::new(settings.retention, settings.failure));
        let follower = Follower {
            connector: follow,
            shared: shared.clone(),
            settings: settings.clone(),
        };
        Ok(Self::start(write, settings, shared, follower, None))
    }

    fn start(
        write: Connector,
        settings: Arc<Settings>,
        shared: Arc<Shared>,
        follower: Follower,
        position: Option<crate::follow::Position>,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(follower.run(position, stopped));
        Self {
            shared,
            handle: Arc::new(Handle {
                settings,
                writer: Writer {
                    connector: write,
                    conn: tokio::sync::Mutex::new(None),
                    script: append_script(),
                },
                stop,
                task: Mutex::new(Some(task)),
            }),
        }
    }

    /// Records `revocation` in Redis, where every replica picks it up
    /// within a round trip or so, and in this replica's set before it
    /// returns. Fails, without retrying, when Redis does not confirm the
    /// write within the connect timeout plus the command timeout; the
    /// revocation may or may not have been stored then, and writing it
    /// again is harmless.
    pub async fn revoke(&self, revocation: &Revocation) -> Result<(), Error> {
        let settings = &self.handle.settings;
        let deadline = settings.write_deadline();
        let at =
            match tokio::time::timeout(deadline, self.handle.writer.write(settings, revocation))
                .await
            {
                Ok(written) => written?,
                Err(_) => {
                    self.handle.writer.forget();
                    return Err(Error::Timeout {
                        during: "revoking",
                        after: deadline,
                    });
                }
            };
        self.shared.memory.apply(revocation, at);
        Ok(())
    }

    /// Revokes the session `handle` (SuperTokens' `sessionHandle`): every
    /// access token of that sign-in, whichever replica sees it next.
    pub async fn revoke_session(&self, handle: &str) -> Result<(), Error> {
        self.revoke(&Revocation::Session {
            handle: handle.to_owned(),
        })
        .await
    }

    /// Revokes every session of `user_id` ("sign out everywhere", a
    /// password change, a ban): every token issued up to and including
    /// this second, by this machine's clock. A token issued later (the user
    /// signs in again) is not affected.
    pub async fn revoke_user(&self, user_id: &str) -> Result<(), Error> {
        // Rounded up: a token issued earlier in this second, before the
        // call, must not survive it.
        let before = unix_now().saturating_add(1);
        self.revoke(&Revocation::User {
            user_id: user_id.to_owned(),
            before,
        })
        .await
    }

    /// Waits until the revocations have been loaded once (at once after
    /// [`connect`](RedisRevocationsBuilder::connect)). Fails only when the
    /// list was shut down before it loaded; wrap it in a timeout to bound
    /// the wait for an unreachable Redis.
    pub async fn ready(&self) -> Result<(), Error> {
        let mut phase = self.shared.phase.subscribe();
        let phase = *phase
            .wait_for(|phase| *phase != Phase::Loading)
            .await
            .map_err(|_| Error::ShutDown)?;
        if phase == Phase::Loaded || self.shared.staleness().is_some() {
            Ok(())
        } else {
            Err(Error::ShutDown)
        }
    }

    /// Time since the set was last known to hold every revocation in Redis
    /// (under two poll intervals while all is well); `None` before the first
    /// load.
    pub fn staleness(&self) -> Option<Duration> {
        self.shared.staleness()
    }

    /// When the set was last known to hold every revocation in Redis.
    pub fn last_sync(&self) -> Option<SystemTime> {
        self.shared
            .staleness()
            .and_then(|age| SystemTime::now().checked_sub(age))
    }

    /// `true` while the background task is connected and has loaded the
    /// set (it then sees each new revocation within a round trip).
    pub fn is_following(&self) -> bool {
        self.shared.is_following()
    }

    /// Whether a session check would be answered now, and if not, why (the
    /// error [`is_revoked`](RevocationList::is_revoked) would return). For
    /// a health endpoint.
    pub fn health(&self) -> Result<(), RevocationError> {
        self.shared.check().map(drop)
    }

    /// How many revocations are held in memory (session handles plus
    /// users): at most those made within the last retention, plus one
    /// sweep interval (the retention, at most a minute), a poll interval and
    /// a second (entries are dated in whole seconds, rounded up).
    pub fn len(&self) -> usize {
        self.shared.memory.len()
    }

    /// `true` when no revocation is held.
    pub fn is_empty(&self) -> bool {
        self.shared.memory.is_empty()
    }

    /// The retention: how long each revocation is kept.
    pub fn retention(&self) -> Duration {
        self.handle.settings.retention
    }

    /// The failure mode.
    pub fn failure_mode(&self) -> FailureMode {
        self.shared.failure
    }

    /// Stops the background task and waits for it to end. The set is then
    /// no longer followed: it ages like an outage's (fail-open answers from
    /// it until the maximum staleness, fail-closed refuses at once).
    /// [`revoke`](Self::revoke) keeps working. Idempotent.
    pub async fn shutdown(&self) {
        self.handle.stop.send_replace(true);
        let task = self
            .handle
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            // A panic in the task was already reported by the runtime;
            // there is nothing left to stop either way.
            let _ = task.await;
        }
    }
}

impl<C> RevocationList<C> for RedisRevocations {
    /// From memory only: one clock read, a few atomic loads, a read lock
    /// and at most two hash lookups. Never waits on Redis.
    fn is_revoked(&self, session: &Session<C>) -> Result<bool, RevocationError> {
        let now = self.shared.check()?;
        Ok(self.shared.memory.is_revoked_at(session, now))
    }
}

impl fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("key", &self.handle.settings.key)
            .field("revocations", &self.len())
            .field("following", &self.is_following())
            .field("staleness", &self.staleness())
            .field("failure_mode", &self.shared.failure)
            .finish_non_exhaustive()
    }
}

/// The writing side: one multiplexed connection shared by every `revoke`,
/// opened on first use and again after a failure.
struct Writer {
    connector: Connector,
    conn: tokio::sync::Mutex<Option<Connection>>,
    script: redis::Script,
}

impl Writer {
    async fn write(&self, settings: &Settings, revocation: &Revocation) -> Result<i64, Error> {
        let mut conn = self.connection().await?;
        let written = append(&mut conn, &self.script, settings, revocation).await;
        if written.is_err() {
            // Whatever broke (a dropped connection, a timed-out reply that
            // would arrive late), the next write starts on a fresh one.
            self.forget();
        }
        written
    }

    async fn connection(&self) -> Result<Connection, Error> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = &*slot {
            return Ok(conn.clone());
        }
        let conn = self.connector.connect().await?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Drops the shared connection. Never waits: when another write holds
    /// the slot it is opening a connection, which the next write then uses
    /// or, if that one fails too, forgets.
    fn forget(&self) {
        if let Ok(mut slot) = self.conn.try_lock() {
            *slot = None;
        }
    }
}
