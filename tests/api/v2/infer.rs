//! Successful inference: JSON flat and nested, binary inputs and outputs, output choice.

use serde_json::{Value, json};

use super::{
    BinaryResponse, CLASSES, HEADER_LENGTH, IRIS_FEATURES, SETOSA, VIRGINICA, bytes_elements,
    f32_bytes, housing_inputs, iris_request, post_binary, read_bytes_elements, read_f32,
};
use crate::helpers::{TestApp, committed_models, housing_record, json_with_status};

#[tokio::test]
async fn json_inference_answers_every_output_flat() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json("/v2/models/iris/infer", &iris_request(&[SETOSA, VIRGINICA]))
        .await;
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().get(HEADER_LENGTH).is_none());
    let body = json_with_status(response, 200).await;
    assert_eq!(
        (&body["model_name"], &body["model_version"]),
        (&json!("iris"), &json!("1"))
    );
    assert!(body.get("id").is_none());
    let outputs = body["outputs"].as_array().expect("outputs");
    let label = outputs
        .iter()
        .find(|o| o["name"] == "label")
        .expect("label");
    assert_eq!(label["datatype"], "BYTES");
    assert_eq!(label["shape"], json!([2]));
    assert_eq!(label["data"], json!(["setosa", "virginica"]));
    let p = outputs
        .iter()
        .find(|o| o["name"] == "probabilities")
        .expect("p");
    assert_eq!(p["shape"], json!([2, 3]));
    let data: Vec<f64> = p["data"]
        .as_array()
        .expect("flat")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert_eq!(data.len(), 6);
    assert!((data[..3].iter().sum::<f64>() - 1.0).abs() < 1e-5);
    assert!(data[0] > 0.5 && data[5] > 0.5, "{data:?}");
}

#[tokio::test]
async fn nested_data_is_accepted_and_id_is_echoed() {
    let app = TestApp::spawn().await;
    let inputs: Vec<Value> = IRIS_FEATURES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"name": name, "datatype": "FP32", "shape": [2, 1],
                   "data": [[SETOSA[i]], [VIRGINICA[i]]]})
        })
        .collect();
    let request = json!({"id": "req-42", "inputs": inputs, "outputs": [{"name": "label"}]});
    let body = json_with_status(
        app.post_json("/v2/models/iris/versions/1/infer", &request)
            .await,
        200,
    )
    .await;
    assert_eq!(body["id"], "req-42");
    assert_eq!(
        body["outputs"],
        json!([{"name": "label", "datatype": "BYTES", "shape": [2], "data": ["setosa", "virginica"]}])
    );
}

#[tokio::test]
async fn application_octet_stream_and_no_content_type_are_accepted() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&iris_request(&[SETOSA])).expect("JSON");
    let typed = app
        .client
        .post(app.url("/v2/models/iris/infer"))
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .expect("POST");
    json_with_status(typed, 200).await;
    json_with_status(app.post_bytes("/v2/models/iris/infer", body).await, 200).await;
}

