//! The `cache_hit` bench's request in a loop, for instruction counts: the
//! loop is the function `cache_hit_loop::hits`, so callgrind can count it
//! alone (`benches/metrics.sh` does, for main and this tree with the
//! `metrics` feature off and on).
//!
//! ```text
//! cache-hit-loop <hits>
//! ```

use std::hint::black_box;

use ssr_session::Verifier;
use ssr_session::keys::{Algorithm, StaticKeys};
use ssr_session::source::HeaderList;
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session_benches::cookie_header;

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| {
            eprintln!("usage: cache-hit-loop <hits>");
            std::process::exit(2);
        });
    // Before the verifier is built: it registers its per-request counters then.
    #[cfg(feature = "metrics")]
    let _recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
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
    let valid = hits(&verifier, &headers, count);
    assert_eq!(valid, count);
    println!("{count} hits");
}

/// The measured loop (kept out of line so callgrind can select it).
#[inline(never)]
fn hits(verifier: &Verifier, headers: &HeaderList, count: usize) -> usize {
    (0..count)
        .filter(|_| {
            verifier
                .verify_cached(black_box(headers))
                .is_some_and(|outcome| outcome.is_valid())
        })
        .count()
}
