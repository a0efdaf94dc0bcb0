//! The validated settings a [`JwksKeyProvider`](super::JwksKeyProvider) runs
//! with: their defaults, their limits, and what the provider derives from
//! them (a fetched set's TTL, the longest wait of a lookup).

use std::time::Duration;

use super::fetch::Limits;
use crate::error::ConfigError;

/// The longest any duration setting may be (one year), so that cache
/// deadlines never overflow.
const MAX_SETTING: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Added to a lookup's longest wait (see [`Settings::longest_wait`]).
const WAIT_SLACK: Duration = Duration::from_millis(250);

/// The validated settings a provider runs with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) timeout: Duration,
    pub(super) max_body_bytes: usize,
    pub(super) min_ttl: Duration,
    pub(super) max_ttl: Duration,
    pub(super) default_ttl: Duration,
    pub(super) unknown_kid_interval: Duration,
    pub(super) max_waiting_lookups: usize,
    pub(super) retry_interval: Duration,
    pub(super) stale_if_error: Duration,
    pub(super) failure_backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_body_bytes: 1024 * 1024,
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(10 * 60),
            default_ttl: Duration::from_secs(5 * 60),
            unknown_kid_interval: Duration::from_secs(1),
            max_waiting_lookups: 10_000,
            retry_interval: Duration::from_secs(30),
            stale_if_error: Duration::from_secs(60 * 60),
            failure_backoff: Duration::from_secs(1),
        }
    }
}

impl Settings {
    /// How long a fetched set is fresh: the answer's `max-age` (or the
    /// default TTL without one), clamped into `[min_ttl, max_ttl]`.
    pub(super) fn ttl(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.default_ttl)
            .clamp(self.min_ttl, self.max_ttl)
    }

    /// The longest a lookup waits for keys: the next unknown-`kid` fetch
    /// may start up to one interval after the lookup arrives and may then
    /// take the whole timeout. The slack lets such a fetch end with its own
    /// error rather than the wait's.
    pub(super) fn longest_wait(&self) -> Duration {
        self.unknown_kid_interval + self.timeout + WAIT_SLACK
    }

    pub(super) fn limits(&self) -> Limits {
        Limits {
            timeout: self.timeout,
            max_body_bytes: self.max_body_bytes,
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let durations = [
            ("timeout", self.timeout),
            ("min_ttl", self.min_ttl),
            ("max_ttl", self.max_ttl),
            ("default_ttl", self.default_ttl),
            ("unknown_kid_interval", self.unknown_kid_interval),
            ("retry_interval", self.retry_interval),
            ("stale_if_error", self.stale_if_error),
            ("failure_backoff", self.failure_backoff),
        ];
        if let Some((name, _)) = durations.iter().find(|(_, d)| *d > MAX_SETTING) {
            return Err(setting(format!("{name} may be at most one year")));
        }
        if self.timeout.is_zero() {
            return Err(setting("timeout must be more than zero"));
        }
        if self.max_body_bytes == 0 {
            return Err(setting("max_body_bytes must be more than zero"));
        }
        if self.max_waiting_lookups == 0 {
            return Err(setting("max_waiting_lookups must be more than zero"));
        }
        if self.min_ttl > self.max_ttl {
            return Err(setting(format!(
                "min_ttl ({:?}) is more than max_ttl ({:?})",
                self.min_ttl, self.max_ttl
            )));
        }
        Ok(())
    }
}

pub(super) fn setting(reason: impl Into<String>) -> ConfigError {
    ConfigError::Setting(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_clamped_and_defaults() {
        let settings = Settings::default();
        assert_eq!(settings.ttl(None), Duration::from_secs(300));
        assert_eq!(settings.ttl(Some(Duration::ZERO)), Duration::from_secs(30));
        assert_eq!(
            settings.ttl(Some(Duration::from_secs(90))),
            Duration::from_secs(90)
        );
        assert_eq!(
            settings.ttl(Some(Duration::from_secs(86_400))),
            Duration::from_secs(600)
        );
        let narrow = Settings {
            max_ttl: Duration::from_secs(60),
            ..Settings::default()
        };
        assert_eq!(narrow.ttl(None), Duration::from_secs(60));
    }

    #[test]
    fn settings_are_validated() {
        let ok = Settings::default();
        assert!(ok.validate().is_ok());
        for bad in [
            Settings {
                timeout: Duration::ZERO,
                ..ok
            },
            Settings {
                max_body_bytes: 0,
                ..ok
            },
            Settings {
                max_waiting_lookups: 0,
                ..ok
            },
            Settings {
                unknown_kid_interval: Duration::MAX,
                ..ok
            },
            Settings {
                min_ttl: Duration::from_secs(601),
                ..ok
            },
            Settings {
                stale_if_error: Duration::MAX,
                ..ok
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(ConfigError::Setting(_))),
                "{bad:?}"
            );
        }
    }
}
