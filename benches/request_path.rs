//! The in-process request path, measured: request bytes to response bytes through the very
//! functions the HTTP handlers call, on the committed models, with no socket, router or
//! middleware in between. `run/*` is the floor: the graph execution alone.
//!
//! `make bench-criterion` (= `cargo bench --bench request_path`); benches/README.md says what
//! each group measures.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use serde_json::{Map, Number, Value, json};
use tokio::runtime::Runtime;

use prediction_api::audit::RowTexts;
use prediction_api::contract::DataType;
use prediction_api::events;
use prediction_api::http::body::parse_json;
use prediction_api::http::v2::infer as v2;
use prediction_api::inference::answers::RecordAnswers;
use prediction_api::inference::batch::BatchPolicy;
use prediction_api::inference::{self, Outputs, records};
use prediction_api::repository::{LoadOptions, LoadedModel, ModelRepository, load_version};
use prediction_api::runtime::{self, SessionOptions};
use prediction_api::tensor::{Tensor, TensorData};

/// Rows per request.
const BATCHES: [usize; 4] = [1, 16, 100, 1_000];

/// Rows are taken from the data set with this stride (coprime with both files' row counts), so
/// a batch mixes classes and price ranges instead of repeating the file's sorted head.
const STRIDE: usize = 37;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A model as the server holds it, and rows of its raw data set as JSON records.
struct Subject {
    name: &'static str,
    model: Arc<LoadedModel>,
    records: Vec<Value>,
}

impl Subject {
    /// `n` varied records.
    fn rows(&self, n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| self.records[(i * STRIDE) % self.records.len()].clone())
            .collect()
    }

    /// The `/predict/{model}` body for `n` rows: one record alone, or an array of them.
    fn records_body(&self, n: usize) -> Vec<u8> {
        let mut rows = self.rows(n);
        let body = if n == 1 {
            rows.swap_remove(0)
        } else {
            Value::Array(rows)
        };
        serde_json::to_vec(&body).expect("records serialize")
    }

    /// The tensors of row `i` alone.
    fn tensors_at(&self, i: usize) -> Vec<Tensor> {
        let row = self.records[(i * STRIDE) % self.records.len()].clone();
        records::tensors_from_records(&self.model, &[row]).expect("the row fits the model")
    }

    /// The tensors the records path builds for `n` rows.
    fn tensors(&self, n: usize) -> Vec<Tensor> {
        records::tensors_from_records(&self.model, &self.rows(n)).expect("the rows fit the model")
    }

    /// A V2 JSON request for `n` rows: one `[n, 1]` tensor per feature, values as the CSV
    /// has them.
    fn v2_json_body(&self, n: usize) -> Vec<u8> {
        let rows = self.rows(n);
        let inputs: Vec<Value> = self
            .model
            .signature
            .inputs
            .iter()
            .map(|spec| {
                let data: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        r.get(&spec.name)
                            .cloned()
                            .expect("every row has every input")
                    })
                    .collect();
                json!({
                    "name": spec.name,
                    "shape": [n, 1],
                    "datatype": spec.datatype.as_str(),
                    "data": data,
                })
            })
            .collect();
        serde_json::to_vec(&json!({ "id": "bench", "inputs": inputs })).expect("request serializes")
    }

    /// A Triton binary request for `n` rows, asking for binary outputs, and its header length.
    fn v2_binary_body(&self, n: usize) -> (Vec<u8>, usize) {
        let tensors = self.tensors(n);
        let mut tail = Vec::new();
        let inputs: Vec<Value> = tensors
            .iter()
            .map(|t| {
                let start = tail.len();
                match t.data() {
                    TensorData::F32(v) => v.iter().for_each(|x| tail.extend(x.to_le_bytes())),
                    TensorData::Bytes(v) => v.iter().for_each(|b| {
                        let len = u32::try_from(b.len()).expect("short strings");
                        tail.extend(len.to_le_bytes());
                        tail.extend_from_slice(b);
                    }),
                    other => panic!("no binary writer for {:?} inputs", other.datatype()),
                }
                json!({
                    "name": t.name(),
                    "shape": t.shape(),
                    "datatype": t.datatype().as_str(),
                    "parameters": { "binary_data_size": tail.len() - start },
                })
            })
            .collect();
        let header = json!({
            "id": "bench",
            "parameters": { "binary_data_output": true },
            "inputs": inputs,
        });
        let mut body = serde_json::to_vec(&header).expect("header serializes");
        let header_length = body.len();
        body.extend_from_slice(&tail);
        (body, header_length)
    }
}

