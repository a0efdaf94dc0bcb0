//! Where a request's access token comes from: [`TokenSource`] and the
//! built-in sources (cookie, bearer header, named header, ordered chain).
//!
//! Sources work on [`Headers`], a tiny framework-neutral view of a request's
//! headers, so that every framework's adapter can feed them in a few lines
//! whatever `http` version it uses.

/// How many tokens of one source are tried at most (several `sAccessToken`
/// cookies arrive after a cookie-domain change).
pub const MAX_TOKENS_PER_REQUEST: usize = 4;

/// A read-only view of a request's headers.
///
/// Implemented for [`http::HeaderMap`] (http 1.x) and [`HeaderList`]; an
/// adapter whose framework uses other types implements it in a few lines.
///
/// ```
/// use ssr_session::source::Headers;
///
/// struct Pairs(Vec<(String, String)>);
///
/// impl Headers for Pairs {
///     fn for_each_value<'a>(&'a self, name: &str, each: &mut dyn FnMut(&'a [u8])) {
///         self.0
///             .iter()
///             .filter(|(key, _)| key.eq_ignore_ascii_case(name))
///             .for_each(|(_, value)| each(value.as_bytes()));
///     }
/// }
/// # let pairs = Pairs(vec![("Cookie".into(), "a=b".into())]);
/// # let mut seen = Vec::new();
/// # pairs.for_each_value("cookie", &mut |v| seen.push(v));
/// # assert_eq!(seen, [b"a=b"]);
/// ```
pub trait Headers {
    /// Calls `each` with every value of the header `name` (given in ASCII
    /// lower case; match it case-insensitively), in the order received.
    fn for_each_value<'a>(&'a self, name: &str, each: &mut dyn FnMut(&'a [u8]));
}

impl Headers for http::HeaderMap {
    fn for_each_value<'a>(&'a self, name: &str, each: &mut dyn FnMut(&'a [u8])) {
        use http::header;
        // The names asked on every request, as constants: looking up by
        // `&str` parses the name each time.
        let values = match name {
            "cookie" => self.get_all(header::COOKIE),
            "authorization" => self.get_all(header::AUTHORIZATION),
            "accept" => self.get_all(header::ACCEPT),
            other => self.get_all(other),
        };
        for value in values {
            each(value.as_bytes());
        }
    }
}

/// An owned list of header name/value pairs, for tools and tests.
#[derive(Debug, Clone, Default)]
pub struct HeaderList {
    pairs: Vec<(String, Vec<u8>)>,
}

impl HeaderList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one header (names are matched case-insensitively).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.push(name, value);
        self
    }

    /// Adds one header in place.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.pairs.push((name.into(), value.into()));
    }
}

impl Headers for HeaderList {
    fn for_each_value<'a>(&'a self, name: &str, each: &mut dyn FnMut(&'a [u8])) {
        for (key, value) in &self.pairs {
            if key.eq_ignore_ascii_case(name) {
                each(value);
            }
        }
    }
}

/// How a token reached the server, which decides whether a cross-origin
/// request could have sent it without the user's intent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenCarrier {
    /// A credential the browser attaches by itself to every request to the
    /// site (a cookie), so a page of another origin can make the browser
    /// send it: subject to cross-site request forgery checks. The default
    /// for a source that does not say otherwise.
    #[default]
    Cookie,
    /// A header the page's own script must set (`Authorization`, a custom
    /// header): a page of another origin cannot make the browser send it
    /// without the app's CORS consent, so forgery checks do not apply.
    Header,
}

/// The tokens a source found in one request, in the order to try them,
/// and how they were carried.
#[derive(Clone, Copy, Default)]
pub struct Tokens<'h> {
    found: [&'h [u8]; MAX_TOKENS_PER_REQUEST],
    len: usize,
    carrier: TokenCarrier,
}

impl<'h> Tokens<'h> {
    /// No token.
    pub fn none() -> Self {
        Self::default()
    }

    /// Exactly one token.
    pub fn one(token: &'h [u8]) -> Self {
        let mut tokens = Self::none();
        tokens.push(token);
        tokens
    }

    /// Adds a token; beyond [`MAX_TOKENS_PER_REQUEST`] the rest are dropped.
    /// Returns `false` once full.
    pub fn push(&mut self, token: &'h [u8]) -> bool {
        if self.len == MAX_TOKENS_PER_REQUEST {
            return false;
        }
        self.found[self.len] = token;
        self.len += 1;
        true
    }

    /// `true` when no token was found.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many tokens were found.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The tokens, in order.
    pub fn as_slice(&self) -> &[&'h [u8]] {
        &self.found[..self.len]
    }

    /// How the tokens were carried ([`TokenCarrier::Cookie`] unless the
    /// source said otherwise with [`carried_by`](Self::carried_by)).
    pub fn carrier(&self) -> TokenCarrier {
        self.carrier
    }

    /// The same tokens, carried by `carrier`. A source reading a header
    /// that a page's script must set says [`TokenCarrier::Header`]; one
    /// reading anything the browser sends by itself leaves the default.
    pub fn carried_by(mut self, carrier: TokenCarrier) -> Self {
        self.carrier = carrier;
        self
    }
}

impl std::fmt::Debug for Tokens<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.as_slice()
                    .iter()
                    .map(|t| crate::redact::Fingerprint(t)),
            )
            .finish()
    }
}

