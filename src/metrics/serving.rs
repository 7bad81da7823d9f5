//! Serving series, fed by the [`ServingEvents`] sink: predictions, graph executions, inference
//! and queue time, batch sizes and errors by model and version; model loads, reloads, unloads
//! and failures.
//!
//! The sink only hears about models the repository loaded (or tried to load from disk or the
//! admin API), so a request naming an unknown model never creates a series.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec};

use super::{LATENCY_BUCKETS, Metrics, histogram_opts, opts, registered, series};
use crate::events::ServingEvents;
use crate::inference::InferError;

/// Rows per graph execution: powers of two up to the largest batches a client sends.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0, 16384.0,
];

/// Loading includes reading the graph, opening a session per core and one warm-up run.
const LOAD_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

const MODEL_VERSION: &[&str] = &["model", "version"];

pub struct ServingMetrics {
    predictions: IntCounterVec,
    executions: IntCounterVec,
    duration: HistogramVec,
    queue_wait: HistogramVec,
    batch_size: HistogramVec,
    queue_depth: IntGaugeVec,
    errors: IntCounterVec,
    loaded: IntGaugeVec,
    loads: IntCounterVec,
    reloads: IntCounterVec,
    unloads: IntCounterVec,
    load_failures: IntCounterVec,
    load_duration: HistogramVec,
    /// Label handles per model and version, so the request path neither formats the version
    /// nor hashes labels.
    cache: RwLock<HashMap<String, BTreeMap<u64, Arc<Series>>>>,
}

/// The series of one model version.
struct Series {
    version: String,
    predictions: IntCounter,
    executions: IntCounter,
    duration: Histogram,
    queue_wait: Histogram,
    batch_size: Histogram,
    queue_depth: IntGauge,
}

impl ServingMetrics {
    pub(super) fn register(r: &prometheus::Registry) -> prometheus::Result<ServingMetrics> {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            registered(r, IntCounterVec::new(opts(name, help), labels)?)
        };
        let histogram = |name: &str, help: &str, buckets: &[f64], labels: &[&str]| {
            registered(
                r,
                HistogramVec::new(histogram_opts(name, help, buckets), labels)?,
            )
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            registered(r, IntGaugeVec::new(opts(name, help), labels)?)
        };
        Ok(ServingMetrics {
            predictions: counter("predictions_total", "Rows predicted.", MODEL_VERSION)?,
            executions: counter(
                "inference_executions_total",
                "Graph executions (a request of many rows may take several).",
                MODEL_VERSION,
            )?,
            duration: histogram(
                "inference_duration_seconds",
                "Time of one graph execution (one request, or a coalesced batch of requests).",
                LATENCY_BUCKETS,
                MODEL_VERSION,
            )?,
            queue_wait: histogram(
                "inference_queue_wait_seconds",
                "Time a request waited for a free session of the model and for its batch to start.",
                LATENCY_BUCKETS,
                MODEL_VERSION,
            )?,
            batch_size: histogram(
                "inference_batch_size_rows",
                "Rows per graph execution.",
                BATCH_BUCKETS,
                MODEL_VERSION,
            )?,
            queue_depth: gauge(
                "inference_queue_depth",
                "Requests waiting for a free session of the model now.",
                MODEL_VERSION,
            )?,
            errors: counter(
                "inference_errors_total",
                "Inferences that failed, by kind.",
                &["model", "version", "kind"],
            )?,
            loaded: gauge(
                "model_loaded",
                "1 for each model version taking requests.",
                MODEL_VERSION,
            )?,
            loads: counter(
                "model_loads_total",
                "Model versions loaded (first loads).",
                &["model"],
            )?,
            reloads: counter(
                "model_reloads_total",
                "Model versions loaded again in place of the same version.",
                &["model"],
            )?,
            unloads: counter(
                "model_unloads_total",
                "Model versions that stopped taking requests.",
                &["model"],
            )?,
            load_failures: counter(
                "model_load_failures_total",
                "Model versions that failed to load.",
                &["model"],
            )?,
            load_duration: histogram(
                "model_load_duration_seconds",
                "Time to load and warm up a model version.",
                LOAD_BUCKETS,
                &["model"],
            )?,
            cache: RwLock::default(),
        })
    }

    /// The series of a model version, created on first use.
    fn series(&self, model: &str, version: u64) -> Option<Arc<Series>> {
        {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if let Some(found) = cache.get(model).and_then(|v| v.get(&version)) {
                return Some(found.clone());
            }
        }
        let text = version.to_string();
        let labels = [model, text.as_str()];
        let created = Arc::new(Series {
            predictions: series(&self.predictions, &labels)?,
            executions: series(&self.executions, &labels)?,
            duration: series(&self.duration, &labels)?,
            queue_wait: series(&self.queue_wait, &labels)?,
            batch_size: series(&self.batch_size, &labels)?,
            queue_depth: series(&self.queue_depth, &labels)?,
            version: text,
        });
        // Every error kind starts at 0, so error ratios have a series before the first error.
        for kind in InferError::KINDS {
            series(&self.errors, &[model, &created.version, kind]);
        }
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        let slot = cache
            .entry(model.to_string())
            .or_default()
            .entry(version)
            .or_insert(created);
        Some(slot.clone())
    }
}

