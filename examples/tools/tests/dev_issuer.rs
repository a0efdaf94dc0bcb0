//! The dev issuer over real HTTP on 127.0.0.1: JWKS, sign-in, refresh rotation, revocation,
//! sign-out, key rotation, the refresh modes and the test-control routes.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde_json::{Value, json};
use ssr_session_example_support::dev_issuer::{
    DevIssuer, DevIssuerConfig, RefreshMode, RunningIssuer,
};

async fn start(config: DevIssuerConfig) -> (DevIssuer, RunningIssuer) {
    let issuer = DevIssuer::new(config);
    let running = issuer.serve("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    issuer.set_issuer(running.base_url());
    (issuer, running)
}

fn client() -> reqwest::Client {
    ssr_session::jwks::client_builder()
        .unwrap()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A `Set-Cookie` header split into name, value and lower-cased attributes.
#[derive(Debug)]
struct SetCookie {
    name: String,
    value: String,
    attributes: Vec<String>,
}

impl SetCookie {
    fn has(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }
}

fn set_cookies(headers: &HeaderMap) -> Vec<SetCookie> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|value| {
            let mut parts = value.to_str().unwrap().split(';').map(str::trim);
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            SetCookie {
                name: name.to_owned(),
                value: value.to_owned(),
                attributes: parts.map(str::to_owned).collect(),
            }
        })
        .collect()
}

fn cookie<'a>(cookies: &'a [SetCookie], name: &str) -> &'a SetCookie {
    let mut matching = cookies.iter().filter(|c| c.name == name);
    let found = matching
        .next()
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"));
    assert!(matching.next().is_none(), "{name} set twice");
    found
}

fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// RS256-verifies `token` against the JWK in `jwks` with the token's `kid`.
fn verifies_with(jwks: &Value, token: &str) -> bool {
    let kid = segment(token, 0)["kid"].clone();
    let Some(jwk) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
    else {
        return false;
    };
    let member = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let components = RsaPublicKeyComponents {
        n: member("n"),
        e: member("e"),
    };
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    components
        .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &signature)
        .is_ok()
}

