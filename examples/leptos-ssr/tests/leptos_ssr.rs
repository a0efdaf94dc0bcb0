//! The `leptos-ssr` example, run as a process and driven over plain HTTP:
//! pages and server functions for anonymous, signed-in, admin, expired and
//! forged sessions.

use serde_json::{Value, json};

use ssr_session_example_support::process::{Server, access_token_set_by};

const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

/// A status, the response's headers and its body.
type Answer = (u16, reqwest::header::HeaderMap, String);

struct Site {
    server: Server,
    client: reqwest::Client,
}

impl Site {
    fn start() -> Self {
        Self {
            server: Server::start(env!("CARGO_BIN_EXE_leptos-ssr"), &[]),
            client: ssr_session::jwks::client_builder()
                .unwrap()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, cookie: Option<&str>) -> Answer {
        let request = match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.expect("body"))
    }

    /// A navigation to `path`.
    async fn page(&self, path: &str, cookie: Option<&str>) -> Answer {
        let request = self
            .client
            .get(self.server.url(path))
            .header("accept", HTML);
        self.send(request, cookie).await
    }

    /// A server-function call, as Leptos' client makes it: `POST`,
    /// URL-encoded arguments (none here), JSON back.
    async fn server_fn(&self, path: &str, cookie: Option<&str>) -> (u16, Value) {
        let request = self
            .client
            .post(self.server.url(path))
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("");
        let (status, _, body) = self.send(request, cookie).await;
        (status, json(&body))
    }

    /// Signs in with the dev issuer; the `sAccessToken` cookie to send.
    async fn sign_in(&self, query: &str) -> String {
        let (status, headers, _) = self.page(&format!("/auth/dev/signin?{query}"), None).await;
        assert!(status < 400, "sign-in answered {status}");
        let token = access_token_set_by(&headers).expect("an sAccessToken cookie");
        format!("sAccessToken={token}")
    }

    /// A correctly signed access token for `user` that expired a minute ago.
    async fn expired_cookie(&self, user: &str) -> String {
        let request = self.client.get(
            self.server
                .url(&format!("/auth/dev/expired-access-token?userId={user}")),
        );
        let (status, _, body) = self.send(request, None).await;
        assert_eq!(status, 200, "{body}");
        let token = json(&body)["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_owned();
        format!("sAccessToken={token}")
    }
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"))
}

/// The text of the element with `id`, as Leptos rendered it (attributes
/// may follow the id; the text ends at the next tag).
fn text_of(body: &str, id: &str) -> Option<String> {
    let start = body.find(&format!("id=\"{id}\""))?;
    let rest = &body[start..];
    let text = &rest[rest.find('>')? + 1..];
    Some(text[..text.find('<')?].to_owned())
}

/// The refresh bridge: the layer's answer, not a Leptos page.
fn assert_bridge(answer: &Answer) {
    let (status, _, body) = answer;
    assert_eq!(*status, 401, "{body}");
    assert!(body.contains("/auth/session/refresh"), "{body}");
    assert!(!body.contains("<nav>"), "Leptos rendered nothing: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_visitors_get_public_pages_and_the_layers_answers() {
    let site = Site::start();

    let (status, _, body) = site.page("/", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<h1>ssr-session on Leptos</h1>"), "{body}");
    assert!(body.contains("/auth/dev/signin?userId=alice"), "{body}");

    let (status, _, body) = site.page("/optional", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(text_of(&body, "anonymous").as_deref(), Some("anonymous"));
    assert_eq!(text_of(&body, "user-id"), None);

    // No token: the layer answers before Leptos renders anything.
    assert_bridge(&site.page("/dashboard", None).await);
    assert_bridge(&site.page("/admin", None).await);

    // The server functions are data requests: SuperTokens' answer.
    assert_eq!(
        site.server_fn("/api/session/whoami", None).await,
        (401, json!({"message": "try refresh token"}))
    );
    assert_eq!(
        site.server_fn("/api/optional/current_user", None).await,
        (200, Value::Null)
    );

    let (status, _, _) = site.page("/nowhere", None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_in_users_see_their_session_and_no_admin_page() {
    let site = Site::start();
    let cookie = site.sign_in("userId=alice&roles=editor").await;

    let (status, _, body) = site.page("/dashboard", Some(&cookie)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(text_of(&body, "user-id").as_deref(), Some("alice"));
    assert_eq!(text_of(&body, "roles").as_deref(), Some("editor"));
    assert_eq!(text_of(&body, "error"), None, "{body}");

    let (status, _, body) = site.page("/optional", Some(&cookie)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(text_of(&body, "user-id").as_deref(), Some("alice"));

    let (status, answer) = site.server_fn("/api/session/whoami", Some(&cookie)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["user_id"], "alice");
    assert_eq!(answer["roles"], json!(["editor"]));
    let (status, answer) = site
        .server_fn("/api/optional/current_user", Some(&cookie))
        .await;
    assert_eq!((status, &answer["user_id"]), (200, &json!("alice")));

    // Not an admin: the admin group's layer refuses with 403.
    let (status, _, body) = site.page("/admin", Some(&cookie)).await;
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("administrator"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_get_the_admin_page() {
    let site = Site::start();
    let cookie = site.sign_in("userId=root&roles=admin,editor").await;

    let (status, _, body) = site.page("/admin", Some(&cookie)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(text_of(&body, "user-id").as_deref(), Some("root"));
    assert_eq!(text_of(&body, "roles").as_deref(), Some("admin, editor"));

    let (status, _, body) = site.page("/dashboard", Some(&cookie)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(text_of(&body, "roles").as_deref(), Some("admin, editor"));
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_forged_tokens_are_answered_before_rendering() {
    let site = Site::start();
    let expired = site.expired_cookie("alice").await;

    // Expired: the bridge for pages (the optional one too: the browser
    // should refresh), SuperTokens' 401 for server functions.
    assert_bridge(&site.page("/dashboard", Some(&expired)).await);
    assert_bridge(&site.page("/optional", Some(&expired)).await);
    assert_bridge(&site.page("/admin", Some(&expired)).await);
    assert_eq!(
        site.server_fn("/api/session/whoami", Some(&expired)).await,
        (401, json!({"message": "try refresh token"}))
    );
    assert_eq!(
        site.server_fn("/api/optional/current_user", Some(&expired))
            .await,
        (401, json!({"message": "try refresh token"}))
    );

    // Forged: sent to sign in again, with the way back.
    let cookie = site.sign_in("userId=alice").await;
    let forged = format!("{cookie}x");
    let (status, headers, _) = site.page("/dashboard?x=1", Some(&forged)).await;
    assert_eq!(status, 303);
    assert_eq!(
        headers["location"],
        "/auth?redirectToPath=%2Fdashboard%3Fx%3D1"
    );
    let (status, answer) = site.server_fn("/api/session/whoami", Some(&forged)).await;
    assert_eq!(
        (status, answer["message"].as_str()),
        (401, Some("unauthorised"))
    );
}
