//! Model metadata and readiness, including a version that failed to load.

use serde_json::json;

use super::{CLASSES, SETOSA, VIRGINICA, error_of, iris_request};
use crate::helpers::{TestApp, committed_models, json_with_status};

#[tokio::test]
async fn metadata_lists_versions_inputs_and_outputs() {
    let app = TestApp::spawn().await;
    for path in ["/v2/models/iris", "/v2/models/iris/versions/1"] {
        let meta = json_with_status(app.get(path).await, 200).await;
        assert_eq!(meta["name"], "iris");
        assert_eq!(meta["versions"], json!(["1"]));
        assert_eq!(meta["platform"], "onnxruntime_onnx");
        let inputs = meta["inputs"].as_array().expect("inputs");
        assert_eq!(inputs.len(), 4);
        assert_eq!(
            inputs[0],
            json!({"name": "sepal_length", "datatype": "FP32", "shape": [-1, 1]})
        );
        let outputs = meta["outputs"].as_array().expect("outputs");
        let label = outputs
            .iter()
            .find(|o| o["name"] == "label")
            .expect("label");
        assert_eq!(
            (&label["datatype"], &label["shape"]),
            (&json!("BYTES"), &json!([-1]))
        );
        let p = outputs
            .iter()
            .find(|o| o["name"] == "probabilities")
            .expect("p");
        assert_eq!(
            (&p["datatype"], &p["shape"]),
            (&json!("FP32"), &json!([-1, 3]))
        );
        assert_eq!(p["parameters"]["classes"], json!(CLASSES));
    }
    let housing = json_with_status(app.get("/v2/models/housing").await, 200).await;
    let datatypes: Vec<&str> = housing["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter_map(|i| i["datatype"].as_str())
        .collect();
    assert_eq!(datatypes.iter().filter(|d| **d == "FP32").count(), 9);
    assert_eq!(datatypes.iter().filter(|d| **d == "BYTES").count(), 6);
    assert_eq!(
        housing["outputs"],
        json!([{"name": "variable", "datatype": "FP32", "shape": [-1, 1]}])
    );
}

#[tokio::test]
async fn unknown_models_and_versions_are_404() {
    let app = TestApp::spawn().await;
    for (path, needle) in [
        ("/v2/models/nope", "`nope`"),
        ("/v2/models/iris/versions/7", "no version 7"),
        ("/v2/models/iris/versions/latest", "no version latest"),
        ("/v2/models/nope/ready", "`nope`"),
        ("/v2/models/iris/versions/7/ready", "no version 7"),
        // Versions are written as folders are named: plain decimal, no sign or leading zero.
        ("/v2/models/iris/versions/01", "no version 01"),
        ("/v2/models/iris/versions/+1/config", "no version +1"),
    ] {
        let message = error_of(app.get(path).await, 404).await;
        assert!(message.contains(needle), "{path}: {message}");
    }
    let request = iris_request(&[SETOSA]);
    for path in [
        "/v2/models/nope/infer",
        "/v2/models/iris/versions/2/infer",
        "/v2/models/iris/versions/01/infer",
    ] {
        error_of(app.post_json(path, &request).await, 404).await;
    }
}

#[tokio::test]
async fn ready_is_200_for_a_loaded_model() {
    let app = TestApp::spawn().await;
    for (path, name) in [
        ("/v2/models/iris/ready", "iris"),
        ("/v2/models/housing/versions/1/ready", "housing"),
    ] {
        let body = json_with_status(app.get(path).await, 200).await;
        assert_eq!(body, json!({"name": name, "ready": true}));
    }
}

#[tokio::test]
async fn a_version_that_failed_to_load_is_not_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("iris/1");
    std::fs::create_dir_all(&good).expect("mkdir");
    for file in ["model.onnx", "metadata.json"] {
        std::fs::copy(
            committed_models().join("iris/1").join(file),
            good.join(file),
        )
        .expect("cp");
    }
    let broken = dir.path().join("iris/2");
    std::fs::create_dir_all(&broken).expect("mkdir");
    std::fs::write(broken.join("model.onnx"), b"not a graph").expect("write");
    let config = prediction_api::config::Config::for_tests(dir.path());
    let app = TestApp::spawn_with(config).await;

    let body = json_with_status(app.get("/v2/models/iris/versions/2/ready").await, 400).await;
    assert_eq!(
        (&body["name"], &body["ready"]),
        (&json!("iris"), &json!(false))
    );
    assert!(
        body["error"]
            .as_str()
            .expect("reason")
            .contains("version 2")
    );
    // The highest loaded version serves meanwhile.
    json_with_status(app.get("/v2/models/iris/ready").await, 200).await;
    let meta = json_with_status(app.get("/v2/models/iris").await, 200).await;
    assert_eq!(meta["versions"], json!(["1"]));
    // Asking the failed version itself for metadata or inference is "not available".
    error_of(app.get("/v2/models/iris/versions/2").await, 503).await;
    let infer = app
        .post_json("/v2/models/iris/versions/2/infer", &iris_request(&[SETOSA]))
        .await;
    error_of(infer, 503).await;
}

