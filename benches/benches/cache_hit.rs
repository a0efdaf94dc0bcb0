//! One verified-token cache hit as a page request makes it:
//! `Verifier::verify_cached` on a browser's `Cookie` header (20 other
//! cookies, then `sAccessToken`): the token read, the cache hit, the
//! decision (and, with the `metrics` feature, its counters).
//!
//! Built three ways by `benches/metrics.sh`, which runs them in alternating
//! rounds: today's main, this tree without the `metrics` feature, and with
//! it and a Prometheus recorder installed (`--features metrics`, the
//! recorder the examples use). See BENCHMARKS.md, issue 23.
//!
//! `cache_hit_info_subscriber` is the same hit with a `tracing` subscriber
//! logging at INFO installed: what the decision span costs such an app.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ssr_session::Verifier;
use ssr_session::keys::{Algorithm, StaticKeys};
use ssr_session::source::HeaderList;
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session_benches::cookie_header;

fn cache_hit(c: &mut Criterion) {
    // Before the verifier is built: it registers its per-request counters then.
    #[cfg(feature = "metrics")]
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this process");
    let key = TestKey::generate(Algorithm::RS256, "k-1");
    let keys = StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).expect("keys");
    let verifier = Verifier::builder(keys).build().expect("verifier");
    let token = TokenBuilder::supertokens("bench-user-7f3c9a", 3600).sign(&key);
    let headers = HeaderList::new().with("cookie", cookie_header(&token));
    let warm = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(verifier.verify(&headers));
    assert!(warm.is_valid(), "{warm:?}");
    assert!(
        verifier
            .verify_cached(&headers)
            .is_some_and(|o| o.is_valid())
    );
    c.bench_function("cache_hit", |b| {
        b.iter(|| black_box(verifier.verify_cached(black_box(&headers))))
    });
    // What the decision span costs an app that logs at INFO (the common
    // production setting): `tracing-subscriber`'s `fmt` at INFO, to a sink.
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_writer(std::io::sink)
        .init();
    c.bench_function("cache_hit_info_subscriber", |b| {
        b.iter(|| black_box(verifier.verify_cached(black_box(&headers))))
    });
    #[cfg(feature = "metrics")]
    {
        let text = recorder.render();
        assert!(
            text.contains("ssr_session_token_cache_hits_total"),
            "the recorder saw the hits: {text}"
        );
    }
}

criterion_group!(benches, cache_hit);
criterion_main!(benches);
