//! Verification cost: the floor (`raw_signature`, `raw_jsonwebtoken`), the
//! core path with the token cache off (`core`) and on (`core_cached`),
//! cookie extraction, and a Rust peer (`peer_jwtk`), all on the same tokens;
//! then one issuer against many (`single_issuer` / `multi_issuer`, each a
//! `first_visit` with the token cache off and a `cached` hit), on one RS256
//! token with an `iss`, with their paired ratio printed.
//!
//! `cargo bench -p ssr-session-benches --bench verify`; with
//! `SSR_BENCH_EXPORT=dir` the RS256 token and the JWKS are written to `dir`
//! for `benches/compare.sh`'s Node run.

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey};
use axum::http::HeaderMap;
use criterion::{Criterion, criterion_group, criterion_main};
use ssr_session::testing::TokenBuilder;
use ssr_session::{
    JwksKeyProvider, SuperTokensClaims, TokenSource, Verifier, issuers::IssuerKeyProvider,
    issuers::IssuerKeys, keys::Algorithm, source::CookieSource,
};
use ssr_session_benches::{Fixture, JwksServer, apps, bench_runtime, paired, poll_once};

fn request_headers(token: &str) -> HeaderMap {
    apps::header_map(&apps::request_headers(token))
}

fn raw_algorithm(alg: Algorithm) -> &'static dyn sig::VerificationAlgorithm {
    match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::EdDSA => &sig::ED25519,
        other => panic!("no raw bench for {other:?}"),
    }
}

