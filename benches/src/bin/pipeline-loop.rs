//! Runs one pipeline bench request in a loop, for instruction counts: the
//! loop is the function `pipeline_loop::requests`, so callgrind can count
//! it alone (`benches/instructions.sh` does, and prints the ratios).
//!
//! ```text
//! pipeline-loop <entry point (see apps::FRAMEWORKS)> </public|/dashboard> <requests>
//! ```

use ssr_session_benches::{Fixture, JwksServer, apps, bench_runtime, warm_session_config};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [framework, path, count] = args.as_slice() else {
        eprintln!(
            "usage: pipeline-loop <entry point (see apps::FRAMEWORKS)> </public|/dashboard> <requests>"
        );
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("a request count");
    let Some((_, build)) = apps::FRAMEWORKS.iter().find(|(name, _)| name == framework) else {
        eprintln!("unknown framework {framework}");
        std::process::exit(2);
    };
    let runtime = bench_runtime();
    let _context = runtime.enter();
    let fixture = Fixture::generate();
    let server = runtime.block_on(JwksServer::start(fixture.jwks_json.clone()));
    let token = &fixture.case("rs256").token;
    let config = warm_session_config(&runtime, &server, token);
    let mut app = build(&config, &apps::request_headers(token));
    let bytes = requests(&mut app, path, count);
    println!("{count} requests, {bytes} response bytes");
}

/// The measured loop (kept out of line so callgrind can select it).
#[inline(never)]
fn requests(app: &mut apps::App, path: &str, count: usize) -> usize {
    (0..count).map(|_| app(std::hint::black_box(path))).sum()
}
