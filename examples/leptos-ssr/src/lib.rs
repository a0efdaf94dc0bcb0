//! The ssr-session example site on [Leptos](https://leptos.dev) 0.8:
//! server-side rendering with `leptos_axum`, behind `ssr-session-axum`'s
//! [`SessionLayer`](ssr_session_axum::SessionLayer).
//!
//! ```text
//! cargo run -p ssr-session-example-leptos
//! ```
//!
//! Open the printed address and sign in with the embedded dev issuer (or
//! point `--api-domain` at a real SuperTokens backend). Once the access token
//! expires (60 s by default), `/dashboard` answers with the refresh bridge,
//! which refreshes the session and reloads the page; on a hydrated page
//! (see [Hydration](#hydration)), server-function calls refresh on their own.
//!
//! # Who decides, and when
//!
//! Leptos streams HTML: once the first bytes are out, the status and the
//! headers are fixed, and `leptos_axum::redirect()` can no longer send anyone
//! to the login page. So the session is decided *before* Leptos renders: each
//! page and server-function route group sits behind a
//! [`SessionLayer`](ssr_session_axum::SessionLayer) in `required` or
//! `optional` mode, which answers needs-refresh (the refresh bridge for a
//! navigation, `401 {"message":"try refresh token"}` for a data request such
//! as a server-function call), invalid (`303` to `/auth?redirectToPath=…`),
//! a missing role (`403`) and unavailable (`503`) itself. Leptos only ever
//! renders for a request the layer let through.
//!
//! Components read the session through server functions ([`api`]), which
//! call `leptos_axum::extract::<Session>()`: the extractor reads the outcome
//! the layer recorded in the request, so nothing is verified twice.
//!
//! | route | session | answer |
//! |---|---|---|
//! | `/` | none | public page |
//! | `/dashboard` | `SessionLayer::required` | the user id, roles and a few claims |
//! | `/optional` | `SessionLayer::optional` | a greeting for anonymous or signed-in users |
//! | `/admin` | `SessionLayer::required`, role `admin` | the admin page, or `403` |
//! | `POST /api/session/whoami` | server function behind `SessionLayer::required` | the session as JSON, or the layer's answer |
//! | `POST /api/optional/current_user` | server function behind `SessionLayer::optional` | the session or `null` |
//! | `POST /api/session/whoami_plain` | as `whoami`, with Leptos' own client (no refresh): the browser tests' control | |
//! | `POST /api/admin/whoami` | server function behind `SessionLayer::required`, role `admin` | the session, or `403 invalid claim` |
//! | `/account/settings` | `SessionLayer::required` | the saved theme and a form posting to `save_theme` |
//! | `POST /api/session/account` | server function behind `SessionLayer::required` | the user id and saved theme |
//! | `POST /api/session/save_theme` | server function behind `SessionLayer::required` | saves the theme |
//! | `GET /dev/form-posts` | — | `{"formPosts":n}`: how many saves reached a handler (for the tests) |
//! | `/auth/…` | — | the dev issuer (sign-in, refresh, JWKS, sign-out) |
//!
//! # Hydration
//!
//! ```text
//! scripts/build-leptos-bundle.sh && cargo run -p ssr-session-example-leptos
//! ```
//!
//! The script builds the client bundle (this library with the `hydrate`
//! feature, for `wasm32-unknown-unknown`, bound by `wasm-bindgen-cli` at
//! the `wasm-bindgen` version of `Cargo.lock`; it installs the target and the
//! CLI when missing) into `target/site/pkg`. When the server finds it there
//! (`$LEPTOS_SITE_ROOT`, default `target/site`), every page links it and
//! `/pkg` serves it: the pages hydrate, and the navigation links are
//! client-side. Without it, the pages are complete HTML that needs no script.
//!
//! Once hydrated, a page calls server functions with `fetch`, and the access
//! token may have expired since the page loaded. The server functions name
//! `ssr-session-leptos-client`'s `SessionClient` (`#[server(client =
//! SessionClient)]`): on the layer's `401` it refreshes the session once for
//! the whole page and calls again; when the refresh fails it goes to the
//! login page with the way back; the layer's `403 invalid claim` comes back
//! as `SessionError::ClaimsFailed`, which the pages render. With
//! supertokens-website on the page, the SDK refreshes and the client steps
//! aside. The dashboard's buttons show each case.
//!
//! What this package costs to build (and what the examples split saved a
//! newcomer) is in `MEASUREMENTS.md` beside this crate's `Cargo.toml`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod app;
#[cfg(feature = "ssr")]
pub mod server;

/// The client bundle's entry point: points the session client at the
/// server's URLs (the page's `<meta>` tags), then hydrates the
/// server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic in wasm is only `unreachable` in the console without this.
    std::panic::set_hook(Box::new(|panic| {
        web_sys::console::error_1(&panic.to_string().into());
    }));
    let meta = |name: &str| {
        web_sys::window()?
            .document()?
            .query_selector(&format!("meta[name='{name}']"))
            .ok()??
            .get_attribute("content")
    };
    let defaults = ssr_session_leptos_client::SessionClientConfig::default();
    ssr_session_leptos_client::configure(ssr_session_leptos_client::SessionClientConfig {
        refresh_url: meta(app::SessionUrls::REFRESH_META).unwrap_or(defaults.refresh_url),
        login_url: meta(app::SessionUrls::LOGIN_META).unwrap_or(defaults.login_url),
        redirect_parameter: defaults.redirect_parameter,
    });
    leptos::mount::hydrate_body(app::App);
}
