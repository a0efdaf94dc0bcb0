//! Operators' numbers through the `metrics` facade (feature `metrics`).
//! Every name, label and the moment each one moves is in `docs/metrics.md`;
//! this file is the only place that names them.
//!
//! Without the feature every function here is empty and inlined away, so
//! the hot path is what it was. With it, labels are string literals (the
//! facade then builds each key once, statically) and the two numbers every
//! request moves, a valid decision and a token-cache hit, are handles
//! registered when the verifier is built: a request allocates nothing for
//! its metrics.

use std::time::Duration;

use crate::error::KeySourceError;
use crate::outcome::SessionOutcome;

/// Why the verified-token cache let an entry go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Eviction {
    /// Room was needed for a new entry.
    Capacity,
    /// Past its deadline, or its key left the key set.
    Expired,
}

/// Why the many-issuers provider refused an issuer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IssuerRefusal {
    /// The token had no string `iss`.
    NoIssuer,
    /// Not on the allow-list (refused without a request).
    NotAllowed,
    /// The approval hook said no, or discovery found no such tenant.
    NotApproved,
    /// The new-issuer rate limit was reached.
    RateLimited,
    /// Discovery or the first key fetch failed.
    SetupFailed,
    /// A refusal remembered from an earlier setup.
    Remembered,
}

#[cfg(feature = "metrics")]
mod record {
    use metrics::{Counter, counter, gauge, histogram};

    use super::*;
    use crate::error::{ClaimFailure, InvalidKind};

