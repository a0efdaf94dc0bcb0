//! The site's components: the router and one component per page.
//!
//! The pages that show the session render in [`SsrMode::Async`]: the HTML
//! is sent whole once the session is read, with the status the layer in
//! front already decided.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use leptos::server_fn::ServerFn as _;

use ssr_session_leptos_client::SessionError;

use crate::api::{SaveTheme, UserView, account, admin_whoami, current_user, whoami, whoami_plain};

/// Where the hydrated client sends the refresh call and the browser when the
/// session is gone: the server's own settings, handed to the page in
/// `<meta>` tags that the client bundle reads when it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionUrls {
    /// SuperTokens' refresh route, `{apiDomain}{apiBasePath}/session/refresh`.
    pub refresh: String,
    /// The login page, `{apiDomain}{apiBasePath}`.
    pub login: String,
}

impl SessionUrls {
    /// The `<meta>` tag naming the refresh route.
    pub const REFRESH_META: &str = "ssr-session-refresh-url";
    /// The `<meta>` tag naming the login page.
    pub const LOGIN_META: &str = "ssr-session-login-url";

    /// The routes of a SuperTokens backend at `api_domain` (`None`: the
    /// embedded dev issuer, on the page's origin), `apiBasePath` `/auth`.
    pub fn for_api_domain(api_domain: Option<&str>) -> Self {
        let domain = api_domain.unwrap_or("").trim_end_matches('/');
        SessionUrls {
            refresh: format!("{domain}/auth/session/refresh"),
            login: format!("{domain}/auth"),
        }
    }
}

/// The whole HTML document around [`App`]. When `hydrate` is set, the page
/// links the client bundle (`/pkg/…`) that `scripts/build-leptos-bundle.sh`
/// builds, and tells it the session's URLs.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions, hydrate: bool, urls: SessionUrls) -> impl IntoView {
    let scripts = hydrate.then(|| {
        view! {
            <meta name=SessionUrls::REFRESH_META content=urls.refresh/>
            <meta name=SessionUrls::LOGIN_META content=urls.login/>
            <HydrationScripts options/>
        }
    });
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>"ssr-session on Leptos"</title>
                {scripts}
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The site: navigation and routes.
///
/// Once hydrated, the navigation links are client-side: the page's data
/// then comes from server functions, each behind the layer its route group
/// needs (so `/admin`'s data needs the `admin` role however the page is
/// reached). Links to the dev issuer (`/auth/…`) stay full navigations.
#[component]
pub fn App() -> impl IntoView {
    // Effects run only in the browser, once the page is hydrated: the
    // marker tells a reader (and the browser tests) that the app is live.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Router>
            <nav>
                <a href="/">"Home"</a>
                " · "
                <a href="/dashboard">"Dashboard"</a>
                " · "
                <a href="/optional">"Optional"</a>
                " · "
                <a href="/admin">"Admin"</a>
                " · "
                <a href="/account/settings">"Settings"</a>
                " "
                <span id="hydration" data-state=move || if hydrated.get() { "hydrated" } else { "server" }></span>
            </nav>
            <main>
                <Routes fallback=|| view! { <h1>"Not found"</h1> }>
                    <Route path=path!("/") view=Home/>
                    <Route path=path!("/dashboard") view=Dashboard ssr=SsrMode::Async/>
                    <Route path=path!("/optional") view=Optional ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=Admin ssr=SsrMode::Async/>
                    <Route path=path!("/account/settings") view=Settings ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// `/`: public, with a sign-in link.
#[component]
pub fn Home() -> impl IntoView {
    view! {
        <h1>"ssr-session on Leptos"</h1>
        <p>"This page is public."</p>
        <p>
            <a id="signin" rel="external" href="/auth/dev/signin?userId=alice&redirectTo=/dashboard">
                "Sign in as alice"
            </a>
            " or "
            <a id="signin-admin" rel="external" href="/auth/dev/signin?userId=root&roles=admin&redirectTo=/admin">
                "as an admin"
            </a>
            " (dev issuer)"
        </p>
    }
}

/// A list, or `-` when empty.
fn listed(values: &[String]) -> String {
    if values.is_empty() {
        "-".to_owned()
    } else {
        values.join(", ")
    }
}

/// The session's user id and claims.
#[component]
fn UserDetails(user: UserView) -> impl IntoView {
    let email = match user.email_verified {
        Some(true) => "verified",
        Some(false) => "not verified",
        None => "-",
    };
    view! {
        <p>"Signed in as " <strong id="user-id">{user.user_id.clone()}</strong></p>
        // `<tbody>` written out: the browser adds it when parsing, and
        // hydration expects the DOM the server's HTML makes.
        <table><tbody>
            <tr><th>"tenant"</th><td id="tenant">{user.tenant.clone()}</td></tr>
            <tr><th>"roles"</th><td id="roles">{listed(&user.roles)}</td></tr>
            <tr><th>"permissions"</th><td id="permissions">{listed(&user.permissions)}</td></tr>
            <tr><th>"email"</th><td>{email}</td></tr>
            <tr><th>"expires (unix)"</th><td>{user.expires_at}</td></tr>
        </tbody></table>
    }
}

/// What a server function's error looks like on a page: a missing claim
/// lists the SDK-format failures; anything else says what happened.
fn failure(error: &SessionError) -> AnyView {
    match error {
        SessionError::ClaimsFailed(failures) => view! {
            <div id="claim-error">
                <p>"This needs more than your session has:"</p>
                <ul>
                    {failures
                        .iter()
                        .map(|failure| {
                            let reason = failure.message().unwrap_or("failed").to_owned();
                            view! {
                                <li class="claim" data-claim=failure.id.clone()>
                                    {failure.id.clone()} ": " {reason}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </div>
        }
        .into_any(),
        error => view! { <p id="error">"The session could not be read: " {error.to_string()}</p> }
            .into_any(),
    }
}

/// A call's result as text: empty before it ends, the user id(s) when it
/// succeeded, `error: …` when it failed.
fn shown<T: std::fmt::Display>(result: Option<Result<T, impl std::fmt::Display>>) -> String {
    match result {
        None => String::new(),
        Some(Ok(value)) => value.to_string(),
        Some(Err(error)) => format!("error: {error}"),
    }
}

/// Buttons that call server functions from the hydrated page, after the
/// access token may have expired: the client refreshes on its own.
#[component]
fn Calls() -> impl IntoView {
    let clicks = RwSignal::new(0_u32);
    let one = Action::new(|_: &()| async { whoami().await.map(|user| user.user_id) });
    let three = Action::new(|_: &()| async {
        let calls = futures_util::future::join3(whoami(), whoami(), whoami()).await;
        [calls.0, calls.1, calls.2]
            .into_iter()
            .map(|call| call.map(|user| user.user_id))
            .collect::<Result<Vec<_>, _>>()
            .map(|users| users.join(","))
    });
    let admin = Action::new(|_: &()| admin_whoami());
    let plain = Action::new(|_: &()| async { whoami_plain().await.map(|user| user.user_id) });
    view! {
        <section id="calls">
            <h2>"From the browser"</h2>
            <p>
                <button id="counter" on:click=move |_| clicks.update(|count| *count += 1)>
                    "Count (no server): " <span id="count">{clicks}</span>
                </button>
            </p>
            <p>
                <button id="call-one" on:click=move |_| { one.dispatch(()); }>"Who am I?"</button>
                " " <span id="one-result">{move || shown(one.value().get())}</span>
            </p>
            <p>
                <button id="call-three" on:click=move |_| { three.dispatch(()); }>"Three at once"</button>
                " " <span id="three-result">{move || shown(three.value().get())}</span>
            </p>
            <p>
                <button id="call-admin" on:click=move |_| { admin.dispatch(()); }>"Admin data"</button>
                " "
                {move || match admin.value().get() {
                    None => ().into_any(),
                    Some(Ok(user)) => view! { <span id="admin-result">{user.user_id}</span> }.into_any(),
                    Some(Err(error)) => failure(&error),
                }}
            </p>
            <p>
                <button id="call-plain" on:click=move |_| { plain.dispatch(()); }>
                    "Who am I? (Leptos' own client)"
                </button>
                " " <span id="plain-result">{move || shown(plain.value().get())}</span>
            </p>
        </section>
    }
}

/// `/dashboard`: the user id, roles and a few claims.
#[component]
pub fn Dashboard() -> impl IntoView {
    let user = OnceResource::new_blocking(whoami());
    view! {
        <h1>"Dashboard"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(user) => view! { <UserDetails user/> }.into_any(),
                    Err(error) => failure(&error),
                }
            })}
        </Suspense>
        <Calls/>
        <form method="post" action="/auth/signout">
            <button>"Sign out"</button>
        </form>
    }
}

/// `/optional`: greets anonymous or signed-in users.
#[component]
pub fn Optional() -> impl IntoView {
    let user = OnceResource::new_blocking(current_user());
    view! {
        <h1>"Optional session"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => view! {
                        <p>"Hello, " <strong id="user-id">{user.user_id}</strong> "!"</p>
                    }
                    .into_any(),
                    Ok(None) => view! {
                        <p>"Hello, " <strong id="anonymous">"anonymous"</strong> " visitor."</p>
                    }
                    .into_any(),
                    Err(error) => failure(&error),
                }
            })}
        </Suspense>
    }
}

