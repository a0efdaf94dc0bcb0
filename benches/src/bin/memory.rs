//! Peak memory of a verifier with the default token cache while 1,000,000
//! distinct valid tokens go through it (HS256, so that minting a million
//! tokens takes seconds; the cache's entries do not depend on the algorithm
//! beyond the token's length).
//!
//! ```text
//! cargo run --release -p ssr-session-benches --bin memory [-- --tokens N] [--without-token-cache]
//! ```
//!
//! Prints the resident set before, the peak (`VmHWM`) after, and how many
//! tokens the cache holds at the end (at most its capacity, asserted).

use std::time::Instant;

use ssr_session::testing::{TestKey, TokenBuilder};
use ssr_session::{
    Verifier, keys::Algorithm, keys::StaticKeys, verify::DEFAULT_TOKEN_CACHE_CAPACITY,
};
use ssr_session_benches::{current_rss_kib, peak_rss_kib, poll_once};

fn main() {
    let mut tokens: u64 = 1_000_000;
    let mut cache = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tokens" => {
                tokens = args
                    .next()
                    .and_then(|n| n.replace('_', "").parse().ok())
                    .expect("--tokens N")
            }
            "--without-token-cache" => cache = false,
            other => panic!("unknown argument {other} (use --tokens N, --without-token-cache)"),
        }
    }

    let key = TestKey::generate(Algorithm::HS256, "hs-bench");
    let keys = StaticKeys::from_symmetric_secret(
        Some("hs-bench"),
        key.hmac_secret().expect("an HMAC key"),
        Algorithm::HS256,
    )
    .expect("keys");
    let builder = Verifier::builder(keys);
    let verifier = if cache {
        builder.build()
    } else {
        builder.without_token_cache().build()
    }
    .expect("verifier");

    let rss_before = current_rss_kib().unwrap_or(0);
    let start = Instant::now();
    let mut token_bytes = 0u64;
    let mut max_cached = 0u64;
    for i in 0..tokens {
        // Each token is minted, verified and dropped: only the cache keeps anything.
        let token = TokenBuilder::supertokens(&format!("user-{i}"), 3600).sign(&key);
        token_bytes += token.len() as u64;
        let outcome = poll_once(verifier.verify_token(&token));
        assert!(outcome.is_valid(), "token {i}: {outcome:?}");
        if i % 100_000 == 99_999 {
            let cached = verifier.cached_tokens();
            max_cached = max_cached.max(cached);
            eprintln!(
                "{:>9} tokens, {cached:>6} cached, RSS {} KiB, peak {} KiB",
                i + 1,
                current_rss_kib().unwrap_or(0),
                peak_rss_kib().unwrap_or(0)
            );
        }
    }
    let elapsed = start.elapsed();
    let cached = verifier.cached_tokens();
    max_cached = max_cached.max(cached);
    let peak = peak_rss_kib().unwrap_or(0);
    println!("tokens verified:        {tokens} distinct HS256 SuperTokens access tokens");
    println!(
        "mean token length:      {} bytes",
        token_bytes / tokens.max(1)
    );
    println!(
        "token cache:            {}",
        if cache {
            format!("on, capacity {DEFAULT_TOKEN_CACHE_CAPACITY} (default)")
        } else {
            "off".to_owned()
        }
    );
    println!("cached at the end:      {cached} (largest seen {max_cached})");
    println!("RSS before:             {rss_before} KiB");
    println!("peak RSS (VmHWM):       {peak} KiB");
    println!(
        "elapsed:                {elapsed:.2?} ({:.2} µs per mint + verify)",
        elapsed.as_secs_f64() * 1e6 / tokens.max(1) as f64
    );
    if cache {
        assert!(
            max_cached <= DEFAULT_TOKEN_CACHE_CAPACITY,
            "the cache grew past its bound: {max_cached}"
        );
    }
}
