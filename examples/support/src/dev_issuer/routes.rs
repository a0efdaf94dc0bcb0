//! HTTP routes of the dev issuer.
//!
//! Wire details follow SuperTokens' SDK sources:
//! - supertokens-node `lib/ts/recipe/session/cookieAndHeaders.ts`: cookies `sAccessToken`
//!   (`Path=/`) and `sRefreshToken` (`Path={apiBasePath}/session/refresh`), always `HttpOnly`;
//!   the `front-token` header is base64 (standard, padded) of JSON `{uid, ate, up}` and is
//!   listed in `Access-Control-Expose-Headers`; clearing a session sets both cookies to `""`
//!   with expiry 0 (the epoch) and `front-token: remove`.
//! - supertokens-website `lib/ts/fetch.ts`: refresh is `POST {apiDomain}{apiBasePath}/session/refresh`
//!   with `credentials: include` and `rid: session`; a 401 clears the local session (its
//!   `front-token` is treated as `remove` when absent); the front token is decoded with `atob`.
//!
//! Simplifications: no `Domain`/`Secure` (plain-http localhost), no anti-CSRF, no header
//! transfer mode, and reuse of a used refresh token is plain `unauthorised` (SuperTokens
//! may answer `token theft detected`).

use axum::Router;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ClaimsOnRefresh, DevIssuer, DevSession, NotRecorded, RefreshMode, UserClaims};

const FRONT_TOKEN: HeaderName = HeaderName::from_static("front-token");
const EXPOSE_HEADERS: HeaderName = HeaderName::from_static("access-control-expose-headers");
const ACCESS_COOKIE: &str = "sAccessToken";
const REFRESH_COOKIE: &str = "sRefreshToken";
/// The token's own `exp` is what counts; the cookie itself outlives it (SuperTokens: 100 years).
const FAR_FUTURE: &str = "Fri, 31 Dec 9999 23:59:59 GMT";
const EPOCH: &str = "Thu, 01 Jan 1970 00:00:00 GMT";
const DEFAULT_USER: &str = "dev-user";

pub(super) fn router(issuer: DevIssuer) -> Router {
    let base = issuer.base_path().to_owned();
    let login = if base.is_empty() { "/" } else { base.as_str() };
    Router::new()
        .route(&format!("{base}/jwt/jwks.json"), get(jwks))
        .route(
            &format!("{base}/dev/signin"),
            get(sign_in_redirect).post(sign_in_api),
        )
        .route(&format!("{base}/session/refresh"), post(refresh))
        .route(&format!("{base}/signout"), post(sign_out))
        .route(
            &format!("{base}/signout-everywhere"),
            post(sign_out_everywhere),
        )
        .route(&format!("{base}/dev/rotate"), post(rotate))
        .route(&format!("{base}/dev/user-claims"), post(set_user_claims))
        .route(
            &format!("{base}/dev/claims-on-refresh"),
            post(set_claims_on_refresh),
        )
        .route(login, get(login_page))
        .route(&format!("{base}/dev/revoke-all"), post(revoke_all))
        .route(&format!("{base}/dev/refresh-mode"), post(set_refresh_mode))
        .route(&format!("{base}/dev/stats"), get(stats))
        .route(&format!("{base}/dev/access-tokens"), get(access_tokens))
        .route(
            &format!("{base}/dev/expired-access-token"),
            get(expired_access_token),
        )
        .route(&format!("{base}/dev/jwks-outage"), post(set_jwks_outage))
        .route(&format!("{base}/dev/expired-token"), get(expired_token))
        .with_state(issuer)
}

async fn jwks(State(issuer): State<DevIssuer>) -> Response {
    if issuer.is_jwks_outage() {
        return message(StatusCode::SERVICE_UNAVAILABLE, "injected JWKS outage");
    }
    let (max_age, body) = issuer.jwks_response_parts();
    let cache_control = format!("max-age={max_age}, must-revalidate");
    ([(CACHE_CONTROL, cache_control)], Json(body)).into_response()
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(rename = "userId")]
    user_id: Option<String>,
    #[serde(rename = "redirectTo")]
    redirect_to: Option<String>,
    #[serde(flatten)]
    claims: UserClaims,
}