/// Reads a comma-separated file with a header line into records keyed by the model's input
/// names (other columns, such as the target, are left out). Numbers keep the file's text.
fn read_records(path: &Path, model: &LoadedModel) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().expect("a header line").split(',').collect();
    let columns: Vec<(usize, &str, DataType)> = model
        .signature
        .inputs
        .iter()
        .map(|spec| {
            let at = header
                .iter()
                .position(|h| *h == spec.name)
                .unwrap_or_else(|| panic!("{} has no column `{}`", path.display(), spec.name));
            (at, spec.name.as_str(), spec.datatype)
        })
        .collect();
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let record: Map<String, Value> = columns
                .iter()
                .map(|&(at, name, datatype)| {
                    let text = fields.get(at).expect("a field per column");
                    let value = match datatype {
                        DataType::Bytes => Value::String((*text).to_string()),
                        _ => Value::Number(text.parse::<Number>().unwrap_or_else(|e| {
                            panic!("{}: `{text}` is not a number: {e}", path.display())
                        })),
                    };
                    (name.to_string(), value)
                })
                .collect();
            Value::Object(record)
        })
        .collect()
}

/// Everything the benchmarks share: the runtime and the models, loaded as the server does.
struct Fixture {
    rt: Runtime,
    iris: Subject,
    housing: Subject,
}

fn fixture() -> Fixture {
    runtime::init(None).expect("ONNX Runtime library: run `make setup` or set ORT_DYLIB_PATH");
    // The server's defaults: one intra-op thread, the CPU arena on. One session suffices for
    // one request at a time.
    let options = LoadOptions {
        session: SessionOptions::default(),
        pool_size: 1,
        batching: Default::default(),
        inline_budget: std::time::Duration::from_micros(
            prediction_api::inference::inline::DEFAULT_BUDGET_US,
        ),
    };
    let repository = ModelRepository::open(&root().join("models"), options, events::none())
        .expect("the model repository opens");
    let subject = |name: &'static str, csv: &str| {
        let model = repository
            .get(name, None)
            .unwrap_or_else(|e| panic!("model `{name}` did not load: {e}"));
        let records = read_records(&root().join("data").join(csv), &model);
        Subject {
            name,
            model,
            records,
        }
    };
    // Current-thread, like one request's handler: a run over the inline budget hops to the
    // blocking pool, a short one stays on this thread as in the server.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    Fixture {
        rt,
        iris: subject("iris", "iris_raw.csv"),
        housing: subject("housing", "housing_raw.csv"),
    }
}

/// The `/predict/{model}` handler's work: parse, records → tensors, infer, answers → JSON.
async fn records_request(model: &Arc<LoadedModel>, body: &[u8]) -> Vec<u8> {
    let (rows, single) = match parse_json::<Value>(body).expect("the body parses") {
        Value::Array(items) => (items, false),
        record => (vec![record], true),
    };
    let inputs = records::tensors_from_records(model, &rows).expect("the records fit");
    let outputs = inference::infer(model.clone(), inputs.into(), None)
        .await
        .expect("inference runs");
    serde_json::to_vec(&RecordAnswers::new(model, &outputs, rows.len(), single))
        .expect("the answer serializes")
}

/// The V2 `infer` handler's work: content type, decode and plan, infer, encode.
async fn v2_request(model: &Arc<LoadedModel>, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    v2::check_content_type(headers).expect("a V2 content type");
    let call = v2::decode(model, headers, body).expect("the request decodes");
    let outputs = inference::infer(model.clone(), call.inputs.into(), call.plan.wanted())
        .await
        .expect("inference runs");
    v2::encode(model, call.id, &call.plan, &outputs)
        .expect("the response encodes")
        .body
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers
}

fn binary_headers(header_length: usize) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        HeaderName::from_static("inference-header-content-length"),
        HeaderValue::from(header_length),
    );
    headers
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    c.benchmark_group(name)
}

fn records_path(c: &mut Criterion, f: &Fixture) {
    for s in [&f.iris, &f.housing] {
        let mut g = group(c, &format!("records/{}", s.name));
        for n in BATCHES {
            let body = s.records_body(n);
            // One check that the path answers what a client expects before timing it.
            let answer: Value =
                serde_json::from_slice(&f.rt.block_on(records_request(&s.model, &body)))
                    .expect("the answer is JSON");
            assert_eq!(answer.as_array().map_or(1, Vec::len), n);
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::from_parameter(n), &body, |b, body| {
                b.to_async(&f.rt).iter(|| records_request(&s.model, body));
            });
        }
        g.finish();
    }
}

