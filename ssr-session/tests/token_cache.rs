//! The verified-token cache: hits skip key lookup and signature work, and
//! can never outlive the token, its key, or its bounds.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ssr_session::testing::{TestKey, TokenBuilder, jwks, now_secs};
use ssr_session::{
    KeyProvider, MemoryRevocations, NeedsRefreshReason, Revocation, SessionOutcome,
    SuperTokensClaims, Verifier, async_trait, error::InvalidKind, keys::Algorithm,
    keys::KeyLookupError, keys::KeyRequest, keys::KeySet, keys::StaticKeys, keys::VerifyingKey,
    requirement::RequirementContext, requirement::RequirementFailure, source::HeaderList,
};

/// A provider whose key set can be swapped, counting lookups.
struct SwappableKeys {
    set: RwLock<KeySet>,
    lookups: AtomicUsize,
}

impl SwappableKeys {
    fn new(keys: &[&TestKey]) -> Arc<Self> {
        Arc::new(Self {
            set: RwLock::new(KeySet::from_jwks_json(jwks(keys).to_string().as_bytes()).unwrap()),
            lookups: AtomicUsize::new(0),
        })
    }

    fn replace(&self, keys: &[&TestKey]) {
        *self.set.write().unwrap() =
            KeySet::from_jwks_json(jwks(keys).to_string().as_bytes()).unwrap();
    }
}

#[async_trait]
impl KeyProvider for SwappableKeys {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.set
            .read()
            .unwrap()
            .select(request.kid, request.algorithm)
            .into_result()
    }
}

fn cookie(token: &str) -> HeaderList {
    HeaderList::new().with("Cookie", format!("sAccessToken={token}"))
}

/// A clock the test sets by hand, starting at `start` (seconds): the handle
/// to move it, and the function for `VerifierBuilder::clock`.
fn manual_clock(start: u64) -> (Arc<AtomicU64>, impl Fn() -> f64 + Send + Sync + 'static) {
    let now = Arc::new(AtomicU64::new(start));
    let clock = now.clone();
    (now, move || clock.load(Ordering::SeqCst) as f64)
}

#[tokio::test]
async fn a_repeat_visit_skips_key_lookup_and_signature() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let keys = SwappableKeys::new(&[&key]);
    let verifier = Verifier::builder(keys.clone()).build().unwrap();
    let token = TokenBuilder::supertokens("alice", 60).sign(&key);
    for _ in 0..5 {
        assert_eq!(
            verifier
                .verify(&cookie(&token))
                .await
                .session()
                .unwrap()
                .user_id(),
            "alice"
        );
    }
    assert_eq!(keys.lookups.load(Ordering::SeqCst), 1);
    assert_eq!(verifier.cached_tokens(), 1);

    let uncached = Verifier::builder(keys.clone())
        .without_token_cache()
        .build()
        .unwrap();
    for _ in 0..3 {
        assert!(uncached.verify(&cookie(&token)).await.is_valid());
    }
    assert_eq!(keys.lookups.load(Ordering::SeqCst), 4);
    assert_eq!(uncached.cached_tokens(), 0);
}

#[tokio::test]
async fn only_valid_outcomes_are_cached_and_other_bytes_never_hit() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let keys = SwappableKeys::new(&[&key]);
    let verifier = Verifier::builder(keys.clone()).build().unwrap();
    let token = TokenBuilder::supertokens("alice", 60).sign(&key);
    assert!(verifier.verify(&cookie(&token)).await.is_valid());
    // The same token with one signature character changed: full path, invalid.
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for _ in 0..2 {
        assert!(matches!(
            verifier.verify(&cookie(&forged)).await,
            SessionOutcome::Invalid(_)
        ));
    }
    let expired = TokenBuilder::supertokens("alice", -5).sign(&key);
    for _ in 0..2 {
        assert!(verifier.verify(&cookie(&expired)).await.is_needs_refresh());
    }
    assert_eq!(verifier.cached_tokens(), 1);
    assert_eq!(keys.lookups.load(Ordering::SeqCst), 1 + 2 + 2);
}

