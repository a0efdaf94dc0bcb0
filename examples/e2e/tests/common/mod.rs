//! What the subprocess tests of the three example apps share: a client for
//! one running app (cookies set by hand, redirects never followed), and the
//! scenarios every framework must pass alike. Each test file expands
//! [`app_scenarios!`] with its binary, so each scenario runs once per
//! framework as a test of its own.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use ssr_session_example_support::process::{Server, access_token_set_by};

/// What a browser's navigation accepts.
pub const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";
/// What a `fetch` for data accepts.
pub const JSON: &str = "application/json";

/// One answer: status, headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The body as JSON (fails the test when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {:?}", self.status, self.body))
    }

    /// `(status, JSON body)`, for one `assert_eq!` on both.
    pub fn status_json(&self) -> (u16, Value) {
        (self.status, self.json())
    }

    /// A header's value as text (`""` when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// The JSON the core's 403 page embeds in
    /// `<script type="application/json" id="ssr-session-invalid-claim">`.
    pub fn embedded_invalid_claim(&self) -> Value {
        let start_tag = "<script type=\"application/json\" id=\"ssr-session-invalid-claim\">";
        let start = self
            .body
            .find(start_tag)
            .unwrap_or_else(|| panic!("no invalid-claim JSON in {:?}", self.body))
            + start_tag.len();
        let end = start
            + self.body[start..]
                .find("</script>")
                .expect("the script element is closed");
        serde_json::from_str(&self.body[start..end]).expect("the embedded JSON parses")
    }
}

/// A running example app and a client for it.
pub struct App {
    server: Server,
    client: reqwest::Client,
}

impl App {
    /// Starts `binary` (a `CARGO_BIN_EXE_*` path) with `args`.
    pub fn start(binary: &str, args: &[&str]) -> Self {
        let client = ssr_session::jwks::client_builder()
            .unwrap()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            server: Server::start(binary, args),
            client,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        Self::answer(request).await
    }

    async fn answer(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Answer {
            status,
            headers,
            body,
        }
    }

    /// `GET path` with `Accept: accept` and, if given, `Cookie: cookie`.
    pub async fn get(&self, path: &str, accept: &str, cookie: Option<&str>) -> Answer {
        let mut request = self.client.get(self.url(path)).header("accept", accept);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        self.send(request).await
    }

    /// `POST path` with a form body, `Accept: accept` and, if given, `Cookie: cookie`.
    pub async fn post_form(
        &self,
        path: &str,
        accept: &str,
        cookie: Option<&str>,
        form: &str,
    ) -> Answer {
        let mut request = self
            .client
            .post(self.url(path))
            .header("accept", accept)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        self.send(request).await
    }

