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
//! [`Verifier`] documents the order of checks. In short:
//!
//! | situation | outcome |
//! |---|---|
//! | no token, or an empty one | needs refresh (*missing*) |
//! | larger than 16 KiB, not a compact JWS, any `crit` header | invalid (*too large*, *malformed*) |
//! | `alg` `none`, HMAC with a public key, not allowed by the key or the allow-list | invalid (*algorithm not allowed*) |
//! | `kid` unknown in a key set fetched after the request arrived / several keys fit | invalid (*unknown key* / *ambiguous key*) |
//! | signature wrong | invalid (*bad signature*), even when also expired |
//! | `iss` / `aud` / `nbf` / `sub` / `exp` type wrong | invalid (*claim*) |
//! | valid but for `exp` | needs refresh (*expired*) |
//! | the session was revoked ([`RevocationList`]) | invalid (*revoked*) |
//! | a claim validator or requirement refuses | invalid (*claim*, validators): SuperTokens' 403 |
//! | an unsafe request with a cookie session from another origin's page; a required anti-CSRF check fails | invalid (*cross origin*, *anti-CSRF*), judged by the pipeline ([`CsrfProtection`]) |
//! | key source down, no usable cached key; revocation list too stale | unavailable |
//!
//! Keys come only from your [`KeyProvider`]; the token's `jku`, `x5u`,
//! `jwk` and `x5c` are never used. The algorithm is decided by the key.
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
//! # Defaults
//!
//! | setting | default |
//! |---|---|
//! | token sources | `sAccessToken` cookie, then `Authorization: Bearer` ([`SourceChain::supertokens`](crate::source::SourceChain::supertokens)) |
//! | token size cap | 16 KiB |
//! | leeway on `exp` / `nbf` | 0 s |
//! | `iss` / `aud` | not checked unless [`VerifierBuilder::issuer`](crate::verify::VerifierBuilder::issuer) / [`VerifierBuilder::audience`](crate::verify::VerifierBuilder::audience) |
//! | unknown `kid` | invalid ([`UnknownKeyPolicy`](crate::verify::UnknownKeyPolicy)) |
//! | JWKS cache TTL | `Cache-Control: max-age` clamped to the builder's bounds (max 10 min) |
//! | JWKS refetch on unknown `kid` | `kid` unknown only when a set fetched after the lookup arrived lacks it; such fetches at most one per 1 s ([`JwksKeyProviderBuilder::unknown_kid_interval`](crate::jwks::JwksKeyProviderBuilder::unknown_kid_interval)), single-flight; a lookup waits at most 1 s + the fetch timeout |
//! | JWKS lookups waiting for a fetch | at most 10,000 per provider, then unavailable ([`JwksKeyProviderBuilder::max_waiting_lookups`](crate::jwks::JwksKeyProviderBuilder::max_waiting_lookups)) |
//! | JWKS retry after a failed fetch (keys cached) | every 30 s ([`JwksKeyProviderBuilder::retry_interval`](crate::jwks::JwksKeyProviderBuilder::retry_interval)) |
//! | JWKS stale-if-error | 1 h |
//! | JWKS fetch timeout / body cap | 5 s / 1 MiB |
//! | verified-token cache | on, 10,000 tokens ([`VerifierBuilder::token_cache_capacity`](crate::verify::VerifierBuilder::token_cache_capacity)) |
//! | claim validators, requirements | none; each runs on every request |
//! | revocation | none ([`VerifierBuilder::revocation_list`](crate::verify::VerifierBuilder::revocation_list)) |
//! | many issuers ([`IssuerKeyProvider`](crate::issuers::IssuerKeyProvider)) | allow-list only; template tenants `A-Z a-z 0-9 - _`, ≤ 64 chars |
//! | issuer cache | 1,000 issuers, LRU, 1 h idle; setup single-flight |
//! | issuers refused / failed | remembered 5 min / 5 s (≤ 10,000) |
//! | new template issuers | 100 at once, one more per 100 ms |
//! | responses | [`DefaultResponses`] (SuperTokens-compatible) |
//! | cross-site request forgery | [`CsrfProtection::default`]: an unsafe request with a cookie session must come from the app's own origin (`Sec-Fetch-Site`, else `Origin`); [`AntiCsrf::None`](crate::csrf::AntiCsrf::None) |
//!
//! # The verified-token cache
//!
//! SSR pages see the same access token on every navigation until it
//! expires, so a verifier keeps a bounded cache of tokens whose signature
//! and registered claims verified, and a repeat visit skips that work. It
//! is on by default ([`VerifierBuilder::without_token_cache`](crate::verify::VerifierBuilder::without_token_cache) turns it off).
//!
//! **What a hit reuses**: the signature check, the key lookup (as long as
//! the key is still in the key set), and the parsed claims. **What a hit
//! never reuses**: `exp` and `nbf` (checked against the current time and
//! leeway on every hit), the [`RevocationList`], the claim validators and
//! every route or group requirement (all run on every request with the
//! verification time, [`RequirementContext`](crate::requirement::RequirementContext)). The cache saves the
//! signature check, never a policy decision.
//!
//! Why it is safe:
//!
//! - **Keyed by the exact token.** The key is the token's full bytes;
//!   entries are found by comparing all of them, so no other token, however
//!   similar, can hit an entry. (The table's bucketing hash, over the
//!   token's length and last 32 bytes, which are signature, only spreads
//!   entries; it never decides a match.)
//! - **Only verified tokens are cached**, after the signature and every
//!   registered-claim check passed. Expired, forged and unavailable
//!   outcomes always take the full path.
//! - **Time is re-checked on every hit**, so an entry can never outlive
//!   its token; the entry's TTL is also at most the token's remaining
//!   lifetime.
//! - **Key removal drops entries.** An entry remembers its key weakly; when
//!   the key leaves the key set (rotation or revocation at the auth server,
//!   seen at the next JWKS refresh), the key is dropped and every entry it
//!   verified misses from then on. (So a [`KeyProvider`] must hand out the
//!   same `Arc` for a key; see its docs.)
//! - **Policy changes drop entries.** A verifier's policy (issuer, audience,
//!   algorithms) is fixed at build time and the cache belongs to one
//!   verifier, so a changed policy means a new verifier with an empty cache.
//! - **Bounded.** At most `capacity` weight units (default 10,000); an entry
//!   weighs 1 plus 1 per KiB of token, and tokens are capped (16 KiB by
//!   default), so memory stays bounded whatever the tokens.
//! - A [`Session`] is one shared allocation: a hit is a reference count,
//!   the claims are never cloned per hit.
//!
//! # Features
//!
//! | feature | default | what it gives |
//! |---|---|---|
//! | `aws-lc-rs` | yes | signature verification with aws-lc-rs on keys parsed once (required: the only backend) |
//! | `testing` | no | the `testing` module: keys, JWKS documents and signed tokens of any shape, for your own tests |
//!
//! Tokens never appear in logs or `Debug` output: a short [`Fingerprint`](crate::verify::Fingerprint)
//! stands for them. Outcomes are logged at debug level under the
//! `ssr_session::verify` target, rejections under `ssr_session::rejection`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(feature = "aws-lc-rs"))]
compile_error!(
    "ssr-session needs its `aws-lc-rs` feature (the signature backend); it is on by default"
);

pub mod adapter;
mod algorithm;
mod cache;
mod claims;
mod clock;
mod config;
pub mod csrf;
pub mod error;
pub mod issuers;
pub mod jwks;
pub mod keys;
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
