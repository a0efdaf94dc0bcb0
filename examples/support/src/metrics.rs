//! `--metrics` (`SSR_SESSION_METRICS`): the library's numbers in the
//! Prometheus text format at `/metrics`, and a small page of the key ones
//! at `/metrics/live`.
//!
//! The exporter is only a recorder here: the app renders it from its own
//! route (no listener of the exporter's, no push gateway, so no second
//! HTTP or TLS stack in the binary).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The process's Prometheus recorder, installed as the global `metrics`
/// recorder on first use (before the verifier is built: it registers its
/// per-request counters then). Later calls get the same handle, so several
/// sites in one test process share it.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Real buckets (not a summary) so that a dashboard can
            // aggregate fetch durations across replicas.
            let buckets = [
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("ssr_session_jwks_fetch_duration_seconds".into()),
                    &buckets,
                )
                .expect("the bucket list is not empty");
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is already installed (an app embedding the
                // site): render ours anyway, it just stays empty.
                Err(_) => builder_without_install(),
            }
        })
        .clone()
}

fn builder_without_install() -> PrometheusHandle {
    PrometheusBuilder::new().build_recorder().handle()
}

/// `/metrics`: the Prometheus text format.
pub fn render(handle: &PrometheusHandle) -> String {
    // Without the exporter's own listener nothing else drains the
    // histograms' and summaries' buffers.
    handle.run_upkeep();
    handle.render()
}

/// One sample of the text format: the series (name and labels, as written)
/// and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// `name{label="value",…}`.
    pub series: String,
    /// The value.
    pub value: f64,
}

/// The samples of a `/metrics` text, comments left out.
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                other => other.parse().ok()?,
            };
            Some(Sample {
                series: series.to_owned(),
                value,
            })
        })
        .collect()
}

/// The value of `series` (written as the text format writes it, labels in
/// the order they were given), if present.
pub fn value(text: &str, series: &str) -> Option<f64> {
    samples(text)
        .into_iter()
        .find(|sample| sample.series == series)
        .map(|sample| sample.value)
}

/// `/metrics/live`: the key numbers as a page that reloads itself every
/// two seconds (a meta refresh, no script, so a strict
/// `Content-Security-Policy` leaves it working).
pub fn live_page(text: &str) -> String {
    let samples = samples(text);
    let total = |name: &str| -> f64 {
        samples
            .iter()
            .filter(|sample| {
                sample.series == name || sample.series.starts_with(&format!("{name}{{"))
            })
            .map(|sample| sample.value)
            .sum()
    };
    let hits = total("ssr_session_token_cache_hits_total");
    let misses = total("ssr_session_token_cache_misses_total");
    let ratio = if hits + misses > 0.0 {
        format!("{:.1} %", 100.0 * hits / (hits + misses))
    } else {
        "-".to_owned()
    };
    let mut rows =
        format!("<tr><th>token cache hit ratio</th><td id=\"cache-hit-ratio\">{ratio}</td></tr>\n");
    for sample in samples.iter().filter(|sample| {
        sample.series.starts_with("ssr_session_")
            && !sample.series.contains("_bucket{")
            && !sample.series.ends_with("_sum")
    }) {
        rows.push_str(&format!(
            "<tr><th><code>{}</code></th><td>{}</td></tr>\n",
            escape(&sample.series),
            sample.value
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"2\"><title>ssr-session: live numbers</title></head>\n\
         <body>\n<nav><a href=\"/\">Home</a> · <a href=\"/metrics\">/metrics</a></nav>\n\
         <h1>ssr-session: live numbers</h1>\n<p>Reloads every 2 s. Every name is explained in \
         the library's docs (<code>docs/metrics.md</code>).</p>\n\
         <table id=\"metrics\">\n{rows}</table>\n</body></html>\n"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_read_with_their_labels_and_comments_are_skipped() {
        let text = "# HELP a_total help\n# TYPE a_total counter\n\
                    a_total{outcome=\"valid\",reason=\"\"} 3\nb 1.5\nc +Inf\n";
        assert_eq!(
            value(text, "a_total{outcome=\"valid\",reason=\"\"}"),
            Some(3.0)
        );
        assert_eq!(value(text, "b"), Some(1.5));
        assert_eq!(value(text, "c"), Some(f64::INFINITY));
        assert_eq!(samples(text).len(), 3);
    }
}
