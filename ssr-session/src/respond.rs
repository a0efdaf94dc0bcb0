//! The answers to requests without a usable session, rendered as plain data
//! ([`ResponseData`]) so that adapters only convert them.

use std::fmt::Write as _;

use crate::claims::ClaimValidationError;
use crate::error::{ClaimFailure, InvalidKind, InvalidToken};
use crate::outcome::{NeedsRefreshReason, Unavailable};
use crate::source::Headers;

/// An HTTP response as plain data: status, headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseData {
    /// The status code.
    pub status: u16,
    /// Header name/value pairs, in order (a name may repeat).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl ResponseData {
    /// A response with a status, a content type and a body, not to be cached.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: body.into(),
        }
    }

    /// A JSON response.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::new(status, "application/json", body.to_string())
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The 500 an adapter answers when the app forgot to provide the
    /// session configuration; `setup` names the call that fixes it.
    pub fn missing_setup(setup: &str) -> Self {
        Self::new(
            500,
            "text/plain; charset=utf-8",
            format!("ssr-session is not configured: {setup}"),
        )
    }
}

/// Whether the request is a page navigation (HTML) or a data request
/// (fetch, JSON, props routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `Accept` includes `text/html`: a browser navigation.
    Html,
    /// Anything else.
    Data,
}

impl RequestKind {
    /// `Html` when any `Accept` header includes `text/html`.
    pub fn from_headers(headers: &dyn Headers) -> Self {
        let mut html = false;
        headers.for_each_value("accept", &mut |value| {
            html |= value
                .windows(9)
                .any(|w| w.eq_ignore_ascii_case(b"text/html"));
        });
        if html { Self::Html } else { Self::Data }
    }
}

/// What a response needs to know of the request.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// Navigation or data request.
    pub kind: RequestKind,
    /// The request's path and query (`/dashboard?x=1`), for the
    /// redirect-back parameter.
    pub path_and_query: &'a str,
}

impl<'a> RequestInfo<'a> {
    /// Reads the kind from `headers`.
    pub fn new(headers: &dyn Headers, path_and_query: &'a str) -> Self {
        Self {
            kind: RequestKind::from_headers(headers),
            path_and_query,
        }
    }
}

