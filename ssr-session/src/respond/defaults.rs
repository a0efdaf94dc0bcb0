//! [`DefaultResponses`]: SuperTokens-compatible answers, and the refresh
//! bridge page.

use std::fmt::Write as _;

use super::{RequestInfo, RequestKind, Respond, ResponseData, invalid_claim_body};
use crate::error::InvalidToken;
use crate::outcome::{NeedsRefreshReason, Unavailable};
use crate::requirement::RequirementFailure;

/// SuperTokens-compatible answers.
///
/// | situation | HTML navigation ([`RequestKind::Page`] / [`RequestKind::Submission`]) | other requests ([`RequestKind::Data`]) |
/// |---|---|---|
/// | needs refresh | refresh bridge page (status 401 by default, configurable) | `401 {"message":"try refresh token"}` |
/// | invalid (revoked included) | `303` to the login URL with the redirect-back parameter, `sAccessToken` expired | `401 {"message":"unauthorised"}` |
/// | requirement failed | `403 {"message":"invalid claim","claimValidationErrors":[…]}` | same |
/// | unavailable | `503`, `Retry-After`, a short page | `503 {"message":"session verification unavailable"}` |
///
/// A navigation is a request whose `Accept` includes `text/html`. All
/// answers carry `Cache-Control: no-store`. The bridge page is
/// self-contained (one inline script, no external resources): it POSTs to
/// the refresh URL with `credentials: "include"` and the headers
/// `rid: session`, `fdi-version` and `st-auth-mode: cookie`; on success it
/// reloads a page, and for a submission (a form post, which a reload would
/// post again) goes back to the same-origin page the form was on instead;
/// otherwise it goes to the login URL with the current path and query as
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
        let digest = crate::backend::sha256(self.bridge_script().as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        )
    }

    fn bridge_page(&self, path_and_query: &str, resume: &str) -> String {
        let mut page = String::with_capacity(2048);
        let login = html_escape(&self.login_redirect(path_and_query));
        let nonce = self
            .csp_nonce
            .as_deref()
            .map(|n| format!(" nonce=\"{}\"", html_escape(n)))
            .unwrap_or_default();
        let _ = write!(
            page,
            "<!doctype html>\n<html lang=\"en\" data-ssr-session-resume=\"{resume}\"><head><meta charset=\"utf-8\">\
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

/// The bridge's script, with `CONFIG` standing for its configuration.
const BRIDGE_SCRIPT: &str = include_str!("bridge.js");

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
    /// A navigation gets a short 403 page carrying the same JSON (in a
    /// `<script type="application/json" id="ssr-session-invalid-claim">`);
    /// any other request gets the JSON.
    fn claim_validation_failed(
        &self,
        request: &RequestInfo<'_>,
        errors: &[RequirementFailure],
    ) -> ResponseData {
        let json = invalid_claim_body(errors);
        if !request.kind.is_navigation() {
            return ResponseData::new(403, "application/json", json);
        }
        // `<` escaped so that no claim value can close the script element.
        let json = String::from_utf8_lossy(&json).replace('<', "\\u003c");
        let page = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"robots\" content=\"noindex\"><title>Not allowed</title></head>\n<body>\
             <h1>Not allowed</h1><p id=\"ssr-session-refused\">Your session does not allow this page.</p>\n\
             <script type=\"application/json\" id=\"ssr-session-invalid-claim\">{json}</script>\n\
             </body></html>\n"
        );
        ResponseData::new(403, "text/html; charset=utf-8", page)
    }

    fn needs_refresh(
        &self,
        request: &RequestInfo<'_>,
        _reason: NeedsRefreshReason,
    ) -> ResponseData {
        let resume = match request.kind {
            RequestKind::Data => {
                let response =
                    ResponseData::json(401, &serde_json::json!({"message": "try refresh token"}));
                return self.clear_older_cookie(response);
            }
            RequestKind::Submission => "back",
            RequestKind::Page => "reload",
        };
        let response = ResponseData::new(
            self.bridge_status,
            "text/html; charset=utf-8",
            self.bridge_page(request.path_and_query, resume),
        );
        self.clear_older_cookie(response)
    }

    fn invalid(&self, request: &RequestInfo<'_>, _error: &InvalidToken) -> ResponseData {
        let response = match request.kind {
            RequestKind::Page | RequestKind::Submission => ResponseData::new(303, "text/plain; charset=utf-8", "")
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
            RequestKind::Page | RequestKind::Submission => ResponseData::new(
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
        let request = RequestInfo::new(&headers, "GET", PATH);
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
        let digest = crate::backend::sha256(responses.bridge_script().as_bytes());
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
            let request = RequestInfo::new(&headers, "GET", PATH);
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
            &RequestInfo::new(&headers, "GET", PATH),
            NeedsRefreshReason::Expired,
        );
        assert!(plain.header("set-cookie").is_none());
    }

    #[test]
    fn a_submission_is_never_reloaded() {
        let responses = DefaultResponses::default();
        let headers = html();
        let page = |method| {
            let response = responses.needs_refresh(
                &RequestInfo::new(&headers, method, PATH),
                NeedsRefreshReason::Expired,
            );
            String::from_utf8(response.body).unwrap()
        };
        assert!(page("GET").contains("data-ssr-session-resume=\"reload\""));
        assert!(page("POST").contains("data-ssr-session-resume=\"back\""));
        // One script for both, so one CSP hash covers both.
        let script = |body: String| body.split("<script>").nth(1).map(str::to_owned);
        assert_eq!(script(page("GET")), script(page("POST")));
        let json = HeaderList::new().with("accept", "application/json");
        let data = responses.needs_refresh(
            &RequestInfo::new(&json, "POST", PATH),
            NeedsRefreshReason::Expired,
        );
        assert_eq!(data.body, br#"{"message":"try refresh token"}"#);
    }
}
