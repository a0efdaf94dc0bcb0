//! Cross-site request forgery: which requests carrying a cookie session are
//! refused as forged ([`CsrfProtection`], [`AntiCsrf`]).
//!
//! A browser attaches cookies to requests that another origin's page
//! makes it send (a form that submits itself, a `no-cors` fetch), and
//! `SameSite=Lax` stops none of them within one site. So an unsafe request
//! whose token came from a cookie is refused unless the browser says it
//! came from the app's own origin. The rule is Go 1.25's
//! `http.CrossOriginProtection`; SuperTokens' anti-CSRF modes
//! (supertokens-node's `antiCsrf` setting) can be required on top.

use std::borrow::Cow;

use crate::error::{ClaimFailure, ConfigError, InvalidKind, InvalidToken};
use crate::outcome::SessionOutcome;
use crate::source::{Headers, TokenCarrier};

/// SuperTokens' anti-CSRF modes, checked as supertokens-node 24 checks them
/// (`getSessionFromRequest`): on every method but `GET`, only for a token
/// from a cookie, never for a request without a token (nor for one whose
/// token is not a SuperTokens access token at all: it does not parse, or
/// lacks the session claims; supertokens-node ignores such a token, and it
/// is refused as invalid). A failed check is
/// answered as supertokens-node answers it to a data request,
/// `401 {"message":"try refresh token"}`; a navigation gets a 403 page.
///
/// supertokens-node's default is [`None`](Self::None) when its
/// `cookieSameSite` resolves to `lax` or `strict` (website and API on one
/// site and scheme) and [`ViaCustomHeader`](Self::ViaCustomHeader) when it
/// resolves to `none`; this crate's default is `None`, with the origin
/// check of [`CsrfProtection`] on in every case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AntiCsrf {
    /// No SuperTokens check (`NONE`).
    #[default]
    None,
    /// The `rid` header must be present (`VIA_CUSTOM_HEADER`): a page of
    /// another origin cannot set it without the app's CORS consent. The
    /// SuperTokens frontend SDKs send `rid` on every request they make;
    /// a plain HTML form or a script without the SDK does not, so such
    /// requests are refused.
    ViaCustomHeader,
    /// The `anti-csrf` header must equal the token's `antiCsrfToken`
    /// claim (`VIA_TOKEN`), which the frontend SDK keeps from the sign-in
    /// or refresh response. A token without that claim fails.
    ViaToken,
}

impl AntiCsrf {
    /// `NONE`, `VIA_CUSTOM_HEADER` or `VIA_TOKEN`: supertokens-node's names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::ViaCustomHeader => "VIA_CUSTOM_HEADER",
            Self::ViaToken => "VIA_TOKEN",
        }
    }
}

/// Which unsafe requests carrying a cookie session are refused as forged.
///
/// The default, on for every [`SessionConfig`](crate::SessionConfig):
/// a request with a method other than `GET`, `HEAD` or `OPTIONS` whose
/// token came from a cookie ([`TokenCarrier::Cookie`]) is refused
/// (invalid, kind [`CrossOrigin`](InvalidKind::CrossOrigin)) unless
///
/// 1. its `Sec-Fetch-Site` is `same-origin` or `none` (every current
///    browser sends it), or
/// 2. without `Sec-Fetch-Site`, its `Origin` is the app's own origin: a
///    configured [`public_origin`](Self::public_origin), or else the
///    request's `Host` (`Origin: null` is never the app's), or
/// 3. its `Origin` is a [`trusted_origin`](Self::trusted_origin), or
/// 4. it has neither header: it does not come from a browser, which
///    cannot be made to omit both.
///
/// A token from the `Authorization` header (or any source marking its
/// tokens [`TokenCarrier::Header`]) is never refused by this rule: a page of
/// another origin cannot make a browser send that header. A request without
/// a token is not refused either: it carries no session to abuse.
///
/// ```
/// use ssr_session::{csrf::AntiCsrf, CsrfProtection};
///
/// // Behind a proxy that rewrites `Host`: say how browsers reach the app,
/// // and trust the admin app on another origin of the same site.
/// let csrf = CsrfProtection::default()
///     .public_origin("https://shop.example.com")?
///     .trusted_origin("https://admin.example.com")?
///     .anti_csrf(AntiCsrf::ViaCustomHeader);
/// assert_eq!(csrf.anti_csrf_mode(), AntiCsrf::ViaCustomHeader);
/// assert!(CsrfProtection::default().public_origin("https://shop.example.com/path").is_err());
/// # Ok::<(), ssr_session::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CsrfProtection {
    check_origin: bool,
    public_origins: Vec<Box<str>>,
    trusted_origins: Vec<Box<str>>,
    anti_csrf: AntiCsrf,
}

