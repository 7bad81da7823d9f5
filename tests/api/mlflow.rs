//! MLflow scoring: `/invocations` in its four input formats, `/ping`, the per-model route, and
//! errors.

use prediction_api::config::Config;
use serde_json::{Value, json};

use crate::helpers::{TestApp, committed_models, housing_record, iris_record, json_with_status};

/// A server whose `/invocations` scores `iris`.
async fn spawn_iris_default() -> TestApp {
    let mut config = Config::for_tests(committed_models());
    config.default_model = Some("iris".into());
    TestApp::spawn_with(config).await
}

async fn error_of(response: reqwest::Response, status: u16) -> String {
    let body = json_with_status(response, status).await;
    body["error"]
        .as_str()
        .expect("an error message")
        .to_string()
}

const FEATURES: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
const SETOSA: [f64; 4] = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA: [f64; 4] = [6.7, 3.0, 5.2, 2.3];

fn record(values: [f64; 4]) -> Value {
    Value::Object(
        FEATURES
            .iter()
            .zip(values)
            .map(|(f, v)| (f.to_string(), json!(v)))
            .collect(),
    )
}

fn labels(answer: &Value) -> Vec<&str> {
    answer["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|p| p["label"].as_str().expect("a label"))
        .collect()
}

#[tokio::test]
async fn every_input_format_gives_the_same_predictions() {
    let app = spawn_iris_default().await;
    let columns: serde_json::Map<String, Value> = FEATURES
        .iter()
        .enumerate()
        .map(|(i, f)| (f.to_string(), json!([SETOSA[i], VIRGINICA[i]])))
        .collect();
    let bodies = [
        json!({"dataframe_split": {"columns": FEATURES, "data": [SETOSA, VIRGINICA]}}),
        json!({"dataframe_split": {"index": [7, 8], "columns": FEATURES, "data": [SETOSA, VIRGINICA]}}),
        json!({"dataframe_records": [record(SETOSA), record(VIRGINICA)]}),
        json!({"instances": [record(SETOSA), record(VIRGINICA)]}),
        json!({"inputs": columns}),
        json!({"dataframe_records": [record(SETOSA), record(VIRGINICA)], "params": {"k": 1}}),
    ];
    let mut answers = Vec::new();
    for body in bodies {
        let answer = json_with_status(app.post_json("/invocations", &body).await, 200).await;
        assert_eq!(labels(&answer), vec!["setosa", "virginica"], "{body}");
        answers.push(answer);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    let p = answers[0]["predictions"][0]["probabilities"]
        .as_object()
        .expect("probabilities by class");
    let total: f64 = p.values().filter_map(Value::as_f64).sum();
    assert!((total - 1.0).abs() < 1e-5, "{p:?}");
}

#[tokio::test]
async fn ping_answers_when_the_default_model_serves() {
    let app = spawn_iris_default().await;
    let body = json_with_status(app.get("/ping").await, 200).await;
    assert_eq!(body["status"], "ok");
    let without = TestApp::spawn().await;
    let message = error_of(without.get("/ping").await, 503).await;
    assert!(message.contains("--default-model"), "{message}");
}

#[tokio::test]
async fn invocations_without_a_default_model_is_404_and_says_how() {
    let app = TestApp::spawn().await;
    let body = json!({"dataframe_records": [iris_record()]});
    let message = error_of(app.post_json("/invocations", &body).await, 404).await;
    assert!(message.contains("--default-model"), "{message}");
}

#[tokio::test]
async fn any_model_is_scored_under_its_name() {
    let app = TestApp::spawn().await;
    let body = json!({"dataframe_records": [housing_record(), housing_record()]});
    let answer = json_with_status(
        app.post_json("/v1/models/housing/invocations", &body).await,
        200,
    )
    .await;
    let prices = answer["predictions"].as_array().expect("predictions");
    assert_eq!(prices.len(), 2);
    assert!(prices[0].as_f64().is_some_and(|p| p > 0.0), "{answer}");
    // The TF-Serving routes under the same prefix still answer.
    let v1 = json!({"instances": [iris_record()]});
    json_with_status(app.post_json("/v1/models/iris:predict", &v1).await, 200).await;
    json_with_status(app.get("/v1/models/iris").await, 200).await;
    let message = error_of(
        app.post_json("/v1/models/nope/invocations", &body).await,
        404,
    )
    .await;
    assert!(message.contains("nope"), "{message}");
}

#[tokio::test]
async fn more_than_one_format_key_or_none_is_400_naming_the_keys() {
    let app = spawn_iris_default().await;
    let two = json!({"dataframe_records": [iris_record()], "instances": [iris_record()]});
    let none = json!({"params": {}});
    for body in [two, none, json!([iris_record()])] {
        let message = error_of(app.post_json("/invocations", &body).await, 400).await;
        for key in [
            "dataframe_split",
            "dataframe_records",
            "instances",
            "inputs",
        ] {
            assert!(message.contains(key), "{message}");
        }
    }
}

#[tokio::test]
async fn a_malformed_dataframe_is_400() {
    let app = spawn_iris_default().await;
    let short_row = json!({"dataframe_split": {"columns": FEATURES, "data": [[5.1, 3.5]]}});
    let message = error_of(app.post_json("/invocations", &short_row).await, 400).await;
    assert!(message.contains("row 0"), "{message}");
    let no_data = json!({"dataframe_split": {"columns": FEATURES}});
    error_of(app.post_json("/invocations", &no_data).await, 400).await;
    let not_rows = json!({"dataframe_records": record(SETOSA)});
    error_of(app.post_json("/invocations", &not_rows).await, 400).await;
}

#[tokio::test]
async fn field_errors_are_422_and_name_the_feature() {
    let app = spawn_iris_default().await;
    let renamed = [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_breadth",
    ];
    let cases = [
        (
            json!({"dataframe_split": {"columns": renamed, "data": [SETOSA]}}),
            "petal_breadth",
        ),
        (
            json!({"dataframe_split": {"columns": &FEATURES[..3], "data": [[5.1, 3.5, 1.4]]}}),
            "petal_width",
        ),
        (
            json!({"dataframe_records": [record(SETOSA), {"sepal_length": 1.0}]}),
            "sepal_width",
        ),
        (json!({"instances": [[5.1, 3.5, 1.4, 0.2]]}), "sepal_length"),
    ];
    for (body, named) in cases {
        let message = error_of(app.post_json("/invocations", &body).await, 422).await;
        assert!(message.contains(named), "{body}: {message}");
    }
}

async fn post_csv(app: &TestApp, path: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("content-type", "text/csv; charset=utf-8")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST")
}

#[tokio::test]
async fn a_csv_table_scores_like_the_dataframe_it_stands_for() {
    let app = spawn_iris_default().await;
    let split = json!({"dataframe_split": {"columns": FEATURES, "data": [SETOSA, VIRGINICA]}});
    let expected = json_with_status(app.post_json("/invocations", &split).await, 200).await;
    // Columns in another order, a byte order mark, CRLF line ends and a quoted cell.
    let table = "\u{feff}petal_width,sepal_length,sepal_width,petal_length\r\n\
                 0.2,5.1,3.5,1.4\r\n\
                 \"2.3\",6.7,3.0,5.2\r\n";
    let answer = json_with_status(post_csv(&app, "/invocations", table).await, 200).await;
    assert_eq!(answer, expected);

    // String features stay text; the housing model scores under its own name.
    let record = housing_record();
    let object = record.as_object().expect("a record");
    let header: Vec<&str> = object.keys().map(String::as_str).collect();
    let cells: Vec<String> = object
        .values()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect();
    let table = format!("{}\n{}\n", header.join(","), cells.join(","));
    let from_csv = json_with_status(
        post_csv(&app, "/v1/models/housing/invocations", &table).await,
        200,
    )
    .await;
    let from_json = json_with_status(
        app.post_json(
            "/v1/models/housing/invocations",
            &json!({"dataframe_records": [record]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(from_csv, from_json);
}

#[tokio::test]
async fn a_bad_csv_table_is_a_client_error_that_names_the_fault() {
    let app = spawn_iris_default().await;
    let header = FEATURES.join(",");
    let ragged = format!("{header}\n5.1,3.5,1.4\n");
    assert!(
        error_of(post_csv(&app, "/invocations", &ragged).await, 400)
            .await
            .contains("CSV")
    );
    let not_a_number = format!("{header}\n5.1,abc,1.4,0.2\n");
    let message = error_of(post_csv(&app, "/invocations", &not_a_number).await, 422).await;
    assert!(
        message.contains("sepal_width") && message.contains("abc"),
        "{message}"
    );
    assert!(
        error_of(post_csv(&app, "/invocations", "").await, 400)
            .await
            .contains("CSV")
    );
    // Other media types are still refused.
    let response = app
        .client
        .post(app.url("/invocations"))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .expect("POST");
    assert!(error_of(response, 415).await.contains("text/plain"));
}
