//! Triton's model repository extension against the real server: index, load from disk and
//! from an upload, reload, unload, the admin token, control modes, hostile models, polling and
//! swaps under load.

mod graphs;
mod hostile;
mod poll;
mod swap;

use std::path::Path;

use base64::Engine;
use prediction_api::config::{Config, ModelControlMode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, committed_models, iris_record, json_with_status};

pub const TOKEN: &str = "test-admin-token";

/// A copy of the committed `iris` and `housing` models that a test may change.
pub fn repository_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for model in ["iris", "housing"] {
        let from = committed_models().join(model).join("1");
        let to = dir.path().join(model).join("1");
        std::fs::create_dir_all(&to).expect("mkdir");
        for file in ["model.onnx", "metadata.json"] {
            std::fs::copy(from.join(file), to.join(file)).expect("copy");
        }
    }
    dir
}

/// A configuration serving `repository` with the admin token set, two sessions per model.
pub fn admin_config(repository: &Path) -> Config {
    let mut config = Config::for_tests(repository);
    config.admin_token = Some(TOKEN.parse().expect("any string"));
    config.session_pool_size = Some(2);
    config
}

pub async fn spawn_admin(repository: &Path) -> TestApp {
    TestApp::spawn_with(admin_config(repository)).await
}

/// POSTs `body` (none: an empty body without Content-Type) to an admin route with the token.
pub async fn admin(app: &TestApp, path: &str, body: Option<Value>) -> reqwest::Response {
    let request = app.client.post(app.url(path)).bearer_auth(TOKEN);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    request.send().await.expect("POST")
}

/// The body of a load request that uploads `files` (`file:` key → bytes).
pub fn upload(files: &[(&str, &[u8])], config: Option<&str>) -> Value {
    let mut parameters = serde_json::Map::new();
    if let Some(config) = config {
        parameters.insert("config".into(), json!(config));
    }
    for (key, bytes) in files {
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        parameters.insert((*key).to_string(), json!(text));
    }
    json!({ "parameters": parameters })
}

/// Loads `name` from `files`, asserting the status; returns the body text.
pub async fn load_upload(
    app: &TestApp,
    name: &str,
    files: &[(&str, &[u8])],
    status: u16,
) -> String {
    let path = format!("/v2/repository/models/{name}/load");
    let response = admin(app, &path, Some(upload(files, None))).await;
    let got = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(got, status, "load {name}: {text}");
    text
}

/// The label the model `name` gives the standard iris record over V2.
pub async fn iris_label(app: &TestApp, name: &str) -> Result<String, (u16, String)> {
    let response = app
        .post_json(&format!("/v2/models/{name}/infer"), &v2_iris_request())
        .await;
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    if status != 200 {
        return Err((status, text));
    }
    let body: Value = serde_json::from_str(&text).expect("JSON");
    let label = body["outputs"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["name"] == "label"))
        .and_then(|o| o["data"][0].as_str())
        .map(str::to_string);
    label.ok_or((status, text))
}

pub fn v2_iris_request() -> Value {
    let record = iris_record();
    let inputs: Vec<Value> = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        .iter()
        .map(|n| json!({"name": n, "datatype": "FP32", "shape": [1, 1], "data": [record[n]]}))
        .collect();
    json!({ "inputs": inputs })
}

/// The committed iris model still answers.
pub async fn iris_still_serves(app: &TestApp) {
    assert_eq!(iris_label(app, "iris").await, Ok("setosa".to_string()));
}

pub async fn index(app: &TestApp) -> Vec<Value> {
    let body = json_with_status(admin(app, "/v2/repository/index", None).await, 200).await;
    body.as_array().expect("an array").clone()
}

pub fn row<'a>(rows: &'a [Value], name: &str, version: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["name"] == name && r["version"] == version)
        .unwrap_or_else(|| panic!("no index row for {name} {version}: {rows:?}"))
}

#[tokio::test]
async fn the_index_takes_empty_bodies_as_tritonclient_sends_them() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    for body in [None, Some(json!({}))] {
        let rows = json_with_status(admin(&app, "/v2/repository/index", body).await, 200).await;
        let rows = rows.as_array().expect("array");
        assert_eq!(row(rows, "iris", "1")["state"], "READY");
        assert_eq!(row(rows, "housing", "1")["state"], "READY");
    }
    let ready_only = admin(&app, "/v2/repository/index", Some(json!({"ready": true}))).await;
    assert_eq!(
        json_with_status(ready_only, 200)
            .await
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let server = json_with_status(app.get("/v2").await, 200).await;
    assert!(
        server["extensions"]
            .as_array()
            .expect("list")
            .contains(&json!("model_repository"))
    );
}

