//! SuperTokens' own session claims (roles, permissions, email verification,
//! tenants) and checks on them that answer exactly as supertokens-node's
//! requirements do.
//!
//! A SuperTokens backend puts each SDK claim in the access token's payload
//! as `"<key>": {"v": <value>, "t": <fetched at, ms>}`: `st-role` (array of
//! role names), `st-perm` (array of permissions), `st-ev` (boolean). The
//! checks here mirror `PrimitiveArrayClaim` (`includes`, `excludes`,
//! `includes_all`, `excludes_all`, `includes_any`) and `BooleanClaim`
//! (`is_true`, `is_false`) of supertokens-node 24, with the same ids, the
//! same reasons, in the same order (missing, then too old, then the value),
//! and an optional maximum age judged against the verification time.
//!
//! # A 403, or a refresh?
//!
//! A failed check is SuperTokens' `403 {"message":"invalid claim",…}` by
//! default, whatever its reason. A refresh would not help: supertokens-node
//! 24's refresh endpoint carries the payload over without fetching claims
//! again, so the refreshed token fails the same way; the frontend fixes a
//! claim through the recipe that owns it (auth-react sends a user failing
//! `st-ev` to the email-verification page, whose API fetches the claim
//! again). A backend that does refetch claims while refreshing can mark a
//! check [`refresh_if_stale`](ClaimRequirement::refresh_if_stale): a missing or
//! too old value then answers *needs refresh* instead (a wrong value stays
//! a 403), and the bridge's loop guard still ends a refresh that does not
//! help on the login page, never in a loop.
//!
//! ```
//! use ssr_session::supertokens::{EMAIL_VERIFIED, ROLES};
//! use ssr_session::{Requirement, SuperTokensClaims, requirement::RequirementContext};
//!
//! let claims: SuperTokensClaims = serde_json::from_value(serde_json::json!({
//!     "sub": "alice", "exp": 2_000_000_000,
//!     "st-role": {"v": ["user"], "t": 1_700_000_000_000_i64},
//!     "st-ev": {"v": true, "t": 1_700_000_000_000_i64},
//! }))?;
//! assert_eq!(claims.roles(), Some(vec!["user"]));
//! assert_eq!(claims.tenant(), "public");
//!
//! let now = RequirementContext::new(1_700_000_100.0);
//! assert!(EMAIL_VERIFIED.is_true().validate(&claims, &now).is_ok());
//! let refused = ROLES.includes("admin").validate(&claims, &now).unwrap_err();
//! assert_eq!(refused.id, "st-role");
//! assert_eq!(
//!     refused.reason,
//!     serde_json::json!({"message": "wrong value", "expectedToInclude": "admin", "actualValue": ["user"]})
//! );
//! // Older than a minute: "expired", before the value is looked at.
//! let stale = ROLES.includes("user").max_age_secs(60).validate(&claims, &now).unwrap_err();
//! assert_eq!(
//!     stale.reason,
//!     serde_json::json!({"message": "expired", "ageInSeconds": 100, "maxAgeInSeconds": 60})
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::claims::SuperTokensClaims;
use crate::requirement::{Requirement, RequirementContext, RequirementFailure};

/// The roles claim, `st-role` (supertokens-node's `UserRoleClaim`).
pub const ROLES: ArrayClaim = ArrayClaim::new("st-role");
/// The permissions claim, `st-perm` (supertokens-node's `PermissionClaim`).
pub const PERMISSIONS: ArrayClaim = ArrayClaim::new("st-perm");
/// The email-verification claim, `st-ev` (supertokens-node's
/// `EmailVerificationClaim`).
pub const EMAIL_VERIFIED: BooleanClaim = BooleanClaim::new("st-ev");

/// A claims type whose SDK claims the checks can read: the payload's
/// member `key`.
pub trait Payload {
    /// The payload's member `key`, if present.
    fn member(&self, key: &str) -> Option<&Value>;