impl Default for CsrfProtection {
    fn default() -> Self {
        Self {
            check_origin: true,
            public_origins: Vec::new(),
            trusted_origins: Vec::new(),
            anti_csrf: AntiCsrf::None,
        }
    }
}

impl CsrfProtection {
    /// No origin check and no anti-CSRF mode: every cookie session is
    /// accepted whatever page sent the request. Only for an app that
    /// protects itself otherwise (a CSRF token of its own on every form);
    /// the name says what it costs.
    pub fn dangerously_disabled() -> Self {
        Self {
            check_origin: false,
            ..Self::default()
        }
    }

    /// An origin the app is reached at (`https://app.example.com`), to
    /// compare `Origin` with instead of the request's `Host`: set it when a
    /// proxy in front of the app rewrites `Host`. May be given several
    /// times (several public names).
    ///
    /// # Errors
    /// [`ConfigError`] when `origin` is not a bare `http`/`https` origin
    /// (scheme, host and optional port; no path, query or user).
    pub fn public_origin(mut self, origin: &str) -> Result<Self, ConfigError> {
        self.public_origins.push(parse_origin(origin)?);
        Ok(self)
    }

    /// An origin whose pages may send unsafe requests with the session
    /// cookie (another app of the same site that posts to this one).
    ///
    /// # Errors
    /// As [`public_origin`](Self::public_origin).
    pub fn trusted_origin(mut self, origin: &str) -> Result<Self, ConfigError> {
        self.trusted_origins.push(parse_origin(origin)?);
        Ok(self)
    }

    /// Requires one of SuperTokens' anti-CSRF modes besides the origin
    /// check (default [`AntiCsrf::None`]).
    pub fn anti_csrf(mut self, mode: AntiCsrf) -> Self {
        self.anti_csrf = mode;
        self
    }

    /// The SuperTokens anti-CSRF mode required.
    pub fn anti_csrf_mode(&self) -> AntiCsrf {
        self.anti_csrf
    }

    /// `false` only for [`dangerously_disabled`](Self::dangerously_disabled).
    pub fn checks_origin(&self) -> bool {
        self.check_origin
    }

    /// Why this request must be refused as forged, if it must.
    ///
    /// `carrier` tells how the request's token was carried; it is asked
    /// only for a request that looks forged, or when an anti-CSRF mode is
    /// required, so a `GET` or a same-origin request never pays for it.
    pub(crate) fn rejection<C>(
        &self,
        request: &ForgeryView<'_>,
        outcome: &SessionOutcome<C>,
        carrier: impl FnOnce() -> Option<TokenCarrier>,
    ) -> Option<InvalidToken> {
        if request.method.eq_ignore_ascii_case("GET") || outcome.is_missing() {
            return None;
        }
        let mut carrier = Lazy::new(carrier);
        if self.check_origin
            && !is_safe_method(request.method)
            && let Some(why) = self.cross_origin(request)
            && carrier.is_cookie()
        {
            return Some(InvalidToken::new(InvalidKind::CrossOrigin, why));
        }
        if !looks_like_a_session(outcome) {
            return None;
        }
        let why = match self.anti_csrf {
            AntiCsrf::None => return None,
            AntiCsrf::ViaCustomHeader => {
                if first_value(request.headers, "rid").is_some() {
                    return None;
                }
                "anti-csrf check failed: no `rid` header (VIA_CUSTOM_HEADER)"
            }
            AntiCsrf::ViaToken => {
                let SessionOutcome::Valid(session) = outcome else {
                    return None;
                };
                match (
                    first_value(request.headers, "anti-csrf"),
                    session.anti_csrf_token(),
                ) {
                    (_, None) => "the token has no antiCsrfToken (VIA_TOKEN)",
                    (None, Some(_)) => "anti-csrf check failed: no `anti-csrf` header (VIA_TOKEN)",
                    (Some(sent), Some(expected)) if sent == expected.as_bytes() => return None,
                    (Some(_), Some(_)) => {
                        "anti-csrf check failed: `anti-csrf` differs from the token's (VIA_TOKEN)"
                    }
                }
            }
        };
        carrier
            .is_cookie()
            .then(|| InvalidToken::new(InvalidKind::AntiCsrf, why))
    }

