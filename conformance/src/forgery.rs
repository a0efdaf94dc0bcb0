//! The cross-site request forgery matrix, through every entry point.
//!
//! Every cell is a request to a route of the [`Suite`]: a method (`GET`
//! as the control, `POST`, `DELETE`), a token (valid in the cookie, valid
//! in `Authorization`, expired in the cookie, none), `Sec-Fetch-Site`
//! (same-origin, same-site, cross-site, none, absent), `Origin` (the app's,
//! another, `null`, absent), the anti-CSRF header sent (none, `rid`, the
//! right `anti-csrf`, a wrong one) and `Accept` (HTML or JSON), under each
//! [`AntiCsrf`] mode. What each cell must get is written once, in
//! `verdict`, from the rules as SECURITY.md states them, not from the
//! core's code.

use std::future::Future;

use serde_json::json;
use ssr_session::{
    CsrfProtection, InvalidToken, SessionConfig, SessionOutcome, csrf::AntiCsrf,
    error::InvalidKind, respond::RequestInfo, source::HeaderList,
};

use crate::{Case, Context, Fixture, Suite, TestRequest, TestResponse, expect_json};

/// Every anti-CSRF mode, for the adapters' tests to build one app each.
pub const ANTI_CSRF_MODES: [AntiCsrf; 3] = [
    AntiCsrf::None,
    AntiCsrf::ViaCustomHeader,
    AntiCsrf::ViaToken,
];

/// The host every request of the matrix names.
pub const HOST: &str = "app.test";

/// The app's own origin, as a browser on [`HOST`] sends it.
const OWN_ORIGIN: &str = "http://app.test";

/// The `antiCsrfToken` of the matrix's tokens.
const ANTI_CSRF_TOKEN: &str = "anti-csrf-of-this-session";

const METHODS: [&str; 3] = ["GET", "POST", "DELETE"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    ValidCookie,
    ValidBearer,
    ExpiredCookie,
    Missing,
}

const TOKENS: [Token; 4] = [
    Token::ValidCookie,
    Token::ValidBearer,
    Token::ExpiredCookie,
    Token::Missing,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FetchSite {
    SameOrigin,
    SameSite,
    CrossSite,
    None,
    Absent,
}

const SITES: [FetchSite; 5] = [
    FetchSite::SameOrigin,
    FetchSite::SameSite,
    FetchSite::CrossSite,
    FetchSite::None,
    FetchSite::Absent,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Same,
    Other,
    Null,
    Absent,
}

const ORIGINS: [Origin; 4] = [Origin::Same, Origin::Other, Origin::Null, Origin::Absent];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsrfHeader {
    None,
    Rid,
    RightToken,
    WrongToken,
}

const CSRF_HEADERS: [CsrfHeader; 4] = [
    CsrfHeader::None,
    CsrfHeader::Rid,
    CsrfHeader::RightToken,
    CsrfHeader::WrongToken,
];

/// One request of the matrix.
#[derive(Debug, Clone, Copy)]
struct Cell {
    method: &'static str,
    token: Token,
    site: FetchSite,
    origin: Origin,
    csrf_header: CsrfHeader,
    mode: AntiCsrf,
}

/// What a cell must get: the answer it would get without any forgery
/// check, or a rejection of one of the two kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    CrossOrigin,
    AntiCsrf,
}

/// The rules, once (SECURITY.md, "Cross-site request forgery").
fn verdict(cell: &Cell) -> Verdict {
    let from_cookie = matches!(cell.token, Token::ValidCookie | Token::ExpiredCookie);
    if cell.method == "GET" || cell.token == Token::Missing || !from_cookie {
        return Verdict::Pass;
    }
    let from_own_origin = match cell.site {
        FetchSite::SameOrigin | FetchSite::None => true,
        FetchSite::SameSite | FetchSite::CrossSite => false,
        FetchSite::Absent => matches!(cell.origin, Origin::Same | Origin::Absent),
    };
    if !from_own_origin {
        return Verdict::CrossOrigin;
    }
    match cell.mode {
        AntiCsrf::ViaCustomHeader if cell.csrf_header != CsrfHeader::Rid => Verdict::AntiCsrf,
        // Checked on a verified token only; an expired one needs a refresh anyway.
        AntiCsrf::ViaToken
            if cell.token == Token::ValidCookie && cell.csrf_header != CsrfHeader::RightToken =>
        {
            Verdict::AntiCsrf
        }
        _ => Verdict::Pass,
    }
}

