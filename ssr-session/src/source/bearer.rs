//! [`BearerSource`]: the access token in `Authorization: Bearer <token>`.

use super::{Headers, TokenCarrier, TokenSource, Tokens};

/// The access token in `Authorization: Bearer <token>` (SuperTokens' header
/// mode).
///
/// The scheme is matched in any letter case and must be followed by one or
/// more spaces and a token; any other scheme, or `Bearer` alone, is no token.
/// Only the first `Authorization` header counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct BearerSource;

impl TokenSource for BearerSource {
    fn tokens<'h>(&self, headers: &'h dyn Headers) -> Tokens<'h> {
        let mut first: Option<&'h [u8]> = None;
        headers.for_each_value("authorization", &mut |value| {
            first.get_or_insert(value);
        });
        first
            .and_then(bearer_token)
            .map_or_else(Tokens::none, Tokens::one)
            .carried_by(TokenCarrier::Header)
    }
}

fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer";
    let value = value.trim_ascii_start();
    if value.len() <= SCHEME.len() || !value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let rest = &value[SCHEME.len()..];
    if rest[0] != b' ' {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::HeaderList;

    fn bearer(raw: &str) -> Option<Vec<u8>> {
        let headers = HeaderList::new().with("Authorization", raw);
        BearerSource
            .tokens(&headers)
            .as_slice()
            .first()
            .map(|t| t.to_vec())
    }

    #[test]
    fn bearer_scheme_in_any_case_with_spaces() {
        assert_eq!(bearer("Bearer tok"), Some(b"tok".to_vec()));
        assert_eq!(bearer("bearer tok"), Some(b"tok".to_vec()));
        assert_eq!(bearer("BEARER    tok  "), Some(b"tok".to_vec()));
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer   "), None);
        assert_eq!(bearer("Bearertok"), None);
        assert_eq!(bearer("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer("Token tok"), None);
        assert_eq!(bearer(""), None);
        assert_eq!(bearer("Bearer\ttok"), None);
    }
}
