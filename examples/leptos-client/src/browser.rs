//! The few browser calls the client makes itself: the refresh `fetch`, the
//! way to the login page, and whether the SuperTokens SDK is on the page.

use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestCredentials, RequestInit, Response};

/// The page's window; `None` outside a browser (a server build never calls
/// the client, but must not panic if it did).
fn window() -> Option<web_sys::Window> {
    js_sys::global().dyn_into().ok()
}

/// Whether supertokens-website has replaced `window.fetch` with its own
/// (which keeps the browser's as `__supertokensOriginalFetch`).
pub(crate) fn sdk_intercepts_fetch() -> bool {
    window().is_some_and(|window| {
        js_sys::Reflect::get(&window, &JsValue::from_str("__supertokensOriginalFetch"))
            .is_ok_and(|original| !original.is_undefined())
    })
}

/// SuperTokens' refresh call: `POST url`, `rid: session`, the cookies
/// included. `true` when it answered 2xx.
pub(crate) async fn post_refresh(url: &str) -> bool {
    let Some(window) = window() else {
        return false;
    };
    let Ok(headers) = Headers::new() else {
        return false;
    };
    for (name, value) in [("rid", "session"), ("st-auth-mode", "cookie")] {
        if headers.append(name, value).is_err() {
            return false;
        }
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_credentials(RequestCredentials::Include);
    init.set_headers(&headers);
    let answer = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await;
    answer
        .ok()
        .and_then(|answer| answer.dyn_into::<Response>().ok())
        .is_some_and(|response| response.ok())
}

/// Sends the browser to `login_url`, with the current page's path and query
/// in `redirect_parameter`.
pub(crate) fn go_to_login(login_url: &str, redirect_parameter: &str) {
    let Some(window) = window() else {
        return;
    };
    let location = window.location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let base = location.href().unwrap_or_default();
    let Ok(target) = web_sys::Url::new_with_base(login_url, &base) else {
        return;
    };
    target.search_params().set(redirect_parameter, &here);
    let _ = location.assign(&target.href());
}
