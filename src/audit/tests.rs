//! The writer on a temporary database, with failed-request entries (which need no model).

use super::*;

fn config(dir: &tempfile::TempDir, mode: AuditMode) -> AuditConfig {
    AuditConfig {
        path: dir.path().join("nested").join("audit.db"),
        mode,
        queue_capacity: 64,
        queue_bytes: 64 << 20,
        retention: Retention::default(),
    }
}

fn failed(request: &str, time: SystemTime) -> AuditEntry {
    AuditEntry {
        time,
        request_id: request.into(),
        route: "/predict/{model}",
        model: "iris".into(),
        version: None,
        latency: Duration::from_millis(2),
        status: 422,
        outcome: Outcome::Failed {
            error: "feature `x`: missing".into(),
        },
    }
}

fn count(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("opens");
    conn.query_row("SELECT count(*) FROM predictions", [], |r| r.get(0))
        .expect("counts")
}

#[test]
fn stopping_writes_everything_queued() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir, AuditMode::Async);
    let writer = AuditWriter::start(&config).expect("starts");
    for i in 0..50 {
        writer.record(failed(&format!("r{i}"), SystemTime::now()));
    }
    writer.stop();
    let stats = writer.stats();
    assert_eq!(stats.rows_written + stats.rows_dropped, 50, "{stats:?}");
    assert_eq!(count(&config.path), stats.rows_written as i64);
    writer.record(failed("late", SystemTime::now()));
    assert_eq!(writer.stats().rows_dropped, stats.rows_dropped + 1);
}

#[tokio::test]
async fn a_durable_submit_returns_after_its_row_is_committed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir, AuditMode::Durable);
    let writer = AuditWriter::start(&config).expect("starts");
    writer
        .submit(failed("durable", SystemTime::now()))
        .await
        .expect("committed");
    let path = config.path.clone();
    let rows = tokio::task::spawn_blocking(move || count(&path))
        .await
        .expect("counted");
    assert_eq!(rows, 1);
    tokio::task::spawn_blocking(move || writer.stop())
        .await
        .expect("stopped");
}

#[test]
fn retention_deletes_old_rows_and_rows_beyond_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir, AuditMode::Async);
    let writer = AuditWriter::start(&config).expect("starts");
    let old = SystemTime::now() - Duration::from_secs(3600);
    for i in 0..10 {
        writer.record(failed(&format!("old{i}"), old));
    }
    for i in 0..30 {
        writer.record(failed(&format!("new{i}"), SystemTime::now()));
    }
    writer.stop();
    assert_eq!(count(&config.path), 40);
    let conn = rusqlite::Connection::open(&config.path).expect("opens");
    let by_age = Retention {
        max_age: Some(Duration::from_secs(60)),
        max_rows: None,
    };
    let stored = writer::stored_rows(&conn).expect("counts");
    retention::enforce(&conn, &by_age, stored).expect("enforces");
    assert_eq!(count(&config.path), 30);
    let by_rows = Retention {
        max_age: None,
        max_rows: Some(25),
    };
    retention::enforce(&conn, &by_rows, stored).expect("enforces");
    assert_eq!(count(&config.path), 25);
    let oldest: String = conn
        .query_row(
            "SELECT request_id FROM predictions ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("reads");
    assert_eq!(oldest, "new5");
}

