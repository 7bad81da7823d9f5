//! Large requests stored as their tensors (layout `v2-binary`): each side is a V2 document in
//! Triton's binary tensor form, a JSON header naming each tensor's datatype, shape and
//! `binary_data_size`, followed by the tensors' little-endian bytes. The documents go to the
//! tensor files beside the database (tensor_files.rs).
//!
//! A V2 request is stored as it went over the wire instead: its body and the answer's body,
//! shared with the request rather than written again, JSON or Triton's binary form, with the
//! length of each one's JSON header in its reference. They are V2 documents of the same
//! kind, with the protocol's other members beside the tensors (`id`, `parameters`, the
//! requested outputs, the model's name) and tensors whose data may be JSON; [`decode`]
//! reads both. What this buys: the request's thread writes nothing, and the trail holds
//! exactly what the client sent and got. At full load, encoding the tensors took the request
//! threads of 100-row V2 requests about 6 µs each (BENCHMARKS.md); a JSON answer is more
//! bytes for the writer than its tensors, though.
//!
//! Why: writing a record's JSON costs more CPU than serving it takes when records are served
//! by the hundred: every number formatted, and every byte of text then paid for again by
//! SQLite (tensor_files.rs). A 1,000-record iris request is ≈ 200 KB of JSON against ≈ 41 KB
//! of tensors, copied as they are. SQL readers see these requests in the `predictions` view
//! without their features and outputs; `prediction-api audit` decodes them ([`decode`]) into
//! the rows a V2 JSON request would have given.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::tensor::{RequestInput, Tensor, TensorData, encode_binary};

/// The `layout` of a request stored this way.
pub const LAYOUT: &str = "v2-binary";

/// Requests whose input tensors hold at least this many elements are stored as tensors
/// (iris: 64 records; housing: 18). Smaller ones stay JSON text, readable from SQL: their
/// cost is mostly the request's own, not its numbers'.
pub const FROM_ELEMENTS: usize = 256;

/// Whether a request with these inputs is stored as tensors.
pub fn wanted(inputs: &[Tensor]) -> bool {
    inputs.iter().map(Tensor::len).sum::<usize>() >= FROM_ELEMENTS
}

/// The request's two sides, `{"inputs": [header…]}` and `{"outputs": [header…]}` each
/// followed by its tensors' bytes, written one after the other into one allocation (the
/// writer thread frees it, so one block crosses threads per request, not two); `None` if a
/// tensor cannot be written in binary form (a BYTES element over 4 GiB). The headers are
/// written straight from the tensors, each tensor's byte count worked out first, so every
/// byte is copied once.
pub fn encode_sides<'a>(
    inputs: &'a [Tensor],
    outputs: impl Iterator<Item = &'a Tensor> + Clone,
) -> Option<(Bytes, Bytes)> {
    let bytes: usize = inputs
        .iter()
        .chain(outputs.clone())
        .map(|t| binary_size(t) + HEADER_BYTES + t.name().len())
        .sum();
    let mut stored = Vec::with_capacity(bytes + 32);
    write_side(&mut stored, "inputs", inputs.iter())?;
    let split = stored.len();
    write_side(&mut stored, "outputs", outputs)?;
    let stored = Bytes::from(stored);
    Some((stored.slice(..split), stored.slice(split..)))
}

/// One side on its own, as [`encode_sides`] writes it (tests).
#[cfg(test)]
pub(super) fn encode<'a>(
    key: &str,
    tensors: impl Iterator<Item = &'a Tensor> + Clone,
) -> Option<Vec<u8>> {
    let mut stored = Vec::new();
    write_side(&mut stored, key, tensors)?;
    Some(stored)
}

/// About what one tensor's header takes besides its name: the keys, the datatype and a
/// two-dimensional shape.
const HEADER_BYTES: usize = 112;

/// One side, `{"<key>": [header…]}` and the tensors' bytes, appended to `out`.
fn write_side<'a>(
    out: &mut Vec<u8>,
    key: &str,
    tensors: impl Iterator<Item = &'a Tensor> + Clone,
) -> Option<()> {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":[");
    for (i, tensor) in tensors.clone().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_header(out, tensor);
    }
    out.extend_from_slice(b"]}");
    for tensor in tensors {
        encode_binary(tensor.name(), tensor.data(), out).ok()?;
    }
    Some(())
}

