//! Large requests stored as their tensors (layout `v2-binary`): each side is a V2 document in
//! Triton's binary tensor form, a JSON header naming each tensor's datatype, shape and
//! `binary_data_size`, followed by the tensors' little-endian bytes. The documents go to the
//! tensor files beside the database (tensor_files.rs).
//!
//! Why: writing a record's JSON costs more CPU than serving it takes when records are served
//! by the hundred: every number formatted, and every byte of text then paid for again by
//! SQLite (tensor_files.rs). A 1,000-record iris request is ≈ 200 KB of JSON against ≈ 41 KB
//! of tensors, copied as they are. SQL readers see these requests in the `predictions` view
//! without their features and outputs; `prediction-api audit` decodes them ([`decode`]) into
//! the rows a V2 JSON request would have given.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::contract::DataType;
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

/// `{"<key>": [header…]}` followed by every tensor's bytes, in order; `None` if a tensor
/// cannot be written in binary form (a BYTES element over 4 GiB). The header is written
/// straight from the tensors (no JSON tree) with each tensor's byte count worked out first,
/// so the bytes are copied once, after it.
pub fn encode<'a>(key: &str, tensors: impl Iterator<Item = &'a Tensor> + Clone) -> Option<Vec<u8>> {
    let sizes: Vec<usize> = tensors.clone().map(binary_size).collect();
    let headers: Vec<Header<'_>> = tensors
        .clone()
        .zip(&sizes)
        .map(|(tensor, &size)| Header {
            name: tensor.name(),
            datatype: tensor.datatype(),
            shape: tensor.shape(),
            parameters: Parameters {
                binary_data_size: size,
            },
        })
        .collect();
    let mut stored = Vec::with_capacity(sizes.iter().sum::<usize>() + 128 * sizes.len() + 16);
    serde_json::to_writer(&mut stored, &Document { key, headers }).ok()?;
    for tensor in tensors {
        encode_binary(tensor.name(), tensor.data(), &mut stored).ok()?;
    }
    Some(stored)
}

/// The bytes a tensor takes in binary form: BYTES elements carry a 4-byte length each.
fn binary_size(tensor: &Tensor) -> usize {
    match tensor.data() {
        TensorData::Bytes(elements) => elements.iter().map(|e| e.len() + 4).sum(),
        data => data.len() * tensor.datatype().element_size().unwrap_or(0),
    }
}

/// `{"<key>": [{name, datatype, shape, parameters: {binary_data_size}}, …]}`.
struct Document<'a> {
    key: &'a str,
    headers: Vec<Header<'a>>,
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.key, &self.headers)?;
        map.end()
    }
}

/// One tensor's entry in the header.
#[derive(Serialize)]
struct Header<'a> {
    name: &'a str,
    datatype: DataType,
    shape: &'a [usize],
    parameters: Parameters,
}

#[derive(Serialize)]
struct Parameters {
    binary_data_size: usize,
}

/// A stored side as the V2 JSON document it stands for (`{"<key>": [{name, shape,
/// datatype, data}]}`, data flat), or `None` when the bytes are not what [`encode`] wrote
/// under `key`: one key, every tensor in binary form, every byte claimed. NaN and infinities
/// read back as `null`, bytes that are not UTF-8 as U+FFFD.
pub fn decode(stored: &[u8], key: &str) -> Option<Value> {
    let mut header = serde_json::Deserializer::from_slice(stored).into_iter::<Map<String, Value>>();
    let mut document = header.next()?.ok()?;
    let mut binary = stored.get(header.byte_offset()..)?;
    let entries = match (document.remove(key)?, document.is_empty()) {
        (Value::Array(entries), true) => entries,
        _ => return None,
    };
    let mut tensors = Vec::with_capacity(entries.len());
    for entry in entries {
        let input: RequestInput = serde_json::from_value(entry).ok()?;
        if input.data.is_some() {
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
        let document = decode(&stored, "inputs").expect("decodes");
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
            assert!(decode(&stored[..cut], "outputs").is_none(), "cut at {cut}");
        }
        let mut longer = stored.clone();
        longer.push(0);
        assert!(decode(&longer, "outputs").is_none());
        assert!(decode(&stored, "inputs").is_none(), "another side's key");
        assert!(decode(b"[1,2,3]", "outputs").is_none());
        let inline = br#"{"outputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}"#;
        assert!(decode(inline, "outputs").is_none(), "data in the header");
        assert!(decode(br#"{"outputs":[],"inputs":[]}"#, "outputs").is_none());
        let negative = br#"{"outputs":[{"name":"x","shape":[-1],"datatype":"FP32"}]}"#;
        assert!(decode(negative, "outputs").is_none());
        let whole = decode(&stored, "outputs").expect("whole");
        assert_eq!(whole["outputs"][0]["data"], json!([1.0, 2.0, 3.0]));
    }

    #[test]
    fn values_json_cannot_hold_are_read_back_as_null_or_replaced() {
        let x = tensor("x", vec![2], TensorData::F32(vec![f32::NAN, 1.0]));
        let s = tensor("s", vec![1], TensorData::Bytes(vec![vec![0xff, 0xfe]]));
        let stored = encode("outputs", [&x, &s].into_iter()).expect("encodes");
        let document = decode(&stored, "outputs").expect("decodes");
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
