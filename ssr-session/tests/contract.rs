//! Every rule of the verifier's contract, pinned.

use std::time::Duration;

use serde_json::json;
use ssr_session::testing::{TestKey, TokenBuilder, b64url, jwks};
use ssr_session::{
    NeedsRefreshReason, SessionOutcome, SuperTokensClaims, Verifier, error::ClaimFailure,
    error::InvalidKind, keys::Algorithm, keys::StaticKeys, keys::VerifyingKey,
    requirement::RequirementFailure, source::HeaderList, verify::UnknownKeyPolicy,
};

fn keys_for(keys: &[&TestKey]) -> StaticKeys {
    StaticKeys::from_jwks_json(jwks(keys).to_string()).unwrap()
}

fn verifier(keys: &[&TestKey]) -> Verifier {
    Verifier::builder(keys_for(keys)).build().unwrap()
}

async fn check(verifier: &Verifier, token: &str) -> SessionOutcome {
    let headers = HeaderList::new().with("Cookie", format!("sAccessToken={token}"));
    verifier.verify(&headers).await
}

fn kind(outcome: &SessionOutcome) -> InvalidKind {
    match outcome {
        SessionOutcome::Invalid(invalid) => invalid.kind().clone(),
        other => panic!("expected invalid, got {other:?}"),
    }
}

fn assert_valid(outcome: &SessionOutcome, user: &str) {
    match outcome {
        SessionOutcome::Valid(session) => assert_eq!(session.user_id(), user),
        other => panic!("expected valid, got {other:?}"),
    }
}

fn assert_expired(outcome: &SessionOutcome) {
    assert!(
        matches!(
            outcome,
            SessionOutcome::NeedsRefresh(NeedsRefreshReason::Expired)
        ),
        "expected expired, got {outcome:?}"
    );
}

#[tokio::test]
async fn every_algorithm_family_verifies() {
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let key = TestKey::generate(alg, format!("k-{alg:?}"));
        let verifier = verifier(&[&key]);
        let token = TokenBuilder::supertokens("alice", 60).sign(&key);
        assert_valid(&check(&verifier, &token).await, "alice");
        let expired = TokenBuilder::supertokens("alice", -10).sign(&key);
        assert_expired(&check(&verifier, &expired).await);
    }
}

