//! Where a request's access token comes from: [`TokenSource`] and the
//! built-in sources (cookie, bearer header, named header, ordered chain).
//!
//! Sources work on [`Headers`], a tiny framework-neutral view of a request's
//! headers, so that every framework's adapter can feed them in a few lines
//! whatever `http` version it uses.
//!
//! One file a job: the header view (`headers`), the source trait and what
//! it returns (here), and one file per built-in source (`cookie`, `bearer`,
//! `named_header`, `chain`).

mod bearer;
mod chain;
mod cookie;
mod headers;
mod named_header;

pub use self::bearer::BearerSource;
pub use self::chain::SourceChain;
pub use self::cookie::CookieSource;
pub use self::headers::{HeaderList, Headers};
pub use self::named_header::HeaderSource;

/// How many tokens of one source are tried at most (several `sAccessToken`
/// cookies arrive after a cookie-domain change).
pub const MAX_TOKENS_PER_REQUEST: usize = 4;

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