impl ServingEvents for Metrics {
    fn model_loaded(&self, model: &str, version: u64, took: Duration, reload: bool) {
        let s = self.serving();
        // Every per-model counter starts at 0, so dashboards have a series before the first
        // reload, unload or failure.
        for counter in [&s.loads, &s.reloads, &s.unloads, &s.load_failures] {
            series(counter, &[model]);
        }
        let counter = if reload { &s.reloads } else { &s.loads };
        if let Some(c) = series(counter, &[model]) {
            c.inc();
        }
        if let Some(h) = series(&s.load_duration, &[model]) {
            h.observe(took.as_secs_f64());
        }
        if let Some(series) = s.series(model, version)
            && let Some(g) = super::series(&s.loaded, &[model, &series.version])
        {
            g.set(1);
        }
    }

    fn model_load_failed(&self, model: &str, _version: Option<u64>) {
        if let Some(c) = series(&self.serving().load_failures, &[model]) {
            c.inc();
        }
    }

    fn model_unloaded(&self, model: &str, version: u64) {
        let s = self.serving();
        if let Some(c) = series(&s.unloads, &[model]) {
            c.inc();
        }
        // The counters stay (Prometheus needs their last value); the version is just no
        // longer loaded.
        let _ = s.loaded.remove_label_values(&[model, &version.to_string()]);
    }

    fn predicted(&self, model: &str, version: u64, rows: usize, queued: Duration) {
        let Some(s) = self.serving().series(model, version) else {
            return;
        };
        s.predictions.inc_by(rows as u64);
        s.queue_wait.observe(queued.as_secs_f64());
    }

    fn executed(&self, model: &str, version: u64, rows: usize, ran: Duration) {
        let Some(s) = self.serving().series(model, version) else {
            return;
        };
        s.executions.inc();
        s.duration.observe(ran.as_secs_f64());
        s.batch_size.observe(rows as f64);
    }

    fn inference_failed(&self, model: &str, version: u64, kind: &'static str) {
        let s = self.serving();
        let Some(found) = s.series(model, version) else {
            return;
        };
        if let Some(c) = series(&s.errors, &[model, &found.version, kind]) {
            c.inc();
        }
    }

    fn queue_entered(&self, model: &str, version: u64) {
        if let Some(s) = self.serving().series(model, version) {
            s.queue_depth.inc();
        }
    }

    fn queue_left(&self, model: &str, version: u64) {
        if let Some(s) = self.serving().series(model, version) {
            s.queue_depth.dec();
        }
    }

    fn requests_in_flight(&self) -> Option<usize> {
        Some(self.http().requests_in_flight())
    }
}
