//! Properties of the verifier over generated inputs: no input panics; no
//! one-byte change and no truncation of a valid token is valid; a token's
//! outcome does not depend on the cookies around it.
//!
//! Case counts are modest so that the whole file runs in seconds in a
//! debug build; `PROPTEST_CASES=10000 cargo test --test properties` runs
//! more.

use std::sync::OnceLock;

use futures_util::FutureExt as _;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;
use ssr_session::testing::{TestKey, TokenBuilder, b64url, jwks};
use ssr_session::{
    SessionOutcome, TokenSource, Verifier, keys::Algorithm, keys::StaticKeys, keys::VerifyingKey,
    source::BearerSource, source::CookieSource, source::HeaderList, source::HeaderSource,
    source::SourceChain,
};

/// The keys: RSA, P-256, Ed25519 from a JWKS, and an HMAC secret.
struct Fixture {
    keys: Vec<TestKey>,
    verifier: Verifier,
    /// One valid token per key, verified once (so cached) before any case.
    valid: Vec<String>,
    expired: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let public: Vec<TestKey> = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
            .into_iter()
            .map(|alg| TestKey::generate(alg, format!("k-{alg:?}")))
            .collect();
        let hmac = TestKey::generate(Algorithm::HS256, "k-HS256");
        let mut verifying: Vec<VerifyingKey> = Vec::new();
        let set = jwks(&public.iter().collect::<Vec<_>>());
        for member in set["keys"].as_array().unwrap() {
            let jwk = serde_json::from_value(member.clone()).unwrap();
            verifying.push(VerifyingKey::from_jwk(&jwk).unwrap());
        }
        verifying.push(
            VerifyingKey::from_symmetric_secret(hmac.hmac_secret().unwrap(), Algorithm::HS256)
                .unwrap()
                .with_kid(Some("k-HS256".into())),
        );
        let verifier = Verifier::builder(StaticKeys::from_keys(verifying))
            .build()
            .unwrap();
        let mut keys = public;
        keys.push(hmac);
        let valid: Vec<String> = keys
            .iter()
            .map(|key| TokenBuilder::supertokens("alice", 3600).sign(key))
            .collect();
        for token in &valid {
            assert!(verify_token(&verifier, token).is_valid());
        }
        let expired = TokenBuilder::supertokens("alice", -60).sign(&keys[2]);
        Fixture {
            keys,
            verifier,
            valid,
            expired,
        }
    })
}

/// Static keys never wait: the verification completes at its first poll.
fn verify(verifier: &Verifier, headers: &HeaderList) -> SessionOutcome {
    verifier
        .verify(headers)
        .now_or_never()
        .expect("a verification over static keys never waits")
}

fn verify_token(verifier: &Verifier, token: &str) -> SessionOutcome {
    verify(verifier, &cookie(token.as_bytes()))
}

