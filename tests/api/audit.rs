//! The audit trail: one row per predicted record on every prediction route.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use prediction_api::audit::AuditMode;
use prediction_api::config::Config;
use serde_json::{Value, json};

use crate::helpers::{
    IRIS_FEATURES, TestApp, committed_models, iris_record, json_with_status, post_iris_binary,
};

fn audited(dir: &Path, mode: AuditMode) -> (Config, PathBuf) {
    let path = dir.join("audit").join("predictions.db");
    let mut config = Config::for_tests(committed_models());
    config.audit_db = path.display().to_string();
    config.audit_mode = mode;
    config.default_model = Some("iris".into());
    (config, path)
}

fn rows(path: &Path, sql: &str) -> Vec<Vec<Value>> {
    let conn = rusqlite::Connection::open(path).expect("opens the audit database");
    let mut statement = conn.prepare(sql).expect("prepares");
    let width = statement.column_count();
    statement
        .query_map([], |row| {
            (0..width)
                .map(|i| {
                    Ok(match row.get::<_, rusqlite::types::Value>(i)? {
                        rusqlite::types::Value::Integer(n) => json!(n),
                        rusqlite::types::Value::Real(x) => json!(x),
                        rusqlite::types::Value::Text(t) => json!(t),
                        _ => Value::Null,
                    })
                })
                .collect()
        })
        .expect("queries")
        .collect::<Result<_, _>>()
        .expect("reads")
}

fn count(path: &Path) -> i64 {
    rows(path, "SELECT count(*) FROM predictions")[0][0]
        .as_i64()
        .expect("a count")
}

/// Sends 4 single and 3 batch predictions (2 + 3 + 5 rows) over every prediction route: 14 rows.
async fn mixed_predictions(app: &TestApp) -> i64 {
    let post = |path: &'static str, body: Value| async move {
        json_with_status(app.post_json(path, &body).await, 200).await;
    };
    post("/predict/iris", iris_record()).await;
    post("/predict/iris", json!([iris_record(), iris_record()])).await;
    post(
        "/v1/models/iris:predict",
        json!({"instances": [iris_record()]}),
    )
    .await;
    post(
        "/v1/models/iris/versions/1:predict",
        json!({"inputs": {"sepal_length": [5.1, 6.0, 7.0], "sepal_width": [3.5, 3.0, 3.1],
                          "petal_length": [1.4, 4.5, 6.0], "petal_width": [0.2, 1.5, 2.1]}}),
    )
    .await;
    post(
        "/invocations",
        json!({"dataframe_records": [iris_record()]}),
    )
    .await;
    post(
        "/v1/models/iris/invocations",
        json!({"instances": vec![iris_record(); 5]}),
    )
    .await;
    let tensor = |name: &str, x: f32| json!({"name": name, "shape": [1, 1], "datatype": "FP32", "data": [x]});
    post(
        "/v2/models/iris/infer",
        json!({"inputs": [tensor("sepal_length", 5.1), tensor("sepal_width", 3.5),
                          tensor("petal_length", 1.4), tensor("petal_width", 0.2)]}),
    )
    .await;
    1 + 2 + 1 + 3 + 1 + 5 + 1
}

#[tokio::test]
async fn durable_mode_has_every_row_when_the_responses_arrive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, path) = audited(dir.path(), AuditMode::Durable);
    let app = TestApp::spawn_with(config).await;
    let expected = mixed_predictions(&app).await;
    assert_eq!(count(&path), expected);

    let routes = rows(
        &path,
        "SELECT route, count(*) FROM predictions GROUP BY route ORDER BY route",
    );
    let routes: Vec<(String, i64)> = routes
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap_or("").to_string(),
                r[1].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("/invocations".to_string(), 1),
            ("/predict/{model}".to_string(), 3),
            ("/v1/models/{name}/invocations".to_string(), 5),
            (
                "/v1/models/{name}/versions/{version}:predict".to_string(),
                3
            ),
            ("/v1/models/{name}:predict".to_string(), 1),
            ("/v2/models/{name}/infer".to_string(), 1),
        ]
    );
}

#[tokio::test]
async fn a_row_holds_the_record_its_outputs_and_the_request_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, path) = audited(dir.path(), AuditMode::Durable);
    let app = TestApp::spawn_with(config).await;
    let response = app
        .client
        .post(app.url("/predict/iris"))
        .header("x-request-id", "req-42")
        .json(&iris_record())
        .send()
        .await
        .expect("POST");
    let answer = json_with_status(response, 200).await;
    let row = &rows(
        &path,
        "SELECT request_id, model, version, route, row_index, features, outputs, status, \
         error, latency_ms, time FROM predictions",
    )[0];
    assert_eq!(row[0], "req-42");
    assert_eq!(row[1], "iris");
    assert_eq!(row[2], 1);
    assert_eq!(row[3], "/predict/{model}");
    assert_eq!(row[4], 0);
    let features: Value = serde_json::from_str(row[5].as_str().expect("text")).expect("JSON");
    assert_eq!(features, iris_record());
    let outputs: Value = serde_json::from_str(row[6].as_str().expect("text")).expect("JSON");
    assert_eq!(outputs, answer, "the answer as the client got it");
    assert_eq!(row[7], 200);
    assert_eq!(row[8], Value::Null);
    assert!(row[9].as_f64().expect("latency") > 0.0);
    assert!(row[10].as_str().expect("time").ends_with('Z'));
}