/// What `prediction-api audit` prints for `query`, one JSON value per line.
fn printed(query: &query::AuditQuery) -> Vec<Value> {
    let mut out = Vec::new();
    query::run(query, &mut out).expect("runs");
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// The newest `limit` records of the database at `path`, whatever their model and time.
fn newest(path: &std::path::Path, limit: u64) -> query::AuditQuery {
    query::AuditQuery {
        db: path.to_path_buf(),
        model: None,
        since: None,
        limit,
    }
}

/// Writes each group of entries in its own writer session, so each becomes its own chunk.
fn write_sessions(config: &AuditConfig, sessions: Vec<Vec<AuditEntry>>) {
    for entries in sessions {
        let writer = AuditWriter::start(config).expect("starts");
        for entry in entries {
            writer.record(entry);
        }
        writer.stop();
        assert_eq!(writer.stats().rows_dropped, 0);
    }
}

/// Every record of the `predictions` view: its id, request id and features text.
fn viewed_features(conn: &rusqlite::Connection) -> Vec<(i64, String, Option<String>)> {
    conn.prepare("SELECT id, request_id, features FROM predictions ORDER BY id")
        .expect("view")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn request_ids(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("opens");
    conn.prepare("SELECT request_id FROM predictions ORDER BY id")
        .expect("prepares")
        .query_map([], |r| r.get(0))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("ids")
}

#[test]
fn retention_deletes_whole_chunks_and_trims_the_one_across_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir, AuditMode::Async);
    let old = SystemTime::now() - Duration::from_secs(3600);
    let named = |prefix: &str, n: usize, time: SystemTime| -> Vec<AuditEntry> {
        (0..n)
            .map(|i| failed(&format!("{prefix}{i}"), time))
            .collect()
    };
    let mut across = named("mixed-old", 5, old);
    across.extend(named("mixed-new", 10, SystemTime::now()));
    write_sessions(
        &config,
        vec![
            named("old", 10, old),
            across,
            named("new", 20, SystemTime::now()),
        ],
    );
    let conn = rusqlite::Connection::open(&config.path).expect("opens");
    let chunks = || -> i64 {
        conn.query_row("SELECT count(*) FROM request_chunks", [], |r| r.get(0))
            .expect("counts")
    };
    assert_eq!((count(&config.path), chunks()), (45, 3));
    let stored = writer::stored_rows(&conn).expect("counts");
    let by_age = Retention {
        max_age: Some(Duration::from_secs(60)),
        max_rows: None,
    };
    assert!(!retention::enforce(&conn, &by_age, stored).expect("enforces"));
    let ids = request_ids(&config.path);
    assert_eq!((ids.len(), chunks()), (30, 2));
    assert_eq!(ids[0], "mixed-new0");
    let by_rows = Retention {
        max_age: None,
        max_rows: Some(25),
    };
    retention::enforce(&conn, &by_rows, stored).expect("enforces");
    let ids = request_ids(&config.path);
    assert_eq!(ids.len(), 25);
    assert_eq!((ids[0].as_str(), ids[24].as_str()), ("mixed-new5", "new19"));
    // The trimmed chunk's columns describe what it kept.
    let (first_row, rows): (i64, i64) = conn
        .query_row(
            "SELECT first_row, rows FROM request_chunks ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a chunk");
    assert_eq!((first_row, rows), (20, 5));
    // Record numbers stay where they were.
    let first_id: i64 = conn
        .query_row("SELECT min(id) FROM predictions", [], |r| r.get(0))
        .expect("id");
    assert_eq!(first_id, 21);
}