    /// The tenant (`tId`), if present.
    fn tenant_id(&self) -> Option<&str> {
        self.member("tId").and_then(Value::as_str)
    }
}

impl Payload for SuperTokensClaims {
    fn member(&self, key: &str) -> Option<&Value> {
        self.extra.get(key)
    }

    fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }
}

impl Payload for Map<String, Value> {
    fn member(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

impl Payload for Value {
    fn member(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

/// One SDK claim of a token: its value `v` and when it was fetched, `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SdkClaim<'a> {
    /// The value (`v`).
    pub value: &'a Value,
    /// When the backend fetched it (`t`), in milliseconds since the Unix
    /// epoch.
    pub fetched_at_millis: Option<f64>,
}

/// The SDK claim `key` of a payload, if it has a value.
pub fn sdk_claim<'a>(payload: &'a (impl Payload + ?Sized), key: &str) -> Option<SdkClaim<'a>> {
    let member = payload.member(key)?;
    let value = member.get("v").filter(|v| !v.is_null())?;
    Some(SdkClaim {
        value,
        fetched_at_millis: member.get("t").and_then(Value::as_f64),
    })
}

impl SuperTokensClaims {
    /// The tenant (`tId`); `"public"` for tokens that have none (v3).
    pub fn tenant(&self) -> &str {
        self.tenant_id.as_deref().unwrap_or("public")
    }

    /// The recipe user id (`rsub`, v5), when the token has one.
    pub fn recipe_user_id(&self) -> Option<&str> {
        self.rsub.as_deref()
    }

    /// The issuer (`iss`), when the token has one.
    pub fn issuer(&self) -> Option<&str> {
        self.iss.as_deref()
    }

    /// The SDK claim `key` (`st-role`, `st-ev`, …) with its fetch time.
    pub fn sdk_claim(&self, key: &str) -> Option<SdkClaim<'_>> {
        sdk_claim(self, key)
    }

    /// The roles (`st-role`), when the token carries them.
    pub fn roles(&self) -> Option<Vec<&str>> {
        self.strings(ROLES.key())
    }

    /// The permissions (`st-perm`), when the token carries them.
    pub fn permissions(&self) -> Option<Vec<&str>> {
        self.strings(PERMISSIONS.key())
    }

    /// Whether the email is verified (`st-ev`), when the token says.
    pub fn email_verified(&self) -> Option<bool> {
        self.sdk_claim(EMAIL_VERIFIED.key())?.value.as_bool()
    }

    fn strings(&self, key: &str) -> Option<Vec<&str>> {
        let values = self.sdk_claim(key)?.value.as_array()?;
        Some(values.iter().filter_map(Value::as_str).collect())
    }
}

/// An SDK claim whose value is an array (`st-role`, `st-perm`, or your own
/// `PrimitiveArrayClaim`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayClaim {
    key: &'static str,
}

impl ArrayClaim {
    /// The array claim stored under `key`.
    pub const fn new(key: &'static str) -> Self {
        Self { key }
    }

    /// The payload key.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The value must include `value` (`includes`).
    pub fn includes(&self, value: impl Into<Value>) -> ClaimRequirement {
        self.check(Check::Includes(value.into()))
    }

    /// The value must not include `value` (`excludes`).
    pub fn excludes(&self, value: impl Into<Value>) -> ClaimRequirement {
        self.check(Check::Excludes(value.into()))
    }

    /// The value must include every one of `values` (`includesAll`).
    pub fn includes_all<V: Into<Value>>(
        &self,
        values: impl IntoIterator<Item = V>,
    ) -> ClaimRequirement {
        self.check(Check::IncludesAll(list(values)))
    }

    /// The value must include none of `values` (`excludesAll`).
    pub fn excludes_all<V: Into<Value>>(
        &self,
        values: impl IntoIterator<Item = V>,
    ) -> ClaimRequirement {
        self.check(Check::ExcludesAll(list(values)))
    }