#[tokio::test]
async fn a_hit_rechecks_exp_against_the_clock() {
    let key = TestKey::generate(Algorithm::EdDSA, "k");
    let (now, clock) = manual_clock(now_secs() as u64);
    let verifier =
        Verifier::builder(StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap())
            .clock(clock)
            .build()
            .unwrap();
    let token = TokenBuilder::supertokens("alice", 30).sign(&key);
    assert!(verifier.verify(&cookie(&token)).await.is_valid());
    now.fetch_add(31, Ordering::SeqCst);
    assert!(matches!(
        verifier.verify(&cookie(&token)).await,
        SessionOutcome::NeedsRefresh(NeedsRefreshReason::Expired)
    ));
}

#[tokio::test]
async fn a_hit_rechecks_nbf_against_the_clock() {
    let key = TestKey::generate(Algorithm::EdDSA, "k");
    let start = now_secs() as u64;
    let (now, clock) = manual_clock(start);
    let verifier =
        Verifier::builder(StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap())
            .clock(clock)
            .build()
            .unwrap();
    let token = TokenBuilder::supertokens("alice", 300)
        .claim("nbf", start as i64)
        .sign(&key);
    assert!(verifier.verify(&cookie(&token)).await.is_valid());
    // The clock goes backwards (a corrected skew): the cached entry is not trusted.
    now.store(start - 100, Ordering::SeqCst);
    match verifier.verify(&cookie(&token)).await {
        SessionOutcome::Invalid(invalid) => {
            assert!(matches!(invalid.kind(), InvalidKind::Claim(_)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn removing_the_key_drops_its_cached_tokens() {
    let old = TestKey::generate(Algorithm::RS256, "old");
    let new = TestKey::generate(Algorithm::RS256, "new");
    let keys = SwappableKeys::new(&[&old]);
    let verifier = Verifier::builder(keys.clone()).build().unwrap();
    let token = TokenBuilder::supertokens("alice", 600).sign(&old);
    assert!(verifier.verify(&cookie(&token)).await.is_valid());
    assert!(verifier.verify(&cookie(&token)).await.is_valid());
    keys.replace(&[&new]);
    match verifier.verify(&cookie(&token)).await {
        SessionOutcome::Invalid(invalid) => assert_eq!(invalid.kind(), &InvalidKind::UnknownKey),
        other => panic!("a token of a removed key must stop verifying, got {other:?}"),
    }
}

#[tokio::test]
async fn the_cache_stays_within_its_bound() {
    let key = TestKey::generate(Algorithm::HS256, "hs");
    let keys =
        StaticKeys::from_symmetric_secret(Some("hs"), key.hmac_secret().unwrap(), Algorithm::HS256)
            .unwrap();
    let verifier = Verifier::builder(keys)
        .token_cache_capacity(200)
        .build()
        .unwrap();
    for i in 0..3_000 {
        let token = TokenBuilder::supertokens(&format!("user-{i}"), 600).sign(&key);
        assert!(verifier.verify(&cookie(&token)).await.is_valid());
    }
    let cached = verifier.cached_tokens();
    assert!(
        cached <= 200,
        "{cached} entries cached with a capacity of 200"
    );
    assert!(cached > 0);
}

#[tokio::test]
async fn claims_are_shared_between_hits_not_copied() {
    let key = TestKey::generate(Algorithm::EdDSA, "k");
    let keys = StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap();
    let verifier = Verifier::builder(keys).build().unwrap();
    let token = TokenBuilder::supertokens("alice", 60).sign(&key);
    let first = verifier
        .verify(&cookie(&token))
        .await
        .into_session()
        .unwrap();
    let second = verifier
        .verify(&cookie(&token))
        .await
        .into_session()
        .unwrap();
    assert!(first.ptr_eq(&second));
    assert!(std::ptr::eq(first.claims(), second.claims()));
}

#[tokio::test]
async fn a_hit_honours_the_leeway_like_the_full_path() {
    let key = TestKey::generate(Algorithm::EdDSA, "k");
    let (now, clock) = manual_clock(now_secs() as u64);
    let verifier =
        Verifier::builder(StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap())
            .leeway(std::time::Duration::from_secs(10))
            .clock(clock)
            .build()
            .unwrap();
    let token = TokenBuilder::supertokens("alice", 30).sign(&key);
    assert!(verifier.verify(&cookie(&token)).await.is_valid());
    now.fetch_add(35, Ordering::SeqCst); // past `exp`, within the leeway
    assert!(verifier.verify(&cookie(&token)).await.is_valid());
    now.fetch_add(10, Ordering::SeqCst); // past `exp` + leeway
    assert!(matches!(
        verifier.verify(&cookie(&token)).await,
        SessionOutcome::NeedsRefresh(NeedsRefreshReason::Expired)
    ));
}

#[tokio::test]
async fn a_changed_policy_is_a_new_verifier_with_an_empty_cache() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let keys = SwappableKeys::new(&[&key]);
    let token = TokenBuilder::supertokens("alice", 60).sign(&key);
    let lenient = Verifier::builder(keys.clone()).build().unwrap();
    assert!(lenient.verify(&cookie(&token)).await.is_valid());
    assert_eq!(lenient.cached_tokens(), 1);
    let strict = Verifier::builder(keys.clone())
        .issuer("https://other.example.com/auth")
        .build()
        .unwrap();
    assert_eq!(strict.cached_tokens(), 0);
    match strict.verify(&cookie(&token)).await {
        SessionOutcome::Invalid(invalid) => {
            assert!(matches!(invalid.kind(), InvalidKind::Claim(_)))
        }
        other => panic!("the stricter policy must not see the lenient cache: {other:?}"),
    }
}

#[tokio::test]
async fn verify_cached_answers_only_from_the_cache() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let keys = SwappableKeys::new(&[&key]);
    let (now, clock) = manual_clock(now_secs() as u64);
    let verifier = Verifier::builder(keys.clone())
        .clock(clock)
        .build()
        .unwrap();
    let token = TokenBuilder::supertokens("alice", 60).sign(&key);
    let request = cookie(&token);
    assert!(
        verifier.verify_cached(&request).is_none(),
        "not verified yet"
    );
    let verified = verifier.verify(&request).await.into_session().unwrap();
    let hit = verifier.verify_cached(&request).expect("a hit");
    assert!(hit.session().unwrap().ptr_eq(&verified));
    assert_eq!(keys.lookups.load(Ordering::SeqCst), 1);
    // A forged token beside it is no hit; the valid one still wins.
    let forged =
        TokenBuilder::supertokens("mallory", 60).sign(&TestKey::generate(Algorithm::RS256, "k"));
    let both = HeaderList::new().with(
        "Cookie",
        format!("sAccessToken={forged}; sAccessToken={token}"),
    );
    let both = verifier.verify_cached(&both).unwrap();
    assert_eq!(both.session().unwrap().user_id(), "alice");
    assert!(verifier.verify_cached(&cookie(&forged)).is_none());
    // No token at all needs no cache: missing at once.
    assert!(
        verifier
            .verify_cached(&HeaderList::new())
            .unwrap()
            .is_missing()
    );
    // Expired: no hit, and `verify` gives the expiry.
    now.fetch_add(61, Ordering::SeqCst);
    assert!(verifier.verify_cached(&request).is_none());
    assert!(matches!(
        verifier.verify(&request).await,
        SessionOutcome::NeedsRefresh(NeedsRefreshReason::Expired)
    ));

    let uncached = Verifier::builder(keys.clone())
        .without_token_cache()
        .build()
        .unwrap();
    let token = TokenBuilder::supertokens("alice", 60).sign(&key);
    assert!(uncached.verify(&cookie(&token)).await.is_valid());
    assert!(
        uncached.verify_cached(&cookie(&token)).is_none(),
        "cache off"
    );
}

/// A validator with a time dependence: the claim `fresh_until` (seconds)
/// must lie ahead of the verification time.
fn fresh_until(
    claims: &SuperTokensClaims,
    at: &RequirementContext,
) -> Result<(), RequirementFailure> {
    match claims
        .get("fresh_until")
        .and_then(serde_json::Value::as_f64)
    {
        Some(until) if at.now() < until => Ok(()),
        _ => Err(RequirementFailure::new(
            "fresh_until",
            serde_json::json!({"message": "expired"}),
        )),
    }
}

#[tokio::test]
async fn validators_run_on_every_hit_with_the_verification_time() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let keys = SwappableKeys::new(&[&key]);
    let start = now_secs() as u64;
    let (now, clock) = manual_clock(start);
    let verifier = Verifier::builder(keys.clone())
        .clock(clock)
        .require(fresh_until)
        .build()
        .unwrap();
    let token = TokenBuilder::supertokens("alice", 3600)
        .claim("fresh_until", start + 30)
        .sign(&key);
    let request = cookie(&token);
    assert!(verifier.verify(&request).await.is_valid());
    assert!(
        verifier.verify_cached(&request).unwrap().is_valid(),
        "a hit, still fresh"
    );
    now.fetch_add(31, Ordering::SeqCst);
    // The signature is not checked again, but the validator is: the hit
    // is judged at the new time.
    let outcome = verifier.verify_cached(&request).expect("still a cache hit");
    let SessionOutcome::Invalid(invalid) = outcome else {
        panic!("expected the validator's refusal, got {outcome:?}");
    };
    assert_eq!(
        invalid.claim_validation_errors().unwrap()[0].id,
        "fresh_until"
    );
    assert!(verifier.verify(&request).await.is_invalid());
    assert_eq!(
        keys.lookups.load(Ordering::SeqCst),
        1,
        "one signature check in all"
    );
}

#[tokio::test]
async fn a_revocation_reaches_cached_tokens_at_once() {
    let key = TestKey::generate(Algorithm::RS256, "k");
    let keys = SwappableKeys::new(&[&key]);
    let revocations = Arc::new(MemoryRevocations::new(Duration::from_secs(3600)));
    let verifier = Verifier::builder(keys.clone())
        .revocation_list(revocations.clone())
        .build()
        .unwrap();
    let token = TokenBuilder::supertokens("alice", 3600)
        .claim("sessionHandle", "h-1")
        .sign(&key);
    let request = cookie(&token);
    assert!(verifier.verify(&request).await.is_valid());
    revocations.apply(
        &Revocation::Session {
            handle: "h-1".into(),
        },
        now_secs() as i64,
    );
    let outcome = verifier.verify_cached(&request).expect("a cache hit");
    assert!(
        matches!(&outcome, SessionOutcome::Invalid(e) if *e.kind() == InvalidKind::Revoked),
        "{outcome:?}"
    );
    assert_eq!(keys.lookups.load(Ordering::SeqCst), 1);
}

/// One clock: a revocation is judged at the verifier's time, as `exp` is,
/// never at the wall clock's. The verifier's clock runs ten days behind the
/// wall clock here, so a list that read the wall clock would find the
/// revocation long past its retention and let the token through.
#[tokio::test]
async fn a_revocation_is_judged_at_the_verifiers_clock() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let start = now_secs() - 10 * 86_400;
    let (now, clock) = manual_clock(start as u64);
    let revocations = Arc::new(MemoryRevocations::new(Duration::from_secs(3600)));
    let verifier =
        Verifier::builder(StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap())
            .clock(clock)
            .revocation_list(revocations.clone())
            .build()
            .unwrap();
    let issued = |iat: i64| {
        TokenBuilder::supertokens("alice", 3600)
            .claim("iat", iat)
            .claim("exp", start + 20 * 86_400)
            .sign(&key)
    };
    let before = issued(start - 10);
    let after = issued(start + 5);
    // "Sign out everywhere" at the verifier's `start`, kept for an hour.
    revocations.apply(
        &Revocation::User {
            user_id: "alice".into(),
            before: start,
        },
        start,
    );
    now.store(start as u64 + 60, Ordering::SeqCst);
    for _ in 0..2 {
        // Verified in full, then a cache hit: the same answer.
        let outcome = verifier.verify(&cookie(&before)).await;
        assert!(
            matches!(&outcome, SessionOutcome::Invalid(e) if *e.kind() == InvalidKind::Revoked),
            "{outcome:?}"
        );
        assert!(verifier.verify(&cookie(&after)).await.is_valid());
    }
    // Past the retention by the verifier's clock (still ten days ago by the
    // wall clock): the revocation no longer applies.
    now.store(start as u64 + 3601, Ordering::SeqCst);
    assert!(verifier.verify(&cookie(&before)).await.is_valid());
}