#[test]
fn a_schema_3_trail_keeps_its_requests_and_new_ones_continue_its_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir, AuditMode::Async);
    std::fs::create_dir_all(config.path.parent().expect("folder")).expect("folder");
    let conn = schema::create_at_version(&config.path, 3);
    conn.execute_batch(
        r#"INSERT INTO requests (first_row, rows, time, request_id, model, version, route,
                                 features, outputs, latency_ms, status)
           VALUES (0, 2, '2026-11-27T10:00:00.000Z', 'before', 'iris', 1, '/predict/{model}',
                   '[{"x":1},{"x":2}]', '[{"y":1},{"y":2}]', 0.5, 200);"#,
    )
    .expect("a schema 3 request");
    drop(conn);
    write_sessions(&config, vec![vec![failed("after", SystemTime::now())]]);
    let conn = rusqlite::Connection::open(&config.path).expect("opens");
    let rows = viewed_features(&conn);
    assert_eq!(
        rows,
        [
            (1, "before".into(), Some(r#"{"x":1}"#.into())),
            (2, "before".into(), Some(r#"{"x":2}"#.into())),
            (3, "after".into(), None),
        ]
    );
    let printed = printed(&newest(&config.path, 10));
    let ids: Vec<(i64, &str)> = printed
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().unwrap_or(0),
                p["request_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(ids, [(1, "before"), (2, "before"), (3, "after")]);
    assert_eq!(printed[1]["outputs"], serde_json::json!({"y": 2}));
    // The row limit reaches the requests written before too.
    let stored = writer::stored_rows(&conn).expect("counts");
    assert_eq!(stored, 3);
    let keep_one = Retention {
        max_age: None,
        max_rows: Some(1),
    };
    retention::enforce(&conn, &keep_one, stored).expect("enforces");
    assert_eq!(request_ids(&config.path), ["after"]);
}

#[test]
fn the_query_prints_the_newest_rows_oldest_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir, AuditMode::Async);
    let writer = AuditWriter::start(&config).expect("starts");
    for i in 0..5 {
        writer.record(failed(&format!("r{i}"), SystemTime::now()));
    }
    writer.stop();
    let query = query::AuditQuery {
        db: config.path.clone(),
        model: Some("iris".into()),
        since: Some("1h".into()),
        limit: 2,
    };
    let lines = printed(&query);
    let ids: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["request_id"].as_str())
        .collect();
    assert_eq!(ids, ["r3", "r4"]);
    assert_eq!(lines[0]["status"], 422);
    let none = query::AuditQuery {
        model: Some("housing".into()),
        ..query
    };
    assert!(printed(&none).is_empty());
}

/// A V2 request stored as sent: the view and the `audit` command split it into the same
/// records, tensor by tensor (flat, one-dimensional, nested, BYTES and BOOL data).
#[test]
fn v2_documents_split_into_the_same_records_in_the_view_and_the_query() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("audit.db");
    let conn = schema::open_for_writing(&path, false).expect("opens");
    let request = serde_json::json!({"inputs": [
        {"name": "a", "shape": [2, 1], "datatype": "FP32", "data": [5.1, 6.7]},
        {"name": "b", "shape": [2], "datatype": "BYTES", "data": ["x", "y"]},
        {"name": "c", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]},
        {"name": "n", "shape": [2, 2], "datatype": "INT64", "data": [[1, 2], [3, 4]]},
        {"name": "t", "shape": [2, 1], "datatype": "BOOL", "data": [true, false]}
    ]});
    let answer = serde_json::json!({"model_name": "m", "outputs": [
        {"name": "label", "shape": [2], "datatype": "BYTES", "data": ["s", "v"]},
        {"name": "p", "shape": [2, 3], "datatype": "FP32", "data": [0.1, 0.2, 0.7, 1, 0, 0]}
    ]});
    conn.execute(
        "INSERT INTO request_chunks (first_row, rows, first_time, last_time, requests) \
         VALUES (10, 2, '2026-11-27T10:00:00.000Z', '2026-11-27T10:00:00.000Z', \
                 json_array(json_array(10, 2, '2026-11-27T10:00:00.000Z', 'r', 'm', NULL, \
                                       '/v2', 1.0, 200, NULL, 'v2', json(?1), json(?2))))",
        rusqlite::params![request.to_string(), answer.to_string()],
    )
    .expect("a request");
    let expected = [
        (
            serde_json::json!({"a": [5.1], "b": "x", "c": [1, 2], "n": [1, 2], "t": [true]}),
            serde_json::json!({"label": "s", "p": [0.1, 0.2, 0.7]}),
        ),
        (
            serde_json::json!({"a": [6.7], "b": "y", "c": [3, 4], "n": [3, 4], "t": [false]}),
            serde_json::json!({"label": "v", "p": [1, 0, 0]}),
        ),
    ];
    let viewed: Vec<(i64, i64, String, String)> = conn
        .prepare("SELECT id, row_index, features, outputs FROM predictions ORDER BY id")
        .expect("view")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(viewed.len(), 2);
    for (k, (id, row, features, outputs)) in viewed.iter().enumerate() {
        assert_eq!((*id, *row), (11 + k as i64, k as i64));
        let parse = |t: &str| serde_json::from_str::<Value>(t).expect("JSON");
        assert_eq!(
            (parse(features), parse(outputs)),
            expected[k],
            "view, record {k}"
        );
    }
    drop(conn);
    let printed = printed(&newest(&path, 10));
    assert_eq!(printed.len(), 2);
    for (k, record) in printed.iter().enumerate() {
        assert_eq!(record["id"], 11 + k as i64);
        assert_eq!(
            (record["features"].clone(), record["outputs"].clone()),
            expected[k],
            "query, record {k}"
        );
    }
}