    /// The value must include at least one of `values` (`includesAny`).
    pub fn includes_any<V: Into<Value>>(
        &self,
        values: impl IntoIterator<Item = V>,
    ) -> ClaimRequirement {
        self.check(Check::IncludesAny(list(values)))
    }

    fn check(&self, check: Check) -> ClaimRequirement {
        ClaimRequirement::new(self.key, check)
    }
}

/// An SDK claim whose value is a boolean (`st-ev`, or your own
/// `BooleanClaim`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BooleanClaim {
    key: &'static str,
}

impl BooleanClaim {
    /// The boolean claim stored under `key`.
    pub const fn new(key: &'static str) -> Self {
        Self { key }
    }

    /// The payload key.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The value must be `true` (`isTrue`).
    pub fn is_true(&self) -> ClaimRequirement {
        self.has_value(true)
    }

    /// The value must be `false` (`isFalse`).
    pub fn is_false(&self) -> ClaimRequirement {
        self.has_value(false)
    }

    /// The value must be `value` (`hasValue`).
    pub fn has_value(&self, value: bool) -> ClaimRequirement {
        ClaimRequirement::new(self.key, Check::HasValue(Value::Bool(value)))
    }
}

fn list<V: Into<Value>>(values: impl IntoIterator<Item = V>) -> Value {
    Value::Array(values.into_iter().map(Into::into).collect())
}

/// What a [`ClaimRequirement`] asks of the value.
#[derive(Debug, Clone, PartialEq)]
enum Check {
    Includes(Value),
    Excludes(Value),
    IncludesAll(Value),
    ExcludesAll(Value),
    IncludesAny(Value),
    HasValue(Value),
    /// The token's tenant (`tId`, `"public"` when absent).
    Tenant(Value),
}

/// One check of an SDK claim, as supertokens-node's claim validators make
/// it: a [`Requirement`] for [`SuperTokensClaims`] (and any
/// [`Payload`]), usable on the verifier, a route group or a route.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRequirement {
    id: Cow<'static, str>,
    key: &'static str,
    check: Check,
    max_age_secs: Option<u64>,
    refresh_if_stale: bool,
}

impl ClaimRequirement {
    fn new(key: &'static str, check: Check) -> Self {
        Self {
            id: Cow::Borrowed(key),
            key,
            check,
            max_age_secs: None,
            refresh_if_stale: false,
        }
    }

    /// The value must have been fetched at most `secs` seconds before the
    /// verification time (`maxAgeInSeconds`).
    pub fn max_age_secs(mut self, secs: u64) -> Self {
        self.max_age_secs = Some(secs);
        self
    }

    /// The id reported in `claimValidationErrors` (default: the claim's key).
    pub fn id(mut self, id: impl Into<Cow<'static, str>>) -> Self {
        self.id = id.into();
        self
    }

    /// A missing or too old value answers *needs refresh* instead of 403,
    /// for backends that fetch claims again while refreshing (see the
    /// [module docs](self)).
    pub fn refresh_if_stale(mut self) -> Self {
        self.refresh_if_stale = true;
        self
    }

    /// The id this check reports.
    pub fn check_id(&self) -> &str {
        &self.id
    }

    fn reject(&self, reason: Value, stale: bool) -> RequirementFailure {
        let error = RequirementFailure::new(self.id.clone().into_owned(), reason);
        if stale && self.refresh_if_stale {
            error.refresh_may_help()
        } else {
            error
        }
    }

