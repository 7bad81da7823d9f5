//! TF-Serving / KServe V1: row and column formats, versioned routes, model status, errors.

use serde_json::{Value, json};

use crate::helpers::{TestApp, housing_record, iris_record, json_with_status};

fn virginica() -> Value {
    json!({"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3})
}

async fn error_of(response: reqwest::Response, status: u16) -> String {
    let body = json_with_status(response, status).await;
    body["error"]
        .as_str()
        .expect("an error message")
        .to_string()
}

fn assert_probabilities(p: &Value, likely: &str) {
    let p = p.as_object().expect("probabilities by class");
    let classes: Vec<&str> = p.keys().map(String::as_str).collect();
    assert_eq!(classes, vec!["setosa", "versicolor", "virginica"]);
    let total: f64 = p.values().filter_map(Value::as_f64).sum();
    assert!((total - 1.0).abs() < 1e-5, "{p:?}");
    let best = p
        .iter()
        .max_by(|a, b| a.1.as_f64().partial_cmp(&b.1.as_f64()).expect("numbers"))
        .map(|(k, _)| k.as_str());
    assert_eq!(best, Some(likely));
}

#[tokio::test]
async fn row_format_answers_one_object_per_row_for_a_multi_output_model() {
    let app = TestApp::spawn().await;
    let body =
        json!({"signature_name": "serving_default", "instances": [iris_record(), virginica()]});
    let answer = json_with_status(app.post_json("/v1/models/iris:predict", &body).await, 200).await;
    let predictions = answer["predictions"].as_array().expect("predictions");
    assert_eq!(predictions.len(), 2);
    assert_eq!(predictions[0]["label"], "setosa");
    assert_eq!(predictions[1]["label"], "virginica");
    assert_probabilities(&predictions[0]["probabilities"], "setosa");
    assert_probabilities(&predictions[1]["probabilities"], "virginica");
}

#[tokio::test]
async fn row_format_answers_one_value_per_row_for_a_single_output_model() {
    let app = TestApp::spawn().await;
    let mut bigger = housing_record();
    bigger["livingArea"] = json!(2500);
    let body = json!({"instances": [housing_record(), bigger]});
    let answer = json_with_status(
        app.post_json("/v1/models/housing:predict", &body).await,
        200,
    )
    .await;
    let prices: Vec<f64> = answer["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|p| p.as_f64().expect("a number per row"))
        .collect();
    assert_eq!(prices.len(), 2);
    assert!(prices[1] > prices[0], "{prices:?}");
}

#[tokio::test]
async fn row_and_column_formats_agree() {
    let app = TestApp::spawn().await;
    let rows = json!({"instances": [iris_record(), virginica()]});
    let columns = json!({"inputs": {
        "sepal_length": [5.1, 6.7], "sepal_width": [3.5, 3.0],
        "petal_length": [1.4, 5.2], "petal_width": [0.2, 2.3]
    }});
    let by_row = json_with_status(app.post_json("/v1/models/iris:predict", &rows).await, 200).await;
    let by_column = json_with_status(
        app.post_json("/v1/models/iris:predict", &columns).await,
        200,
    )
    .await;
    let outputs = &by_column["outputs"];
    assert_eq!(outputs["label"], json!(["setosa", "virginica"]));
    for r in 0..2 {
        assert_eq!(
            outputs["probabilities"][r],
            by_row["predictions"][r]["probabilities"]
        );
    }
}

#[tokio::test]
async fn column_format_answers_a_list_for_a_single_output_model() {
    let app = TestApp::spawn().await;
    let record = housing_record();
    let columns: serde_json::Map<String, Value> = record
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), json!([v, v, v])))
        .collect();
    let answer = json_with_status(
        app.post_json("/v1/models/housing:predict", &json!({"inputs": columns}))
            .await,
        200,
    )
    .await;
    let prices = answer["outputs"].as_array().expect("one value per row");
    assert_eq!(prices.len(), 3);
    assert!(prices.iter().all(|p| p == &prices[0] && p.is_f64()));
}

#[tokio::test]
async fn a_version_can_be_named() {
    let app = TestApp::spawn().await;
    let body = json!({"instances": [iris_record()]});
    let answer = json_with_status(
        app.post_json("/v1/models/iris/versions/1:predict", &body)
            .await,
        200,
    )
    .await;
    assert_eq!(answer["predictions"][0]["label"], "setosa");
    let message = error_of(
        app.post_json("/v1/models/iris/versions/7:predict", &body)
            .await,
        404,
    )
    .await;
    assert!(message.contains('7'), "{message}");
}

#[tokio::test]
async fn an_empty_batch_answers_empty() {
    let app = TestApp::spawn().await;
    let answer = json_with_status(
        app.post_json("/v1/models/iris:predict", &json!({"instances": []}))
            .await,
        200,
    )
    .await;
    assert_eq!(answer, json!({"predictions": []}));
}