/// A predicted entry of `rows` records, as `/predict` hands them over.
fn predicted(request: &str, rows: usize) -> AuditEntry {
    let records = vec![serde_json::json!({"x": 1.5}); rows];
    let body = serde_json::to_vec(&records).expect("body");
    let answer = serde_json::to_vec(&vec![serde_json::json!({"y": 2}); rows]).expect("answer");
    AuditEntry {
        outcome: Outcome::Predicted {
            rows: RowTexts::as_sent(&records, Some(1), body.into(), answer.into(), false),
        },
        status: 200,
        ..failed(request, SystemTime::now())
    }
}

#[test]
fn a_batch_takes_every_queued_request_whatever_its_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir, AuditMode::Async);
    let writer = AuditWriter::start(&config).expect("starts");
    // Made first, so that they are queued together (a debug build takes milliseconds for each).
    let entries: Vec<AuditEntry> = (0..60)
        .map(|i| predicted(&format!("bulk{i}"), 1_000))
        .collect();
    for entry in entries {
        writer.record(entry);
    }
    writer.stop();
    let stats = writer.stats();
    assert_eq!((stats.rows_written, stats.rows_dropped), (60_000, 0));
    // Queued within one linger, the requests share a transaction or a few: a writer that
    // counted records against its batch size would need one transaction per two requests
    // and fall behind bulk traffic.
    assert!(stats.write_batches <= 10, "{stats:?}");
    assert_eq!(count(&config.path), 60_000);
    // Each request continues the record numbers of the one before it.
    let conn = rusqlite::Connection::open(&config.path).expect("opens");
    let stored: Vec<(i64, i64, String)> = conn
        .prepare("SELECT first_row, rows, request_id FROM requests ORDER BY first_row")
        .expect("prepares")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("reads")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(stored.len(), 60);
    for (k, (first_row, rows, request)) in stored.iter().enumerate() {
        assert_eq!((*first_row, *rows), (k as i64 * 1_000, 1_000));
        assert_eq!(request, &format!("bulk{k}"));
    }
    let (distinct, last): (i64, i64) = conn
        .query_row(
            "SELECT count(DISTINCT id), max(id) FROM predictions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("ids");
    assert_eq!((distinct, last), (60_000, 60_000));
}

#[test]
fn large_requests_get_their_own_rows_between_chunks_and_numbers_stay_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir, AuditMode::Async);
    let now = SystemTime::now();
    let big = predicted("b0", 1_000);
    let Outcome::Predicted { rows } = &big.outcome else {
        unreachable!("a predicted entry")
    };
    assert!(rows.bytes() > store::OWN_ROW_BYTES);
    let order = vec![
        failed("a0", now),
        big,
        failed("a1", now),
        failed("a2", now),
        predicted("b1", 1_000),
        failed("a3", now),
    ];
    write_sessions(&config, vec![order]);
    let conn = rusqlite::Connection::open(&config.path).expect("opens");
    let spans = |table: &str| -> Vec<(i64, i64)> {
        conn.prepare(&format!("SELECT first_row, rows FROM {table} ORDER BY id"))
            .expect("prepares")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("reads")
            .collect::<Result<_, _>>()
            .expect("spans")
    };
    // a0 | b0 | a1 a2 | b1 | a3: a chunk closes before each large request.
    assert_eq!(spans("request_chunks"), [(0, 1), (1001, 2), (2003, 1)]);
    assert_eq!(spans("request_rows"), [(1, 1000), (1003, 1000)]);
    let ids = request_ids(&config.path);
    assert_eq!(ids.len(), 2_004);
    let (distinct, last): (i64, i64) = conn
        .query_row(
            "SELECT count(DISTINCT id), max(id) FROM predictions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("ids");
    assert_eq!((distinct, last), (2_004, 2_004));
    let query = |limit: u64| -> Vec<(i64, String)> {
        printed(&newest(&config.path, limit))
            .iter()
            .map(|v| (v["id"].as_i64().unwrap_or(0), v["request_id"].to_string()))
            .collect()
    };
    let all = query(10_000);
    assert_eq!(all.len(), 2_004);
    assert!(
        all.iter()
            .enumerate()
            .all(|(k, (id, _))| *id == k as i64 + 1)
    );
    assert_eq!(
        query(3),
        [
            (2002, "\"b1\"".into()),
            (2003, "\"b1\"".into()),
            (2004, "\"a3\"".into())
        ]
    );
    // The row limit deletes whole chunks and rows before the first request it keeps.
    let keep = Retention {
        max_age: None,
        max_rows: Some(1_001),
    };
    let stored = writer::stored_rows(&conn).expect("counts");
    assert_eq!(stored, 2_004);
    retention::enforce(&conn, &keep, stored).expect("enforces");
    assert_eq!(
        retention::oldest_kept(&conn, stored).expect("finds"),
        1_003,
        "the tensor files before the oldest record kept can go"
    );
    let ids = request_ids(&config.path);
    assert_eq!(ids.len(), 1_001);
    assert_eq!((ids[0].as_str(), ids[1_000].as_str()), ("b1", "a3"));
}

