//! The crypto backend, chosen at compile time by the `aws-lc-rs` or `ring`
//! feature: signature checks on keys prepared once, HMAC and SHA-256. The
//! rest of the crate names no crypto crate, so a backend is one file.
//!
//! Both backends refuse the same keys at parse (RSA under 2048 or over 8192
//! bits, EC points off their curve), so a key set means the same under
//! either; ring prepares less ahead (it re-reads an RSA or EC key on each
//! check, see BENCHMARKS.md "One crypto backend, by choice").

// With both features on, lib.rs's `compile_error!` says so; aws-lc-rs is
// compiled meanwhile so that the error stands alone.
#[cfg(feature = "aws-lc-rs")]
mod with_aws_lc;
#[cfg(feature = "aws-lc-rs")]
pub(crate) use self::with_aws_lc::*;

#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
mod with_ring;
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub(crate) use self::with_ring::*;

use crate::error::KeyError;

/// Smallest RSA modulus accepted, in bits (ring's floor, and the floor RFC 7518 asks for).
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (both backends' ceiling).
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// The size in bits of a big-endian integer without leading zero bytes.
pub(crate) fn bit_length(unsigned: &[u8]) -> usize {
    unsigned.len() * 8 - unsigned.first().map_or(8, |b| b.leading_zeros() as usize)
}

/// The RSA checks both backends share, so that a key refused by one is
/// refused by the other with the same words.
pub(crate) fn check_rsa(modulus: &[u8], exponent: &[u8]) -> Result<(), KeyError> {
    let bits = bit_length(modulus);
    if bits < MIN_RSA_BITS {
        return Err(KeyError::new(format!(
            "RSA key of {bits} bits refused (minimum {MIN_RSA_BITS})"
        )));
    }
    if bits > MAX_RSA_BITS {
        return Err(KeyError::new(format!(
            "RSA key of {bits} bits refused (maximum {MAX_RSA_BITS})"
        )));
    }
    let odd = |int: &[u8]| int.last().is_some_and(|b| b & 1 == 1);
    if !odd(modulus) {
        return Err(KeyError::new("RSA modulus is even"));
    }
    // ring's bounds (3 ≤ e < 2^33, odd); aws-lc's are no wider for verification.
    if !odd(exponent) || bit_length(exponent) > 33 || (exponent.len() == 1 && exponent[0] < 3) {
        return Err(KeyError::new(
            "RSA exponent refused (it must be odd, at least 3, below 2^33)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::keys::VerifyingKey;

    fn refusal(result: Result<VerifyingKey, crate::error::KeyError>) -> String {
        result.expect_err("the key must be refused").to_string()
    }

    #[test]
    fn rsa_keys_outside_2048_to_8192_bits_are_refused_at_parse() {
        let small = refusal(VerifyingKey::from_rsa_components(
            &[0xff; 128],
            &[1, 0, 1],
            &[],
        ));
        assert!(small.contains("1024 bits"), "{small}");
        let large = refusal(VerifyingKey::from_rsa_components(
            &[0xff; 1025],
            &[1, 0, 1],
            &[],
        ));
        assert!(large.contains("maximum 8192"), "{large}");
    }

    #[test]
    fn rsa_moduli_and_exponents_ring_would_refuse_are_refused_by_both_backends() {
        let mut even = vec![0xff; 256];
        even[255] = 0xfe;
        let even = refusal(VerifyingKey::from_rsa_components(&even, &[1, 0, 1], &[]));
        assert!(even.contains("even"), "{even}");
        for exponent in [&[1][..], &[2], &[1, 0, 0, 0, 0, 1]] {
            let refused = refusal(VerifyingKey::from_rsa_components(
                &[0xff; 256],
                exponent,
                &[],
            ));
            assert!(refused.contains("exponent"), "{exponent:?}: {refused}");
        }
    }

    #[test]
    fn ec_points_off_their_curve_and_p521_are_refused_at_parse() {
        let mut off_curve = vec![4];
        off_curve.extend_from_slice(&[1; 64]);
        let refused = refusal(VerifyingKey::from_ec_point(&off_curve));
        assert!(refused.contains("key rejected"), "{refused}");
        let p521 = refusal(VerifyingKey::from_ec_point(&[4; 133]));
        assert!(p521.contains("not P-256 or P-384"), "{p521}");
    }
}