fn benches(c: &mut Criterion) {
    let runtime = bench_runtime();
    let _context = runtime.enter();
    let fixture = Fixture::generate();
    if let Some(dir) = std::env::var_os("SSR_BENCH_EXPORT") {
        fixture
            .export(dir.as_ref())
            .expect("export the bench fixture");
    }
    let server = runtime.block_on(JwksServer::start(fixture.jwks_json.clone()));
    let client = reqwest_client();

    // The floor: the signature operation alone, on a key parsed once.
    {
        let mut group = c.benchmark_group("verify/raw_signature");
        for case in &fixture.cases {
            let public = case.key.public_key_bytes().expect("public key");
            let key = ParsedPublicKey::new(raw_algorithm(case.algorithm), public).expect("key");
            let (message, signature) = case.signing_input_and_signature();
            group.bench_function(case.name, |b| {
                b.iter(|| {
                    key.verify_sig(black_box(message), black_box(&signature))
                        .is_ok()
                })
            });
        }
        group.finish();
    }

    // jsonwebtoken 11 (aws_lc_rs backend) with a pre-built key and `Validation`.
    {
        let mut group = c.benchmark_group("verify/raw_jsonwebtoken");
        for case in &fixture.cases {
            let jwk: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(case.key.public_jwk()).expect("jwk");
            let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
            let mut validation = jsonwebtoken::Validation::new(
                case.algorithm.name().parse().expect("a JWS algorithm"),
            );
            validation.leeway = 0;
            let check = jsonwebtoken::decode::<SuperTokensClaims>(&case.token, &key, &validation)
                .expect("jsonwebtoken verifies the fixture");
            assert_eq!(check.claims.sub, "bench-user-7f3c9a");
            group.bench_function(case.name, |b| {
                b.iter(|| {
                    jsonwebtoken::decode::<SuperTokensClaims>(
                        black_box(&case.token),
                        &key,
                        &validation,
                    )
                    .is_ok()
                })
            });
        }
        group.finish();
    }

    // The core path: request headers → cookie → key (warm JWKS cache) →
    // signature → claims → outcome; token cache off, then on (a hit).
    for (group_name, cached) in [("verify/core", false), ("verify/core_cached", true)] {
        let keys = JwksKeyProvider::builder(&server.url())
            .client(client.clone())
            .build()
            .expect("provider");
        let builder = Verifier::builder(keys);
        let verifier = if cached {
            builder.build()
        } else {
            builder.without_token_cache().build()
        }
        .expect("verifier");
        let mut group = c.benchmark_group(group_name);
        for case in &fixture.cases {
            let headers = request_headers(&case.token);
            // Warm the JWKS cache (and, when on, the token cache).
            let warm = runtime.block_on(verifier.verify(&headers));
            assert_eq!(
                warm.session().map(|s| s.user_id()),
                Some("bench-user-7f3c9a"),
                "{warm:?}"
            );
            group.bench_function(case.name, |b| {
                b.iter(|| {
                    let outcome = poll_once(verifier.verify(black_box(&headers)));
                    debug_assert!(outcome.is_valid());
                    outcome
                })
            });
        }
        assert_eq!(verifier.cached_tokens(), if cached { 3 } else { 0 });
        group.finish();
    }

    // A hit judged by one typical claim check (the role the fixture's tokens
    // carry), run on every request: the cost of a validator on the hit path.
    {
        let keys = JwksKeyProvider::builder(&server.url())
            .client(client.clone())
            .build()
            .expect("provider");
        let verifier = Verifier::builder(keys)
            .require(ssr_session::supertokens::has_role(
                ssr_session_benches::apps::ROLE,
            ))
            .build()
            .expect("verifier");
        let case = fixture.case("rs256");
        let headers = request_headers(&case.token);
        assert!(runtime.block_on(verifier.verify(&headers)).is_valid());
        let mut group = c.benchmark_group("verify/core_cached_with_role");
        group.bench_function(case.name, |b| {
            b.iter(|| poll_once(verifier.verify(black_box(&headers))).is_valid())
        });
        group.finish();
    }

    // One issuer against many: the same RS256 token with an `iss`, checked
    // by a JwksKeyProvider with the verifier's required issuer, and by an
    // IssuerKeyProvider whose template allows it (issuer set up, keys warm).
    {
        let case = fixture.case("rs256");
        let issuer = "https://login.example.com/acme/v2.0";
        let token = TokenBuilder::supertokens("bench-user-7f3c9a", 3600)
            .claim("iss", issuer)
            .sign(&case.key);
        let headers = request_headers(&token);
        let jwks_template = server.url().replace("/auth/", "/{tenant}/");
        let verifiers = |cached: bool| {
            let single = Verifier::builder(
                JwksKeyProvider::builder(&server.url())
                    .client(client.clone())
                    .build()
                    .expect("provider"),
            )
            .issuer(issuer);
            let multi = Verifier::builder(
                IssuerKeyProvider::builder()
                    .issuer_template(
                        "https://login.example.com/{tenant}/v2.0",
                        IssuerKeys::JwksUrl(jwks_template.clone()),
                    )
                    .client(client.clone())
                    .build()
                    .expect("provider"),
            );
            let build = |builder: ssr_session::verify::VerifierBuilder<SuperTokensClaims>| {
                if cached {
                    builder.build()
                } else {
                    builder.without_token_cache().build()
                }
                .expect("verifier")
            };
            [
                ("single_issuer", build(single)),
                ("multi_issuer", build(multi)),
            ]
        };
        for (name, cached) in [("first_visit", false), ("cached", true)] {
            let pair = verifiers(cached);
            for (group_name, verifier) in &pair {
                let warm = runtime.block_on(verifier.verify(&headers));
                assert!(warm.is_valid(), "{group_name}: {warm:?}");
                let mut group = c.benchmark_group(format!("verify/{group_name}"));
                group.bench_function(name, |b| {
                    b.iter(|| {
                        let outcome = poll_once(verifier.verify(black_box(&headers)));
                        debug_assert!(outcome.is_valid());
                        outcome
                    })
                });
                group.finish();
            }
            let [(_, single), (_, multi)] = &pair;
            let ratio = paired(
                41,
                Duration::from_millis(40),
                &mut || {
                    black_box(poll_once(multi.verify(&headers)));
                },
                &mut || {
                    black_box(poll_once(single.verify(&headers)));
                },
            );
            println!(
                "verify/multi_issuer/{name} vs verify/single_issuer/{name}, paired: \
                 {:.3}x (quartiles {:.3}..{:.3}); {:.0} ns vs {:.0} ns",
                ratio.ratio,
                ratio.ratio_quartiles.0,
                ratio.ratio_quartiles.1,
                ratio.a_ns,
                ratio.b_ns
            );
        }
    }

    // Finding `sAccessToken` among 20 other cookies.
    {
        let headers = request_headers(&fixture.case("rs256").token);
        let source = CookieSource::default();
        let mut group = c.benchmark_group("extract");
        group.bench_function("cookie_20", |b| {
            b.iter(|| source.tokens(black_box(&headers)).len())
        });
        group.finish();
    }

    // The Rust peer: jwtk's RemoteJwksVerifier (aws-lc backend, RSA only),
    // warm, on the same token and the same JWKS server.
    {
        let case = fixture.case("rs256");
        let peer = jwtk::jwk::RemoteJwksVerifier::builder(server.url())
            .with_client(client.clone())
            .with_cache_duration(Duration::from_secs(600))
            .build();
        type Extra = serde_json::Map<String, serde_json::Value>;
        let warm = runtime
            .block_on(peer.verify::<Extra>(&case.token))
            .expect("jwtk verifies the fixture");
        assert_eq!(warm.claims().sub.as_deref(), Some("bench-user-7f3c9a"));
        let mut group = c.benchmark_group("verify/peer_jwtk");
        group.bench_function(case.name, |b| {
            b.iter(|| poll_once(peer.verify::<Extra>(black_box(&case.token))).is_ok())
        });
        group.finish();
    }
}

/// One client for ssr-session and jwtk alike (both use reqwest 0.13).
fn reqwest_client() -> reqwest::Client {
    ssr_session::jwks::client_builder()
        .unwrap()
        .build()
        .expect("HTTP client")
}

criterion_group!(verify, benches);
criterion_main!(verify);
