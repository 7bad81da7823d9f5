//! Dynamic batching end to end: random mixes of single records and arrays, over every
//! prediction API, sent at once to a server with one session per model (so requests queue
//! and are coalesced). Each answer must equal the answer the same request gets alone.

use std::sync::Arc;

use prediction_api::config::Config;
use proptest::prelude::*;
use proptest::test_runner::{Config as Cases, TestRunner};
use serde_json::{Value, json};

use crate::helpers::{IRIS_FEATURES as IRIS, TestApp, committed_models, post_iris_binary};

const HOUSING_STRINGS: [&str; 6] = [
    "heating",
    "fuel",
    "sewer",
    "waterfront",
    "newConstruction",
    "centralAir",
];

/// Rows of a committed data file as JSON records (numbers stay numbers).
fn records(file: &str, drop: &str) -> Vec<serde_json::Map<String, Value>> {
    let path = committed_models().join("..").join("data").join(file);
    let text = std::fs::read_to_string(&path).expect("data file");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .map(|line| {
            header
                .iter()
                .zip(line.split(','))
                .filter(|(name, _)| **name != drop)
                .map(|(name, cell)| {
                    let value = match cell.parse::<f64>() {
                        Ok(n) if !HOUSING_STRINGS.contains(name) => json!(n),
                        _ => json!(cell),
                    };
                    (name.to_string(), value)
                })
                .collect()
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Api {
    Record,
    Array,
    V1,
    V2Json,
    V2Binary,
    Mlflow,
}

const APIS: [Api; 6] = [
    Api::Record,
    Api::Array,
    Api::V1,
    Api::V2Json,
    Api::V2Binary,
    Api::Mlflow,
];

#[derive(Debug, Clone)]
struct Call {
    api: Api,
    model: &'static str,
    rows: Vec<serde_json::Map<String, Value>>,
}

/// The answer, comparable: JSON, or a binary response's JSON header and tail.
#[derive(Debug)]
enum Answer {
    Json(Value),
    Binary(Value, Vec<u8>),
}

impl Call {
    fn features(&self) -> Vec<String> {
        self.rows
            .first()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    async fn send(&self, app: &TestApp) -> Answer {
        let model = self.model;
        let records: Vec<Value> = self.rows.iter().cloned().map(Value::Object).collect();
        let (path, body) = match self.api {
            Api::Record => (format!("/predict/{model}"), records[0].clone()),
            Api::Array => (format!("/predict/{model}"), json!(records)),
            Api::V1 => (
                format!("/v1/models/{model}:predict"),
                json!({ "instances": records }),
            ),
            Api::Mlflow => {
                let columns = self.features();
                let data: Vec<Vec<Value>> = self
                    .rows
                    .iter()
                    .map(|r| columns.iter().map(|c| r[c].clone()).collect())
                    .collect();
                (
                    format!("/v1/models/{model}/invocations"),
                    json!({"dataframe_split": {"columns": columns, "data": data}}),
                )
            }
            Api::V2Json => (format!("/v2/models/{model}/infer"), self.v2_json()),
            Api::V2Binary => return self.send_binary(app).await,
        };
        let response = app.post_json(&path, &body).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(status, 200, "{path}: {text}");
        Answer::Json(serde_json::from_str(&text).expect("JSON"))
    }

    fn v2_json(&self) -> Value {
        let inputs: Vec<Value> = self
            .features()
            .iter()
            .map(|name| {
                let column: Vec<Value> = self.rows.iter().map(|r| r[name].clone()).collect();
                let datatype = if column[0].is_string() {
                    "BYTES"
                } else {
                    "FP32"
                };
                json!({"name": name, "datatype": datatype, "shape": [column.len(), 1], "data": column})
            })
            .collect();
        json!({ "inputs": inputs })
    }

    /// Iris rows as Triton binary tensors, asking for binary outputs too.
    async fn send_binary(&self, app: &TestApp) -> Answer {
        let rows: Vec<[f32; 4]> = self
            .rows
            .iter()
            .map(|r| IRIS.map(|name| r[name].as_f64().expect("number") as f32))
            .collect();
        let response = post_iris_binary(app, &rows, true).await;
        assert_eq!(response.status(), 200);
        let split: usize = response.headers()["inference-header-content-length"]
            .to_str()
            .expect("ASCII")
            .parse()
            .expect("length");
        let bytes = response.bytes().await.expect("body");
        let (header, tail) = bytes.split_at(split);
        Answer::Binary(
            serde_json::from_slice(header).expect("header"),
            tail.to_vec(),
        )
    }
}

/// Equal JSON, numbers within a relative 1e-5 (a batch may round the last bit differently).
fn assert_same(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            assert!(
                (x - y).abs() <= 1e-5 * x.abs().max(y.abs()).max(1.0),
                "{at}: {x} vs {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths");
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                assert_same(p, q, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}: keys"
            );
            for (k, p) in x {
                assert_same(p, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

fn assert_answers_match(alone: &Answer, batched: &Answer, call: &Call) {
    let at = format!("{:?} {} ×{}", call.api, call.model, call.rows.len());
    match (alone, batched) {
        (Answer::Json(a), Answer::Json(b)) => assert_same(a, b, &at),
        (Answer::Binary(ha, ta), Answer::Binary(hb, tb)) => {
            assert_same(ha, hb, &at);
            // The tree's probabilities are leaf values: bit-identical in any batch.
            assert_eq!(ta, tb, "{at}: binary outputs");
        }
        _ => panic!("{at}: answers of different kinds"),
    }
}

fn executions(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("prediction_api_inference_executions_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn concurrent_mixed_requests_each_get_exactly_their_own_answers() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut config = Config::for_tests(committed_models());
    // One session per model: concurrent requests must queue, and queued requests batch.
    config.session_pool_size = Some(1);
    config.batch_max_delay_us = 2_000;
    let app = Arc::new(runtime.block_on(TestApp::spawn_with(config)));
    let iris = Arc::new(records("iris_raw.csv", "species"));
    let housing = Arc::new(records("housing_raw.csv", "price"));
    let call = (0..APIS.len(), any::<bool>(), 0usize..1_000, 1usize..12).prop_map({
        let (iris, housing) = (iris.clone(), housing.clone());
        move |(api, is_iris, start, n)| {
            let api = APIS[api];
            // Binary requests are built for the iris inputs (all FP32).
            let is_iris = is_iris || matches!(api, Api::V2Binary);
            let n = if matches!(api, Api::Record) { 1 } else { n };
            let (model, data) = if is_iris {
                ("iris", &iris)
            } else {
                ("housing", &housing)
            };
            let rows = (0..n)
                .map(|i| data[(start + i) % data.len()].clone())
                .collect();
            Call { api, model, rows }
        }
    });
    let mut runner = TestRunner::new(Cases {
        cases: 6,
        failure_persistence: None,
        ..Cases::default()
    });
    let sent = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&prop::collection::vec(call, 8..40), |calls| {
            runtime.block_on(async {
                let mut alone = Vec::new();
                for call in &calls {
                    alone.push(call.send(&app).await);
                }
                let handles: Vec<_> = calls
                    .iter()
                    .cloned()
                    .map(|call| {
                        let app = app.clone();
                        tokio::spawn(async move { call.send(&app).await })
                    })
                    .collect();
                for ((handle, call), alone) in handles.into_iter().zip(&calls).zip(&alone) {
                    let batched = handle.await.expect("the request completes");
                    assert_answers_match(alone, &batched, call);
                }
            });
            sent.fetch_add(2 * calls.len(), std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })
        .expect("every request gets its own answer");
    // The concurrent half of the traffic was coalesced: fewer executions than requests.
    let metrics = runtime.block_on(async { app.get("/metrics").await.text().await.expect("body") });
    let ran = executions(&metrics);
    let sent = sent.into_inner();
    assert!(
        ran < sent as f64,
        "{ran} executions for {sent} requests: nothing was batched"
    );
}