/// Renders the answers for requests without a usable session. Implement it
/// to replace any of them; [`DefaultResponses`] is SuperTokens-compatible.
///
/// ```
/// use ssr_session::{DefaultResponses, InvalidToken, NeedsRefreshReason, Respond,
///                   RequestInfo, RequestKind, ResponseData, Unavailable};
///
/// /// Like the defaults, but sends invalid sessions to a custom page.
/// struct MyResponses(DefaultResponses);
///
/// impl Respond for MyResponses {
///     fn needs_refresh(&self, request: &RequestInfo<'_>, reason: NeedsRefreshReason) -> ResponseData {
///         self.0.needs_refresh(request, reason)
///     }
///     fn invalid(&self, request: &RequestInfo<'_>, error: &InvalidToken) -> ResponseData {
///         match request.kind {
///             RequestKind::Html => ResponseData::new(303, "text/plain", "")
///                 .with_header("location", "/signed-out"),
///             RequestKind::Data => self.0.invalid(request, error),
///         }
///     }
///     fn unavailable(&self, request: &RequestInfo<'_>, error: &Unavailable) -> ResponseData {
///         self.0.unavailable(request, error)
///     }
/// }
/// # let r = MyResponses(DefaultResponses::default());
/// # let headers = ssr_session::HeaderList::new().with("accept", "text/html");
/// # let info = RequestInfo::new(&headers, "/x");
/// # let invalid = InvalidToken::new(ssr_session::InvalidKind::BadSignature, "forged");
/// # assert_eq!(r.invalid(&info, &invalid).header("location"), Some("/signed-out"));
/// ```
pub trait Respond: Send + Sync + 'static {
    /// No token, or an expired one: make the browser refresh and retry.
    fn needs_refresh(&self, request: &RequestInfo<'_>, reason: NeedsRefreshReason) -> ResponseData;
    /// An invalid token (claim validator failures go to
    /// [`Respond::claim_validation_failed`]).
    fn invalid(&self, request: &RequestInfo<'_>, error: &InvalidToken) -> ResponseData;
    /// The key source is down.
    fn unavailable(&self, request: &RequestInfo<'_>, error: &Unavailable) -> ResponseData;
    /// Claim validators refused an otherwise valid token. Defaults to
    /// SuperTokens' `403 {"message":"invalid claim","claimValidationErrors":[…]}`.
    fn claim_validation_failed(
        &self,
        _request: &RequestInfo<'_>,
        errors: &[ClaimValidationError],
    ) -> ResponseData {
        ResponseData::json(
            403,
            &serde_json::json!({"message": "invalid claim", "claimValidationErrors": errors}),
        )
    }
}

/// SuperTokens-compatible answers.
///
/// | situation | HTML navigation | other requests |
/// |---|---|---|
/// | needs refresh | refresh bridge page (status 401 by default, configurable) | `401 {"message":"try refresh token"}` |
/// | invalid | `303` to the login URL with the redirect-back parameter, `sAccessToken` expired | `401 {"message":"unauthorised"}` |
/// | claim validator failed | `403 {"message":"invalid claim","claimValidationErrors":[…]}` | same |
/// | unavailable | `503`, `Retry-After`, a short page | `503 {"message":"session verification unavailable"}` |
///
/// All carry `Cache-Control: no-store`. The bridge page is self-contained
/// (one inline script, no external resources): it POSTs to the refresh URL
/// with `credentials: "include"` and the headers `rid: session`,
/// `fdi-version` and `st-auth-mode: cookie`, reloads the page on success,
/// and otherwise goes to the login URL with the current path and query as
/// the redirect-back parameter. A loop guard (a short-lived cookie, no server
/// state) allows at most `max_refresh_attempts` automatic refreshes within
/// `refresh_window_secs`, then goes to the login URL instead. A
/// `<noscript>` link leads to the login URL. Under a strict CSP, allow the
/// script with [`DefaultResponses::csp_nonce`] or with the hash from
/// [`DefaultResponses::bridge_script_csp_hash`].
#[derive(Debug, Clone)]
pub struct DefaultResponses {
    refresh_url: String,
    login_url: String,
    redirect_param: String,
    fdi_version: String,
    access_token_cookie: String,
    older_cookie_domain: Option<String>,
    csp_nonce: Option<String>,
    bridge_status: u16,
    max_refresh_attempts: u32,
    refresh_window_secs: u32,
    retry_after_secs: u32,
}

impl Default for DefaultResponses {
    fn default() -> Self {
        Self {
            refresh_url: "/auth/session/refresh".into(),
            login_url: "/auth".into(),
            redirect_param: "redirectToPath".into(),
            fdi_version: "1.16,1.17,1.18,1.19,2.0,3.0,3.1,4.0,4.1".into(),
            access_token_cookie: "sAccessToken".into(),
            older_cookie_domain: None,
            csp_nonce: None,
            bridge_status: 401,
            max_refresh_attempts: 2,
            refresh_window_secs: 10,
            retry_after_secs: 5,
        }
    }
}

/// The loop guard's cookie name.
pub const LOOP_GUARD_COOKIE: &str = "ssrSessionRefreshAttempts";

impl DefaultResponses {
    /// The refresh endpoint (default `/auth/session/refresh`; may be absolute, e.g. on the API domain).
    pub fn refresh_url(mut self, url: impl Into<String>) -> Self {
        self.refresh_url = url.into();
        self
    }

    /// The login page (default `/auth`).
    pub fn login_url(mut self, url: impl Into<String>) -> Self {
        self.login_url = url.into();
        self
    }

    /// The redirect-back query parameter (default `redirectToPath`).
    pub fn redirect_param(mut self, name: impl Into<String>) -> Self {
        self.redirect_param = name.into();
        self
    }

    /// The `fdi-version` header sent with the refresh call.
    pub fn fdi_version(mut self, versions: impl Into<String>) -> Self {
        self.fdi_version = versions.into();
        self
    }

    /// The access-token cookie expired on an invalid session (default `sAccessToken`).
    pub fn access_token_cookie(mut self, name: impl Into<String>) -> Self {
        self.access_token_cookie = name.into();
        self
    }

    /// A cookie domain the app used before (SuperTokens' `olderCookieDomain`):
    /// every needs-refresh and invalid answer also expires the
    /// access-token cookie on that domain. Browsers send such a leftover
    /// cookie before the current one, and the verifier lets the first
    /// token decide when none is valid, so a stale leftover would otherwise
    /// turn each expiry into a forced login (supertokens-node #826).
    pub fn older_cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.older_cookie_domain = Some(domain.into());
        self
    }

    /// Expires the access-token cookie on the older cookie domain, if one is configured.
    fn clear_older_cookie(&self, response: ResponseData) -> ResponseData {
        match &self.older_cookie_domain {
            Some(domain) => response.with_header(
                "set-cookie",
                format!(
                    "{}=; Path=/; Domain={domain}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax",
                    self.access_token_cookie
                ),
            ),
            None => response,
        }
    }

    /// A CSP nonce put on the bridge's inline script.
    pub fn csp_nonce(mut self, nonce: impl Into<String>) -> Self {
        self.csp_nonce = Some(nonce.into());
        self
    }

    /// The bridge page's status (default 401, so that crawlers, caches and
    /// monitoring never take the bridge for the page).
    pub fn bridge_status(mut self, status: u16) -> Self {
        self.bridge_status = status;
        self
    }

    /// Loop guard: automatic refreshes allowed within the window (default 2).
    pub fn max_refresh_attempts(mut self, attempts: u32) -> Self {
        self.max_refresh_attempts = attempts;
        self
    }

    /// Loop guard: the window in seconds (default 10).
    pub fn refresh_window_secs(mut self, secs: u32) -> Self {
        self.refresh_window_secs = secs.max(1);
        self
    }

    /// `Retry-After` on 503 answers (default 5 s).
    pub fn retry_after_secs(mut self, secs: u32) -> Self {
        self.retry_after_secs = secs;
        self
    }

    /// The login URL with the redirect-back parameter set to `path_and_query`.
    pub fn login_redirect(&self, path_and_query: &str) -> String {
        let separator = if self.login_url.contains('?') {
            '&'
        } else {
            '?'
        };
        let value: String =
            url::form_urlencoded::byte_serialize(path_and_query.as_bytes()).collect();
        format!(
            "{}{separator}{}={value}",
            self.login_url, self.redirect_param
        )
    }

    /// The bridge's inline script (constant for a given configuration).
    pub fn bridge_script(&self) -> String {
        let config = serde_json::json!({
            "refreshUrl": self.refresh_url,
            "loginUrl": self.login_url,
            "redirectParam": self.redirect_param,
            "fdiVersion": self.fdi_version,
            "maxAttempts": self.max_refresh_attempts,
            "windowMs": u64::from(self.refresh_window_secs) * 1000,
            "guardCookie": LOOP_GUARD_COOKIE,
        });
        // `<` escaped so that no configuration value can close the script element.
        let config = config.to_string().replace('<', "\\u003c");
        BRIDGE_SCRIPT.replace("CONFIG", &config)
    }

    /// `'sha256-…'`, for a `script-src` CSP that allows the bridge by hash.
    pub fn bridge_script_csp_hash(&self) -> String {
        use base64::Engine as _;
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.bridge_script().as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        )
    }

    fn bridge_page(&self, path_and_query: &str) -> String {
        let mut page = String::with_capacity(2048);
        let login = html_escape(&self.login_redirect(path_and_query));
        let nonce = self
            .csp_nonce
            .as_deref()
            .map(|n| format!(" nonce=\"{}\"", html_escape(n)))
            .unwrap_or_default();
        let _ = write!(
            page,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"robots\" content=\"noindex\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>Refreshing your session…</title></head>\n<body>\
             <p id=\"ssr-session-status\">Refreshing your session…</p>\n\
             <noscript><p>Your session needs to be renewed. \
             <a id=\"ssr-session-login\" href=\"{login}\">Sign in again</a></p></noscript>\n\
             <script{nonce}>{}</script>\n</body></html>\n",
            self.bridge_script()
        );
        page
    }
}

