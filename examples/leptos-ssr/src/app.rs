//! The site's components: the router and one component per page.
//!
//! The pages that show the session render in [`SsrMode::Async`]: the HTML
//! is sent whole once the session is read, with the status the layer in
//! front already decided.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use leptos::server_fn::ServerFn as _;

use crate::api::{SaveTheme, UserView, account, current_user, whoami};

/// The whole HTML document around [`App`]. When `hydrate` is set, the page
/// links the client bundle (`/pkg/…`) built with `cargo leptos`.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions, hydrate: bool) -> impl IntoView {
    let scripts = hydrate.then(|| view! { <HydrationScripts options/> });
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
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            // `rel="external"`: a full navigation, so that every page goes
            // through the session layer (also once hydrated).
            <nav>
                <a href="/" rel="external">"Home"</a>
                " · "
                <a href="/dashboard" rel="external">"Dashboard"</a>
                " · "
                <a href="/optional" rel="external">"Optional"</a>
                " · "
                <a href="/admin" rel="external">"Admin"</a>
                " · "
                <a href="/account/settings" rel="external">"Settings"</a>
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
        <table>
            <tr><th>"tenant"</th><td id="tenant">{user.tenant.clone()}</td></tr>
            <tr><th>"roles"</th><td id="roles">{listed(&user.roles)}</td></tr>
            <tr><th>"permissions"</th><td id="permissions">{listed(&user.permissions)}</td></tr>
            <tr><th>"email"</th><td>{email}</td></tr>
            <tr><th>"expires (unix)"</th><td>{user.expires_at}</td></tr>
        </table>
    }
}

/// What a server function's error looks like on a page (only reached when
/// the page is rendered without its layer).
fn failure(error: &ServerFnError) -> AnyView {
    view! { <p id="error">"The session could not be read: " {error.to_string()}</p> }.into_any()
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

/// `/admin`: only sessions with the `admin` role get here.
#[component]
pub fn Admin() -> impl IntoView {
    let user = OnceResource::new_blocking(whoami());
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
