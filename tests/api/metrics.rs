//! `/metrics`: the exposition, route-template labels, bounded series, request ids, and one
//! registry per server.

use crate::helpers::{TestApp, iris_record};

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ASCII")
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.expect("body")
}

/// Sample lines of `name` (with labels), without comments.
fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .collect()
}

#[tokio::test]
async fn metrics_export_the_families_after_traffic() {
    let app = TestApp::spawn().await;
    let ok = app.post_json("/predict/iris", &iris_record()).await;
    assert_eq!(ok.status(), 200);
    let text = scrape(&app).await;
    for family in [
        "prediction_api_http_requests_total",
        "prediction_api_http_request_duration_seconds",
        "prediction_api_http_requests_in_flight",
        "prediction_api_predictions_total",
        "prediction_api_inference_executions_total",
        "prediction_api_inference_duration_seconds",
        "prediction_api_inference_queue_wait_seconds",
        "prediction_api_inference_batch_size_rows",
        "prediction_api_inference_queue_depth",
        "prediction_api_inference_errors_total",
        "prediction_api_model_loaded",
        "prediction_api_model_loads_total",
        "prediction_api_model_load_duration_seconds",
        "prediction_api_audit_queue_depth",
        "prediction_api_audit_queue_bytes",
        "prediction_api_audit_rows_written_total",
        "prediction_api_audit_write_batches_total",
        "prediction_api_audit_rows_dropped_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "no {family} in:\n{text}"
        );
    }
    assert!(text.contains("prediction_api_predictions_total{model=\"iris\",version=\"1\"} 1"));
    assert!(text.contains("prediction_api_model_loaded{model=\"housing\",version=\"1\"} 1"));
    // The alias serves the same exposition.
    let alias = app.get("/metrics/prometheus").await;
    assert_eq!(alias.status(), 200);
    assert!(
        alias
            .text()
            .await
            .expect("body")
            .contains("# TYPE prediction_api_predictions_total counter")
    );
}

#[tokio::test]
async fn requests_are_labelled_by_route_template_and_status_class() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.post_json("/predict/iris", &iris_record())
            .await
            .status(),
        200
    );
    for path in ["/no/such/path", "/another/unknown/1", "/and/a/third"] {
        assert_eq!(app.get(path).await.status(), 404);
    }
    let text = scrape(&app).await;
    let requests = samples(&text, "prediction_api_http_requests_total");
    assert!(
        requests.contains(
            &"prediction_api_http_requests_total{method=\"POST\",route=\"/predict/{model}\",status=\"2xx\"} 1"
        ),
        "{requests:#?}"
    );
    assert!(
        requests.contains(
            &"prediction_api_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"4xx\"} 3"
        ),
        "{requests:#?}"
    );
    assert!(
        !text.contains("/no/such/path") && !text.contains("/predict/iris\""),
        "{text}"
    );
}

#[tokio::test]
async fn an_unknown_model_creates_no_series() {
    let app = TestApp::spawn().await;
    let before = scrape(&app).await;
    let response = app.post_json("/predict/not-a-model", &iris_record()).await;
    assert_eq!(response.status(), 404);
    let response = app
        .post_json(
            "/v2/models/not-a-model/infer",
            &serde_json::json!({"inputs": []}),
        )
        .await;
    assert_eq!(response.status(), 404);
    let after = scrape(&app).await;
    assert!(!after.contains("not-a-model"), "{after}");
    for family in [
        "prediction_api_predictions_total",
        "prediction_api_inference_errors_total",
        "prediction_api_inference_duration_seconds_count",
    ] {
        assert_eq!(
            samples(&before, family).len(),
            samples(&after, family).len(),
            "{family}"
        );
    }
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let echoed = app
        .client
        .get(app.url("/v2/health/live"))
        .header("x-request-id", "trace-42.a_b")
        .send()
        .await
        .expect("GET");
    assert_eq!(echoed.headers()["x-request-id"], "trace-42.a_b");
    for sent in [None, Some("has spaces in it")] {
        let mut request = app.client.get(app.url("/no/such/route"));
        if let Some(id) = sent {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.expect("GET");
        let id = response.headers()["x-request-id"].to_str().expect("ASCII");
        assert_eq!(id.len(), 36, "a UUID, got {id}");
        assert_eq!(id.as_bytes()[14], b'4', "version 4: {id}");
    }
}

#[tokio::test]
async fn two_servers_count_separately() {
    let (a, b) = (TestApp::spawn().await, TestApp::spawn().await);
    for _ in 0..3 {
        assert_eq!(
            a.post_json("/predict/iris", &iris_record()).await.status(),
            200
        );
    }
    assert_eq!(
        b.post_json("/predict/iris", &iris_record()).await.status(),
        200
    );
    let (text_a, text_b) = (scrape(&a).await, scrape(&b).await);
    assert!(text_a.contains("prediction_api_predictions_total{model=\"iris\",version=\"1\"} 3"));
    assert!(text_b.contains("prediction_api_predictions_total{model=\"iris\",version=\"1\"} 1"));
}

#[tokio::test]
async fn drift_is_exported_once_a_window_has_enough_rows() {
    let app = TestApp::spawn().await;
    let rows = serde_json::Value::Array(vec![iris_record(); 120]);
    assert_eq!(app.post_json("/predict/iris", &rows).await.status(), 200);
    let text = scrape(&app).await;
    assert!(
        text.contains("# TYPE prediction_api_feature_drift_psi gauge"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"prediction_api_feature_drift_psi{model="iris",version="1",feature="petal_length"}"#
        ),
        "{text}"
    );
}
