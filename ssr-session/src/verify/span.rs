//! The decision span: one `tracing` span per verified request, with its
//! outcome and reason, and the user id only when the app asks
//! ([`SpanUserId`]).
//!
//! INFO, so that an app filtering at `info` in production (the usual
//! setting) keeps it: a span without events prints nothing with
//! `tracing-subscriber`'s `fmt` layer, and an OpenTelemetry layer exports it
//! as one span per request. Without any subscriber it costs one load.

use std::fmt;
use std::sync::Arc;

use crate::backend::HmacKey;
use tracing::Span;
use tracing::field::Empty;

use crate::outcome::SessionOutcome;

/// The tracing target of the decision span (and of the JWKS fetch spans'
/// siblings under `ssr_session::jwks`).
pub(crate) const TARGET: &str = "ssr_session::decision";

/// Whether, and how, the decision span names the user (OpenTelemetry's
/// `enduser.id` attribute).
///
/// OpenTelemetry's guidance is to record a user id only where the
/// application has decided it may (a user id is personal data, and spans
/// go to tracing backends with their own retention): so the default is
/// [`Omitted`](Self::Omitted).
///
/// ```
/// use ssr_session::verify::SpanUserId;
/// use ssr_session::{keys::StaticKeys, Verifier};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let keys = StaticKeys::from_jwks_json(r#"{"keys":[]}"#)?;
/// // Stable per user, unreadable without the key: enough to follow one
/// // user's requests in a trace backend.
/// let verifier = Verifier::builder(keys)
///     .span_user_id(SpanUserId::keyed_hash(b"a secret of at least 32 bytes, from config"))
///     .build()?;
/// # let _ = verifier;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum SpanUserId {
    /// No `enduser.id` (the default).
    #[default]
    Omitted,
    /// The user id as the token's `sub` has it.
    Plain,
    /// HMAC-SHA256 of the user id under the app's key, the first 16 bytes
    /// in hex: stable per user, not reversible without the key.
    KeyedHash(KeyedHash),
}

impl SpanUserId {
    /// [`KeyedHash`](Self::KeyedHash) under `key` (use a secret of at least
    /// 32 random bytes, kept like any other secret of the app).
    pub fn keyed_hash(key: &[u8]) -> Self {
        Self::KeyedHash(KeyedHash(Arc::new(HmacKey::sha256(key))))
    }

    /// The `enduser.id` value for `user_id`, if any is recorded.
    fn value(&self, user_id: &str) -> Option<String> {
        match self {
            Self::Omitted => None,
            Self::Plain => Some(user_id.to_owned()),
            Self::KeyedHash(KeyedHash(key)) => {
                let tag = key.sign(user_id.as_bytes());
                Some(
                    tag.as_ref()[..16]
                        .iter()
                        .map(|byte| format!("{byte:02x}"))
                        .collect(),
                )
            }
        }
    }
}

impl fmt::Debug for SpanUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Omitted => "Omitted",
            Self::Plain => "Plain",
            Self::KeyedHash(_) => "KeyedHash(..)",
        })
    }
}

/// The key of [`SpanUserId::KeyedHash`] (never printed).
#[derive(Clone)]
pub struct KeyedHash(Arc<HmacKey>);

impl fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedHash(..)")
    }
}

/// A new decision span, its fields to be recorded by [`record`].
#[inline]
pub(crate) fn decision() -> Span {
    // No subscriber was ever set (an app that does not trace): skip the
    // macro, whose fallback to the `log` crate (tracing's `log` feature,
    // which common dependencies turn on) cost a cache hit ~180 instructions.
    if !tracing::dispatcher::has_been_set() {
        return Span::none();
    }
    tracing::info_span!(
        target: TARGET,
        "ssr_session.decision",
        outcome = Empty,
        reason = Empty,
        enduser.id = Empty,
    )
}

/// Records `outcome` into the decision `span`.
#[inline]
pub(crate) fn record<C>(span: &Span, outcome: &SessionOutcome<C>, user_id: &SpanUserId) {
    if span.is_disabled() {
        return;
    }
    span.record("outcome", outcome.name());
    match outcome {
        SessionOutcome::Valid(session) => {
            if let Some(id) = user_id.value(session.user_id()) {
                span.record("enduser.id", id);
            }
        }
        SessionOutcome::NeedsRefresh(reason) => {
            span.record("reason", reason.as_str());
        }
        SessionOutcome::Invalid(invalid) => {
            span.record("reason", invalid.kind().as_str());
        }
        SessionOutcome::Unavailable(unavailable) => {
            let cause = if unavailable.revocation_error().is_some() {
                "revocation"
            } else {
                "keys"
            };
            span.record("reason", cause);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_hash_is_stable_per_key_and_hides_the_id() {
        let one = SpanUserId::keyed_hash(b"key one");
        let hashed = one.value("user-1").unwrap();
        assert_eq!(hashed.len(), 32);
        assert_eq!(Some(&hashed), one.value("user-1").as_ref());
        assert!(!hashed.contains("user-1"));
        assert_ne!(
            Some(hashed),
            SpanUserId::keyed_hash(b"key two").value("user-1")
        );
        assert_eq!(SpanUserId::Omitted.value("user-1"), None);
        assert_eq!(SpanUserId::Plain.value("user-1").as_deref(), Some("user-1"));
    }
}
