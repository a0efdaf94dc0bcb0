//! `leptos-ssr`: the example site on Leptos (see the library's docs).

fn main() -> Result<(), ssr_session_example_support::site::SetupError> {
    ssr_session_example_leptos::server::main()
}
