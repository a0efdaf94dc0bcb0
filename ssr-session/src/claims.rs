//! The default claims type, [`SuperTokensClaims`].

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