#[tokio::test]
async fn keys_without_alg_infer_it_from_their_type() {
    let rsa = TestKey::generate(Algorithm::PS384, "rsa");
    let ec = TestKey::generate(Algorithm::ES384, "ec");
    let ed = TestKey::generate(Algorithm::EdDSA, "ed");
    let set = json!({"keys": [rsa.public_jwk_without_alg(), ec.public_jwk_without_alg(), ed.public_jwk_without_alg()]});
    let verifier = Verifier::builder(StaticKeys::from_jwks_json(set.to_string()).unwrap())
        .build()
        .unwrap();
    for key in [&rsa, &ec, &ed] {
        let token = TokenBuilder::supertokens("u", 60).sign(key);
        assert_valid(&check(&verifier, &token).await, "u");
    }
    // An RSA key without `alg` verifies the whole RSA family: RS256 with the same key.
    let rs256 = TokenBuilder::supertokens("u", 60)
        .header("alg", "RS256")
        .sign(&rsa);
    assert_valid(&check(&verifier, &rs256).await, "u");
    // …but an EC P-384 key never verifies ES256.
    let es256 = TokenBuilder::supertokens("u", 60)
        .header("alg", "ES256")
        .sign(&ec);
    assert_eq!(
        kind(&check(&verifier, &es256).await),
        InvalidKind::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn jwk_alg_must_allow_the_header_alg() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    let ps256 = TokenBuilder::supertokens("u", 60)
        .header("alg", "PS256")
        .sign(&key);
    assert_eq!(
        kind(&check(&verifier, &ps256).await),
        InvalidKind::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn supertokens_shaped_tokens_give_their_claims() {
    let key = TestKey::generate(Algorithm::RS256, "d-1700000000000");
    let verifier = verifier(&[&key]);
    let token = TokenBuilder::supertokens("user-1", 60)
        .claim("st-ev", json!({"v": true, "t": 1}))
        .sign(&key);
    let outcome = check(&verifier, &token).await;
    let session = outcome.session().expect("valid");
    let claims: &SuperTokensClaims = session.claims();
    assert_eq!(claims.sub, "user-1");
    assert_eq!(claims.tenant_id.as_deref(), Some("public"));
    assert_eq!(claims.rsub.as_deref(), Some("user-1"));
    assert!(claims.session_handle.is_some());
    assert_eq!(claims.get("st-ev.v"), Some(&json!(true)));
    assert!(!format!("{session:?}").contains(&token[..20]));
}

#[tokio::test]
async fn no_token_is_missing() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    for headers in [
        HeaderList::new(),
        HeaderList::new().with("Cookie", "other=1"),
        HeaderList::new().with("Cookie", "sAccessToken="),
        HeaderList::new().with("Authorization", "Bearer"),
        HeaderList::new().with("Authorization", "Basic abc"),
    ] {
        assert!(verifier.verify(&headers).await.is_missing());
    }
}

#[tokio::test]
async fn bearer_header_works_and_cookie_wins_without_fallback() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    let good = TokenBuilder::supertokens("bob", 60).sign(&key);
    let headers = HeaderList::new().with("Authorization", format!("bearer  {good}"));
    assert_valid(&verifier.verify(&headers).await, "bob");
    let both = HeaderList::new()
        .with("Authorization", format!("Bearer {good}"))
        .with("Cookie", "sAccessToken=garbage");
    assert_eq!(kind(&verifier.verify(&both).await), InvalidKind::Malformed);
}

#[tokio::test]
async fn duplicate_cookies_first_valid_wins_else_first_decides() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    let good = TokenBuilder::supertokens("carol", 60).sign(&key);
    let expired = TokenBuilder::supertokens("carol", -60).sign(&key);
    let stale_then_good = HeaderList::new().with(
        "Cookie",
        format!("sAccessToken={expired}; sAccessToken={good}"),
    );
    assert_valid(&verifier.verify(&stale_then_good).await, "carol");
    let expired_then_garbage = HeaderList::new().with(
        "Cookie",
        format!("sAccessToken={expired}; sAccessToken=x.y.z"),
    );
    assert_expired(&verifier.verify(&expired_then_garbage).await);
    let garbage_then_expired = HeaderList::new().with(
        "Cookie",
        format!("sAccessToken=x.y.z; sAccessToken={expired}"),
    );
    assert_eq!(
        kind(&verifier.verify(&garbage_then_expired).await),
        InvalidKind::Malformed
    );
    // At most four are tried.
    let four_bad = std::iter::repeat_n("sAccessToken=a.b.c", 4)
        .collect::<Vec<_>>()
        .join("; ");
    let fifth_good = HeaderList::new().with("Cookie", format!("{four_bad}; sAccessToken={good}"));
    assert_eq!(
        kind(&verifier.verify(&fifth_good).await),
        InvalidKind::Malformed
    );
}

#[tokio::test]
async fn alg_none_in_any_case_is_refused() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    for none in ["none", "None", "NONE", "nOnE"] {
        let token = TokenBuilder::supertokens("u", 60)
            .header("alg", none)
            .header("kid", "k")
            .with_signature(b"");
        assert_eq!(
            kind(&check(&verifier, &token).await),
            InvalidKind::AlgorithmNotAllowed,
            "{none}"
        );
        let with_sig = TokenBuilder::supertokens("u", 60)
            .header("alg", none)
            .header("kid", "k")
            .with_signature(b"x");
        assert_eq!(
            kind(&check(&verifier, &with_sig).await),
            InvalidKind::AlgorithmNotAllowed
        );
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    let builder = TokenBuilder::supertokens("u", 60)
        .header("alg", "HS256")
        .header("kid", "k");
    for secret in [
        key.public_key_pem().unwrap().into_bytes(),
        key.public_key_der().unwrap(),
    ] {
        let unsigned = builder.with_signature(b"");
        let signing_input = unsigned.trim_end_matches('.');
        let hmac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret),
            signing_input.as_bytes(),
        );
        let token = format!("{signing_input}.{}", b64url(hmac.as_ref()));
        assert_eq!(
            kind(&check(&verifier, &token).await),
            InvalidKind::AlgorithmNotAllowed
        );
    }
}