/// `{"name":…,"datatype":…,"shape":[…],"parameters":{"binary_data_size":…}}`, written by
/// hand: serde's escape scan of every key showed in profiles of 100-row requests.
fn write_header(out: &mut Vec<u8>, tensor: &Tensor) {
    let mut numbers = itoa::Buffer::new();
    out.extend_from_slice(b"{\"name\":");
    write_string(out, tensor.name());
    out.extend_from_slice(b",\"datatype\":\"");
    out.extend_from_slice(tensor.datatype().as_str().as_bytes());
    out.extend_from_slice(b"\",\"shape\":[");
    for (i, &dim) in tensor.shape().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(numbers.format(dim).as_bytes());
    }
    out.extend_from_slice(b"],\"parameters\":{\"binary_data_size\":");
    out.extend_from_slice(numbers.format(binary_size(tensor)).as_bytes());
    out.extend_from_slice(b"}}");
}

/// `text` as a JSON string: as it is when nothing in it needs escaping (tensor names almost
/// never do), through serde_json otherwise.
fn write_string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// The bytes a tensor takes in binary form: BYTES elements carry a 4-byte length each.
fn binary_size(tensor: &Tensor) -> usize {
    match tensor.data() {
        TensorData::Bytes(elements) => elements.iter().map(|e| e.len() + 4).sum(),
        data => data.len() * tensor.datatype().element_size().unwrap_or(0),
    }
}