    /// The check on a payload at `context`'s time.
    pub fn check(
        &self,
        payload: &(impl Payload + ?Sized),
        context: &RequirementContext,
    ) -> Result<(), RequirementFailure> {
        if let Check::Tenant(expected) = &self.check {
            let actual = Value::from(payload.tenant_id().unwrap_or("public"));
            if !same(&actual, expected) {
                let reason = json!({"message": "wrong value", "expectedValue": expected, "actualValue": actual});
                return Err(self.reject(reason, false));
            }
            return Ok(());
        }
        // `t` is read only when a maximum age asks for it: a check runs on
        // every request, and each member lookup hashes its key.
        let member = payload.member(self.key);
        let Some(value) = member.and_then(|member| member.get("v").filter(|v| !v.is_null())) else {
            // supertokens-node leaves `actualValue: undefined`, which JSON drops.
            let mut reason = Map::new();
            reason.insert("message".into(), "value does not exist".into());
            let (name, expected) = self.expectation(true);
            reason.insert(name.into(), expected.clone());
            return Err(self.reject(Value::Object(reason), true));
        };
        let fetched_at = || {
            member
                .and_then(|member| member.get("t"))
                .and_then(Value::as_f64)
        };
        if let Some(max_age) = self.max_age_secs
            && let Some(fetched_at) = fetched_at()
        {
            let age_millis = context.now_millis() as f64 - fetched_at;
            if age_millis / 1000.0 > max_age as f64 {
                let reason = json!({
                    "message": "expired",
                    "ageInSeconds": js_number(age_millis / 1000.0),
                    "maxAgeInSeconds": max_age,
                });
                return Err(self.reject(reason, true));
            }
        }
        if self.passes(value) {
            return Ok(());
        }
        let (name, expected) = self.expectation(false);
        let reason = json!({"message": "wrong value", name: expected, "actualValue": value});
        Err(self.reject(reason, false))
    }

    fn passes(&self, value: &Value) -> bool {
        let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
        let has = |wanted: &Value| items.iter().any(|item| same(item, wanted));
        let wanted = |list: &Value| list.as_array().cloned().unwrap_or_default();
        match &self.check {
            Check::HasValue(expected) => same(value, expected),
            _ if !value.is_array() => false,
            Check::Includes(v) => has(v),
            Check::Excludes(v) => !has(v),
            Check::IncludesAll(list) => wanted(list).iter().all(has),
            Check::ExcludesAll(list) => !wanted(list).iter().any(has),
            Check::IncludesAny(list) => wanted(list).iter().any(has),
            Check::Tenant(_) => true,
        }
    }

    /// The reason's name for what was expected, as supertokens-node spells
    /// it (its `includesAny` says `expectedToNotInclude` for a missing value
    /// and `expectedToIncludeAtLeastOneOf` for a wrong one; mirrored).
    fn expectation(&self, missing: bool) -> (&'static str, &Value) {
        match &self.check {
            Check::Includes(v) | Check::IncludesAll(v) => ("expectedToInclude", v),
            Check::Excludes(v) | Check::ExcludesAll(v) => ("expectedToNotInclude", v),
            Check::IncludesAny(v) if missing => ("expectedToNotInclude", v),
            Check::IncludesAny(v) => ("expectedToIncludeAtLeastOneOf", v),
            Check::HasValue(v) | Check::Tenant(v) => ("expectedValue", v),
        }
    }
}

/// A number as JavaScript writes it: integral values without a fraction.
fn js_number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

/// JavaScript's `SameValueZero` on JSON values: numbers by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

impl<C: Payload + Send + Sync + 'static> Requirement<C> for ClaimRequirement {
    fn validate(&self, claims: &C, context: &RequirementContext) -> Result<(), RequirementFailure> {
        self.check(claims, context)
    }
}

/// The session must carry role `role` (`st-role` includes it).
pub fn has_role(role: &str) -> ClaimRequirement {
    ROLES.includes(role)
}

/// The session must carry permission `permission` (`st-perm` includes it).
pub fn has_permission(permission: &str) -> ClaimRequirement {
    PERMISSIONS.includes(permission)
}

/// The session's email must be verified (`st-ev` is `true`).
pub fn email_verified() -> ClaimRequirement {
    EMAIL_VERIFIED.is_true()
}

/// The session must belong to tenant `tenant` (`tId`, `"public"` when
/// absent). Reported with id `tId`.
pub fn tenant_is(tenant: &str) -> ClaimRequirement {
    ClaimRequirement::new("tId", Check::Tenant(Value::from(tenant)))
}