#[tokio::test]
async fn symmetric_keys_are_explicit_and_work() {
    let key = TestKey::generate(Algorithm::HS256, "hs");
    let keys =
        StaticKeys::from_symmetric_secret(Some("hs"), key.hmac_secret().unwrap(), Algorithm::HS256)
            .unwrap();
    let verifier = Verifier::builder(keys).build().unwrap();
    assert_valid(
        &check(&verifier, &TokenBuilder::supertokens("h", 60).sign(&key)).await,
        "h",
    );
    // An `oct` key inside a JWKS is never used.
    let set = json!({"keys": [key.public_jwk()]});
    let from_jwks = Verifier::builder(StaticKeys::from_jwks_json(set.to_string()).unwrap())
        .build()
        .unwrap();
    let token = TokenBuilder::supertokens("h", 60).sign(&key);
    assert_eq!(
        kind(&check(&from_jwks, &token).await),
        InvalidKind::UnknownKey
    );
}

#[tokio::test]
async fn embedded_keys_and_key_urls_in_the_header_are_ignored() {
    let ours = TestKey::generate(Algorithm::RS256, "k");
    let attacker = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&ours]);
    let forged = TokenBuilder::supertokens("admin", 60)
        .header("jwk", attacker.public_jwk())
        .header("jku", "http://127.0.0.1:1/jwks.json")
        .header("x5u", "http://127.0.0.1:1/cert.pem")
        .header("x5c", json!(["MIIB"]))
        .sign(&attacker);
    assert_eq!(
        kind(&check(&verifier, &forged).await),
        InvalidKind::BadSignature
    );
    let genuine = TokenBuilder::supertokens("u", 60)
        .header("jku", "http://127.0.0.1:1/jwks.json")
        .sign(&ours);
    assert_valid(&check(&verifier, &genuine).await, "u");
}

#[tokio::test]
async fn crit_header_is_refused() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("x")] {
        let token = TokenBuilder::supertokens("u", 60)
            .header("crit", crit)
            .sign(&key);
        assert_eq!(
            kind(&check(&verifier, &token).await),
            InvalidKind::Malformed
        );
    }
}

#[tokio::test]
async fn ecdsa_signature_of_zeros_is_refused() {
    // CVE-2022-21449 ("psychic signatures"): r = s = 0.
    let key = TestKey::generate(Algorithm::ES256, "ec");
    let verifier = verifier(&[&key]);
    let token = TokenBuilder::supertokens("u", 60)
        .header("alg", "ES256")
        .header("kid", "ec")
        .with_signature(&[0u8; 64]);
    assert_eq!(
        kind(&check(&verifier, &token).await),
        InvalidKind::BadSignature
    );
}

#[tokio::test]
async fn kids_are_exact_and_unknown_ones_are_invalid() {
    let key = TestKey::generate(Algorithm::RS256, "Key-1");
    let verifier = verifier(&[&key]);
    for kid in [
        json!("key-1"),
        json!("Key-1 "),
        json!(""),
        json!("../../etc/passwd"),
        json!("ключ"),
        json!("\u{0}"),
    ] {
        let token = TokenBuilder::supertokens("u", 60)
            .header("kid", kid.clone())
            .sign(&key);
        assert_eq!(
            kind(&check(&verifier, &token).await),
            InvalidKind::UnknownKey,
            "{kid}"
        );
    }
    let numeric = TokenBuilder::supertokens("u", 60)
        .header("kid", 5)
        .sign(&key);
    assert_eq!(
        kind(&check(&verifier, &numeric).await),
        InvalidKind::Malformed
    );
    let exact = TokenBuilder::supertokens("u", 60).sign(&key);
    assert_valid(&check(&verifier, &exact).await, "u");
}

