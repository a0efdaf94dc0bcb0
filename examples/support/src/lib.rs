//! What the ssr-session example apps share, whatever their framework: the
//! embedded dev issuer ([`dev_issuer`]), the site's options, session setup
//! and pages ([`site`]), and a test helper that runs an app as a process
//! ([`process`]). With the feature `browser`: headless Chromium through
//! chromedriver for the browser tests (module `browser`), and another
//! origin's pages that forge requests to an app (module `attacker`).
//!
//! [`dev_issuer`] is an in-process stand-in for a SuperTokens backend: it signs access tokens,
//! sets the session cookies, answers refresh calls and publishes a JWKS, so the examples and
//! the tests need no external services.

#[cfg(feature = "browser")]
pub mod attacker;
#[cfg(feature = "browser")]
pub mod browser;
pub mod dev_issuer;
pub mod metrics;
pub mod process;
pub mod site;
