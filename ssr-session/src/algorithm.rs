//! [`Algorithm`]: the JWS signature algorithms, in one table that the
//! parser, the keys, the CLI, the fuzz targets and the tests all read.

use std::fmt;
use std::str::FromStr;

/// A JWS signature algorithm (RFC 7518 §3, RFC 8037 for `EdDSA`).
///
/// `none` is not an algorithm here: a token that names it never verifies.
///
/// ```
/// use ssr_session::keys::Algorithm;
///
/// assert_eq!("RS256".parse::<Algorithm>(), Ok(Algorithm::RS256));
/// assert_eq!(Algorithm::EdDSA.name(), "EdDSA");
/// assert!("none".parse::<Algorithm>().is_err());
/// assert_eq!(Algorithm::ALL.len(), 12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256 (a shared secret).
    HS256,
    /// HMAC with SHA-384 (a shared secret).
    HS384,
    /// HMAC with SHA-512 (a shared secret).
    HS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (SuperTokens' algorithm).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// Ed25519.
    EdDSA,
}

/// The kind of key an algorithm verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// A shared secret (`oct`).
    Hmac,
    /// An RSA public key.
    Rsa,
    /// An EC public key on P-256.
    EcP256,
    /// An EC public key on P-384.
    EcP384,
    /// An Ed25519 public key (`OKP`).
    Ed25519,
}

/// The one table: every algorithm with its JOSE name and its key kind.
const TABLE: [(Algorithm, &str, KeyKind); 12] = [
    (Algorithm::HS256, "HS256", KeyKind::Hmac),
    (Algorithm::HS384, "HS384", KeyKind::Hmac),
    (Algorithm::HS512, "HS512", KeyKind::Hmac),
    (Algorithm::ES256, "ES256", KeyKind::EcP256),
    (Algorithm::ES384, "ES384", KeyKind::EcP384),
    (Algorithm::RS256, "RS256", KeyKind::Rsa),
    (Algorithm::RS384, "RS384", KeyKind::Rsa),
    (Algorithm::RS512, "RS512", KeyKind::Rsa),
    (Algorithm::PS256, "PS256", KeyKind::Rsa),
    (Algorithm::PS384, "PS384", KeyKind::Rsa),
    (Algorithm::PS512, "PS512", KeyKind::Rsa),
    (Algorithm::EdDSA, "EdDSA", KeyKind::Ed25519),
];

impl Algorithm {
    /// Every algorithm, in a fixed order.
    pub const ALL: [Algorithm; 12] = {
        let mut all = [Algorithm::HS256; 12];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    /// The JOSE name (`RS256`, `EdDSA`…).
    pub fn name(self) -> &'static str {
        TABLE[self as usize].1
    }

    /// The kind of key that verifies it.
    pub fn key_kind(self) -> KeyKind {
        TABLE[self as usize].2
    }

    /// The algorithm named exactly `name` (case-sensitive, as RFC 7518
    /// registers them); `none` and unknown names give `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        TABLE
            .iter()
            .find(|(_, known, _)| *known == name)
            .map(|(alg, _, _)| *alg)
    }

    /// The algorithms verified by keys of `kind`.
    pub fn of_kind(kind: KeyKind) -> AlgorithmSet {
        TABLE
            .iter()
            .filter(|(_, _, of)| *of == kind)
            .map(|(alg, _, _)| *alg)
            .collect()
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An `alg` name that is not a supported algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported algorithm {0:?}")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::from_name(name).ok_or_else(|| UnknownAlgorithm(name.to_owned()))
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(UnknownAlgorithm(name.into_owned())))
    }
}

/// A small set of algorithms.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// The empty set.
    pub const fn empty() -> Self {
        Self(0)
    }

    fn bit(alg: Algorithm) -> u16 {
        1 << alg as u16
    }

    /// Adds `alg`.
    pub fn insert(&mut self, alg: Algorithm) {
        self.0 |= Self::bit(alg);
    }

    /// `true` when `alg` is in the set.
    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & Self::bit(alg) != 0
    }

    /// `true` when the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in both sets.
    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The algorithms, in the order of [`Algorithm::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |alg| self.contains(*alg))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = Self::empty();
        iter.into_iter().for_each(|alg| set.insert(alg));
        set
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Algorithm::name))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_declaration_order() {
        for (index, (alg, _, _)) in TABLE.iter().enumerate() {
            assert_eq!(*alg as usize, index, "{alg:?}");
        }
    }

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
            assert_eq!(alg.to_string().parse(), Ok(alg));
        }
        for bad in [
            "none", "None", "NONE", "nOnE", "rs256", "Rs256", "eddsa", "", "HS256 ",
        ] {
            assert_eq!(Algorithm::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn kinds_partition_the_algorithms() {
        let rsa = Algorithm::of_kind(KeyKind::Rsa);
        assert_eq!(rsa.iter().count(), 6);
        assert!(rsa.contains(Algorithm::PS512) && !rsa.contains(Algorithm::ES256));
        let total: usize = [
            KeyKind::Hmac,
            KeyKind::Rsa,
            KeyKind::EcP256,
            KeyKind::EcP384,
            KeyKind::Ed25519,
        ]
        .into_iter()
        .map(|kind| Algorithm::of_kind(kind).iter().count())
        .sum();
        assert_eq!(total, Algorithm::ALL.len());
    }

    #[test]
    fn set_operations() {
        let set: AlgorithmSet = [Algorithm::RS256, Algorithm::EdDSA].into_iter().collect();
        assert!(set.contains(Algorithm::RS256));
        assert!(!set.contains(Algorithm::HS256));
        let only_rs: AlgorithmSet = [Algorithm::RS256].into_iter().collect();
        assert_eq!(
            set.intersection(only_rs).iter().collect::<Vec<_>>(),
            [Algorithm::RS256]
        );
    }
}