/// `Some` when the sign-in named any claim: those become the user's claims.
fn given(claims: UserClaims) -> Option<UserClaims> {
    (!claims.is_empty()).then_some(claims)
}

async fn sign_in_redirect(
    State(issuer): State<DevIssuer>,
    Query(query): Query<SignInQuery>,
) -> Response {
    let Some(user_id) = valid_user_id(query.user_id.as_deref()) else {
        return message(StatusCode::BAD_REQUEST, "invalid userId");
    };
    let target = query
        .redirect_to
        .as_deref()
        .and_then(same_origin_path)
        .unwrap_or("/");
    let session = issuer.sign_in(user_id, given(query.claims));
    let mut headers = session_headers(&issuer, &session);
    headers.insert(
        LOCATION,
        HeaderValue::from_str(target).expect("checked path"),
    );
    (StatusCode::SEE_OTHER, headers).into_response()
}

#[derive(Deserialize)]
struct SignInBody {
    #[serde(rename = "userId")]
    user_id: Option<String>,
    #[serde(flatten)]
    claims: UserClaims,
}

async fn sign_in_api(State(issuer): State<DevIssuer>, request: Request) -> Response {
    let is_json = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let body = if is_json {
        Json::<SignInBody>::from_request(request, &())
            .await
            .map(|Json(body)| body)
            .map_err(IntoResponse::into_response)
    } else {
        Form::<SignInBody>::from_request(request, &())
            .await
            .map(|Form(body)| body)
            .map_err(IntoResponse::into_response)
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return rejection,
    };
    let Some(user_id) = valid_user_id(body.user_id.as_deref()) else {
        return message(StatusCode::BAD_REQUEST, "invalid userId");
    };
    let session = issuer.sign_in(user_id, given(body.claims));
    let headers = session_headers(&issuer, &session);
    (headers, Json(json!({ "status": "OK", "userId": user_id }))).into_response()
}

async fn refresh(State(issuer): State<DevIssuer>, headers: HeaderMap) -> Response {
    issuer.count_refresh_call();
    match cookie(&headers, REFRESH_COOKIE).and_then(|token| issuer.refresh(token)) {
        Some(session) => (session_headers(&issuer, &session), Json(json!({}))).into_response(),
        None => {
            let body = Json(json!({ "message": "unauthorised" }));
            (StatusCode::UNAUTHORIZED, cleared_headers(&issuer), body).into_response()
        }
    }
}

async fn sign_out(State(issuer): State<DevIssuer>, headers: HeaderMap) -> Response {
    // The browser does not send sRefreshToken here (its path is the refresh route), so the
    // session is found through the access token's sessionHandle, as SuperTokens does.
    let from_refresh =
        cookie(&headers, REFRESH_COOKIE).and_then(|t| issuer.session_of_refresh_token(t));
    let from_access = cookie(&headers, ACCESS_COOKIE).and_then(session_handle_of);
    for handle in from_refresh.into_iter().chain(from_access) {
        if let Err(not_recorded) = issuer.sign_out_session(&handle).await {
            return not_confirmed(&headers, &not_recorded);
        }
    }
    (cleared_headers(&issuer), Json(json!({ "status": "OK" }))).into_response()
}

