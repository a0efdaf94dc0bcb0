//! Algorithm names and sets.

pub use jsonwebtoken::Algorithm;

const ALL: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::EdDSA,
];

/// The RSA algorithms a key of type `RSA` may verify when it names none.
pub(crate) const RSA_FAMILY: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// Parses a JOSE `alg` name exactly (case-sensitive, as RFC 7518 registers
/// them). `none` and unknown names give `None`.
pub(crate) fn parse(name: &str) -> Option<Algorithm> {
    ALL.into_iter().find(|alg| name_of(*alg) == name)
}

/// The JOSE name of an algorithm.
pub(crate) fn name_of(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

/// A small set of algorithms.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// The empty set.
    pub const fn empty() -> Self {
        Self(0)
    }

    fn bit(alg: Algorithm) -> u16 {
        1 << ALL.iter().position(|a| *a == alg).unwrap_or(15)
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

    /// The algorithms, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        ALL.into_iter().filter(move |alg| self.contains(*alg))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = Self::empty();
        iter.into_iter().for_each(|alg| set.insert(alg));
        set
    }
}

impl std::fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(name_of)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in ALL {
            assert_eq!(parse(name_of(alg)), Some(alg));
        }
        for bad in [
            "none", "None", "NONE", "nOnE", "rs256", "Rs256", "eddsa", "", "HS256 ",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
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