/// Where a request's access token comes from.
///
/// A source never judges a token; it only finds it. Returning several
/// tokens means "try these in order" (duplicate cookies). A source that
/// reads a header a page's script must set (never one the browser attaches
/// by itself) marks its tokens [`TokenCarrier::Header`], which exempts them
/// from the cross-origin checks ([`CsrfProtection`](crate::CsrfProtection));
/// unmarked tokens are checked as cookies are, the safe side.
///
/// ```
/// use ssr_session::{source::Headers, source::HeaderList, TokenSource, source::Tokens};
///
/// /// Reads the token from `X-Session`, for an app behind a proxy that moves it there.
/// struct ProxyHeader;
///
/// impl TokenSource for ProxyHeader {
///     fn tokens<'h>(&self, headers: &'h dyn Headers) -> Tokens<'h> {
///         let mut tokens = Tokens::none();
///         headers.for_each_value("x-session", &mut |value| {
///             if tokens.is_empty() && !value.trim_ascii().is_empty() {
///                 tokens.push(value.trim_ascii());
///             }
///         });
///         tokens
///     }
/// }
///
/// let headers = HeaderList::new().with("X-Session", "abc");
/// assert_eq!(ProxyHeader.tokens(&headers).as_slice(), [b"abc"]);
/// // Not marked as header-borne: treated as a cookie would be (forgery checks apply).
/// assert_eq!(ProxyHeader.tokens(&headers).carrier(), ssr_session::source::TokenCarrier::Cookie);
/// ```
pub trait TokenSource: Send + Sync + 'static {
    /// The tokens this source finds in `headers` (none, one, or several to try in order).
    fn tokens<'h>(&self, headers: &'h dyn Headers) -> Tokens<'h>;
}

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

/// The access token as the whole value of a named header (trimmed; empty
/// counts as none; only the first such header counts).
#[derive(Debug, Clone)]
pub struct HeaderSource {
    name: String,
}

impl HeaderSource {
    /// A source reading the header `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into().to_ascii_lowercase(),
        }
    }
}

impl TokenSource for HeaderSource {
    fn tokens<'h>(&self, headers: &'h dyn Headers) -> Tokens<'h> {
        let mut first: Option<&'h [u8]> = None;
        headers.for_each_value(&self.name, &mut |value| {
            first.get_or_insert(value);
        });
        match first.map(<[u8]>::trim_ascii) {
            Some(token) if !token.is_empty() => Tokens::one(token),
            _ => Tokens::none(),
        }
        .carried_by(TokenCarrier::Header)
    }
}

/// Several sources in order: the first one that finds a token decides, even
/// when that token later turns out bad (there is no fallback after a
/// failure, so a forged cookie cannot be rescued by a header, or the reverse).
pub struct SourceChain {
    sources: Vec<Box<dyn TokenSource>>,
}

impl SourceChain {
    /// A chain of the given sources, tried in order.
    pub fn new(sources: Vec<Box<dyn TokenSource>>) -> Self {
        Self { sources }
    }

    /// SuperTokens' default: the `sAccessToken` cookie, then `Authorization: Bearer`.
    pub fn supertokens() -> Self {
        Self::new(vec![
            Box::new(CookieSource::default()),
            Box::new(BearerSource),
        ])
    }
}

impl Default for SourceChain {
    fn default() -> Self {
        Self::supertokens()
    }
}

impl std::fmt::Debug for SourceChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceChain")
            .field("sources", &self.sources.len())
            .finish()
    }
}

impl TokenSource for SourceChain {
    fn tokens<'h>(&self, headers: &'h dyn Headers) -> Tokens<'h> {
        self.sources
            .iter()
            .map(|source| source.tokens(headers))
            .find(|tokens| !tokens.is_empty())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie(raw: &str) -> Vec<Vec<u8>> {
        let headers = HeaderList::new().with("Cookie", raw);
        CookieSource::default()
            .tokens(&headers)
            .as_slice()
            .iter()
            .map(|t| t.to_vec())
            .collect()
    }

    fn bearer(raw: &str) -> Option<Vec<u8>> {
        let headers = HeaderList::new().with("Authorization", raw);
        BearerSource
            .tokens(&headers)
            .as_slice()
            .first()
            .map(|t| t.to_vec())
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

    #[test]
    fn chain_prefers_the_cookie_even_when_a_header_exists() {
        let headers = HeaderList::new()
            .with("Authorization", "Bearer from-header")
            .with("Cookie", "sAccessToken=from-cookie");
        assert_eq!(
            SourceChain::supertokens().tokens(&headers).as_slice(),
            [b"from-cookie"]
        );
        let header_only = HeaderList::new().with("Authorization", "Bearer from-header");
        assert_eq!(
            SourceChain::supertokens().tokens(&header_only).as_slice(),
            [b"from-header"]
        );
        let empty_cookie = HeaderList::new()
            .with("Cookie", "sAccessToken=")
            .with("Authorization", "Bearer from-header");
        assert_eq!(
            SourceChain::supertokens().tokens(&empty_cookie).as_slice(),
            [b"from-header"]
        );
    }

    #[test]
    fn named_header_is_trimmed() {
        let headers = HeaderList::new().with("X-Access-Token", "  tok ");
        assert_eq!(
            HeaderSource::new("X-Access-Token")
                .tokens(&headers)
                .as_slice(),
            [b"tok"]
        );
        let blank = HeaderList::new().with("X-Access-Token", "  ");
        assert!(
            HeaderSource::new("x-access-token")
                .tokens(&blank)
                .is_empty()
        );
    }

    #[test]
    fn http_header_map_is_a_view() {
        let mut map = http::HeaderMap::new();
        map.append("cookie", "sAccessToken=one".parse().unwrap());
        map.append("cookie", "sAccessToken=two".parse().unwrap());
        assert_eq!(
            CookieSource::default().tokens(&map).as_slice(),
            [b"one", b"two"]
        );
    }
}
