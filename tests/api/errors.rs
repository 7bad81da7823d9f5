//! Every client error is a JSON `{"error": …}` with the right status, naming the fault.

use serde_json::json;

use crate::helpers::{TestApp, iris_record, json_with_status};

async fn error_of(response: reqwest::Response, status: u16) -> String {
    let body = json_with_status(response, status).await;
    body["error"]
        .as_str()
        .expect("an error message")
        .to_string()
}

#[tokio::test]
async fn malformed_json_is_400_in_the_same_shape() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/predict/iris"))
        .header("content-type", "application/json")
        .body("{bad")
        .send()
        .await
        .expect("POST");
    assert!(error_of(response, 400).await.contains("malformed JSON"));
}

#[tokio::test]
async fn unknown_models_and_routes_are_404() {
    let app = TestApp::spawn().await;
    assert!(
        error_of(app.post_json("/predict/nope", &iris_record()).await, 404)
            .await
            .contains("nope")
    );
    assert!(
        error_of(app.get("/no/such/route").await, 404)
            .await
            .contains("/no/such/route")
    );
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/predict/iris"))
        .header("content-type", "text/csv")
        .body("1,2,3,4")
        .send()
        .await
        .expect("POST");
    assert!(error_of(response, 415).await.contains("text/csv"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let mut config = prediction_api::config::Config::for_tests(crate::helpers::committed_models());
    config.max_body_bytes = 1024;
    let app = TestApp::spawn_with(config).await;
    let big = serde_json::Value::Array(vec![iris_record(); 100]);
    error_of(app.post_json("/predict/iris", &big).await, 413).await;
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
    let mut wrong_type = iris_record();
    wrong_type["sepal_length"] = json!("long");
    let mut too_big = iris_record();
    too_big["sepal_width"] = json!(1e300);
    for (record, named) in [
        (missing, "petal_width"),
        (unknown, "colour"),
        (wrong_type, "sepal_length"),
        (too_big, "sepal_width"),
    ] {
        let message = error_of(app.post_json("/predict/iris", &record).await, 422).await;
        assert!(message.contains(named), "{message}");
    }
    // In a batch, the record is named too.
    let mut bad = iris_record();
    bad["petal_length"] = json!(null);
    let message = error_of(
        app.post_json("/predict/iris", &json!([iris_record(), bad]))
            .await,
        422,
    )
    .await;
    assert!(
        message.contains("record 1") && message.contains("petal_length"),
        "{message}"
    );
}

#[tokio::test]
async fn a_request_over_the_deadline_is_504() {
    let mut config = prediction_api::config::Config::for_tests(crate::helpers::committed_models());
    // Long enough to read the body (16 MB over loopback), far too short to parse and score
    // its 200,000 records: the time runs out on the server's side.
    config.request_timeout_secs = 0.5;
    let app = TestApp::spawn_with(config).await;
    let records = serde_json::Value::Array(vec![crate::helpers::iris_record(); 200_000]);
    let message = error_of(app.post_json("/predict/iris", &records).await, 504).await;
    assert!(message.contains("longer than"), "{message}");
}

#[tokio::test]
async fn a_wrong_method_is_405_in_the_same_shape() {
    let app = TestApp::spawn().await;
    let message = error_of(app.get("/predict/iris").await, 405).await;
    assert!(
        message.contains("GET") && message.contains("/predict/iris"),
        "{message}"
    );
}
