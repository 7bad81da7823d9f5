//! Loads, reloads, unloads and failures reach the event sink, and the catalog follows them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::events::ServingEvents;
use crate::repository::{LoadOptions, ModelRepository};
use crate::runtime::SessionOptions;

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl ServingEvents for Recorder {
    fn model_loaded(&self, model: &str, version: u64, _took: Duration, reload: bool) {
        self.push(format!("loaded {model} {version} reload={reload}"));
    }
    fn model_load_failed(&self, model: &str, version: Option<u64>) {
        self.push(format!("failed {model} {version:?}"));
    }
    fn model_unloaded(&self, model: &str, version: u64) {
        self.push(format!("unloaded {model} {version}"));
    }
}

impl Recorder {
    fn push(&self, line: String) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[test]
fn every_change_is_reported_and_swapped_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/iris/1");
    std::fs::create_dir_all(dir.path().join("iris/1")).expect("mkdir");
    std::fs::copy(
        committed.join("model.onnx"),
        dir.path().join("iris/1/model.onnx"),
    )
    .expect("copy");
    let recorder = Arc::new(Recorder::default());
    let options = LoadOptions {
        session: SessionOptions::default(),
        pool_size: 1,
        batching: Default::default(),
        inline_budget: std::time::Duration::ZERO,
    };
    let repo = ModelRepository::open(dir.path(), options, recorder.clone()).expect("opens");
    assert_eq!(recorder.take(), ["loaded iris 1 reload=false"]);
    let before = repo.get("iris", None).expect("serves");

    repo.load_model("iris", None).expect("reloads");
    assert_eq!(recorder.take(), ["loaded iris 1 reload=true"]);
    let after = repo.get("iris", None).expect("serves");
    assert!(
        !Arc::ptr_eq(&before, &after),
        "a reload opens fresh sessions"
    );

    std::fs::write(dir.path().join("iris/1/model.onnx"), b"broken").expect("write");
    assert!(repo.load_model("iris", None).is_err());
    assert_eq!(recorder.take(), ["failed iris Some(1)"]);
    let kept = repo.get("iris", None).expect("still serves");
    assert!(
        Arc::ptr_eq(&after, &kept),
        "a failed reload changes nothing"
    );

    repo.unload_model("iris").expect("unloads");
    assert_eq!(recorder.take(), ["unloaded iris 1"]);
    assert!(repo.get("iris", None).is_err());

    std::fs::create_dir(dir.path().join("empty")).expect("mkdir");
    assert!(repo.load_model("empty", None).is_err());
    assert_eq!(recorder.take(), ["failed empty None"]);
}
