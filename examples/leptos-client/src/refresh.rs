//! One refresh for the whole page.
//!
//! Every call records the page's refresh count when it is sent. A call that
//! meets a `401` then either joins the refresh under way, or, when a refresh
//! has ended since it was sent (its `401` was about the old token), takes
//! that refresh's result without another; only a call sent after the last
//! refresh starts a new one.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use futures_util::FutureExt as _;
use futures_util::future::Shared;

use crate::browser;

/// Where the client sends the refresh call and the browser when the session
/// is gone. Set with [`configure`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionClientConfig {
    /// The refresh route: `{apiDomain}{apiBasePath}/session/refresh`
    /// (default `/auth/session/refresh`, on the page's origin).
    pub refresh_url: String,
    /// The login page (default `/auth`, on the page's origin).
    pub login_url: String,
    /// The login page's parameter for the way back (default `redirectToPath`).
    pub redirect_parameter: String,
}

impl Default for SessionClientConfig {
    fn default() -> Self {
        SessionClientConfig {
            refresh_url: "/auth/session/refresh".to_owned(),
            login_url: "/auth".to_owned(),
            redirect_parameter: "redirectToPath".to_owned(),
        }
    }
}

/// Sets where the refresh call and the login page are, for every later call
/// (call it first thing in the client's entry point, before hydrating).
pub fn configure(config: SessionClientConfig) {
    PAGE.with(|page| page.borrow_mut().config = config);
}

/// Whether supertokens-website is on the page (it then refreshes, and the
/// [`SessionClient`](crate::SessionClient) never does).
pub fn is_supertokens_website_loaded() -> bool {
    browser::sdk_intercepts_fetch()
}

/// How a refresh ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refreshed {
    /// New tokens: send the call again.
    Yes,
    /// The refresh token was refused (or the call failed): sign in again.
    No,
}

type RefreshFuture = Shared<Pin<Box<dyn Future<Output = Refreshed>>>>;

#[derive(Default)]
struct Page {
    config: SessionClientConfig,
    /// Refreshes ended so far.
    ended: u64,
    /// How the last one ended.
    last: Option<Refreshed>,
    running: Option<RefreshFuture>,
}

thread_local! {
    // The browser runs the page on one thread: this is the page's state.
    static PAGE: RefCell<Page> = RefCell::new(Page::default());
}

/// The mark a call keeps when it is sent: how many refreshes had ended.
pub(crate) fn mark() -> u64 {
    PAGE.with(|page| page.borrow().ended)
}

/// The client's configuration.
pub(crate) fn config() -> SessionClientConfig {
    PAGE.with(|page| page.borrow().config.clone())
}

/// The session after a `401` to a call sent at `mark`: the result of a
/// refresh ended since, else of the one under way, else of a new one.
pub(crate) async fn refresh_since(mark: u64) -> Refreshed {
    let running = PAGE.with(|page| {
        let mut page = page.borrow_mut();
        if page.ended > mark {
            return Err(page.last.unwrap_or(Refreshed::No));
        }
        let url = page.config.refresh_url.clone();
        let running = page.running.get_or_insert_with(|| {
            let refresh: Pin<Box<dyn Future<Output = Refreshed>>> = Box::pin(async move {
                let refreshed = if browser::post_refresh(&url).await {
                    Refreshed::Yes
                } else {
                    Refreshed::No
                };
                PAGE.with(|page| {
                    let mut page = page.borrow_mut();
                    page.ended += 1;
                    page.last = Some(refreshed);
                    page.running = None;
                });
                refreshed
            });
            refresh.shared()
        });
        Ok(running.clone())
    });
    match running {
        Ok(running) => running.await,
        Err(known) => known,
    }
}