#[test]
fn the_byte_budget_drops_what_would_go_over_it_and_counts_it() {
    let (queue, received) = sync_channel(16);
    let entry_bytes = predicted("a", 10).bytes();
    let shared = Shared {
        queue,
        mode: AuditMode::Async,
        max_queued_bytes: 2 * entry_bytes + 1,
        counters: Arc::default(),
        drops: DropLog::default(),
        thread: Mutex::new(None),
    };
    for name in ["a", "b", "c"] {
        shared.enqueue(predicted(name, 10));
    }
    let c = &shared.counters;
    assert_eq!(
        c.rows_dropped.load(Ordering::Relaxed),
        10,
        "the third is over"
    );
    assert_eq!(c.queue_depth.load(Ordering::Relaxed), 2);
    assert_eq!(c.queued_bytes.load(Ordering::Relaxed), 2 * entry_bytes);
    // The writer taking them gives their bytes back, and the next request fits again.
    let mut batch = writer::Batch::default();
    for message in received.try_iter() {
        assert!(!batch.take(message, c));
    }
    assert_eq!(c.queued_bytes.load(Ordering::Relaxed), 0);
    assert_eq!(c.queue_depth.load(Ordering::Relaxed), 0);
    shared.enqueue(predicted("d", 10));
    assert_eq!(c.rows_dropped.load(Ordering::Relaxed), 10);
    for message in received.try_iter() {
        assert!(!batch.take(message, c));
    }
    // A request larger than the whole budget still goes into an empty queue.
    let big = predicted("big", 1_000);
    assert!(big.bytes() > shared.max_queued_bytes);
    shared.enqueue(big);
    assert_eq!(c.rows_dropped.load(Ordering::Relaxed), 10);
    assert_eq!(received.try_iter().count(), 1);
}

