//! [`RequirementFailure`]: how a claim check refuses. Plain data that the
//! error types carry, so it depends on nothing else in the crate (and
//! `error` can name it without depending on the checks themselves).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One failed claim check, as SuperTokens reports it in
/// `claimValidationErrors`: `{"id": …, "reason": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequirementFailure {
    /// The claim's id, e.g. `st-ev`.
    pub id: String,
    /// Why it failed, as JSON (e.g. `{"message":"wrong value","expectedValue":true}`).
    pub reason: Value,
    /// A refresh may bring a value that passes (see
    /// [`refresh_may_help`](Self::refresh_may_help)); not sent.
    #[serde(skip)]
    refresh_may_help: bool,
}

impl RequirementFailure {
    /// A failure of claim `id` for `reason`.
    pub fn new(id: impl Into<String>, reason: impl Into<Value>) -> Self {
        Self {
            id: id.into(),
            reason: reason.into(),
            refresh_may_help: false,
        }
    }

    /// Marks the failure as one a refresh may fix (the value is missing or
    /// too old, and the backend fetches claims again while refreshing).
    /// When every failure of a request is so marked, the answer is *needs
    /// refresh* (reason [`NeedsRefreshReason::Claim`](crate::NeedsRefreshReason::Claim))
    /// instead of a 403; the refresh bridge's loop guard ends a refresh
    /// that does not help on the login page.
    pub fn refresh_may_help(mut self) -> Self {
        self.refresh_may_help = true;
        self
    }

    /// `true` when a refresh may fix this failure.
    pub fn is_refreshable(&self) -> bool {
        self.refresh_may_help
    }
}
