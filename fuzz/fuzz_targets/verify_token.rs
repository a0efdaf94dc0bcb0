//! Token bytes → verifier over static keys.
//!
//! Input: one mode byte, then
//! - mode < 0x80 (*raw*): the token's bytes, given to the verifier untouched;
//! - mode ≥ 0x80 (*signed*): `header JSON 0xFF payload JSON` (any bytes),
//!   base64url-encoded and signed with the HS256 key `hs`, so that the
//!   fuzzer reaches everything behind the signature check.
//!
//! Checked: no panic; the verification never waits; a *valid* outcome only
//! for a compact JWS with an allowed `alg`, no `crit`, `exp` after now,
//! `nbf` not after now and `sub` the session's user; *expired* only for
//! an `exp` not after now; in signed mode, a token whose `alg` is exactly
//! `HS256` never fails its signature check.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use ssr_session::{source::HeaderList, error::InvalidKind, SessionOutcome};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let signed = mode >= 0x80;
    let token = if signed {
        let (header, payload) = match rest.iter().position(|&b| b == 0xff) {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &b"{}"[..]),
        };
        common::sign_hs256(header, payload)
    } else {
        rest.to_vec()
    };
    let headers = HeaderList::new().with("x-token", token.clone());
    let outcome = common::run(common::raw_verifier(), &headers);
    common::check_outcome(&token, &outcome);
    if signed && let SessionOutcome::Invalid(invalid) = &outcome {
        if *invalid.kind() == InvalidKind::BadSignature {
            let header = rest.split(|&b| b == 0xff).next().unwrap_or_default();
            let alg = serde_json::from_slice::<serde_json::Value>(header)
                .ok()
                .and_then(|h| h.get("alg").and_then(|a| a.as_str()).map(str::to_owned));
            assert_ne!(
                alg.as_deref(),
                Some("HS256"),
                "a correctly signed HS256 token failed its signature"
            );
        }
    }
});