#[tokio::test]
async fn status_lists_every_version() {
    let app = TestApp::spawn().await;
    let expected = json!({"model_version_status": [{
        "version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}
    }]});
    assert_eq!(
        json_with_status(app.get("/v1/models/iris").await, 200).await,
        expected
    );
    assert_eq!(
        json_with_status(app.get("/v1/models/iris/versions/1").await, 200).await,
        expected
    );
    error_of(app.get("/v1/models/iris/versions/2").await, 404).await;
    error_of(app.get("/v1/models/iris/versions/latest").await, 404).await;
    error_of(app.get("/v1/models/iris/versions/01").await, 404).await;
    assert!(
        error_of(app.get("/v1/models/nope").await, 404)
            .await
            .contains("nope")
    );
}

#[tokio::test]
async fn status_reports_a_version_that_failed_to_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let models = crate::helpers::committed_models();
    let good = dir.path().join("iris/1");
    std::fs::create_dir_all(&good).expect("mkdir");
    for file in ["model.onnx", "metadata.json"] {
        std::fs::copy(models.join("iris/1").join(file), good.join(file)).expect("copy");
    }
    let broken = dir.path().join("iris/2");
    std::fs::create_dir_all(&broken).expect("mkdir");
    std::fs::write(broken.join("model.onnx"), b"not a graph").expect("write");
    let app = TestApp::spawn_with(prediction_api::config::Config::for_tests(dir.path())).await;
    let body = json_with_status(app.get("/v1/models/iris").await, 200).await;
    let versions = body["model_version_status"].as_array().expect("versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["state"], "AVAILABLE");
    assert_eq!(versions[1]["version"], "2");
    assert_eq!(versions[1]["state"], "END");
    assert_eq!(versions[1]["status"]["error_code"], "UNKNOWN");
    assert!(
        !versions[1]["status"]["error_message"]
            .as_str()
            .expect("a reason")
            .is_empty()
    );
    let one = json_with_status(app.get("/v1/models/iris/versions/2").await, 200).await;
    assert_eq!(one["model_version_status"][0]["state"], "END");
    // The latest loaded version serves; the failed one is 503.
    let rows = json!({"instances": [iris_record()]});
    json_with_status(app.post_json("/v1/models/iris:predict", &rows).await, 200).await;
    error_of(
        app.post_json("/v1/models/iris/versions/2:predict", &rows)
            .await,
        503,
    )
    .await;
}

#[tokio::test]
async fn instances_and_inputs_together_or_neither_are_400() {
    let app = TestApp::spawn().await;
    let both = json!({"instances": [iris_record()], "inputs": {"sepal_length": [5.1]}});
    let message = error_of(app.post_json("/v1/models/iris:predict", &both).await, 400).await;
    assert!(message.contains("not both"), "{message}");
    let neither = json!({"signature_name": "serving_default"});
    let message = error_of(
        app.post_json("/v1/models/iris:predict", &neither).await,
        400,
    )
    .await;
    assert!(
        message.contains("instances") && message.contains("inputs"),
        "{message}"
    );
    let not_a_list = json!({"instances": iris_record()});
    error_of(
        app.post_json("/v1/models/iris:predict", &not_a_list).await,
        400,
    )
    .await;
    // A bare list of columns needs a single-input model.
    let bare = json!({"inputs": [[5.1, 3.5, 1.4, 0.2]]});
    error_of(app.post_json("/v1/models/iris:predict", &bare).await, 400).await;
}

#[tokio::test]
async fn unknown_models_versions_and_verbs_are_404() {
    let app = TestApp::spawn().await;
    let body = json!({"instances": [iris_record()]});
    for (path, named) in [
        ("/v1/models/nope:predict", "nope"),
        ("/v1/models/iris:classify", ":classify"),
        ("/v1/models/iris/versions/1:regress", ":regress"),
        ("/v1/models/iris", ":predict"),
        ("/v1/models/iris/versions/x:predict", "x"),
    ] {
        let message = error_of(app.post_json(path, &body).await, 404).await;
        assert!(message.contains(named), "{path}: {message}");
    }
}

#[tokio::test]
async fn field_errors_are_422_and_name_the_feature() {
    let app = TestApp::spawn().await;
    let mut missing = iris_record();
    missing
        .as_object_mut()
        .expect("object")
        .remove("petal_width");
    let mut unknown = iris_record();
    unknown["colour"] = json!("blue");
    let cases = [
        (
            json!({"instances": [iris_record(), missing]}),
            "petal_width",
        ),
        (json!({"instances": [unknown]}), "colour"),
        (
            json!({"inputs": {"sepal_length": [5.1], "sepal_width": [3.5], "petal_length": [1.4]}}),
            "petal_width",
        ),
        (
            json!({"inputs": {"sepal_length": [5.1], "sepal_width": [3.5], "petal_length": [1.4],
                              "petal_width": ["wide"]}}),
            "petal_width",
        ),
    ];
    for (body, named) in cases {
        let message = error_of(app.post_json("/v1/models/iris:predict", &body).await, 422).await;
        assert!(message.contains(named), "{message}");
    }
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    let response = app
        .post_bytes("/v1/models/iris:predict", b"{\"instances\": [".to_vec())
        .await;
    assert!(error_of(response, 400).await.contains("malformed JSON"));
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/v1/models/iris:predict"))
        .header("content-type", "text/plain")
        .body(json!({"instances": [iris_record()]}).to_string())
        .send()
        .await
        .expect("POST");
    error_of(response, 415).await;
}