#[tokio::test]
async fn each_record_of_a_batch_has_its_own_row_on_record_and_tensor_routes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, path) = audited(dir.path(), AuditMode::Durable);
    let app = TestApp::spawn_with(config).await;
    let records = json!([
        {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
        {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3},
        {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 4.2, "petal_width": 1.5}
    ]);
    let answer = json_with_status(app.post_json("/predict/iris", &records).await, 200).await;
    let stored = rows(
        &path,
        "SELECT row_index, features, outputs FROM predictions WHERE route = '/predict/{model}' \
         ORDER BY id",
    );
    assert_eq!(stored.len(), 3);
    for (r, row) in stored.iter().enumerate() {
        assert_eq!(row[0], r as i64);
        let text =
            |v: &Value| -> Value { serde_json::from_str(v.as_str().expect("text")).expect("JSON") };
        assert_eq!(text(&row[1]), records[r]);
        assert_eq!(text(&row[2]), answer[r]);
    }
    let v2 = json!({"inputs": [{"name": "sepal_length", "shape": [2, 1], "datatype": "FP32", "data": [5.1, 6.7]},
                               {"name": "sepal_width", "shape": [2, 1], "datatype": "FP32", "data": [3.5, 3.0]},
                               {"name": "petal_length", "shape": [2, 1], "datatype": "FP32", "data": [1.4, 5.2]},
                               {"name": "petal_width", "shape": [2, 1], "datatype": "FP32", "data": [0.2, 2.3]}]});
    json_with_status(app.post_json("/v2/models/iris/infer", &v2).await, 200).await;
    let stored = rows(
        &path,
        "SELECT id, row_index, features, outputs FROM predictions WHERE route LIKE '/v2/%' ORDER BY id",
    );
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0][0], 4, "record ids continue from the batch before");
    let features: Value = serde_json::from_str(stored[1][2].as_str().expect("text")).expect("JSON");
    assert_eq!(features["sepal_length"], json!([6.7]));
    let outputs: Value = serde_json::from_str(stored[1][3].as_str().expect("text")).expect("JSON");
    assert_eq!(outputs["label"], answer[1]["prediction"], "{outputs}");
}

/// Iris rows as V2 JSON inputs, one `[N, 1]` FP32 tensor per feature.
fn v2_inputs(rows: &[[f64; 4]]) -> Vec<Value> {
    IRIS_FEATURES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"name": name, "shape": [rows.len(), 1], "datatype": "FP32",
                   "data": rows.iter().map(|r| r[i]).collect::<Vec<_>>()})
        })
        .collect()
}

/// Posts iris rows as Triton binary data and checks the answer's form.
async fn post_binary(app: &TestApp, rows: &[[f64; 4]], binary_answer: bool) {
    let rows: Vec<[f32; 4]> = rows.iter().map(|r| r.map(|x| x as f32)).collect();
    let response = post_iris_binary(app, &rows, binary_answer).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .contains_key("inference-header-content-length"),
        binary_answer
    );
}

#[tokio::test]
async fn triton_binary_requests_read_back_like_their_json_twin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, path) = audited(dir.path(), AuditMode::Durable);
    let app = TestApp::spawn_with(config).await;
    let rows_sent = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]];
    let inputs = v2_inputs(&rows_sent);
    json_with_status(
        app.post_json("/v2/models/iris/infer", &json!({ "inputs": inputs }))
            .await,
        200,
    )
    .await;
    post_binary(&app, &rows_sent, false).await;
    post_binary(&app, &rows_sent, true).await;
    let stored = rows(
        &path,
        "SELECT p.row_index, p.features, p.outputs, r.layout FROM predictions p \
         JOIN requests r ON r.request_id = p.request_id ORDER BY p.id",
    );
    assert_eq!(stored.len(), 6, "three requests of two records");
    let text =
        |v: &Value| -> Value { serde_json::from_str(v.as_str().expect("text")).expect("JSON") };
    for (k, row) in stored.iter().enumerate() {
        let twin = &stored[k % 2];
        assert_eq!(row[0], twin[0]);
        assert_eq!(text(&row[1]), text(&twin[1]), "features of row {k}");
        assert_eq!(text(&row[2]), text(&twin[2]), "outputs of row {k}");
        assert_eq!(
            row[3], "v2",
            "one document per request, not one text per record"
        );
    }
    assert_eq!(text(&stored[3][1])["petal_length"], json!([5.2]));
    assert_eq!(text(&stored[5][2])["label"], text(&stored[1][2])["label"]);
    // The readback gives the same records.
    let read = read_back(&path, 100);
    assert_eq!(read.len(), 6);
    for (k, record) in read.iter().enumerate() {
        assert_eq!(record["features"], text(&stored[k][1]), "record {k}");
        assert_eq!(record["outputs"], text(&stored[k][2]), "record {k}");
    }
}