#[tokio::test]
async fn unicode_kids_match_exactly() {
    let key = TestKey::generate(Algorithm::EdDSA, "ключ-1");
    let verifier = verifier(&[&key]);
    assert_valid(
        &check(&verifier, &TokenBuilder::supertokens("u", 60).sign(&key)).await,
        "u",
    );
}

#[tokio::test]
async fn unknown_key_can_be_configured_as_needs_refresh() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let other = TestKey::generate(Algorithm::RS256, "other");
    let verifier = Verifier::builder(keys_for(&[&key]))
        .unknown_key(UnknownKeyPolicy::NeedsRefresh)
        .build()
        .unwrap();
    let token = TokenBuilder::supertokens("u", 60).sign(&other);
    assert!(matches!(
        check(&verifier, &token).await,
        SessionOutcome::NeedsRefresh(NeedsRefreshReason::UnknownKey)
    ));
}

#[tokio::test]
async fn key_choice_rules() {
    let a = TestKey::generate(Algorithm::RS256, "same");
    let b = TestKey::generate(Algorithm::RS256, "same");
    let ambiguous = verifier(&[&a, &b]);
    let token = TokenBuilder::supertokens("u", 60).sign(&a);
    assert_eq!(
        kind(&check(&ambiguous, &token).await),
        InvalidKind::AmbiguousKey
    );

    // Another key type sharing the kid is simply not a candidate.
    let ec = TestKey::generate(Algorithm::ES256, "same");
    let mixed = verifier(&[&a, &ec]);
    assert_valid(&check(&mixed, &token).await, "u");
    let ec_token = TokenBuilder::supertokens("u", 60).sign(&ec);
    assert_valid(&check(&mixed, &ec_token).await, "u");

    // A token without kid uses the single key for its alg…
    let lone = verifier(&[&a, &ec]);
    let no_kid = TokenBuilder::supertokens("u", 60)
        .without_header("kid")
        .sign(&a);
    assert_valid(&check(&lone, &no_kid).await, "u");
    // …and is ambiguous when two keys fit.
    let c = TestKey::generate(Algorithm::RS256, "c");
    let two = verifier(&[&a, &c]);
    assert_eq!(kind(&check(&two, &no_kid).await), InvalidKind::AmbiguousKey);

    // A key without kid never matches a token that names one.
    let set = json!({"keys": [a.public_jwk().as_object().unwrap().iter()
        .filter(|(k, _)| *k != "kid").map(|(k, v)| (k.clone(), v.clone()))
        .collect::<serde_json::Map<_, _>>()]});
    let anonymous = Verifier::builder(StaticKeys::from_jwks_json(set.to_string()).unwrap())
        .build()
        .unwrap();
    assert_eq!(
        kind(&check(&anonymous, &token).await),
        InvalidKind::UnknownKey
    );
    assert_valid(&check(&anonymous, &no_kid).await, "u");
}

