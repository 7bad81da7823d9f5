//! Polling mode: changes on disk are picked up without an API call.

use std::path::Path;
use std::time::{Duration, Instant};

use prediction_api::config::ModelControlMode;

use super::{admin, graphs, iris_label, repository_copy};
use crate::helpers::TestApp;

/// Waits (bounded) until `check` holds; polls are asynchronous, so tests wait for their effect.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes `bytes` to `path` the supported way: a temporary name, then a rename.
fn replace(path: &Path, bytes: &[u8]) {
    let temporary = path.with_extension("onnx.tmp");
    std::fs::write(&temporary, bytes).expect("write");
    std::fs::rename(&temporary, path).expect("rename");
}

/// A server on `repo` in polling mode, polling every 0.1 s.
async fn polling(repo: &Path) -> TestApp {
    let mut config = super::admin_config(repo);
    config.model_control_mode = ModelControlMode::Poll;
    config.repository_poll_secs = 0.1;
    TestApp::spawn_with(config).await
}

#[tokio::test]
async fn polling_picks_up_new_versions_replaced_files_and_removed_models() {
    let repo = repository_copy();
    let app = polling(repo.path()).await;

    // A new version folder, built under a hidden name and renamed into place.
    let staged = repo.path().join("iris/.2.partial");
    std::fs::create_dir(&staged).expect("mkdir");
    std::fs::write(
        staged.join("model.onnx"),
        graphs::iris_with_labels(&["A", "B", "C"]),
    )
    .expect("write");
    std::fs::rename(&staged, repo.path().join("iris/2")).expect("rename");
    eventually("version 2 serves", || async {
        iris_label(&app, "iris").await == Ok("A".into())
    })
    .await;
    assert_eq!(
        app.get("/v2/models/iris/versions/1/ready").await.status(),
        200
    );

    // A file replaced in place.
    replace(
        &repo.path().join("iris/2/model.onnx"),
        &graphs::iris_with_labels(&["X", "Y", "Z"]),
    );
    eventually("the replaced file serves", || async {
        iris_label(&app, "iris").await == Ok("X".into())
    })
    .await;

    // A removed model.
    std::fs::remove_dir_all(repo.path().join("housing")).expect("remove");
    eventually("housing is gone", || async {
        app.get("/v2/models/housing").await.status() == 404
    })
    .await;

    // The API may read the index, not load.
    assert_eq!(
        admin(&app, "/v2/repository/models/iris/load", None)
            .await
            .status(),
        400
    );
    assert_eq!(
        admin(&app, "/v2/repository/index", None).await.status(),
        200
    );
}

#[tokio::test]
async fn a_model_moved_away_and_back_serves_again_and_a_broken_one_is_reported() {
    let repo = repository_copy();
    let app = polling(repo.path()).await;
    let aside = tempfile::tempdir().expect("tempdir");

    // Moved out and back unchanged (a restore that keeps every file's time).
    std::fs::rename(repo.path().join("housing"), aside.path().join("housing")).expect("move");
    eventually("housing is gone", || async {
        app.get("/v2/models/housing").await.status() == 404
    })
    .await;
    std::fs::rename(aside.path().join("housing"), repo.path().join("housing")).expect("move");
    eventually("housing serves again", || async {
        app.get("/v2/models/housing/ready").await.status() == 200
    })
    .await;

    // A broken model dropped in while serving is reported as a failed start-up one would be.
    let broken = repo.path().join(".broken");
    std::fs::create_dir_all(broken.join("1")).expect("mkdir");
    std::fs::write(broken.join("1/model.onnx"), b"not a graph").expect("write");
    std::fs::rename(&broken, repo.path().join("broken")).expect("rename");
    eventually("the broken model is reported", || async {
        app.get("/v2/health/ready").await.status() == 400
    })
    .await;
    let health: serde_json::Value = app.get("/health").await.json().await.expect("JSON");
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(
        app.get("/v2/models/broken/versions/1/ready").await.status(),
        400
    );
    assert_eq!(app.get("/v2/models/iris/ready").await.status(), 200);

    // Removed again: the server is whole again.
    std::fs::remove_dir_all(repo.path().join("broken")).expect("remove");
    eventually("ready once the broken model is gone", || async {
        app.get("/v2/health/ready").await.status() == 200
    })
    .await;
}