async fn fetch_jwks(running: &RunningIssuer) -> Value {
    client()
        .get(running.jwks_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn post_refresh(running: &RunningIssuer, refresh_token: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .post(format!("{}/session/refresh", running.base_url()))
        .header("rid", "session");
    if let Some(token) = refresh_token {
        request = request.header("cookie", format!("sRefreshToken={token}"));
    }
    request.send().await.unwrap()
}

fn assert_cleared(headers: &HeaderMap) {
    let cookies = set_cookies(headers);
    for (name, path) in [
        ("sAccessToken", "Path=/"),
        ("sRefreshToken", "Path=/auth/session/refresh"),
    ] {
        let cleared = cookie(&cookies, name);
        assert_eq!(cleared.value, "", "{name}");
        assert!(cleared.has(path) && cleared.has("Max-Age=0"), "{cleared:?}");
        assert!(
            cleared.has("Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
            "{cleared:?}"
        );
    }
    assert_eq!(headers["front-token"], "remove");
    assert_eq!(headers["access-control-expose-headers"], "front-token");
}

#[tokio::test]
async fn jwks_is_served_with_max_age_and_counted() {
    let config = DevIssuerConfig {
        jwks_max_age_secs: 123,
        ..Default::default()
    };
    let (issuer, running) = start(config).await;
    assert_eq!(
        running.jwks_url(),
        format!("http://{}/auth/jwt/jwks.json", running.addr())
    );

    let response = client().get(running.jwks_url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["cache-control"],
        "max-age=123, must-revalidate"
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["e"], "AQAB");
    assert_eq!(keys[0]["kid"], issuer.current_kid());
    assert!(issuer.current_kid().starts_with("d-"));
    assert_eq!(issuer.jwks_requests(), 1);
}

#[tokio::test]
async fn browser_sign_in_sets_supertokens_cookies_and_redirects() {
    let (issuer, running) = start(DevIssuerConfig::default()).await;
    let url = format!(
        "{}/dev/signin?userId=alice&redirectTo=/dashboard%3Fx%3D1",
        running.base_url()
    );
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/dashboard?x=1");
    assert_eq!(
        response.headers()["access-control-expose-headers"],
        "front-token"
    );

    let cookies = set_cookies(response.headers());
    let access = cookie(&cookies, "sAccessToken");
    let refresh = cookie(&cookies, "sRefreshToken");
    assert!(access.has("Path=/") && access.has("HttpOnly") && access.has("SameSite=Lax"));
    assert!(refresh.has("Path=/auth/session/refresh") && refresh.has("HttpOnly"));
    assert!(
        access
            .attributes
            .iter()
            .any(|a| a.starts_with("Expires=Fri, 31 Dec 9999"))
    );
    assert_eq!(refresh.value.len(), 64);

    let token = &access.value;
    let header = segment(token, 0);
    assert_eq!(
        header,
        json!({"alg": "RS256", "typ": "JWT", "kid": issuer.current_kid(), "version": "5"})
    );
    let claims = segment(token, 1);
    assert_eq!(
        (claims["sub"].as_str(), claims["rsub"].as_str()),
        (Some("alice"), Some("alice"))
    );
    assert_eq!(claims["iss"], running.base_url());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
    assert_eq!(claims["tId"], "public");
    assert!(verifies_with(&fetch_jwks(&running).await, token));

    let front = STANDARD
        .decode(response.headers()["front-token"].as_bytes())
        .unwrap();
    let front: Value = serde_json::from_slice(&front).unwrap();
    assert_eq!(front["uid"], "alice");
    assert_eq!(
        front["ate"].as_i64(),
        claims["exp"].as_i64().map(|exp| exp * 1000)
    );
    assert_eq!(front["up"], claims);
}

#[tokio::test]
async fn sign_in_rejects_open_redirects_and_bad_user_ids() {
    let (_issuer, running) = start(DevIssuerConfig::default()).await;
    for target in [
        "//evil.example/x",
        "https://evil.example",
        "/%5Cevil.example",
    ] {
        let url = format!("{}/dev/signin?redirectTo={target}", running.base_url());
        let response = client().get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{target}");
        assert_eq!(response.headers()[LOCATION], "/", "{target}");
        let cookies = set_cookies(response.headers());
        assert_eq!(
            segment(&cookie(&cookies, "sAccessToken").value, 1)["sub"],
            "dev-user"
        );
    }
    let url = format!("{}/dev/signin?userId=", running.base_url());
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn script_sign_in_accepts_json_and_form() {
    let (_issuer, running) = start(DevIssuerConfig::default()).await;
    let url = format!("{}/dev/signin", running.base_url());
    let json_response = client()
        .post(&url)
        .json(&json!({"userId": "bob"}))
        .send()
        .await
        .unwrap();
    let form_response = client()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("userId=carol")
        .send()
        .await
        .unwrap();
    for (response, user) in [(json_response, "bob"), (form_response, "carol")] {
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().contains_key("front-token"));
        let cookies = set_cookies(response.headers());
        assert_eq!(
            segment(&cookie(&cookies, "sAccessToken").value, 1)["sub"],
            user
        );
        cookie(&cookies, "sRefreshToken");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"status": "OK", "userId": user}));
    }
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token() {
    let (issuer, running) = start(DevIssuerConfig::default()).await;
    let session = issuer.mint_session("alice");
    let old_handle = segment(&session.access_token, 1)["sessionHandle"].clone();

    let response = post_refresh(&running, Some(&session.refresh_token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-expose-headers"],
        "front-token"
    );
    let front = STANDARD
        .decode(response.headers()["front-token"].as_bytes())
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&front).unwrap()["uid"],
        "alice"
    );
    let cookies = set_cookies(response.headers());
    let new_access = cookie(&cookies, "sAccessToken").value.clone();
    let new_refresh = cookie(&cookies, "sRefreshToken").value.clone();
    assert!(cookie(&cookies, "sRefreshToken").has("Path=/auth/session/refresh"));
    assert_ne!(new_refresh, session.refresh_token);
    assert_ne!(new_access, session.access_token);
    assert_eq!(segment(&new_access, 1)["sub"], "alice");
    assert_eq!(segment(&new_access, 1)["sessionHandle"], old_handle);
    assert!(verifies_with(&fetch_jwks(&running).await, &new_access));
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));

    // The used token is gone; the new one works once.
    let reused = post_refresh(&running, Some(&session.refresh_token)).await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);
    assert_cleared(reused.headers());
    assert_eq!(
        reused.json::<Value>().await.unwrap(),
        json!({"message": "unauthorised"})
    );
    assert_eq!(
        post_refresh(&running, Some(&new_refresh)).await.status(),
        StatusCode::OK
    );

    let missing = post_refresh(&running, None).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_cleared(missing.headers());
    assert_eq!(issuer.refresh_calls(), 4);
}

