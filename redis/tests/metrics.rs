//! The revocation feed's numbers (feature `metrics`, on in this workspace's
//! tests through the example support crate), on a real `redis-server`:
//! revocations applied, entries skipped, the feed's staleness, reconnects
//! after a kill, and the decisions a fail-closed list makes meanwhile.

mod support;

use std::time::{Duration, Instant};

use ssr_session::{Revoke, Verifier};
use ssr_session_example_support::metrics::{recorder, render, value};
use ssr_session_redis::{DEFAULT_KEY, FailureMode, RedisRevocations};
use support::{Sessions, connection, redis_or_skip};

/// Scrapes until `condition` holds on the text; `false` after `within`.
async fn scraped(within: Duration, mut condition: impl FnMut(&str) -> bool) -> bool {
    let handle = recorder();
    let started = Instant::now();
    loop {
        if condition(&render(&handle)) {
            return true;
        }
        if started.elapsed() > within {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn at(text: &str, series: &str) -> f64 {
    value(text, series).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_counts_what_it_applies_and_skips_and_reports_its_staleness_and_reconnects() {
    let Some(mut redis) = redis_or_skip("metrics") else {
        return;
    };
    // Installed before anything registers a handle.
    let handle = recorder();
    let limit = Duration::from_secs(2);
    let list = RedisRevocations::builder(redis.url())
        .poll_interval(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(500))
        .command_timeout(Duration::from_millis(500))
        .failure_mode(FailureMode::closed(limit))
        .connect()
        .await
        .unwrap();
    let sessions = Sessions::new();
    let verifier = Verifier::builder(sessions.static_keys())
        .revocation_list(list.clone())
        .build()
        .unwrap();
    let before = render(&handle);
    let staleness = "ssr_session_redis_staleness_seconds";
    assert!(
        scraped(Duration::from_secs(5), |text| value(text, staleness)
            .is_some_and(|age| age < limit.as_secs_f64()))
        .await,
        "a current feed reports a staleness below its limit"
    );

    // One revocation through the list, one entry no version can read.
    let token = sessions.token("alice");
    let session = sessions.session(&token).await;
    list.revoke_session(session.session_handle().unwrap())
        .await
        .unwrap();
    let mut conn = connection(&redis);
    let _: String = redis::cmd("XADD")
        .arg(DEFAULT_KEY)
        .arg("*")
        .arg("not-a-field")
        .arg("1")
        .query(&mut conn)
        .unwrap();
    let applied = "ssr_session_redis_revocations_applied_total";
    let skipped = "ssr_session_redis_entries_skipped_total";
    assert!(
        scraped(Duration::from_secs(5), |text| at(text, applied)
            - at(&before, applied)
            >= 1.0
            && at(text, skipped) - at(&before, skipped) >= 1.0)
        .await,
        "applied and skipped move: {}",
        render(&handle)
    );
    let revoked = "ssr_session_decisions_total{outcome=\"invalid\",reason=\"revoked\"}";
    let counted = at(&render(&handle), revoked);
    assert!(verifier.verify_token(&token).await.is_invalid());
    assert_eq!(at(&render(&handle), revoked) - counted, 1.0);

    // Redis gone: failed reconnects, a growing staleness, and a fail-closed
    // list answers every check unavailable.
    redis.kill();
    let failed = "ssr_session_redis_reconnects_total{result=\"error\"}";
    assert!(
        scraped(Duration::from_secs(10), |text| at(text, failed)
            > at(&before, failed))
        .await,
        "a failed reconnect is counted: {}",
        render(&handle)
    );
    let other = sessions.token("bob");
    let unavailable = "ssr_session_decisions_total{outcome=\"unavailable\",reason=\"revocation\"}";
    let counted = at(&render(&handle), unavailable);
    assert!(verifier.verify_token(&other).await.is_unavailable());
    assert_eq!(at(&render(&handle), unavailable) - counted, 1.0);
    assert!(
        scraped(Duration::from_secs(10), |text| value(text, staleness)
            .is_some_and(|age| age > limit.as_secs_f64()))
        .await,
        "the staleness grows past the limit while Redis is down: {}",
        render(&handle)
    );

    redis.restart();
    let reconnected = "ssr_session_redis_reconnects_total{result=\"ok\"}";
    assert!(
        scraped(Duration::from_secs(15), |text| at(text, reconnected)
            > at(&before, reconnected)
            && value(text, staleness)
                .is_some_and(|age| age < limit.as_secs_f64()))
        .await,
        "a reconnect is counted and the staleness falls back: {}",
        render(&handle)
    );
}
