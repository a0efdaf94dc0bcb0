//! [`SourceChain`]: several sources in order, the first that finds a
//! token deciding.

use super::{BearerSource, CookieSource, Headers, TokenSource, Tokens};

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
    use crate::source::HeaderList;

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
}
