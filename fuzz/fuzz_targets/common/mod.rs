//! What the fuzz targets share: the fixed keys, a verifier over them with a
//! fixed clock, and the checks every outcome must pass.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::FutureExt as _;
use serde_json::Value;
use ssr_session::{
    keys::Algorithm, source::Headers, keys::KeyLookupError, KeyProvider, keys::KeyRequest, keys::KeySet, SessionOutcome,
    TokenSource, source::Tokens, Verifier, keys::VerifyingKey, async_trait,
};

/// The verifier's clock: 2023-11-14T22:13:20Z. Seeds are valid at this time.
pub const NOW: f64 = 1_700_000_000.0;

/// The HS256 secret of the key `hs` (also in `make_seeds.py`).
pub const HMAC_SECRET: &[u8] = b"ssr-session fuzz hmac secret, 32+ bytes long";

/// Public keys (RSA `rs`, P-256 `es`, Ed25519 `ed`) whose private halves
/// signed the seed tokens; written by `make_seeds.py`.
pub const JWKS: &str = include_str!("../../keys.jwks.json");

/// The fixed key set: the JWKS plus the HMAC key `hs`.
pub fn key_set() -> &'static KeySet {
    static SET: OnceLock<KeySet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = KeySet::from_jwks_json(JWKS.as_bytes()).expect("keys.jwks.json parses");
        assert_eq!(set.keys().len(), 3, "keys.jwks.json holds rs, es, ed");
        let hmac = VerifyingKey::from_symmetric_secret(HMAC_SECRET, Algorithm::HS256)
            .expect("secret is long enough")
            .with_kid(Some("hs".to_owned()));
        set.extend(&KeySet::new([hmac]));
        set
    })
}

/// A key provider over [`key_set`] that never waits.
pub struct FixedKeys;

#[async_trait]
impl KeyProvider for FixedKeys {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        key_set()
            .select(request.kid, request.algorithm)
            .into_result()
    }
}

/// The whole value of the first `x-token` header, untouched (not even
/// trimmed), so that the verifier sees the fuzzer's bytes as they are.
pub struct RawToken;

impl TokenSource for RawToken {
    fn tokens<'h>(&self, headers: &'h dyn Headers) -> Tokens<'h> {
        let mut first: Option<&'h [u8]> = None;
        headers.for_each_value("x-token", &mut |value| {
            first.get_or_insert(value);
        });
        first.map_or_else(Tokens::none, Tokens::one)
    }
}

/// A verifier over the fixed keys with the fixed clock and the default
/// source (cookie, then bearer).
pub fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        Verifier::builder(FixedKeys)
            .clock(|| NOW)
            .build()
            .expect("verifier builds")
    })
}

/// The same, reading the raw `x-token` header.
pub fn raw_verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        Verifier::builder(FixedKeys)
            .clock(|| NOW)
            .token_source(RawToken)
            .build()
            .expect("verifier builds")
    })
}

/// Runs a verification to completion: fixed keys never wait, so the
/// future must be ready at the first poll.
pub fn run(verifier: &Verifier, headers: &dyn Headers) -> SessionOutcome {
    verifier
        .verify(headers)
        .now_or_never()
        .expect("a verification over static keys never waits")
}

/// Checks that hold for any outcome of any `token`: a valid outcome only
/// for a well-formed token of an allowed algorithm whose claims are in
/// time; *expired* only for a past `exp`.
pub fn check_outcome(token: &[u8], outcome: &SessionOutcome) {
    match outcome {
        SessionOutcome::Valid(session) => {
            let (header, payload) = decode(token).expect("a valid token is a compact JWS");
            let alg = header["alg"]
                .as_str()
                .expect("a valid token has a string alg");
            assert!(
                matches!(alg, "RS256" | "ES256" | "EdDSA" | "HS256"),
                "valid with alg {alg}"
            );
            assert!(header.get("crit").is_none(), "valid with crit");
            let exp = payload["exp"]
                .as_f64()
                .expect("a valid token has a numeric exp");
            assert!(exp > NOW, "valid but exp {exp} is not after now");
            if let Some(nbf) = payload.get("nbf") {
                assert!(
                    nbf.as_f64().expect("numeric nbf") <= NOW,
                    "valid before nbf"
                );
            }
            assert_eq!(
                Some(session.user_id()),
                payload["sub"].as_str(),
                "the session's user is the token's sub"
            );
            assert!(token.len() <= ssr_session::verify::DEFAULT_MAX_TOKEN_BYTES);
        }
        SessionOutcome::NeedsRefresh(ssr_session::NeedsRefreshReason::Expired) => {
            let (_, payload) = decode(token).expect("an expired token is a compact JWS");
            let exp = payload["exp"]
                .as_f64()
                .expect("an expired token has a numeric exp");
            assert!(exp <= NOW, "expired but exp {exp} is after now");
        }
        _ => {}
    }
}

/// Header and payload of a compact JWS, parsed as JSON.
fn decode(token: &[u8]) -> Option<(Value, Value)> {
    let text = std::str::from_utf8(token).ok()?.trim();
    let mut parts = text.split('.');
    let header = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    let payload = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    Some((
        serde_json::from_slice(&header).ok()?,
        serde_json::from_slice(&payload).ok()?,
    ))
}

/// `b64(header).b64(payload)` signed with the HS256 secret of key `hs`,
/// as a compact JWS.
pub fn sign_hs256(header: &[u8], payload: &[u8]) -> Vec<u8> {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HMAC_SECRET);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref())).into_bytes()
}
