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

#[tokio::test]
async fn polling_picks_up_new_versions_replaced_files_and_removed_models() {
    let repo = repository_copy();
    let mut config = super::admin_config(repo.path());
    config.model_control_mode = ModelControlMode::Poll;
    config.repository_poll_secs = 0.1;
    let app = TestApp::spawn_with(config).await;

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
