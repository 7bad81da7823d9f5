//! Health, readiness, model information and start-up behaviour.

use crate::helpers::{TestApp, json_with_status};

#[tokio::test]
async fn health_lists_the_loaded_models() {
    let app = TestApp::spawn().await;
    let body = json_with_status(app.get("/health").await, 200).await;
    assert_eq!(body["status"], "healthy");
    let names: Vec<&str> = body["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, vec!["housing", "iris"]);
    assert!(body["uptime_seconds"].as_f64().is_some());
    // Whole milliseconds: no float noise in the digits.
    let uptime = body["uptime_seconds"].to_string();
    assert!(
        uptime.split('.').nth(1).is_none_or(|d| d.len() <= 3),
        "{uptime}"
    );
}

#[tokio::test]
async fn models_info_describes_signatures_and_metrics() {
    let app = TestApp::spawn().await;
    let body = json_with_status(app.get("/models/info").await, 200).await;
    let iris = body["models"]
        .as_array()
        .expect("models")
        .iter()
        .find(|m| m["name"] == "iris")
        .expect("iris")
        .clone();
    assert_eq!(iris["default_version"], 1);
    let v1 = &iris["versions"][0];
    assert_eq!(v1["state"], "READY");
    assert_eq!(v1["inputs"][0]["name"], "sepal_length");
    assert_eq!(v1["inputs"][0]["datatype"], "FP32");
    assert_eq!(v1["inputs"][0]["shape"], serde_json::json!([-1, 1]));
    assert_eq!(
        v1["classes"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    assert!(
        v1["metadata"]["metrics"]["accuracy"]
            .as_f64()
            .expect("accuracy")
            >= 0.9
    );
}

#[tokio::test]
async fn v2_server_routes_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(
        json_with_status(app.get("/v2/health/live").await, 200).await["live"],
        true
    );
    assert_eq!(
        json_with_status(app.get("/v2/health/ready").await, 200).await["ready"],
        true
    );
    let meta = json_with_status(app.get("/v2").await, 200).await;
    assert_eq!(meta["name"], "prediction-api");
    assert!(
        meta["extensions"]
            .as_array()
            .expect("extensions")
            .iter()
            .any(|e| e == "binary_tensor_data")
    );
}

#[tokio::test]
async fn a_broken_model_is_reported_and_the_others_serve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    copy_dir(
        &crate::helpers::committed_models().join("iris"),
        &repo.join("iris"),
    );
    std::fs::create_dir_all(repo.join("broken/1")).expect("mkdir");
    std::fs::write(repo.join("broken/1/model.onnx"), b"not a graph").expect("write");
    let app = TestApp::spawn_with(prediction_api::config::Config::for_tests(repo)).await;
    assert_eq!(app.get("/v2/health/ready").await.status().as_u16(), 400);
    let health = json_with_status(app.get("/health").await, 200).await;
    assert_eq!(health["status"], "degraded");
    let info = json_with_status(app.get("/models/info").await, 200).await;
    let broken = info["models"]
        .as_array()
        .expect("models")
        .iter()
        .find(|m| m["name"] == "broken")
        .expect("listed")
        .clone();
    assert_eq!(broken["versions"][0]["state"], "UNAVAILABLE");
    assert!(
        broken["versions"][0]["reason"]
            .as_str()
            .expect("reason")
            .contains("model.onnx")
    );
    let answer = app
        .post_json("/predict/broken", &crate::helpers::iris_record())
        .await;
    assert_eq!(answer.status().as_u16(), 503);
    let ok = app
        .post_json("/predict/iris", &crate::helpers::iris_record())
        .await;
    assert_eq!(ok.status().as_u16(), 200);
}

pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}