    /// Why the request looks like it came from another origin's page.
    fn cross_origin(&self, request: &ForgeryView<'_>) -> Option<&'static str> {
        // `Origin` is read only when `Sec-Fetch-Site` does not settle it.
        let origin = || first_value(request.headers, "origin");
        let trusted = || origin().is_some_and(|o| contains(&self.trusted_origins, o));
        match single_value(request.headers, "sec-fetch-site") {
            Err(Repeated) => Some("repeated Sec-Fetch-Site headers"),
            Ok(Some(site)) => match site {
                b"same-origin" | b"none" => None,
                _ if trusted() => None,
                b"same-site" => {
                    Some("sent by a page of another origin (Sec-Fetch-Site: same-site)")
                }
                b"cross-site" => {
                    Some("sent by a page of another site (Sec-Fetch-Site: cross-site)")
                }
                _ => Some("an unknown Sec-Fetch-Site value"),
            },
            Ok(None) => match origin() {
                None => None,
                Some(b"null") => Some("sent from an opaque origin (Origin: null)"),
                Some(origin) if self.is_own(origin, (request.host)().as_deref()) || trusted() => {
                    None
                }
                Some(_) => Some("sent by a page of another origin (Origin)"),
            },
        }
    }

    /// `true` when `origin` is the app's own: a configured public origin,
    /// or else the one the request's `Host` names.
    fn is_own(&self, origin: &[u8], host: Option<&str>) -> bool {
        if !self.public_origins.is_empty() {
            return contains(&self.public_origins, origin);
        }
        let Some(host) = host else { return false };
        let (default_port, authority) = if let Some(rest) = origin.strip_prefix(b"https://") {
            (":443", rest)
        } else if let Some(rest) = origin.strip_prefix(b"http://") {
            (":80", rest)
        } else {
            return false;
        };
        let host = host.as_bytes();
        host.eq_ignore_ascii_case(authority)
            || host
                .strip_suffix(default_port.as_bytes())
                .is_some_and(|bare| bare.eq_ignore_ascii_case(authority))
    }
}

/// What the forgery checks read of a request.
pub(crate) struct ForgeryView<'a> {
    pub(crate) headers: &'a dyn Headers,
    pub(crate) method: &'a str,
    /// The request's host (and port), as the client addressed it; asked
    /// only for the `Origin` fallback.
    pub(crate) host: &'a dyn Fn() -> Option<Cow<'a, str>>,
}

/// `false` for a token that supertokens-node does not count as one: it
/// skips a token that fails `parseJWTWithoutSignatureVerification` or
/// `validateAccessTokenStructure` (`getAccessTokenFromRequest`), so its
/// anti-CSRF modes do not run and the request has no session.
fn looks_like_a_session<C>(outcome: &SessionOutcome<C>) -> bool {
    !matches!(outcome, SessionOutcome::Invalid(error) if matches!(
        error.kind(),
        InvalidKind::Malformed
            | InvalidKind::Claim(ClaimFailure::SessionStructure | ClaimFailure::Subject)
    ))
}

fn is_safe_method(method: &str) -> bool {
    ["GET", "HEAD", "OPTIONS"]
        .iter()
        .any(|safe| method.eq_ignore_ascii_case(safe))
}