fn cookie(token: &[u8]) -> HeaderList {
    let mut value = b"sAccessToken=".to_vec();
    value.extend_from_slice(token);
    HeaderList::new().with("Cookie", value)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Base64url of JSON headers an attacker might send.
fn hostile_header() -> impl Strategy<Value = String> {
    let alg = prop::sample::select(vec![
        "RS256", "ES256", "EdDSA", "HS256", "none", "None", "HS512", "PS256", "ES384", "",
    ]);
    let kid = prop::option::of(prop::sample::select(vec![
        "k-RS256",
        "k-ES256",
        "k-EdDSA",
        "k-HS256",
        "k-unknown",
        "",
    ]));
    let extra = prop::sample::select(vec![
        json!({}),
        json!({"crit": ["exp"]}),
        json!({"jku": "https://evil.example/jwks.json"}),
        json!({"x5u": "https://evil.example/cert.pem"}),
        json!({"jwk": {"kty": "oct", "k": "c2VjcmV0"}}),
        json!({"typ": "JWT", "version": "5"}),
    ]);
    (alg, kid, extra).prop_map(|(alg, kid, extra)| {
        let mut header = json!({"alg": alg});
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        for (name, value) in extra.as_object().unwrap() {
            header[name] = value.clone();
        }
        b64url(header.to_string().as_bytes())
    })
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes, as a cookie value, a bearer token and a raw header,
    /// through every source and the verifier: no panic, and never valid.
    #[test]
    fn arbitrary_bytes_never_panic_and_never_verify(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let fixture = fixture();
        let mut bearer = b"Bearer ".to_vec();
        bearer.extend_from_slice(&bytes);
        let headers = HeaderList::new()
            .with("Cookie", bytes.clone())
            .with("Authorization", bearer)
            .with("X-Access-Token", bytes.clone());
        for source in [
            &CookieSource::default() as &dyn TokenSource,
            &BearerSource,
            &HeaderSource::new("x-access-token"),
            &SourceChain::supertokens(),
        ] {
            let _ = source.tokens(&headers);
        }
        prop_assert!(!verify(&fixture.verifier, &headers).is_valid());
        prop_assert!(!verify(&fixture.verifier, &cookie(&bytes)).is_valid());
    }

    /// Token-shaped input (hostile headers, arbitrary payload and signature
    /// bytes): no panic, and never valid, since no signature is genuine.
    #[test]
    fn hostile_token_shapes_never_verify(
        header in hostile_header(),
        payload in prop::collection::vec(any::<u8>(), 0..200),
        signature in prop::collection::vec(any::<u8>(), 0..300),
        claims in any::<bool>(),
    ) {
        let fixture = fixture();
        let payload = if claims {
            json!({"sub": "mallory", "exp": 4_102_444_800u64}).to_string().into_bytes()
        } else {
            payload
        };
        let token = format!("{header}.{}.{}", b64url(&payload), b64url(&signature));
        prop_assert!(!verify_token(&fixture.verifier, &token).is_valid());
    }

    /// Changing any one byte of a valid token (header, payload, signature or
    /// a dot) to any other byte never gives a valid outcome, even though
    /// the original is in the verified-token cache.
    #[test]
    fn a_one_byte_change_to_a_valid_token_is_never_valid(
        which in 0usize..4,
        at in any::<Index>(),
        byte in any::<u8>(),
    ) {
        let fixture = fixture();
        let original = fixture.valid[which].as_bytes();
        let at = at.index(original.len());
        prop_assume!(original[at] != byte);
        let mut changed = original.to_vec();
        changed[at] = byte;
        let outcome = verify(&fixture.verifier, &cookie(&changed));
        prop_assert!(!outcome.is_valid(), "{:?} at {} of {:?}: {:?}", byte as char, at, fixture.keys[which], outcome);
    }

    /// Every proper prefix of a valid token is not valid.
    #[test]
    fn a_truncated_valid_token_is_never_valid(which in 0usize..4, cut in any::<Index>()) {
        let fixture = fixture();
        let original = fixture.valid[which].as_bytes();
        let cut = cut.index(original.len());
        let outcome = verify(&fixture.verifier, &cookie(&original[..cut]));
        prop_assert!(!outcome.is_valid(), "prefix of {} bytes: {:?}", cut, outcome);
    }

    /// A token's outcome is the same whatever unrelated cookies surround
    /// it, in whatever order, split over however many `Cookie` headers,
    /// with or without an unrelated `Authorization` header.
    #[test]
    fn unrelated_cookies_and_their_order_do_not_change_the_outcome(
        others in prop::collection::vec(("[A-Za-z0-9_.-]{1,16}", "[ -:<-~]{0,24}"), 0..10)
            .prop_filter("unrelated names only", |pairs| pairs.iter().all(|(name, _)| name != "sAccessToken")),
        at in any::<Index>(),
        splits in prop::collection::vec(any::<Index>(), 0..3),
        seed in any::<u64>(),
        authorization in prop::option::of("[ -~]{0,40}"),
        which in 0usize..5,
    ) {
        let fixture = fixture();
        let token = fixture.valid.get(which).unwrap_or(&fixture.expired);
        let baseline = verify_token(&fixture.verifier, token);
        let mut pairs: Vec<String> = others.iter().map(|(name, value)| format!("{name}={value}")).collect();
        // Order: a permutation chosen by `seed`, then the token at `at`.
        let mut state = seed | 1;
        for i in (1..pairs.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            pairs.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let at = at.index(pairs.len() + 1);
        pairs.insert(at, format!("sAccessToken={token}"));
        // Split into several Cookie headers.
        let mut cuts: Vec<usize> = splits.iter().map(|s| s.index(pairs.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut headers = HeaderList::new();
        let mut from = 0;
        for cut in cuts.into_iter().chain([pairs.len()]) {
            if cut > from {
                headers.push("Cookie", pairs[from..cut].join("; "));
                from = cut;
            }
        }
        if let Some(authorization) = authorization {
            headers.push("Authorization", authorization);
        }
        let outcome = verify(&fixture.verifier, &headers);
        prop_assert_eq!(outcome.name(), baseline.name(), "{:?} vs {:?}", outcome, baseline);
        if let (Some(session), Some(expected)) = (outcome.session(), baseline.session()) {
            prop_assert_eq!(session.user_id(), expected.user_id());
        }
    }
}

/// Exhaustive where sampling is weak: the last two characters of each
/// segment carry base64url's spare bits, so a decoder that ignored them
/// would accept other spellings of the same signature. Every other
/// base64url character there gives a token that is not valid.
#[test]
fn no_other_spelling_of_a_segment_end_is_valid() {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let fixture = fixture();
    for token in &fixture.valid {
        let bytes = token.as_bytes();
        let ends: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'.')
            .map(|(i, _)| i)
            .chain([bytes.len()])
            .flat_map(|end| [end - 1, end - 2])
            .collect();
        for at in ends {
            for &letter in ALPHABET.iter().filter(|&&l| l != bytes[at]) {
                let mut changed = bytes.to_vec();
                changed[at] = letter;
                let outcome = verify(&fixture.verifier, &cookie(&changed));
                assert!(
                    !outcome.is_valid(),
                    "{} at {at}: {outcome:?}",
                    letter as char
                );
            }
        }
    }
}