    /// `POST path` with an empty form body, `Accept: accept`, `Cookie: cookie`
    /// and the extra `headers` (e.g. `Sec-Fetch-Site`, `Origin`).
    pub async fn post_with(
        &self,
        path: &str,
        accept: &str,
        cookie: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .client
            .post(self.url(path))
            .header("accept", accept)
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("theme=evil");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// `POST /auth/dev/<control>` (a test control of the dev issuer); its JSON answer.
    pub async fn control(&self, control: &str) -> Value {
        let answer = self
            .post_form(&format!("/auth/dev/{control}"), JSON, None, "")
            .await;
        assert_eq!(answer.status, 200, "{control}: {}", answer.body);
        answer.json()
    }

    /// The dev issuer's counters: `{"refreshCalls":N,"jwksRequests":M}`.
    pub async fn stats(&self) -> Value {
        let answer = self.get("/auth/dev/stats", JSON, None).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()
    }

    /// How many JWKS requests the dev issuer has served (all of them the app's).
    pub async fn jwks_requests(&self) -> u64 {
        self.stats().await["jwksRequests"]
            .as_u64()
            .expect("jwksRequests")
    }

    /// How many times the settings form reached its handler.
    pub async fn form_posts(&self) -> u64 {
        let answer = self.get("/dev/form-posts", JSON, None).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()["formPosts"].as_u64().expect("formPosts")
    }

    /// Signs `user` in through `GET /auth/dev/signin?userId=<user>&<claims>`
    /// (e.g. `roles=admin&emailVerified=true`); returns the `Cookie` header
    /// carrying the new access token.
    pub async fn sign_in(&self, user: &str, claims: &str) -> String {
        let mut path = format!("/auth/dev/signin?userId={user}");
        if !claims.is_empty() {
            path = format!("{path}&{claims}");
        }
        let answer = self.get(&path, HTML, None).await;
        assert_eq!(answer.status, 303, "sign-in: {}", answer.body);
        let token = access_token_set_by(&answer.headers).expect("an sAccessToken cookie");
        format!("sAccessToken={token}")
    }

    /// A correctly signed access token of `user` that expired a minute ago, as a `Cookie`.
    pub async fn expired_cookie(&self, user: &str) -> String {
        let answer = self
            .get(
                &format!("/auth/dev/expired-access-token?userId={user}"),
                JSON,
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let token = answer.json()["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_owned();
        format!("sAccessToken={token}")
    }
}

/// A JSON member of a JWT's header (decoded, not verified).
pub fn jwt_header(cookie: &str, name: &str) -> Value {
    let token = cookie.strip_prefix("sAccessToken=").unwrap_or(cookie);
    let header = token.split('.').next().expect("a JWT");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON");
    header[name].clone()
}

/// SuperTokens' 403 body for claim failures.
pub fn invalid_claim(errors: Value) -> Value {
    json!({"message": "invalid claim", "claimValidationErrors": errors})
}

/// The basic contract: the public page; without a session the bridge for a
/// page, SuperTokens' answer for the API, the needs-refresh props, the
/// anonymous optional page; signed in, every page and API sees the user; a
/// forged token sends a page to sign in again with the way back (query
/// included) and the cookie expired.
pub async fn the_site_verifies_sessions_while_rendering(binary: &str) {
    let app = App::start(binary, &[]);
    let home = app.get("/", HTML, None).await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("/auth/dev/signin"), "{}", home.body);

    let bridge = app.get("/dashboard", HTML, None).await;
    assert_eq!(bridge.status, 401);
    assert!(
        bridge.body.contains("/auth/session/refresh"),
        "{}",
        bridge.body
    );
    assert_eq!(
        app.get("/api/me", JSON, None).await.status_json(),
        (401, json!({"message": "try refresh token"}))
    );
    assert_eq!(
        app.get("/api/props/dashboard", JSON, None)
            .await
            .status_json(),
        (200, json!({"fromSupertokens": "needs-refresh"}))
    );

    let cookie = app.sign_in("alice", "").await;
    // Other cookies beside the token change nothing.
    let cookies = format!("theme=dark; {cookie}");
    let dashboard = app.get("/dashboard", HTML, Some(&cookies)).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    assert!(
        dashboard
            .body
            .contains("<strong id=\"user-id\">alice</strong>"),
        "{}",
        dashboard.body
    );
    for path in ["/api/props/dashboard", "/api/me"] {
        assert_eq!(
            app.get(path, JSON, Some(&cookies)).await.status_json(),
            (200, json!({"userId": "alice"})),
            "{path}"
        );
    }

    let forged = format!("{cookie}x");
    let refused = app.get("/dashboard?tab=1", HTML, Some(&forged)).await;
    assert_eq!(refused.status, 303);
    assert_eq!(
        refused.header("location"),
        "/auth?redirectToPath=%2Fdashboard%3Ftab%3D1"
    );
    assert!(
        refused.header("set-cookie").starts_with("sAccessToken=;"),
        "{:?}",
        refused.headers
    );
}

/// `/admin` (a page) and `/api/admin` (data) refuse a signed-in user without
/// role `admin` with the core's 403 (the page embedding the same JSON body),
/// whether the role claim is missing or holds other roles, and serve a user
/// with it.
pub async fn admin_routes_need_the_admin_role(binary: &str) {
    let app = App::start(binary, &[]);
    let cases = [
        (
            "nobody",
            "",
            json!({"message": "value does not exist", "expectedToInclude": "admin"}),
        ),
        (
            "editor",
            "roles=editor,viewer",
            json!({"message": "wrong value", "expectedToInclude": "admin", "actualValue": ["editor", "viewer"]}),
        ),
    ];
    for (user, claims, reason) in cases {
        let cookie = app.sign_in(user, claims).await;
        let expected = invalid_claim(json!([{"id": "st-role", "reason": reason}]));
        // Signed in all the same: the session itself is fine.
        assert_eq!(
            app.get("/api/me", JSON, Some(&cookie)).await.status_json(),
            (200, json!({"userId": user}))
        );
        let api = app.get("/api/admin", JSON, Some(&cookie)).await;
        assert_eq!(api.status_json(), (403, expected.clone()), "{user}");
        assert!(
            api.header("content-type").starts_with("application/json"),
            "{:?}",
            api.headers
        );
        let page = app.get("/admin", HTML, Some(&cookie)).await;
        assert_eq!(page.status, 403, "{user}: {}", page.body);
        assert!(page.header("content-type").starts_with("text/html"));
        assert!(
            page.body.contains("id=\"ssr-session-refused\""),
            "{}",
            page.body
        );
        assert!(!page.body.contains("administrator"), "{}", page.body);
        assert_eq!(page.embedded_invalid_claim(), expected, "{user}");
    }

    let admin = app.sign_in("root", "roles=editor,admin").await;
    assert_eq!(
        app.get("/api/admin", JSON, Some(&admin))
            .await
            .status_json(),
        (200, json!({"userId": "root", "admin": true}))
    );
    let page = app.get("/admin", HTML, Some(&admin)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("administrator <strong id=\"user-id\">root</strong>"),
        "{}",
        page.body
    );
    // Still a session first: no token is the bridge / "try refresh token", not a 403.
    assert_eq!(app.get("/admin", HTML, None).await.status, 401);
    assert_eq!(
        app.get("/api/admin", JSON, None).await.status_json(),
        (401, json!({"message": "try refresh token"}))
    );
}

/// `/verified` (`Require<EmailVerified>`): `st-ev` false → 403 `wrong value`;
/// no `st-ev` at all → 403 `value does not exist`; true → the page.
pub async fn verified_needs_a_verified_email(binary: &str) {
    let app = App::start(binary, &[]);
    let cases = [
        (
            "unverified",
            "emailVerified=false",
            json!({"message": "wrong value", "expectedValue": true, "actualValue": false}),
        ),
        (
            "unknown",
            "roles=admin",
            json!({"message": "value does not exist", "expectedValue": true}),
        ),
    ];
    for (user, claims, reason) in cases {
        let cookie = app.sign_in(user, claims).await;
        let expected = invalid_claim(json!([{"id": "st-ev", "reason": reason}]));
        let data = app.get("/verified", JSON, Some(&cookie)).await;
        assert_eq!(data.status_json(), (403, expected.clone()), "{user}");
        let page = app.get("/verified", HTML, Some(&cookie)).await;
        assert_eq!(page.status, 403, "{user}: {}", page.body);
        assert!(
            page.body.contains("id=\"ssr-session-refused\""),
            "{}",
            page.body
        );
        assert_eq!(page.embedded_invalid_claim(), expected, "{user}");
    }
    let verified = app.sign_in("verified", "emailVerified=true").await;
    let page = app.get("/verified", HTML, Some(&verified)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<strong id=\"user-id\">verified</strong> has a verified email"),
        "{}",
        page.body
    );
}

/// `/optional`: anonymous without a token, the user with one.
pub async fn optional_page_by_session(binary: &str) {
    let app = App::start(binary, &[]);
    let anonymous = app.get("/optional", HTML, None).await;
    assert_eq!(anonymous.status, 200);
    assert!(
        anonymous.body.contains("id=\"anonymous\""),
        "{}",
        anonymous.body
    );
    assert!(
        !anonymous.body.contains("id=\"user-id\""),
        "{}",
        anonymous.body
    );
    let cookie = app.sign_in("olga", "").await;
    let signed_in = app.get("/optional", HTML, Some(&cookie)).await;
    assert_eq!(signed_in.status, 200);
    assert!(
        signed_in
            .body
            .contains("<strong id=\"user-id\">olga</strong>"),
        "{}",
        signed_in.body
    );
    assert!(
        !signed_in.body.contains("id=\"anonymous\""),
        "{}",
        signed_in.body
    );
}

/// A forged token on a page of a nested route group: `303` to the login page
/// with the whole path (prefix and query) to come back to, and the cookie
/// expired; the same for a form post there.
pub async fn forged_token_keeps_the_nested_path(binary: &str) {
    let app = App::start(binary, &[]);
    let cookie = app.sign_in("alice", "").await;
    let forged = format!("{cookie}x");
    for answer in [
        app.get("/account/settings?x=1", HTML, Some(&forged)).await,
        app.post_form("/account/settings?x=1", HTML, Some(&forged), "theme=light")
            .await,
    ] {
        assert_eq!(answer.status, 303, "{}", answer.body);
        assert_eq!(
            answer.header("location"),
            "/auth?redirectToPath=%2Faccount%2Fsettings%3Fx%3D1"
        );
        assert!(
            answer.header("set-cookie").starts_with("sAccessToken=;"),
            "{:?}",
            answer.headers
        );
    }
    assert_eq!(
        app.get("/account/settings", JSON, Some(&forged))
            .await
            .status_json(),
        (401, json!({"message": "unauthorised"}))
    );
    assert_eq!(app.form_posts().await, 0);
}

/// An expired token on the settings form: a GET navigation gets the bridge
/// that reloads, the form post (`Accept: text/html`, method POST) the bridge
/// that goes back instead (so the form is never posted twice), a JSON post
/// `401 try refresh token`; none reaches the handler. With a live token the
/// post is saved and counted.
pub async fn expired_form_post_gets_the_bridge_that_goes_back(binary: &str) {
    let app = App::start(binary, &[]);
    let expired = app.expired_cookie("alice").await;

    let page = app.get("/account/settings?x=1", HTML, Some(&expired)).await;
    assert_eq!(page.status, 401, "{}", page.body);
    assert!(
        page.body.contains("data-ssr-session-resume=\"reload\""),
        "{}",
        page.body
    );

    let form = app
        .post_form("/account/settings", HTML, Some(&expired), "theme=light")
        .await;
    assert_eq!(form.status, 401, "{}", form.body);
    assert!(form.header("content-type").starts_with("text/html"));
    assert!(
        form.body.contains("data-ssr-session-resume=\"back\""),
        "{}",
        form.body
    );
    assert!(form.body.contains("/auth/session/refresh"), "{}", form.body);

    let data = app
        .post_form("/account/settings", JSON, Some(&expired), "theme=light")
        .await;
    assert_eq!(
        data.status_json(),
        (401, json!({"message": "try refresh token"}))
    );
    assert_eq!(
        app.form_posts().await,
        0,
        "no refused post reached the handler"
    );

    let live = app.sign_in("alice", "").await;
    let saved = app
        .post_form("/account/settings", HTML, Some(&live), "theme=light")
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(
        saved.body.contains("<p id=\"saved\">Saved: light</p>"),
        "{}",
        saved.body
    );
    assert_eq!(app.form_posts().await, 1);
}

/// `POST /auth/signout` revokes the current access token at once (the same
/// cookie is then `401 unauthorised` for data and `303` to the login page
/// for a page), and `POST /auth/signout-everywhere` revokes every session of
/// the token's user (two sign-ins), not another user's.
pub async fn sign_out_revokes_access_tokens_at_once(binary: &str) {
    let app = App::start(binary, &[]);
    let alice = app.sign_in("alice", "").await;
    let other_alice_session = app.sign_in("alice", "").await;
    assert_eq!(
        app.get("/api/me", JSON, Some(&alice)).await.status_json(),
        (200, json!({"userId": "alice"}))
    );
    let signed_out = app.post_form("/auth/signout", JSON, Some(&alice), "").await;
    assert_eq!(signed_out.status, 200, "{}", signed_out.body);
    assert_eq!(
        app.get("/api/me", JSON, Some(&alice)).await.status_json(),
        (401, json!({"message": "unauthorised"}))
    );
    let page = app.get("/dashboard", HTML, Some(&alice)).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.header("location"), "/auth?redirectToPath=%2Fdashboard");
    // Only that session: alice's other one is untouched.
    assert_eq!(
        app.get("/api/me", JSON, Some(&other_alice_session))
            .await
            .status_json(),
        (200, json!({"userId": "alice"}))
    );