#[tokio::test]
async fn a_large_v2_request_is_stored_as_sent_and_reads_back_alike_in_either_form() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, path) = audited(dir.path(), AuditMode::Durable);
    let app = TestApp::spawn_with(config).await;
    let rows_sent: Vec<[f64; 4]> = (0..200)
        .map(|i| {
            [
                4.5 + (i % 30) as f64 / 10.0,
                3.0,
                1.0 + (i % 50) as f64 / 10.0,
                0.4,
            ]
        })
        .collect();
    let request = json!({"id": "twin", "inputs": v2_inputs(&rows_sent)});
    json_with_status(app.post_json("/v2/models/iris/infer", &request).await, 200).await;
    post_binary(&app, &rows_sent, false).await;
    post_binary(&app, &rows_sent, true).await;
    assert_eq!(
        rows(&path, "SELECT layout, rows FROM requests"),
        vec![vec![json!("v2-binary"), json!(200)]; 3]
    );
    // Each side is a reference to the body as it went over the wire, with the length of its
    // JSON part: the whole JSON request, and the JSON header of the binary ones.
    let references = rows(
        &path,
        "SELECT features ->> 'length', features ->> 'header_length', \
                outputs ->> 'length' - (outputs ->> 'header_length') \
         FROM requests ORDER BY first_row",
    );
    assert_eq!(
        references[0][0], references[0][1],
        "a JSON request is all header"
    );
    for (k, reference) in references.iter().enumerate() {
        assert!(
            reference[1].as_i64().is_some(),
            "request {k}: {reference:?}"
        );
    }
    assert_eq!(references[0][2], json!(0), "a JSON answer");
    assert_eq!(references[1][2], json!(0), "a JSON answer");
    assert!(
        references[2][2].as_i64().is_some_and(|n| n > 0),
        "a binary answer has bytes after its header"
    );
    assert_eq!(count(&path), 600);
    let read = read_back(&path, 1_000);
    assert_eq!(read.len(), 600);
    // Newest first: the three requests read back the same records.
    for k in 0..200 {
        for twin in [200, 400] {
            assert_eq!(
                read[twin + k]["features"],
                read[k]["features"],
                "record {k}"
            );
            assert_eq!(read[twin + k]["outputs"], read[k]["outputs"], "record {k}");
        }
    }
    for (k, record) in read[..200].iter().enumerate() {
        for (i, name) in IRIS_FEATURES.iter().enumerate() {
            let stored = record["features"][name][0].as_f64().expect("a number");
            assert!(
                (stored - rows_sent[k][i]).abs() < 1e-6,
                "record {k}, {name}"
            );
        }
        assert!(
            record["outputs"]["label"].is_string(),
            "record {k}: {record}"
        );
    }
}

