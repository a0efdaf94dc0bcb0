//! JWKS JSON bytes → key set.
//!
//! Checked: no panic, whatever the bytes; every key that parses verifies
//! at least one algorithm and never an HMAC one (a key set never yields a
//! shared secret); selection by `kid` and `alg` gives only a key with that
//! `kid` that allows that `alg`; verifying garbage with any key is `false`;
//! parsing again against a previous set keeps the same keys (same count,
//! same `kid`s and algorithms); the same document through `StaticKeys`
//! agrees.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use ssr_session::{keys::Algorithm, keys::KeySelection, keys::KeySet, keys::StaticKeys};

fuzz_target!(|data: &[u8]| {
    let Ok(set) = KeySet::from_jwks_json(data) else {
        assert!(
            StaticKeys::from_jwks_json(data).is_err(),
            "StaticKeys accepts what KeySet refuses"
        );
        return;
    };
    for key in set.keys() {
        let algorithms = key.algorithms();
        assert!(!algorithms.is_empty(), "a key that verifies nothing");
        for alg in Algorithm::of_kind(ssr_session::keys::KeyKind::Hmac).iter() {
            assert!(!key.allows(alg), "a key set yielded an HMAC key");
        }
        for alg in Algorithm::ALL {
            assert!(!key.verify(alg, b"header.payload", b"not a signature"));
            match set.select(key.kid(), alg) {
                KeySelection::Found(found) => {
                    // Without a `kid`, the set's single key for `alg` may be another one.
                    if key.kid().is_some() {
                        assert_eq!(found.kid(), key.kid());
                    }
                    assert!(found.allows(alg));
                }
                KeySelection::Unknown => {
                    assert!(key.kid().is_none(), "a kid present in the set is unknown");
                    assert!(!key.allows(alg));
                }
                KeySelection::AlgorithmMismatch => assert!(!key.allows(alg)),
                KeySelection::Ambiguous => {}
                // A selection added later: nothing this target knows to check.
                _ => {}
            }
        }
    }
    let again = common::key_set()
        .update_from_jwks_json(data)
        .expect("the same bytes parse again");
    let summary = |set: &KeySet| {
        set.keys()
            .iter()
            .map(|key| {
                (
                    key.kid().map(str::to_owned),
                    key.algorithms().iter().collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        summary(&set),
        summary(&again),
        "reusing a previous set changed the keys"
    );
    let keys = StaticKeys::from_jwks_json(data).expect("StaticKeys accepts what KeySet accepts");
    assert_eq!(summary(keys.key_set()), summary(&set));
});
