//! Errors: the request's faults ([`InvalidToken`]) apart from the server's
//! ([`KeySourceError`]) and from configuration mistakes ([`ConfigError`]).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::requirement::RequirementFailure;

/// Why a token is invalid: the request's fault, never fixed by a refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidToken {
    kind: InvalidKind,
    detail: Cow<'static, str>,
}

impl InvalidToken {
    /// An invalid-token error of `kind`, explained by `detail` (never the token).
    pub fn new(kind: InvalidKind, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// The typed kind.
    pub fn kind(&self) -> &InvalidKind {
        &self.kind
    }

    /// A human explanation, without the token.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The requirements' failures, when only they refused an otherwise
    /// valid token (SuperTokens answers such a request with 403).
    pub fn claim_validation_errors(&self) -> Option<&[RequirementFailure]> {
        match &self.kind {
            InvalidKind::Claim(ClaimFailure::Validators(errors)) => Some(errors),
            _ => None,
        }
    }

    /// `true` for a forged request ([`InvalidKind::CrossOrigin`],
    /// [`InvalidKind::AntiCsrf`]): refused whatever its token, answered
    /// with [`Respond::forged`](crate::Respond::forged).
    pub fn is_forgery(&self) -> bool {
        matches!(self.kind, InvalidKind::CrossOrigin | InvalidKind::AntiCsrf)
    }

    /// A rejection by requirements.
    pub(crate) fn validators(errors: Vec<RequirementFailure>) -> Self {
        Self::new(
            InvalidKind::Claim(ClaimFailure::Validators(errors)),
            "a requirement refused the token",
        )
    }
}

impl fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid token ({}): {}", self.kind.as_str(), self.detail)
    }
}

impl std::error::Error for InvalidToken {}

/// The kinds of invalid token.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InvalidKind {
    /// Not a compact JWS, bad base64url, header or payload not a JSON
    /// object, an unknown `crit` header, or claims not of the expected type.
    Malformed,
    /// Larger than the configured cap (default 16 KiB).
    TooLarge,
    /// The signature does not verify with the chosen key.
    BadSignature,
    /// The header's `alg` is `none`, unknown, outside the allow-list, or not
    /// one the key may verify (alg confusion).
    AlgorithmNotAllowed,
    /// No key with the token's `kid` exists, even after a refetch.
    UnknownKey,
    /// More than one key fits the token's `kid` and `alg`: fails closed.
    AmbiguousKey,
    /// A claim check failed.
    Claim(ClaimFailure),
    /// The session was revoked (signed out) before the token expired; see
    /// [`RevocationList`](crate::RevocationList).
    Revoked,
    /// An unsafe request with a cookie session that a page of another
    /// origin sent: a cross-site request forgery
    /// ([`CsrfProtection`](crate::CsrfProtection)). The token itself may be
    /// fine; the request is not the user's.
    CrossOrigin,
    /// A required SuperTokens anti-CSRF check failed
    /// ([`AntiCsrf`](crate::csrf::AntiCsrf)).
    AntiCsrf,
}

impl InvalidKind {
    /// A stable snake_case name: `malformed`, `too_large`, `bad_signature`,
    /// `algorithm_not_allowed`, `unknown_key`, `ambiguous_key`, `claim`,
    /// `revoked`, `cross_origin`, `anti_csrf`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::BadSignature => "bad_signature",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::UnknownKey => "unknown_key",
            Self::AmbiguousKey => "ambiguous_key",
            Self::Claim(_) => "claim",
            Self::Revoked => "revoked",
            Self::CrossOrigin => "cross_origin",
            Self::AntiCsrf => "anti_csrf",
        }
    }
}

/// Which claim check failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClaimFailure {
    /// `exp` is missing or not a number.
    Expiry,
    /// `nbf` is in the future (beyond leeway) or not a number.
    NotYetValid,
    /// `iss` is missing, not the configured issuer, or not the issuer the
    /// verifying key is bound to.
    Issuer,
    /// `aud` is missing or does not contain the configured audience.
    Audience,
    /// `sub` (the user id) is missing or not a string.
    Subject,
    /// Not a SuperTokens session access token (wrong `stt`, `version`, or
    /// session claims missing); see [`TokenStructure`](crate::verify::TokenStructure).
    SessionStructure,
    /// User-supplied requirements refused the token.
    Validators(Vec<RequirementFailure>),
}

/// A key source (JWKS endpoint, file, custom provider) failed: the server's
/// fault. Every variant keeps its `source()` chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeySourceError {
    /// The HTTP request failed (connection refused, DNS, TLS, redirects…).
    #[error("fetching {url} failed")]
    Fetch {
        /// The URL fetched.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The request took longer than the configured timeout.
    #[error("fetching {url} timed out after {timeout:?}")]
    Timeout {
        /// The URL fetched.
        url: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The endpoint answered with a non-success status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL fetched.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The answer was larger than the configured body cap.
    #[error("{url} sent more than {limit} bytes")]
    TooLarge {
        /// The URL fetched.
        url: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// The answer was not the expected JSON document.
    #[error("{url} did not answer with {expected}")]
    Parse {
        /// The URL fetched.
        url: String,
        /// What was expected ("a JWKS document", "an OpenID configuration").
        expected: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The lookup would have waited for a fetch, but as many lookups as
    /// the provider allows were already waiting
    /// ([`max_waiting_lookups`](crate::jwks::JwksKeyProviderBuilder::max_waiting_lookups)).
    #[error("{limit} key lookups are already waiting for the key source")]
    TooManyWaiting {
        /// The configured bound.
        limit: usize,
    },
    /// No key set fetched after the lookup arrived came in time: the
    /// lookup waited its longest (the unknown-`kid` interval plus the fetch
    /// timeout, with a little slack) behind slow fetches.
    #[error("no key set fetched after the lookup arrived came within {waited:?}")]
    WaitTimeout {
        /// How long the lookup waited.
        waited: Duration,
    },
    /// [`IssuerKeyProvider`](crate::issuers::IssuerKeyProvider) set up as many new
    /// issuers from templates as its
    /// [`new_issuer_limit`](crate::issuers::IssuerKeyProviderBuilder::new_issuer_limit)
    /// allows for now: this issuer's setup (and its fetches) waits for a
    /// later request.
    #[error("too many new issuers are being set up; try again shortly")]
    NewIssuerLimit,
    /// A custom key provider's failure.
    #[error("key source failed")]
    Custom(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A configuration mistake, reported by a builder instead of a later panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A URL could not be parsed or has an unsupported scheme.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The offending input.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A key could not be used.
    #[error("invalid key: {0}")]
    Key(#[from] KeyError),
    /// A setting is out of range or contradicts another.
    #[error("invalid setting: {0}")]
    Setting(String),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The HTTP client's TLS configuration could not be built (the
    /// platform's certificate verifier or the backend's TLS versions).
    #[error("could not configure TLS for the HTTP client")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A key that cannot be used for verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub(crate) Cow<'static, str>);

impl KeyError {
    pub(crate) fn new(reason: impl Into<Cow<'static, str>>) -> Self {
        Self(reason.into())
    }
}
