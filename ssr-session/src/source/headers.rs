//! [`Headers`]: the framework-neutral view of a request's headers that
//! sources, the forgery checks and the responses read, and [`HeaderList`].

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

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(headers: &'a dyn Headers, name: &str) -> Vec<&'a [u8]> {
        let mut seen = Vec::new();
        headers.for_each_value(name, &mut |value| seen.push(value));
        seen
    }

    #[test]
    fn http_header_map_is_a_view() {
        let mut map = http::HeaderMap::new();
        map.append("cookie", "sAccessToken=one".parse().unwrap());
        map.append("cookie", "sAccessToken=two".parse().unwrap());
        map.append("x-access-token", "tok".parse().unwrap());
        assert_eq!(
            values(&map, "cookie"),
            [b"sAccessToken=one".as_slice(), b"sAccessToken=two"]
        );
        assert_eq!(values(&map, "x-access-token"), [b"tok"]);
        assert!(values(&map, "authorization").is_empty());
    }

    #[test]
    fn header_list_names_match_in_any_case() {
        let list = HeaderList::new()
            .with("Cookie", "a=1")
            .with("X-Other", "x")
            .with("COOKIE", "b=2");
        assert_eq!(values(&list, "cookie"), [b"a=1".as_slice(), b"b=2"]);
        assert!(values(&list, "authorization").is_empty());
    }
}
