//! Every target ratio of BENCHMARKS.md, measured *paired*: the two sides
//! run in alternating ~20 ms blocks and the median of the per-round ratios
//! is reported (with quartiles), so load that comes and goes on a shared
//! machine hits both sides alike. Same setups as the criterion benches
//! (`verify`, `pipeline`).
//!
//! ```text
//! cargo run --release -p ssr-session-benches --bin ratios [-- --rounds N] [--only TEXT]
//! cargo run --release -p ssr-session-benches --no-default-features --features ring --bin ratios -- --only core/
//! ```
//!
//! `--only pipeline` measures only the targets whose name contains `pipeline`.

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey};
use ssr_session::{JwksKeyProvider, SuperTokensClaims, Verifier, keys::Algorithm};
use ssr_session_benches::apps;
use ssr_session_benches::{
    Fixture, JwksServer, Paired, bench_runtime, paired, poll_once, warm_session_config,
};

struct Row {
    name: String,
    paired: Paired,
    goal: &'static str,
    met: Option<bool>,
}

fn ns(value: f64) -> String {
    if value < 1_000.0 {
        format!("{value:.0} ns")
    } else {
        format!("{:.2} µs", value / 1_000.0)
    }
}

fn main() {
    let mut rounds = 41;
    let mut only = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--rounds N")
            }
            "--only" => only = args.next().expect("--only TEXT"),
            other => panic!("unknown argument {other} (use --rounds N, --only TEXT)"),
        }
    }
    let block = Duration::from_millis(20);
    let runtime = bench_runtime();
    let _context = runtime.enter();
    let fixture = Fixture::generate();
    let server = runtime.block_on(JwksServer::start(fixture.jwks_json.clone()));
    let client = ssr_session::jwks::client_builder()
        .unwrap()
        .build()
        .unwrap();
    let provider = || {
        JwksKeyProvider::builder(&server.url())
            .client(client.clone())
            .build()
            .expect("provider")
    };
    let uncached = Verifier::builder(provider())
        .without_token_cache()
        .build()
        .expect("verifier");
    let cached = Verifier::builder(provider()).build().expect("verifier");
    let mut rows = Vec::new();
    let mut measure = |name: String,
                       goal,
                       check: Option<fn(f64) -> bool>,
                       a: &mut dyn FnMut(),
                       b: &mut dyn FnMut()| {
        if !name.contains(&only) {
            return;
        }
        let result = paired(rounds, block, a, b);
        eprintln!(
            "{name}: {:.3} ({} vs {})",
            result.ratio,
            ns(result.a_ns),
            ns(result.b_ns)
        );
        rows.push(Row {
            name,
            paired: result,
            goal,
            met: check.map(|ok| ok(result.ratio)),
        });
    };

    for case in &fixture.cases {
        let headers = apps::header_map(&apps::request_headers(&case.token));
        for verifier in [&uncached, &cached] {
            assert!(runtime.block_on(verifier.verify(&headers)).is_valid());
        }
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(case.key.public_jwk()).expect("jwk");
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
        let mut validation =
            jsonwebtoken::Validation::new(case.algorithm.name().parse().expect("a JWS algorithm"));
        validation.leeway = 0;
        let mut core = || {
            assert!(poll_once(uncached.verify(black_box(&headers))).is_valid());
        };
        let mut raw_jsonwebtoken = || {
            assert!(
                jsonwebtoken::decode::<SuperTokensClaims>(
                    black_box(&case.token),
                    &key,
                    &validation
                )
                .is_ok()
            );
        };
        let raw_algorithm: &'static dyn sig::VerificationAlgorithm = match case.algorithm {
            Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
            _ => &sig::ED25519,
        };
        let public = ParsedPublicKey::new(
            raw_algorithm,
            case.key.public_key_bytes().expect("public key"),
        )
        .expect("key");
        let (message, signature) = case.signing_input_and_signature();
        let mut raw_signature = || {
            assert!(
                public
                    .verify_sig(black_box(message), black_box(&signature))
                    .is_ok()
            );
        };
        let alg = case.name;
        measure(
            format!("core/{alg} ÷ raw_jsonwebtoken/{alg}"),
            "≤ 1.10",
            Some(|r| r <= 1.10),
            &mut core,
            &mut raw_jsonwebtoken,
        );
        measure(
            format!("core/{alg} ÷ raw_signature/{alg} (distance from the floor)"),
            "(report)",
            None,
            &mut core,
            &mut raw_signature,
        );
        if alg == "rs256" {
            let mut core_cached = || {
                assert!(poll_once(cached.verify(black_box(&headers))).is_valid());
            };
            measure(
                format!("raw_jsonwebtoken/{alg} ÷ core_cached/{alg}"),
                "≥ 30",
                Some(|r| r >= 30.0),
                &mut raw_jsonwebtoken,
                &mut core_cached,
            );
            let peer = jwtk::jwk::RemoteJwksVerifier::builder(server.url())
                .with_client(client.clone())
                .with_cache_duration(Duration::from_secs(600))
                .build();
            type Extra = serde_json::Map<String, serde_json::Value>;
            runtime
                .block_on(peer.verify::<Extra>(&case.token))
                .expect("jwtk verifies the fixture");
            let mut jwtk = || {
                assert!(poll_once(peer.verify::<Extra>(black_box(&case.token))).is_ok());
            };
            measure(
                format!("peer_jwtk/{alg} ÷ core/{alg} (first visit)"),
                "≥ 1 (not slower)",
                Some(|r| r >= 1.0),
                &mut jwtk,
                &mut core,
            );
        }
    }

    let token = &fixture.case("rs256").token;
    let config = warm_session_config(&runtime, &server, token);
    let headers = apps::request_headers(token);
    for (framework, build) in apps::FRAMEWORKS {
        let mut app = build(&config, &headers);
        let mut other = build(&config, &headers);
        measure(
            format!("pipeline/{framework}: protected ÷ public throughput"),
            "≥ 0.80",
            Some(|r| r >= 0.80),
            &mut || {
                black_box(app("/public"));
            },
            &mut || {
                black_box(other("/dashboard"));
            },
        );
    }

    // The core's crypto backend (`--no-default-features --features ring` for ring);
    // jsonwebtoken and the raw floor stay on aws-lc-rs in both builds.
    let backend = if cfg!(feature = "ring") {
        "ring"
    } else {
        "aws-lc-rs"
    };
    println!(
        "\n## Paired ratios (core on {backend}; {rounds} rounds of ~20 ms blocks, median [quartiles])\n"
    );
    println!("| target | ratio | a | b | goal | |");
    println!("|---|---|---|---|---|---|");
    let mut missed = 0;
    for row in &rows {
        let verdict = match row.met {
            Some(true) => "met",
            Some(false) => {
                missed += 1;
                "MISSED"
            }
            None => "",
        };
        println!(
            "| {} | {:.2}× [{:.2}, {:.2}] | {} | {} | {} | {verdict} |",
            row.name,
            row.paired.ratio,
            row.paired.ratio_quartiles.0,
            row.paired.ratio_quartiles.1,
            ns(row.paired.a_ns),
            ns(row.paired.b_ns),
            row.goal,
        );
    }
    println!(
        "\n{}",
        if missed == 0 {
            "Every paired target met.".to_owned()
        } else {
            format!("{missed} paired target(s) missed.")
        }
    );
}