#[tokio::test]
async fn unusable_members_of_a_key_set_are_skipped() {
    let good = TestKey::generate(Algorithm::RS256, "good");
    let mut enc = good.public_jwk();
    enc["kid"] = json!("enc");
    enc["use"] = json!("enc");
    enc["alg"] = json!("RSA-OAEP");
    let mut no_verify = good.public_jwk();
    no_verify["kid"] = json!("ops");
    no_verify["key_ops"] = json!(["encrypt"]);
    let set = json!({"keys": [
        enc, no_verify,
        {"kty": "RSA", "kid": "small", "n": b64url(&[0xff; 128]), "e": "AQAB"},
        {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"},
        {"kty": "weird"}, 42, "string",
        good.public_jwk(),
    ]});
    let keys = StaticKeys::from_jwks_json(set.to_string()).unwrap();
    assert_eq!(keys.key_set().keys().len(), 1);
    let verifier = Verifier::builder(keys).build().unwrap();
    assert_valid(
        &check(&verifier, &TokenBuilder::supertokens("u", 60).sign(&good)).await,
        "u",
    );
    for kid in ["enc", "ops", "small"] {
        let token = TokenBuilder::supertokens("u", 60)
            .header("kid", kid)
            .sign(&good);
        assert_eq!(
            kind(&check(&verifier, &token).await),
            InvalidKind::UnknownKey,
            "{kid}"
        );
    }
}

#[tokio::test]
async fn small_rsa_keys_are_refused() {
    assert!(VerifyingKey::from_rsa_components(&[0xc1; 255], &[1, 0, 1], &[]).is_err());
    assert!(VerifyingKey::from_rsa_components(&[0xc1; 256], &[1, 0, 1], &[]).is_ok());
}

#[tokio::test]
async fn pem_keys_verify() {
    for alg in [
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let key = TestKey::generate(alg, "pem");
        let keys = StaticKeys::from_pem(Some("pem"), &key.public_key_pem().unwrap()).unwrap();
        let verifier = Verifier::builder(keys).build().unwrap();
        assert_valid(
            &check(&verifier, &TokenBuilder::supertokens("p", 60).sign(&key)).await,
            "p",
        );
    }
}

#[tokio::test]
async fn broken_structure_is_malformed() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    let good = TokenBuilder::supertokens("u", 60).sign(&key);
    let (head, sig) = good.rsplit_once('.').unwrap();
    for bad in [
        head.to_string(),
        format!("{good}.extra"),
        format!("{good}="),
        format!("{head}.{}==", sig),
        good.replace('-', "+"),
        format!("{}!{}", &good[..10], &good[11..]),
        "a.b.c".to_string(),
        "..".to_string(),
    ] {
        if bad == good {
            continue;
        }
        let outcome = check(&verifier, &bad).await;
        assert!(
            matches!(
                kind(&outcome),
                InvalidKind::Malformed | InvalidKind::BadSignature
            ),
            "{outcome:?}"
        );
    }
    assert_eq!(
        kind(&check(&verifier, &format!("{good}=")).await),
        InvalidKind::Malformed
    );
    assert_eq!(
        kind(&check(&verifier, &head[..head.len() - 3]).await),
        InvalidKind::Malformed
    );
}

#[tokio::test]
async fn truncated_signature_is_bad() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    let good = TokenBuilder::supertokens("u", 60).sign(&key);
    for cut in 1..8 {
        let truncated = &good[..good.len() - cut];
        assert!(matches!(
            kind(&check(&verifier, truncated).await),
            InvalidKind::BadSignature | InvalidKind::Malformed
        ));
    }
    let whole_signature_gone = &good[..good.rfind('.').unwrap() + 1];
    assert_eq!(
        kind(&check(&verifier, whole_signature_gone).await),
        InvalidKind::BadSignature
    );
}

#[tokio::test]
async fn payload_must_be_a_json_object_in_utf8() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    for payload in [
        &b"[1,2]"[..],
        b"\"string\"",
        b"42",
        b"null",
        b"{\"sub\":\"u\",\"exp\":99999999999,\"x\":\"\xff\"}",
        b"{\"sub\":\"u\",\"exp\":99999999999",
        b"{\"sub\":\"u\",\"exp\":99999999999,\"exp\":1}",
    ] {
        let token = TokenBuilder::new().sign_payload_bytes(payload, &key);
        assert_eq!(
            kind(&check(&verifier, &token).await),
            InvalidKind::Malformed
        );
    }
}

#[tokio::test]
async fn exp_is_required_and_numeric() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    let missing = TokenBuilder::supertokens("u", 60)
        .without_claim("exp")
        .sign(&key);
    assert_eq!(
        kind(&check(&verifier, &missing).await),
        InvalidKind::Claim(ClaimFailure::Expiry)
    );
    let string = TokenBuilder::supertokens("u", 60)
        .claim("exp", (ssr_session::testing::now_secs() + 60).to_string())
        .sign(&key);
    assert_eq!(
        kind(&check(&verifier, &string).await),
        InvalidKind::Claim(ClaimFailure::Expiry)
    );
}

#[tokio::test]
async fn sub_is_required() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = Verifier::builder(keys_for(&[&key]))
        .token_structure(ssr_session::verify::TokenStructure::AnyJwt)
        .build()
        .unwrap();
    let token = TokenBuilder::supertokens("u", 60)
        .claim("sub", 5)
        .sign(&key);
    assert_eq!(
        kind(&check(&verifier, &token).await),
        InvalidKind::Claim(ClaimFailure::Subject)
    );
}

