//! HTTP series: requests by method, route template and status class, their duration, and the
//! requests in flight. The middleware in `http::metrics` feeds them.

use std::time::Duration;

use prometheus::{HistogramVec, IntCounterVec, IntGauge, Registry};

use super::{LATENCY_BUCKETS, histogram_opts, opts, registered, series};

const LABELS: &[&str] = &["method", "route", "status"];

pub struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGauge,
}

impl HttpMetrics {
    pub(super) fn register(registry: &Registry) -> prometheus::Result<HttpMetrics> {
        Ok(HttpMetrics {
            requests: registered(
                registry,
                IntCounterVec::new(
                    opts("http_requests_total", "HTTP requests answered."),
                    LABELS,
                )?,
            )?,
            duration: registered(
                registry,
                HistogramVec::new(
                    histogram_opts(
                        "http_request_duration_seconds",
                        "Time from a request's arrival to its response headers.",
                        LATENCY_BUCKETS,
                    ),
                    LABELS,
                )?,
            )?,
            in_flight: registered(
                registry,
                IntGauge::with_opts(opts(
                    "http_requests_in_flight",
                    "HTTP requests being handled now.",
                ))?,
            )?,
        })
    }

    /// Counts a request as in flight until the guard is dropped (also when the request's future
    /// is dropped halfway).
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// HTTP requests being handled now.
    pub fn requests_in_flight(&self) -> usize {
        usize::try_from(self.in_flight.get()).unwrap_or(0)
    }

    /// Records one answered request. `route` must be a route template or a fixed word, never a
    /// raw path: each distinct value is a new series.
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = [method, route, status_class(status)];
        if let Some(counter) = series(&self.requests, &labels) {
            counter.inc();
        }
        if let Some(histogram) = series(&self.duration, &labels) {
            histogram.observe(took.as_secs_f64());
        }
    }
}

/// Decrements the in-flight gauge when dropped.
pub struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `2xx`, `4xx`, … : five values whatever the client does.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}