const BRIDGE_SCRIPT: &str = r#"(function () {
  var c = CONFIG;
  var here = location.pathname + location.search;
  function toLogin() {
    var u = new URL(c.loginUrl, location.href);
    u.searchParams.set(c.redirectParam, here);
    location.replace(u.toString());
  }
  var now = Date.now(), count = 0, first = now;
  var m = document.cookie.match(new RegExp("(?:^|; )" + c.guardCookie + "=(\\d+)-(\\d+)"));
  if (m && now - Number(m[2]) < c.windowMs) { count = Number(m[1]); first = Number(m[2]); }
  if (count >= c.maxAttempts) {
    document.cookie = c.guardCookie + "=; path=/; max-age=0; samesite=lax";
    toLogin();
    return;
  }
  var left = Math.max(1, Math.ceil((c.windowMs - (now - first)) / 1000));
  document.cookie = c.guardCookie + "=" + (count + 1) + "-" + first + "; path=/; max-age=" + left + "; samesite=lax";
  fetch(c.refreshUrl, {
    method: "POST",
    credentials: "include",
    headers: { "rid": "session", "fdi-version": c.fdiVersion, "st-auth-mode": "cookie" }
  }).then(function (r) { if (r.ok) { location.reload(); } else { toLogin(); } }, toLogin);
})();"#;

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