/// A sign-out that is not confirmed everywhere: `503` with `Retry-After`, a short page
/// for a navigation (a form post) and JSON for a data request; the cookies stay, so
/// that signing out again (harmless) can find the session.
fn not_confirmed(headers: &HeaderMap, not_recorded: &NotRecorded) -> Response {
    let retry_after = not_recorded.retry_after_secs.to_string();
    let status = if not_recorded.queued {
        "SIGN_OUT_PENDING"
    } else {
        "SIGN_OUT_NOT_RECORDED"
    };
    let meaning = if not_recorded.queued {
        "It already applies on this server and will reach the others by itself"
    } else {
        "It applies on this server only"
    };
    let common = [
        (CACHE_CONTROL, "no-store".to_owned()),
        (RETRY_AFTER, retry_after),
    ];
    if ssr_session::respond::RequestKind::of(headers, "POST").is_navigation() {
        let page = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Sign-out not confirmed</title></head>\n<body>\n\
             <h1 id=\"not-confirmed\">Your sign-out is not confirmed yet</h1>\n\
             <p>The session store did not answer in time. {meaning}, but other devices may \
             still be signed in. Please sign out again in {} seconds.</p>\n\
             <form method=\"post\" action=\"\"><button>Sign out again</button></form>\n\
             </body></html>\n",
            not_recorded.retry_after_secs
        );
        (StatusCode::SERVICE_UNAVAILABLE, common, Html(page)).into_response()
    } else {
        let body = json!({
            "status": status,
            "message": format!("the sign-out is not confirmed everywhere yet: {meaning}; retry"),
            "retryAfter": not_recorded.retry_after_secs,
        });
        (StatusCode::SERVICE_UNAVAILABLE, common, Json(body)).into_response()
    }
}

/// Signs the request's user out of every session (found through the access token, which
/// only a signed-in browser has; dev only: the token is not verified here).
async fn sign_out_everywhere(State(issuer): State<DevIssuer>, headers: HeaderMap) -> Response {
    let user = cookie(&headers, ACCESS_COOKIE).and_then(|token| claim_of(token, "sub"));
    let Some(user_id) = user else {
        return message(StatusCode::UNAUTHORIZED, "unauthorised");
    };
    if let Err(not_recorded) = issuer.sign_out_everywhere(&user_id).await {
        return not_confirmed(&headers, &not_recorded);
    }
    (cleared_headers(&issuer), Json(json!({ "status": "OK" }))).into_response()
}

async fn rotate(State(issuer): State<DevIssuer>) -> Response {
    issuer.rotate_keys();
    no_store(json!({ "kid": issuer.current_kid() }))
}

async fn set_user_claims(
    State(issuer): State<DevIssuer>,
    Query(query): Query<SignInQuery>,
) -> Response {
    let Some(user_id) = valid_user_id(query.user_id.as_deref()) else {
        return message(StatusCode::BAD_REQUEST, "invalid userId");
    };
    issuer.set_user_claims(user_id, query.claims);
    no_store(json!({ "status": "OK" }))
}

#[derive(Deserialize)]
struct ClaimsOnRefreshQuery {
    mode: String,
}

async fn set_claims_on_refresh(
    State(issuer): State<DevIssuer>,
    Query(query): Query<ClaimsOnRefreshQuery>,
) -> Response {
    let mode = match query.mode.as_str() {
        "keep" => ClaimsOnRefresh::Keep,
        "refetch" => ClaimsOnRefresh::Refetch,
        _ => return message(StatusCode::BAD_REQUEST, "mode must be keep or refetch"),
    };
    issuer.set_claims_on_refresh(mode);
    no_store(json!({ "claimsOnRefresh": query.mode }))
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(rename = "redirectToPath")]
    redirect_to_path: Option<String>,
}

