//! [`TokenBuilder`]: tokens of any shape, SuperTokens' own and hostile ones.

use serde_json::{Map, Value};

use super::key::TestKey;
use super::{alg_value, b64url, now_secs, random_hex};
use crate::keys::Algorithm;

/// Builds tokens of any shape, including hostile ones.
///
/// SuperTokens' SDK claims (roles, permissions, a verified email, or your
/// own) have typed setters that write the SDK's payload shape
/// `{"v": …, "t": <now, ms>}`: [`roles`](Self::roles),
/// [`permissions`](Self::permissions), [`email_verified`](Self::email_verified),
/// [`claim_values`](Self::claim_values) and [`claim_value`](Self::claim_value).
#[must_use = "a builder does nothing until `sign()`"]
#[derive(Clone, Debug, Default)]
pub struct TokenBuilder {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    /// `alg` / `kid` are filled from the key at signing unless set or removed explicitly.
    fill_alg: bool,
    fill_kid: bool,
}

impl TokenBuilder {
    /// Empty header and claims. When signing, `alg` and `kid` still come from the key unless
    /// set or removed explicitly.
    pub fn new() -> Self {
        TokenBuilder {
            fill_alg: true,
            fill_kid: true,
            ..Default::default()
        }
    }

    /// A SuperTokens v5 access token: header `{"alg":…,"typ":"JWT","kid":…,"version":"5"}`
    /// (`alg` and `kid` from the key at signing); claims `sub`, `exp` (now + `lifetime_secs`), `iat`,
    /// `sessionHandle`, `refreshTokenHash1`, `parentRefreshTokenHash1: null`,
    /// `antiCsrfToken: null`, `tId: "public"`, `rsub` (= `sub`) and
    /// `iss: "http://localhost:3000/auth"` (override with [`claim`](Self::claim)).
    pub fn supertokens(sub: &str, lifetime_secs: i64) -> Self {
        let now = now_secs();
        let handle = random_hex(16);
        let session_handle = format!(
            "{}-{}-{}-{}-{}",
            &handle[..8],
            &handle[8..12],
            &handle[12..16],
            &handle[16..20],
            &handle[20..]
        );
        Self::new()
            .header("typ", "JWT")
            .header("version", "5")
            .claim("sub", sub)
            .claim("exp", now + lifetime_secs)
            .claim("iat", now)
            .claim("sessionHandle", session_handle)
            .claim("refreshTokenHash1", random_hex(32))
            .claim("parentRefreshTokenHash1", Value::Null)
            .claim("antiCsrfToken", Value::Null)
            .claim("tId", "public")
            .claim("rsub", sub)
            .claim("iss", "http://localhost:3000/auth")
    }

    /// Sets a header member (an explicit `alg` or `kid` is kept as is when signing).
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.not_filled(name);
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header member (a removed `alg` or `kid` stays absent when signing).
    pub fn without_header(mut self, name: &str) -> Self {
        self.not_filled(name);
        self.header.remove(name);
        self
    }