fn contains(origins: &[Box<str>], origin: &[u8]) -> bool {
    origins
        .iter()
        .any(|known| known.as_bytes().eq_ignore_ascii_case(origin))
}

/// The first value of the header `name`, trimmed.
fn first_value<'h>(headers: &'h dyn Headers, name: &str) -> Option<&'h [u8]> {
    let mut first = None;
    headers.for_each_value(name, &mut |value| {
        first.get_or_insert(value.trim_ascii());
    });
    first
}

/// A header that was sent more than once where one value is expected.
struct Repeated;

fn single_value<'h>(headers: &'h dyn Headers, name: &str) -> Result<Option<&'h [u8]>, Repeated> {
    let mut found = None;
    let mut count = 0;
    headers.for_each_value(name, &mut |value| {
        count += 1;
        found.get_or_insert(value.trim_ascii());
    });
    if count > 1 { Err(Repeated) } else { Ok(found) }
}

/// The token's carrier, asked at most once.
struct Lazy<F> {
    ask: Option<F>,
    answer: Option<TokenCarrier>,
}

impl<F: FnOnce() -> Option<TokenCarrier>> Lazy<F> {
    fn new(ask: F) -> Self {
        Self {
            ask: Some(ask),
            answer: None,
        }
    }

    fn is_cookie(&mut self) -> bool {
        if let Some(ask) = self.ask.take() {
            self.answer = ask();
        }
        self.answer == Some(TokenCarrier::Cookie)
    }
}

