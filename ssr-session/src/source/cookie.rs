//! [`CookieSource`]: the access token in a cookie.

use super::{Headers, MAX_TOKENS_PER_REQUEST, TokenSource, Tokens};

/// The access token in a cookie (default name `sAccessToken`).
///
/// Rules: every `Cookie` header is split on `;`; each pair is trimmed and
/// split at its first `=`; the name must equal the cookie name exactly; the
/// value is trimmed and one pair of surrounding double quotes removed; an
/// empty value counts as no cookie. Several matching cookies are all
/// returned, in the order sent (at most [`MAX_TOKENS_PER_REQUEST`]).
///
/// For speed, a header is not split pair by pair: the cookie name is
/// searched for (SIMD substring search) and each occurrence is accepted
/// only where the rules above would find a pair of that name (a `;` or the
/// header's start before it, `=` after it, whitespace aside). Names with
/// `;`, `=` or whitespace, and the empty name, use the plain split.
#[derive(Debug, Clone)]
pub struct CookieSource {
    name: String,
    /// Set when `name` can be searched for (see above).
    finder: Option<memchr::memmem::Finder<'static>>,
}

impl CookieSource {
    /// SuperTokens' access-token cookie name.
    pub const SUPERTOKENS_ACCESS_TOKEN: &'static str = "sAccessToken";

    /// A cookie source for the cookie `name`.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let searchable = !name.is_empty()
            && !name
                .bytes()
                .any(|b| b == b';' || b == b'=' || b.is_ascii_whitespace());
        let finder = searchable.then(|| memchr::memmem::Finder::new(name.as_bytes()).into_owned());
        Self { name, finder }
    }

    /// The cookie name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Default for CookieSource {
    fn default() -> Self {
        Self::new(Self::SUPERTOKENS_ACCESS_TOKEN)
    }
}

impl TokenSource for CookieSource {
    fn tokens<'h>(&self, headers: &'h dyn Headers) -> Tokens<'h> {
        let mut tokens = Tokens::none();
        headers.for_each_value("cookie", &mut |header| match &self.finder {
            Some(finder) => search_cookies(header, finder, &mut tokens),
            None => split_cookies(header, self.name.as_bytes(), &mut tokens),
        });
        tokens
    }
}

/// The rules, pair by pair.
fn split_cookies<'h>(header: &'h [u8], wanted: &[u8], tokens: &mut Tokens<'h>) {
    for pair in header.split(|&b| b == b';') {
        let pair = pair.trim_ascii();
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            continue;
        };
        if pair[..eq].trim_ascii() != wanted {
            continue;
        }
        push_value(pair[eq + 1..].trim_ascii(), tokens);
    }
}

/// The same rules, visiting only the occurrences of the name (which holds
/// no `;`, `=` or whitespace, so it can only ever be a whole pair's name
/// where a `;` or the start precedes it and `=` follows it, whitespace
/// aside). Overlapping occurrences are all looked at.
fn search_cookies<'h>(
    header: &'h [u8],
    finder: &memchr::memmem::Finder<'_>,
    tokens: &mut Tokens<'h>,
) {
    let len = finder.needle().len();
    let mut from = 0;
    while let Some(found) = finder.find(&header[from..]) {
        let start = from + found;
        from = start + 1;
        let before = header[..start].trim_ascii_end();
        if before.last().is_some_and(|&b| b != b';') {
            continue;
        }
        let after = header[start + len..].trim_ascii_start();
        let Some(rest) = after.strip_prefix(b"=") else {
            continue;
        };
        let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
        push_value(rest[..end].trim_ascii(), tokens);
        if tokens.len() == MAX_TOKENS_PER_REQUEST {
            return;
        }
        // The value holds no `;`, so no pair starts inside it.
        from = header.len() - rest.len() + end;
    }
}

fn push_value<'h>(value: &'h [u8], tokens: &mut Tokens<'h>) {
    let value = unquote(value);
    if !value.is_empty() {
        tokens.push(value);
    }
}

fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::HeaderList;

    fn cookie(raw: &str) -> Vec<Vec<u8>> {
        let headers = HeaderList::new().with("Cookie", raw);
        CookieSource::default()
            .tokens(&headers)
            .as_slice()
            .iter()
            .map(|t| t.to_vec())
            .collect()
    }

    #[test]
    fn cookie_is_found_among_others_trimmed_and_unquoted() {
        assert_eq!(cookie("a=1; sAccessToken=tok; b=2"), [b"tok".to_vec()]);
        assert_eq!(cookie("  sAccessToken =  tok  ;x=y"), [b"tok".to_vec()]);
        assert_eq!(cookie("sAccessToken=\"tok\""), [b"tok".to_vec()]);
        assert_eq!(cookie("sAccessToken=\"\"tok\"\""), [b"\"tok\"".to_vec()]);
        assert_eq!(cookie("sAccessToken=a=b=c"), [b"a=b=c".to_vec()]);
    }

    #[test]
    fn cookie_name_must_match_exactly() {
        assert!(cookie("saccesstoken=tok").is_empty());
        assert!(cookie("sAccessTokenX=tok").is_empty());
        assert!(cookie("XsAccessToken=tok").is_empty());
        assert!(cookie("sAccessToken").is_empty());
    }

    #[test]
    fn empty_cookie_value_is_no_cookie() {
        assert!(cookie("sAccessToken=").is_empty());
        assert!(cookie("sAccessToken=   ").is_empty());
        assert!(cookie("sAccessToken=\"\"").is_empty());
        assert_eq!(cookie("sAccessToken=; sAccessToken=b"), [b"b".to_vec()]);
    }

    #[test]
    fn several_cookies_keep_their_order_up_to_the_cap() {
        assert_eq!(
            cookie("sAccessToken=a; sAccessToken=b"),
            [b"a".to_vec(), b"b".to_vec()]
        );
        let many = (0..10)
            .map(|i| format!("sAccessToken=t{i}"))
            .collect::<Vec<_>>()
            .join("; ");
        assert_eq!(cookie(&many).len(), MAX_TOKENS_PER_REQUEST);
    }

    #[test]
    fn several_cookie_headers_are_all_read() {
        let headers = HeaderList::new()
            .with("cookie", "x=1")
            .with("Cookie", "sAccessToken=second");
        assert_eq!(
            CookieSource::default().tokens(&headers).as_slice(),
            [b"second"]
        );
    }

    #[test]
    fn malformed_cookie_headers_do_not_panic() {
        for raw in [";;;", "=", "==;=", "\"", "sAccessToken=\"", ";sAccessToken"] {
            let _ = cookie(raw);
        }
        assert_eq!(cookie("sAccessToken=\""), [b"\"".to_vec()]);
    }

    #[test]
    fn the_search_finds_exactly_what_the_split_finds() {
        // Random headers over an alphabet rich in the bytes the rules care
        // about, with the name (and near misses) spliced in.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pieces: [&[u8]; 14] = [
            b"sAccessToken",
            b"sAccessTokenX",
            b"XsAccessToken",
            b"aa",
            b"a",
            b"=",
            b";",
            b" ",
            b"\t",
            b"\"",
            b"tok",
            b"\x0c",
            b"sAccess",
            b"Token",
        ];
        for name in ["sAccessToken", "a", "aa", "Token"] {
            let source = CookieSource::new(name);
            let finder = source.finder.as_ref().expect("a searchable name");
            for _ in 0..20_000 {
                let len = next() % 14;
                let header: Vec<u8> = (0..len)
                    .flat_map(|_| {
                        pieces[(next() % pieces.len() as u64) as usize]
                            .iter()
                            .copied()
                    })
                    .collect();
                let (mut searched, mut split) = (Tokens::none(), Tokens::none());
                search_cookies(&header, finder, &mut searched);
                split_cookies(&header, name.as_bytes(), &mut split);
                assert_eq!(
                    searched.as_slice(),
                    split.as_slice(),
                    "{name:?} in {:?}",
                    String::from_utf8_lossy(&header)
                );
            }
        }
    }

    #[test]
    fn names_that_cannot_be_searched_use_the_split() {
        assert!(CookieSource::new("").finder.is_none());
        assert!(CookieSource::new("a b").finder.is_none());
        assert!(CookieSource::new("a=b").finder.is_none());
        let headers = HeaderList::new().with("Cookie", "x=1; =anonymous; y=2");
        assert_eq!(
            CookieSource::new("").tokens(&headers).as_slice(),
            [b"anonymous"]
        );
    }
}