impl Fixture {
    /// The suite's configuration with SuperTokens' anti-CSRF `mode` on top
    /// of the default origin check.
    pub fn forgery_config(&self, mode: AntiCsrf) -> SessionConfig {
        self.session_config()
            .csrf(CsrfProtection::default().anti_csrf(mode))
    }

    fn forgery_tokens(&self) -> (String, String) {
        let token = || Fixture::valid_builder().claim("antiCsrfToken", ANTI_CSRF_TOKEN);
        (
            token().sign(&self.key),
            token().expires_in(-60).sign(&self.key),
        )
    }
}

/// Runs the whole matrix for `mode` through `send`, which must reach an app
/// built over [`Fixture::forgery_config`]`(mode)` serving `suite`, and
/// panics with the list of mismatches.
pub async fn run_forgery<F, Fut>(fixture: &Fixture, suite: &Suite, mode: AntiCsrf, send: F)
where
    F: Fn(TestRequest) -> Fut,
    Fut: Future<Output = TestResponse>,
{
    let config = fixture.forgery_config(mode);
    let (valid, expired) = fixture.forgery_tokens();
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut refused = [0usize; 2];
    for &(route, entry) in &suite.routes {
        for method in METHODS {
            for token in TOKENS {
                for site in SITES {
                    for origin in ORIGINS {
                        for csrf_header in CSRF_HEADERS {
                            for html in [true, false] {
                                let cell = Cell {
                                    method,
                                    token,
                                    site,
                                    origin,
                                    csrf_header,
                                    mode,
                                };
                                let headers = headers_of(&cell, html, &valid, &expired);
                                let path = format!("{route}?x=1");
                                let request = TestRequest {
                                    method,
                                    path: path.clone(),
                                    headers: headers.clone(),
                                };
                                let response = send(request).await;
                                cases += 1;
                                let mut context = Context {
                                    headers: headers
                                        .iter()
                                        .fold(HeaderList::new(), |list, (k, v)| {
                                            list.with(k.as_str(), v.as_str())
                                        }),
                                    method,
                                    path,
                                    memo: None,
                                };
                                let expected = verdict(&cell);
                                let checked = match expected {
                                    Verdict::Pass => {
                                        let outcome = config.outcome(&mut context).await;
                                        Case {
                                            config: &config,
                                            context: &context,
                                            outcome: &outcome,
                                            token_case: token_case(token),
                                            entry,
                                            route,
                                            method,
                                            html,
                                        }
                                        .check(&response)
                                    }
                                    Verdict::CrossOrigin | Verdict::AntiCsrf => {
                                        refused[usize::from(expected == Verdict::AntiCsrf)] += 1;
                                        expect_forged(
                                            &config, &context, entry, expected, html, &response,
                                        )
                                    }
                                };
                                if let Err(problem) = checked {
                                    failures.push(format!(
                                        "{mode:?} {route} {cell:?} {}: expected {expected:?}: {problem} (got {} {:?})",
                                        if html { "html" } else { "json" },
                                        response.status,
                                        String::from_utf8_lossy(&response.body).chars().take(160).collect::<String>()
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let per_route =
        METHODS.len() * TOKENS.len() * SITES.len() * ORIGINS.len() * CSRF_HEADERS.len() * 2;
    assert_eq!(
        cases,
        per_route * suite.routes.len(),
        "the matrix ran {cases} cells"
    );
    // The matrix must exercise both kinds of rejection where the mode has them.
    assert!(refused[0] > 0, "no cell expected a cross-origin rejection");
    assert_eq!(
        refused[1] > 0,
        mode != AntiCsrf::None,
        "anti-CSRF rejections expected: {refused:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} forgery cells failed (first 40):\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn token_case(token: Token) -> &'static str {
    match token {
        Token::ValidCookie => "valid-cookie",
        Token::ValidBearer => "valid-bearer",
        Token::ExpiredCookie => "expired",
        Token::Missing => "missing",
    }
}

fn headers_of(cell: &Cell, html: bool, valid: &str, expired: &str) -> Vec<(String, String)> {
    let accept = if html {
        "text/html,application/xhtml+xml,*/*;q=0.8"
    } else {
        "application/json"
    };
    let mut headers = vec![
        ("accept".to_string(), accept.to_string()),
        ("host".to_string(), HOST.to_string()),
    ];
    let mut push = |name: &str, value: &str| headers.push((name.to_string(), value.to_string()));
    match cell.token {
        Token::ValidCookie => push("cookie", &format!("theme=dark; sAccessToken={valid}")),
        Token::ExpiredCookie => push("cookie", &format!("theme=dark; sAccessToken={expired}")),
        Token::ValidBearer => push("authorization", &format!("Bearer {valid}")),
        Token::Missing => push("cookie", "theme=dark"),
    }
    match cell.site {
        FetchSite::SameOrigin => push("sec-fetch-site", "same-origin"),
        FetchSite::SameSite => push("sec-fetch-site", "same-site"),
        FetchSite::CrossSite => push("sec-fetch-site", "cross-site"),
        FetchSite::None => push("sec-fetch-site", "none"),
        FetchSite::Absent => {}
    }
    match cell.origin {
        Origin::Same => push("origin", OWN_ORIGIN),
        Origin::Other => push("origin", "http://evil.test"),
        Origin::Null => push("origin", "null"),
        Origin::Absent => {}
    }
    match cell.csrf_header {
        CsrfHeader::None => {}
        CsrfHeader::Rid => push("rid", "session"),
        CsrfHeader::RightToken => push("anti-csrf", ANTI_CSRF_TOKEN),
        CsrfHeader::WrongToken => push("anti-csrf", "not-this-session"),
    }
    headers
}

/// A forged request's answer: the observing entry point records the
/// rejection; every other one answers as the core renders a forgery, which
/// is, literally, a 403 page for a navigation, and for a data request
/// `403 {"message":"cross-origin request refused"}` or supertokens-node's
/// `401 {"message":"try refresh token"}` for a failed anti-CSRF mode.
fn expect_forged(
    config: &SessionConfig,
    context: &Context,
    entry: crate::Entry,
    verdict: Verdict,
    html: bool,
    response: &TestResponse,
) -> Result<(), String> {
    if entry == crate::Entry::Outcome {
        return if response.status == 200 && response.body == b"outcome:invalid" {
            Ok(())
        } else {
            Err("expected 200 outcome:invalid".into())
        };
    }
    let kind = match verdict {
        Verdict::AntiCsrf => InvalidKind::AntiCsrf,
        _ => InvalidKind::CrossOrigin,
    };
    let info = RequestInfo::new(&context.headers, context.method, &context.path);
    let core = config.reject(&SessionOutcome::Invalid(InvalidToken::new(kind, "")), &info);
    if response.status != core.status() || response.body != core.body() {
        return Err(format!(
            "expected the core's {} forgery answer",
            core.status()
        ));
    }
    if html {
        let page = String::from_utf8_lossy(&response.body);
        if response.status != 403
            || !page.contains("id=\"ssr-session-forged\"")
            || page.contains("<script")
        {
            return Err("expected the 403 forgery page, without a script".into());
        }
        return Ok(());
    }
    match verdict {
        Verdict::AntiCsrf => expect_json(response, 401, &json!({"message": "try refresh token"})),
        _ => expect_json(
            response,
            403,
            &json!({"message": "cross-origin request refused"}),
        ),
    }
}