    /// Sets a claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets the roles claim `st-role` to `{"v": [roles…], "t": <now, ms>}`,
    /// as supertokens-node's `UserRoleClaim` writes it.
    ///
    /// ```
    /// use ssr_session::SuperTokensClaims;
    /// use ssr_session::testing::TokenBuilder;
    ///
    /// let token = TokenBuilder::supertokens("alice", 3600).roles(["admin", "user"]);
    /// let claims: SuperTokensClaims = serde_json::from_value(token.claims().clone().into())?;
    /// assert_eq!(claims.roles(), Some(vec!["admin", "user"]));
    /// assert_eq!(token.claims()["st-role"]["v"], serde_json::json!(["admin", "user"]));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn roles<I>(self, roles: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.claim_values(crate::supertokens::ROLES.key(), roles)
    }

    /// Sets the permissions claim `st-perm` to `{"v": [permissions…], "t": <now, ms>}`,
    /// as supertokens-node's `PermissionClaim` writes it.
    ///
    /// ```
    /// use ssr_session::SuperTokensClaims;
    /// use ssr_session::testing::TokenBuilder;
    ///
    /// let token = TokenBuilder::supertokens("alice", 3600).permissions(["read:billing"]);
    /// let claims: SuperTokensClaims = serde_json::from_value(token.claims().clone().into())?;
    /// assert_eq!(claims.permissions(), Some(vec!["read:billing"]));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn permissions<I>(self, permissions: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.claim_values(crate::supertokens::PERMISSIONS.key(), permissions)
    }

    /// Sets the email-verification claim `st-ev` to `{"v": verified, "t": <now, ms>}`,
    /// as supertokens-node's `EmailVerificationClaim` writes it.
    ///
    /// ```
    /// use ssr_session::SuperTokensClaims;
    /// use ssr_session::testing::TokenBuilder;
    ///
    /// let token = TokenBuilder::supertokens("alice", 3600).email_verified(true);
    /// let claims: SuperTokensClaims = serde_json::from_value(token.claims().clone().into())?;
    /// assert_eq!(claims.email_verified(), Some(true));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn email_verified(self, verified: bool) -> Self {
        self.claim_value(crate::supertokens::EMAIL_VERIFIED.key(), verified)
    }

    /// Sets the SDK claim `key` to an array, `{"v": [values…], "t": <now, ms>}`:
    /// your own array claims (read with
    /// [`ArrayClaim`](crate::supertokens::ArrayClaim)).
    ///
    /// ```
    /// use ssr_session::testing::TokenBuilder;
    ///
    /// let token = TokenBuilder::supertokens("alice", 3600).claim_values("app-plan", ["pro"]);
    /// assert_eq!(token.claims()["app-plan"]["v"], serde_json::json!(["pro"]));
    /// assert!(token.claims()["app-plan"]["t"].is_u64());
    /// ```
    pub fn claim_values<I>(self, key: &str, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let values: Vec<Value> = values
            .into_iter()
            .map(|value| Value::String(value.into()))
            .collect();
        self.claim_value(key, values)
    }

    /// Sets the SDK claim `key` to `{"v": value, "t": <now, ms>}`: any value
    /// (a boolean for [`BooleanClaim`](crate::supertokens::BooleanClaim)s).
    /// For a chosen fetch time (to test `max_age_secs`), set the whole
    /// member with [`claim`](Self::claim).
    ///
    /// ```
    /// use ssr_session::testing::TokenBuilder;
    ///
    /// let token = TokenBuilder::supertokens("alice", 3600).claim_value("app-beta", true);
    /// assert_eq!(token.claims()["app-beta"]["v"], true);
    /// ```
    pub fn claim_value(self, key: &str, value: impl Into<Value>) -> Self {
        let fetched_at_millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64);
        self.claim(
            key,
            serde_json::json!({"v": value.into(), "t": fetched_at_millis}),
        )
    }

    /// Sets `exp` to now + `secs` (negative: in the past).
    pub fn expires_in(self, secs: i64) -> Self {
        self.claim("exp", now_secs() + secs)
    }

    /// The claims as they will be serialized.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Signs with `key`. The header gets the key's `alg` and `kid` unless they were set or
    /// removed explicitly; the signature uses the header's `alg` if the key can produce it
    /// ([`TestKey::can_sign`]), else the key's own algorithm.
    pub fn sign(&self, key: &TestKey) -> String {
        let claims = serde_json::to_vec(&self.claims).expect("claims serialize");
        self.sign_payload_bytes(&claims, key)
    }

    /// Like [`sign`](Self::sign) with `payload` as the raw payload bytes instead of the claims
    /// (e.g. JSON that is not an object, or invalid UTF-8).
    pub fn sign_payload_bytes(&self, payload: &[u8], key: &TestKey) -> String {
        // Members in SuperTokens' order, `{"alg","typ","kid","version"}`: serde_json keeps
        // insertion order in this workspace, and minted tokens should look like the core's.
        let mut header = Map::new();
        if self.fill_alg {
            header.insert("alg".to_owned(), alg_value(key.algorithm()));
        }
        for (name, value) in &self.header {
            if name == "version" && self.fill_kid {
                header.insert("kid".to_owned(), key.kid().into());
            }
            header.insert(name.clone(), value.clone());
        }
        if self.fill_kid && !header.contains_key("kid") {
            header.insert("kid".to_owned(), key.kid().into());
        }
        let alg = header
            .get("alg")
            .and_then(|alg| serde_json::from_value::<Algorithm>(alg.clone()).ok())
            .filter(|alg| key.can_sign(*alg))
            .unwrap_or_else(|| key.algorithm());
        let header = serde_json::to_vec(&header).expect("header serializes");
        let signing_input = format!("{}.{}", b64url(&header), b64url(payload));
        let signature = key.sign_raw(alg, signing_input.as_bytes());
        format!("{signing_input}.{}", b64url(&signature))
    }

    /// `header.payload.signature` from the header and claims as set (no `alg`/`kid` filled
    /// in) and the given signature bytes, e.g. empty for `alg: none`.
    pub fn with_signature(&self, signature: &[u8]) -> String {
        let header = serde_json::to_vec(&self.header).expect("header serializes");
        let claims = serde_json::to_vec(&self.claims).expect("claims serialize");
        format!(
            "{}.{}.{}",
            b64url(&header),
            b64url(&claims),
            b64url(signature)
        )
    }

    fn not_filled(&mut self, name: &str) {
        match name {
            "alg" => self.fill_alg = false,
            "kid" => self.fill_kid = false,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::crypto::hmac;
    use crate::backend::crypto::signature::{self, UnparsedPublicKey};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    fn decode_segment(token: &str, index: usize) -> Value {
        let segment = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn supertokens_token_has_v5_header_and_claims() {
        let key = TestKey::generate(Algorithm::ES256, "d-1");
        let token = TokenBuilder::supertokens("alice", 60)
            .claim("st-role", json!({"v": ["admin"]}))
            .sign(&key);
        let header = decode_segment(&token, 0);
        assert_eq!(
            header,
            json!({"alg": "ES256", "typ": "JWT", "kid": "d-1", "version": "5"})
        );
        // The core's member order too (JSON maps compare without it).
        let header_bytes = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        assert_eq!(
            header_bytes,
            br#"{"alg":"ES256","typ":"JWT","kid":"d-1","version":"5"}"#
        );
        let claims = decode_segment(&token, 1);
        assert_eq!(
            (claims["sub"].as_str(), claims["rsub"].as_str()),
            (Some("alice"), Some("alice"))
        );
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            60
        );
        assert_eq!(claims["tId"], "public");
        assert!(claims["parentRefreshTokenHash1"].is_null() && claims["antiCsrfToken"].is_null());
        assert_eq!(claims["sessionHandle"].as_str().unwrap().len(), 36);
        assert_eq!(claims["st-role"], json!({"v": ["admin"]}));
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let raw = key.public_key_bytes().unwrap();
        let public = UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &raw);
        assert!(public.verify(input.as_bytes(), &sig).is_ok());
    }

    #[test]
    fn hostile_shapes() {
        let rsa = TestKey::generate(Algorithm::RS256, "r");
        // Header alg HS256 on an RSA key: HMAC keyed with the public PEM (confusion attack).
        let token = TokenBuilder::supertokens("mallory", 60)
            .header("alg", "HS256")
            .sign(&rsa);
        assert_eq!(decode_segment(&token, 0)["alg"], "HS256");
        let (input, sig) = token.rsplit_once('.').unwrap();
        let pem = rsa.public_key_pem().unwrap();
        let expected = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, pem.as_bytes()),
            input.as_bytes(),
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap(), expected.as_ref());
        // An alg the key cannot produce is named in the header but signed with the key's own.
        let token = TokenBuilder::new().header("alg", "ES256").sign(&rsa);
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(token.rsplit('.').next().unwrap())
                .unwrap()
                .len(),
            256
        );
        // Removed kid stays removed; alg none with an empty signature.
        let token = TokenBuilder::supertokens("a", 60)
            .without_header("kid")
            .sign(&rsa);
        assert!(decode_segment(&token, 0).get("kid").is_none());
        let none = TokenBuilder::supertokens("a", 60)
            .header("alg", "none")
            .with_signature(b"");
        assert!(none.ends_with('.'));
        assert_eq!(decode_segment(&none, 0)["alg"], "none");
        // Raw payload bytes and expiry in the past.
        let token = TokenBuilder::new().sign_payload_bytes(b"[1,2]", &rsa);
        assert_eq!(decode_segment(&token, 1), json!([1, 2]));
        let past = TokenBuilder::supertokens("a", 60).expires_in(-5);
        assert!(past.claims()["exp"].as_i64().unwrap() < now_secs());
        assert!(
            TokenBuilder::supertokens("a", 1)
                .without_claim("sub")
                .claims()
                .get("sub")
                .is_none()
        );
    }
}