fn v2_json_path(c: &mut Criterion, f: &Fixture) {
    let s = &f.iris;
    let headers = json_headers();
    let mut g = group(c, &format!("v2_json/{}", s.name));
    for n in BATCHES {
        let body = s.v2_json_body(n);
        let answer: Value =
            serde_json::from_slice(&f.rt.block_on(v2_request(&s.model, &headers, &body)))
                .expect("the response is JSON");
        assert_eq!(answer["outputs"][0]["shape"][0], json!(n));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &body, |b, body| {
            b.to_async(&f.rt)
                .iter(|| v2_request(&s.model, &headers, body));
        });
    }
    g.finish();
}

fn v2_binary_path(c: &mut Criterion, f: &Fixture) {
    let s = &f.iris;
    let mut g = group(c, &format!("v2_binary/{}", s.name));
    for n in BATCHES {
        let (body, header_length) = s.v2_binary_body(n);
        let headers = binary_headers(header_length);
        let call = v2::decode(&s.model, &headers, &body).expect("the request decodes");
        assert_eq!(call.inputs.len(), s.model.signature.inputs.len());
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &body, |b, body| {
            b.to_async(&f.rt)
                .iter(|| v2_request(&s.model, &headers, body));
        });
    }
    g.finish();
}

fn run_floor(c: &mut Criterion, f: &Fixture) {
    for s in [&f.iris, &f.housing] {
        let mut g = group(c, &format!("run/{}", s.name));
        for n in BATCHES {
            let tensors = s.tensors(n);
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::from_parameter(n), &tensors, |b, tensors| {
                b.iter(|| {
                    let mut session = s.model.pool.checkout();
                    runtime::run(&mut session, tensors, None).expect("the graph runs")
                });
            });
        }
        g.finish();
    }
}

/// The records path cut into its steps, to see where a request's time goes: `infer` is
/// `inference::infer` (checks, permit, the run: inline when short, else on a blocking thread),
/// the rest is the handler's.
fn records_stages(c: &mut Criterion, f: &Fixture) {
    for s in [&f.iris, &f.housing] {
        let mut g = group(c, &format!("stages/records/{}", s.name));
        for n in BATCHES {
            let body = s.records_body(n);
            let rows = s.rows(n);
            let tensors = s.tensors(n);
            let outputs: Outputs =
                f.rt.block_on(inference::infer(
                    s.model.clone(),
                    tensors.clone().into(),
                    None,
                ))
                .expect("inference runs");
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new("parse", n), &body, |b, body| {
                b.iter(|| parse_json::<Value>(body).expect("the body parses"));
            });
            g.bench_with_input(BenchmarkId::new("tensors", n), &rows, |b, rows| {
                b.iter(|| records::tensors_from_records(&s.model, rows).expect("the records fit"));
            });
            g.bench_with_input(BenchmarkId::new("infer", n), &tensors, |b, tensors| {
                b.to_async(&f.rt).iter_batched(
                    || tensors.clone(),
                    |inputs| inference::infer(s.model.clone(), inputs.into(), None),
                    BatchSize::SmallInput,
                );
            });
            g.bench_with_input(BenchmarkId::new("answer", n), &outputs, |b, outputs| {
                b.iter(|| {
                    serde_json::to_vec(&RecordAnswers::new(&s.model, outputs, n, false))
                        .expect("the answer serializes")
                });
            });
        }
        g.finish();
    }
}

/// A V2 request decoded (its inputs kept) and its outputs.
fn v2_call(f: &Fixture, s: &Subject, headers: &HeaderMap, body: &[u8]) -> (v2::InferCall, Outputs) {
    let call = v2::decode(&s.model, headers, body).expect("the request decodes");
    let outputs =
        f.rt.block_on(inference::infer(
            s.model.clone(),
            call.inputs.clone().into(),
            call.plan.wanted(),
        ))
        .expect("inference runs");
    (call, outputs)
}

/// The V2 JSON path's own steps around `infer`: decoding the request and encoding the response.
fn v2_json_stages(c: &mut Criterion, f: &Fixture) {
    let s = &f.iris;
    let headers = json_headers();
    let mut g = group(c, &format!("stages/v2_json/{}", s.name));
    for n in BATCHES {
        let body = s.v2_json_body(n);
        let (call, outputs) = v2_call(f, s, &headers, &body);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("decode", n), &body, |b, body| {
            b.iter(|| v2::decode(&s.model, &headers, body).expect("the request decodes"));
        });
        g.bench_with_input(BenchmarkId::new("encode", n), &outputs, |b, outputs| {
            b.iter(|| {
                v2::encode(&s.model, call.id.clone(), &call.plan, outputs)
                    .expect("the response encodes")
            });
        });
    }
    g.finish();
}