#[tokio::test]
async fn reading_a_predict_path_is_405_with_allow_post() {
    let app = TestApp::spawn().await;
    for path in [
        "/v1/models/iris:predict",
        "/v1/models/iris/versions/1:predict",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 405, "{path}");
        assert_eq!(response.headers()["allow"], "POST", "{path}");
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["code"], "method_not_allowed", "{path}");
        // Whatever the method, the path says POST.
        for method in [reqwest::Method::OPTIONS, reqwest::Method::PUT] {
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 405, "{method} {path}");
            assert_eq!(response.headers()["allow"], "POST", "{method} {path}");
        }
    }
    assert_eq!(app.get("/v1/models/iris").await.status(), 200);
}

#[tokio::test]
async fn metadata_gives_the_signature_as_tf_serving_writes_it() {
    let app = TestApp::spawn().await;
    let body = json_with_status(app.get("/v1/models/iris/metadata").await, 200).await;
    assert_eq!(
        body["model_spec"],
        json!({"name": "iris", "signature_name": "", "version": "1"})
    );
    let signature = &body["metadata"]["signature_def"]["signature_def"]["serving_default"];
    assert_eq!(signature["method_name"], "tensorflow/serving/predict");
    let inputs = signature["inputs"].as_object().expect("inputs by name");
    let names: Vec<&str> = inputs.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["petal_length", "petal_width", "sepal_length", "sepal_width"]
    );
    assert_eq!(
        inputs["sepal_length"],
        json!({"name": "sepal_length", "dtype": "DT_FLOAT", "tensor_shape": {
            "dim": [{"size": "-1", "name": ""}, {"size": "1", "name": ""}], "unknown_rank": false}})
    );
    assert_eq!(signature["outputs"]["label"]["dtype"], "DT_STRING");
    assert_eq!(
        signature["outputs"]["probabilities"]["tensor_shape"]["dim"][1]["size"],
        "3"
    );

    // The housing model's string features are DT_STRING; a version can be named.
    let housing =
        json_with_status(app.get("/v1/models/housing/versions/1/metadata").await, 200).await;
    let inputs = housing["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
        .as_object()
        .expect("inputs");
    let strings = inputs
        .values()
        .filter(|i| i["dtype"] == "DT_STRING")
        .count();
    assert_eq!((inputs.len(), strings), (15, 6));

    for path in [
        "/v1/models/nope/metadata",
        "/v1/models/iris/versions/9/metadata",
    ] {
        error_of(app.get(path).await, 404).await;
    }
}

#[tokio::test]
async fn string_features_may_come_as_tf_serving_b64_objects() {
    let app = TestApp::spawn().await;
    let plain = housing_record();
    let mut wrapped = plain.clone();
    // "electric" and "septic", base64-encoded as TF-Serving clients send bytes.
    wrapped["fuel"] = json!({"b64": "ZWxlY3RyaWM="});
    wrapped["sewer"] = json!({"b64": "c2VwdGlj"});
    let expected = json_with_status(
        app.post_json("/v1/models/housing:predict", &json!({"instances": [plain]}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (&plain["fuel"], &plain["sewer"]),
        (&json!("electric"), &json!("septic"))
    );
    let answer = json_with_status(
        app.post_json(
            "/v1/models/housing:predict",
            &json!({"instances": [wrapped.clone()]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(answer, expected);

    wrapped["fuel"] = json!({"b64": "not base64!"});
    let message = error_of(
        app.post_json(
            "/v1/models/housing:predict",
            &json!({"instances": [wrapped]}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        message.contains("fuel") && message.contains("b64"),
        "{message}"
    );
}

#[tokio::test]
async fn a_signature_other_than_the_graphs_one_is_400() {
    let app = TestApp::spawn().await;
    for name in ["serving_default", ""] {
        let body = json!({"signature_name": name, "instances": [iris_record()]});
        json_with_status(app.post_json("/v1/models/iris:predict", &body).await, 200).await;
    }
    let body = json!({"signature_name": "predict_proba", "instances": [iris_record()]});
    let message = error_of(app.post_json("/v1/models/iris:predict", &body).await, 400).await;
    assert!(
        message.contains("predict_proba") && message.contains("serving_default"),
        "{message}"
    );
}
