//! The seed's `/predict/{model}` routes: single records and batch arrays.

use serde_json::{Value, json};

use crate::helpers::{TestApp, housing_record, iris_record, json_with_status};

#[tokio::test]
async fn a_single_iris_record_gets_label_and_probabilities() {
    let app = TestApp::spawn().await;
    let body = json_with_status(app.post_json("/predict/iris", &iris_record()).await, 200).await;
    assert_eq!(body["prediction"], "setosa");
    assert_eq!(body["model"], "iris");
    assert_eq!(body["version"], 1);
    let p = body["probabilities"].as_object().expect("probabilities");
    let total: f64 = p.values().filter_map(Value::as_f64).sum();
    assert!((total - 1.0).abs() < 1e-5, "{p:?}");
}

#[tokio::test]
async fn a_housing_record_gets_a_price() {
    let app = TestApp::spawn().await;
    let body = json_with_status(
        app.post_json("/predict/housing", &housing_record()).await,
        200,
    )
    .await;
    let price = body["prediction"].as_f64().expect("a number");
    assert!((50_000.0..400_000.0).contains(&price), "{price}");
}

#[tokio::test]
async fn an_array_answers_in_order() {
    let app = TestApp::spawn().await;
    let virginica =
        json!({"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3});
    let body = json_with_status(
        app.post_json(
            "/predict/iris",
            &json!([iris_record(), virginica, iris_record()]),
        )
        .await,
        200,
    )
    .await;
    let labels: Vec<&str> = body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["prediction"].as_str())
        .collect();
    assert_eq!(labels, vec!["setosa", "virginica", "setosa"]);
}

#[tokio::test]
async fn a_batch_of_ten_thousand_records_is_scored() {
    let app = TestApp::spawn().await;
    let records: Vec<Value> = (0..10_000)
        .map(|i| {
            let mut r = housing_record();
            r["livingArea"] = json!(800 + i % 2000);
            r
        })
        .collect();
    let body = json_with_status(
        app.post_json("/predict/housing", &Value::Array(records))
            .await,
        200,
    )
    .await;
    let answers = body.as_array().expect("array");
    assert_eq!(answers.len(), 10_000);
    // Bigger houses cost more: the answers are in request order.
    let first = answers[0]["prediction"].as_f64().expect("price");
    let later = answers[1000]["prediction"].as_f64().expect("price");
    assert!(later > first);
}

#[tokio::test]
async fn many_concurrent_clients_get_their_own_answers() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut record = housing_record();
            record["livingArea"] = json!(1000 + i * 10);
            let mut answers = Vec::new();
            for _ in 0..5 {
                let body =
                    json_with_status(app.post_json("/predict/housing", &record).await, 200).await;
                answers.push(body["prediction"].as_f64().expect("price"));
            }
            (i, answers)
        }));
    }
    let mut by_area = Vec::new();
    for task in tasks {
        let (i, answers) = task.await.expect("task");
        assert!(
            answers.windows(2).all(|w| w[0] == w[1]),
            "client {i} got different answers for one record"
        );
        by_area.push((i, answers[0]));
    }
    by_area.sort_by_key(|(i, _)| *i);
    assert!(
        by_area.windows(2).all(|w| w[1].1 > w[0].1),
        "a larger living area always costs more"
    );
}

#[tokio::test]
async fn a_body_of_several_megabytes_under_the_limit_is_read_whole() {
    // Over axum's own 2 MB default for its body extractors: the server's limit is its own.
    let app = TestApp::spawn().await;
    let records = serde_json::Value::Array(vec![iris_record(); 60_000]);
    assert!(serde_json::to_vec(&records).expect("JSON").len() > 4 << 20);
    let response = app.post_json("/predict/iris", &records).await;
    assert_eq!(response.status(), 200);
    let answers: Vec<serde_json::Value> = response.json().await.expect("JSON");
    assert_eq!(answers.len(), 60_000);
}

#[tokio::test]
async fn a_body_that_starts_with_a_byte_order_mark_is_read() {
    let app = TestApp::spawn().await;
    let with_bom = |value: &Value| {
        let mut body = b"\xEF\xBB\xBF".to_vec();
        body.extend(serde_json::to_vec(value).expect("json"));
        body
    };
    let post = |path: &'static str, body: Vec<u8>| {
        app.client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let answer = post("/predict/iris", with_bom(&iris_record()))
        .await
        .expect("POST");
    let body = json_with_status(answer, 200).await;
    assert_eq!(body["prediction"], "setosa", "{body}");
    let v2 = json!({"inputs": [
        {"name": "sepal_length", "shape": [1, 1], "datatype": "FP32", "data": [5.1]},
        {"name": "sepal_width", "shape": [1, 1], "datatype": "FP32", "data": [3.5]},
        {"name": "petal_length", "shape": [1, 1], "datatype": "FP32", "data": [1.4]},
        {"name": "petal_width", "shape": [1, 1], "datatype": "FP32", "data": [0.2]}
    ]});
    let answer = post("/v2/models/iris/infer", with_bom(&v2))
        .await
        .expect("POST");
    json_with_status(answer, 200).await;
}
