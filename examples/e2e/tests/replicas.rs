//! Revocation across replicas (issue 15): three example apps (axum, actix,
//! Rocket) as processes, sharing one real `redis-server` (`--redis-url`)
//! and one dev issuer (`--api-domain`); 1,000 sessions revoked at random
//! moments while other sessions keep loading pages on every replica.
//!
//! Measured: the time from the revocation call returning to the moment
//! every replica refuses the token (p50 / p99 printed; the product goal is
//! p99 ≤ 100 ms on loopback, asserted here with a margin for a loaded
//! 2-core machine). Checked: no revoked token is served after every replica
//! refused it once (cache hits included: each token was served before), and
//! no valid token is ever refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;
use ssr_session::Revoke;
use ssr_session_example_support::dev_issuer::{DevIssuer, DevIssuerConfig};
use ssr_session_example_support::process::{Server, redis_or_skip};
use ssr_session_redis::RedisRevocations;

const REVOCATIONS: usize = 1_000;
const CONCURRENT_REVOCATIONS: usize = 8;
const LIVE_SESSIONS: usize = 30;

/// The session handle of an access token (read without verification).
fn session_handle(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON");
    claims["sessionHandle"]
        .as_str()
        .expect("a session handle")
        .to_owned()
}

/// `/api/me` on `base` with `token`: the status.
async fn status(client: &reqwest::Client, base: &str, token: &str) -> u16 {
    client
        .get(format!("{base}/api/me"))
        .header("cookie", format!("sAccessToken={token}"))
        .send()
        .await
        .expect("the replica answers")
        .status()
        .as_u16()
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_reaches_every_replica_within_milliseconds() {
    let Some(redis) = redis_or_skip("a_revocation_reaches_every_replica_within_milliseconds")
    else {
        return;
    };
    let issuer = DevIssuer::new(DevIssuerConfig {
        access_token_secs: 3600,
        ..DevIssuerConfig::default()
    });
    let running = issuer.serve("127.0.0.1:0").await.expect("the dev issuer");
    let origin = format!("http://{}", running.addr());
    issuer.set_issuer(running.base_url());
    let args = ["--api-domain", origin.as_str(), "--redis-url", &redis.url()];
    let replicas = [
        Server::start(env!("CARGO_BIN_EXE_e2e-axum-ssr"), &args),
        Server::start(env!("CARGO_BIN_EXE_e2e-actix-ssr"), &args),
        Server::start(env!("CARGO_BIN_EXE_e2e-rocket-ssr"), &args),
    ];
    let bases: Arc<Vec<String>> = Arc::new(replicas.iter().map(|r| r.url("")).collect());
    let client = ssr_session::jwks::client_builder()
        .unwrap()
        .build()
        .unwrap();
    let writer = RedisRevocations::builder(redis.url())
        .connect()
        .await
        .expect("the writer connects");

    // Sessions that stay valid, loading pages on every replica throughout.
    let live: Arc<Vec<String>> = Arc::new(
        (0..LIVE_SESSIONS)
            .map(|i| issuer.mint_session(&format!("live-{i}")).access_token)
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (served, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load: Vec<_> = (0..3)
        .map(|worker| {
            let (bases, live, client) = (bases.clone(), live.clone(), client.clone());
            let (stop, served, refused) = (stop.clone(), served.clone(), refused.clone());
            tokio::spawn(async move {
                let mut i = worker;
                while !stop.load(Ordering::Relaxed) {
                    let base = &bases[i % bases.len()];
                    let token = &live[i % live.len()];
                    match status(&client, base, token).await {
                        200 => served.fetch_add(1, Ordering::Relaxed),
                        _ => refused.fetch_add(1, Ordering::Relaxed),
                    };
                    i += 3;
                }
            })
        })
        .collect();

    // The sessions to revoke, each served once by every replica first, so
    // that its refusal must come from the revocation on a cache hit.
    let doomed: Vec<String> = (0..REVOCATIONS)
        .map(|i| issuer.mint_session(&format!("doomed-{i}")).access_token)
        .collect();
    let mut times = Vec::with_capacity(REVOCATIONS);
    let mut late_served = 0;
    let started = Instant::now();
    for batch in doomed.chunks(CONCURRENT_REVOCATIONS) {
        let rounds = batch.iter().enumerate().map(|(i, token)| {
            let (bases, client, writer) = (bases.clone(), client.clone(), writer.clone());
            let token = token.clone();
            async move {
                for base in bases.iter() {
                    assert_eq!(status(&client, base, &token).await, 200, "served before");
                }
                // A random moment: up to ~10 ms into the round.
                tokio::time::sleep(Duration::from_micros((i as u64 * 7_919) % 10_000)).await;
                writer
                    .revoke_session(&session_handle(&token))
                    .await
                    .expect("the revocation is recorded");
                let revoked_at = Instant::now();
                let mut pending: Vec<&String> = bases.iter().collect();
                while !pending.is_empty() {
                    // All pending replicas at once, so the poll adds one round trip.
                    let answers =
                        join_all(pending.iter().map(|base| status(&client, base, &token))).await;
                    pending = pending
                        .into_iter()
                        .zip(answers)
                        .filter(|(_, status)| *status != 401)
                        .map(|(base, _)| base)
                        .collect();
                    assert!(
                        revoked_at.elapsed() < Duration::from_secs(10),
                        "a replica still serves a revoked session after 10 s"
                    );
                }
                let took = revoked_at.elapsed();
                // Once refused everywhere, never served again.
                let mut served_again = 0;
                for base in bases.iter() {
                    if status(&client, base, &token).await != 401 {
                        served_again += 1;
                    }
                }
                (took, served_again)
            }
        });
        for (took, served_again) in join_all(rounds).await {
            times.push(took);
            late_served += served_again;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("a load worker");
    }
    times.sort();
    let (p50, p99, max) = (
        quantile(&times, 0.50),
        quantile(&times, 0.99),
        *times.last().expect("measured"),
    );
    eprintln!(
        "{REVOCATIONS} revocations over 3 replicas in {:.1?}: to every replica p50 {p50:.2?}, \
         p99 {p99:.2?}, max {max:.2?}; load: {} pages served to live sessions, {} refused",
        started.elapsed(),
        served.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    assert_eq!(late_served, 0, "revoked sessions served after refusal");
    assert_eq!(refused.load(Ordering::Relaxed), 0, "live sessions refused");
    assert!(served.load(Ordering::Relaxed) > 0, "the load ran");
    // Generous: the goal is 100 ms on a quiet loopback; debug builds of
    // three apps and the test share two cores here.
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?}");
    drop(replicas);
    running.shutdown().await.expect("the dev issuer stops");
}