#[tokio::test]
async fn nbf_in_the_future_is_invalid_and_leeway_applies() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let now = ssr_session::testing::now_secs();
    let future = TokenBuilder::supertokens("u", 600)
        .claim("nbf", now + 100)
        .sign(&key);
    let strict = verifier(&[&key]);
    assert_eq!(
        kind(&check(&strict, &future).await),
        InvalidKind::Claim(ClaimFailure::NotYetValid)
    );
    let lenient = Verifier::builder(keys_for(&[&key]))
        .leeway(Duration::from_secs(200))
        .build()
        .unwrap();
    assert_valid(&check(&lenient, &future).await, "u");
    let past = TokenBuilder::supertokens("u", 600)
        .claim("nbf", now - 5)
        .sign(&key);
    assert_valid(&check(&strict, &past).await, "u");
    let string_nbf = TokenBuilder::supertokens("u", 600)
        .claim("nbf", "0")
        .sign(&key);
    assert_eq!(
        kind(&check(&strict, &string_nbf).await),
        InvalidKind::Claim(ClaimFailure::NotYetValid)
    );
}

#[tokio::test]
async fn leeway_applies_to_exp() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let recently_expired = TokenBuilder::supertokens("u", -30).sign(&key);
    assert_expired(&check(&verifier(&[&key]), &recently_expired).await);
    let lenient = Verifier::builder(keys_for(&[&key]))
        .leeway(Duration::from_secs(60))
        .build()
        .unwrap();
    assert_valid(&check(&lenient, &recently_expired).await, "u");
}

#[tokio::test]
async fn iat_in_the_future_is_not_checked() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let token = TokenBuilder::supertokens("u", 60)
        .claim("iat", ssr_session::testing::now_secs() + 3600)
        .sign(&key);
    assert_valid(&check(&verifier(&[&key]), &token).await, "u");
}

#[tokio::test]
async fn issuer_and_audience() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = Verifier::builder(keys_for(&[&key]))
        .issuer("https://api.example.com/auth")
        .audience("app")
        .build()
        .unwrap();
    let base = TokenBuilder::supertokens("u", 60).claim("iss", "https://api.example.com/auth");
    assert_valid(
        &check(&verifier, &base.clone().claim("aud", "app").sign(&key)).await,
        "u",
    );
    assert_valid(
        &check(
            &verifier,
            &base.clone().claim("aud", json!(["x", "app"])).sign(&key),
        )
        .await,
        "u",
    );
    for (token, failure) in [
        (
            base.clone().claim("aud", "other").sign(&key),
            ClaimFailure::Audience,
        ),
        (
            base.clone().claim("aud", json!(["x"])).sign(&key),
            ClaimFailure::Audience,
        ),
        (base.clone().sign(&key), ClaimFailure::Audience),
        (
            base.clone().claim("aud", json!([1])).sign(&key),
            ClaimFailure::Audience,
        ),
        (
            base.clone()
                .claim("aud", "app")
                .claim("iss", "https://evil/auth")
                .sign(&key),
            ClaimFailure::Issuer,
        ),
        (
            base.clone()
                .claim("aud", "app")
                .without_claim("iss")
                .sign(&key),
            ClaimFailure::Issuer,
        ),
    ] {
        assert_eq!(
            kind(&check(&verifier, &token).await),
            InvalidKind::Claim(failure)
        );
    }
    // aud present while none is configured is fine.
    let plain = self::verifier(&[&key]);
    assert_valid(
        &check(&plain, &base.claim("aud", "anything").sign(&key)).await,
        "u",
    );
}

