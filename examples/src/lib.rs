//! Runnable example apps, the verify CLI and the embedded dev issuer for `ssr-session`.
//!
//! [`dev_issuer`] is an in-process stand-in for a SuperTokens backend: it signs access tokens,
//! sets the session cookies, answers refresh calls and publishes a JWKS, so the examples and
//! the tests need no external services.

pub mod dev_issuer;
pub mod site;
