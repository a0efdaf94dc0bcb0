//! [`RedisRevocations`]: the handle the application keeps and the verifier
//! consults.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ssr_session::{Revocation, RevocationList, Revoke, Session, revocation::RevocationError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::connect::{Connection, Connector};
use crate::error::RedisRevocationsError;
use crate::follow::{Follower, Position};
use crate::outbox::{self, Outbox};
use crate::settings::{FailureMode, Settings};
use crate::shared::{Phase, Shared};
use crate::stream::{append, append_script, lost, lost_script};

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
    writer: Arc<Writer>,
    outbox: Arc<Outbox>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl RedisRevocations {
    pub(crate) async fn connect(
        follow: Connector,
        write: Connector,
        settings: Arc<Settings>,
    ) -> Result<Self, RedisRevocationsError> {
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
    ) -> Result<Self, RedisRevocationsError> {
        tokio::runtime::Handle::try_current().map_err(|_| RedisRevocationsError::NoRuntime)?;
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
        position: Option<Position>,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let writer = Arc::new(Writer {
            connector: write,
            conn: tokio::sync::Mutex::new(None),
            script: append_script(),
            lost_script: lost_script(),
        });
        let outbox = Arc::new(Outbox::new(settings.retry_queue, settings.retention));
        // The retry queue's writer: the same connection as `revoke`'s.
        let retry = {
            let (outbox, shared, stopped) = (outbox.clone(), shared.clone(), stopped.clone());
            let last_try = settings.write_deadline();
            let redis = Outgoing {
                writer: writer.clone(),
                settings: settings.clone(),
            };
            async move { outbox.run(&shared, &redis, stopped, last_try).await }
        };
        let task = tokio::spawn(async move {
            tokio::join!(follower.run(position, stopped), retry);
        });
        Self {
            shared,
            handle: Arc::new(Handle {
                settings,
                writer,
                outbox,
                stop,
                task: Mutex::new(Some(task)),
            }),
        }
    }

    /// How many revocations Redis has not acknowledged yet: in force on
    /// this replica, queued to be written (at most the
    /// [retry queue](crate::RedisRevocationsBuilder::retry_queue)'s capacity). For
    /// a health endpoint: above zero, the other replicas do not know them
    /// yet.
    pub fn pending(&self) -> usize {
        self.handle.outbox.len()
    }

    /// Waits until the revocations have been loaded once (at once after
    /// [`connect`](crate::RedisRevocationsBuilder::connect)). Fails only when the
    /// list was shut down before it loaded; wrap it in a timeout to bound
    /// the wait for an unreachable Redis.
    pub async fn ready(&self) -> Result<(), RedisRevocationsError> {
        let mut phase = self.shared.phase.subscribe();
        let phase = *phase
            .wait_for(|phase| *phase != Phase::Loading)
            .await
            .map_err(|_| RedisRevocationsError::ShutDown)?;
        if phase == Phase::Loaded || self.shared.staleness().is_some() {
            Ok(())
        } else {
            Err(RedisRevocationsError::ShutDown)
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
        self.shared.check()
    }

    /// How many revocations are held in memory (session handles plus
    /// users): at most those made within the last retention, plus one
    /// sweep interval (the retention, at most a minute), a poll interval and
    /// a second (entries are dated in whole seconds, rounded up). Precisely,
    /// whatever the follower's lag: each was made (one this replica revoked:
    /// its [`revoke`](Self::revoke) returned) at most the retention, one
    /// sweep interval and a second before the set was last current
    /// ([`staleness`](Self::staleness) ago), or later.
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
    /// it until the maximum staleness, fail-closed refuses at once). Queued
    /// revocations get one last attempt of at most the connect plus the
    /// command timeout; what Redis still does not take is logged (`error`)
    /// and [`pending`](Self::pending) keeps counting it.
    /// [`revoke`](Revoke::revoke) keeps working, but queues no more retries.
    /// Idempotent.
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
    /// From memory only, at the verifier's `now`: one monotonic clock read
    /// (for the staleness), a few atomic loads, a read lock and at most two
    /// hash lookups. Never waits on Redis.
    fn is_revoked(&self, session: &Session<C>, now: i64) -> Result<bool, RevocationError> {
        self.shared.check()?;
        Ok(self.shared.memory.is_revoked_at(session, now))
    }
}

#[async_trait]
impl Revoke for RedisRevocations {
    /// Records `revocation` in Redis, where every replica picks it up
    /// within a round trip or so, and in this replica's set before it
    /// returns.
    ///
    /// `Ok` only once Redis acknowledged the write. When Redis does not
    /// within the connect timeout plus the command timeout, the revocation
    /// is still in force on this replica at once, and the error says so
    /// ([`RevocationError::AppliedLocally`]; see the
    /// [crate docs](crate#no-lost-sign-out)): `queued`, written again in
    /// the background until Redis takes it, or not, on this replica only.
    /// Its source is the [`RedisRevocationsError`]
    /// ([`Queued`](RedisRevocationsError::Queued) or
    /// [`QueueFull`](RedisRevocationsError::QueueFull)). Revoking again is
    /// always harmless.
    async fn revoke(&self, revocation: &Revocation) -> Result<(), RevocationError> {
        let handle = &*self.handle;
        match handle
            .writer
            .write_within(&handle.settings, revocation)
            .await
        {
            Ok(id) => {
                handle.outbox.acknowledged(&self.shared, revocation, id);
                Ok(())
            }
            Err(error) => Err(handle.outbox.hold(&self.shared, revocation, error).into()),
        }
    }
}

impl fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("key", &self.handle.settings.key)
            .field("revocations", &self.len())
            .field("following", &self.is_following())
            .field("staleness", &self.staleness())
            .field("pending", &self.pending())
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
    /// The journal check: whether Redis lost an entry it acknowledged.
    lost_script: redis::Script,
}

