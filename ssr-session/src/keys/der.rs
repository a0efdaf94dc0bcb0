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
    let (sequence, _) = read_tlv(der, 0x30)?;
    let (modulus, rest) = read_tlv(sequence, 0x02)?;
    let (exponent, _) = read_tlv(rest, 0x02)?;
    Some((modulus, exponent))
}

/// The public key types a `PUBLIC KEY` PEM may hold here.
pub(crate) enum SpkiKey<'a> {
    /// PKCS#1 `RSAPublicKey` DER.
    Rsa(&'a [u8]),
    /// An uncompressed point, with the curve's coordinate size (32: P-256, 48: P-384).
    Ec(&'a [u8], usize),
    /// The 32 bytes of an Ed25519 key.
    Ed25519(&'a [u8]),
}

/// Reads an X.509 `SubjectPublicKeyInfo`: RSA, EC P-256/P-384 or Ed25519.
pub(crate) fn parse_spki(der: &[u8]) -> Option<SpkiKey<'_>> {
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
    let (spki, _) = read_tlv(der, 0x30)?;
    let (algorithm, rest) = read_tlv(spki, 0x30)?;
    let (bits, _) = read_tlv(rest, 0x03)?;
    // A key's BIT STRING has no unused bits.
    let key = bits.strip_prefix(&[0])?;
    let (oid, parameters) = read_tlv(algorithm, 0x06)?;
    match oid {
        RSA => Some(SpkiKey::Rsa(key)),
        EC => {
            let (curve, _) = read_tlv(parameters, 0x06)?;
            let size = match curve {
                P256 => 32,
                P384 => 48,
                _ => return None,
            };
            Some(SpkiKey::Ec(key, size))
        }
        ED25519 => Some(SpkiKey::Ed25519(key)),
        _ => None,
    }
}

/// The DER of the first PEM block (`-----BEGIN label-----`), with its label.
pub(crate) fn pem_block(pem: &str) -> Option<(&str, Vec<u8>)> {
    use base64::Engine as _;
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let (label, rest) = pem[start..].split_once("-----")?;
    let end = rest.find(&format!("-----END {label}-----"))?;
    let body: String = rest[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some((label, der))
}

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

/// One DER element of type `tag`: its value and what follows it.
fn read_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (len, rest) = read_len(rest)?;
    (rest.len() >= len).then(|| rest.split_at(len))
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
