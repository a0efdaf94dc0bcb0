//! The JWKS key provider under a herd: 1,000 concurrent verifications on a
//! cold cache against a real loopback JWKS server (exactly one request,
//! asserted every iteration), and 10,000 tokens with random unknown `kid`s
//! (exactly one request per unknown-kid interval, asserted), and 1,000
//! issuers cold at once behind an `IssuerKeyProvider` (exactly one
//! discovery and one JWKS request each, asserted every iteration).
//!
//! `cargo bench -p ssr-session-benches --bench jwks`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use ssr_session::testing::{TokenBuilder, random_hex};
use ssr_session::{
    JwksKeyProvider, SessionOutcome, Verifier, error::InvalidKind, issuers::IssuerKeyProvider,
    issuers::IssuerKeys,
};
use ssr_session_benches::{Fixture, IssuersServer, JwksServer};

const HERD: usize = 1_000;
const FLOOD: usize = 10_000;
/// Issuers set up at once in `cold_issuers_1000`, each with
/// [`VISITS_PER_ISSUER`] concurrent first visits.
const ISSUERS: usize = 1_000;
const VISITS_PER_ISSUER: usize = 2;
/// The unknown-kid interval of the flood bench: long enough for 10,000
/// tokens to arrive before the fetch at its end starts, so that they all
/// share it.
const FLOOD_INTERVAL: Duration = Duration::from_millis(250);

