//! The new-issuer limit: a token bucket for the setups of issuers from
//! templates, so that a flood of made-up tenants costs a bounded number of
//! discovery requests.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// At most `burst` setups at once, one more every `every`.
pub(super) struct NewIssuerLimit {
    burst: u32,
    every: Duration,
    bucket: Mutex<Bucket>,
}

/// The bucket's level, and when it was last refilled.
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl NewIssuerLimit {
    /// A full bucket of `burst` setups.
    pub(super) fn new(burst: u32, every: Duration) -> Self {
        Self {
            burst,
            every,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(burst),
                last: Instant::now(),
            }),
        }
    }

    /// Takes one setup from the bucket, if one is left.
    pub(super) fn take(&self) -> bool {
        self.take_at(Instant::now())
    }

    fn take_at(&self, now: Instant) -> bool {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let refill =
            now.saturating_duration_since(bucket.last).as_secs_f64() / self.every.as_secs_f64();
        bucket.tokens = (bucket.tokens + refill).min(f64::from(self.burst));
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refills_up_to_its_burst() {
        let limit = NewIssuerLimit::new(3, Duration::from_secs(3600));
        let start = Instant::now();
        let taken = (0..10).filter(|_| limit.take_at(start)).count();
        assert_eq!(taken, 3);
        let later = start + Duration::from_secs(3600 * 10);
        let taken = (0..10).filter(|_| limit.take_at(later)).count();
        assert_eq!(taken, 3);
        let half_an_interval = later + Duration::from_secs(1800);
        assert!(!limit.take_at(half_an_interval));
        assert!(limit.take_at(half_an_interval + Duration::from_secs(1800)));
    }
}