#[tokio::test]
async fn revoked_and_signed_out_sessions_cannot_refresh() {
    let (issuer, running) = start(DevIssuerConfig::default()).await;
    let first = issuer.mint_session("alice");
    let second = issuer.mint_session("bob");
    issuer.revoke_all_refresh_tokens();
    for session in [&first, &second] {
        let response = post_refresh(&running, Some(&session.refresh_token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    // Sign-out finds the session through the access token (the browser does not send the
    // refresh cookie to /auth/signout) and leaves other sessions alone.
    let signed_out = issuer.mint_session("carol");
    let other = issuer.mint_session("dave");
    let response = client()
        .post(format!("{}/signout", running.base_url()))
        .header(
            "cookie",
            format!("sAccessToken={}", signed_out.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_cleared(response.headers());
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "OK"})
    );
    let refused = post_refresh(&running, Some(&signed_out.refresh_token)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        post_refresh(&running, Some(&other.refresh_token))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn rotation_adds_a_key_and_retiring_removes_the_old_one() {
    let (issuer, running) = start(DevIssuerConfig::default()).await;
    let old_kid = issuer.current_kid();
    let old_token = issuer.mint_access_token("alice");
    issuer.rotate_keys();
    let new_kid = issuer.current_kid();
    assert_ne!(new_kid, old_kid);
    assert!(new_kid.starts_with("d-"));

    let jwks = fetch_jwks(&running).await;
    let kids: Vec<Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert_eq!(kids, [json!(old_kid), json!(new_kid)]);
    let new_token = issuer.mint_access_token("alice");
    assert_eq!(segment(&new_token, 0)["kid"], new_kid);
    assert!(verifies_with(&jwks, &old_token) && verifies_with(&jwks, &new_token));
    // Distinct key material, not one key under two kids.
    assert_ne!(jwks["keys"][0]["n"], jwks["keys"][1]["n"]);

    issuer.retire_old_keys();
    let jwks = fetch_jwks(&running).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], new_kid);
    assert!(!verifies_with(&jwks, &old_token) && verifies_with(&jwks, &new_token));
    assert_eq!(issuer.jwks_requests(), 2);
}

#[tokio::test]
async fn unverifiable_refresh_mode_signs_with_an_unpublished_key() {
    let (issuer, running) = start(DevIssuerConfig::default()).await;
    let session = issuer.mint_session("alice");
    issuer.set_refresh_issues_unverifiable_tokens(true);
    let response = post_refresh(&running, Some(&session.refresh_token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("front-token"));
    let cookies = set_cookies(response.headers());
    let token = cookie(&cookies, "sAccessToken").value.clone();
    let kid = segment(&token, 0)["kid"].as_str().unwrap().to_owned();
    assert!(kid.starts_with("rogue-"), "{kid}");
    let jwks = fetch_jwks(&running).await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != kid.as_str())
    );
    assert!(!verifies_with(&jwks, &token));

    issuer.set_refresh_issues_unverifiable_tokens(false);
    let next = cookie(&cookies, "sRefreshToken").value.clone();
    let response = post_refresh(&running, Some(&next)).await;
    let token = cookie(&set_cookies(response.headers()), "sAccessToken")
        .value
        .clone();
    assert!(verifies_with(&jwks, &token));
}

#[tokio::test]
async fn login_page_links_back_to_a_validated_path() {
    let (_issuer, running) = start(DevIssuerConfig::default()).await;
    let page = |query: &'static str| {
        let url = format!("{}{query}", running.base_url());
        async move {
            client()
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = page("?redirectToPath=/dashboard%3Fx%3D1%26y%3D%22").await;
    assert!(html.contains(r#"action="/auth/dev/signin""#), "{html}");
    assert!(
        html.contains(r#"name="redirectTo" value="/dashboard?x=1&amp;y=&quot;""#),
        "{html}"
    );
    let html = page("?redirectToPath=//evil.example").await;
    assert!(html.contains(r#"name="redirectTo" value="/""#), "{html}");
    assert!(!html.contains("evil.example"));
}

#[tokio::test]
async fn merges_into_an_app_and_stops_on_shutdown() {
    let issuer = DevIssuer::new(DevIssuerConfig::default());
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "app home" }))
        .merge(issuer.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let home = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(home.text().await.unwrap(), "app home");
    let jwks = client()
        .get(format!("http://{addr}/auth/jwt/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
    server.abort();

    let running = issuer.serve("127.0.0.1:0").await.unwrap();
    let url = running.jwks_url();
    assert!(client().get(&url).send().await.is_ok());
    running.shutdown().await.unwrap();
    assert!(client().get(&url).send().await.is_err());
}

#[tokio::test]
async fn test_controls_work_over_http() {
    let (issuer, running) = start(DevIssuerConfig::default()).await;
    let base = running.base_url();
    let stats = || async {
        let response = client()
            .get(format!("{base}/dev/stats"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store");
        response.json::<Value>().await.unwrap()
    };
    let control = |path: &'static str| {
        let url = format!("{base}/dev/{path}");
        async move { client().post(url).send().await.unwrap() }
    };
    assert_eq!(stats().await, json!({"refreshCalls": 0, "jwksRequests": 0}));

    // Expired mode: 200 and a correctly signed token that is already expired.
    let session = issuer.mint_session("alice");
    let response = control("refresh-mode?mode=expired").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"refreshMode": "expired"})
    );
    assert_eq!(issuer.refresh_mode(), RefreshMode::Expired);
    let response = post_refresh(&running, Some(&session.refresh_token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookies = set_cookies(response.headers());
    let token = cookie(&cookies, "sAccessToken").value.clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = segment(&token, 1)["exp"].as_u64().unwrap();
    assert!(exp < now, "exp {exp} is not before {now}");
    assert!(verifies_with(&fetch_jwks(&running).await, &token));
    let next = cookie(&cookies, "sRefreshToken").value.clone();

    assert_eq!(
        control("refresh-mode?mode=sideways").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(issuer.refresh_mode(), RefreshMode::Expired);
    control("refresh-mode?mode=unverifiable").await;
    assert_eq!(issuer.refresh_mode(), RefreshMode::Unverifiable);
    control("refresh-mode?mode=normal").await;
    assert_eq!(issuer.refresh_mode(), RefreshMode::Normal);

    // Revoke-all: live refresh tokens stop working.
    let response = control("revoke-all").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        post_refresh(&running, Some(&next)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(stats().await, json!({"refreshCalls": 2, "jwksRequests": 1}));

    // A stale token to plant: correctly signed, expired.
    let response = client()
        .get(format!("{base}/dev/expired-access-token?userId=carol"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let stale = response.json::<Value>().await.unwrap()["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(segment(&stale, 1)["sub"], "carol");
    assert!(segment(&stale, 1)["exp"].as_u64().unwrap() < now);
    assert!(verifies_with(&fetch_jwks(&running).await, &stale));

    // The access-token cookies as sent, in order, decoded without verification.
    let bob = issuer.mint_access_token("bob");
    let response = client()
        .get(format!("{base}/dev/access-tokens"))
        .header(
            "cookie",
            format!("sAccessToken={token}; other=1; sAccessToken={bob}; sAccessToken=junk"),
        )
        .send()
        .await
        .unwrap();
    let tokens = response.json::<Value>().await.unwrap()["tokens"].clone();
    let kid = issuer.current_kid();
    assert_eq!(
        tokens,
        json!([
            {"sub": "alice", "exp": exp, "kid": kid},
            {"sub": "bob", "exp": segment(&bob, 1)["exp"], "kid": kid},
            {"sub": null, "exp": null, "kid": null},
        ])
    );
}
