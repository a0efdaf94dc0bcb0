//! No lost sign-out, on real `redis-server` processes: a revocation Redis
//! does not acknowledge is an error (never a success), in force on its
//! replica at once, queued and written once Redis is back; the queue is
//! bounded and says when it is full; a revocation Redis acknowledged and
//! then lost (restarted empty, flushed) is written again by the replica
//! that made it. Also measures what survives a Redis restart with and
//! without the append-only file (figures in RELIABILITY.md).

mod support;

use std::time::{Duration, Instant};

use ssr_session::{RevocationList, Revoke, Session};
use ssr_session_redis::{
    FailureMode, RedisRevocations, RedisRevocationsBuilder, RedisRevocationsError,
};
use support::{RedisServer, Sessions, eventually, redis_error, redis_or_skip};

const POLL: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// Room for a slow, shared machine on top of any bound the code promises.
const MARGIN: Duration = Duration::from_secs(2);
/// The stream key of these tests (not the default, whatever that is).
const KEY: &str = "{ssr-session-test}:revocations";

fn builder(redis: &RedisServer) -> RedisRevocationsBuilder {
    RedisRevocations::builder(redis.url())
        .key(KEY)
        .poll_interval(POLL)
        .connect_timeout(CONNECT_TIMEOUT)
        .command_timeout(COMMAND_TIMEOUT)
        .failure_mode(FailureMode::open(Duration::from_secs(60)))
}

fn revoked(list: &RedisRevocations, session: &Session) -> bool {
    list.is_revoked(session, ssr_session::testing::now_secs())
        .unwrap_or_else(|error| panic!("the list refused to answer: {error}"))
}

fn handle(session: &Session) -> &str {
    session.session_handle().unwrap()
}

async fn sessions(sessions: &Sessions, prefix: &str, n: usize) -> Vec<Session> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(sessions.new_session(&format!("{prefix}-{i}")).await);
    }
    out
}