/// `origin` as browsers serialise it in `Origin` (lower-case scheme and
/// host, no default port), or an error when it is not a bare origin.
fn parse_origin(origin: &str) -> Result<Box<str>, ConfigError> {
    let refuse = |why: &str| ConfigError::Url {
        url: origin.to_owned(),
        reason: format!("not a bare origin: {why}"),
    };
    let (_, rest) = origin
        .split_once("://")
        .ok_or_else(|| refuse("not scheme://host[:port]"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(refuse("an origin has no path, query, fragment or user"));
    }
    let url = url::Url::parse(origin).map_err(|e| refuse(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("the scheme must be http or https"));
    }
    Ok(url.origin().ascii_serialization().into_boxed_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::NeedsRefreshReason;
    use crate::source::HeaderList;

    fn view<'a>(headers: &'a HeaderList, method: &'a str) -> ForgeryView<'a> {
        ForgeryView {
            headers,
            method,
            host: &|| Some("app.example:8080".into()),
        }
    }

    fn expired() -> SessionOutcome<()> {
        SessionOutcome::NeedsRefresh(NeedsRefreshReason::Expired)
    }

    fn kind(
        csrf: &CsrfProtection,
        headers: &HeaderList,
        method: &str,
        carrier: TokenCarrier,
    ) -> Option<InvalidKind> {
        csrf.rejection(&view(headers, method), &expired(), || Some(carrier))
            .map(|e| e.kind().clone())
    }

    #[test]
    fn origins_parse_as_browsers_serialise_them() {
        let parsed = |o| parse_origin(o).map(String::from);
        assert_eq!(
            parsed("https://App.Example").unwrap(),
            "https://app.example"
        );
        assert_eq!(
            parsed("https://app.example:443").unwrap(),
            "https://app.example"
        );
        assert_eq!(
            parsed("http://127.0.0.1:3000/").unwrap(),
            "http://127.0.0.1:3000"
        );
        for bad in [
            "app.example",
            "https://app.example/path",
            "https://app.example?x",
            "https://u@app.example",
            "ftp://app.example",
            "null",
            "",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_fallback_compares_origin_with_host_and_default_ports() {
        let csrf = CsrfProtection::default();
        let own = |origin: &str, host: &str| csrf.is_own(origin.as_bytes(), Some(host));
        assert!(own("http://app.example:8080", "app.example:8080"));
        assert!(own("https://app.example", "APP.example:443"));
        assert!(own("http://app.example", "app.example:80"));
        assert!(!own("https://app.example", "app.example:80"));
        assert!(!own("http://app.example:8081", "app.example:8080"));
        assert!(!own("http://evil.example", "app.example"));
        assert!(!csrf.is_own(b"http://app.example", None));
    }

    #[test]
    fn a_missing_token_and_a_get_are_never_refused() {
        let csrf = CsrfProtection::default().anti_csrf(AntiCsrf::ViaCustomHeader);
        let headers = HeaderList::new().with("sec-fetch-site", "cross-site");
        let missing = SessionOutcome::<()>::NeedsRefresh(NeedsRefreshReason::Missing);
        let asked = std::cell::Cell::new(false);
        let carrier = || {
            asked.set(true);
            Some(TokenCarrier::Cookie)
        };
        assert!(
            csrf.rejection(&view(&headers, "POST"), &missing, carrier)
                .is_none()
        );
        assert!(
            csrf.rejection(&view(&headers, "GET"), &expired(), carrier)
                .is_none()
        );
        assert!(
            !asked.get(),
            "the carrier is read only when a check could refuse"
        );
    }

    #[test]
    fn a_token_that_is_not_a_session_skips_the_modes_but_not_the_origin_check() {
        let csrf = CsrfProtection::default().anti_csrf(AntiCsrf::ViaCustomHeader);
        let refused = |headers: &HeaderList, kind: InvalidKind| {
            let outcome = SessionOutcome::<()>::Invalid(InvalidToken::new(kind, "test"));
            csrf.rejection(&view(headers, "POST"), &outcome, || {
                Some(TokenCarrier::Cookie)
            })
            .map(|e| e.kind().clone())
        };
        let plain = HeaderList::new();
        for skipped in [
            InvalidKind::Malformed,
            InvalidKind::Claim(ClaimFailure::SessionStructure),
            InvalidKind::Claim(ClaimFailure::Subject),
        ] {
            assert_eq!(refused(&plain, skipped.clone()), None, "{skipped:?}");
            let cross = HeaderList::new().with("sec-fetch-site", "cross-site");
            assert_eq!(refused(&cross, skipped), Some(InvalidKind::CrossOrigin));
        }
        // A token with a session's shape is checked before its signature, as supertokens-node does.
        assert_eq!(
            refused(&plain, InvalidKind::BadSignature),
            Some(InvalidKind::AntiCsrf)
        );
    }

    #[test]
    fn header_tokens_are_exempt_from_every_check() {
        for mode in [
            AntiCsrf::None,
            AntiCsrf::ViaCustomHeader,
            AntiCsrf::ViaToken,
        ] {
            let csrf = CsrfProtection::default().anti_csrf(mode);
            let headers = HeaderList::new()
                .with("sec-fetch-site", "cross-site")
                .with("origin", "https://evil.example");
            assert_eq!(kind(&csrf, &headers, "POST", TokenCarrier::Header), None);
            assert_eq!(
                kind(&csrf, &headers, "POST", TokenCarrier::Cookie),
                Some(InvalidKind::CrossOrigin)
            );
        }
    }

    #[test]
    fn repeated_fetch_metadata_is_refused() {
        let headers = HeaderList::new()
            .with("sec-fetch-site", "same-origin")
            .with("sec-fetch-site", "cross-site");
        let csrf = CsrfProtection::default();
        assert_eq!(
            kind(&csrf, &headers, "POST", TokenCarrier::Cookie),
            Some(InvalidKind::CrossOrigin)
        );
    }

    #[test]
    fn disabled_checks_nothing_but_a_required_mode() {
        let headers = HeaderList::new().with("sec-fetch-site", "cross-site");
        let off = CsrfProtection::dangerously_disabled();
        assert_eq!(kind(&off, &headers, "POST", TokenCarrier::Cookie), None);
        let mode_only = off.anti_csrf(AntiCsrf::ViaCustomHeader);
        assert_eq!(
            kind(&mode_only, &headers, "POST", TokenCarrier::Cookie),
            Some(InvalidKind::AntiCsrf)
        );
    }
}
