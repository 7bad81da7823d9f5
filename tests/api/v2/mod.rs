//! KServe V2 model routes: metadata, readiness, and inference in JSON and in Triton's binary
//! tensor form, with every error status a client can cause. This file holds the request and
//! response builders the other modules share.

mod errors;
mod infer;
mod metadata;

use serde_json::{Value, json};

use crate::helpers::{TestApp, housing_record, json_with_status};

const IRIS_FEATURES: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
const CLASSES: [&str; 3] = ["setosa", "versicolor", "virginica"];
/// Triton's binary extension header, as clients spell it.
const HEADER_LENGTH: &str = "Inference-Header-Content-Length";

/// An iris V2 request: one FP32 [N, 1] input per feature, from rows of four features.
fn iris_request(rows: &[[f32; 4]]) -> Value {
    let inputs: Vec<Value> = IRIS_FEATURES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let column: Vec<f32> = rows.iter().map(|r| r[i]).collect();
            json!({"name": name, "datatype": "FP32", "shape": [rows.len(), 1], "data": column})
        })
        .collect();
    json!({ "inputs": inputs })
}

const SETOSA: [f32; 4] = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA: [f32; 4] = [6.7, 3.0, 5.2, 2.3];

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// BYTES elements in binary form: a u32 little-endian length, then the bytes.
fn bytes_elements(values: &[&str]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|s| {
            let mut e = (s.len() as u32).to_le_bytes().to_vec();
            e.extend_from_slice(s.as_bytes());
            e
        })
        .collect()
}

fn read_bytes_elements(mut bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while let Some((prefix, rest)) = bytes.split_first_chunk::<4>() {
        let (element, rest) = rest.split_at(u32::from_le_bytes(*prefix) as usize);
        out.push(String::from_utf8(element.to_vec()).expect("UTF-8"));
        bytes = rest;
    }
    out
}

fn read_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Posts a JSON header followed by `tail`, with the header length when there is a tail.
async fn post_binary(app: &TestApp, path: &str, header: &Value, tail: &[u8]) -> reqwest::Response {
    let mut body = serde_json::to_vec(header).expect("JSON");
    let length = body.len();
    body.extend_from_slice(tail);
    app.client
        .post(app.url(path))
        .header(HEADER_LENGTH, length)
        .body(body)
        .send()
        .await
        .expect("POST")
}

/// A binary response split into its JSON header and its outputs' bytes by name.
struct BinaryResponse {
    header: Value,
    tail: Vec<u8>,
}

impl BinaryResponse {
    async fn read(response: reqwest::Response) -> BinaryResponse {
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        let length: usize = response.headers()[HEADER_LENGTH]
            .to_str()
            .expect("ASCII")
            .parse()
            .expect("a byte count");
        let body = response.bytes().await.expect("body");
        let (header, tail) = body.split_at(length);
        BinaryResponse {
            header: serde_json::from_slice(header).expect("a JSON header"),
            tail: tail.to_vec(),
        }
    }

    /// The bytes of `output`, located by the sizes of the outputs before it.
    fn output(&self, name: &str) -> &[u8] {
        let mut start = 0;
        for output in self.header["outputs"].as_array().expect("outputs") {
            let size = output["parameters"]["binary_data_size"]
                .as_u64()
                .unwrap_or(0) as usize;
            if output["name"] == name {
                return &self.tail[start..start + size];
            }
            start += size;
        }
        panic!("no output {name} in {}", self.header)
    }
}

async fn error_of(response: reqwest::Response, status: u16) -> String {
    json_with_status(response, status).await["error"]
        .as_str()
        .expect("an error message")
        .to_string()
}

/// The housing record as V2 inputs: numbers as FP32 [1, 1], strings as BYTES [1, 1].
fn housing_inputs() -> Vec<(String, Value)> {
    housing_record()
        .as_object()
        .expect("record")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