impl Respond for DefaultResponses {
    fn needs_refresh(
        &self,
        request: &RequestInfo<'_>,
        _reason: NeedsRefreshReason,
    ) -> ResponseData {
        let response = match request.kind {
            RequestKind::Html => ResponseData::new(
                self.bridge_status,
                "text/html; charset=utf-8",
                self.bridge_page(request.path_and_query),
            ),
            RequestKind::Data => {
                ResponseData::json(401, &serde_json::json!({"message": "try refresh token"}))
            }
        };
        self.clear_older_cookie(response)
    }

    fn invalid(&self, request: &RequestInfo<'_>, _error: &InvalidToken) -> ResponseData {
        let response = match request.kind {
            RequestKind::Html => ResponseData::new(303, "text/plain; charset=utf-8", "")
                .with_header("location", self.login_redirect(request.path_and_query))
                .with_header(
                    "set-cookie",
                    format!(
                        "{}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax",
                        self.access_token_cookie
                    ),
                ),
            RequestKind::Data => {
                ResponseData::json(401, &serde_json::json!({"message": "unauthorised"}))
            }
        };
        self.clear_older_cookie(response)
    }

    fn unavailable(&self, request: &RequestInfo<'_>, _error: &Unavailable) -> ResponseData {
        let response = match request.kind {
            RequestKind::Html => ResponseData::new(
                503,
                "text/html; charset=utf-8",
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>Temporarily unavailable</title></head><body>\
                 <p>We cannot check your session right now. Please try again in a moment.</p>\
                 </body></html>\n",
            ),
            RequestKind::Data => ResponseData::json(
                503,
                &serde_json::json!({"message": "session verification unavailable"}),
            ),
        };
        response.with_header("retry-after", self.retry_after_secs.to_string())
    }
}

/// Picks the [`Respond`] method for an outcome that is not valid.
pub(crate) fn render(
    responses: &dyn Respond,
    request: &RequestInfo<'_>,
    outcome: Rejected<'_>,
) -> ResponseData {
    match outcome {
        Rejected::NeedsRefresh(reason) => responses.needs_refresh(request, reason),
        Rejected::Invalid(error) => match error.kind() {
            InvalidKind::Claim(ClaimFailure::Validators(errors)) => {
                responses.claim_validation_failed(request, errors)
            }
            _ => responses.invalid(request, error),
        },
        Rejected::Unavailable(error) => responses.unavailable(request, error),
    }
}

