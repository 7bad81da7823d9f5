//! Drift: `/models/info` shows each feature's PSI over the recent predictions.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_with_status};

/// The iris data set as records, with `petal_length` moved by `shift`.
fn iris_records(shift: f64) -> Vec<Value> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris_raw.csv"),
    )
    .expect("the iris data");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let v: Vec<f64> = line
                .split(',')
                .take(4)
                .filter_map(|x| x.parse().ok())
                .collect();
            (v.len() == 4).then(|| {
                json!({"sepal_length": v[0], "sepal_width": v[1],
                       "petal_length": v[2] + shift, "petal_width": v[3]})
            })
        })
        .collect()
}

async fn iris_drift(app: &TestApp) -> Value {
    let info = json_with_status(app.get("/models/info").await, 200).await;
    let iris = info["models"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "iris"))
        .expect("iris in /models/info");
    iris["versions"][0]["drift"].clone()
}

fn psi_of(drift: &Value, feature: &str) -> Option<f64> {
    drift["features"]
        .as_array()?
        .iter()
        .find(|f| f["feature"] == feature)?["psi"]
        .as_f64()
}

#[tokio::test]
async fn a_shifted_feature_drifts_and_the_others_stay_low() {
    let app = TestApp::spawn().await;
    let before = iris_drift(&app).await;
    assert_eq!(before["window"], 1000);
    assert_eq!(before["rows"], 0);
    assert_eq!(
        psi_of(&before, "petal_length"),
        None,
        "no PSI before enough rows"
    );

    let records = iris_records(4.0);
    // Single records and batches both feed the window.
    for record in &records[..10] {
        json_with_status(app.post_json("/predict/iris", record).await, 200).await;
    }
    let batch = Value::Array(records[10..].to_vec());
    json_with_status(app.post_json("/predict/iris", &batch).await, 200).await;

    let after = iris_drift(&app).await;
    assert_eq!(after["rows"], records.len());
    let shifted = psi_of(&after, "petal_length").expect("a PSI for petal_length");
    assert!(
        shifted > 0.2,
        "petal_length PSI {shifted} should pass the alert threshold"
    );
    for feature in ["sepal_length", "sepal_width", "petal_width"] {
        let psi = psi_of(&after, feature).expect("a PSI");
        assert!(
            psi < 0.2,
            "{feature} PSI {psi} should stay below the alert threshold"
        );
    }
}

#[tokio::test]
async fn v2_tensors_feed_the_window_too() {
    let app = TestApp::spawn().await;
    let rows = 120;
    let column = |x: f64| json!({"shape": [rows, 1], "datatype": "FP32", "data": vec![x; rows]});
    let mut inputs = Vec::new();
    for (name, x) in [
        ("sepal_length", 5.8),
        ("sepal_width", 3.0),
        ("petal_length", 40.0),
        ("petal_width", 1.2),
    ] {
        let mut input = column(x);
        input["name"] = json!(name);
        inputs.push(input);
    }
    let body = json!({ "inputs": inputs });
    json_with_status(app.post_json("/v2/models/iris/infer", &body).await, 200).await;
    let drift = iris_drift(&app).await;
    assert_eq!(drift["rows"], rows);
    assert!(psi_of(&drift, "petal_length").expect("a PSI") > 0.2);
}

#[tokio::test]
async fn a_model_without_metadata_says_it_has_no_drift_metric() {
    let dir = tempfile::tempdir().expect("temp dir");
    let version = dir.path().join("plain").join("1");
    std::fs::create_dir_all(&version).expect("folder");
    std::fs::copy(
        crate::helpers::committed_models().join("iris/1/model.onnx"),
        version.join("model.onnx"),
    )
    .expect("copies the graph");
    let app = TestApp::spawn_with(prediction_api::config::Config::for_tests(dir.path())).await;
    let info = json_with_status(app.get("/models/info").await, 200).await;
    let plain = &info["models"][0]["versions"][0];
    assert!(plain.get("drift").is_none(), "{plain}");
    let notes = plain["notes"].to_string();
    assert!(notes.contains("no drift metric"), "{notes}");
}
