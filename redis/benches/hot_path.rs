//! The hot path's cost: one revocation check, as every verified request
//! (cache hits included) pays it, with 10,000 revocations held.
//!
//! `cargo bench -p ssr-session-redis --bench hot_path`
//!
//! - `memory/*`: `MemoryRevocations::is_revoked_at`, the lookup alone.
//! - `redis/*`: `RedisRevocations::is_revoked`, the lookup plus the
//!   staleness check (one monotonic clock read; the time to judge by is
//!   the verifier's, passed in), loaded from a real `redis-server`
//!   (started on a free loopback port; skipped with a note when missing).
//! - `redis_tls/*`, `redis_cluster/*`: the same, with the list connected
//!   over TLS and to a three-primary Redis Cluster.
//! - `verify_cached/*`: a whole verified-token cache hit, without a
//!   revocation list and with the Redis one: what the check adds to a
//!   request.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ssr_session::{
    MemoryRevocations, Revocation, RevocationList, Revoke, Session, Verifier, source::HeaderList,
};
use ssr_session_redis::{RedisRevocations, RedisRevocationsBuilder};
use support::{Sessions, servers};

const HELD: usize = 10_000;

fn revocation_check(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sessions = Sessions::new();
    let (revoked, live): (Session, Session) = runtime.block_on(async {
        (
            sessions.new_session("revoked").await,
            sessions.new_session("live").await,
        )
    });
    let handles: Vec<String> = (0..HELD - 1)
        .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
        .chain(revoked.session_handle().map(str::to_owned))
        .collect();

    let now = ssr_session::testing::now_secs();
    let memory = MemoryRevocations::new(Duration::from_secs(3600));
    for handle in &handles {
        memory.apply(&Revocation::session(handle.as_str()), now);
    }
    let mut group = c.benchmark_group("memory");
    group.bench_function("is_revoked_at/live", |b| {
        b.iter(|| black_box(memory.is_revoked_at(black_box(&live), now)))
    });
    group.bench_function("is_revoked_at/revoked", |b| {
        b.iter(|| black_box(memory.is_revoked_at(black_box(&revoked), now)))
    });
    group.finish();

    let Some(redis) = support::redis_or_skip("the redis and verify_cached benches") else {
        return;
    };
    let list = runtime.block_on(loaded(RedisRevocations::builder(redis.url()), &handles));
    bench_list(c, "redis", &list, &live, &revoked);

    // The same check with the list connected over TLS, and to a Cluster:
    // the request path is the same in-memory lookup whatever the
    // connection.
    if let Some(binary) = servers::redis_server_or_skip("the redis_tls and redis_cluster benches") {
        let tls = servers::TlsServer::start(&binary, false);
        let builder = RedisRevocations::builder(tls.url()).tls_ca_file(&tls.authority.ca_file);
        let over_tls = runtime.block_on(loaded(builder, &handles));
        bench_list(c, "redis_tls", &over_tls, &live, &revoked);
        runtime.block_on(over_tls.shutdown());
        if let Some(cli) = servers::program_or_skip(
            "redis-cli",
            "SSR_SESSION_REDIS_CLI",
            "the redis_cluster bench",
        ) {
            let cluster = servers::Cluster::start(&binary, &cli);
            let builder = RedisRevocations::builder_cluster(cluster.urls());
            let on_cluster = runtime.block_on(loaded(builder, &handles));
            bench_list(c, "redis_cluster", &on_cluster, &live, &revoked);
            runtime.block_on(on_cluster.shutdown());
        }
    }

    let token = sessions.token("live");
    let request = HeaderList::new().with("Cookie", format!("sAccessToken={token}"));
    let plain = Verifier::builder(sessions.static_keys()).build().unwrap();
    let checked = Verifier::builder(sessions.static_keys())
        .revocation_list(list.clone())
        .build()
        .unwrap();
    for verifier in [&plain, &checked] {
        assert!(runtime.block_on(verifier.verify(&request)).is_valid());
    }
    let mut group = c.benchmark_group("verify_cached");
    group.bench_function("no_revocation_list", |b| {
        b.iter(|| black_box(plain.verify_cached(black_box(&request)).unwrap()))
    });
    group.bench_function("redis_revocations", |b| {
        b.iter(|| black_box(checked.verify_cached(black_box(&request)).unwrap()))
    });
    group.finish();
    runtime.block_on(list.shutdown());
}

/// A connected list holding a revocation of each of `handles`.
async fn loaded(builder: RedisRevocationsBuilder, handles: &[String]) -> RedisRevocations {
    let list = builder.connect().await.unwrap();
    for handle in handles {
        list.revoke_session(handle).await.unwrap();
    }
    assert_eq!(list.len(), HELD);
    list
}

fn bench_list(
    c: &mut Criterion,
    name: &str,
    list: &RedisRevocations,
    live: &Session,
    revoked: &Session,
) {
    // The verifier's time, as a cache hit has read it already for `exp`.
    let now = ssr_session::testing::now_secs();
    assert!(list.is_revoked(revoked, now).unwrap() && !list.is_revoked(live, now).unwrap());
    let mut group = c.benchmark_group(name);
    group.bench_function("is_revoked/live", |b| {
        b.iter(|| black_box(list.is_revoked(black_box(live), black_box(now)).unwrap()))
    });
    group.bench_function("is_revoked/revoked", |b| {
        b.iter(|| black_box(list.is_revoked(black_box(revoked), black_box(now)).unwrap()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = revocation_check
}
criterion_main!(benches);