    /// The `reason` label of a decision, beside its `outcome` label.
    fn reason<C>(outcome: &SessionOutcome<C>) -> &'static str {
        match outcome {
            SessionOutcome::Valid(_) => "",
            SessionOutcome::NeedsRefresh(reason) => reason.as_str(),
            SessionOutcome::Invalid(invalid) => invalid.kind().as_str(),
            SessionOutcome::Unavailable(unavailable) => {
                if unavailable.revocation_error().is_some() {
                    "revocation"
                } else {
                    "keys"
                }
            }
        }
    }

    /// The `claim` label of a registered claim that failed, if the outcome
    /// is one (the requirements' failures are counted where they are judged).
    fn registered_claim<C>(outcome: &SessionOutcome<C>) -> Option<&'static str> {
        let SessionOutcome::Invalid(invalid) = outcome else {
            return None;
        };
        match invalid.kind() {
            InvalidKind::Claim(failure) => match failure {
                ClaimFailure::Expiry => Some("exp"),
                ClaimFailure::NotYetValid => Some("nbf"),
                ClaimFailure::Issuer => Some("iss"),
                ClaimFailure::Audience => Some("aud"),
                ClaimFailure::Subject => Some("sub"),
                ClaimFailure::SessionStructure => Some("session_structure"),
                ClaimFailure::Validators(_) => None,
            },
            _ => None,
        }
    }

    /// The `result` label of a JWKS fetch.
    fn fetch_result(error: Option<&KeySourceError>) -> &'static str {
        match error {
            None => "ok",
            Some(KeySourceError::Fetch { .. }) => "unreachable",
            Some(KeySourceError::Timeout { .. }) => "timeout",
            Some(KeySourceError::Status { .. }) => "status",
            Some(KeySourceError::TooLarge { .. }) => "too_large",
            Some(KeySourceError::Parse { .. }) => "parse",
            Some(_) => "other",
        }
    }

    /// Expands to the counter `$name` with the literal labels of the
    /// matching arm: one static key per arm, nothing allocated.
    macro_rules! labelled {
        ($name:literal, $label:literal, $value:expr, [$($known:literal),* $(,)?], $other:literal) => {
            match $value {
                $($known => counter!($name, $label => $known),)*
                _ => counter!($name, $label => $other),
            }
        };
    }

    /// The decisions counter for `$outcome` with the literal reason that
    /// matches `$reason` (`other` for a reason newer than this list).
    macro_rules! by_reason {
        ($outcome:literal, $reason:expr, [$($known:literal),* $(,)?]) => {
            match $reason {
                $($known => counter!("ssr_session_decisions_total", "outcome" => $outcome, "reason" => $known),)*
                _ => counter!("ssr_session_decisions_total", "outcome" => $outcome, "reason" => "other"),
            }
        };
    }

    /// The handles of the numbers every request moves, registered with the
    /// recorder installed when the verifier was built.
    #[derive(Clone)]
    pub(crate) struct Handles {
        valid: Counter,
        cache_hits: Counter,
    }

    impl std::fmt::Debug for Handles {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Handles")
        }
    }

    impl Handles {
        pub(crate) fn new() -> Self {
            Self {
                valid: counter!("ssr_session_decisions_total", "outcome" => "valid", "reason" => ""),
                cache_hits: counter!("ssr_session_token_cache_hits_total"),
            }
        }

        #[inline]
        pub(crate) fn decision<C>(&self, outcome: &SessionOutcome<C>) {
            let reason = reason(outcome);
            match outcome {
                SessionOutcome::Valid(_) => return self.valid.increment(1),
                SessionOutcome::NeedsRefresh(_) => by_reason!(
                    "needs_refresh",
                    reason,
                    ["missing", "expired", "unknown_key", "claim"]
                ),
                SessionOutcome::Invalid(_) => by_reason!(
                    "invalid",
                    reason,
                    [
                        "malformed",
                        "too_large",
                        "bad_signature",
                        "algorithm_not_allowed",
                        "unknown_key",
                        "ambiguous_key",
                        "claim",
                        "revoked",
                    ]
                ),
                SessionOutcome::Unavailable(_) => {
                    by_reason!("unavailable", reason, ["keys", "revocation"])
                }
            }
            .increment(1);
            if let Some(claim) = registered_claim(outcome) {
                claim_failed(claim);
            }
        }

        #[inline]
        pub(crate) fn cache_hit(&self) {
            self.cache_hits.increment(1);
        }
    }

    pub(crate) fn forged(kind: &InvalidKind) {
        match kind {
            InvalidKind::AntiCsrf => {
                counter!("ssr_session_forged_requests_total", "kind" => "anti_csrf")
            }
            _ => counter!("ssr_session_forged_requests_total", "kind" => "cross_origin"),
        }
        .increment(1);
    }

    pub(crate) fn cache_miss() {
        counter!("ssr_session_token_cache_misses_total").increment(1);
    }

    pub(crate) fn cache_eviction(why: Eviction, count: u64) {
        match why {
            Eviction::Capacity => {
                counter!("ssr_session_token_cache_evictions_total", "reason" => "capacity")
            }
            Eviction::Expired => {
                counter!("ssr_session_token_cache_evictions_total", "reason" => "expired")
            }
        }
        .increment(count);
    }

    pub(crate) fn claim_failed(claim: &str) {
        // The claims SuperTokens defines get static keys; an app's own
        // claim id (bounded by the app's requirements, never by a token)
        // is copied, on a failure only.
        match claim {
            "exp" => counter!("ssr_session_claim_failures_total", "claim" => "exp"),
            "nbf" => counter!("ssr_session_claim_failures_total", "claim" => "nbf"),
            "iss" => counter!("ssr_session_claim_failures_total", "claim" => "iss"),
            "aud" => counter!("ssr_session_claim_failures_total", "claim" => "aud"),
            "sub" => counter!("ssr_session_claim_failures_total", "claim" => "sub"),
            "st-ev" => counter!("ssr_session_claim_failures_total", "claim" => "st-ev"),
            "st-role" => counter!("ssr_session_claim_failures_total", "claim" => "st-role"),
            "st-perm" => counter!("ssr_session_claim_failures_total", "claim" => "st-perm"),
            "st-mfa" => counter!("ssr_session_claim_failures_total", "claim" => "st-mfa"),
            other => counter!("ssr_session_claim_failures_total", "claim" => other.to_owned()),
        }
        .increment(1);
    }

    pub(crate) fn jwks_fetch(error: Option<&KeySourceError>, took: Duration) {
        let result = fetch_result(error);
        labelled!(
            "ssr_session_jwks_fetches_total",
            "result",
            result,
            [
                "ok",
                "unreachable",
                "timeout",
                "status",
                "too_large",
                "parse"
            ],
            "other"
        )
        .increment(1);
        histogram!("ssr_session_jwks_fetch_duration_seconds").record(took.as_secs_f64());
    }

    pub(crate) fn jwks_keys_held(change: f64) {
        gauge!("ssr_session_jwks_keys").increment(change);
    }

    pub(crate) fn jwks_unknown_kid_refetch() {
        counter!("ssr_session_jwks_unknown_kid_refetches_total").increment(1);
    }

    pub(crate) fn jwks_waiter_turned_away() {
        counter!("ssr_session_jwks_lookups_turned_away_total").increment(1);
    }

    pub(crate) fn issuers_cached(change: f64) {
        gauge!("ssr_session_issuers_cached").increment(change);
    }

    pub(crate) fn issuer_refused(why: IssuerRefusal) {
        match why {
            IssuerRefusal::NoIssuer => {
                counter!("ssr_session_issuers_refused_total", "reason" => "no_issuer")
            }
            IssuerRefusal::NotAllowed => {
                counter!("ssr_session_issuers_refused_total", "reason" => "not_allowed")
            }
            IssuerRefusal::NotApproved => {
                counter!("ssr_session_issuers_refused_total", "reason" => "not_approved")
            }
            IssuerRefusal::RateLimited => {
                counter!("ssr_session_issuers_refused_total", "reason" => "rate_limited")
            }
            IssuerRefusal::SetupFailed => {
                counter!("ssr_session_issuers_refused_total", "reason" => "setup_failed")
            }
            IssuerRefusal::Remembered => {
                counter!("ssr_session_issuers_refused_total", "reason" => "remembered")
            }
        }
        .increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
mod record {
    use super::*;

    /// Nothing to hold without the feature.
    #[derive(Debug, Clone)]
    pub(crate) struct Handles;

    impl Handles {
        #[inline(always)]
        pub(crate) fn new() -> Self {
            Self
        }
        #[inline(always)]
        pub(crate) fn decision<C>(&self, _: &SessionOutcome<C>) {}
        #[inline(always)]
        pub(crate) fn cache_hit(&self) {}
    }

    #[inline(always)]
    pub(crate) fn forged(_: &crate::error::InvalidKind) {}
    #[inline(always)]
    pub(crate) fn cache_miss() {}
    #[inline(always)]
    pub(crate) fn cache_eviction(_: Eviction, _: u64) {}
    #[inline(always)]
    pub(crate) fn claim_failed(_: &str) {}
    #[inline(always)]
    pub(crate) fn jwks_fetch(_: Option<&KeySourceError>, _: Duration) {}
    #[inline(always)]
    pub(crate) fn jwks_keys_held(_: f64) {}
    #[inline(always)]
    pub(crate) fn jwks_unknown_kid_refetch() {}
    #[inline(always)]
    pub(crate) fn jwks_waiter_turned_away() {}
    #[inline(always)]
    pub(crate) fn issuers_cached(_: f64) {}
    #[inline(always)]
    pub(crate) fn issuer_refused(_: IssuerRefusal) {}
}

pub(crate) use record::*;
