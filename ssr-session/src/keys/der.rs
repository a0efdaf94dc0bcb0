//! The little DER a JWK's RSA key needs: PKCS#1 `RSAPublicKey` built from
//! a modulus and an exponent, and read back from PEM.

/// The big-endian integer without its leading zero bytes.
pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// DER of PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
pub(crate) fn rsa_public_key_der(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, value: &[u8]) {
        let pad = value.first().is_none_or(|b| b & 0x80 != 0);
        out.push(0x02);
        push_len(out, value.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(value);
    }
    let mut body = Vec::with_capacity(modulus.len() + exponent.len() + 16);
    integer(&mut body, modulus);
    integer(&mut body, exponent);
    let mut der = Vec::with_capacity(body.len() + 6);
    push_tlv(&mut der, 0x30, &body);
    der
}

/// Appends one DER element: `tag`, the length of `value`, `value`.
#[cfg_attr(not(any(feature = "aws-lc-rs", feature = "testing")), allow(dead_code))]
pub(crate) fn push_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    push_len(out, value.len());
    out.extend_from_slice(value);
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Reads modulus and exponent back out of PKCS#1 `RSAPublicKey` DER.
pub(crate) fn parse_rsa_public_key_der(der: &[u8]) -> Option<(&[u8], &[u8])> {
    fn read_len(input: &[u8]) -> Option<(usize, &[u8])> {
        let (&first, rest) = input.split_first()?;
        if first < 0x80 {
            return Some((first as usize, rest));
        }
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        Some((len, &rest[count..]))
    }
    fn read_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&t, rest) = input.split_first()?;
        if t != tag {
            return None;
        }
        let (len, rest) = read_len(rest)?;
        (rest.len() >= len).then(|| rest.split_at(len))
    }
    let (sequence, _) = read_tlv(der, 0x30)?;
    let (modulus, rest) = read_tlv(sequence, 0x02)?;
    let (exponent, _) = read_tlv(rest, 0x02)?;
    Some((modulus, exponent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_der_round_trips() {
        let modulus = [0x80u8; 256];
        let der = rsa_public_key_der(&modulus, &[1, 0, 1]);
        let (n, e) = parse_rsa_public_key_der(&der).unwrap();
        assert_eq!(strip_leading_zeros(n), modulus);
        assert_eq!(e, [1, 0, 1]);
    }
}
