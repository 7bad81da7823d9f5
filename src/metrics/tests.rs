//! Unit tests of the exposition: names, types, and the scrape-time sources.

use std::time::Duration;

use super::*;
use crate::events::ServingEvents;

fn fresh() -> Metrics {
    Metrics::new().expect("the families register")
}

#[test]
fn audit_series_read_zero_before_a_source_and_counters_end_in_total() {
    let text = fresh().render().expect("renders");
    for line in [
        "# TYPE prediction_api_audit_queue_depth gauge",
        "prediction_api_audit_queue_depth 0",
        "# TYPE prediction_api_audit_queue_bytes gauge",
        "prediction_api_audit_queue_bytes 0",
        "# TYPE prediction_api_audit_rows_written_total counter",
        "prediction_api_audit_rows_written_total 0",
        "prediction_api_audit_write_batches_total 0",
        "prediction_api_audit_rows_dropped_total 0",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
}

#[test]
fn audit_source_is_read_at_scrape_time() {
    let metrics = fresh();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(3));
    let seen = counter.clone();
    metrics.register_audit_source(move || AuditSnapshot {
        queue_depth: 1,
        queue_bytes: 512,
        rows_written: seen.load(std::sync::atomic::Ordering::Relaxed),
        write_batches: 2,
        rows_dropped: 0,
    });
    let text = metrics.render().expect("renders");
    assert!(text.contains("prediction_api_audit_rows_written_total 3"));
    assert!(text.contains("prediction_api_audit_queue_bytes 512"));
    counter.store(7, std::sync::atomic::Ordering::Relaxed);
    assert!(
        metrics
            .render()
            .expect("renders")
            .contains("prediction_api_audit_rows_written_total 7")
    );
}

#[test]
fn drift_values_become_labelled_gauges_once_each() {
    let metrics = fresh();
    metrics.register_drift_source(|| {
        let value = |psi| DriftValue {
            model: "iris".into(),
            version: 1,
            feature: "sepal_length".into(),
            psi,
        };
        vec![value(0.1), value(0.3)]
    });
    let text = metrics.render().expect("renders");
    assert!(
        text.contains("# TYPE prediction_api_feature_drift_psi gauge"),
        "{text}"
    );
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("prediction_api_feature_drift_psi{"))
        .collect();
    assert_eq!(
        lines,
        [
            "prediction_api_feature_drift_psi{model=\"iris\",version=\"1\",feature=\"sepal_length\"} 0.3"
        ]
    );
}

#[test]
fn serving_events_fill_the_model_series() {
    let metrics = fresh();
    metrics.model_loaded("iris", 2, Duration::from_millis(30), false);
    metrics.predicted("iris", 2, 4, Duration::from_micros(5));
    metrics.predicted("iris", 2, 6, Duration::from_micros(7));
    metrics.executed("iris", 2, 10, Duration::from_micros(80));
    metrics.inference_failed("iris", 2, "invalid_input");
    metrics.queue_entered("iris", 2);
    let text = metrics.render().expect("renders");
    for line in [
        "prediction_api_model_loaded{model=\"iris\",version=\"2\"} 1",
        "prediction_api_model_loads_total{model=\"iris\"} 1",
        "prediction_api_predictions_total{model=\"iris\",version=\"2\"} 10",
        "prediction_api_inference_executions_total{model=\"iris\",version=\"2\"} 1",
        "prediction_api_inference_errors_total{kind=\"invalid_input\",model=\"iris\",version=\"2\"} 1",
        "prediction_api_inference_errors_total{kind=\"runtime\",model=\"iris\",version=\"2\"} 0",
        "prediction_api_inference_queue_depth{model=\"iris\",version=\"2\"} 1",
        "prediction_api_inference_batch_size_rows_bucket{model=\"iris\",version=\"2\",le=\"16\"} 1",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    metrics.model_unloaded("iris", 2);
    let text = metrics.render().expect("renders");
    assert!(!text.contains("prediction_api_model_loaded{"), "{text}");
    assert!(text.contains("prediction_api_model_unloads_total{model=\"iris\"} 1"));
}

#[test]
fn http_series_are_labelled_by_status_class() {
    let metrics = fresh();
    let guard = metrics.http().in_flight();
    assert!(
        metrics
            .render()
            .expect("renders")
            .contains("prediction_api_http_requests_in_flight 1")
    );
    drop(guard);
    metrics
        .http()
        .observe("GET", "/health", 200, Duration::from_micros(70));
    metrics
        .http()
        .observe("GET", "/health", 503, Duration::from_micros(70));
    let text = metrics.render().expect("renders");
    assert!(text.contains("prediction_api_http_requests_in_flight 0"));
    assert!(text.contains(
        "prediction_api_http_requests_total{method=\"GET\",route=\"/health\",status=\"2xx\"} 1"
    ));
    assert!(text.contains(
        "prediction_api_http_requests_total{method=\"GET\",route=\"/health\",status=\"5xx\"} 1"
    ));
    assert!(text.contains("prediction_api_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health\",status=\"2xx\",le=\"0.0001\"} 1"));
}

#[test]
fn two_registries_count_separately() {
    let (a, b) = (fresh(), fresh());
    a.http().observe("GET", "/health", 200, Duration::ZERO);
    assert!(
        a.render()
            .expect("renders")
            .contains("prediction_api_http_requests_total{")
    );
    assert!(
        !b.render()
            .expect("renders")
            .contains("prediction_api_http_requests_total{")
    );
}
