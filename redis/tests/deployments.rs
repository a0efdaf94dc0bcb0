//! The deployments managed Redis offers, on real servers started here: TLS
//! (`rediss://`, certificates made by the test), a Sentinel-managed primary
//! failed over under load, and a three-primary Redis Cluster resharded and
//! restarted under load. See `support/servers.rs` for the servers.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ssr_session::{RevocationList, Revoke, Session, revocation::RevocationError};
use ssr_session_redis::{
    DEFAULT_KEY, FailureMode, RedisRevocations, RedisRevocationsBuilder, RedisRevocationsError,
};
use support::servers::{
    Authority, Cluster, PRIMARY_NAME, SentinelSetup, TlsServer, plain_server, program_or_skip,
    redis_server_or_skip, scratch,
};
use support::{Sessions, eventually};

const POLL: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// Room for a slow, shared machine on top of any bound the code promises.
const MARGIN: Duration = Duration::from_secs(1);
/// How long a revocation may take to reach every list in these tests
/// (milliseconds when all is well; a reconnect and reload after a fault).
const PROPAGATES_WITHIN: Duration = Duration::from_secs(10);

fn tuned(builder: RedisRevocationsBuilder) -> RedisRevocationsBuilder {
    builder
        .poll_interval(POLL)
        .connect_timeout(CONNECT_TIMEOUT)
        .command_timeout(COMMAND_TIMEOUT)
        .failure_mode(FailureMode::open(Duration::from_secs(60)))
}

fn revoked(list: &RedisRevocations, session: &Session) -> bool {
    list.is_revoked(session, ssr_session::testing::now_secs())
        .unwrap_or(false)
}

async fn seen_by_all(lists: &[RedisRevocations], session: &Session) -> bool {
    eventually(PROPAGATES_WITHIN, || {
        lists.iter().all(|list| revoked(list, session))
    })
    .await
}

