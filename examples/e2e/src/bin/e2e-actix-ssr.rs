//! The `actix-ssr` example app, built into this package so that its tests
//! can start it (`CARGO_BIN_EXE_e2e-actix-ssr`).

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    ssr_session_example_actix::main()
}
