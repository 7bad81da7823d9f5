//! The benchmark's ceiling: the routes prediction-api serves for the benchmark's workloads, the
//! same HTTP stack (axum on tokio) and the same JSON parser (serde_json), every body parsed and
//! checked in full, then a constant answer of the size a real one has. No model runs, so no
//! JSON-over-HTTP server on the same machine can answer these requests faster than this one.
//!
//! Usage: upper-bound [--host 127.0.0.1] [--port 8000]

use std::fmt::Write as _;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

/// prediction-api's default `--max-body-bytes`, so both accept the same requests.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
const BINARY_HEADER: &str = "inference-header-content-length";

/// What the benchmark's models take and give back.
struct Model {
    name: &'static str,
    numeric: &'static [&'static str],
    strings: &'static [&'static str],
    /// One answer of `POST /predict/{name}`, as prediction-api writes it.
    record_answer: &'static str,
    /// The V2 outputs: name, datatype, columns per row (0 for a `[N]` tensor), one row's data.
    outputs: &'static [(&'static str, &'static str, usize, &'static str)],
}

const IRIS: Model = Model {
    name: "iris",
    numeric: &["sepal_length", "sepal_width", "petal_length", "petal_width"],
    strings: &[],
    record_answer: r#"{"model":"iris","prediction":"setosa","probabilities":{"setosa":1.0,"versicolor":0.0,"virginica":0.0},"version":1}"#,
    outputs: &[
        ("label", "BYTES", 0, r#""setosa""#),
        ("probabilities", "FP32", 3, "1.0,0.0,0.0"),
    ],
};

const HOUSING: Model = Model {
    name: "housing",
    numeric: &[
        "lotSize",
        "age",
        "landValue",
        "livingArea",
        "pctCollege",
        "bedrooms",
        "fireplaces",
        "bathrooms",
        "rooms",
    ],
    strings: &[
        "heating",
        "fuel",
        "sewer",
        "waterfront",
        "newConstruction",
        "centralAir",
    ],
    record_answer: r#"{"model":"housing","prediction":141362.83,"version":1}"#,
    outputs: &[("variable", "FP32", 1, "141362.83")],
};

fn model(name: &str) -> Result<&'static Model, Failure> {
    match name {
        "iris" => Ok(&IRIS),
        "housing" => Ok(&HOUSING),
        _ => Err(Failure(
            StatusCode::NOT_FOUND,
            format!("unknown model '{name}'"),
        )),
    }
}

/// A refused request, answered in prediction-api's error shape.
struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let code = match self.0 {
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
            _ => "bad_request",
        };
        let body = serde_json::json!({"error": self.1, "code": code});
        (self.0, json_headers(), body.to_string()).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> Failure {
    Failure(StatusCode::BAD_REQUEST, message.into())
}

fn json_headers() -> [(header::HeaderName, &'static str); 1] {
    [(header::CONTENT_TYPE, "application/json")]
}

fn parse(bytes: &[u8]) -> Result<Value, Failure> {
    serde_json::from_slice(bytes).map_err(|e| bad_request(format!("malformed JSON: {e}")))
}

/// `POST /predict/{model}`: one record or an array of them; every feature must be there with
/// the right JSON type, as the real server requires before it builds tensors.
async fn predict(Path(name): Path<String>, body: Bytes) -> Result<Response, Failure> {
    let model = model(&name)?;
    let body = parse(&body)?;
    let (records, single) = match &body {
        Value::Array(items) => (items.as_slice(), false),
        Value::Object(_) => (std::slice::from_ref(&body), true),
        _ => return Err(bad_request("send a JSON object of features, or an array")),
    };
    for (row, record) in records.iter().enumerate() {
        check_record(model, record).map_err(|field| {
            Failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("record {row}: feature '{field}' is missing or has the wrong type"),
            )
        })?;
    }
    let answer = if single {
        model.record_answer.to_owned()
    } else {
        repeat_joined(model.record_answer, records.len(), '[', ']')
    };
    Ok((json_headers(), answer).into_response())
}

/// The first feature of `model` that `record` lacks or holds with the wrong type.
fn check_record(model: &Model, record: &Value) -> Result<(), &'static str> {
    for &field in model.numeric {
        if !record.get(field).is_some_and(Value::is_number) {
            return Err(field);
        }
    }
    for &field in model.strings {
        if !record.get(field).is_some_and(Value::is_string) {
            return Err(field);
        }
    }
    Ok(())
}