/// How many entries the stream holds.
fn stream_len(redis: &RedisServer) -> usize {
    redis::cmd("XLEN")
        .arg(KEY)
        .query(&mut support::connection(redis))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_said_so_and_nothing_queued_is_pushed_out() {
    let Some(mut redis) = redis_or_skip("a_full_queue_is_said_so_and_nothing_queued_is_pushed_out")
    else {
        return;
    };
    const CAPACITY: usize = 50;
    let a = builder(&redis)
        .retry_queue(CAPACITY)
        .connect()
        .await
        .unwrap();
    let b = builder(&redis).connect().await.unwrap();
    let sessions_ = Sessions::new();
    let all = sessions(&sessions_, "s", CAPACITY + 30).await;

    redis.kill();
    let mut queued = 0;
    let mut full = 0;
    for session in &all {
        let started = Instant::now();
        match a.revoke_session(handle(session)).await {
            Err(error) if error.is_queued() => {
                assert!(
                    matches!(redis_error(&error), Some(RedisRevocationsError::Queued(_))),
                    "{error:?}"
                );
                queued += 1;
            }
            Err(error) if error.is_applied_locally() => {
                assert!(
                    matches!(
                        redis_error(&error),
                        Some(RedisRevocationsError::QueueFull {
                            capacity: CAPACITY,
                            ..
                        })
                    ),
                    "{error:?}"
                );
                full += 1;
            }
            other => panic!("with Redis down a revoke is never Ok: {other:?}"),
        }
        assert!(
            started.elapsed() < CONNECT_TIMEOUT + COMMAND_TIMEOUT + MARGIN,
            "a revoke gives up within its deadline ({:?})",
            started.elapsed()
        );
    }
    assert_eq!((queued, full), (CAPACITY, 30));
    assert_eq!(a.pending(), CAPACITY, "memory bounded by the capacity");
    assert!(
        all.iter().all(|session| revoked(&a, session)),
        "every one is in force on its replica, queued or not"
    );
    assert!(all.iter().all(|session| !revoked(&b, session)));

    redis.restart();
    let (first, rest) = all.split_at(CAPACITY);
    assert!(
        eventually(Duration::from_secs(15), || first
            .iter()
            .all(|session| revoked(&b, session)))
        .await,
        "every queued revocation reaches the other replica once Redis is back"
    );
    assert_eq!(a.pending(), 0);
    assert!(
        rest.iter().all(|session| !revoked(&b, session)),
        "what found the queue full stayed on its replica, as its caller was told"
    );
    assert!(rest.iter().all(|session| revoked(&a, session)));
    // Revoking again is the remedy, and harmless for the others.
    for session in &all {
        a.revoke_session(handle(session)).await.unwrap();
    }
    assert!(
        eventually(Duration::from_secs(5), || all
            .iter()
            .all(|session| revoked(&b, session)))
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_queues_the_revoke_and_the_duplicate_is_harmless() {
    let Some(redis) =
        redis_or_skip("a_paused_redis_queues_the_revoke_and_the_duplicate_is_harmless")
    else {
        return;
    };
    let a = builder(&redis).connect().await.unwrap();
    let b = builder(&redis).connect().await.unwrap();
    let sessions_ = Sessions::new();
    let warm = sessions_.new_session("warm").await;
    let paused = sessions_.new_session("paused").await;
    // The first write loads the script, so the paused one is a plain EVALSHA.
    a.revoke_session(handle(&warm)).await.unwrap();
    assert_eq!(stream_len(&redis), 1);

    let mut conn = support::connection(&redis);
    let sleeper = std::thread::spawn(move || {
        let _: () = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("2")
            .query(&mut conn)
            .unwrap();
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let answer = a.revoke_session(handle(&paused)).await;
    let took = started.elapsed();
    assert!(
        matches!(&answer, Err(error) if error.is_queued()
            && matches!(redis_error(error), Some(RedisRevocationsError::Queued(_)))),
        "{answer:?}"
    );
    assert!(
        took < CONNECT_TIMEOUT + COMMAND_TIMEOUT + MARGIN,
        "{took:?}"
    );
    assert!(revoked(&a, &paused), "in force here at once");
    sleeper.join().unwrap();

    assert!(
        eventually(Duration::from_secs(10), || revoked(&b, &paused)).await,
        "reaches the other replica once Redis wakes up"
    );
    assert!(eventually(Duration::from_secs(5), || a.pending() == 0).await);
    // The write that timed out was stored when Redis woke up, and the queue
    // wrote it again: two entries for one revocation, one answer.
    assert_eq!(stream_len(&redis), 3, "the late write and the retry");
    assert!(revoked(&b, &paused) && revoked(&a, &paused));
    let late = builder(&redis).connect().await.unwrap();
    assert!(revoked(&late, &paused) && revoked(&late, &warm));
    assert_eq!(late.len(), 2, "a duplicate entry is one revocation");
}

/// Redis acknowledges, then loses everything (`FLUSHALL`) while
/// revocations are being written: the replica that wrote them notices
/// within a second or so and writes them again, so a live replica that had
/// not read them yet and a replica started afterwards both learn every
/// acknowledged one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_while_revoking_loses_no_acknowledged_revocation() {
    let Some(redis) = redis_or_skip("a_flush_while_revoking_loses_no_acknowledged_revocation")
    else {
        return;
    };
    let a = builder(&redis).connect().await.unwrap();
    let b = builder(&redis).connect().await.unwrap();
    let sessions_ = Sessions::new();
    let all = sessions(&sessions_, "f", 200).await;

    let url = redis.url();
    let flusher = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        for _ in 0..3 {
            let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    });
    let mut acknowledged = Vec::new();
    let mut slowest = Duration::ZERO;
    for session in &all {
        let started = Instant::now();
        if a.revoke_session(handle(session)).await.is_ok() {
            acknowledged.push(session.clone());
        }
        slowest = slowest.max(started.elapsed());
    }
    flusher.await.unwrap();
    eprintln!(
        "flushed 3 times during 200 revokes: {} acknowledged, slowest revoke {slowest:?}",
        acknowledged.len()
    );
    assert_eq!(acknowledged.len(), all.len(), "a flush is no failure");
    assert!(slowest < CONNECT_TIMEOUT + COMMAND_TIMEOUT + MARGIN);

    let c = builder(&redis).connect().await.unwrap();
    assert!(
        eventually(Duration::from_secs(10), || acknowledged
            .iter()
            .all(|session| revoked(&b, session) && revoked(&c, session)))
        .await,
        "every acknowledged revocation is known to the live replica and to one \
         started after the flush (b misses {}, c misses {})",
        acknowledged.iter().filter(|s| !revoked(&b, s)).count(),
        acknowledged.iter().filter(|s| !revoked(&c, s)).count(),
    );
}

/// What the retention removes on time is no loss: entries trimmed by later
/// writes, then the whole key once it expired, are not written again. With
/// a 1 s retention the journal (which dates entries in whole seconds,
/// rounded up) still holds entries for up to two seconds after Redis
/// dropped them, at each of its checks (one a second), during the writes
/// and after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_retention_removed_is_not_written_again() {
    let Some(redis) = redis_or_skip("what_the_retention_removed_is_not_written_again") else {
        return;
    };
    const WRITES: u64 = 60;
    let retention = Duration::from_secs(1);
    let list = builder(&redis)
        .retention(retention)
        .connect()
        .await
        .unwrap();
    // One every 50 ms or so: three journal checks while Redis trims.
    let mut may_be_written_twice = 0;
    for i in 0..WRITES {
        match list.revoke_session(&format!("kept-{i}")).await {
            Ok(()) => {}
            // A write that timed out may have been stored all the same, and
            // the queue writes it again.
            Err(error) if error.is_queued() => may_be_written_twice += 1,
            Err(error) => panic!("revoke failed: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The key expires a retention after the last write; the journal keeps
    // the last second's entries up to two seconds more: three checks.
    tokio::time::sleep(retention + Duration::from_secs(3)).await;
    assert!(
        eventually(MARGIN, || list.pending() == 0).await,
        "the queue emptied"
    );
    let written = support::xadd_calls(&redis);
    eprintln!(
        "{WRITES} revocations with a {retention:?} retention: {written} entries written \
         ({may_be_written_twice} revokes timed out)"
    );
    assert!(
        (WRITES..=WRITES + may_be_written_twice).contains(&written),
        "{WRITES} revocations, but {written} entries written: the journal check took entries \
         the retention removed for lost ones and wrote them again"
    );
    let exists: bool = redis::cmd("EXISTS")
        .arg(KEY)
        .query(&mut support::connection(&redis))
        .unwrap();
    assert!(!exists, "the stream expired, and nothing wrote it again");
}

/// What a replica started after a Redis restart knows, with and without
/// the append-only file, before and after the replica that wrote the
/// revocations writes them again. Prints the figures RELIABILITY.md
/// states; asserts what the documentation promises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_survives_a_redis_restart() {
    const N: usize = 100;
    let sessions_ = Sessions::new();
    for append_only in [false, true] {
        let Some(redis) = redis_or_skip("what_survives_a_redis_restart") else {
            return;
        };
        let mut redis = if append_only {
            redis.with_append_only_file()
        } else {
            redis
        };
        let label = if append_only {
            "appendonly yes (everysec)"
        } else {
            "no persistence"
        };
        let all = sessions(&sessions_, label, N).await;
        let (early, late) = all.split_at(N / 2);

        // The writer that stops before the restart: only Redis can tell.
        let gone = builder(&redis).connect().await.unwrap();
        for session in early {
            gone.revoke_session(handle(session)).await.unwrap();
        }
        gone.shutdown().await;
        drop(gone);
        if append_only {
            // `everysec` may postpone writing the file while an fsync is
            // under way (a busy disk), for up to two seconds: what was
            // acknowledged earlier than that is on file.
            tokio::time::sleep(Duration::from_millis(2500)).await;
        }
        // The writer that lives through the restart; its last write just
        // before the kill (SIGKILL, no shutdown).
        let live = builder(&redis).connect().await.unwrap();
        for session in late {
            live.revoke_session(handle(session)).await.unwrap();
        }
        // Killed (SIGKILL) at once after the last acknowledgement.
        redis.restart();

        let fresh = builder(&redis).connect().await.unwrap();
        let known = |list: &RedisRevocations, set: &[Session]| {
            set.iter().filter(|session| revoked(list, session)).count()
        };
        let at_start = (known(&fresh, early), known(&fresh, late));
        let resent = eventually(Duration::from_secs(10), || {
            known(&fresh, late) == late.len()
        })
        .await;
        let after = (known(&fresh, early), known(&fresh, late));
        eprintln!(
            "{label}: a replica started after the restart knows at once {}/{} of a \
             stopped writer's and {}/{} of a live writer's; once the live writer \
             notices: {}/{} and {}/{}",
            at_start.0,
            early.len(),
            at_start.1,
            late.len(),
            after.0,
            early.len(),
            after.1,
            late.len()
        );
        assert!(
            resent,
            "{label}: the live writer writes its revocations again"
        );
        assert_eq!(
            known(&live, &all),
            N,
            "{label}: a replica running through the restart keeps what it knew"
        );
        if append_only {
            assert_eq!(
                at_start.0,
                early.len(),
                "{label}: everything acknowledged over two seconds before the kill is kept"
            );
        } else {
            assert_eq!(after.0, 0, "{label}: what only Redis held is gone");
        }
    }
}
