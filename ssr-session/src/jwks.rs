//! placeholder: JwksKeyProvider (being written)
#![allow(missing_docs, dead_code)]
use std::sync::Arc;
use crate::keys::{KeyLookupError, KeyProvider, KeyRequest, VerifyingKey};

/// placeholder
pub struct JwksKeyProvider;
/// placeholder
pub struct JwksKeyProviderBuilder;

#[async_trait::async_trait]
impl KeyProvider for JwksKeyProvider {
    async fn key(&self, _request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        Err(KeyLookupError::UnknownKey)
    }
}
