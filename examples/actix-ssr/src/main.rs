//! `actix-ssr`: the example site on actix (see the library's docs).

fn main() -> Result<(), ssr_session_example_support::site::SetupError> {
    ssr_session_example_actix::main()
}
