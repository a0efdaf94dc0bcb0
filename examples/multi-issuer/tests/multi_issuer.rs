//! The multi-issuer site run as a process: sessions from both tenants
//! verify, each with its own issuer's keys; a third issuer's token is
//! refused without a request.

use reqwest::header::COOKIE;
use serde_json::{Value, json};
use ssr_session::keys::Algorithm;
use ssr_session::testing::{TestKey, TokenBuilder};
use ssr_session_example_support::metrics::value;
use ssr_session_example_support::process::{Server, access_token_set_by};

/// Signs `user` in at `tenant`; the `sAccessToken` cookie's value.
async fn sign_in(client: &reqwest::Client, server: &Server, tenant: &str, user: &str) -> String {
    let response = client
        .post(server.url(&format!("/{tenant}/auth/dev/signin")))
        .json(&json!({ "userId": user }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    access_token_set_by(response.headers()).expect("an sAccessToken cookie")
}

async fn get(client: &reqwest::Client, server: &Server, path: &str, token: &str) -> (u16, String) {
    let response = client
        .get(server.url(path))
        .header(COOKIE, format!("sAccessToken={token}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn jwks_requests(client: &reqwest::Client, server: &Server, tenant: &str) -> u64 {
    let stats: Value = client
        .get(server.url(&format!("/{tenant}/auth/dev/stats")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["jwksRequests"].as_u64().unwrap()
}

#[tokio::test]
async fn sessions_from_both_issuers_verify_and_a_third_is_refused() {
    let server = Server::start(env!("CARGO_BIN_EXE_multi-issuer-ssr"), &[]);
    let client = ssr_session::jwks::client_builder()
        .unwrap()
        .build()
        .unwrap();
    let acme = sign_in(&client, &server, "acme", "alice").await;
    let globex = sign_in(&client, &server, "globex", "bob").await;

    for (token, user, tenant) in [(&acme, "alice", "acme"), (&globex, "bob", "globex")] {
        let (status, body) = get(&client, &server, "/api/me", token).await;
        assert_eq!(status, 200, "{tenant}: {body}");
        let me: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(me["userId"], user);
        assert_eq!(me["issuer"], server.url(&format!("/{tenant}/auth")));
        let (status, page) = get(&client, &server, "/dashboard", token).await;
        assert_eq!(status, 200);
        assert!(
            page.contains(&format!("<b id=\"user\">{user}</b>")),
            "{page}"
        );
    }
    // Each issuer's keys were fetched once, from its own JWKS.
    assert_eq!(jwks_requests(&client, &server, "acme").await, 1);
    assert_eq!(jwks_requests(&client, &server, "globex").await, 1);

    // A token naming a tenant that is not approved, and one naming another
    // origin: refused, and no issuer is set up for them.
    let stranger = TestKey::generate(Algorithm::RS256, "k");
    for iss in [
        server.url("/initech/auth"),
        "http://127.0.0.1:9/auth".to_owned(),
    ] {
        let token = TokenBuilder::supertokens("mallory", 600)
            .claim("iss", iss.as_str())
            .sign(&stranger);
        let (status, _) = get(&client, &server, "/api/me", &token).await;
        assert!(status == 401 || status == 403, "{iss}: {status}");
    }
    let issuers: Value = client
        .get(server.url("/api/issuers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(issuers, json!({ "cached": 2, "setups": 2 }));
}

/// With `--metrics`: the issuers set up, and each refusal by its reason.
#[tokio::test]
async fn issuers_cached_and_refused_are_counted() {
    let server = Server::start(env!("CARGO_BIN_EXE_multi-issuer-ssr"), &["--metrics"]);
    let client = reqwest::Client::new();
    for (tenant, user) in [("acme", "alice"), ("globex", "bob")] {
        let token = sign_in(&client, &server, tenant, user).await;
        assert_eq!(get(&client, &server, "/api/me", &token).await.0, 200);
    }
    let stranger = TestKey::generate(Algorithm::RS256, "k");
    let refused = [
        // A tenant the approval hook refuses (remembered the second time).
        Some(server.url("/initech/auth")),
        Some(server.url("/initech/auth")),
        // Off the allow-list: refused without a request.
        Some("http://127.0.0.1:9/auth".to_owned()),
        // No `iss` at all.
        None,
    ];
    for iss in refused {
        let token = match &iss {
            Some(iss) => TokenBuilder::supertokens("mallory", 600).claim("iss", iss.as_str()),
            None => TokenBuilder::supertokens("mallory", 600).without_claim("iss"),
        };
        let (status, _) = get(&client, &server, "/api/me", &token.sign(&stranger)).await;
        assert!(status == 401 || status == 403, "{iss:?}: {status}");
    }
    // moka counts its entries lazily: /api/issuers runs its pending tasks.
    client.get(server.url("/api/issuers")).send().await.unwrap();
    assert_eq!(
        get(
            &client,
            &server,
            "/api/me",
            &sign_in(&client, &server, "acme", "carol").await
        )
        .await
        .0,
        200
    );
    let text = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refusals = |reason: &str| {
        value(
            &text,
            &format!("ssr_session_issuers_refused_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(refusals("not_approved"), Some(1.0), "{text}");
    assert_eq!(refusals("remembered"), Some(1.0), "{text}");
    assert_eq!(refusals("not_allowed"), Some(1.0), "{text}");
    assert_eq!(refusals("no_issuer"), Some(1.0), "{text}");
    assert_eq!(
        value(&text, "ssr_session_issuers_cached"),
        Some(2.0),
        "{text}"
    );
    // Each tenant's one key, held by its own provider.
    assert_eq!(value(&text, "ssr_session_jwks_keys"), Some(2.0), "{text}");
}
