//! Tests of the wire formats: shared helpers, then one module per concern.

mod binary_decode;
mod json_decode;
mod properties;
mod response;
mod triton_layout;

use serde_json::{Value, json};

use super::wire::RequestInput;
use super::*;

/// Decodes one input named `x` sent as JSON `data`.
fn decode_json(shape: &[i64], datatype: &str, data: &str) -> Result<Tensor, TensorError> {
    let body = format!(
        r#"{{"inputs":[{{"name":"x","shape":{shape:?},"datatype":"{datatype}","data":{data}}}]}}"#
    );
    decode_request(body.as_bytes(), None).map(|(_, mut inputs)| inputs.remove(0))
}

/// Decodes one input named `x` sent as binary data of `size` declared bytes.
fn decode_binary(
    shape: &[i64],
    datatype: &str,
    size: usize,
    bytes: &[u8],
) -> Result<Tensor, TensorError> {
    let header = json!({"inputs": [{"name": "x", "shape": shape, "datatype": datatype,
        "parameters": {"binary_data_size": size}}]})
    .to_string();
    let mut body = header.clone().into_bytes();
    body.extend_from_slice(bytes);
    decode_request(&body, Some(header.len())).map(|(_, mut inputs)| inputs.remove(0))
}

/// A request body carrying `inputs`, each in binary form or as JSON `data`, with the header
/// length to send (`None` when nothing is binary).
fn request_body(inputs: &[(Tensor, bool)], extra: Value) -> (Vec<u8>, Option<usize>) {
    let mut tail = Vec::new();
    let mut json_inputs = Vec::new();
    for (tensor, as_binary) in inputs {
        let mut input = json!({"name": tensor.name(), "shape": tensor.shape(),
            "datatype": tensor.datatype().as_str()});
        if *as_binary {
            let start = tail.len();
            binary::encode(tensor.name(), tensor.data(), &mut tail).expect("encodes");
            input["parameters"] = json!({"binary_data_size": tail.len() - start});
        } else {
            let raw = json::encode(tensor.name(), tensor.data()).expect("JSON-safe");
            input["data"] = serde_json::from_str(raw.get()).expect("valid JSON");
        }
        json_inputs.push(input);
    }
    let mut request = json!({ "inputs": json_inputs });
    if let (Some(request), Value::Object(extra)) = (request.as_object_mut(), extra) {
        request.extend(extra);
    }
    let mut body = request.to_string().into_bytes();
    let header_length = (!tail.is_empty()).then_some(body.len());
    body.extend_from_slice(&tail);
    (body, header_length)
}

/// Reads a response body back into tensors, the way a client would.
fn read_response(encoded: &EncodedResponse) -> (InferenceResponse, Vec<Tensor>) {
    let (header, mut tail) =
        split_body(&encoded.body, encoded.header_length).expect("header length fits");
    let response: InferenceResponse = serde_json::from_slice(header).expect("response JSON");
    let tensors = response
        .outputs
        .iter()
        .map(|o| {
            let input = RequestInput {
                name: o.name.clone(),
                shape: o.shape.iter().map(|&d| d as i64).collect(),
                datatype: o.datatype.as_str().to_owned(),
                parameters: o.parameters.clone(),
                data: o.data.clone(),
            };
            input.decode(&mut tail).expect("output decodes")
        })
        .collect();
    assert!(tail.is_empty(), "binary tail fully claimed");
    (response, tensors)
}

/// Tensor equality that treats floats bit for bit, so NaN payloads compare equal.
fn assert_same(a: &Tensor, b: &Tensor) {
    assert_eq!(
        (a.name(), a.shape(), a.datatype()),
        (b.name(), b.shape(), b.datatype())
    );
    assert_eq!(bits(a.data()), bits(b.data()), "data of '{}'", a.name());
}

fn bits(data: &TensorData) -> TensorData {
    match data {
        TensorData::F32(v) => TensorData::U32(v.iter().map(|x| x.to_bits()).collect()),
        TensorData::F64(v) => TensorData::U64(v.iter().map(|x| x.to_bits()).collect()),
        other => other.clone(),
    }
}

fn tensor(name: &str, shape: &[usize], data: TensorData) -> Tensor {
    Tensor::new(name, shape.to_vec(), data).expect("consistent test tensor")
}
