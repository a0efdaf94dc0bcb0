//! [`SessionConfig`]: what every entry point needs from the app, and how
//! the app sets it up (the verifier, the responses, the requirements, the
//! forgery checks).
//!
//! What a request runs through it (`extract`, `guard`, `outcome`,
//! `reject`) lives in `pipeline.rs`, beside the request view, memo and
//! rejection those methods take and give: this file is set up once, that
//! one runs per request.

use std::sync::Arc;

use crate::claims::SuperTokensClaims;
use crate::csrf::CsrfProtection;
use crate::requirement::Requirement;
use crate::respond::{DefaultResponses, Respond};
use crate::verify::Verifier;

/// What an entry point needs from the app: the [`Verifier`] and the
/// [`Respond`]er. Cheap to clone (one reference count).
///
/// Every entry point of every adapter (extractors, guards, layers,
/// middleware) runs one pipeline, [`SessionConfig::extract`] /
/// [`SessionConfig::guard`]: the adapters hold no policy. A configuration
/// may carry [`requirements`](Self::require) on the claims: give a route
/// group its own (`config.clone().require(IsAdmin)`), and every entry point
/// of the group checks them.
pub struct SessionConfig<C = SuperTokensClaims> {
    inner: Arc<Parts<C>>,
}

struct Parts<C> {
    verifier: Verifier<C>,
    responses: Arc<dyn Respond>,
    requirements: Vec<Arc<dyn Requirement<C>>>,
    csrf: CsrfProtection,
}

impl<C> Clone for Parts<C> {
    fn clone(&self) -> Self {
        Self {
            verifier: self.verifier.clone(),
            responses: self.responses.clone(),
            requirements: self.requirements.clone(),
            csrf: self.csrf.clone(),
        }
    }
}

impl<C> Clone for SessionConfig<C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<C> std::fmt::Debug for SessionConfig<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("verifier", &self.inner.verifier)
            .field("requirements", &self.inner.requirements.len())
            .field("csrf", &self.inner.csrf)
            .finish_non_exhaustive()
    }
}

impl<C> SessionConfig<C> {
    /// The verifier with SuperTokens-compatible [`DefaultResponses`]
    /// (others: [`responses`](Self::responses)).
    pub fn new(verifier: Verifier<C>) -> Self {
        Self {
            inner: Arc::new(Parts {
                verifier,
                responses: Arc::new(DefaultResponses::default()),
                requirements: Vec::new(),
                csrf: CsrfProtection::default(),
            }),
        }
    }

    /// The same configuration with one part changed.
    fn changed(self, change: impl FnOnce(&mut Parts<C>)) -> Self {
        let mut parts = Parts::clone(&self.inner);
        change(&mut parts);
        Self {
            inner: Arc::new(parts),
        }
    }

    /// Replaces the responses.
    pub fn responses(self, responses: impl Respond) -> Self {
        self.changed(|parts| parts.responses = Arc::new(responses))
    }

    /// Replaces the cross-site request forgery protection (default
    /// [`CsrfProtection::default`]: unsafe requests with a cookie session
    /// must come from the app's own origin). A route group can have its own:
    /// `config.clone().csrf(…)`.
    ///
    /// ```
    /// use ssr_session::{csrf::AntiCsrf, CsrfProtection, SessionConfig, keys::StaticKeys, Verifier};
    ///
    /// let config = SessionConfig::new(Verifier::builder(StaticKeys::default()).build()?)
    ///     .csrf(CsrfProtection::default().public_origin("https://app.example.com")?.anti_csrf(AntiCsrf::ViaCustomHeader));
    /// assert_eq!(config.csrf_protection().anti_csrf_mode(), AntiCsrf::ViaCustomHeader);
    /// # Ok::<(), ssr_session::ConfigError>(())
    /// ```
    pub fn csrf(self, protection: CsrfProtection) -> Self {
        self.changed(|parts| parts.csrf = protection)
    }

    /// The cross-site request forgery protection every entry point applies.
    pub fn csrf_protection(&self) -> &CsrfProtection {
        &self.inner.csrf
    }

    /// The same configuration with one more requirement: every entry point
    /// using it (a layer or middleware over a route group, the extractors
    /// behind it) refuses a session whose claims fail `requirement`, with
    /// SuperTokens' `403 invalid claim`. Checked on every request, cache
    /// hits included.
    ///
    /// ```
    /// use ssr_session::{requirement::RequirementFailure, SessionConfig, keys::StaticKeys, SuperTokensClaims, requirement::RequirementContext, Verifier};
    ///
    /// let config = SessionConfig::new(Verifier::builder(StaticKeys::default()).build()?);
    /// let admins = config.clone().require(|claims: &SuperTokensClaims, _: &RequirementContext| {
    ///     claims.get("admin").filter(|v| **v == true).map(drop)
    ///         .ok_or_else(|| RequirementFailure::new("admin", serde_json::json!({"message": "wrong value"})))
    /// });
    /// assert_eq!(admins.requirements().len(), 1);
    /// assert!(config.requirements().is_empty());
    /// # Ok::<(), ssr_session::ConfigError>(())
    /// ```
    pub fn require(self, requirement: impl Requirement<C>) -> Self
    where
        C: 'static,
    {
        self.changed(|parts| parts.requirements.push(Arc::new(requirement)))
    }

    /// The requirements every entry point using this configuration checks.
    pub fn requirements(&self) -> &[Arc<dyn Requirement<C>>] {
        &self.inner.requirements
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier<C> {
        &self.inner.verifier
    }

    /// The responses set by [`responses`](Self::responses): read by the
    /// pipeline only, so that one name sets them.
    pub(crate) fn rendering(&self) -> &dyn Respond {
        &*self.inner.responses
    }

    /// `true` when both are clones of one configuration (a memo judged by
    /// one is valid for the other).
    pub(crate) fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