/// `/admin`: only sessions with the `admin` role get here (the page's
/// layer, or once hydrated [`admin_whoami`]'s, which answers the claim
/// error the page then shows).
#[component]
pub fn Admin() -> impl IntoView {
    let user = OnceResource::new_blocking(admin_whoami());
    view! {
        <h1>"Admin"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(user) => view! {
                        <p>"Welcome, administrator " <strong id="user-id">{user.user_id.clone()}</strong> "."</p>
                        <p>"Roles: " <span id="roles">{listed(&user.roles)}</span></p>
                    }
                    .into_any(),
                    Err(error) => failure(&error),
                }
            })}
        </Suspense>
    }
}

/// `/account/settings`: the theme the user saved, and a plain HTML form
/// that posts a new one to the [`save_theme`](crate::api::save_theme)
/// server function (Leptos redirects the browser back here).
#[component]
pub fn Settings() -> impl IntoView {
    let account = OnceResource::new_blocking(account());
    view! {
        <h1>"Settings"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(account) => view! {
                        <p>"Settings of " <strong id="user-id">{account.user_id}</strong></p>
                        <p>"Theme: " <span id="theme">{account.theme.unwrap_or_else(|| "default".to_owned())}</span></p>
                    }
                    .into_any(),
                    Err(error) => failure(&error),
                }
            })}
        </Suspense>
        <form id="settings" method="post" action=SaveTheme::url()>
            <input name="theme" value="dark"/>
            <button id="save">"Save"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::SessionUrls;

    #[test]
    fn session_urls_follow_the_api_domain() {
        let dev = SessionUrls::for_api_domain(None);
        assert_eq!(dev.refresh, "/auth/session/refresh");
        assert_eq!(dev.login, "/auth");
        let backend = SessionUrls::for_api_domain(Some("https://api.example.com/"));
        assert_eq!(
            backend.refresh,
            "https://api.example.com/auth/session/refresh"
        );
        assert_eq!(backend.login, "https://api.example.com/auth");
    }
}
