//! Redis failing under load, on a real `redis-server`: killed and
//! restarted, frozen (SIGSTOP), slowed (`DEBUG SLEEP`), absent at start.
//! The request path must never wait, answer as its failure mode says, and
//! catch up in full when Redis is back.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ssr_session::{Revocation, RevocationList, Revoke, Session, revocation::RevocationError};
use ssr_session_redis::{
    DEFAULT_KEY, FailureMode, RedisRevocations, RedisRevocationsBuilder, RedisRevocationsError,
};
use support::{RedisServer, Sessions, eventually, redis_error, redis_or_skip};

const POLL: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// Room for a slow, shared machine on top of any bound the code promises.
const MARGIN: Duration = Duration::from_secs(2);

fn builder(redis: &RedisServer, mode: FailureMode) -> RedisRevocationsBuilder {
    RedisRevocations::builder(redis.url())
        .poll_interval(POLL)
        .connect_timeout(CONNECT_TIMEOUT)
        .command_timeout(COMMAND_TIMEOUT)
        .failure_mode(mode)
}

fn answer(list: &RedisRevocations, session: &Session) -> Result<bool, RevocationError> {
    list.is_revoked(session, ssr_session::testing::now_secs())
}

fn our_error(error: &RevocationError) -> Option<&RedisRevocationsError> {
    match error {
        RevocationError::Custom(inner) => inner.downcast_ref::<RedisRevocationsError>(),
        _ => None,
    }
}

/// Read load on one replica while a fault happens: checks `revoked` and
/// `live` sessions in a loop, counting wrong answers and refusals and
/// timing each check.
struct Load {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    report: Arc<LoadReport>,
}

#[derive(Default)]
struct LoadReport {
    checks: AtomicU64,
    wrong: AtomicU64,
    refused: AtomicU64,
    slowest_ns: AtomicU64,
}

