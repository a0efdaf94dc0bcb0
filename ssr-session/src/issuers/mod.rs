//! [`IssuerKeyProvider`]: the key set chosen by the token's `iss`, from an
//! allow-list, each issuer with its own
//! [`JwksKeyProvider`](crate::JwksKeyProvider), the providers kept in a
//! bounded `moka` cache.
//!
//! One file a job: the provider and its issuer caches (`provider`), the
//! allow-list of issuers and templates (`allow_list`), the tenant approval
//! hook (`approval`), the new-issuer rate limit (`rate_limit`) and the
//! builder (`builder`).

mod allow_list;
mod approval;
mod builder;
mod provider;
mod rate_limit;

pub use self::allow_list::{IssuerKeys, TENANT_PLACEHOLDER};
pub use self::approval::TenantApproval;
pub use self::builder::IssuerKeyProviderBuilder;
pub use self::provider::IssuerKeyProvider;