#[tokio::test]
async fn a_batch_of_100_rows_matches_the_record_api() {
    let app = TestApp::spawn().await;
    let csv =
        std::fs::read_to_string(committed_models().join("../data/iris_raw.csv")).expect("iris CSV");
    let rows: Vec<[f32; 4]> = csv
        .lines()
        .skip(1)
        .take(100)
        .map(|line| {
            let v: Vec<f32> = line
                .split(',')
                .take(4)
                .map(|x| x.parse().expect("num"))
                .collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect();
    let records: Vec<Value> = rows
        .iter()
        .map(|r| json!({"sepal_length": r[0], "sepal_width": r[1], "petal_length": r[2], "petal_width": r[3]}))
        .collect();
    let v2 = json_with_status(
        app.post_json("/v2/models/iris/infer", &iris_request(&rows))
            .await,
        200,
    )
    .await;
    let v1 = json_with_status(
        app.post_json("/predict/iris", &Value::Array(records)).await,
        200,
    )
    .await;
    let label = v2["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .find(|o| o["name"] == "label")
        .expect("label");
    assert_eq!(label["shape"], json!([100]));
    let expected: Vec<&Value> = v1
        .as_array()
        .expect("answers")
        .iter()
        .map(|a| &a["prediction"])
        .collect();
    let got: Vec<&Value> = label["data"].as_array().expect("labels").iter().collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn binary_inputs_and_outputs_round_trip() {
    let app = TestApp::spawn().await;
    let rows = [SETOSA, VIRGINICA];
    let mut tail = Vec::new();
    let inputs: Vec<Value> = IRIS_FEATURES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let bytes = f32_bytes(&[rows[0][i], rows[1][i]]);
            let input = json!({"name": name, "datatype": "FP32", "shape": [2, 1],
                               "parameters": {"binary_data_size": bytes.len()}});
            tail.extend(bytes);
            input
        })
        .collect();
    let header = json!({"id": "b1", "inputs": inputs, "parameters": {"binary_data_output": true}});
    let response =
        BinaryResponse::read(post_binary(&app, "/v2/models/iris/infer", &header, &tail).await)
            .await;
    assert_eq!(response.header["id"], "b1");
    assert_eq!(
        read_bytes_elements(response.output("label")),
        ["setosa", "virginica"]
    );
    let p = read_f32(response.output("probabilities"));
    assert_eq!(p.len(), 6);
    assert!(p[0] > 0.5 && p[5] > 0.5, "{p:?}");
    for output in response.header["outputs"].as_array().expect("outputs") {
        assert!(output.get("data").is_none(), "{output}");
    }
}

#[tokio::test]
async fn each_output_may_choose_its_encoding() {
    let app = TestApp::spawn().await;
    let mut request = iris_request(&[SETOSA]);
    request["outputs"] = json!([
        {"name": "label", "parameters": {"binary_data": false}},
        {"name": "probabilities", "parameters": {"binary_data": true}}
    ]);
    let response =
        BinaryResponse::read(app.post_json("/v2/models/iris/infer", &request).await).await;
    let outputs = response.header["outputs"].as_array().expect("outputs");
    let label = outputs
        .iter()
        .find(|o| o["name"] == "label")
        .expect("label");
    assert_eq!(label["data"], json!(["setosa"]));
    assert_eq!(read_f32(response.output("probabilities")).len(), 3);
}

#[tokio::test]
async fn binary_bytes_inputs_score_housing_like_the_record_api() {
    let app = TestApp::spawn().await;
    let mut tail = Vec::new();
    let inputs: Vec<Value> = housing_inputs()
        .into_iter()
        .map(|(name, value)| {
            let (datatype, bytes) = match value.as_str() {
                Some(s) => ("BYTES", bytes_elements(&[s])),
                None => ("FP32", f32_bytes(&[value.as_f64().expect("number") as f32])),
            };
            let input = json!({"name": name, "datatype": datatype, "shape": [1, 1],
                               "parameters": {"binary_data_size": bytes.len()}});
            tail.extend(bytes);
            input
        })
        .collect();
    let header = json!({"inputs": inputs, "outputs": [{"name": "variable", "parameters": {"binary_data": true}}]});
    let response =
        BinaryResponse::read(post_binary(&app, "/v2/models/housing/infer", &header, &tail).await)
            .await;
    let price = read_f32(response.output("variable"));
    let record = json_with_status(
        app.post_json("/predict/housing", &housing_record()).await,
        200,
    )
    .await;
    let expected = record["prediction"].as_f64().expect("price");
    assert_eq!(price.len(), 1);
    assert!(
        ((f64::from(price[0]) - expected) / expected).abs() < 1e-4,
        "{price:?} vs {expected}"
    );
}

#[tokio::test]
async fn classification_answers_the_top_classes_of_each_row_with_their_labels() {
    let app = TestApp::spawn().await;
    let mut request = iris_request(&[SETOSA, VIRGINICA]);
    request["outputs"] = json!([{"name": "probabilities"}]);
    let raw = json_with_status(app.post_json("/v2/models/iris/infer", &request).await, 200).await;
    let probabilities: Vec<f64> = raw["outputs"][0]["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(Value::as_f64)
        .collect();

    request["outputs"] = json!([{"name": "probabilities", "parameters": {"classification": 2}}]);
    let body = json_with_status(app.post_json("/v2/models/iris/infer", &request).await, 200).await;
    let output = &body["outputs"][0];
    assert_eq!(
        (&output["name"], &output["datatype"], &output["shape"]),
        (&json!("probabilities"), &json!("BYTES"), &json!([2, 2]))
    );
    let classes: Vec<&str> = output["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for (row, pair) in classes.chunks(2).enumerate() {
        let row_probabilities = &probabilities[row * 3..row * 3 + 3];
        let mut expected: Vec<usize> = (0..3).collect();
        expected.sort_by(|&a, &b| row_probabilities[b].total_cmp(&row_probabilities[a]));
        for (rank, text) in pair.iter().enumerate() {
            let parts: Vec<&str> = text.split(':').collect();
            let index = expected[rank];
            assert_eq!(parts[1], index.to_string(), "{text}");
            assert_eq!(parts[2], CLASSES[index], "{text}");
            let value: f64 = parts[0].parse().expect("a number");
            assert!((value - row_probabilities[index]).abs() < 1e-6, "{text}");
            assert_eq!(parts[0].split('.').nth(1).map(str::len), Some(6), "{text}");
        }
    }
    assert!(classes[0].ends_with(":0:setosa") && classes[2].ends_with(":2:virginica"));

    // In binary form, and more classes than there are: cut to three.
    request["outputs"] = json!([{"name": "probabilities",
                                 "parameters": {"classification": 5, "binary_data": true}}]);
    let BinaryResponse { header, tail } =
        BinaryResponse::read(app.post_json("/v2/models/iris/infer", &request).await).await;
    assert_eq!(header["outputs"][0]["shape"], json!([2, 3]));
    let strings = read_bytes_elements(&tail);
    assert_eq!(strings.len(), 6);
    assert!(strings[0].ends_with(":setosa") && strings[3].ends_with(":virginica"));
}
