//! Claim checks: the [`Requirement`] trait, what it is given
//! ([`RequirementContext`]) and how it refuses ([`RequirementFailure`]).
//!
//! One trait serves both places a check can live: on the verifier (every
//! request) and on a route or a route group (`Require<V>` extractors and
//! guards, the layers' and middleware's `require`). Either way it runs on
//! every request, a verified-token cache hit included: the cache saves the
//! signature check, never a policy decision.

mod failure;

pub use self::failure::RequirementFailure;
use crate::error::InvalidToken;
use crate::outcome::{NeedsRefreshReason, SessionOutcome};
use crate::session::Session;

/// What a claim check may look at besides the claims: the verification
/// time, from the verifier's clock (so tests and simulations can move it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequirementContext {
    now: f64,
}

impl RequirementContext {
    /// A context for checks made at `now` (seconds since the Unix epoch).
    pub fn new(now: f64) -> Self {
        Self { now }
    }

    /// The verification time, in seconds since the Unix epoch.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// The verification time, in whole milliseconds since the Unix epoch
    /// (the unit of SuperTokens' claim fetch times `t`).
    pub fn now_millis(&self) -> i64 {
        (self.now * 1000.0) as i64
    }
}

/// A check on the claims of a verified, unexpired token.
///
/// Runs only after the signature, algorithm, key and registered claims
/// passed and the token is not expired (a refresh may bring new claim
/// values, so an expired token is "needs refresh", not "invalid claim"),
/// and then on **every** request, verified-token cache hits included, with
/// the verification time in the [`RequirementContext`]. A rejection is
/// SuperTokens' `403 {"message":"invalid claim","claimValidationErrors":[…]}`.
///
/// Closures implement it:
///
/// ```
/// use ssr_session::{requirement::RequirementFailure, Requirement, SuperTokensClaims, requirement::RequirementContext};
///
/// let email_verified = |claims: &SuperTokensClaims, _: &RequirementContext| {
///     match claims.get("st-ev.v") {
///         Some(serde_json::Value::Bool(true)) => Ok(()),
///         _ => Err(RequirementFailure::new(
///             "st-ev",
///             serde_json::json!({"message": "wrong value", "expectedValue": true}),
///         )),
///     }
/// };
/// let claims: SuperTokensClaims = serde_json::from_str(r#"{"sub":"u","exp":1}"#).unwrap();
/// assert!(email_verified.validate(&claims, &RequirementContext::new(0.0)).is_err());
/// ```
///
/// A type that also implements `Default` can be named in a route's
/// signature (`Require<EmailVerified>` in every adapter).
pub trait Requirement<C>: Send + Sync + 'static {
    /// `Ok(())` when the claims pass.
    fn validate(&self, claims: &C, context: &RequirementContext) -> Result<(), RequirementFailure>;
}

impl<C, F> Requirement<C> for F
where
    F: Fn(&C, &RequirementContext) -> Result<(), RequirementFailure> + Send + Sync + 'static,
{
    fn validate(&self, claims: &C, context: &RequirementContext) -> Result<(), RequirementFailure> {
        self(claims, context)
    }
}

/// The outcome of `session` judged by `validators` (in order; SuperTokens
/// reports every failure, in order): valid; *needs refresh* when every
/// failure may be fixed by a refresh; else invalid (*claim*).
pub(crate) fn judge<'v, C: 'static>(
    session: Session<C>,
    validators: impl IntoIterator<Item = &'v dyn Requirement<C>>,
    context: &RequirementContext,
) -> SessionOutcome<C> {
    refusal(&session, validators, context).unwrap_or(SessionOutcome::Valid(session))
}

/// What [`judge`] answers instead of valid, if anything: `None` when every
/// validator passes.
pub(crate) fn refusal<'v, C: 'static>(
    session: &Session<C>,
    validators: impl IntoIterator<Item = &'v dyn Requirement<C>>,
    context: &RequirementContext,
) -> Option<SessionOutcome<C>> {
    // Allocated only for a failure: a requirement runs on every request.
    let mut failures = Vec::new();
    for validator in validators {
        if let Err(failure) = validator.validate(session.claims(), context) {
            crate::metrics::claim_failed(&failure.id);
            failures.push(failure);
        }
    }
    if failures.is_empty() {
        None
    } else if failures.iter().all(RequirementFailure::is_refreshable) {
        Some(SessionOutcome::NeedsRefresh(NeedsRefreshReason::Claim))
    } else {
        Some(SessionOutcome::Invalid(InvalidToken::validators(failures)))
    }
}

/// Names a requirement, so that a route can state it in its signature
/// (`Require<IsAdmin>` in every adapter) or a route group can be given it
/// ([`SessionConfig::require`](crate::SessionConfig::require)): one line
/// defines a unit type that checks `$check` (any [`Requirement`]).
///
/// ```
/// use ssr_session::{requirement::RequirementFailure, Requirement, SuperTokensClaims, requirement::RequirementContext};
///
/// fn plan_is_pro(claims: &SuperTokensClaims, _: &RequirementContext) -> Result<(), RequirementFailure> {
///     match claims.get("plan") {
///         Some(plan) if plan == "pro" => Ok(()),
///         _ => Err(RequirementFailure::new("plan", serde_json::json!({"message": "wrong value"}))),
///     }
/// }
///
/// ssr_session::requirement!(
///     /// Customers on the pro plan.
///     pub ProPlan = plan_is_pro
/// );
///
/// let claims: SuperTokensClaims = serde_json::from_str(r#"{"sub":"u","exp":1,"plan":"pro"}"#).unwrap();
/// assert!(ProPlan.validate(&claims, &RequirementContext::new(0.0)).is_ok());
/// ```
///
/// For another claims type: `requirement!(pub ProPlan for MyClaims = check)`.
#[macro_export]
macro_rules! requirement {
    ($(#[$meta:meta])* $vis:vis $name:ident = $check:expr) => {
        $crate::requirement!($(#[$meta])* $vis $name for $crate::SuperTokensClaims = $check);
    };
    ($(#[$meta:meta])* $vis:vis $name:ident for $claims:ty = $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;

        impl $crate::Requirement<$claims> for $name {
            fn validate(
                &self,
                claims: &$claims,
                context: &$crate::requirement::RequirementContext,
            ) -> ::std::result::Result<(), $crate::requirement::RequirementFailure> {
                // Built once: a requirement runs on every request.
                static CHECK: ::std::sync::LazyLock<
                    ::std::boxed::Box<dyn $crate::Requirement<$claims>>,
                > = ::std::sync::LazyLock::new(|| ::std::boxed::Box::new($check));
                CHECK.validate(claims, context)
            }
        }
    };
}