/// A request stored as its tensors, between two small JSON ones.
#[test]
fn tensors_go_to_the_tensor_files_counted_by_the_view_and_decoded_by_the_query() {
    use crate::runtime::Output;
    use crate::tensor::{Tensor, TensorData};
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir, AuditMode::Async);
    let a = Tensor::new("a", vec![3, 1], TensorData::F32(vec![5.1, 6.7, 0.1])).expect("a");
    let b = Tensor::new("b", vec![3], TensorData::Bytes(vec![b"x".to_vec(); 3])).expect("b");
    let label = Tensor::new("label", vec![3], TensorData::I64(vec![0, 2, 1])).expect("label");
    let p = Tensor::new(
        "p",
        vec![3, 2],
        TensorData::F32(vec![0.9, 0.1, 0.2, 0.8, 0.5, 0.5]),
    )
    .expect("p");
    let outputs = vec![
        ("label".to_string(), Output::Tensor(label)),
        ("p".to_string(), Output::Tensor(p)),
    ];
    let rows = RowTexts::tensors(&[a, b], &outputs).expect("fits");
    assert_eq!(rows.layout(), Some("v2-binary"));
    let tensors = AuditEntry {
        outcome: Outcome::Predicted { rows },
        status: 200,
        ..failed("tensors", SystemTime::now())
    };
    write_sessions(
        &config,
        vec![vec![predicted("before", 1), tensors, predicted("after", 1)]],
    );
    let conn = rusqlite::Connection::open(&config.path).expect("opens");
    let own_rows: i64 = conn
        .query_row("SELECT count(*) FROM request_rows", [], |r| r.get(0))
        .expect("counts");
    assert_eq!(own_rows, 0, "a chunk holds all three requests");
    let (layout, file, offsets): (String, String, (i64, i64)) = conn
        .query_row(
            "SELECT layout, features ->> 'file', \
                    (features ->> 'offset') + (features ->> 'length'), outputs ->> 'offset' \
             FROM requests WHERE request_id = 'tensors'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, (r.get(2)?, r.get(3)?))),
        )
        .expect("a chunk's request");
    assert_eq!(layout, "v2-binary");
    assert_eq!(offsets.0, offsets.1, "the outputs follow the inputs");
    let folder = dir.path().join("nested").join("audit.db-tensors");
    assert!(
        folder.join(&file).is_file(),
        "{file} in {}",
        folder.display()
    );
    let viewed = viewed_features(&conn);
    let ids: Vec<(i64, &str, bool)> = viewed
        .iter()
        .map(|(id, request, features)| (*id, request.as_str(), features.is_some()))
        .collect();
    assert_eq!(
        ids,
        [
            (1, "before", true),
            (2, "tensors", false),
            (3, "tensors", false),
            (4, "tensors", false),
            (5, "after", true)
        ]
    );
    drop(conn);
    let printed = printed(&newest(&config.path, 10));
    let decoded: Vec<(Value, Value, Value)> = printed
        .iter()
        .filter(|r| r["request_id"] == "tensors")
        .map(|r| {
            (
                r["row"].clone(),
                r["features"].clone(),
                r["outputs"].clone(),
            )
        })
        .collect();
    assert_eq!(
        decoded,
        [
            (
                serde_json::json!(0),
                serde_json::json!({"a": [5.1], "b": "x"}),
                serde_json::json!({"label": 0, "p": [0.9, 0.1]})
            ),
            (
                serde_json::json!(1),
                serde_json::json!({"a": [6.7], "b": "x"}),
                serde_json::json!({"label": 2, "p": [0.2, 0.8]})
            ),
            (
                serde_json::json!(2),
                serde_json::json!({"a": [0.1], "b": "x"}),
                serde_json::json!({"label": 1, "p": [0.5, 0.5]})
            ),
        ]
    );
    assert_eq!(printed.len(), 5);

    // A database copied without its tensor folder still reads back, without those tensors.
    std::fs::remove_dir_all(&folder).expect("removes");
    let without = self::printed(&newest(&config.path, 10));
    assert_eq!(without.len(), 5);
    assert!(
        without
            .iter()
            .filter(|r| r["request_id"] == "tensors")
            .all(|r| r["features"].is_null() && r["outputs"].is_null())
    );
    assert_eq!(without[4]["request_id"], "after");
    assert!(!without[4]["features"].is_null());
}

/// Schema 5 kept tensors as BLOBs in their own rows: those rows still read back.
#[test]
fn tensors_stored_as_blobs_by_schema_5_still_read_back() {
    use crate::tensor::{Tensor, TensorData};
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir, AuditMode::Async);
    write_sessions(&config, vec![vec![predicted("before", 1)]]);
    let a = Tensor::new("a", vec![2], TensorData::F32(vec![1.5, 2.5])).expect("a");
    let y = Tensor::new("y", vec![2], TensorData::I64(vec![7, 8])).expect("y");
    let features = binary::encode("inputs", [&a].into_iter()).expect("encodes");
    let outputs = binary::encode("outputs", [&y].into_iter()).expect("encodes");
    let conn = rusqlite::Connection::open(&config.path).expect("opens");
    conn.execute(
        "INSERT INTO request_rows (first_row, rows, time, request_id, model, version, route, \
         features, outputs, latency_ms, status, layout) VALUES \
         (1, 2, '2026-11-28T10:00:00.000Z', 'blobs', 'm', 1, '/v2/models/{model}/infer', \
          ?1, ?2, 1.0, 200, 'v2-binary')",
        (features, outputs),
    )
    .expect("inserts");
    drop(conn);
    let printed = printed(&newest(&config.path, 10));
    let blobs: Vec<(Value, Value)> = printed
        .iter()
        .filter(|r| r["request_id"] == "blobs")
        .map(|r| (r["features"].clone(), r["outputs"].clone()))
        .collect();
    assert_eq!(
        blobs,
        [
            (serde_json::json!({"a": 1.5}), serde_json::json!({"y": 7})),
            (serde_json::json!({"a": 2.5}), serde_json::json!({"y": 8})),
        ]
    );
}
