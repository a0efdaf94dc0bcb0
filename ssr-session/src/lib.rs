//! placeholder docs (rewritten below)
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod algorithm;
mod claims;
mod error;
mod jwks;
mod keys;
mod outcome;
mod redact;
mod respond;
mod session;
mod source;
mod token;
mod verify;

#[cfg(feature = "testing")]
pub mod conformance;
#[cfg(feature = "testing")]
pub mod testing;

pub use algorithm::{Algorithm, AlgorithmSet};
pub use async_trait::async_trait;
pub use claims::{ClaimValidationError, ClaimValidator, SuperTokensClaims};
pub use error::{ClaimFailure, ConfigError, InvalidKind, InvalidToken, KeyError, KeySourceError};
pub use jwks::{JwksKeyProvider, JwksKeyProviderBuilder};
pub use keys::{
    KeyLookupError, KeyProvider, KeyRequest, KeySelection, KeySet, MIN_RSA_BITS, StaticKeys,
    VerifyingKey,
};
pub use outcome::{NeedsRefreshReason, Session, SessionOutcome, Unavailable};
pub use redact::Fingerprint;
pub use respond::{
    DefaultResponses, LOOP_GUARD_COOKIE, RequestInfo, RequestKind, Respond, ResponseData,
};
pub use session::{SessionConfig, SessionProps};
pub use source::{
    BearerSource, CookieSource, HeaderList, HeaderSource, Headers, MAX_TOKENS_PER_REQUEST,
    SourceChain, TokenSource, Tokens,
};
pub use verify::{UnknownKeyPolicy, Verifier, VerifierBuilder};
