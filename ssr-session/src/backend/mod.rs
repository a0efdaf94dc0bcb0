//! The crypto backend, chosen at compile time by the `aws-lc-rs` or `ring`
//! feature: signature checks on keys prepared once, HMAC and SHA-256. The
//! rest of the crate names no crypto crate, so a backend is one file.
//!
//! Both backends refuse the same keys at parse (RSA under 2048 or over 8192
//! bits, EC points off their curve), so a key set means the same under
//! either; ring prepares less ahead (it re-reads an RSA or EC key on each
//! check, see BENCHMARKS.md "One crypto backend, by choice").

// With both features on, lib.rs's `compile_error!` says so; aws-lc-rs is
// compiled meanwhile so that the error stands alone.
#[cfg(feature = "aws-lc-rs")]
mod with_aws_lc;
#[cfg(feature = "aws-lc-rs")]
pub(crate) use self::with_aws_lc::*;

#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
mod with_ring;
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub(crate) use self::with_ring::*;

mod rsa_checks;
pub(crate) use self::rsa_checks::{MIN_RSA_BITS, check_rsa};
