//! Claims: the default [`SuperTokensClaims`] and user-supplied
//! [`ClaimValidator`]s.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The claims of a SuperTokens access token (versions 3 to 5); anything else
/// (custom claims such as `st-ev`, `st-role`) is kept in [`Self::extra`].
///
/// Fields a version lacks are `None` (v4 has no `rsub`, v3 no `tId`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuperTokensClaims {
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default)]
    pub iat: Option<i64>,
    /// The session's handle.
    #[serde(rename = "sessionHandle", default)]
    pub session_handle: Option<String>,
    /// Hash of the refresh token this access token belongs to.
    #[serde(rename = "refreshTokenHash1", default)]
    pub refresh_token_hash1: Option<String>,
    /// Hash of the previous refresh token, until first use after a refresh.
    #[serde(rename = "parentRefreshTokenHash1", default)]
    pub parent_refresh_token_hash1: Option<String>,
    /// The anti-CSRF token, when the app uses one.
    #[serde(rename = "antiCsrfToken", default)]
    pub anti_csrf_token: Option<String>,
    /// The tenant id (v4+).
    #[serde(rename = "tId", default)]
    pub tenant_id: Option<String>,
    /// The recipe user id (v5+).
    #[serde(default)]
    pub rsub: Option<String>,
    /// The issuer (`apiDomain` + `apiBasePath`).
    #[serde(default)]
    pub iss: Option<String>,
    /// Every other claim, as JSON.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SuperTokensClaims {
    /// A custom claim by a dotted path, e.g. `"st-ev.v"`.
    ///
    /// ```
    /// # use ssr_session::SuperTokensClaims;
    /// let claims: SuperTokensClaims = serde_json::from_str(
    ///     r#"{"sub":"u","exp":1,"st-ev":{"v":true,"t":1}}"#,
    /// ).unwrap();
    /// assert_eq!(claims.get("st-ev.v"), Some(&serde_json::Value::Bool(true)));
    /// assert_eq!(claims.get("st-ev.missing"), None);
    /// ```
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut current = self.extra.get(parts.next()?)?;
        for part in parts {
            current = current.as_object()?.get(part)?;
        }
        Some(current)
    }
}

/// One failed claim check, as SuperTokens reports it in
/// `claimValidationErrors`: `{"id": …, "reason": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimValidationError {
    /// The claim's id, e.g. `st-ev`.
    pub id: String,
    /// Why it failed, as JSON (e.g. `{"message":"wrong value","expectedValue":true}`).
    pub reason: Value,
}

impl ClaimValidationError {
    /// A failure of claim `id` for `reason`.
    pub fn new(id: impl Into<String>, reason: impl Into<Value>) -> Self {
        Self {
            id: id.into(),
            reason: reason.into(),
        }
    }
}

/// A check on the claims of an otherwise valid, unexpired token.
///
/// Validators run only after the signature, algorithm, key and registered
/// claims passed and the token is not expired (a refresh may bring new claim
/// values, so an expired token is "needs refresh", not "invalid claim").
/// Closures implement it:
///
/// ```
/// use ssr_session::{ClaimValidationError, SuperTokensClaims};
///
/// let email_verified = |claims: &SuperTokensClaims| {
///     match claims.get("st-ev.v") {
///         Some(serde_json::Value::Bool(true)) => Ok(()),
///         _ => Err(ClaimValidationError::new(
///             "st-ev",
///             serde_json::json!({"message": "wrong value", "expectedValue": true}),
///         )),
///     }
/// };
/// # use ssr_session::ClaimValidator;
/// # let claims: SuperTokensClaims = serde_json::from_str(r#"{"sub":"u","exp":1}"#).unwrap();
/// # assert!(email_verified.validate(&claims).is_err());
/// ```
pub trait ClaimValidator<C>: Send + Sync + 'static {
    /// `Ok(())` when the claims pass.
    fn validate(&self, claims: &C) -> Result<(), ClaimValidationError>;
}

impl<C, F> ClaimValidator<C> for F
where
    F: Fn(&C) -> Result<(), ClaimValidationError> + Send + Sync + 'static,
{
    fn validate(&self, claims: &C) -> Result<(), ClaimValidationError> {
        self(claims)
    }
}
