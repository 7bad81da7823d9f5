//! Prometheus metrics: a registry owned by the application, the series it exports, and the
//! text exposition.
//!
//! Each [`Metrics`] has its own registry, so two servers in one process (tests) count on their
//! own. HTTP series are fed by the middleware in `http::metrics`; serving series by the
//! [`ServingEvents`](crate::events::ServingEvents) sink in `serving.rs`; audit and drift series
//! by sources that are read at scrape time; process series by the crate's process collector.

mod audit;
mod drift;
mod http;
mod serving;

use prometheus::core::{Collector, MetricVec, MetricVecBuilder};
use prometheus::{Encoder, Registry, TextEncoder};

pub use audit::AuditSnapshot;
pub use drift::DriftValue;
pub use http::{HttpMetrics, InFlight};

use audit::AuditCollector;
use drift::DriftCollector;
use serving::ServingMetrics;

/// Every name starts with this, so the server's series are easy to find.
pub const PREFIX: &str = "prediction_api";

/// Content-Type of the text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets in seconds, 50 µs to 10 s: a small model answers in well under a
/// millisecond, a large batch or a queue in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// The application's metrics. Cheap to share behind an `Arc`.
pub struct Metrics {
    registry: Registry,
    http: HttpMetrics,
    serving: ServingMetrics,
    audit: AuditCollector,
    drift: DriftCollector,
}

impl Metrics {
    /// Creates every series family in a new registry, with the process collector.
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let http = HttpMetrics::register(&registry)?;
        let serving = ServingMetrics::register(&registry)?;
        let audit = AuditCollector::new()?;
        registry.register(Box::new(audit.clone()))?;
        let drift = DriftCollector::new()?;
        registry.register(Box::new(drift.clone()))?;
        register_process_collector(&registry)?;
        Ok(Metrics {
            registry,
            http,
            serving,
            audit,
            drift,
        })
    }

    pub fn http(&self) -> &HttpMetrics {
        &self.http
    }

    pub(crate) fn serving(&self) -> &ServingMetrics {
        &self.serving
    }

    /// Reads the audit trail's counters at every scrape; replaces any earlier source. Before
    /// one is registered the audit series read 0.
    pub fn register_audit_source(&self, f: impl Fn() -> AuditSnapshot + Send + Sync + 'static) {
        self.audit.set_source(Box::new(f));
    }

    /// Reads per-feature drift at every scrape; replaces any earlier source.
    pub fn register_drift_source(&self, f: impl Fn() -> Vec<DriftValue> + Send + Sync + 'static) {
        self.drift.set_source(Box::new(f));
    }

    /// Every series in Prometheus's text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::with_capacity(16 * 1024);
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

#[cfg(target_os = "linux")]
fn register_process_collector(registry: &Registry) -> prometheus::Result<()> {
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))
}

#[cfg(not(target_os = "linux"))]
fn register_process_collector(_: &Registry) -> prometheus::Result<()> {
    // The crate reads /proc; elsewhere there are no process series.
    Ok(())
}

/// The series of `vec` for `labels`, or `None` (logged) when the label count is wrong: a bug
/// in this module must cost a data point, never a request.
fn series<B: MetricVecBuilder>(vec: &MetricVec<B>, labels: &[&str]) -> Option<B::M> {
    match vec.get_metric_with_label_values(labels) {
        Ok(metric) => Some(metric),
        Err(e) => {
            tracing::warn!(error = %e, ?labels, "metric series not recorded");
            None
        }
    }
}

/// Options for a family named `prediction_api_<name>`.
fn opts(name: &str, help: &str) -> prometheus::Opts {
    prometheus::Opts::new(format!("{PREFIX}_{name}"), help)
}

fn histogram_opts(name: &str, help: &str, buckets: &[f64]) -> prometheus::HistogramOpts {
    prometheus::HistogramOpts::new(format!("{PREFIX}_{name}"), help).buckets(buckets.to_vec())
}

/// Registers a collector the registry keeps, and hands it back.
fn registered<C: Collector + Clone + 'static>(registry: &Registry, c: C) -> prometheus::Result<C> {
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

#[cfg(test)]
mod tests;
