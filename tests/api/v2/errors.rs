//! Every error status a V2 inference client can cause, each naming the fault.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{
    BinaryResponse, HEADER_LENGTH, IRIS_FEATURES, SETOSA, error_of, f32_bytes, housing_inputs,
    iris_request, post_binary, read_f32,
};
use crate::helpers::TestApp;

/// The iris request with input 0 replaced by `input`.
fn iris_with_first(input: Value) -> Value {
    let mut request = iris_request(&[SETOSA]);
    request["inputs"][0] = input;
    request
}

#[tokio::test]
async fn tensors_that_do_not_fit_the_model_are_400() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"name": "sepal_length", "datatype": "FP32", "shape": [1], "data": [5.1]}),
            "shape",
        ),
        (
            json!({"name": "sepal_length", "datatype": "FP64", "shape": [1, 1], "data": [5.1]}),
            "FP64",
        ),
        (
            json!({"name": "sepal_length", "datatype": "FP32", "shape": [2, 1], "data": [5.1]}),
            "elements",
        ),
        (
            json!({"name": "sepal_length", "datatype": "INT9", "shape": [1, 1], "data": [5]}),
            "INT9",
        ),
        (
            json!({"name": "sepal_length", "datatype": "FP32", "shape": [1, 1], "data": ["x"]}),
            "element 0",
        ),
        (
            json!({"name": "petals", "datatype": "FP32", "shape": [1, 1], "data": [5.1]}),
            "petals",
        ),
    ];
    for (input, needle) in cases {
        let message = error_of(
            app.post_json("/v2/models/iris/infer", &iris_with_first(input))
                .await,
            400,
        )
        .await;
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let mut missing = iris_request(&[SETOSA]);
    missing["inputs"].as_array_mut().expect("inputs").remove(3);
    let message = error_of(app.post_json("/v2/models/iris/infer", &missing).await, 400).await;
    assert!(message.contains("missing input `petal_width`"), "{message}");
}

#[tokio::test]
async fn a_huge_declared_shape_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let input = json!({"name": "sepal_length", "datatype": "FP32", "shape": [4_000_000_000u64, 1], "data": [5.1]});
    let started = Instant::now();
    let message = error_of(
        app.post_json("/v2/models/iris/infer", &iris_with_first(input))
            .await,
        400,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(message.contains("4000000000"), "{message}");
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let app = TestApp::spawn().await;
    let bad_json = app
        .post_bytes("/v2/models/iris/infer", b"{bad".to_vec())
        .await;
    assert!(error_of(bad_json, 400).await.contains("malformed"));
    let empty = app.post_bytes("/v2/models/iris/infer", Vec::new()).await;
    error_of(empty, 400).await;
    let header = iris_request(&[SETOSA]);
    let too_long = app
        .client
        .post(app.url("/v2/models/iris/infer"))
        .header(HEADER_LENGTH, 100_000)
        .json(&header)
        .send()
        .await
        .expect("POST");
    assert!(
        error_of(too_long, 400)
            .await
            .contains("Inference-Header-Content-Length")
    );
    let truncated = json!({"inputs": [{"name": "sepal_length", "datatype": "FP32", "shape": [1, 1],
                                       "parameters": {"binary_data_size": 4}}]});
    let response = post_binary(&app, "/v2/models/iris/infer", &truncated, &[0, 0]).await;
    assert!(error_of(response, 400).await.contains("binary_data_size"));
}

#[tokio::test]
async fn an_unknown_requested_output_is_400() {
    let app = TestApp::spawn().await;
    let mut request = iris_request(&[SETOSA]);
    request["outputs"] = json!([{"name": "label"}, {"name": "logits"}]);
    let message = error_of(app.post_json("/v2/models/iris/infer", &request).await, 400).await;
    assert!(
        message.contains("logits") && message.contains("probabilities"),
        "{message}"
    );
}

#[tokio::test]
async fn an_output_requested_twice_or_an_empty_request_is_400() {
    let app = TestApp::spawn().await;
    let mut request = iris_request(&[SETOSA]);
    request["outputs"] =
        json!([{"name": "label"}, {"name": "label", "parameters": {"binary_data": true}}]);
    let message = error_of(app.post_json("/v2/models/iris/infer", &request).await, 400).await;
    assert!(
        message.contains("`label`") && message.contains("more than once"),
        "{message}"
    );
    let empty = app
        .client
        .post(app.url("/v2/models/iris/infer"))
        .header("content-type", "application/json")
        .body("")
        .send()
        .await
        .expect("POST");
    assert!(error_of(empty, 400).await.contains("empty"));
}

#[tokio::test]
async fn an_unsupported_content_type_is_415() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/v2/models/iris/infer"))
        .header("content-type", "text/csv")
        .body("5.1,3.5,1.4,0.2")
        .send()
        .await
        .expect("POST");
    assert!(error_of(response, 415).await.contains("text/csv"));
}

/// One iris row in binary form whose first feature is NaN: (JSON inputs, binary tail).
fn iris_row_with_nan() -> (Vec<Value>, Vec<u8>) {
    let mut tail = f32_bytes(&[f32::NAN]);
    tail.extend(f32_bytes(&[3.5, 1.4, 0.2]));
    let inputs = IRIS_FEATURES
        .iter()
        .map(|name| json!({"name": name, "datatype": "FP32", "shape": [1, 1], "parameters": {"binary_data_size": 4}}))
        .collect();
    (inputs, tail)
}