    let bob_here = app.sign_in("bob", "").await;
    let bob_there = app.sign_in("bob", "").await;
    let carol = app.sign_in("carol", "").await;
    for cookie in [&bob_here, &bob_there, &carol] {
        assert_eq!(app.get("/api/me", JSON, Some(cookie)).await.status, 200);
    }
    let everywhere = app
        .post_form("/auth/signout-everywhere", JSON, Some(&bob_here), "")
        .await;
    assert_eq!(everywhere.status, 200, "{}", everywhere.body);
    for cookie in [&bob_here, &bob_there] {
        assert_eq!(
            app.get("/api/me", JSON, Some(cookie)).await.status_json(),
            (401, json!({"message": "unauthorised"}))
        );
        let page = app.get("/dashboard?tab=2", HTML, Some(cookie)).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(
            page.header("location"),
            "/auth?redirectToPath=%2Fdashboard%3Ftab%3D2"
        );
    }
    for (cookie, user) in [(&carol, "carol"), (&other_alice_session, "alice")] {
        assert_eq!(
            app.get("/api/me", JSON, Some(cookie)).await.status_json(),
            (200, json!({"userId": user}))
        );
    }
}

/// Issue 19 over HTTP: a `POST` with the session cookie that a page of
/// another origin sent (`Sec-Fetch-Site: same-site` or `cross-site`, or
/// without it an `Origin` that is not the app's, or `null`) is refused
/// before any handler, both by the app's settings route (each framework's
/// pipeline, the `Origin` compared with the real `Host`) and by the dev
/// issuer's sign-out, sign-out everywhere and refresh: `403` JSON for data,
/// the 403 page for a navigation; alice stays signed in and nothing is
/// saved. From the app's own origin (`Sec-Fetch-Site: same-origin`, or its
/// `Origin`), the same posts go through.
pub async fn cross_origin_posts_are_refused(binary: &str) {
    let app = App::start(binary, &[]);
    let alice = app.sign_in("alice", "").await;
    let own_origin = app.url("");
    let foreign = [
        ("sec-fetch-site", "same-site"),
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
        ("origin", "null"),
    ];
    let refused = (403, json!({"message": "cross-origin request refused"}));
    for path in [
        "/account/settings",
        "/auth/signout",
        "/auth/signout-everywhere",
        "/auth/session/refresh",
    ] {
        for header in foreign {
            let answer = app.post_with(path, JSON, &alice, &[header]).await;
            assert_eq!(answer.status_json(), refused, "{path} with {header:?}");
        }
        let page = app
            .post_with(path, HTML, &alice, &[("sec-fetch-site", "same-site")])
            .await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
        assert!(
            page.body.contains("id=\"ssr-session-forged\""),
            "{}",
            page.body
        );
    }
    assert_eq!(app.form_posts().await, 0, "no forged post was handled");
    assert_eq!(
        app.get("/api/me", JSON, Some(&alice)).await.status_json(),
        (200, json!({"userId": "alice"})),
        "still signed in"
    );

    for header in [("sec-fetch-site", "same-origin"), ("origin", &own_origin)] {
        let saved = app
            .post_with("/account/settings", HTML, &alice, &[header])
            .await;
        assert_eq!(saved.status, 200, "{header:?}: {}", saved.body);
    }
    assert_eq!(app.form_posts().await, 2);
    let signed_out = app
        .post_with("/auth/signout", JSON, &alice, &[("origin", &own_origin)])
        .await;
    assert_eq!(signed_out.status_json(), (200, json!({"status": "OK"})));
    assert_eq!(app.get("/api/me", JSON, Some(&alice)).await.status, 401);
}

