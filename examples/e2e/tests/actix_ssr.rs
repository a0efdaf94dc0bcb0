//! The actix-web example app, started as a real process and spoken to over
//! plain HTTP (no cookie store: cookies are set by hand). Every scenario is
//! shared with the other frameworks (tests/common/mod.rs).

#[macro_use]
mod common;

app_scenarios!(env!("CARGO_BIN_EXE_e2e-actix-ssr"));