/// A non-valid outcome, borrowed.
pub(crate) enum Rejected<'a> {
    NeedsRefresh(NeedsRefreshReason),
    Invalid(&'a InvalidToken),
    Unavailable(&'a Unavailable),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::InvalidKind;
    use crate::source::HeaderList;

    fn html() -> HeaderList {
        HeaderList::new().with("accept", "text/html")
    }

    const PATH: &str = "/dashboard?x=1&y=%2F";

    #[test]
    fn login_redirect_keeps_path_and_query() {
        let responses = DefaultResponses::default();
        assert_eq!(
            responses.login_redirect("/dashboard?x=1"),
            "/auth?redirectToPath=%2Fdashboard%3Fx%3D1"
        );
        let custom = DefaultResponses::default()
            .login_url("/login?next=1")
            .redirect_param("to");
        assert_eq!(custom.login_redirect("/a"), "/login?next=1&to=%2Fa");
    }

    #[test]
    fn bridge_is_self_contained_and_escapes_its_configuration() {
        let responses = DefaultResponses::default()
            .refresh_url("/r</script><script>alert(1)</script>")
            .csp_nonce("n\"onerror=\"x");
        let headers = html();
        let request = RequestInfo::new(&headers, PATH);
        let page = responses.needs_refresh(&request, NeedsRefreshReason::Expired);
        let body = String::from_utf8(page.body.clone()).unwrap();
        assert_eq!(page.status, 401);
        assert_eq!(body.matches("<script").count(), 1, "{body}");
        assert!(!body.contains("src="));
        assert!(body.contains("nonce=\"n&quot;onerror=&quot;x\""), "{body}");
        assert!(body.contains("<noscript>"));
        assert!(body.contains("href=\"/auth?redirectToPath=%2Fdashboard%3Fx%3D1%26y%3D%252F\""));
        assert_eq!(page.header("cache-control"), Some("no-store"));
    }

    #[test]
    fn csp_hash_matches_the_inline_script() {
        use base64::Engine as _;
        let responses = DefaultResponses::default();
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            responses.bridge_script().as_bytes(),
        );
        let expected = format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        );
        assert_eq!(responses.bridge_script_csp_hash(), expected);
    }

    #[test]
    fn older_cookie_domain_is_expired_on_refresh_and_invalid_answers() {
        let responses = DefaultResponses::default().older_cookie_domain("example.com");
        let invalid = InvalidToken::new(InvalidKind::BadSignature, "x");
        for headers in [html(), HeaderList::new()] {
            let request = RequestInfo::new(&headers, PATH);
            for response in [
                responses.needs_refresh(&request, NeedsRefreshReason::Expired),
                responses.invalid(&request, &invalid),
            ] {
                let older = response.headers.iter().any(|(k, v)| {
                    k == "set-cookie"
                        && v.starts_with("sAccessToken=;")
                        && v.contains("Domain=example.com")
                        && v.contains("Max-Age=0")
                });
                assert!(older, "{:?}", response.headers);
            }
        }
        let headers = html();
        let plain = DefaultResponses::default().needs_refresh(
            &RequestInfo::new(&headers, PATH),
            NeedsRefreshReason::Expired,
        );
        assert!(plain.header("set-cookie").is_none());
    }

    #[test]
    fn request_kind_follows_accept() {
        for (accept, kind) in [
            ("text/html,application/xhtml+xml", RequestKind::Html),
            ("TEXT/HTML", RequestKind::Html),
            ("application/json", RequestKind::Data),
            ("*/*", RequestKind::Data),
        ] {
            let headers = HeaderList::new().with("accept", accept);
            assert_eq!(RequestKind::from_headers(&headers), kind, "{accept}");
        }
        assert_eq!(
            RequestKind::from_headers(&HeaderList::new()),
            RequestKind::Data
        );
    }
}