impl Load {
    fn start(list: &RedisRevocations, revoked: Vec<Session>, live: Vec<Session>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(LoadReport::default());
        let (list, stop2, report2) = (list.clone(), stop.clone(), report.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let expected = revoked.iter().map(|s| (s, true));
                for (session, expected) in expected.chain(live.iter().map(|s| (s, false))) {
                    let started = Instant::now();
                    let got = list.is_revoked(session, ssr_session::testing::now_secs());
                    let took = started.elapsed().as_nanos() as u64;
                    report2.slowest_ns.fetch_max(took, Ordering::Relaxed);
                    report2.checks.fetch_add(1, Ordering::Relaxed);
                    match got {
                        Ok(got) if got == expected => {}
                        Ok(_) => {
                            report2.wrong.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            report2.refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        });
        Self {
            stop,
            thread: Some(thread),
            report,
        }
    }

    /// Stops the load; returns (checks, wrong, refused, slowest).
    fn finish(mut self) -> (u64, u64, u64, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        let r = &self.report;
        (
            r.checks.load(Ordering::Relaxed),
            r.wrong.load(Ordering::Relaxed),
            r.refused.load(Ordering::Relaxed),
            Duration::from_nanos(r.slowest_ns.load(Ordering::Relaxed)),
        )
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_open_serves_the_last_known_set_through_a_restart_and_reloads_in_full() {
    let test = "fail_open_serves_the_last_known_set_through_a_restart_and_reloads_in_full";
    let Some(mut redis) = redis_or_skip(test) else {
        return;
    };
    let mode = FailureMode::open(Duration::from_secs(60));
    let a = builder(&redis, mode).connect().await.unwrap();
    let b = builder(&redis, mode).connect().await.unwrap();
    let sessions = Sessions::new();
    let before = sessions.new_session("before").await;
    let during = sessions.new_session("during").await;
    let older = sessions.new_session("older").await;
    let after = sessions.new_session("after").await;
    let live = sessions.new_session("live").await;

    let written_ms = unix_ms();
    a.revoke_session(before.session_handle().unwrap())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || answer(&b, &before)
            .is_ok_and(|r| r))
        .await
    );
    let load = Load::start(&b, vec![before.clone()], vec![live.clone()]);

    redis.kill();
    assert!(
        eventually(Duration::from_secs(5), || !b.is_following()).await,
        "the follower notices the dead server"
    );
    // Through the outage: the last known set, no refusal.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        answer(&b, &before).unwrap(),
        "a revocation made before the outage holds"
    );
    assert!(!answer(&b, &live).unwrap());
    assert!(b.health().is_ok(), "fail-open within its staleness");
    assert!(b.staleness().unwrap() >= Duration::from_millis(500));
    let started = Instant::now();
    let failed = a.revoke_session(during.session_handle().unwrap()).await;
    assert!(
        matches!(&failed, Err(error) if error.is_queued()
            && matches!(redis_error(error), Some(RedisRevocationsError::Queued(_)))),
        "a revoke with Redis down is not a success, and is queued: {failed:?}"
    );
    assert!(
        answer(&a, &during).unwrap(),
        "a queued revocation is in force on its replica at once"
    );
    assert!(
        !answer(&b, &during).unwrap(),
        "and nowhere else while Redis is down"
    );
    assert_eq!(a.pending(), 1);
    assert!(
        started.elapsed() < CONNECT_TIMEOUT + COMMAND_TIMEOUT + MARGIN,
        "a revoke gives up within its timeouts ({:?})",
        started.elapsed()
    );

    redis.restart();
    // Made straight into the restarted (empty) Redis, dated two seconds
    // before the last entry `b` saw, as a failed-over Redis with another
    // clock would hold it: reading on from the last seen id would skip
    // it; only the full reload after the reconnect finds it.
    let older_json =
        serde_json::to_string(&Revocation::session(older.session_handle().unwrap())).unwrap();
    let _: String = redis::cmd("XADD")
        .arg(DEFAULT_KEY)
        .arg(format!("{}-0", written_ms - 2000))
        .arg("r")
        .arg(older_json)
        .query(&mut support::connection(&redis))
        .unwrap();
    // And one through a replica once Redis is back (its writer reconnects).
    a.revoke_session(after.session_handle().unwrap())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || b.is_following()).await,
        "the follower reconnects"
    );
    assert!(
        eventually(Duration::from_secs(5), || answer(&b, &older)
            .is_ok_and(|r| r)
            && answer(&b, &after).is_ok_and(|r| r))
        .await,
        "after the reconnect, every revocation in Redis is known"
    );
    assert!(
        answer(&b, &before).unwrap(),
        "the reload merges: a revocation the restarted Redis lost stays in force"
    );
    assert!(!answer(&b, &live).unwrap());
    assert!(
        eventually(Duration::from_secs(10), || answer(&b, &during)
            .is_ok_and(|r| r))
        .await,
        "the queued revocation reaches the other replica once Redis is back"
    );
    assert_eq!(a.pending(), 0, "the queue drained");

    let (checks, wrong, refused, slowest) = load.finish();
    eprintln!(
        "fail-open restart: {checks} checks under load, {wrong} wrong, {refused} refused, \
         slowest {slowest:?}"
    );
    assert!(checks > 100);
    assert_eq!(wrong, 0, "no wrong answer through the outage");
    assert_eq!(
        refused, 0,
        "fail-open within the staleness limit never refuses"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_open_turns_unavailable_after_the_maximum_staleness() {
    let test = "fail_open_turns_unavailable_after_the_maximum_staleness";
    let Some(mut redis) = redis_or_skip(test) else {
        return;
    };
    let limit = Duration::from_millis(1500);
    let list = builder(&redis, FailureMode::open(limit))
        .connect()
        .await
        .unwrap();
    let session = Sessions::new().new_session("alice").await;
    assert!(!answer(&list, &session).unwrap());

    // Let a poll succeed, so the staleness at the kill is low.
    tokio::time::sleep(POLL).await;
    let synced = list.last_sync().unwrap();
    redis.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !answer(&list, &session).unwrap(),
        "fail-open: still answering shortly after the outage began"
    );
    let refused = Arc::new(Mutex::new(None));
    assert!(
        eventually(limit + MARGIN, || match answer(&list, &session) {
            Err(error) => {
                *refused.lock().unwrap() = Some((error, SystemTime::now()));
                true
            }
            Ok(_) => false,
        })
        .await,
        "unavailable once the set is older than {limit:?}"
    );
    let (error, at) = refused.lock().unwrap().take().unwrap();
    let RevocationError::Stale {
        age,
        limit: reported,
    } = error
    else {
        panic!("expected Stale, got {error:?}");
    };
    assert_eq!(reported, limit);
    assert!(age > limit);
    assert!(
        at.duration_since(synced).unwrap() >= limit,
        "never refused before the limit"
    );
    assert!(list.health().is_err());

    redis.restart();
    assert!(
        eventually(Duration::from_secs(10), || answer(&list, &session).is_ok()).await,
        "answering again once Redis is back"
    );
    assert!(list.staleness().unwrap() < limit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_idle_replica_stays_current() {
    let Some(redis) = redis_or_skip("a_healthy_idle_replica_stays_current") else {
        return;
    };
    // Fail-closed with a short limit: refusing while nothing is wrong would
    // show at once. No revocation arrives: only the empty polls keep the
    // set current.
    let limit = Duration::from_secs(1);
    let list = builder(&redis, FailureMode::closed(limit))
        .connect()
        .await
        .unwrap();
    let session = Sessions::new().new_session("alice").await;
    let started = Instant::now();
    let mut stalest = Duration::ZERO;
    while started.elapsed() < limit * 3 {
        assert!(
            !answer(&list, &session).unwrap(),
            "refused while Redis is healthy"
        );
        stalest = stalest.max(list.staleness().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("idle for {:?}: staleness at most {stalest:?}", limit * 3);
    assert!(list.is_following());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_refuses_from_the_first_failure_until_reloaded() {
    let Some(mut redis) =
        redis_or_skip("fail_closed_refuses_from_the_first_failure_until_reloaded")
    else {
        return;
    };
    let limit = Duration::from_secs(1);
    let a = builder(&redis, FailureMode::open(Duration::from_secs(60)))
        .connect()
        .await
        .unwrap();
    let list = builder(&redis, FailureMode::closed(limit))
        .connect()
        .await
        .unwrap();
    let sessions = Sessions::new();
    let session = sessions.new_session("alice").await;
    assert!(!answer(&list, &session).unwrap());

    redis.kill();
    let killed = Instant::now();
    assert!(
        eventually(limit + MARGIN, || answer(&list, &session).is_err()).await,
        "fail-closed refuses once Redis is gone"
    );
    let error = answer(&list, &session).unwrap_err();
    // The broken connection is seen at once, well before the staleness
    // limit would have caught it.
    assert!(
        matches!(our_error(&error), Some(RedisRevocationsError::Disconnected)),
        "{error:?} after {:?}",
        killed.elapsed()
    );

    redis.restart();
    assert!(
        eventually(Duration::from_secs(10), || answer(&list, &session).is_ok()).await,
        "answering again once reloaded"
    );
    let other = sessions.new_session("bob").await;
    a.revoke_session(other.session_handle().unwrap())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || answer(&list, &other)
            .is_ok_and(|r| r))
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_never_delays_a_check_and_fail_closed_refuses_it_in_time() {
    let test = "a_hung_redis_never_delays_a_check_and_fail_closed_refuses_it_in_time";
    let Some(redis) = redis_or_skip(test) else {
        return;
    };
    let limit = Duration::from_secs(1);
    let open = builder(&redis, FailureMode::open(Duration::from_secs(60)))
        .connect()
        .await
        .unwrap();
    let closed = builder(&redis, FailureMode::closed(limit))
        .connect()
        .await
        .unwrap();
    let sessions = Sessions::new();
    let revoked = sessions.new_session("mallory").await;
    let live = sessions.new_session("alice").await;
    open.revoke_session(revoked.session_handle().unwrap())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || answer(&closed, &revoked)
            .is_ok_and(|r| r))
        .await
    );
    let load = Load::start(&open, vec![revoked.clone()], vec![live.clone()]);

    redis.freeze();
    let frozen = Instant::now();
    // The connections stay open and say nothing: only the staleness can
    // tell, and it must within the limit plus a poll's timeout.
    assert!(
        eventually(limit + POLL + COMMAND_TIMEOUT + MARGIN, || answer(
            &closed, &live
        )
        .is_err())
        .await,
        "fail-closed refuses a silent Redis"
    );
    let refused_after = frozen.elapsed();
    let started = Instant::now();
    let revoke = open.revoke_session("while-frozen").await;
    let revoke_took = started.elapsed();
    assert!(revoke.is_err(), "a revoke cannot succeed on a frozen Redis");
    assert!(
        revoke_took < CONNECT_TIMEOUT + COMMAND_TIMEOUT + MARGIN,
        "a revoke on a frozen Redis gives up within its timeouts ({revoke_took:?})"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.thaw();
    let (checks, wrong, refused, slowest) = load.finish();
    eprintln!(
        "hung Redis: fail-closed refused after {refused_after:?}; a revoke gave up after \
         {revoke_took:?} ({revoke:?}); fail-open: {checks} checks, {wrong} wrong, \
         {refused} refused, slowest {slowest:?}"
    );
    assert!(checks > 100);
    assert_eq!(
        (wrong, refused),
        (0, 0),
        "fail-open answers from memory throughout"
    );
    assert!(
        slowest < Duration::from_millis(100),
        "a check never waits on the hung Redis (slowest {slowest:?}, the hang lasted seconds)"
    );
    assert!(
        eventually(Duration::from_secs(10), || answer(&closed, &live).is_ok()).await,
        "fail-closed answers again after the thaw"
    );
    assert!(answer(&closed, &revoked).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_redis_never_delays_a_check() {
    let Some(redis) = redis_or_skip("a_slow_redis_never_delays_a_check") else {
        return;
    };
    let list = builder(&redis, FailureMode::default())
        .connect()
        .await
        .unwrap();
    let sessions = Sessions::new();
    let revoked = sessions.new_session("mallory").await;
    let live = sessions.new_session("alice").await;
    list.revoke_session(revoked.session_handle().unwrap())
        .await
        .unwrap();
    let load = Load::start(&list, vec![revoked], vec![live]);

    // The whole server sleeps for 3 s inside one command: every other
    // client waits, as behind a slow Lua script or a huge KEYS.
    let mut side = support::connection(&redis);
    let sleeper = std::thread::spawn(move || {
        let started = Instant::now();
        let _: () = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(3)
            .query(&mut side)
            .unwrap();
        started.elapsed()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let revoke = list.revoke_session("while-slow").await;
    let revoke_took = started.elapsed();
    let slept = tokio::task::spawn_blocking(move || sleeper.join().unwrap())
        .await
        .unwrap();
    let (checks, wrong, refused, slowest) = load.finish();
    eprintln!(
        "slow Redis ({slept:?} asleep): {checks} checks, {wrong} wrong, {refused} refused, \
         slowest {slowest:?}; a revoke took {revoke_took:?} ({revoke:?})"
    );
    assert!(slept >= Duration::from_secs(3), "the server really slept");
    assert!(
        revoke.is_err(),
        "the revoke timed out rather than waiting 3 s"
    );
    assert!(revoke_took < CONNECT_TIMEOUT + COMMAND_TIMEOUT + MARGIN);
    assert!(checks > 100);
    assert_eq!((wrong, refused), (0, 0));
    assert!(
        slowest < Duration::from_millis(100),
        "a check never waits on Redis (slowest {slowest:?} while Redis slept {slept:?})"
    );
    assert!(
        list.revoke_session("after").await.is_ok(),
        "the writer recovers after the slow command"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_started_without_redis_refuses_until_it_loads() {
    let Some(mut redis) = redis_or_skip("a_list_started_without_redis_refuses_until_it_loads")
    else {
        return;
    };
    let sessions = Sessions::new();
    let revoked = sessions.new_session("mallory").await;
    {
        let writer = builder(&redis, FailureMode::default())
            .connect()
            .await
            .unwrap();
        writer
            .revoke_session(revoked.session_handle().unwrap())
            .await
            .unwrap();
    }
    redis.kill();

    let started = Instant::now();
    let connected = builder(&redis, FailureMode::default()).connect().await;
    assert!(connected.is_err(), "connect fails without Redis");
    assert!(
        started.elapsed() < CONNECT_TIMEOUT + MARGIN,
        "and fails in time"
    );

    let list = builder(&redis, FailureMode::default()).spawn().unwrap();
    let error = answer(&list, &revoked).unwrap_err();
    assert!(
        matches!(our_error(&error), Some(RedisRevocationsError::NotLoaded)),
        "nothing is vouched for before the first load: {error:?}"
    );
    assert!(list.staleness().is_none() && list.last_sync().is_none());
    let early = tokio::time::timeout(Duration::from_millis(500), list.ready()).await;
    assert!(early.is_err(), "ready waits for the load");

    redis.restart();
    // The restarted Redis is empty: write the revocation again, as a
    // persistent Redis would have kept it.
    let writer = builder(&redis, FailureMode::default())
        .connect()
        .await
        .unwrap();
    writer
        .revoke_session(revoked.session_handle().unwrap())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), list.ready())
        .await
        .expect("loads once Redis is up")
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || answer(&list, &revoked)
            .is_ok_and(|r| r))
        .await
    );
}

/// The number of clients connected to `redis` besides the asking one.
fn clients(redis: &RedisServer) -> usize {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut support::connection(redis))
        .unwrap();
    list.lines().count() - 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_and_dropping_the_last_handle_stop_the_follower() {
    let Some(redis) = redis_or_skip("shutdown_and_dropping_the_last_handle_stop_the_follower")
    else {
        return;
    };
    let writer = builder(&redis, FailureMode::default())
        .connect()
        .await
        .unwrap();
    writer.revoke_session("warm-up").await.unwrap();
    let closed = builder(&redis, FailureMode::closed(Duration::from_secs(1)))
        .connect()
        .await
        .unwrap();
    let open = builder(&redis, FailureMode::default())
        .connect()
        .await
        .unwrap();
    // The writer's follower and writer, then one follower each.
    assert!(eventually(Duration::from_secs(5), || clients(&redis) == 4).await);
    let sessions = Sessions::new();
    let late = sessions.new_session("late").await;

    tokio::time::timeout(Duration::from_secs(5), closed.shutdown())
        .await
        .expect("shutdown ends the follower");
    assert!(!closed.is_following());
    assert!(
        matches!(
            closed.health().as_ref().map_err(our_error),
            Err(Some(RedisRevocationsError::Disconnected))
        ),
        "a fail-closed list no longer followed refuses"
    );
    assert!(
        eventually(Duration::from_secs(5), || clients(&redis) == 3).await,
        "its connection is closed"
    );
    tokio::time::timeout(Duration::from_secs(5), closed.shutdown())
        .await
        .expect("shutdown is idempotent");

    let copy = open.clone();
    drop(open);
    writer
        .revoke_session(late.session_handle().unwrap())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || answer(&copy, &late)
            .is_ok_and(|r| r))
        .await,
        "a remaining clone keeps it following"
    );
    drop(copy);
    assert!(
        eventually(Duration::from_secs(5), || clients(&redis) == 2).await,
        "dropping the last handle ends the follower and its connection"
    );
}