/// What `prediction-api audit --db <path> --limit <limit>` prints.
fn read_back(path: &Path, limit: u64) -> Vec<Value> {
    let query = prediction_api::audit::query::AuditQuery {
        db: path.to_path_buf(),
        model: None,
        since: None,
        limit,
    };
    let mut out = Vec::new();
    prediction_api::audit::query::run(&query, &mut out).expect("reads the trail");
    String::from_utf8_lossy(&out)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[tokio::test]
async fn a_large_batch_is_stored_as_its_tensors_and_read_back_record_by_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, path) = audited(dir.path(), AuditMode::Durable);
    let app = TestApp::spawn_with(config).await;
    let records: Vec<Value> = (0..300)
        .map(|i| {
            json!({"sepal_length": 4.0 + (i % 40) as f64 / 10.0, "sepal_width": 3.0,
                   "petal_length": 1.0 + (i % 60) as f64 / 10.0, "petal_width": 0.5})
        })
        .collect();
    let answers =
        json_with_status(app.post_json("/predict/iris", &json!(records)).await, 200).await;
    let answers = answers.as_array().expect("an array of answers");
    let layouts = rows(&path, "SELECT layout, rows FROM requests");
    assert_eq!(layouts, [[json!("v2-binary"), json!(300)]]);
    assert_eq!(count(&path), 300, "one view row per record");
    // The database holds a reference; the tensors are in the folder beside it, and the
    // request's two sides are all the file holds, padded with zeros to whole 512-byte blocks
    // (the files are written in whole blocks).
    let stored = rows(
        &path,
        "SELECT features ->> 'file', (outputs ->> 'offset') + (outputs ->> 'length') \
         FROM requests",
    );
    let file = stored[0][0].as_str().expect("a file name");
    let mut folder = path.clone().into_os_string();
    folder.push("-tensors");
    let length = std::fs::metadata(Path::new(&folder).join(file))
        .expect("the tensor file")
        .len();
    let end = stored[0][1].as_u64().expect("the outputs' end");
    assert_eq!(length, end.next_multiple_of(512));
    assert!(end > 512, "the sides fill more than a block: {end}");
    let read = read_back(&path, 1_000);
    assert_eq!(read.len(), 300);
    for (k, record) in read.iter().enumerate() {
        assert_eq!(record["row"], k);
        assert_eq!(record["route"], "/predict/{model}");
        for feature in IRIS_FEATURES {
            assert_eq!(
                record["features"][feature],
                json!([records[k][feature]]),
                "record {k}, {feature}"
            );
        }
        let outputs = record["outputs"].as_object().expect("outputs by name");
        assert!(!outputs.is_empty(), "record {k}: {record}");
        // The stored probabilities are the ones the answer gave (compared sorted: the answer
        // names the classes, the tensor has them by position).
        let probabilities: Vec<f64> = outputs
            .values()
            .find_map(|v| v.as_array().filter(|a| a.len() == 3))
            .expect("a probability row")
            .iter()
            .map(|p| p.as_f64().expect("a number"))
            .collect();
        let mut answered: Vec<f64> = answers[k]["probabilities"]
            .as_object()
            .expect("probabilities by class")
            .values()
            .map(|p| p.as_f64().expect("a number"))
            .collect();
        let mut stored = probabilities.clone();
        answered.sort_by(f64::total_cmp);
        stored.sort_by(f64::total_cmp);
        for (a, b) in answered.iter().zip(&stored) {
            assert!(
                (a - b).abs() < 1e-6,
                "record {k}: {answered:?} vs {stored:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_failed_request_is_one_row_with_its_status_and_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, path) = audited(dir.path(), AuditMode::Async);
    let app = TestApp::spawn_with(config).await;
    let bad = json!([iris_record(), {"sepal_length": 1.0}]);
    json_with_status(app.post_json("/predict/iris", &bad).await, 422).await;
    json_with_status(app.post_json("/predict/nope", &iris_record()).await, 404).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&path) < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failures = rows(
        &path,
        "SELECT model, status, features, error FROM predictions ORDER BY status",
    );
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0][0], "nope");
    assert_eq!(failures[0][1], 404);
    assert_eq!(failures[1][1], 422);
    assert_eq!(failures[1][2], Value::Null);
    assert!(failures[1][3].as_str().expect("error").contains("missing"));
}

#[tokio::test]
async fn async_mode_writes_every_row_without_holding_the_responses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, path) = audited(dir.path(), AuditMode::Async);
    let app = TestApp::spawn_with(config).await;
    let mut expected = 0;
    for _ in 0..5 {
        expected += mixed_predictions(&app).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&path) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count(&path), expected);
}

#[tokio::test]
async fn bodies_sent_with_a_byte_order_mark_are_kept_as_the_json_that_was_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, path) = audited(dir.path(), AuditMode::Durable);
    let app = TestApp::spawn_with(config).await;
    let post = |route: &'static str, value: Value| {
        let mut body = b"\xEF\xBB\xBF".to_vec();
        body.extend(serde_json::to_vec(&value).expect("json"));
        app.client
            .post(app.url(route))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let large: Vec<[f64; 4]> = (0..200)
        .map(|i| [5.0 + (i % 9) as f64 / 10.0, 3.0, 1.4, 0.2])
        .collect();
    for (route, body) in [
        ("/predict/iris", iris_record()),
        ("/predict/iris", json!([iris_record(), iris_record()])),
        (
            "/v2/models/iris/infer",
            json!({"inputs": v2_inputs(&large[..2])}),
        ),
        (
            "/v2/models/iris/infer",
            json!({"inputs": v2_inputs(&large)}),
        ),
    ] {
        json_with_status(post(route, body).await.expect("POST"), 200).await;
    }
    let read = read_back(&path, 1_000);
    assert_eq!(read.len(), 1 + 2 + 2 + 200);
    for row in &read {
        assert!(
            row["features"].is_object() || row["features"].is_array(),
            "{row}"
        );
    }
    let first: Vec<Vec<Value>> = rows(&path, "SELECT features FROM predictions LIMIT 1");
    let features: Value = serde_json::from_str(first[0][0].as_str().expect("text")).expect("JSON");
    assert_eq!(features, iris_record());
}
