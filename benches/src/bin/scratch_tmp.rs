//! temporary
use axum::http::{HeaderMap, HeaderValue};
use ssr_session::{JwksKeyProvider, RequestInfo, SessionConfig, StaticKeys, Verifier};
use ssr_session_benches::{Fixture, cookie_header, poll_once};
use std::hint::black_box;
use std::time::Instant;

fn time(name: &str, n: u32, mut f: impl FnMut()) {
    for _ in 0..n / 10 {
        f();
    }
    let mut best = f64::MAX;
    for _ in 0..7 {
        let s = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(s.elapsed().as_nanos() as f64 / n as f64);
    }
    println!("{name:40} {best:8.1} ns");
}

fn main() {
    let _ = JwksKeyProvider::builder("http://127.0.0.1:1/x");
    let fixture = Fixture::generate();
    let case = fixture.case("rs256");
    let keys = StaticKeys::from_jwks_json(&fixture.jwks_json).unwrap();
    let config = SessionConfig::new(Verifier::builder(keys).build().unwrap());
    let mut map = HeaderMap::new();
    for (n, v) in [
        ("host", "app.example.com".to_string()),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0".into(),
        ),
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".into(),
        ),
        ("accept-language", "en-GB,en;q=0.5".into()),
        ("accept-encoding", "gzip, deflate, br, zstd".into()),
        ("cookie", cookie_header(&case.token)),
    ] {
        map.append(n, HeaderValue::from_str(&v).unwrap());
    }
    assert!(poll_once(config.verifier().verify(&map)).is_valid());
    time("verify hit", 200_000, || {
        black_box(poll_once(config.verifier().verify(black_box(&map))));
    });
    time("verify_token hit", 200_000, || {
        black_box(poll_once(
            config.verifier().verify_token(black_box(&case.token)),
        ));
    });
    time("request_info", 200_000, || {
        black_box(RequestInfo::new(black_box(&map), "/dashboard"));
    });
    time("config clone", 200_000, || {
        black_box(config.clone());
    });
    time("headermap clone", 200_000, || {
        black_box(map.clone());
    });
    let outcome = poll_once(config.verifier().verify(&map));
    time("arc outcome + ext insert", 200_000, || {
        let mut ext = axum::http::Extensions::new();
        ext.insert(std::sync::Arc::new(outcome.clone()));
        black_box(ext);
    });
    time("require", 200_000, || {
        black_box(
            config
                .require(&outcome, &RequestInfo::new(&map, "/d"))
                .is_ok(),
        );
    });
    time("now", 200_000, || {
        black_box(std::time::SystemTime::now());
    });
}
