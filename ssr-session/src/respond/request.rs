//! What a response needs to know of the request: [`RequestInfo`].

use crate::source::Headers;

/// What kind of request is being answered without a session.
///
/// Decided by the `Accept` header and the method: a request whose
/// `Accept` includes `text/html` comes from a browser's navigation; it is a
/// [`Page`](Self::Page) for `GET` and `HEAD`, and a
/// [`Submission`](Self::Submission) for any other method (a form post).
/// Everything else is [`Data`](Self::Data) (fetch, JSON, props routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestKind {
    /// A `GET`/`HEAD` navigation that accepts HTML: safe to reload.
    Page,
    /// A navigation with another method (a form post) that accepts HTML:
    /// never to be reloaded, which would submit it again.
    Submission,
    /// Anything else.
    Data,
}

impl RequestKind {
    /// The kind of a request with these headers and this method.
    pub fn of(headers: &dyn Headers, method: &str) -> Self {
        if !accepts_html(headers) {
            Self::Data
        } else if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
            Self::Page
        } else {
            Self::Submission
        }
    }

    /// `true` for [`Page`](Self::Page) and [`Submission`](Self::Submission).
    pub fn is_navigation(self) -> bool {
        matches!(self, Self::Page | Self::Submission)
    }
}

/// `true` when any `Accept` header includes `text/html`.
fn accepts_html(headers: &dyn Headers) -> bool {
    let mut html = false;
    headers.for_each_value("accept", &mut |value| {
        html |= value
            .windows(9)
            .any(|w| w.eq_ignore_ascii_case(b"text/html"));
    });
    html
}

/// What a response needs to know of the request.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// Page, submission or data request.
    pub kind: RequestKind,
    /// The request's path and query as the browser sent it
    /// (`/account/settings?x=1`, prefixes of nested routers included), for
    /// the redirect-back parameter.
    pub path_and_query: &'a str,
}

impl<'a> RequestInfo<'a> {
    /// Reads the kind from `headers` and `method`.
    pub fn new(headers: &dyn Headers, method: &str, path_and_query: &'a str) -> Self {
        Self {
            kind: RequestKind::of(headers, method),
            path_and_query,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::HeaderList;

    #[test]
    fn kind_follows_accept_and_method() {
        for (accept, method, kind) in [
            ("text/html,application/xhtml+xml", "GET", RequestKind::Page),
            ("TEXT/HTML", "HEAD", RequestKind::Page),
            ("text/html", "POST", RequestKind::Submission),
            ("text/html", "put", RequestKind::Submission),
            ("application/json", "GET", RequestKind::Data),
            ("application/json", "POST", RequestKind::Data),
            ("*/*", "GET", RequestKind::Data),
        ] {
            let headers = HeaderList::new().with("accept", accept);
            assert_eq!(RequestKind::of(&headers, method), kind, "{accept} {method}");
        }
        assert_eq!(
            RequestKind::of(&HeaderList::new(), "GET"),
            RequestKind::Data
        );
    }
}