/// Issue 11, end to end: the app has fetched the JWKS; the issuer rotates
/// (a new key, published and signing at once) and users sign in with
/// tokens under the new `kid` right away. A burst of their requests is
/// answered valid, never `401`/`303`, after one JWKS refetch in all (the
/// unknown `kid` waits for a set fetched after it arrived instead of
/// signing anyone out), within a bound far above the 1 s refetch interval
/// (a wait for the JWKS's 60 s max-age would exceed it).
pub async fn rotated_key_verifies_at_once_after_one_refetch(binary: &str) {
    let app = App::start(binary, &[]);
    let before = app.sign_in("alice", "").await;
    assert_eq!(app.get("/api/me", JSON, Some(&before)).await.status, 200);
    let fetched = app.jwks_requests().await;
    assert!(fetched >= 1, "the app fetched the JWKS: {fetched}");

    let rotated = app.control("rotate").await;
    let started = Instant::now();
    let alice = app.sign_in("alice", "").await;
    let bob = app.sign_in("bob", "").await;
    assert_eq!(jwt_header(&alice, "kid"), rotated["kid"]);
    assert_ne!(jwt_header(&alice, "kid"), jwt_header(&before, "kid"));

    // Eight requests at once, alternating users, data and pages.
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..8_usize {
        let (cookie, user) = if n % 2 == 0 {
            (alice.clone(), "alice")
        } else {
            (bob.clone(), "bob")
        };
        let (path, accept) = if n % 4 < 2 {
            ("/api/me", JSON)
        } else {
            ("/dashboard", HTML)
        };
        let request = app
            .client
            .get(app.url(path))
            .header("accept", accept)
            .header("cookie", cookie);
        burst.spawn(async move { (n, user, App::answer(request).await) });
    }
    let answers = burst.join_all().await;
    let elapsed = started.elapsed();
    for (n, user, answer) in &answers {
        assert_eq!(answer.status, 200, "request {n}: {}", answer.body);
        let shown = if n % 4 < 2 {
            answer.json() == json!({"userId": user})
        } else {
            answer
                .body
                .contains(&format!("<strong id=\"user-id\">{user}</strong>"))
        };
        assert!(shown, "request {n} answered for {user}: {}", answer.body);
    }
    assert_eq!(
        app.jwks_requests().await - fetched,
        1,
        "one refetch for the whole burst"
    );
    eprintln!("rotation: the new key verified {elapsed:?} after the rotation");
    assert!(
        elapsed < Duration::from_secs(20),
        "the new key waited {elapsed:?}: as long as the JWKS cache's max-age?"
    );
    // The old key still verifies (it stays published).
    assert_eq!(app.get("/api/me", JSON, Some(&before)).await.status, 200);
}