async fn login_page(
    State(issuer): State<DevIssuer>,
    Query(query): Query<LoginQuery>,
) -> Html<String> {
    let target = query
        .redirect_to_path
        .as_deref()
        .and_then(same_origin_path)
        .unwrap_or("/");
    let action = format!("{}/dev/signin", issuer.base_path());
    Html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Dev sign-in</title></head>\n\
         <body><h1>Dev sign-in</h1>\n<p>Development issuer: any user id signs in.</p>\n\
         <form method=\"get\" action=\"{action}\">\n\
         <p><label>User id <input name=\"userId\" value=\"{DEFAULT_USER}\"></label></p>\n\
         <p><label>Roles <input name=\"roles\" placeholder=\"admin,editor\"></label></p>\n\
         <p><label>Permissions <input name=\"permissions\" placeholder=\"read,write\"></label></p>\n\
         <p><label><input type=\"checkbox\" name=\"emailVerified\" value=\"true\"> Email verified</label></p>\n\
         <p><label>Tenant <input name=\"tenant\" placeholder=\"public\"></label></p>\n\
         <input type=\"hidden\" name=\"redirectTo\" value=\"{target}\">\n\
         <button type=\"submit\">Sign in</button>\n</form>\n<p>Then back to <code>{target}</code>.</p>\n\
         </body></html>\n",
        action = escape_html(&action),
        target = escape_html(target),
    ))
}

// Test controls. Answers are `no-store`, so that a browser never shows a stale count.

async fn revoke_all(State(issuer): State<DevIssuer>) -> Response {
    issuer.revoke_all_refresh_tokens();
    no_store(json!({ "status": "OK" }))
}

#[derive(Deserialize)]
struct RefreshModeQuery {
    mode: String,
}

async fn set_refresh_mode(
    State(issuer): State<DevIssuer>,
    Query(query): Query<RefreshModeQuery>,
) -> Response {
    let Some(mode) = RefreshMode::from_name(&query.mode) else {
        return message(
            StatusCode::BAD_REQUEST,
            "mode must be normal, unverifiable or expired",
        );
    };
    issuer.set_refresh_mode(mode);
    no_store(json!({ "refreshMode": mode.name() }))
}

async fn stats(State(issuer): State<DevIssuer>) -> Response {
    no_store(json!({
        "refreshCalls": issuer.refresh_calls(),
        "jwksRequests": issuer.jwks_requests(),
    }))
}

/// The request's `sAccessToken` cookies in the order the browser sent them, decoded without
/// verification (`null` fields for a token that does not decode).
async fn access_tokens(headers: HeaderMap) -> Response {
    let tokens: Vec<Value> = cookies(&headers, ACCESS_COOKIE)
        .map(|token| {
            let part = |index: usize| -> Value {
                token
                    .split('.')
                    .nth(index)
                    .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .unwrap_or(Value::Null)
            };
            let (header, payload) = (part(0), part(1));
            json!({ "sub": payload["sub"], "exp": payload["exp"], "kid": header["kid"] })
        })
        .collect();
    no_store(json!({ "tokens": tokens }))
}

#[derive(Deserialize)]
struct OutageQuery {
    on: bool,
}

/// The soak's control: while on, the JWKS route answers 503.
async fn set_jwks_outage(
    State(issuer): State<DevIssuer>,
    Query(query): Query<OutageQuery>,
) -> Response {
    issuer.set_jwks_outage(query.on);
    no_store(json!({ "jwksOutage": query.on }))
}

/// A correctly signed access token that expired a minute ago, as text.
async fn expired_token(
    State(issuer): State<DevIssuer>,
    Query(query): Query<SignInQuery>,
) -> Response {
    let Some(user_id) = valid_user_id(query.user_id.as_deref()) else {
        return message(StatusCode::BAD_REQUEST, "invalid userId");
    };
    let token = issuer.mint_expired_access_token(user_id);
    ([(CACHE_CONTROL, "no-store")], token).into_response()
}

#[derive(Deserialize)]
struct UserQuery {
    #[serde(rename = "userId")]
    user_id: Option<String>,
}

/// A correctly signed access token that expired a minute ago: a stale cookie to plant.
async fn expired_access_token(
    State(issuer): State<DevIssuer>,
    Query(query): Query<UserQuery>,
) -> Response {
    let Some(user_id) = valid_user_id(query.user_id.as_deref()) else {
        return message(StatusCode::BAD_REQUEST, "invalid userId");
    };
    no_store(json!({ "accessToken": issuer.mint_expired_access_token(user_id) }))
}

