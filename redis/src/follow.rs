//! The background task: load the set, follow the stream, reload after every
//! reconnect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::Instrument as _;

use crate::connect::{Connection, Connector};
use crate::error::RedisRevocationsError;
use crate::metrics;
use crate::settings::Settings;
use crate::shared::{Phase, Shared};
use crate::stream::{poll, reload};

/// The first delay before a new connection attempt; doubled on every failure.
const RETRY_MIN: Duration = Duration::from_millis(100);
/// The longest delay between two connection attempts, so that a Redis that
/// comes back is followed again within about this long.
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How often an outage is logged again while it lasts.
const REMIND_EVERY: Duration = Duration::from_secs(30);

/// A connection positioned in the stream: what the reads continue from.
pub(crate) struct Position {
    pub conn: Connection,
    pub last: String,
}

pub(crate) struct Follower {
    pub connector: Connector,
    pub shared: Arc<Shared>,
    pub settings: Arc<Settings>,
}

/// The state of an outage, for its log lines.
struct Outage {
    since: Instant,
    reminded: Instant,
    past_limit: bool,
}

impl Follower {
    /// Connects and reloads the whole set; returns where to follow from and
    /// how many revocations were loaded.
    pub async fn open(&self) -> Result<(Position, usize), RedisRevocationsError> {
        let mut conn = self.connector.connect().await?;
        let (last, loaded) = reload(&mut conn, &self.shared, &self.settings).await?;
        Ok((Position { conn, last }, loaded))
    }

    /// Follows until `stop` says so or every handle is gone, then marks the
    /// list stopped.
    pub async fn run(self, first: Option<Position>, mut stop: watch::Receiver<bool>) {
        tokio::select! {
            // Err: every handle was dropped, which stops the task too.
            _ = stop.wait_for(|stop| *stop) => {}
            () = self.follow(first) => {}
        }
        self.shared.set_following(false);
        self.shared.phase.send_replace(Phase::Stopped);
        tracing::debug!("stopped following the revocations in Redis");
    }

    async fn follow(&self, mut first: Option<Position>) {
        let mut outage: Option<Outage> = None;
        let mut retry = RETRY_MIN;
        loop {
            let mut position = match first.take() {
                Some(position) => position,
                None => match self.reopen().await {
                    Ok((position, loaded)) => {
                        match outage.take() {
                            Some(outage) => tracing::info!(
                                loaded,
                                outage = ?outage.since.elapsed(),
                                "Redis is back: reloaded the revocations in full"
                            ),
                            None => tracing::debug!(loaded, "loaded the revocations from Redis"),
                        }
                        position
                    }
                    Err(error) => {
                        self.failed(&mut outage, &error);
                        tokio::time::sleep(retry).await;
                        retry = retry.saturating_mul(2).min(RETRY_MAX);
                        continue;
                    }
                },
            };
            retry = RETRY_MIN;
            self.shared.set_following(true);
            self.shared.phase.send_if_modified(|phase| {
                let first_load = *phase == Phase::Loading;
                *phase = Phase::Loaded;
                first_load
            });
            loop {
                let polled = poll(
                    &mut position.conn,
                    &mut position.last,
                    &self.shared,
                    &self.settings,
                )
                .await;
                metrics::staleness(self.shared.staleness());
                if let Err(error) = polled {
                    self.shared.set_following(false);
                    self.failed(&mut outage, &error);
                    // Reconnect at once: most breaks are one dropped
                    // connection, and the reload closes any gap.
                    break;
                }
            }
        }
    }

    /// [`open`](Self::open) again after a break (or a first load that
    /// failed), in a span of its own and counted.
    async fn reopen(&self) -> Result<(Position, usize), RedisRevocationsError> {
        let span = tracing::info_span!(
            target: "ssr_session_redis",
            "ssr_session_redis.reconnect",
            result = tracing::field::Empty,
            loaded = tracing::field::Empty,
        );
        let opened = self.open().instrument(span.clone()).await;
        metrics::reconnect(opened.is_ok());
        metrics::staleness(self.shared.staleness());
        match &opened {
            Ok((_, loaded)) => {
                span.record("result", "ok");
                span.record("loaded", loaded);
            }
            Err(_) => {
                span.record("result", "error");
            }
        }
        opened
    }

    /// Logs a failure: loudly when an outage starts or crosses the staleness
    /// limit, then a reminder now and then, never once per retry.
    fn failed(&self, outage: &mut Option<Outage>, error: &RedisRevocationsError) {
        let now = Instant::now();
        let mode = self.shared.failure;
        let limit = mode.max_staleness();
        let staleness = self.shared.staleness();
        let Some(current) = outage else {
            *outage = Some(Outage {
                since: now,
                reminded: now,
                past_limit: false,
            });
            match staleness {
                None => tracing::error!(
                    %error,
                    "cannot load the revocations from Redis: every session check is \
                     answered unavailable until they load"
                ),
                Some(_) if mode.is_closed() => tracing::error!(
                    %error,
                    "lost Redis: fail-closed, so every session check is answered \
                     unavailable until the revocations are reloaded"
                ),
                Some(_) => tracing::warn!(
                    %error,
                    revocations = self.shared.memory.len(),
                    max_staleness = ?limit,
                    "lost Redis: fail-open, answering from the last known revocations; \
                     revocations made meanwhile are not seen until Redis is back"
                ),
            }
            return;
        };
        if !current.past_limit && staleness.is_some_and(|age| age > limit) {
            current.past_limit = true;
            tracing::error!(
                %error,
                staleness = ?staleness,
                max_staleness = ?limit,
                "the revocations are staler than allowed: every session check is \
                 answered unavailable until Redis is back"
            );
        } else if now.duration_since(current.reminded) >= REMIND_EVERY {
            current.reminded = now;
            tracing::warn!(
                %error,
                down_for = ?now.duration_since(current.since),
                staleness = ?staleness,
                "Redis is still unreachable"
            );
        }
    }
}
