//! End-to-end runs of the `trainer` binary in scratch project roots: reproducibility across
//! processes, and refusal of bad raw data with nothing partial written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A scratch root holding params.yaml and the raw CSVs.
fn scratch_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    for file in ["params.yaml", "data/housing_raw.csv", "data/iris_raw.csv"] {
        std::fs::copy(project_root().join(file), dir.path().join(file)).expect("copy");
    }
    dir
}

fn trainer(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .expect("the trainer runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn two_processes_train_byte_identical_graphs() {
    let (a, b) = (scratch_root(), scratch_root());
    for root in [a.path(), b.path()] {
        let out = trainer(root, &["all"]);
        assert!(out.status.success(), "trainer all failed: {}", stderr(&out));
    }
    for name in ["housing", "iris"] {
        let graph = |root: &Path| {
            std::fs::read(root.join("artifacts").join(name).join("model.onnx")).expect("graph")
        };
        assert!(
            graph(a.path()) == graph(b.path()),
            "{name}: the two runs wrote different graphs"
        );
        let published = |root: &Path| {
            std::fs::read(root.join("models").join(name).join("1/model.onnx")).expect("published")
        };
        assert!(
            published(a.path()) == graph(a.path()),
            "{name}: version 1 is the trained graph"
        );
    }
    // Publishing the same graph again keeps the version.
    let out = trainer(a.path(), &["publish"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unchanged, version 1 stays current"),
        "{}",
        stderr(&out)
    );
    assert!(!a.path().join("models/iris/2").exists());
}

#[test]
fn the_committed_models_reach_the_promised_quality() {
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(
            project_root()
                .join("models")
                .join(name)
                .join("metrics.json"),
        )
        .expect("metrics");
        serde_json::from_str(&text).expect("json")
    };
    let housing = read("housing");
    let r2 = housing["r2"].as_f64().expect("r2");
    assert!(r2 > 0.6, "housing test R² {r2}");
    let accuracy = read("iris")["accuracy"].as_f64().expect("accuracy");
    assert!(accuracy >= 0.9, "iris test accuracy {accuracy}");
}

/// Replaces the raw housing CSV with `text`, runs `prepare`, and returns its stderr.
fn prepare_refuses(text: &str) -> String {
    let root = scratch_root();
    std::fs::write(root.path().join("data/housing_raw.csv"), text).expect("write");
    let out = trainer(root.path(), &["prepare", "housing"]);
    assert!(!out.status.success(), "prepare accepted bad data");
    assert!(
        !root.path().join("data/processed").exists(),
        "a refused file must not leave processed output behind"
    );
    let message = stderr(&out);
    assert_eq!(
        message
            .lines()
            .filter(|l| l.starts_with("trainer:"))
            .count(),
        1,
        "{message}"
    );
    message
}

fn housing_with(edit: impl Fn(&str) -> String) -> String {
    let raw = std::fs::read_to_string(project_root().join("data/housing_raw.csv")).expect("raw");
    raw.lines().map(|l| edit(l) + "\n").collect()
}

#[test]
fn a_missing_column_is_named() {
    let text = housing_with(|l| {
        l.rsplit_once(',')
            .map_or(l.to_string(), |(head, _)| head.to_string())
    });
    let err = prepare_refuses(&text);
    assert!(
        err.contains("housing_raw.csv: line 1: missing column `centralAir`"),
        "{err}"
    );
}

#[test]
fn a_non_numeric_value_is_named() {
    let mut lines: Vec<String> = housing_with(|l| l.to_string())
        .lines()
        .map(String::from)
        .collect();
    lines[4] = lines[4].replacen(",0.41,", ",big,", 1);
    let err = prepare_refuses(&(lines.join("\n") + "\n"));
    assert!(
        err.contains("line 5, column `lotSize`: \"big\" is not a number"),
        "{err}"
    );
}

#[test]
fn an_unknown_category_is_named() {
    let mut lines: Vec<String> = housing_with(|l| l.to_string())
        .lines()
        .map(String::from)
        .collect();
    lines[2] = lines[2].replace(",gas,", ",coal,");
    let err = prepare_refuses(&(lines.join("\n") + "\n"));
    assert!(
        err.contains("line 3, column `fuel`: unknown category \"coal\""),
        "{err}"
    );
}

#[test]
fn an_empty_file_is_refused() {
    let err = prepare_refuses("");
    assert!(err.contains("housing_raw.csv: the file is empty"), "{err}");
}

#[test]
fn a_nan_target_is_refused() {
    let mut lines: Vec<String> = housing_with(|l| l.to_string())
        .lines()
        .map(String::from)
        .collect();
    lines[7] = format!("NaN{}", &lines[7][lines[7].find(',').expect("comma")..]);
    let err = prepare_refuses(&(lines.join("\n") + "\n"));
    assert!(
        err.contains("line 8, column `price`: \"NaN\" is not a finite number"),
        "{err}"
    );
}

#[test]
fn a_missing_onnx_runtime_library_is_one_clear_line() {
    let root = scratch_root();
    for stage in [
        &["prepare", "iris"][..],
        &["features", "iris"],
        &["train", "iris"],
        &["evaluate", "iris"],
    ] {
        let out = trainer(root.path(), stage);
        assert!(out.status.success(), "{stage:?}: {}", stderr(&out));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .arg("--root")
        .arg(root.path())
        .args(["validate", "iris"])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let message = stderr(&out);
    let line = message
        .lines()
        .find(|l| l.starts_with("trainer:"))
        .expect("an error line");
    assert!(
        line.contains("/nonexistent/libonnxruntime.so") && line.contains("make setup"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
}