/// `--metrics`: the framework's own `/metrics` route serves the Prometheus
/// text, and the decisions of its pages move there; without the flag,
/// nothing is served.
pub async fn metrics_are_served_only_with_the_flag(binary: &str) {
    use ssr_session_example_support::metrics::value;

    async fn scrape(app: &App) -> String {
        let answer = app.get("/metrics", "text/plain", None).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let content_type = answer.header("content-type");
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        answer.body
    }
    let count = |text: &str, outcome: &str, reason: &str| {
        let series =
            format!("ssr_session_decisions_total{{outcome=\"{outcome}\",reason=\"{reason}\"}}");
        value(text, &series).unwrap_or(0.0)
    };

    let app = App::start(binary, &["--metrics"]);
    let cookie = app.sign_in("alice", "").await;
    let before = scrape(&app).await;
    assert_eq!(app.get("/dashboard", HTML, Some(&cookie)).await.status, 200);
    let missing = app.get("/api/me", JSON, None).await;
    assert_eq!(
        missing.status_json(),
        (401, json!({"message": "try refresh token"}))
    );
    let after = scrape(&app).await;
    assert_eq!(
        count(&after, "valid", "") - count(&before, "valid", ""),
        1.0,
        "{after}"
    );
    assert_eq!(
        count(&after, "needs_refresh", "missing") - count(&before, "needs_refresh", "missing"),
        1.0,
        "{after}"
    );
    assert!(
        value(&after, "ssr_session_jwks_fetches_total{result=\"ok\"}").unwrap_or(0.0) >= 1.0,
        "{after}"
    );

    let plain = App::start(binary, &[]);
    assert_eq!(plain.get("/metrics", HTML, None).await.status, 404);
}

/// The scenarios above, one `#[tokio::test]` each, for the app `$binary`.
macro_rules! app_scenarios {
    ($binary:expr) => {
        app_scenarios!(@tests $binary;
            the_site_verifies_sessions_while_rendering,
            admin_routes_need_the_admin_role,
            verified_needs_a_verified_email,
            optional_page_by_session,
            forged_token_keeps_the_nested_path,
            expired_form_post_gets_the_bridge_that_goes_back,
            sign_out_revokes_access_tokens_at_once,
            rotated_key_verifies_at_once_after_one_refetch,
            cross_origin_posts_are_refused,
            metrics_are_served_only_with_the_flag,
        );
    };
    (@tests $binary:expr; $($scenario:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $scenario() {
                common::$scenario($binary).await;
            }
        )*
    };
}
