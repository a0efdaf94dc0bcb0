//! The revocation feed's numbers through the `metrics` facade (feature
//! `metrics`; the table is in the core's `docs/metrics.md`). Without the
//! feature every function is empty and inlined away.

use std::time::Duration;

#[cfg(feature = "metrics")]
mod record {
    use super::Duration;
    use metrics::{counter, gauge};

    pub(crate) fn applied(count: usize) {
        counter!("ssr_session_redis_revocations_applied_total").increment(count as u64);
    }

    pub(crate) fn skipped() {
        counter!("ssr_session_redis_entries_skipped_total").increment(1);
    }

    pub(crate) fn staleness(age: Option<Duration>) {
        // Before the first load the set is as stale as can be: infinity
        // keeps an alert on `> limit` firing, where 0 would hide it.
        gauge!("ssr_session_redis_staleness_seconds")
            .set(age.map_or(f64::INFINITY, |age| age.as_secs_f64()));
    }

    pub(crate) fn reconnect(succeeded: bool) {
        if succeeded {
            counter!("ssr_session_redis_reconnects_total", "result" => "ok")
        } else {
            counter!("ssr_session_redis_reconnects_total", "result" => "error")
        }
        .increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
mod record {
    use super::Duration;

    #[inline(always)]
    pub(crate) fn applied(_: usize) {}
    #[inline(always)]
    pub(crate) fn skipped() {}
    #[inline(always)]
    pub(crate) fn staleness(_: Option<Duration>) {}
    #[inline(always)]
    pub(crate) fn reconnect(_: bool) {}
}

pub(crate) use record::*;
