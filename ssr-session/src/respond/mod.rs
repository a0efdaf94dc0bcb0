//! The answers to requests without a usable session, rendered as plain data
//! ([`ResponseData`]) so that adapters only convert them.

mod defaults;
mod request;

pub use self::defaults::{DefaultResponses, LOOP_GUARD_COOKIE};
pub use self::request::{RequestInfo, RequestKind};
use crate::error::{InvalidKind, InvalidToken};
use crate::outcome::{NeedsRefreshReason, SessionOutcome, Unavailable};
use crate::requirement::RequirementFailure;

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

/// Renders the answers for requests without a usable session. Implement it
/// to replace any of them; [`DefaultResponses`] is SuperTokens-compatible.
///
/// ```
/// use ssr_session::{DefaultResponses, InvalidToken, NeedsRefreshReason, Respond,
///                   respond::RequestInfo, respond::RequestKind, respond::ResponseData, Unavailable};
///
/// /// Like the defaults, but sends invalid sessions to a custom page.
/// struct MyResponses(DefaultResponses);
///
/// impl Respond for MyResponses {
///     fn needs_refresh(&self, request: &RequestInfo<'_>, reason: NeedsRefreshReason) -> ResponseData {
///         self.0.needs_refresh(request, reason)
///     }
///     fn invalid(&self, request: &RequestInfo<'_>, error: &InvalidToken) -> ResponseData {
///         if request.kind.is_navigation() {
///             ResponseData::new(303, "text/plain", "").with_header("location", "/signed-out")
///         } else {
///             self.0.invalid(request, error)
///         }
///     }
///     fn unavailable(&self, request: &RequestInfo<'_>, error: &Unavailable) -> ResponseData {
///         self.0.unavailable(request, error)
///     }
/// }
/// # let r = MyResponses(DefaultResponses::default());
/// # let headers = ssr_session::source::HeaderList::new().with("accept", "text/html");
/// # let info = RequestInfo::new(&headers, "GET", "/x");
/// # let invalid = InvalidToken::new(ssr_session::error::InvalidKind::BadSignature, "forged");
/// # assert_eq!(r.invalid(&info, &invalid).header("location"), Some("/signed-out"));
/// ```
pub trait Respond: Send + Sync + 'static {
    /// No token, or an expired one: make the browser refresh and retry.
    fn needs_refresh(&self, request: &RequestInfo<'_>, reason: NeedsRefreshReason) -> ResponseData;
    /// An invalid token, a revoked session included (requirement
    /// failures go to [`Respond::claim_validation_failed`], forged requests
    /// to [`Respond::forged`]).
    fn invalid(&self, request: &RequestInfo<'_>, error: &InvalidToken) -> ResponseData;
    /// The key source is down.
    fn unavailable(&self, request: &RequestInfo<'_>, error: &Unavailable) -> ResponseData;
    /// A forged request: an unsafe request with a cookie session sent by a
    /// page of another origin, or failing a required SuperTokens anti-CSRF
    /// check ([`CsrfProtection`](crate::CsrfProtection)). The user's session
    /// is not at fault, so the default neither refreshes nor signs out: a
    /// navigation gets a short `403` page; a data request gets
    /// `403 {"message":"cross-origin request refused"}` for the origin check
    /// and supertokens-node's `401 {"message":"try refresh token"}` for an
    /// anti-CSRF mode ([`forged_request`]).
    fn forged(&self, request: &RequestInfo<'_>, error: &InvalidToken) -> ResponseData {
        forged_request(request, error)
    }
    /// Requirements or requirements refused an otherwise valid token.
    /// Defaults to SuperTokens' `403 {"message":"invalid claim","claimValidationErrors":[…]}`
    /// ([`invalid_claim_body`]).
    fn claim_validation_failed(
        &self,
        _request: &RequestInfo<'_>,
        errors: &[RequirementFailure],
    ) -> ResponseData {
        ResponseData::new(403, "application/json", invalid_claim_body(errors))
    }
}

/// The default answer to a forged request (see [`Respond::forged`]).
pub fn forged_request(request: &RequestInfo<'_>, error: &InvalidToken) -> ResponseData {
    if request.kind.is_navigation() {
        return ResponseData::new(
            403,
            "text/html; charset=utf-8",
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"robots\" content=\"noindex\"><title>Request refused</title></head>\n<body>\
             <h1>Request refused</h1><p id=\"ssr-session-forged\">This request was sent by another \
             site or page, so it was not carried out. If you meant to do this, go back to the page \
             and try again there.</p>\n</body></html>\n",
        );
    }
    let message = match error.kind() {
        InvalidKind::AntiCsrf => "try refresh token",
        _ => "cross-origin request refused",
    };
    let status = if matches!(error.kind(), InvalidKind::AntiCsrf) {
        401
    } else {
        403
    };
    ResponseData::json(status, &serde_json::json!({ "message": message }))
}

/// SuperTokens' invalid-claim body, `{"message":"invalid claim","claimValidationErrors":[…]}`,
/// members in SuperTokens' order (the reasons' too: the workspace's
/// `serde_json` keeps insertion order), so the bytes equal supertokens-node's.
pub fn invalid_claim_body(errors: &[RequirementFailure]) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct InvalidClaim<'a> {
        message: &'static str,
        #[serde(rename = "claimValidationErrors")]
        errors: &'a [RequirementFailure],
    }
    let body = InvalidClaim {
        message: "invalid claim",
        errors,
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The answer to a non-valid outcome; `None` for a valid one.
pub(crate) fn render<C>(
    responses: &dyn Respond,
    request: &RequestInfo<'_>,
    outcome: &SessionOutcome<C>,
) -> Option<ResponseData> {
    Some(match outcome {
        SessionOutcome::Valid(_) => return None,
        SessionOutcome::NeedsRefresh(reason) => responses.needs_refresh(request, *reason),
        SessionOutcome::Invalid(error) if error.is_forgery() => responses.forged(request, error),
        SessionOutcome::Invalid(error) => match error.claim_validation_errors() {
            Some(errors) => responses.claim_validation_failed(request, errors),
            None => responses.invalid(request, error),
        },
        SessionOutcome::Unavailable(error) => responses.unavailable(request, error),
    })
}
