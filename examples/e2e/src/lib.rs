//! End-to-end tests of the example apps (in `tests/`), and the README's
//! code, compiled (and, where it does not serve forever, run) as doc tests:
//! the quick starts need every adapter, which only this package has.

#![forbid(unsafe_code)]

/// The README's code.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
