//! The compact JWS structure: splitting, base64url and the header.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{InvalidKind, InvalidToken};

/// A token split into its three segments, with its header parsed.
pub(crate) struct CompactJws<'t> {
    pub header: Header,
    /// `base64url(header) "." base64url(payload)`: what the signature covers.
    pub signing_input: &'t [u8],
    pub payload: &'t [u8],
    pub signature: &'t [u8],
}

/// The header members we act on. `jku`, `x5u`, `jwk` and `x5c` are
/// deliberately not read: keys come only from the key provider.
#[derive(serde::Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
    /// SuperTokens' access-token version (a string; absent means 3).
    #[serde(default)]
    pub version: Option<serde_json::Value>,
}

fn malformed(detail: &'static str) -> InvalidToken {
    InvalidToken::new(InvalidKind::Malformed, detail)
}

/// Splits a compact JWS and parses its header. Only the base64url alphabet
/// without padding is accepted, in exactly three segments.
pub(crate) fn split(token: &[u8]) -> Result<CompactJws<'_>, InvalidToken> {
    let mut dots = [0usize; 2];
    let mut count = 0;
    for (index, &byte) in token.iter().enumerate() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {}
            b'.' if count < 2 => {
                dots[count] = index;
                count += 1;
            }
            b'.' => return Err(malformed("more than three segments")),
            _ => return Err(malformed("a character outside base64url")),
        }
    }
    if count != 2 {
        return Err(malformed("not three segments"));
    }
    let (header_b64, payload_b64) = (&token[..dots[0]], &token[dots[0] + 1..dots[1]]);
    if header_b64.is_empty() || payload_b64.is_empty() {
        return Err(malformed("empty header or payload segment"));
    }
    let header_json = decode(header_b64).ok_or_else(|| malformed("header is not base64url"))?;
    let header = parse_object::<Header>(&header_json)
        .ok_or_else(|| malformed("header is not a JSON object with a string `alg`"))?;
    if header.crit.is_some() {
        // No extension is understood, so any `crit` (RFC 7515 §4.1.11) is fatal.
        return Err(malformed("unsupported `crit` header"));
    }
    Ok(CompactJws {
        header,
        signing_input: &token[..dots[1]],
        payload: payload_b64,
        signature: &token[dots[1] + 1..],
    })
}

/// Strict base64url without padding.
pub(crate) fn decode(segment: &[u8]) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment).ok()
}

/// Parses `json` as `T`, but only when it is a JSON object in valid UTF-8
/// (serde would otherwise accept an array for a struct).
pub(crate) fn parse_object<'de, T: serde::Deserialize<'de>>(json: &'de [u8]) -> Option<T> {
    let text = std::str::from_utf8(json).ok()?;
    if !text.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn accepts_three_base64url_segments() {
        let token = format!("{}.{}.sig", b64(r#"{"alg":"RS256","kid":"k"}"#), b64("{}"));
        let jws = split(token.as_bytes()).unwrap();
        assert_eq!(jws.header.alg, "RS256");
        assert_eq!(jws.header.kid.as_deref(), Some("k"));
        assert_eq!(jws.signature, b"sig");
    }

    #[test]
    fn refuses_broken_structure() {
        let header = b64(r#"{"alg":"RS256"}"#);
        let body = b64("{}");
        for bad in [
            String::new(),
            "abc".to_string(),
            format!("{header}.{body}"),
            format!("{header}.{body}.sig.extra"),
            format!("{header}.{body}.sig="),
            format!("{header}=.{body}.sig"),
            format!("{header}.{body}.si+g"),
            format!("{header}.{body}.si/g"),
            format!(".{body}.sig"),
            format!("{header}..sig"),
            format!("{}.{body}.sig", b64("[\"RS256\"]")),
            format!("{}.{body}.sig", b64("{\"alg\":5}")),
            format!("{}.{body}.sig", b64("{\"kid\":\"k\"}")),
            format!(
                "{}.{body}.sig",
                b64("{\"alg\":\"RS256\",\"crit\":[\"exp\"]}")
            ),
            format!(
                "{}.{body}.sig",
                b64("{\"alg\":\"RS256\",\"alg\":\"HS256\"}")
            ),
            format!("{}.{body}.sig", b64("not json")),
        ] {
            assert!(split(bad.as_bytes()).is_err(), "{bad}");
        }
        let mut invalid_utf8 = URL_SAFE_NO_PAD.encode(b"{\"alg\":\"RS256\",\"x\":\"\xff\"}");
        invalid_utf8.push_str(&format!(".{body}.sig"));
        assert!(split(invalid_utf8.as_bytes()).is_err());
    }
}