fn repeat_joined(item: &str, count: usize, open: char, close: char) -> String {
    let mut out = String::with_capacity(count * (item.len() + 1) + 2);
    out.push(open);
    for i in 0..count {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(close);
    out
}

/// `POST /v2/models/{name}/infer`: KServe V2 JSON, or Triton's binary extension (a JSON header
/// of `Inference-Header-Content-Length` bytes, then the tensors' raw bytes).
async fn infer(
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let model = model(&name)?;
    let (json, binary) = match headers.get(BINARY_HEADER) {
        Some(value) => {
            let length = value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&length| length <= body.len())
                .ok_or_else(|| bad_request(format!("bad {BINARY_HEADER}")))?;
            body.split_at(length)
        }
        None => (&body[..], &[][..]),
    };
    let request = parse(json)?;
    let rows = check_tensors(model, &request, binary.len())?;
    let mut answer = format!(r#"{{"model_name":"{}","model_version":"1""#, model.name);
    if let Some(id) = request.get("id").and_then(Value::as_str) {
        let _ = write!(answer, r#","id":{}"#, Value::from(id));
    }
    answer.push_str(r#","outputs":["#);
    for (i, (output, datatype, columns, row)) in model.outputs.iter().enumerate() {
        if i > 0 {
            answer.push(',');
        }
        let shape = match columns {
            0 => format!("[{rows}]"),
            c => format!("[{rows},{c}]"),
        };
        let data = repeat_joined(row, rows, '[', ']');
        let _ = write!(
            answer,
            r#"{{"name":"{output}","datatype":"{datatype}","shape":{shape},"data":{data}}}"#
        );
    }
    answer.push_str("]}");
    Ok((json_headers(), answer).into_response())
}

/// Checks every input the model needs: a `[rows, 1]` shape shared by all, a datatype, and
/// either `data` with as many elements as the shape says or binary bytes accounted for by
/// `binary_data_size`. Returns the row count.
fn check_tensors(model: &Model, request: &Value, binary_len: usize) -> Result<usize, Failure> {
    let inputs = request
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_request("'inputs' must be an array"))?;
    let mut rows = None;
    let mut binary_seen = 0usize;
    for &name in model.numeric.iter().chain(model.strings) {
        let input = inputs
            .iter()
            .find(|input| input.get("name").and_then(Value::as_str) == Some(name))
            .ok_or_else(|| bad_request(format!("input '{name}' is missing")))?;
        let shape: Vec<u64> = input
            .get("shape")
            .and_then(Value::as_array)
            .map(|dims| dims.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let [n, 1] = shape[..] else {
            return Err(bad_request(format!("input '{name}': shape must be [N, 1]")));
        };
        let n = usize::try_from(n).map_err(|_| bad_request("shape too large"))?;
        if *rows.get_or_insert(n) != n {
            return Err(bad_request("inputs disagree on the batch size"));
        }
        if input.get("datatype").and_then(Value::as_str).is_none() {
            return Err(bad_request(format!("input '{name}': datatype is missing")));
        }
        let binary_size = input
            .pointer("/parameters/binary_data_size")
            .and_then(Value::as_u64);
        match (input.get("data"), binary_size) {
            (Some(data), None) if count_elements(data) == n => {}
            (None, Some(size)) => {
                binary_seen = usize::try_from(size)
                    .ok()
                    .and_then(|size| binary_seen.checked_add(size))
                    .ok_or_else(|| bad_request("binary_data_size too large"))?;
            }
            _ => {
                return Err(bad_request(format!(
                    "input '{name}': give data with {n} elements or binary_data_size"
                )));
            }
        }
    }
    if binary_seen != binary_len {
        return Err(bad_request(format!(
            "the binary part has {binary_len} bytes, the inputs declare {binary_seen}"
        )));
    }
    Ok(rows.unwrap_or(0))
}

/// Elements of a flat or nested `data` array.
fn count_elements(data: &Value) -> usize {
    match data {
        Value::Array(items) => items.iter().map(count_elements).sum(),
        _ => 1,
    }
}

async fn ready() -> Response {
    (json_headers(), r#"{"ready":true}"#).into_response()
}

async fn live() -> Response {
    (json_headers(), r#"{"live":true}"#).into_response()
}

fn parse_args() -> Result<String, String> {
    let mut host = "127.0.0.1".to_owned();
    let mut port = "8000".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--host" => &mut host,
            "--port" => &mut port,
            _ => return Err(format!("unknown option {flag}; use --host and --port")),
        };
        *slot = args.next().ok_or(format!("{flag} needs a value"))?;
    }
    Ok(format!("{host}:{port}"))
}

#[tokio::main]
async fn main() {
    let address = match parse_args() {
        Ok(address) => address,
        Err(e) => {
            eprintln!("upper-bound: {e}");
            std::process::exit(2);
        }
    };
    let app = Router::new()
        .route("/predict/{name}", post(predict))
        .route("/v2/models/{name}/infer", post(infer))
        .route("/v2/health/ready", get(ready))
        .route("/v2/health/live", get(live))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("upper-bound: cannot listen on {address}: {e}");
            std::process::exit(1);
        }
    };
    println!("upper-bound: serving on {address}");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("upper-bound: {e}");
        std::process::exit(1);
    }
}
