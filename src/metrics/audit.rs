//! Audit trail series, read from the audit writer at scrape time: queue depth and bytes, rows
//! written, write batches and rows dropped. Before a source is registered they read 0, so dashboards and
//! alerts have a series from the first scrape.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Gauge, Metric, MetricFamily, MetricType};

use super::PREFIX;

/// The audit writer's counters at one instant.
pub use crate::audit::AuditStats as AuditSnapshot;

type Source = Box<dyn Fn() -> AuditSnapshot + Send + Sync>;

/// The families, by name suffix, type and help text.
const FAMILIES: [(&str, MetricType, &str); 5] = [
    (
        "audit_queue_depth",
        MetricType::GAUGE,
        "Predictions waiting to be written to the audit trail.",
    ),
    (
        "audit_queue_bytes",
        MetricType::GAUGE,
        "Memory held by the predictions waiting for the audit trail (bounded by --audit-queue-mib).",
    ),
    (
        "audit_rows_written_total",
        MetricType::COUNTER,
        "Predictions written to the audit trail.",
    ),
    (
        "audit_write_batches_total",
        MetricType::COUNTER,
        "Write transactions of the audit trail.",
    ),
    (
        "audit_rows_dropped_total",
        MetricType::COUNTER,
        "Predictions the audit trail could not queue or write.",
    ),
];

#[derive(Clone)]
pub(super) struct AuditCollector {
    descs: Vec<Desc>,
    source: Arc<RwLock<Option<Source>>>,
}

impl AuditCollector {
    pub(super) fn new() -> prometheus::Result<AuditCollector> {
        let descs = FAMILIES
            .iter()
            .map(|(name, _, help)| {
                Desc::new(
                    format!("{PREFIX}_{name}"),
                    (*help).to_string(),
                    Vec::new(),
                    HashMap::new(),
                )
            })
            .collect::<prometheus::Result<Vec<_>>>()?;
        Ok(AuditCollector {
            descs,
            source: Arc::default(),
        })
    }

    pub(super) fn set_source(&self, source: Source) {
        *self.source.write().unwrap_or_else(|e| e.into_inner()) = Some(source);
    }

    fn snapshot(&self) -> AuditSnapshot {
        let source = self.source.read().unwrap_or_else(|e| e.into_inner());
        source.as_ref().map(|f| f()).unwrap_or_default()
    }
}

impl Collector for AuditCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let s = self.snapshot();
        let values = [
            s.queue_depth,
            s.queue_bytes,
            s.rows_written,
            s.write_batches,
            s.rows_dropped,
        ];
        self.descs
            .iter()
            .zip(FAMILIES)
            .zip(values)
            .map(|((desc, (_, kind, _)), value)| family(desc, kind, value as f64))
            .collect()
    }
}

/// A family of one unlabelled sample.
fn family(desc: &Desc, kind: MetricType, value: f64) -> MetricFamily {
    let mut metric = Metric::default();
    if kind == MetricType::COUNTER {
        let mut counter = Counter::default();
        counter.set_value(value);
        metric.set_counter(counter);
    } else {
        let mut gauge = Gauge::default();
        gauge.set_value(value);
        metric.set_gauge(gauge);
    }
    let mut family = MetricFamily::default();
    family.set_name(desc.fq_name.clone());
    family.set_help(desc.help.clone());
    family.set_field_type(kind);
    family.set_metric(vec![metric]);
    family
}
