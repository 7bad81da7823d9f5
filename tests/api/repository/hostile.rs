//! Hostile and broken models are refused with a 4xx and a clear message, and the server goes
//! on serving what it served.

use serde_json::json;

use super::graphs;
use super::{
    admin, index, iris_still_serves, load_upload, repository_copy, row, spawn_admin, upload,
};
use crate::helpers::{TestApp, json_with_status};

/// Uploads `files` as model `name`, expects 400 with `needle` in the message, then checks
/// that iris still serves and that the index reports the failure.
async fn refused(app: &TestApp, name: &str, files: &[(&str, &[u8])], needle: &str) {
    let text = load_upload(app, name, files, 400).await;
    let body: serde_json::Value = serde_json::from_str(&text).expect("a JSON error");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "expected {needle:?} in {message:?}"
    );
    iris_still_serves(app).await;
}

#[tokio::test]
async fn broken_files_are_refused() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    let iris = graphs::committed("iris");
    refused(
        &app,
        "truncated",
        &[("file:1/model.onnx", &iris[..iris.len() / 2])],
        "not an ONNX model",
    )
    .await;
    refused(
        &app,
        "random",
        &[("file:1/model.onnx", &graphs::random_bytes(4096))],
        "failed to load",
    )
    .await;
    refused(
        &app,
        "empty",
        &[("file:1/model.onnx", b"")],
        "the file is empty",
    )
    .await;
    let rows = super::index(&app).await;
    assert_eq!(row(&rows, "empty", "1")["state"], "UNAVAILABLE");
    assert!(
        row(&rows, "empty", "1")["reason"]
            .as_str()
            .is_some_and(|r| r.contains("empty"))
    );
    assert!(
        !repo.path().join("empty").exists(),
        "a refused upload stays off the disk"
    );
}

#[tokio::test]
async fn graphs_the_runtime_must_not_see_are_refused() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    refused(
        &app,
        "evil",
        &[("file:1/model.onnx", &graphs::iris_in_domain("evil.custom"))],
        "evil.custom",
    )
    .await;
    refused(
        &app,
        "future",
        &[("file:1/model.onnx", &graphs::iris_with_opset(99))],
        "opset 99",
    )
    .await;
    for (location, needle) in [
        ("/etc/passwd", "absolute"),
        ("../../x", "leaves the model's folder"),
    ] {
        let (graph, _) = graphs::housing_with_external_coefficients(location);
        refused(&app, "escape", &[("file:1/model.onnx", &graph)], needle).await;
    }
    refused(
        &app,
        "unknown-op",
        &[("file:1/model.onnx", &graphs::iris_with_unknown_operator())],
        "ONNX Runtime refused",
    )
    .await;
}

#[tokio::test]
async fn a_failed_reload_leaves_the_old_version_serving() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    load_upload(
        &app,
        "kept",
        &[("file:1/model.onnx", &graphs::committed("iris"))],
        200,
    )
    .await;
    load_upload(&app, "kept", &[("file:1/model.onnx", b"garbage")], 400).await;
    assert_eq!(
        super::iris_label(&app, "kept").await,
        Ok("setosa".to_string())
    );
    let rows = super::index(&app).await;
    assert_eq!(row(&rows, "kept", "1")["state"], "READY");
    assert!(
        row(&rows, "kept", "1")["reason"]
            .as_str()
            .is_some_and(|r| r.contains("reload failed"))
    );
    // The files that serve are still the good ones.
    assert_eq!(
        std::fs::read(repo.path().join("kept/1/model.onnx")).ok(),
        Some(graphs::committed("iris"))
    );
}