fn no_store(body: Value) -> Response {
    ([(CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// `Set-Cookie` for both tokens plus the `front-token` header.
fn session_headers(issuer: &DevIssuer, session: &DevSession) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let refresh_path = refresh_path(issuer);
    for (name, value, path) in [
        (ACCESS_COOKIE, session.access_token.as_str(), "/"),
        (
            REFRESH_COOKIE,
            session.refresh_token.as_str(),
            refresh_path.as_str(),
        ),
    ] {
        let cookie =
            format!("{name}={value}; Path={path}; Expires={FAR_FUTURE}; HttpOnly; SameSite=Lax");
        headers.append(
            SET_COOKIE,
            HeaderValue::from_str(&cookie).expect("token characters are cookie-safe"),
        );
    }
    headers.insert(
        FRONT_TOKEN,
        HeaderValue::from_str(&session.front_token).expect("base64"),
    );
    headers.insert(EXPOSE_HEADERS, HeaderValue::from_static("front-token"));
    headers
}

/// Both cookies cleared on their own paths, and `front-token: remove`.
fn cleared_headers(issuer: &DevIssuer) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let refresh_path = refresh_path(issuer);
    for (name, path) in [
        (ACCESS_COOKIE, "/"),
        (REFRESH_COOKIE, refresh_path.as_str()),
    ] {
        let cookie =
            format!("{name}=; Path={path}; Expires={EPOCH}; Max-Age=0; HttpOnly; SameSite=Lax");
        headers.append(SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii"));
    }
    headers.insert(FRONT_TOKEN, HeaderValue::from_static("remove"));
    headers.insert(EXPOSE_HEADERS, HeaderValue::from_static("front-token"));
    headers
}

fn refresh_path(issuer: &DevIssuer) -> String {
    format!("{}/session/refresh", issuer.base_path())
}

fn message(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

/// The first cookie called `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers, name).next()
}

/// Every cookie called `name` in the request's `Cookie` headers, in order.
fn cookies<'a, 'n>(
    headers: &'a HeaderMap,
    name: &'n str,
) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The `sessionHandle` claim of an access token (unverified: only used to find our own
/// session, and a forged one can only end the session it names).
fn session_handle_of(token: &str) -> Option<String> {
    claim_of(token, "sessionHandle")
}

/// A string claim of a token, read without verification.
fn claim_of(token: &str, name: &str) -> Option<String> {
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    let claims: Value = serde_json::from_slice(&payload).ok()?;
    claims.get(name)?.as_str().map(str::to_owned)
}

/// `userId` or the default; `None` if empty, over 256 bytes or with control characters.
fn valid_user_id(user_id: Option<&str>) -> Option<&str> {
    let user_id = user_id.unwrap_or(DEFAULT_USER);
    let ok = !user_id.is_empty() && user_id.len() <= 256 && !user_id.chars().any(char::is_control);
    ok.then_some(user_id)
}

/// `path` if it is a same-origin path: starts with `/` but not `//`, printable ASCII only
/// and no `\` (browsers read `/\host` as `//host`).
pub(super) fn same_origin_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 2048
        && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    ok.then_some(path)
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_origin_paths_are_redirect_targets() {
        for good in ["/", "/dashboard?x=1", "/a/b#c"] {
            assert_eq!(same_origin_path(good), Some(good));
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a b",
            "/é",
            "dashboard",
        ] {
            assert_eq!(same_origin_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cookie_lookup_and_escaping() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; sRefreshToken=abc"));
        headers.append(COOKIE, HeaderValue::from_static("sRefreshToken=later"));
        assert_eq!(cookie(&headers, REFRESH_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, ACCESS_COOKIE), None);
        assert_eq!(
            escape_html("\"/x?a=<b>&'\""),
            "&quot;/x?a=&lt;b&gt;&amp;&#39;&quot;"
        );
    }
}
