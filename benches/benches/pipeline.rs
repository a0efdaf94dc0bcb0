//! One in-process request through each framework's real pipeline to a page
//! that renders the user id (`protected`: the adapter's `Session`
//! extractor or guard, token cache on and warm), and the same page, same
//! request, without auth (`public`). The timed loop includes building the
//! request from the same headers, as a server's parser would.
//!
//! `cargo bench -p ssr-session-benches --bench pipeline`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ssr_session_benches::apps::{self, USER};
use ssr_session_benches::{Fixture, JwksServer, bench_runtime, warm_session_config};

fn benches(c: &mut Criterion) {
    let runtime = bench_runtime();
    let fixture = Fixture::generate();
    let server = runtime.block_on(JwksServer::start(fixture.jwks_json.clone()));
    let token = &fixture.case("rs256").token;
    let config = warm_session_config(&runtime, &server, token);
    let headers = apps::request_headers(token);

    for (framework, build) in apps::FRAMEWORKS {
        let mut app = build(&config, &headers);
        assert!(app("/dashboard") > USER.len());
        let mut group = c.benchmark_group(format!("pipeline/{framework}"));
        for (name, path) in [("public", "/public"), ("protected", "/dashboard")] {
            group.bench_function(name, |b| b.iter(|| black_box(app(black_box(path)))));
        }
        group.finish();
    }
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