#[tokio::test]
async fn file_names_that_escape_or_do_not_fit_are_refused() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    let iris = graphs::committed("iris");
    for key in [
        "file:1/../model.onnx",
        "file:../1/model.onnx",
        "file:/etc/passwd",
        "file:1//etc/passwd",
        "file:one/model.onnx",
        "file:0/model.onnx",
        "file:1/sub/model.onnx",
        "file:1/.model.onnx",
        "file:1/notes.txt",
        "file:1/model.onnx\u{0}",
    ] {
        let files: Vec<(&str, &[u8])> = vec![("file:1/model.onnx", &iris), (key, b"x")];
        let response = admin(
            &app,
            "/v2/repository/models/names/load",
            Some(upload(&files, None)),
        )
        .await;
        assert_eq!(
            json_with_status(response, 400).await["code"],
            "bad_request",
            "{key:?}"
        );
        iris_still_serves(&app).await;
    }
    let bad_name = admin(&app, "/v2/repository/models/..%2Firis/load", None).await;
    assert_eq!(bad_name.status(), 400);
    let not_base64 = json!({"parameters": {"file:1/model.onnx": "***"}});
    let response = admin(&app, "/v2/repository/models/names/load", Some(not_base64)).await;
    assert_eq!(response.status(), 400);
    assert!(!repo.path().join("names").exists());
    iris_still_serves(&app).await;
}

#[tokio::test]
async fn uploads_over_the_limits_are_413() {
    let repo = repository_copy();
    let mut config = super::admin_config(repo.path());
    config.max_upload_bytes = 1000;
    config.max_body_bytes = 16 * 1024;
    let app = TestApp::spawn_with(config).await;
    let iris = graphs::committed("iris");
    assert!(iris.len() > 1000);
    let text = load_upload(&app, "big", &[("file:1/model.onnx", &iris)], 413).await;
    assert!(text.contains("--max-upload-bytes"), "{text}");
    iris_still_serves(&app).await;
    let huge = graphs::random_bytes(32 * 1024);
    load_upload(&app, "big", &[("file:1/model.onnx", &huge)], 413).await;
    iris_still_serves(&app).await;
}

#[tokio::test]
async fn a_folder_without_an_integer_version_is_refused() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    let folder = repo.path().join("noversion");
    std::fs::create_dir_all(folder.join("v1")).expect("mkdir");
    std::fs::write(folder.join("v1/model.onnx"), graphs::committed("iris")).expect("write");
    std::fs::write(folder.join("model.onnx"), graphs::committed("iris")).expect("write");
    let response = admin(&app, "/v2/repository/models/noversion/load", None).await;
    let body = json_with_status(response, 400).await;
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("no version folder")),
        "{body}"
    );
    iris_still_serves(&app).await;
}

#[tokio::test]
async fn folders_whose_names_are_not_model_names_are_never_loaded() {
    let repo = repository_copy();
    for folder in ["iris copy", "iris+2"] {
        let version = repo.path().join(folder).join("1");
        std::fs::create_dir_all(&version).expect("mkdir");
        std::fs::write(version.join("model.onnx"), graphs::committed("iris")).expect("write");
    }
    let app = spawn_admin(repo.path()).await;
    let names: Vec<String> = index(&app)
        .await
        .iter()
        .filter_map(|row| row["name"].as_str().map(str::to_string))
        .collect();
    assert!(
        names.iter().all(|n| n == "iris" || n == "housing"),
        "{names:?}"
    );
    assert_eq!(app.get("/v2/models/iris%20copy/ready").await.status(), 404);
    assert_eq!(app.get("/v2/health/ready").await.status(), 200);
    iris_still_serves(&app).await;
}

#[tokio::test]
async fn external_data_through_a_symlink_out_of_the_folder_is_refused() {
    let repo = repository_copy();
    let app = spawn_admin(repo.path()).await;
    let outside = repo.path().join("secret.bin");
    let (graph, weights) = graphs::housing_with_external_coefficients("weights.bin");
    std::fs::write(&outside, &weights).expect("write");
    let version = repo.path().join("linked/1");
    std::fs::create_dir_all(&version).expect("mkdir");
    std::fs::write(version.join("model.onnx"), graph).expect("write");
    std::os::unix::fs::symlink(&outside, version.join("weights.bin")).expect("symlink");
    let response = admin(&app, "/v2/repository/models/linked/load", None).await;
    let body = json_with_status(response, 400).await;
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("resolves outside")),
        "{body}"
    );
    iris_still_serves(&app).await;
    // The same file inside the folder loads.
    std::fs::remove_file(version.join("weights.bin")).expect("unlink");
    std::fs::rename(&outside, version.join("weights.bin")).expect("move");
    let response = admin(&app, "/v2/repository/models/linked/load", None).await;
    assert_eq!(response.status(), 200);
}