#[tokio::test]
async fn expired_only_when_valid_but_for_exp() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let attacker = TestKey::generate(Algorithm::RS256, "k");
    let verifier = Verifier::builder(keys_for(&[&key]))
        .issuer("https://api.example.com/auth")
        .audience("app")
        .build()
        .unwrap();
    let expired = TokenBuilder::supertokens("u", -60)
        .claim("iss", "https://api.example.com/auth")
        .claim("aud", "app");
    assert_expired(&check(&verifier, &expired.clone().sign(&key)).await);
    // Forged + expired → invalid, never needs refresh.
    assert_eq!(
        kind(&check(&verifier, &expired.clone().sign(&attacker)).await),
        InvalidKind::BadSignature
    );
    let wrong_iss = expired.clone().claim("iss", "https://evil/auth").sign(&key);
    assert_eq!(
        kind(&check(&verifier, &wrong_iss).await),
        InvalidKind::Claim(ClaimFailure::Issuer)
    );
    let wrong_aud = expired.clone().claim("aud", "nope").sign(&key);
    assert_eq!(
        kind(&check(&verifier, &wrong_aud).await),
        InvalidKind::Claim(ClaimFailure::Audience)
    );
    let future_nbf = expired
        .clone()
        .claim("nbf", ssr_session::testing::now_secs() + 999)
        .sign(&key);
    assert_eq!(
        kind(&check(&verifier, &future_nbf).await),
        InvalidKind::Claim(ClaimFailure::NotYetValid)
    );
    let wrong_alg = expired.clone().header("alg", "PS256").sign(&key);
    assert_eq!(
        kind(&check(&verifier, &wrong_alg).await),
        InvalidKind::AlgorithmNotAllowed
    );
    let crit = expired.header("crit", json!(["x"])).sign(&key);
    assert_eq!(kind(&check(&verifier, &crit).await), InvalidKind::Malformed);
}

#[tokio::test]
async fn algorithm_allow_list_narrows() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let verifier = Verifier::builder(keys_for(&[&key]))
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap();
    let token = TokenBuilder::supertokens("u", 60).sign(&key);
    assert_eq!(
        kind(&check(&verifier, &token).await),
        InvalidKind::AlgorithmNotAllowed
    );
    assert!(
        Verifier::builder(keys_for(&[&key]))
            .algorithms([])
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn oversized_tokens_are_refused_without_work() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    let big = TokenBuilder::supertokens("u", 60)
        .claim("padding", "x".repeat(100 * 1024))
        .sign(&key);
    assert_eq!(kind(&check(&verifier, &big).await), InvalidKind::TooLarge);
    let just_under = TokenBuilder::supertokens("u", 60)
        .claim("p", "x".repeat(8 * 1024))
        .sign(&key);
    assert_valid(&check(&verifier, &just_under).await, "u");
    let small_cap = Verifier::builder(keys_for(&[&key]))
        .max_token_bytes(100)
        .build()
        .unwrap();
    assert_eq!(
        kind(&check(&small_cap, &just_under).await),
        InvalidKind::TooLarge
    );
}

#[tokio::test]
async fn claim_validators_run_only_on_valid_unexpired_tokens() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = Verifier::builder(keys_for(&[&key]))
        .require(
            |claims: &SuperTokensClaims, _: &ssr_session::requirement::RequirementContext| {
                match claims.get("st-ev.v") {
                    Some(serde_json::Value::Bool(true)) => Ok(()),
                    _ => Err(RequirementFailure::new(
                        "st-ev",
                        json!({"message": "wrong value", "expectedValue": true}),
                    )),
                }
            },
        )
        .build()
        .unwrap();
    let verified = TokenBuilder::supertokens("u", 60).claim("st-ev", json!({"v": true}));
    let unverified = TokenBuilder::supertokens("u", 60).claim("st-ev", json!({"v": false}));
    assert_valid(&check(&verifier, &verified.sign(&key)).await, "u");
    let outcome = check(&verifier, &unverified.clone().sign(&key)).await;
    match &outcome {
        SessionOutcome::Invalid(invalid) => {
            assert!(invalid.claim_validation_errors().is_some());
            let InvalidKind::Claim(ClaimFailure::Validators(errors)) = invalid.kind() else {
                panic!("{outcome:?}")
            };
            assert_eq!(errors[0].id, "st-ev");
        }
        other => panic!("{other:?}"),
    }
    // Expired with a failing claim → needs refresh (a refresh may bring new claim values).
    assert_expired(&check(&verifier, &unverified.expires_in(-10).sign(&key)).await);
}

