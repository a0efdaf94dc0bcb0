//! Verify a user's session while a page is rendered on the server.
//!
//! A browser sends a SuperTokens access token (a JWT) in the `sAccessToken`
//! cookie or an `Authorization: Bearer` header. `ssr-session` verifies it
//! against the auth server's JWKS and gives the page a [`SessionOutcome`]:
//! a valid [`Session`] with the user id and claims; *needs refresh* when the
//! token is missing or expired (the browser refreshes and reloads, never an
//! error page); *invalid* for everything else that is wrong with a token;
//! *unavailable* when the key source is down (our failure, a 5xx, never the
//! user's). It only reads tokens: it never refreshes, re-signs or rewrites one.
//!
//! The framework adapters (`ssr-session-axum`, `ssr-session-actix`,
//! `ssr-session-rocket`) turn this into extractors and guards; this crate
//! holds all the policy.
//!
//! # Quick start
//!
//! ```
//! use ssr_session::{source::HeaderList, SessionOutcome, keys::StaticKeys, Verifier};
//! use ssr_session::testing::{TestKey, TokenBuilder, jwks};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In an app: JwksKeyProvider::for_supertokens("https://api.example.com").build()?
//! let key = TestKey::generate(ssr_session::keys::Algorithm::RS256, "d-1");
//! let keys = StaticKeys::from_jwks_json(&jwks(&[&key]).to_string())?;
//! let verifier = Verifier::builder(keys).build()?;
//!
//! let token = TokenBuilder::supertokens("user-1", 3600).sign(&key);
//! let request = HeaderList::new().with("Cookie", format!("theme=dark; sAccessToken={token}"));
//! match verifier.verify(&request).await {
//!     SessionOutcome::Valid(session) => assert_eq!(session.user_id(), "user-1"),
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! let expired = TokenBuilder::supertokens("user-1", -5).sign(&key);
//! let outcome = verifier.verify_token(&expired).await;
//! assert!(outcome.is_needs_refresh());
//! # Ok(())
//! # }
//! ```
//!
//! # The contract
//!
//! Keys come only from your [`KeyProvider`]; the token's `jku`, `x5u`,
//! `jwk` and `x5c` are never used. The algorithm is decided by the key.
//! [`Verifier`] documents the order of checks; what every situation
//! gives, and what is answered for it, is the one table of
//! [Outcomes and responses](#outcomes-and-responses) below.
//!
//! # Entry points
//!
//! The adapters' extractors, guards, layers and middleware all run one
//! pipeline, [`SessionConfig::extract`] / [`SessionConfig::guard`]: the
//! request's outcome (memoised per request, or a verified-token cache hit,
//! or verified now), the configuration's [requirements](SessionConfig::require)
//! and the route's own, then the value ([`Extract`](crate::adapter::Extract)) or a [`Rejection`](crate::adapter::Rejection)
//! carrying the rendered answer. An adapter supplies a [`RequestView`](crate::adapter::RequestView)
//! and converts the answer; [`DefaultResponses`] renders SuperTokens'
//! answers, choosing HTML (a navigation: `Accept: text/html`) or JSON.
//!
//! # Features
//!
//! | feature | default | what it gives |
//! |---|---|---|
//! | `aws-lc-rs` | yes | the crypto backend: aws-lc-rs checks signatures (keys parsed once) and carries the JWKS client's TLS |
//! | `ring` | no | the other crypto backend: ring, for signatures and TLS; builds in seconds, no C toolchain beyond `cc` (RSA 2048–8192 bits, EC P-256/P-384, Ed25519, HMAC: what both backends accept) |
//! | `metrics` | no | counters, gauges and a histogram through the [`metrics`](https://docs.rs/metrics) facade: decisions by outcome and reason, the token cache, key fetches, issuers ([Metrics and spans](#metrics-and-spans)) |
//! | `testing` | no | the `testing` module: keys, JWKS documents and signed tokens of any shape (with typed setters for roles, permissions and a verified email), for your own tests and your app's: each adapter's `tests/recipe.rs` shows an app tested with it |
//!
//! Tokens never appear in logs or `Debug` output: a short [`Fingerprint`](crate::verify::Fingerprint)
//! stands for them. Outcomes are logged at debug level under the
//! `ssr_session::verify` target, rejections under `ssr_session::rejection`;
//! every decision has an INFO span (see [Metrics and spans](#metrics-and-spans)).
//!
#![doc = include_str!("../docs/outcomes.md")]
#![doc = include_str!("../docs/defaults.md")]
#![doc = include_str!("../docs/token-cache.md")]
#![doc = include_str!("../docs/metrics.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "ssr-session needs one crypto backend: enable exactly one of its features `aws-lc-rs` (the default) or `ring`"
);
#[cfg(all(feature = "aws-lc-rs", feature = "ring"))]
compile_error!(
    "ssr-session's features `aws-lc-rs` and `ring` are both on: enable exactly one (with `ring`, turn off the default features: `default-features = false, features = [\"ring\"]`)"
);

pub mod adapter;
mod algorithm;
mod backend;
mod cache;
mod claims;
mod clock;
mod config;
pub mod csrf;
pub mod error;
pub mod issuers;
pub mod jwks;
pub mod keys;
mod metrics;
mod outcome;
mod pipeline;
mod props;
mod redact;
pub mod requirement;
pub mod respond;
pub mod revocation;
mod session;
pub mod source;
pub mod supertokens;
mod token;
pub mod verify;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

// The root holds what an app names; everything else lives in the module
// named for its job (`keys`, `jwks`, `issuers`, `source`, `respond`,
// `revocation`, `requirement`, `verify`, `csrf`, `error`) and what only an
// adapter author needs in `adapter`.
pub use async_trait::async_trait;
pub use claims::SuperTokensClaims;
pub use config::SessionConfig;
pub use csrf::CsrfProtection;
pub use error::{ConfigError, InvalidToken};
pub use jwks::JwksKeyProvider;
pub use keys::KeyProvider;
pub use outcome::{NeedsRefreshReason, SessionOutcome, Unavailable};
pub use props::SessionProps;
pub use requirement::Requirement;
pub use respond::{DefaultResponses, Respond};
pub use revocation::{MemoryRevocations, Revocation, RevocationList, Revoke};
pub use session::Session;
pub use source::TokenSource;
pub use verify::Verifier;
