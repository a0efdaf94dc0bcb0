//! [`HeaderSource`]: the access token as the whole value of a named header.

use super::{Headers, TokenCarrier, TokenSource, Tokens};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::HeaderList;

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
}