#[tokio::test]
async fn nan_sent_in_binary_is_422_for_our_models() {
    let app = TestApp::spawn().await;
    let (inputs, tail) = iris_row_with_nan();
    let response = post_binary(
        &app,
        "/v2/models/iris/infer",
        &json!({"inputs": inputs}),
        &tail,
    )
    .await;
    assert!(error_of(response, 422).await.contains("NaN"));
}

#[tokio::test]
async fn a_binary_bytes_element_that_is_not_utf8_is_400() {
    let app = TestApp::spawn().await;
    let mut tail = Vec::new();
    let inputs: Vec<Value> = housing_inputs()
        .into_iter()
        .map(|(name, value)| {
            let (datatype, bytes) = match value.as_str() {
                // ONNX string tensors hold UTF-8 only; 0xff never occurs in it.
                Some(_) => ("BYTES", [1u32.to_le_bytes().as_slice(), &[0xff]].concat()),
                None => ("FP32", f32_bytes(&[1.0])),
            };
            let input = json!({"name": name, "datatype": datatype, "shape": [1, 1],
                               "parameters": {"binary_data_size": bytes.len()}});
            tail.extend(bytes);
            input
        })
        .collect();
    let header = json!({ "inputs": inputs });
    let response = post_binary(&app, "/v2/models/housing/infer", &header, &tail).await;
    assert!(error_of(response, 400).await.contains("UTF-8"));
}

#[tokio::test]
async fn an_output_json_cannot_carry_asks_for_binary() {
    let app = TestApp::spawn().await;
    // A finite but enormous living area drives the linear price to infinity.
    let request = |binary: bool| {
        let inputs: Vec<Value> = housing_inputs()
            .into_iter()
            .map(|(name, value)| match value.as_str() {
                Some(s) => json!({"name": name, "datatype": "BYTES", "shape": [1, 1], "data": [s]}),
                None if name == "livingArea" => {
                    json!({"name": name, "datatype": "FP32", "shape": [1, 1], "data": [3.0e38]})
                }
                None => json!({"name": name, "datatype": "FP32", "shape": [1, 1], "data": [value]}),
            })
            .collect();
        json!({"inputs": inputs, "parameters": {"binary_data_output": binary}})
    };
    let message = error_of(
        app.post_json("/v2/models/housing/infer", &request(false))
            .await,
        400,
    )
    .await;
    assert!(message.contains("binary"), "{message}");
    let response = BinaryResponse::read(
        app.post_json("/v2/models/housing/infer", &request(true))
            .await,
    )
    .await;
    assert!(!read_f32(response.output("variable"))[0].is_finite());
}

/// A server on a copy of the iris model with `config` as its config.json; the folder lives as
/// long as the returned guard.
async fn iris_with_config(config: &str) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::server::copy_dir(
        &crate::helpers::committed_models().join("iris"),
        &dir.path().join("iris"),
    );
    std::fs::write(dir.path().join("iris/config.json"), config).expect("config");
    let app = TestApp::spawn_with(prediction_api::config::Config::for_tests(dir.path())).await;
    (app, dir)
}

#[tokio::test]
async fn a_model_whose_config_allows_it_takes_nan() {
    let (app, _dir) = iris_with_config(r#"{"allow_non_finite": true}"#).await;
    let (inputs, tail) = iris_row_with_nan();
    let response = post_binary(
        &app,
        "/v2/models/iris/infer",
        &json!({"inputs": inputs}),
        &tail,
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn a_misspelt_config_setting_fails_the_load_with_its_name() {
    let (app, _dir) = iris_with_config(r#"{"allow_nan": true}"#).await;
    let info = app.get("/models/info").await.text().await.expect("body");
    assert!(
        info.contains("allow_nan") && info.contains("UNAVAILABLE"),
        "{info}"
    );
}

#[tokio::test]
async fn classification_of_strings_or_with_a_bad_count_is_400() {
    let app = TestApp::spawn().await;
    let mut request = iris_request(&[SETOSA]);
    request["outputs"] = json!([{"name": "label", "parameters": {"classification": 1}}]);
    let message = error_of(app.post_json("/v2/models/iris/infer", &request).await, 400).await;
    assert!(
        message.contains("label") && message.contains("BYTES"),
        "{message}"
    );
    for count in [json!(-1), json!(1.5), json!("2")] {
        request["outputs"] =
            json!([{"name": "probabilities", "parameters": {"classification": count}}]);
        let message = error_of(app.post_json("/v2/models/iris/infer", &request).await, 400).await;
        assert!(message.contains("classification"), "{message}");
    }
    // 0 is tritonclient's "no classification": the tensor itself.
    request["outputs"] = json!([{"name": "probabilities", "parameters": {"classification": 0}}]);
    let body = crate::helpers::json_with_status(
        app.post_json("/v2/models/iris/infer", &request).await,
        200,
    )
    .await;
    assert_eq!(body["outputs"][0]["datatype"], "FP32");
}