/// A stored side as the V2 JSON document it stands for (`{"<key>": [{name, shape,
/// datatype, data}]}`, data flat), or `None` when the bytes are not a V2 document with
/// tensors under `key` and every byte after the header claimed by them. `header_length` is
/// the JSON header's length of a body stored as sent (the whole body when it was JSON);
/// without it the bytes must be what [`encode_sides`] wrote: one key, every tensor in binary
/// form, the header ending where its JSON does. NaN and infinities read back as `null`,
/// bytes that are not UTF-8 as U+FFFD.
pub fn decode(stored: &[u8], header_length: Option<usize>, key: &str) -> Option<Value> {
    // The members stay raw text: tensors with JSON data are parsed once, as the server
    // parses a request, and members other than `key` are not parsed at all.
    type Header = BTreeMap<String, Box<RawValue>>;
    let (mut document, mut binary) = match header_length {
        Some(length) => {
            let (header, binary) = stored.split_at_checked(length)?;
            (serde_json::from_slice::<Header>(header).ok()?, binary)
        }
        None => {
            let mut header = serde_json::Deserializer::from_slice(stored).into_iter::<Header>();
            let document = header.next()?.ok()?;
            (document, stored.get(header.byte_offset()..)?)
        }
    };
    let as_sent = header_length.is_some();
    let entries = document.remove(key)?;
    if !as_sent && !document.is_empty() {
        return None;
    }
    let entries: Vec<RequestInput> = serde_json::from_str(entries.get()).ok()?;
    let mut tensors = Vec::with_capacity(entries.len());
    for input in entries {
        if input.data.is_some() && !as_sent {
            return None;
        }
        tensors.push(input.decode(&mut binary).ok()?);
    }
    if !binary.is_empty() {
        return None;
    }
    super::rows::document_value(key, &tensors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tensor(name: &str, shape: Vec<usize>, data: TensorData) -> Tensor {
        Tensor::new(name, shape, data).expect("tensor")
    }

    #[test]
    fn every_datatype_round_trips_to_its_v2_json() {
        let tensors = [
            tensor("x", vec![2, 2], TensorData::F32(vec![5.1, 3.5, 1.4, 0.2])),
            tensor("n", vec![2], TensorData::I64(vec![-3, 1 << 40])),
            tensor("b", vec![2, 1], TensorData::Bool(vec![true, false])),
            tensor(
                "s",
                vec![2],
                TensorData::Bytes(vec![b"setosa".to_vec(), "é".as_bytes().to_vec()]),
            ),
        ];
        let stored = encode("inputs", tensors.iter()).expect("encodes");
        let document = decode(&stored, None, "inputs").expect("decodes");
        assert_eq!(
            document,
            json!({"inputs": [
                {"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]},
                {"name": "n", "shape": [2], "datatype": "INT64", "data": [-3, 1_099_511_627_776_i64]},
                {"name": "b", "shape": [2, 1], "datatype": "BOOL", "data": [true, false]},
                {"name": "s", "shape": [2], "datatype": "BYTES", "data": ["setosa", "é"]},
            ]})
        );
    }

    #[test]
    fn the_header_declares_each_tensor_s_byte_count() {
        let s = tensor(
            "s",
            vec![2],
            TensorData::Bytes(vec![b"ab".to_vec(), Vec::new()]),
        );
        let x = tensor("x", vec![3], TensorData::F64(vec![1.0, 2.0, 3.0]));
        let stored = encode("outputs", [&s, &x].into_iter()).expect("encodes");
        let header: Value = serde_json::Deserializer::from_slice(&stored)
            .into_iter()
            .next()
            .expect("a header")
            .expect("JSON");
        let sizes: Vec<&Value> = header["outputs"]
            .as_array()
            .expect("tensors")
            .iter()
            .map(|t| &t["parameters"]["binary_data_size"])
            .collect();
        assert_eq!(sizes, [&json!(10), &json!(24)]);
        assert_eq!(header["outputs"][1]["datatype"], "FP64");
    }

    #[test]
    fn both_sides_are_written_in_one_buffer_and_names_are_escaped() {
        let x = tensor(
            "a \"quoted\" \\ name\n",
            vec![2],
            TensorData::F32(vec![1.5, 2.0]),
        );
        let y = tensor("y", vec![2], TensorData::I64(vec![3, 4]));
        let (features, outputs) =
            encode_sides(std::slice::from_ref(&x), std::iter::once(&y)).expect("encodes");
        assert_eq!(
            features.as_ref(),
            encode("inputs", std::iter::once(&x)).expect("encodes")
        );
        let inputs = decode(&features, None, "inputs").expect("decodes");
        assert_eq!(inputs["inputs"][0]["name"], "a \"quoted\" \\ name\n");
        assert_eq!(inputs["inputs"][0]["data"], json!([1.5, 2.0]));
        let answers = decode(&outputs, None, "outputs").expect("decodes");
        assert_eq!(answers["outputs"][0]["data"], json!([3, 4]));
    }

    #[test]
    fn the_tensors_take_their_bytes_and_no_formatting() {
        let x = tensor("x", vec![1000, 4], TensorData::F32(vec![5.1; 4000]));
        let stored = encode("inputs", std::iter::once(&x)).expect("encodes");
        assert!(stored.len() < 16_000 + 120, "{} bytes", stored.len());
    }

    #[test]
    fn damaged_or_foreign_bytes_decode_to_nothing_without_panicking() {
        let x = tensor("x", vec![3], TensorData::F32(vec![1.0, 2.0, 3.0]));
        let stored = encode("outputs", std::iter::once(&x)).expect("encodes");
        for cut in 0..stored.len() {
            assert!(
                decode(&stored[..cut], None, "outputs").is_none(),
                "cut at {cut}"
            );
        }
        let mut longer = stored.clone();
        longer.push(0);
        assert!(decode(&longer, None, "outputs").is_none());
        assert!(
            decode(&stored, None, "inputs").is_none(),
            "another side's key"
        );
        assert!(decode(b"[1,2,3]", None, "outputs").is_none());
        let inline = br#"{"outputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}"#;
        assert!(
            decode(inline, None, "outputs").is_none(),
            "data in the header"
        );
        assert!(decode(br#"{"outputs":[],"inputs":[]}"#, None, "outputs").is_none());
        let negative = br#"{"outputs":[{"name":"x","shape":[-1],"datatype":"FP32"}]}"#;
        assert!(decode(negative, None, "outputs").is_none());
        let whole = decode(&stored, None, "outputs").expect("whole");
        assert_eq!(whole["outputs"][0]["data"], json!([1.0, 2.0, 3.0]));
    }

    /// A Triton binary request body: `header`, then `binary`; its header length.
    fn body(header: &Value, binary: &[u8]) -> (Vec<u8>, usize) {
        let mut body = serde_json::to_vec(header).expect("JSON");
        let header_length = body.len();
        body.extend_from_slice(binary);
        (body, header_length)
    }

    #[test]
    fn bodies_as_sent_read_back_with_their_other_members_and_json_data() {
        let floats: Vec<u8> = [1.5f32, 2.5].iter().flat_map(|x| x.to_le_bytes()).collect();
        let (request, header_length) = body(
            &json!({
                "id": "r1",
                "parameters": {"binary_data_output": false},
                "inputs": [
                    {"name": "x", "shape": [2, 1], "datatype": "FP32",
                     "parameters": {"binary_data_size": 8}},
                    {"name": "n", "shape": [2], "datatype": "INT64", "data": [7, 8]},
                ],
                "outputs": [{"name": "label"}],
            }),
            &floats,
        );
        let document = decode(&request, Some(header_length), "inputs").expect("decodes");
        assert_eq!(
            document,
            json!({"inputs": [
                {"name": "x", "shape": [2, 1], "datatype": "FP32", "data": [1.5, 2.5]},
                {"name": "n", "shape": [2], "datatype": "INT64", "data": [7, 8]},
            ]})
        );
        // A JSON answer is its own header; whitespace after it is part of it.
        let answer = br#"{"model_name":"m","model_version":"1","id":"r1","outputs":[
            {"name":"label","shape":[2],"datatype":"BYTES","data":["a","b"]}]}  "#;
        let document = decode(answer, Some(answer.len()), "outputs").expect("decodes");
        assert_eq!(document["outputs"][0]["data"], json!(["a", "b"]));
        // A header padded past its JSON: the binary data starts at the stated length.
        let mut padded = serde_json::to_vec(&json!({"outputs": [
            {"name": "x", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}}
        ]}))
        .expect("JSON");
        padded.extend_from_slice(b"   ");
        let header_length = padded.len();
        padded.extend_from_slice(&floats);
        let document = decode(&padded, Some(header_length), "outputs").expect("decodes");
        assert_eq!(document["outputs"][0]["data"], json!([1.5, 2.5]));
    }

    #[test]
    fn a_body_as_sent_that_does_not_add_up_reads_as_nothing() {
        let floats: Vec<u8> = [1.5f32, 2.5].iter().flat_map(|x| x.to_le_bytes()).collect();
        let header = json!({"inputs": [
            {"name": "x", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}}
        ]});
        let (request, header_length) = body(&header, &floats);
        assert!(decode(&request, Some(header_length), "inputs").is_some());
        assert!(
            decode(&request, Some(header_length), "outputs").is_none(),
            "no such key"
        );
        assert!(
            decode(&request, Some(request.len() + 1), "inputs").is_none(),
            "too long"
        );
        assert!(
            decode(&request, Some(header_length - 1), "inputs").is_none(),
            "cut header"
        );
        assert!(decode(&request[..request.len() - 1], Some(header_length), "inputs").is_none());
        let mut longer = request.clone();
        longer.push(0);
        assert!(
            decode(&longer, Some(header_length), "inputs").is_none(),
            "bytes left over"
        );
        assert!(decode(&request, Some(usize::MAX), "inputs").is_none());
    }

    #[test]
    fn values_json_cannot_hold_are_read_back_as_null_or_replaced() {
        let x = tensor("x", vec![2], TensorData::F32(vec![f32::NAN, 1.0]));
        let s = tensor("s", vec![1], TensorData::Bytes(vec![vec![0xff, 0xfe]]));
        let stored = encode("outputs", [&x, &s].into_iter()).expect("encodes");
        let document = decode(&stored, None, "outputs").expect("decodes");
        assert_eq!(document["outputs"][0]["data"], json!([null, 1.0]));
        assert_eq!(document["outputs"][1]["data"], json!(["\u{fffd}\u{fffd}"]));
    }

    #[test]
    fn the_threshold_counts_every_input_element() {
        let narrow = tensor("a", vec![63, 4], TensorData::F32(vec![0.0; 252]));
        let wide = tensor("a", vec![64, 4], TensorData::F32(vec![0.0; 256]));
        assert!(!wanted(std::slice::from_ref(&narrow)));
        assert!(wanted(std::slice::from_ref(&wide)));
    }
}