/// Verifies every token concurrently (one task each) and returns how many were valid.
async fn verify_all(verifier: &Verifier, tokens: &Arc<Vec<String>>) -> usize {
    let handles: Vec<_> = (0..tokens.len())
        .map(|index| {
            let verifier = verifier.clone();
            let tokens = tokens.clone();
            tokio::spawn(async move { verifier.verify_token(&tokens[index]).await })
        })
        .collect();
    let mut valid = 0;
    for handle in handles {
        match handle.await.expect("verification task") {
            SessionOutcome::Valid(_) => valid += 1,
            SessionOutcome::Invalid(invalid) => {
                assert_eq!(invalid.kind(), &InvalidKind::UnknownKey, "{invalid:?}")
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    valid
}

/// Tokens whose `kid` names no key (random per token). Their signature is
/// never reached, so it is left as garbage.
fn unknown_kid_tokens(count: usize) -> Arc<Vec<String>> {
    Arc::new(
        (0..count)
            .map(|_| {
                TokenBuilder::supertokens("flood", 600)
                    .header("alg", "RS256")
                    .header("kid", random_hex(8))
                    .with_signature(&[7; 256])
            })
            .collect(),
    )
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fixture = Fixture::generate();
    let server = runtime.block_on(JwksServer::start(fixture.jwks_json.clone()));
    let client = ssr_session::jwks::client_builder()
        .unwrap()
        .build()
        .unwrap();
    let case = fixture.case("rs256");
    // 1,000 distinct users' tokens (RS256, as SuperTokens signs them).
    let herd_tokens: Arc<Vec<String>> = Arc::new(
        (0..HERD)
            .map(|i| TokenBuilder::supertokens(&format!("user-{i}"), 3600).sign(&case.key))
            .collect(),
    );
    let flood_tokens = unknown_kid_tokens(FLOOD);

    let provider = |unknown_kid_interval: Duration| {
        JwksKeyProvider::builder(&server.url())
            .client(client.clone())
            .unknown_kid_interval(unknown_kid_interval)
            .build()
            .expect("provider")
    };

    flood_across_a_fresh_window(&runtime, &server, &provider, &flood_tokens, case);

    let mut group = c.benchmark_group("jwks");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("cold_herd_1000", |b| {
        b.iter_custom(|iterations| {
            let mut measured = Duration::ZERO;
            for _ in 0..iterations {
                let keys = provider(Duration::from_secs(1));
                let verifier = Verifier::builder(keys.clone())
                    .without_token_cache()
                    .build()
                    .expect("verifier");
                let before = server.requests();
                let start = Instant::now();
                let valid = runtime.block_on(verify_all(&verifier, &herd_tokens));
                measured += start.elapsed();
                assert_eq!(valid, HERD);
                assert_eq!(
                    server.requests() - before,
                    1,
                    "one JWKS request per cold herd"
                );
                assert_eq!(keys.fetch_count(), 1);
            }
            measured
        })
    });
    // Keys fetched just before, then a flood of forged tokens with random
    // `kid`s: none may be called unknown from that set, so all wait for the
    // one fetch at the end of the interval and share it. Each iteration
    // lasts about the interval: few, flat samples.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.bench_function("unknown_kid_flood_10000", |b| {
        b.iter_custom(|iterations| {
            let mut measured = Duration::ZERO;
            for _ in 0..iterations {
                let keys = provider(FLOOD_INTERVAL);
                let verifier = Verifier::builder(keys.clone()).build().expect("verifier");
                assert!(
                    runtime
                        .block_on(verifier.verify_token(&case.token))
                        .is_valid()
                );
                let before = server.requests();
                let start = Instant::now();
                let valid = runtime.block_on(verify_all(&verifier, &flood_tokens));
                measured += start.elapsed();
                assert_eq!(valid, 0);
                assert_eq!(
                    server.requests() - before,
                    1,
                    "one request for a flood inside one interval"
                );
            }
            measured
        })
    });
    // 1,000 issuers (tenants of one template, found by discovery), none set
    // up, two first visits each, all at once: every issuer is set up once
    // (moka coalesces the concurrent setups), so exactly one discovery and
    // one JWKS request per issuer.
    let issuers = runtime.block_on(IssuersServer::start(fixture.jwks_json.clone()));
    let es256 = fixture.case("es256");
    let issuer_tokens: Arc<Vec<String>> = Arc::new(
        (0..ISSUERS * VISITS_PER_ISSUER)
            .map(|i| {
                TokenBuilder::supertokens(&format!("user-{i}"), 3600)
                    .claim("iss", issuers.issuer(&format!("t{}", i % ISSUERS)))
                    .sign(&es256.key)
            })
            .collect(),
    );
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.bench_function("cold_issuers_1000", |b| {
        b.iter_custom(|iterations| {
            let mut measured = Duration::ZERO;
            for _ in 0..iterations {
                let keys = IssuerKeyProvider::builder()
                    .issuer_template(&issuers.template(), IssuerKeys::Discovery)
                    .client(client.clone())
                    .max_issuers(ISSUERS as u64)
                    .new_issuer_limit(ISSUERS as u32, Duration::from_secs(1))
                    .build()
                    .expect("provider");
                let verifier = Verifier::builder(keys.clone())
                    .without_token_cache()
                    .build()
                    .expect("verifier");
                let (discoveries, jwks) = (issuers.discoveries(), issuers.jwks_requests());
                let start = Instant::now();
                let valid = runtime.block_on(verify_all(&verifier, &issuer_tokens));
                measured += start.elapsed();
                assert_eq!(valid, ISSUERS * VISITS_PER_ISSUER);
                assert_eq!(
                    issuers.discoveries() - discoveries,
                    ISSUERS as u64,
                    "one discovery per issuer"
                );
                assert_eq!(
                    issuers.jwks_requests() - jwks,
                    ISSUERS as u64,
                    "one JWKS request per issuer"
                );
                assert_eq!(keys.setup_count(), ISSUERS as u64);
            }
            measured
        })
    });
    group.finish();
}

/// The interval since the last fetch has passed (the default 1 s), then
/// 10,000 random `kid`s arrive at once: the first starts a fetch at once;
/// those that arrive after it started wait for the one at the end of the
/// interval. At most two requests, every token answered within the
/// interval plus a fetch.
fn flood_across_a_fresh_window(
    runtime: &tokio::runtime::Runtime,
    server: &JwksServer,
    provider: &dyn Fn(Duration) -> JwksKeyProvider,
    tokens: &Arc<Vec<String>>,
    case: &ssr_session_benches::Case,
) {
    let interval = Duration::from_secs(1);
    let keys = provider(interval);
    let verifier = Verifier::builder(keys.clone()).build().expect("verifier");
    assert!(
        runtime
            .block_on(verifier.verify_token(&case.token))
            .is_valid()
    );
    std::thread::sleep(interval + Duration::from_millis(100));
    let before = server.requests();
    let start = Instant::now();
    let valid = runtime.block_on(verify_all(&verifier, tokens));
    let elapsed = start.elapsed();
    let added = server.requests() - before;
    println!(
        "jwks/unknown_kid_window: {FLOOD} tokens with random unknown kids in {elapsed:.2?} \
         (unknown-kid interval {interval:?}): {added} JWKS request(s) added"
    );
    assert_eq!(valid, 0);
    // The flood arrives well within one interval: the fetch it starts at
    // once, and the one at the end of the interval for the tokens that
    // arrived after that one started.
    assert!(added <= 2, "{added} requests in {elapsed:?}");
    assert!(elapsed < 2 * interval, "answered in {elapsed:?}");
}

criterion_group!(jwks, benches);
criterion_main!(jwks);
