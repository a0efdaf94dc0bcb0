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
    // What a byte-by-byte scan would report first: a third `.` before any
    // byte outside the alphabet is "more than three segments".
    let limit = first_foreign_byte(token).unwrap_or(token.len());
    let mut found = memchr::memchr_iter(b'.', &token[..limit]);
    let dots = [found.next(), found.next()];
    if found.next().is_some() {
        return Err(malformed("more than three segments"));
    }
    if limit < token.len() {
        return Err(malformed("a character outside base64url"));
    }
    let [Some(first), Some(second)] = dots else {
        return Err(malformed("not three segments"));
    };
    let dots = [first, second];
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

/// The position of the first byte that is neither base64url nor `.`.
/// Checks 64 bytes at a time without branching (so the compiler can use
/// vector instructions), then finds the byte in the failing chunk.
fn first_foreign_byte(token: &[u8]) -> Option<usize> {
    fn is_jws_byte(byte: u8) -> bool {
        matches!(byte, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.')
    }
    let mut offset = 0;
    for chunk in token.chunks(64) {
        if !chunk.iter().fold(true, |ok, &byte| ok & is_jws_byte(byte)) {
            return chunk
                .iter()
                .position(|&byte| !is_jws_byte(byte))
                .map(|at| offset + at);
        }
        offset += chunk.len();
    }
    None
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

    /// The byte-by-byte scan `split` replaced, as the oracle.
    fn scan(token: &[u8]) -> Result<[usize; 2], &'static str> {
        let mut dots = [0usize; 2];
        let mut count = 0;
        for (index, &byte) in token.iter().enumerate() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {}
                b'.' if count < 2 => {
                    dots[count] = index;
                    count += 1;
                }
                b'.' => return Err("more than three segments"),
                _ => return Err("a character outside base64url"),
            }
        }
        if count != 2 {
            return Err("not three segments");
        }
        Ok(dots)
    }

    #[test]
    fn the_structure_check_agrees_with_a_byte_by_byte_scan() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"aZ09-_..+/= \xff";
        for _ in 0..50_000 {
            let len = (next() % 200) as usize;
            let token: Vec<u8> = (0..len)
                .map(|_| {
                    if next() % 8 == 0 {
                        alphabet[(next() % alphabet.len() as u64) as usize]
                    } else {
                        b'A' + (next() % 26) as u8
                    }
                })
                .collect();
            let expected = scan(&token);
            match split(&token) {
                Ok(jws) => {
                    let [_, second] = expected.expect("the scan accepts it too");
                    assert_eq!(jws.signing_input.len(), second);
                }
                Err(error) => {
                    if let Err(detail) = expected {
                        assert_eq!(error.detail(), detail, "{token:?}");
                    }
                    // Else the structure is fine and the header is not JSON.
                }
            }
        }
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