#[derive(serde::Deserialize, Debug)]
struct MyClaims {
    sub: String,
    role: String,
}

#[tokio::test]
async fn any_deserializable_claims_type_works() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = Verifier::<MyClaims>::builder_for(keys_for(&[&key]))
        .build()
        .unwrap();
    let headers = |t: &str| HeaderList::new().with("Cookie", format!("sAccessToken={t}"));
    let token = TokenBuilder::supertokens("u", 60)
        .claim("role", "admin")
        .sign(&key);
    let outcome = verifier.verify(&headers(&token)).await;
    let session = outcome.session().unwrap();
    assert_eq!(session.claims().role, "admin");
    assert_eq!(session.claims().sub, "u");
    let lacking = TokenBuilder::supertokens("u", 60).sign(&key);
    match verifier.verify(&headers(&lacking)).await {
        SessionOutcome::Invalid(invalid) => assert_eq!(invalid.kind(), &InvalidKind::Malformed),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn tampering_any_part_is_invalid() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let verifier = verifier(&[&key]);
    let good = TokenBuilder::supertokens("u", 60).sign(&key);
    let parts: Vec<&str> = good.split('.').collect();
    let evil_payload = b64url(
        serde_json::to_string(&json!({"sub": "admin", "exp": 9999999999i64}))
            .unwrap()
            .as_bytes(),
    );
    let swapped = format!("{}.{}.{}", parts[0], evil_payload, parts[2]);
    assert_eq!(
        kind(&check(&verifier, &swapped).await),
        InvalidKind::BadSignature
    );
}

#[tokio::test]
async fn only_supertokens_session_tokens_count_by_default() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let verifier = verifier(&[&key]);
    let structure = InvalidKind::Claim(ClaimFailure::SessionStructure);
    // An OAuth2-provider token signed by the same keys (`stt: 1`), even expired.
    for lifetime in [60, -60] {
        let oauth = TokenBuilder::supertokens("u", lifetime)
            .claim("stt", 1)
            .sign(&key);
        assert_eq!(kind(&check(&verifier, &oauth).await), structure);
    }
    assert_valid(
        &check(
            &verifier,
            &TokenBuilder::supertokens("u", 60)
                .claim("stt", 0)
                .sign(&key),
        )
        .await,
        "u",
    );
    // A JWT-recipe token (`createJWT`): signed by the same keys, no session claims.
    let plain_jwt = TokenBuilder::new()
        .claim("sub", "u")
        .expires_in(60)
        .sign(&key);
    assert_eq!(kind(&check(&verifier, &plain_jwt).await), structure);
    for missing in ["sessionHandle", "refreshTokenHash1", "iat", "rsub"] {
        let token = TokenBuilder::supertokens("u", 60)
            .without_claim(missing)
            .sign(&key);
        assert_eq!(
            kind(&check(&verifier, &token).await),
            structure,
            "{missing}"
        );
    }
    // v4 and v3 tokens have no `rsub`.
    for version in ["4", "3"] {
        let token = TokenBuilder::supertokens("u", 60)
            .header("version", version)
            .without_claim("rsub")
            .sign(&key);
        assert_valid(&check(&verifier, &token).await, "u");
    }
    let no_version = TokenBuilder::supertokens("u", 60)
        .without_header("version")
        .without_claim("rsub")
        .sign(&key);
    assert_valid(&check(&verifier, &no_version).await, "u");
    for version in [json!(5), json!("2"), json!("v5")] {
        let token = TokenBuilder::supertokens("u", 60)
            .header("version", version.clone())
            .sign(&key);
        assert_eq!(
            kind(&check(&verifier, &token).await),
            structure,
            "{version}"
        );
    }
}

#[tokio::test]
async fn any_jwt_structure_accepts_plain_jwts() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let verifier = Verifier::builder(keys_for(&[&key]))
        .token_structure(ssr_session::verify::TokenStructure::AnyJwt)
        .build()
        .unwrap();
    let plain_jwt = TokenBuilder::new()
        .claim("sub", "client-1")
        .expires_in(60)
        .sign(&key);
    assert_valid(&check(&verifier, &plain_jwt).await, "client-1");
}