#[tokio::test]
async fn load_reload_and_unload_from_disk() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    let reload = admin(&app, "/v2/repository/models/iris/load", None).await;
    assert_eq!(reload.status(), 200);
    assert_eq!(reload.text().await.expect("body"), "");
    iris_still_serves(&app).await;

    let unload = admin(
        &app,
        "/v2/repository/models/iris/unload",
        Some(json!({"parameters": {"unload_dependents": false}})),
    )
    .await;
    assert_eq!(unload.status(), 200);
    assert_eq!(iris_label(&app, "iris").await.map_err(|e| e.0), Err(404));
    assert_eq!(
        app.post_json("/predict/iris", &iris_record())
            .await
            .status(),
        404
    );
    let rows = index(&app).await;
    assert_eq!(row(&rows, "iris", "1")["state"], "UNAVAILABLE");
    assert_eq!(row(&rows, "iris", "1")["reason"], "unloaded");

    assert_eq!(
        admin(&app, "/v2/repository/models/iris/load", Some(json!({})))
            .await
            .status(),
        200
    );
    iris_still_serves(&app).await;
    let missing = admin(&app, "/v2/repository/models/nothing/load", None).await;
    assert_eq!(json_with_status(missing, 404).await["code"], "not_found");
}

#[tokio::test]
async fn an_uploaded_model_is_written_to_the_repository_and_served() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    let iris = std::fs::read(committed_models().join("iris/1/model.onnx")).expect("iris");
    let body = upload(
        &[("file:1/model.onnx", &iris)],
        Some(r#"{"allow_non_finite": false}"#),
    );
    let response = admin(&app, "/v2/repository/models/uploaded/load", Some(body)).await;
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
    assert_eq!(iris_label(&app, "uploaded").await, Ok("setosa".to_string()));
    assert_eq!(
        std::fs::read(repo.path().join("uploaded/1/model.onnx")).expect("written"),
        iris
    );
    assert!(repo.path().join("uploaded/config.json").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(repo.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "staging folders left: {leftovers:?}");
    // A new version replaces the uploaded folder and serves.
    let other = graphs::iris_with_labels(&["A", "B", "C"]);
    load_upload(&app, "uploaded", &[("file:2/model.onnx", &other)], 200).await;
    assert_eq!(iris_label(&app, "uploaded").await, Ok("A".to_string()));
}

#[tokio::test]
async fn external_data_inside_the_model_folder_loads() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    let (graph, weights) = graphs::housing_with_external_coefficients("weights.bin");
    load_upload(
        &app,
        "external",
        &[
            ("file:1/model.onnx", &graph),
            ("file:1/weights.bin", &weights),
        ],
        200,
    )
    .await;
    let record = crate::helpers::housing_record();
    let original = json_with_status(app.post_json("/predict/housing", &record).await, 200).await;
    let external = json_with_status(app.post_json("/predict/external", &record).await, 200).await;
    let (a, b) = (
        original["prediction"].as_f64(),
        external["prediction"].as_f64(),
    );
    assert!(a.is_some() && b.is_some(), "{original} {external}");
    assert!(
        (a.unwrap_or(0.0) - b.unwrap_or(1.0)).abs() < 1e-3,
        "{original} {external}"
    );
}

#[tokio::test]
async fn admin_calls_need_the_token_and_predictions_do_not() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    let none = app
        .client
        .post(app.url("/v2/repository/index"))
        .send()
        .await
        .expect("POST");
    assert_eq!(
        none.headers().get("www-authenticate").map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    assert_eq!(json_with_status(none, 401).await["code"], "unauthorized");
    let wrong = app
        .client
        .post(app.url("/v2/repository/models/iris/unload"))
        .bearer_auth("nope")
        .send()
        .await
        .expect("POST");
    assert_eq!(json_with_status(wrong, 403).await["code"], "forbidden");
    iris_still_serves(&app).await;
}

#[tokio::test]
async fn without_a_token_the_api_is_refused_with_how_to_enable_it() {
    let repo = repository_copy();
    let app = TestApp::spawn_with(Config::for_tests(repo.path())).await;
    let refused = admin(&app, "/v2/repository/index", None).await;
    let body = json_with_status(refused, 403).await;
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("--admin-token")),
        "{body}"
    );
    iris_still_serves(&app).await;
}

#[tokio::test]
async fn loopback_servers_may_open_the_api_without_a_token() {
    let repo = repository_copy();
    let mut config = Config::for_tests(repo.path());
    config.allow_unauthenticated_admin = true;
    let app = TestApp::spawn_with(config).await;
    let open = app
        .client
        .post(app.url("/v2/repository/index"))
        .send()
        .await
        .expect("POST");
    assert_eq!(open.status(), 200);

    let mut exposed = Config::for_tests(repo.path());
    exposed.allow_unauthenticated_admin = true;
    exposed.host = "0.0.0.0".parse().expect("address");
    let refused = prediction_api::app::Application::build(&exposed).await;
    let message = refused.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(message.contains("loopback"), "{message}");
}

#[tokio::test]
async fn mode_none_refuses_load_and_unload_but_lists_the_index() {
    let repo = repository_copy();
    let mut config = admin_config(repo.path());
    config.model_control_mode = ModelControlMode::None;
    let app = TestApp::spawn_with(config).await;
    assert_eq!(index(&app).await.len(), 2);
    for call in ["load", "unload"] {
        let response = admin(&app, &format!("/v2/repository/models/iris/{call}"), None).await;
        let body = json_with_status(response, 400).await;
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|m| m.contains("explicit")),
            "{body}"
        );
    }
    iris_still_serves(&app).await;
}