/// What the audit trail adds to a V2 request on its own thread: its rows for the writer,
/// written from the decoded inputs and the outputs (tensors from 256 input elements on, JSON
/// text below).
fn audit_rows(c: &mut Criterion, f: &Fixture) {
    let s = &f.iris;
    let headers = json_headers();
    let mut g = group(c, &format!("stages/audit/{}", s.name));
    for n in BATCHES {
        let (call, outputs) = v2_call(f, s, &headers, &s.v2_json_body(n));
        let inputs = call.inputs;
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("rows", n), &outputs, |b, outputs| {
            b.iter(|| RowTexts::v2(&inputs, outputs, None, None).expect("the rows are written"));
        });
    }
    g.finish();
}

/// A batch's outputs handed back to its requests: iris outputs of `k` requests of 100 rows each
/// run as one batch, split into the requests' parts. `copy` slices each part out of the
/// batch's tensors (each string label allocated again) and drops the batch's; `move` is the
/// batcher's `split_outputs`, which moves the elements into the parts. The parts are dropped
/// outside the timing in both.
fn batch_split(c: &mut Criterion, f: &Fixture) {
    let s = &f.iris;
    let headers = json_headers();
    let mut g = group(c, &format!("stages/split/{}", s.name));
    for k in [16usize, 64] {
        let (_, outputs) = v2_call(f, s, &headers, &s.v2_json_body(100 * k));
        let rows = vec![100; k];
        g.throughput(Throughput::Elements((100 * k) as u64));
        g.bench_with_input(BenchmarkId::new("copy", k), &outputs, |b, outputs| {
            b.iter_batched(
                || outputs.clone(),
                |outputs| {
                    let parts: Vec<Vec<_>> = (0..k)
                        .map(|i| {
                            outputs
                                .iter()
                                .map(|(name, o)| {
                                    let (a, z) = (100 * i, 100 * (i + 1));
                                    (name.clone(), inference::slice_rows(o.tensor(), a, z))
                                })
                                .collect()
                        })
                        .collect();
                    // The batch's own outputs went once the parts were cut.
                    drop(outputs);
                    parts
                },
                BatchSize::SmallInput,
            );
        });
        g.bench_with_input(BenchmarkId::new("move", k), &outputs, |b, outputs| {
            b.iter_batched(
                || outputs.clone(),
                |outputs| {
                    inference::batch::split_outputs(outputs, &rows).expect("one row per input row")
                },
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

/// The batcher: `k` concurrent single-row requests for housing (each `inference::infer` on its
/// own task, like `k` connections' handlers), batching on and off, two sessions as on a
/// two-core server. Rows per second is what batching buys under concurrency.
fn batcher(c: &mut Criterion, f: &Fixture) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = root().join("models/housing/1");
    let load = |enabled: bool| {
        let options = LoadOptions {
            session: SessionOptions::default(),
            pool_size: 2,
            batching: BatchPolicy {
                enabled,
                ..BatchPolicy::default()
            },
            inline_budget: std::time::Duration::from_micros(
                prediction_api::inference::inline::DEFAULT_BUDGET_US,
            ),
        };
        Arc::new(load_version(&dir, "housing", 1, options, events::none()).expect("housing loads"))
    };
    let rows: Vec<Vec<Tensor>> = (0..64).map(|i| f.housing.tensors_at(i)).collect();
    for (label, model) in [("on", load(true)), ("off", load(false))] {
        let mut g = group(c, &format!("batcher/housing/{label}"));
        for k in [1usize, 16, 64] {
            g.throughput(Throughput::Elements(k as u64));
            g.bench_with_input(BenchmarkId::from_parameter(k), &k, |b, &k| {
                b.to_async(&rt).iter(|| {
                    let model = model.clone();
                    let requests: Vec<Vec<Tensor>> = rows.iter().take(k).cloned().collect();
                    async move {
                        let handles: Vec<_> = requests
                            .into_iter()
                            .map(|inputs| {
                                tokio::spawn(inference::infer(model.clone(), inputs.into(), None))
                            })
                            .collect();
                        for handle in handles {
                            handle
                                .await
                                .expect("the task completes")
                                .expect("inference runs");
                        }
                    }
                });
            });
        }
        g.finish();
    }
}

fn request_path(c: &mut Criterion) {
    let f = fixture();
    records_path(c, &f);
    v2_json_path(c, &f);
    v2_binary_path(c, &f);
    run_floor(c, &f);
    records_stages(c, &f);
    v2_json_stages(c, &f);
    audit_rows(c, &f);
    batch_split(c, &f);
    batcher(c, &f);
}

criterion_group! {
    name = benches;
    // Short runs: the whole file finishes in a few minutes on a small machine.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = request_path
}
criterion_main!(benches);
