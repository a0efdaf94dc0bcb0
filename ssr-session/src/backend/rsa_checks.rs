//! The RSA checks both backends share (one file, so that each backend
//! names them without needing the module that picks the backend).

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