#[tokio::test]
async fn configuration_follows_tritons_conventions() {
    let app = TestApp::spawn().await;
    for path in [
        "/v2/models/iris/config",
        "/v2/models/iris/versions/1/config",
    ] {
        let config = json_with_status(app.get(path).await, 200).await;
        assert_eq!(config["name"], "iris");
        assert_eq!(config["backend"], "onnxruntime");
        assert!(config["max_batch_size"].as_u64().expect("a batch size") > 0);
        assert_eq!(
            config["input"][0],
            json!({"name": "sepal_length", "data_type": "TYPE_FP32", "dims": [1]})
        );
        let label = config["output"]
            .as_array()
            .expect("outputs")
            .iter()
            .find(|o| o["name"] == "label")
            .cloned()
            .expect("label");
        assert_eq!(
            label,
            json!({"name": "label", "data_type": "TYPE_STRING", "dims": []})
        );
    }
    error_of(app.get("/v2/models/nope/config").await, 404).await;
    let server = json_with_status(app.get("/v2").await, 200).await;
    assert!(
        server["extensions"]
            .as_array()
            .expect("extensions")
            .contains(&json!("model_configuration"))
    );
}

#[tokio::test]
async fn statistics_count_requests_rows_and_failures() {
    let app = TestApp::spawn().await;
    let fresh = json_with_status(app.get("/v2/models/iris/stats").await, 200).await;
    assert_eq!(fresh["model_stats"][0]["inference_count"], 0);
    assert_eq!(fresh["model_stats"][0]["last_inference"], 0);
    for rows in [&[SETOSA][..], &[SETOSA, VIRGINICA]] {
        let answer = app
            .post_json("/v2/models/iris/infer", &iris_request(rows))
            .await;
        json_with_status(answer, 200).await;
    }
    // A shape the model does not take fails in inference, and is counted there.
    let mut bad = iris_request(&[SETOSA]);
    bad["inputs"][0]["shape"] = json!([1]);
    error_of(app.post_json("/v2/models/iris/infer", &bad).await, 400).await;

    for path in [
        "/v2/models/stats",
        "/v2/models/iris/stats",
        "/v2/models/iris/versions/1/stats",
    ] {
        let body = json_with_status(app.get(path).await, 200).await;
        let iris = body["model_stats"]
            .as_array()
            .expect("model_stats")
            .iter()
            .find(|m| m["name"] == "iris")
            .cloned()
            .expect("iris");
        assert_eq!(iris["version"], "1");
        assert_eq!(iris["inference_count"], 3, "{path}: rows");
        let stats = &iris["inference_stats"];
        assert_eq!(stats["success"]["count"], 2, "{path}");
        assert!(stats["success"]["ns"].as_u64().expect("ns") > 0);
        assert_eq!(stats["queue"]["count"], 2);
        assert_eq!(stats["fail"]["count"], 1, "{path}");
        let executions = iris["execution_count"].as_u64().expect("executions");
        assert!((1..=2).contains(&executions), "{path}: {executions}");
        assert_eq!(stats["compute_infer"]["count"], executions);
        assert!(iris["last_inference"].as_u64().expect("time") > 0);
    }
    error_of(app.get("/v2/models/nope/stats").await, 404).await;
    error_of(app.get("/v2/models/iris/versions/7/stats").await, 404).await;
}

#[tokio::test]
async fn a_model_whose_only_version_failed_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("iris/3");
    std::fs::create_dir_all(&broken).expect("mkdir");
    std::fs::write(broken.join("model.onnx"), b"not a graph").expect("write");
    let config = prediction_api::config::Config::for_tests(dir.path());
    let app = TestApp::spawn_with(config).await;

    // Readiness answers 400 when not ready, as Triton does; the model itself is unavailable.
    for (path, status) in [("/v2/models/iris", 503), ("/v2/models/iris/ready", 400)] {
        let body = json_with_status(app.get(path).await, status).await;
        let error = body["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("version 3") && error.contains("model.onnx"),
            "{path}: {error}"
        );
    }
}
