//! The clock: the one place the core reads the system time, and the type of
//! a replacement clock. Its own module so that verification and revocation
//! (and the `testing` helpers) read the time without depending on each other.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> f64 + Send + Sync>;

/// The system clock, seconds since the Unix epoch: the one place the core
/// reads it. Everything that judges a token (expiry, `nbf`, the claim
/// validators, the revocation list, the token cache) reads the verifier's
/// clock instead ([`Verifier::now`](crate::Verifier::now)), which is this unless
/// [`VerifierBuilder::clock`](crate::verify::VerifierBuilder::clock) replaced it.
pub(crate) fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
