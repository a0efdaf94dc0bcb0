//! The `claims-check` CLI run as a subprocess against the dev issuer served
//! on loopback: tokens from its sign-in, keys from its JWKS URL, the clock
//! fixed by each case, and the exact answers SuperTokens gives.

use std::process::Stdio;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use ssr_session_example_support::dev_issuer::{DevIssuer, DevIssuerConfig, UserClaims};
use tokio::io::AsyncWriteExt as _;

/// Runs `claims-check` over `cases` (one JSON line each); its answers, parsed.
async fn claims_check(cases: &[Value]) -> Vec<Value> {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_claims-check"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start claims-check");
    let mut input = String::new();
    for case in cases {
        input.push_str(&case.to_string());
        input.push('\n');
    }
    // An empty line is skipped, not answered.
    input.push('\n');
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("claims-check ends when stdin closes")
        .unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect()
}

/// A claim of a token's payload (decoded, not verified).
fn payload_claim(token: &str, name: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    payload[name].clone()
}

fn refused(errors: Value) -> Value {
    json!({
        "valid": false,
        "outcome": "invalid",
        "status": 403,
        "body": {"message": "invalid claim", "claimValidationErrors": errors},
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn checks_answer_as_supertokens_at_the_given_time() {
    let issuer = DevIssuer::new(DevIssuerConfig {
        access_token_secs: 3600,
        ..DevIssuerConfig::default()
    });
    let running = issuer.serve("127.0.0.1:0").await.unwrap();
    issuer.set_issuer(running.base_url());
    let jwks_url = running.jwks_url();

    let admin = issuer
        .sign_in(
            "ada",
            Some(UserClaims {
                roles: Some(vec!["admin".into(), "editor".into()]),
                permissions: Some(vec!["read".into(), "write".into()]),
                email_verified: Some(true),
                tenant: Some("acme".into()),
            }),
        )
        .access_token;
    let plain = issuer.sign_in("pat", None).access_token;
    let fetched_at = payload_claim(&admin, "st-role")["t"].as_i64().unwrap();
    assert_eq!(
        payload_claim(&admin, "st-ev")["t"].as_i64(),
        Some(fetched_at)
    );
    let exp = payload_claim(&admin, "exp").as_i64().unwrap();
    // 100.5 s after the claims were fetched; the tokens live an hour.
    let now = fetched_at + 100_500;
    let case = |token: &str, checks: Value| json!({"token": token, "jwksUrl": jwks_url, "now": now, "checks": checks});

    let cases = [
        // 0: passes; with the issuer required too.
        json!({"token": admin, "jwksUrl": jwks_url, "now": now, "issuer": running.base_url(),
               "checks": [{"claim": "st-role", "kind": "includes", "value": "admin", "maxAgeInSeconds": 200}]}),
        // 1: a wrong value.
        case(
            &admin,
            json!([{"claim": "st-role", "kind": "includes", "value": "owner"}]),
        ),
        // 2: missing: includesAny names its expectation as supertokens-node does.
        case(
            &plain,
            json!([{"claim": "st-role", "kind": "includesAny", "value": ["a", "b"]}]),
        ),
        // 3: too old, before the value is looked at.
        case(
            &admin,
            json!([{"claim": "st-role", "kind": "includes", "value": "admin", "maxAgeInSeconds": 60}]),
        ),
        // 4: every failure, in the order of the checks, with a custom id.
        case(
            &admin,
            json!([
                {"claim": "st-ev", "kind": "isFalse"},
                {"claim": "st-role", "kind": "includesAll", "value": ["admin", "editor"]},
                {"claim": "st-perm", "kind": "excludesAll", "value": ["write", "delete"], "id": "no-writes"},
                {"claim": "tId", "kind": "tenant", "value": "public"},
            ]),
        ),
        // 5: too old and marked refresh-if-stale: a data request is told to refresh.
        case(
            &admin,
            json!([{"claim": "st-role", "kind": "includes", "value": "admin",
                             "maxAgeInSeconds": 60, "refreshIfStale": true}]),
        ),
        // 6: the clock past the token's expiry: needs refresh whatever the claims.
        json!({"token": admin, "jwksUrl": jwks_url, "now": (exp + 1) * 1000,
               "checks": [{"claim": "st-role", "kind": "includes", "value": "owner"}]}),
        // 7: another issuer required: invalid, not a claim failure.
        json!({"token": admin, "jwksUrl": jwks_url, "now": now, "issuer": "http://elsewhere/auth", "checks": []}),
        // 8, 9: not cases.
        case(
            &admin,
            json!([{"claim": "st-role", "kind": "contains", "value": "admin"}]),
        ),
        json!({"token": admin}),
    ];
    let mut answers = claims_check(&cases).await;
    // `bodyText` is the body as sent: checked once, then left out of the comparisons.
    let text = answers[1]["bodyText"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.starts_with(r#"{"message":"invalid claim","claimValidationErrors":[{"id":"st-role","#),
        "{text}"
    );
    for answer in &mut answers {
        if let Some(answer) = answer.as_object_mut() {
            let text = answer.remove("bodyText");
            if let (Some(text), Some(body)) = (text, answer.get("body")) {
                let parsed: Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
                assert_eq!(&parsed, body, "bodyText is the body");
            }
        }
    }
    let expected = vec![
        json!({"valid": true}),
        refused(json!([{"id": "st-role", "reason": {
            "message": "wrong value", "expectedToInclude": "owner", "actualValue": ["admin", "editor"]}}])),
        refused(json!([{"id": "st-role", "reason": {
            "message": "value does not exist", "expectedToNotInclude": ["a", "b"]}}])),
        refused(json!([{"id": "st-role", "reason": {
            "message": "expired", "ageInSeconds": 100.5, "maxAgeInSeconds": 60}}])),
        refused(json!([
            {"id": "st-ev", "reason": {"message": "wrong value", "expectedValue": false, "actualValue": true}},
            {"id": "no-writes", "reason": {
                "message": "wrong value", "expectedToNotInclude": ["write", "delete"], "actualValue": ["read", "write"]}},
            {"id": "tId", "reason": {"message": "wrong value", "expectedValue": "public", "actualValue": "acme"}},
        ])),
        json!({"valid": false, "outcome": "needs_refresh", "status": 401,
               "body": {"message": "try refresh token"}}),
        json!({"valid": false, "outcome": "needs_refresh", "status": 401,
               "body": {"message": "try refresh token"}}),
        json!({"valid": false, "outcome": "invalid", "status": 401,
               "body": {"message": "unauthorised"}}),
    ];
    assert_eq!(answers.len(), cases.len(), "{answers:#?}");
    for (index, (answer, expected)) in answers.iter().zip(&expected).enumerate() {
        assert_eq!(answer, expected, "case {index}");
    }
    for index in [8, 9] {
        let error = answers[index]["error"].as_str().unwrap_or_default();
        assert!(!error.is_empty(), "case {index}: {}", answers[index]);
    }
    // The keys were fetched once for the whole run.
    assert_eq!(issuer.jwks_requests(), 1);
    running.shutdown().await.unwrap();
}