/// Revokes `session` through `list`, again while Redis refuses (a failover
/// or resharding in progress), as a caller with a retry would; returns the
/// failed attempts.
async fn revoke_until_accepted(list: &RedisRevocations, session: &Session) -> usize {
    let started = Instant::now();
    let mut failures = 0;
    loop {
        match list.revoke_session(session.session_handle().unwrap()).await {
            Ok(()) => return failures,
            Err(error) => {
                failures += 1;
                assert!(
                    started.elapsed() < PROPAGATES_WITHIN,
                    "Redis never accepted the revocation; last error: {error}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The error of a `connect()` that must fail, and how long it took.
async fn refused(builder: RedisRevocationsBuilder) -> (RedisRevocationsError, Duration) {
    let started = Instant::now();
    match builder.connect().await {
        Ok(list) => {
            list.shutdown().await;
            panic!("connected where it must have failed");
        }
        Err(error) => (error, started.elapsed()),
    }
}

/// Read load on every list while a fault happens: checks revoked and live
/// sessions in a loop, counting wrong answers and refusals.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    checks: Arc<AtomicU64>,
    wrong: Arc<AtomicU64>,
    refusals: Arc<AtomicU64>,
}

impl Load {
    fn start(lists: &[RedisRevocations], revoked: &[Session], live: &[Session]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (checks, wrong, refusals) = Default::default();
        let mut load = Self {
            stop,
            threads: Vec::new(),
            checks,
            wrong,
            refusals,
        };
        for list in lists {
            let list = list.clone();
            let expected: Vec<(Session, bool)> = revoked
                .iter()
                .map(|s| (s.clone(), true))
                .chain(live.iter().map(|s| (s.clone(), false)))
                .collect();
            let (stop, checks, wrong, refusals) = (
                load.stop.clone(),
                load.checks.clone(),
                load.wrong.clone(),
                load.refusals.clone(),
            );
            load.threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for (session, expected) in &expected {
                        checks.fetch_add(1, Ordering::Relaxed);
                        match list.is_revoked(session, ssr_session::testing::now_secs()) {
                            Ok(got) if got == *expected => {}
                            Ok(_) => {
                                wrong.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => {
                                refusals.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }));
        }
        load
    }

    /// Stops the load; returns (checks, wrong, refusals).
    fn finish(self) -> (u64, u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        (
            self.checks.load(Ordering::Relaxed),
            self.wrong.load(Ordering::Relaxed),
            self.refusals.load(Ordering::Relaxed),
        )
    }
}

// ---------------------------------------------------------------------------
// TLS

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_the_servers_ca_propagates_between_lists() {
    let Some(binary) = redis_server_or_skip("tls_with_the_servers_ca_propagates_between_lists")
    else {
        return;
    };
    let server = TlsServer::start(&binary, false);
    let builder =
        || tuned(RedisRevocations::builder(server.url())).tls_ca_file(&server.authority.ca_file);
    let a = builder().connect().await.unwrap();
    let b = builder().connect().await.unwrap();
    let c = builder().spawn().unwrap();
    tokio::time::timeout(Duration::from_secs(5), c.ready())
        .await
        .expect("a spawned list loads over TLS")
        .unwrap();
    let sessions = Sessions::new();
    let doomed = sessions.new_session("alice").await;
    let live = sessions.new_session("bob").await;
    a.revoke_session(doomed.session_handle().unwrap())
        .await
        .unwrap();
    let lists = [a, b, c];
    assert!(
        seen_by_all(&lists, &doomed).await,
        "a revocation made over TLS reaches every list"
    );
    assert!(lists.iter().all(|list| !revoked(list, &live)));
    for list in &lists {
        list.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_failures_are_clear_errors_within_the_connect_timeout() {
    let Some(binary) =
        redis_server_or_skip("tls_failures_are_clear_errors_within_the_connect_timeout")
    else {
        return;
    };
    let server = TlsServer::start(&binary, false);
    let plain = plain_server(&binary);
    let dir = scratch("tls-client");
    let other = Authority::new("other", &dir);
    let bound = CONNECT_TIMEOUT + MARGIN;

    // The platform's roots do not know the test's CA; nor does another CA.
    for (case, builder) in [
        (
            "platform roots",
            tuned(RedisRevocations::builder(server.url())),
        ),
        (
            "another CA",
            tuned(RedisRevocations::builder(server.url())).tls_ca_file(&other.ca_file),
        ),
    ] {
        let (error, took) = refused(builder).await;
        eprintln!("{case}: {error} (after {took:?})");
        assert!(took < bound, "{case}: failed after {took:?}");
        assert!(
            error.to_string().contains("certificate"),
            "{case}: the error says the certificate is the problem: {error}"
        );
    }

    // A TLS URL pointed at a plain-TCP server.
    let on_plain = tuned(RedisRevocations::builder(format!(
        "rediss://127.0.0.1:{}/0",
        plain.port
    )))
    .tls_ca_file(&server.authority.ca_file);
    let (error, took) = refused(on_plain).await;
    eprintln!("plain server on rediss://: {error} (after {took:?})");
    assert!(took < bound, "plain server: failed after {took:?}");
    assert!(
        error.to_string().contains("TLS"),
        "the error says TLS is the problem: {error}"
    );

    // Bad settings fail before anything connects, at connect() and spawn().
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let missing = dir.join("missing.pem");
    type Case<'a> = (
        &'a str,
        Box<dyn Fn() -> RedisRevocationsBuilder + 'a>,
        &'a str,
    );
    let cases: [Case; 4] = [
        (
            "missing CA file",
            Box::new(|| RedisRevocations::builder(server.url()).tls_ca_file(&missing)),
            "missing.pem",
        ),
        (
            "CA file without a certificate",
            Box::new(|| RedisRevocations::builder(server.url()).tls_ca_file(&garbage)),
            "no PEM certificate",
        ),
        (
            "client key that is not a key",
            Box::new(|| {
                RedisRevocations::builder(server.url())
                    .tls_client_cert(&server.authority.ca_file, &garbage)
            }),
            "private key",
        ),
        (
            "CA file on a plain URL",
            Box::new(|| RedisRevocations::builder(plain.url()).tls_ca_file(&other.ca_file)),
            "not rediss://",
        ),
    ];
    for (case, builder, says) in &cases {
        let started = Instant::now();
        let Err(RedisRevocationsError::Config(why)) = builder().connect().await else {
            panic!("{case}: connect() must refuse the settings");
        };
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "{case}: at once"
        );
        assert!(why.contains(says), "{case}: {why}");
        let Err(RedisRevocationsError::Config(_)) = builder().spawn() else {
            panic!("{case}: spawn() must refuse the settings");
        };
    }

    // spawn() with a CA that does not match: starts (that is what spawn is
    // for), never loads, answers unavailable rather than vouching.
    let list = tuned(RedisRevocations::builder(server.url()))
        .tls_ca_file(&other.ca_file)
        .spawn()
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), list.ready())
            .await
            .is_err(),
        "never loaded"
    );
    let session = Sessions::new().new_session("alice").await;
    let refusal = list
        .is_revoked(&session, ssr_session::testing::now_secs())
        .unwrap_err();
    assert!(
        matches!(&refusal, RevocationError::Custom(inner)
            if matches!(inner.downcast_ref::<RedisRevocationsError>(), Some(RedisRevocationsError::NotLoaded))),
        "{refusal:?}"
    );
    list.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_presented_when_the_server_requires_one() {
    let Some(binary) =
        redis_server_or_skip("a_client_certificate_is_presented_when_the_server_requires_one")
    else {
        return;
    };
    let server = TlsServer::start(&binary, true);
    let builder =
        || tuned(RedisRevocations::builder(server.url())).tls_ca_file(&server.authority.ca_file);

    let (error, took) = refused(builder()).await;
    eprintln!("no client certificate: {error} (after {took:?})");
    assert!(took < CONNECT_TIMEOUT + MARGIN, "failed after {took:?}");

    let client = server.authority.issue("client", &server.node.dir, true);
    let list = builder()
        .tls_client_cert(&client.cert_file, &client.key_file)
        .connect()
        .await
        .unwrap();
    let session = Sessions::new().new_session("alice").await;
    list.revoke_session(session.session_handle().unwrap())
        .await
        .unwrap();
    assert!(revoked(&list, &session));
    list.shutdown().await;
}

// ---------------------------------------------------------------------------
// Sentinel

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_under_load_keeps_sessions_served_and_revocations_flowing() {
    let test = "a_sentinel_failover_under_load_keeps_sessions_served_and_revocations_flowing";
    let Some(binary) = redis_server_or_skip(test) else {
        return;
    };
    let mut setup = SentinelSetup::start(&binary);
    let mut lists = Vec::new();
    for _ in 0..3 {
        lists.push(
            tuned(RedisRevocations::builder_sentinel(
                PRIMARY_NAME,
                [setup.sentinel_url()],
            ))
            .connect()
            .await
            .unwrap(),
        );
    }
    let sessions = Sessions::new();
    let before = sessions.new_session("before").await;
    let after = sessions.new_session("after").await;
    let live = sessions.new_session("live").await;
    lists[0]
        .revoke_session(before.session_handle().unwrap())
        .await
        .unwrap();
    assert!(seen_by_all(&lists, &before).await);

    let load = Load::start(
        &lists,
        std::slice::from_ref(&before),
        &[live.clone(), after.clone()],
    );
    let old = setup.primary_port();
    let started = Instant::now();
    let new = setup.kill_primary();
    eprintln!("failover {old} -> {new} in {:?}", started.elapsed());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (checks, wrong, refusals) = load.finish();
    eprintln!("sentinel failover: {checks} checks under load, {wrong} wrong, {refusals} refused");
    assert!(checks > 100);
    assert_eq!(wrong, 0, "no wrong answer through the failover");
    assert_eq!(refusals, 0, "fail-open: sessions kept being served");

    let failures = revoke_until_accepted(&lists[0], &after).await;
    eprintln!("the first revocation after the failover was refused {failures} times");
    assert!(
        seen_by_all(&lists, &after).await,
        "a revocation made after the failover reaches every list"
    );
    assert!(
        eventually(PROPAGATES_WITHIN, || lists
            .iter()
            .all(RedisRevocations::is_following))
        .await
    );
    assert!(
        lists
            .iter()
            .all(|list| revoked(list, &before) && !revoked(list, &live))
    );
    // It is in the new primary's stream.
    let length: usize = redis::cmd("XLEN")
        .arg(DEFAULT_KEY)
        .query(&mut support::servers::plain_connection(&format!(
            "redis://127.0.0.1:{new}"
        )))
        .unwrap();
    assert_eq!(length, 2, "both revocations are on the new primary");
    for list in &lists {
        list.shutdown().await;
    }
}

// ---------------------------------------------------------------------------
// Cluster

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_resharding_and_node_restart_under_load_keep_revocations_flowing() {
    let test = "a_cluster_resharding_and_node_restart_under_load_keep_revocations_flowing";
    let Some(binary) = redis_server_or_skip(test) else {
        return;
    };
    let Some(cli) = program_or_skip("redis-cli", "SSR_SESSION_REDIS_CLI", test) else {
        return;
    };
    let mut cluster = Cluster::start(&binary, &cli);
    let urls = cluster.urls();
    let mut lists = Vec::new();
    for url in &urls {
        // Each list knows one node; it finds the others.
        lists.push(
            tuned(RedisRevocations::builder_cluster([url.clone()]))
                .connect()
                .await
                .unwrap(),
        );
    }
    let sessions = Sessions::new();
    let first = sessions.new_session("first").await;
    let resharded = sessions.new_session("resharded").await;
    let restarted = sessions.new_session("restarted").await;
    let older = sessions.new_session("older").await;
    let live = sessions.new_session("live").await;
    lists[0]
        .revoke_session(first.session_handle().unwrap())
        .await
        .unwrap();
    assert!(seen_by_all(&lists, &first).await);

    let load = Load::start(
        &lists,
        std::slice::from_ref(&first),
        std::slice::from_ref(&live),
    );

    // Move the stream's slot, with the stream, to another node.
    let slot = cluster.slot(DEFAULT_KEY);
    let from = cluster.owner(slot);
    let to = (from + 1) % cluster.nodes.len();
    cluster.migrate(slot, from, to);
    assert_eq!(cluster.owner(slot), to);
    let failures = revoke_until_accepted(&lists[0], &resharded).await;
    eprintln!("resharded slot {slot} from node {from} to {to}; {failures} refused writes");
    assert!(
        seen_by_all(&lists, &resharded).await,
        "a revocation made after the resharding reaches every list"
    );
    let length: usize = redis::cmd("XLEN")
        .arg(DEFAULT_KEY)
        .query(&mut cluster.nodes[to].connection())
        .unwrap();
    assert_eq!(length, 2, "the stream moved with its slot");

    // Restart the node that holds the stream (it comes back empty: no
    // persistence; its cluster configuration keeps its slots).
    let last: Vec<(String, std::collections::HashMap<String, String>)> = redis::cmd("XREVRANGE")
        .arg(DEFAULT_KEY)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query(&mut cluster.nodes[to].connection())
        .unwrap();
    let last_ms: u64 = last[0].0.split('-').next().unwrap().parse().unwrap();
    cluster.nodes[to].kill();
    cluster.nodes[to].launch();
    cluster.wait_until_ok();
    // Written straight into the restarted node, dated a second before the
    // last entry the lists saw, as a node with another clock (or a
    // promoted replica) could hold it: reading on from the last seen id
    // would skip it; only the full reload after the reconnect finds it.
    let older_json = serde_json::to_string(&ssr_session::Revocation::session(
        older.session_handle().unwrap(),
    ))
    .unwrap();
    let _: String = redis::cmd("XADD")
        .arg(DEFAULT_KEY)
        .arg(format!("{}-0", last_ms - 1000))
        .arg("r")
        .arg(older_json)
        .query(&mut cluster.nodes[to].connection())
        .unwrap();
    assert!(
        seen_by_all(&lists, &older).await,
        "after the reconnect, the lists reload the stream in full"
    );
    let failures = revoke_until_accepted(&lists[0], &restarted).await;
    eprintln!("restarted node {to}; {failures} refused writes");
    assert!(
        seen_by_all(&lists, &restarted).await,
        "a revocation made after the node restart reaches every list"
    );
    assert!(
        lists
            .iter()
            .all(|list| revoked(list, &first) && revoked(list, &resharded)),
        "what the lists knew before the restart emptied the node stays in force"
    );

    let (checks, wrong, refusals) = load.finish();
    eprintln!("cluster: {checks} checks under load, {wrong} wrong, {refusals} refused");
    assert!(checks > 100);
    assert_eq!(
        wrong, 0,
        "no wrong answer through the resharding and restart"
    );
    assert_eq!(refusals, 0, "fail-open: sessions kept being served");
    assert!(lists.iter().all(|list| !revoked(list, &live)));
    for list in &lists {
        list.shutdown().await;
    }
}
