//! [`TenantApproval`]: the hook that approves a template's tenant before
//! its issuer is set up.

use async_trait::async_trait;

/// Approves (or refuses) a tenant of an
/// [issuer template](super::IssuerKeyProviderBuilder::issuer_template) before its
/// issuer is set up: before any request is made for it.
///
/// Called once per issuer setup (concurrent lookups for one issuer share
/// it), and not again while the answer is remembered: a rejection for
/// [`refused_ttl`](super::IssuerKeyProviderBuilder::refused_ttl), an approval for
/// as long as the issuer stays cached. An error makes the lookup
/// *unavailable* and is not remembered.
///
/// A closure works too (see
/// [`approve_tenants_with`](super::IssuerKeyProviderBuilder::approve_tenants_with)).
#[async_trait]
pub trait TenantApproval: Send + Sync + 'static {
    /// `Ok(true)` when `tenant` (the part of `issuer` that stands for the
    /// template's `{tenant}`) may sign in.
    async fn approve(
        &self,
        issuer: &str,
        tenant: &str,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>>;
}

/// A closure as a [`TenantApproval`].
pub(super) struct ApprovalFn<F>(pub(super) F);

#[async_trait]
impl<F, Fut> TenantApproval for ApprovalFn<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    async fn approve(
        &self,
        _issuer: &str,
        tenant: &str,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        Ok((self.0)(tenant.to_owned()).await)
    }
}
