//! Another origin's pages that make a signed-in user's browser send forged
//! requests to an example app (feature `browser`), for the cross-origin
//! tests: a page that submits a form by itself, and a page whose script
//! sends a `no-cors` fetch with the user's cookies.
//!
//! [`Attacker`] serves them on `127.0.0.1` on a port of its own. An app
//! on another port of `127.0.0.1` is then the same *site* (ports do not
//! count, so `SameSite=Lax` cookies go along) but another *origin*:
//! the position of a subdomain, a user-content host or another app on the
//! domain. Chromium marks these requests `Sec-Fetch-Site: same-site`.

use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use fantoccini::Client;

use crate::browser::{Result, eventually, text_of};

/// The attacker's web server, on `127.0.0.1:<free port>`; stops on drop.
#[derive(Debug)]
pub struct Attacker {
    origin: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `?target=<url>&<field>=<value>…`: where to send what.
type Fields = Query<Vec<(String, String)>>;

impl Attacker {
    /// Starts serving the attacker's pages.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start() -> std::io::Result<Attacker> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let origin = format!("http://{}", listener.local_addr()?);
        let router = Router::new()
            .route("/form", get(form_page))
            .route("/fetch", get(fetch_page));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Attacker { origin, server })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn page(&self, page: &str, target: &str, fields: &[(&str, &str)]) -> Result<String> {
        let params = std::iter::once(("target", target)).chain(fields.iter().copied());
        let url = reqwest::Url::parse_with_params(&format!("{}/{page}", self.origin), params)?;
        Ok(url.into())
    }

    /// Opens the attacker's page that POSTs `fields` (URL-encoded) to
    /// `target` with an HTML form it submits itself, as soon as it loads,
    /// and waits until the browser has left the attacker's origin (it
    /// then shows `target`'s answer).
    ///
    /// # Errors
    /// A WebDriver failure, or the browser still on the attacker's page
    /// after `timeout`.
    pub async fn submit_form(
        &self,
        browser: &Client,
        target: &str,
        fields: &[(&str, &str)],
        timeout: Duration,
    ) -> Result {
        browser.goto(&self.page("form", target, fields)?).await?;
        let target_origin = reqwest::Url::parse(target)?.origin().ascii_serialization();
        eventually("the forged form's navigation", timeout, || async {
            let here = browser.current_url().await?.origin().ascii_serialization();
            Ok((here == target_origin).then_some(()))
        })
        .await
    }

    /// Opens the attacker's page whose script sends
    /// `fetch(target, {method: "POST", mode: "no-cors", credentials: "include", body})`
    /// with `fields` URL-encoded, and waits for the answer. Returns the
    /// response's type as the page sees it (`opaque`: the request was
    /// answered, and the page can read nothing of it) or the error.
    ///
    /// # Errors
    /// A WebDriver failure, or no answer after `timeout`.
    pub async fn send_no_cors_fetch(
        &self,
        browser: &Client,
        target: &str,
        fields: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<String> {
        browser.goto(&self.page("fetch", target, fields)?).await?;
        eventually("the forged fetch's answer", timeout, || async {
            Ok(text_of(browser, "#sent")
                .await?
                .filter(|sent| !sent.is_empty()))
        })
        .await
    }
}

/// `(target, fields)` of a page's query.
fn split(Query(mut params): Fields) -> (String, Vec<(String, String)>) {
    let target = params
        .iter()
        .position(|(name, _)| name == "target")
        .map(|at| params.remove(at).1)
        .unwrap_or_default();
    (target, params)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A form that POSTs the fields to the target as soon as the page loads.
async fn form_page(query: Fields) -> Html<String> {
    let (target, fields) = split(query);
    let inputs: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html>\n<html><head><title>Win a prize</title></head><body>\n\
         <form id=\"forged\" method=\"post\" action=\"{}\">{inputs}</form>\n\
         <script>document.getElementById('forged').submit();</script>\n</body></html>\n",
        escape(&target)
    ))
}

/// A script that sends a `no-cors` POST with the user's cookies and shows
/// what it got back in `#sent`.
async fn fetch_page(query: Fields) -> Html<String> {
    let (target, fields) = split(query);
    // JSON in a script: `<` escaped, so no value can end the script early.
    let json = |value: serde_json::Value| value.to_string().replace('<', "\\u003c");
    let target = json(serde_json::Value::from(target));
    let fields = json(serde_json::json!(fields));
    Html(format!(
        "<!doctype html>\n<html><head><title>Win a prize</title></head><body>\n\
         <p id=\"sent\"></p>\n<script>\n\
         fetch({target}, {{ method: 'POST', mode: 'no-cors', credentials: 'include', \
         body: new URLSearchParams({fields}) }})\n\
         .then(r => {{ document.getElementById('sent').textContent = r.type; }},\n\
         e => {{ document.getElementById('sent').textContent = 'error: ' + e; }});\n\
         </script>\n</body></html>\n"
    ))
}

/// Waits up to `timeout` until the browser shows the core's answer to a
/// forged navigation, the 403 page (`#ssr-session-forged`), at `expected`
/// (path and query); fails if it shows the refresh bridge or the login
/// page instead (a refresh cannot help a forged request, and the user's
/// session is not at fault).
///
/// # Errors
/// A WebDriver failure, another page, or nothing after `timeout`.
pub async fn wait_for_forged_page(browser: &Client, expected: &str, timeout: Duration) -> Result {
    let what = format!("the 403 page for a forged request at {expected}");
    eventually(&what, timeout, || async {
        let here = crate::browser::path_and_query(browser).await?;
        let refused = text_of(browser, "#ssr-session-forged").await?;
        Ok((here == expected && refused.is_some()).then_some(()))
    })
    .await?;
    for (css, what) in [
        ("#ssr-session-status", "the refresh bridge"),
        ("#ssr-session-login", "the refresh bridge"),
        ("input[name=redirectTo]", "the login page"),
        ("#user-id", "the page for the user"),
        ("#saved", "a saved form"),
    ] {
        if text_of(browser, css).await?.is_some() {
            return Err(format!("the forged request's answer shows {what} ({css})").into());
        }
    }
    Ok(())
}
