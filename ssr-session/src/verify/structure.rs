//! Which signed JWTs count as sessions: SuperTokens' access-token
//! structure, as `supertokens-node` checks it.

use serde_json::Value;

/// `supertokens-node`'s `validateAccessTokenStructure`, for versions 3+.
pub(super) fn supertokens_structure(
    version: Option<&Value>,
    claims: &Registered,
) -> Result<(), &'static str> {
    let version = match version {
        None => 3,
        Some(Value::String(v)) => v
            .parse::<u32>()
            .map_err(|_| "header `version` is not a number")?,
        Some(_) => return Err("header `version` is not a string"),
    };
    if version < 3 {
        return Err("access tokens before version 3 are not supported");
    }
    if !matches!(&claims.stt, None | Some(Value::Null)) && claims.stt != Some(Value::from(0)) {
        return Err("not a session access token (`stt` is not 0)");
    }
    let is_string = |v: &Option<Value>| matches!(v, Some(Value::String(_)));
    let session_claims = is_string(&claims.sub)
        && matches!(claims.iat, Some(Value::Number(_)))
        && is_string(&claims.session_handle)
        && is_string(&claims.refresh_token_hash1)
        && (version < 5 || is_string(&claims.rsub));
    if !session_claims {
        return Err("session claims missing (sub, iat, sessionHandle, refreshTokenHash1, rsub)");
    }
    Ok(())
}

/// The registered (and SuperTokens session) claims the verifier acts on.
#[derive(serde::Deserialize)]
pub(super) struct Registered {
    #[serde(default)]
    pub(super) exp: Option<Value>,
    #[serde(default)]
    pub(super) nbf: Option<Value>,
    #[serde(default)]
    pub(super) iss: Option<Value>,
    #[serde(default)]
    pub(super) aud: Option<Value>,
    #[serde(default)]
    pub(super) sub: Option<Value>,
    #[serde(default)]
    pub(super) iat: Option<Value>,
    #[serde(default)]
    pub(super) stt: Option<Value>,
    #[serde(default, rename = "sessionHandle")]
    pub(super) session_handle: Option<Value>,
    #[serde(default, rename = "refreshTokenHash1")]
    pub(super) refresh_token_hash1: Option<Value>,
    #[serde(default)]
    pub(super) rsub: Option<Value>,
    #[serde(default, rename = "antiCsrfToken")]
    pub(super) anti_csrf_token: Option<Value>,
}