impl Writer {
    /// [`write`](Self::write), bounded by the write deadline.
    async fn write_within(
        &self,
        settings: &Settings,
        revocation: &Revocation,
    ) -> Result<String, RedisRevocationsError> {
        let deadline = settings.write_deadline();
        match tokio::time::timeout(deadline, self.write(settings, revocation)).await {
            Ok(written) => written,
            Err(_) => {
                self.forget();
                Err(RedisRevocationsError::Timeout {
                    during: "revoking",
                    after: deadline,
                })
            }
        }
    }

    /// Whether Redis lost the entry `id` (gone before its retention ended,
    /// by Redis' clock), bounded by the write deadline (one script call).
    async fn lost_within(
        &self,
        settings: &Settings,
        id: &str,
    ) -> Result<bool, RedisRevocationsError> {
        let lookup = async {
            let mut conn = self.connection().await?;
            let lost = lost(&mut conn, &self.lost_script, settings, id).await;
            if lost.is_err() {
                self.forget();
            }
            lost
        };
        let deadline = settings.write_deadline();
        match tokio::time::timeout(deadline, lookup).await {
            Ok(found) => found,
            Err(_) => {
                self.forget();
                Err(RedisRevocationsError::Timeout {
                    during: "checking the revocations written",
                    after: deadline,
                })
            }
        }
    }

    /// Appends `revocation`; the new entry's id.
    async fn write(
        &self,
        settings: &Settings,
        revocation: &Revocation,
    ) -> Result<String, RedisRevocationsError> {
        let mut conn = self.connection().await?;
        let written = append(&mut conn, &self.script, settings, revocation).await;
        if written.is_err() {
            // Whatever broke (a dropped connection, a timed-out reply that
            // would arrive late), the next write starts on a fresh one.
            self.forget();
        }
        written
    }

    async fn connection(&self) -> Result<Connection, RedisRevocationsError> {
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

/// The retry queue's way to Redis: the writer's connection, every call
/// bounded by the write deadline.
struct Outgoing {
    writer: Arc<Writer>,
    settings: Arc<Settings>,
}

impl outbox::Redis for Outgoing {
    async fn append(&self, revocation: Revocation) -> Result<String, RedisRevocationsError> {
        self.writer.write_within(&self.settings, &revocation).await
    }

    async fn lost(&self, id: String) -> Result<bool, RedisRevocationsError> {
        self.writer.lost_within(&self.settings, &id).await
    }
}
