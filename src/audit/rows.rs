//! An [`AuditEntry`] as a stored request: its columns, and its records' features and outputs
//! as two JSON arrays with one element per record (the `predictions` view splits them).
//!
//! The arrays are made on the request's own thread, where its inputs and outputs are still in
//! cache and are freed by the thread that allocated them; the writer thread only stores them
//! (store.rs). `/predict` stores the body and the answer as they went over the wire (shared,
//! not copied) when every record is within the caps, so a small batch costs the trail two
//! texts it already has; V2 JSON stores its request and answer documents the same way
//! (layout `v2`; a side sent as Triton binary data is written as one V2 JSON document), and
//! the view slices their tensors. Large requests go to the tensor files (layout `v2-binary`,
//! binary.rs): a V2 request's body and answer as sent, whether JSON or binary, so nothing is
//! written on its thread; the other routes' tensors copied as they are, about a fifth of the
//! JSON of records with named fields, and no number formatted.

use bytes::Bytes;
use serde::Serializer;
use serde::ser::{Serialize, SerializeMap};
use serde_json::{Value, json};

use super::tensor_files::Block;
use super::{AuditEntry, AuditInputs, Outcome, binary};
use crate::inference::Outputs;
use crate::inference::answers::{Column, Floats, Nested};
use crate::repository::LoadedModel;
use crate::tensor::{Tensor, TensorData};

/// Rows wider than this many elements (per input or output) are stored as a marker, so one
/// huge tensor cannot blow up the database.
pub const MAX_ROW_ELEMENTS: usize = 1_000;
/// Serialized features or outputs longer than this are stored as a marker (long strings).
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// The features and outputs of every record of a predicted request, as two JSON arrays.
pub struct RowTexts {
    rows: usize,
    features: Bytes,
    outputs: Bytes,
    /// `None`: two JSON arrays with one element per record; `Some("v2")`: the V2 JSON
    /// request and answer documents; `Some(binary::LAYOUT)`: the two documents in Triton's
    /// binary form.
    layout: Option<&'static str>,
    /// In layout `v2-binary`, the JSON header length of each side stored as it was sent;
    /// `None` for a side the trail wrote (binary.rs).
    header_lengths: [Option<usize>; 2],
    /// In layout `v2-binary`, the two sides, copied into one block for the tensor files
    /// (`features` and `outputs` are then empty).
    block: Option<Block>,
}

/// A V2 request's or answer's body as it went over the wire: JSON, or Triton's binary form,
/// whose JSON header is `header_length` bytes long.
#[derive(Debug, Clone)]
pub struct Sent {
    pub body: Bytes,
    pub header_length: Option<usize>,
}

impl Sent {
    /// The body when it is JSON as a whole.
    fn json(self) -> Option<Bytes> {
        self.header_length.is_none().then_some(self.body)
    }

    /// The length of its JSON part: all of it, for a JSON body.
    fn json_length(&self) -> usize {
        self.header_length.unwrap_or(self.body.len())
    }
}

/// A request body the trail can keep: the body itself when nothing else holds its memory,
/// a copy otherwise. A body that arrived in one read is a slice of the connection's read
/// buffer; kept until the writer is done with it (up to the linger, and longer when it is
/// behind), it would make the connection allocate a fresh read buffer for every request,
/// where it reuses the same one when nothing else holds it. That cost the request threads
/// ≈ 5 µs on a 100-row V2 request (BENCHMARKS.md), the copy of a few KB far less.
fn detached(body: Bytes) -> Bytes {
    if body.is_unique() {
        body
    } else {
        Bytes::copy_from_slice(&body)
    }
}

impl RowTexts {
    /// Writes each record's features (the record as sent, or each input tensor's row by name)
    /// and outputs (by output name, as the record APIs answer them); a large request given as
    /// tensors is kept as its tensors instead ([`RowTexts::tensors`]).
    pub fn new(model: &LoadedModel, inputs: &AuditInputs, outputs: &Outputs) -> RowTexts {
        if let AuditInputs::Tensors(tensors) = inputs
            && model.rows_everywhere()
            && binary::wanted(tensors)
            && let Some(rows) = RowTexts::tensors(tensors, outputs)
        {
            return rows;
        }
        let rows = match inputs {
            AuditInputs::Records(records) => records.len(),
            // The records are along the first dimension of the model's first input (as the
            // inference checks count them), which the request may have sent later.
            AuditInputs::Tensors(tensors) => model
                .signature
                .inputs
                .first()
                .and_then(|spec| tensors.iter().find(|t| t.name() == spec.name))
                .or(tensors.first())
                .map_or(0, |t| t.shape().first().copied().unwrap_or(1)),
        };
        // Each input with whether it holds the records (else each record shows all of it).
        let mut sorted: Vec<(&Tensor, bool)> = match inputs {
            AuditInputs::Records(_) => Vec::new(),
            AuditInputs::Tensors(tensors) => tensors
                .iter()
                .map(|t| (t, model.input_has_rows(t, rows)))
                .collect(),
        };
        sorted.sort_by(|a, b| a.0.name().cmp(b.0.name()));
        let mut features = JsonArray::with_capacity(rows * 128);
        for r in 0..rows {
            match inputs {
                AuditInputs::Records(records) => match records.get(r) {
                    Some(record) => features.push_record(record),
                    None => features.push(&Value::Null),
                },
                AuditInputs::Tensors(_) => features.push(&TensorRow { sorted: &sorted, r }),
            }
        }
        let columns = output_columns(model, outputs, rows);
        let mut answers = JsonArray::with_capacity(rows * 128);
        for r in 0..rows {
            answers.push(&OutputRow {
                columns: &columns,
                r,
            });
        }
        RowTexts {
            rows,
            features: features.finish(),
            outputs: answers.finish(),
            layout: None,
            header_lengths: [None; 2],
            block: None,
        }
    }

    /// The request's records and answers as they went over the wire: `body` is a JSON record
    /// or an array of them, `answer` the answer to it. The body is kept as it is unless a
    /// record is too wide (or the body too long) to keep: then each record is written with
    /// its marker, as [`RowTexts::new`] does. `elements` is how many elements each record is
    /// known to hold (records that became tensors hold exactly the model's inputs); when it is
    /// unknown or over the cap, every record is counted.
    pub fn as_sent(
        records: &[Value],
        elements: Option<usize>,
        body: Bytes,
        answer: Bytes,
        single: bool,
    ) -> RowTexts {
        let rows = records.len();
        let narrow = elements.is_some_and(|n| n <= MAX_ROW_ELEMENTS)
            || records
                .iter()
                .all(|r| count_elements(r) <= MAX_ROW_ELEMENTS);
        let within = body.len() <= rows.saturating_mul(MAX_ROW_BYTES) && narrow;
        let wrap = |one: Bytes| -> Bytes {
            let mut array = Vec::with_capacity(one.len() + 2);
            array.push(b'[');
            array.extend_from_slice(&one);
            array.push(b']');
            array.into()
        };
        let features = match (within, single) {
            (true, true) => wrap(body),
            (true, false) => detached(body),
            (false, _) => {
                let mut features = JsonArray::with_capacity(rows * 128);
                records.iter().for_each(|r| features.push_record(r));
                features.finish()
            }
        };
        let outputs = if single { wrap(answer) } else { answer };
        RowTexts {
            rows,
            features,
            outputs,
            layout: None,
            header_lengths: [None; 2],
            block: None,
        }
    }

    /// A V2 request and its answer as the trail keeps them, when every input and output has
    /// the records along its first dimension and no row is wider than the cap (the view and
    /// the readback slice them by that dimension); otherwise `None`, and the caller writes
    /// the rows with [`RowTexts::new`]. A large request is kept in the tensor files: its body
    /// and answer as sent when the handler kept both (`request`, `answer`), its tensors
    /// otherwise ([`RowTexts::tensors`]). A smaller one is kept as two V2 JSON documents
    /// (layout `v2`), a side that went over the wire as JSON as sent, one that went as
    /// Triton binary data written from its tensors, flat, once per request rather than once
    /// per record.
    pub fn v2(
        inputs: &[Tensor],
        outputs: &Outputs,
        request: Option<Sent>,
        answer: Option<Sent>,
    ) -> Option<RowTexts> {
        if binary::wanted(inputs) {
            return match (request, answer) {
                (Some(request), Some(answer)) => RowTexts::sent(inputs, outputs, request, answer),
                _ => RowTexts::tensors(inputs, outputs),
            };
        }
        let (request, answer) = (request.and_then(Sent::json), answer.and_then(Sent::json));
        let rows = sliceable_rows(inputs, outputs)?;
        if request
            .as_ref()
            .is_some_and(|r| r.len() > rows.saturating_mul(MAX_ROW_BYTES))
        {
            return None;
        }
        let features = request
            .map(detached)
            .unwrap_or_else(|| document("inputs", inputs.iter().map(V2Tensor).collect()));
        let outputs = answer.unwrap_or_else(|| {
            document(
                "outputs",
                outputs.iter().map(|(_, o)| V2Tensor(o.tensor())).collect(),
            )
        });
        Some(RowTexts {
            rows,
            features,
            outputs,
            layout: Some("v2"),
            header_lengths: [None; 2],
            block: None,
        })
    }

    /// A large V2 request's body and answer as they went over the wire, for the tensor files
    /// (layout `v2-binary`, binary.rs), under the same conditions as [`RowTexts::tensors`],
    /// which are checked on the tensors the bodies were decoded into and encoded from.
    fn sent(inputs: &[Tensor], outputs: &Outputs, request: Sent, answer: Sent) -> Option<RowTexts> {
        let rows = file_rows(inputs, outputs)?;
        Some(RowTexts {
            rows,
            header_lengths: [Some(request.json_length()), Some(answer.json_length())],
            features: Bytes::new(),
            outputs: Bytes::new(),
            layout: Some(binary::LAYOUT),
            block: Some(Block::copy([&request.body, &answer.body])),
        })
    }

    /// The request's inputs and outputs as their tensors in Triton's binary form (layout
    /// `v2-binary`, binary.rs), when every tensor has the records along its first dimension
    /// and no row is wider than the caps (elements, and bytes of BYTES elements); otherwise
    /// `None`, and the JSON paths write markers for the rows over them.
    pub fn tensors(inputs: &[Tensor], outputs: &Outputs) -> Option<RowTexts> {
        let rows = file_rows(inputs, outputs)?;
        let (features, outputs) =
            binary::encode_sides(inputs, outputs.iter().map(|(_, o)| o.tensor()))?;
        Some(RowTexts {
            rows,
            features: Bytes::new(),
            outputs: Bytes::new(),
            layout: Some(binary::LAYOUT),
            header_lengths: [None; 2],
            block: Some(Block::copy([&features, &outputs])),
        })
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The length of the two texts.
    pub fn bytes(&self) -> usize {
        self.features.len() + self.outputs.len() + self.block.as_ref().map_or(0, Block::len)
    }

    pub fn layout(&self) -> Option<&'static str> {
        self.layout
    }

    /// The features' JSON text. Both texts are serde_json's output or a body serde_json
    /// parsed (which rejects invalid UTF-8), so they are UTF-8 JSON without a check here;
    /// except in layout `v2-binary`, where they are bytes (binary.rs).
    pub fn features(&self) -> &[u8] {
        self.block.as_ref().map_or(&self.features, |b| b.side(0))
    }

    /// The outputs' JSON text.
    pub fn outputs(&self) -> &[u8] {
        self.block.as_ref().map_or(&self.outputs, |b| b.side(1))
    }

    /// The block of a request kept in the tensor files (its inputs and outputs documents),
    /// shared rather than copied: the writer appends it as it is. Each side comes with the
    /// length of its JSON header when it is a body as sent.
    pub fn tensor_block(&self) -> Option<(&Block, [Option<usize>; 2])> {
        self.block.as_ref().map(|b| (b, self.header_lengths))
    }
}

/// The records of a request bound for the tensor files: `None` unless every tensor has them
/// along its first dimension and no row is over the caps (the readback slices them).
fn file_rows(inputs: &[Tensor], outputs: &Outputs) -> Option<usize> {
    let rows = sliceable_rows(inputs, outputs)?;
    let mut all = inputs.iter().chain(outputs.iter().map(|(_, o)| o.tensor()));
    all.all(|t| text_rows_within_cap(t, rows)).then_some(rows)
}

/// A JSON array written element by element, each element capped.
struct JsonArray {
    text: Vec<u8>,
}

impl JsonArray {
    fn with_capacity(bytes: usize) -> JsonArray {
        let mut text = Vec::with_capacity(bytes + 2);
        text.push(b'[');
        JsonArray { text }
    }

    /// A record as given, or a marker when it holds too many elements.
    fn push_record(&mut self, record: &Value) {
        let elements = count_elements(record);
        if elements > MAX_ROW_ELEMENTS {
            self.push(&truncated(elements));
        } else {
            self.push(record);
        }
    }

    /// Appends `value` as JSON, or a marker when its text is too long.
    fn push(&mut self, value: &impl Serialize) {
        if self.text.len() > 1 {
            self.text.push(b',');
        }
        let start = self.text.len();
        if serde_json::to_writer(&mut self.text, value).is_err() {
            // Our serializers cannot fail; keep the row readable if one ever does.
            self.text.truncate(start);
            self.text.extend_from_slice(br#"{"unserializable":true}"#);
        }
        let bytes = self.text.len() - start;
        if bytes > MAX_ROW_BYTES {
            self.text.truncate(start);
            let marker = json!({"truncated": true, "bytes": bytes});
            // Writing a small map into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.text, &marker);
        }
    }

    fn finish(mut self) -> Bytes {
        self.text.push(b']');
        self.text.into()
    }
}

/// One stored request, borrowing what it can from its entry.
pub struct Row<'a> {
    pub time: &'a str,
    pub request_id: &'a str,
    pub model: &'a str,
    pub version: Option<i64>,
    pub route: &'a str,
    /// Records in the request (1 for a failed request).
    pub rows: i64,
    /// JSON texts, or binary documents in layout `v2-binary` ([`RowTexts::features`]).
    pub features: Option<&'a [u8]>,
    pub outputs: Option<&'a [u8]>,
    pub latency: std::time::Duration,
    pub status: i64,
    pub error: Option<&'a str>,
    pub layout: Option<&'static str>,
}

impl<'a> Row<'a> {
    /// Whether the texts are binary tensors (binary.rs) rather than JSON.
    pub fn is_binary(&self) -> bool {
        self.layout == Some(binary::LAYOUT)
    }

    pub fn of(entry: &'a AuditEntry, time: &'a str) -> Row<'a> {
        let (features, outputs, error, layout) = match &entry.outcome {
            Outcome::Failed { error } => (None, None, Some(error.as_str()), None),
            Outcome::Predicted { rows } => (
                Some(rows.features()),
                Some(rows.outputs()),
                None,
                rows.layout(),
            ),
        };
        Row {
            time,
            request_id: &entry.request_id,
            model: &entry.model,
            version: entry.version.map(|v| v as i64),
            route: entry.route,
            rows: entry.rows() as i64,
            features,
            outputs,
            latency: entry.latency,
            status: i64::from(entry.status),
            error,
            layout,
        }
    }
}

/// The outputs as the answer columns of the record APIs, sorted by name like a JSON map.
fn output_columns<'a>(
    model: &'a LoadedModel,
    outputs: &'a Outputs,
    rows: usize,
) -> Vec<Column<'a>> {
    let mut columns: Vec<Column<'a>> = outputs
        .iter()
        .map(|(name, output)| Column::new(model, name, output, rows))
        .collect();
    columns.sort_by(|a, b| a.name.cmp(b.name));
    columns
}

/// Row `r` of every output: `{name: value}`, a marker for rows too wide to keep.
struct OutputRow<'a> {
    columns: &'a [Column<'a>],
    r: usize,
}

impl Serialize for OutputRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.columns.len()))?;
        for column in self.columns {
            if column.width > MAX_ROW_ELEMENTS {
                map.serialize_entry(column.name, &truncated(column.width))?;
            } else {
                map.serialize_entry(column.name, &column.row_f32(self.r))?;
            }
        }
        map.end()
    }
}

/// The records of a request whose every input and output has them along its first
/// dimension, none wider than the cap (what the view and the readback can slice); `None`
/// otherwise, or when there is no record.
fn sliceable_rows(inputs: &[Tensor], outputs: &Outputs) -> Option<usize> {
    let rows = *inputs.first()?.shape().first()?;
    let fits = |t: &Tensor| {
        t.shape().first() == Some(&rows)
            && t.shape().iter().skip(1).product::<usize>() <= MAX_ROW_ELEMENTS
    };
    let within =
        rows > 0 && inputs.iter().all(fits) && outputs.iter().all(|(_, o)| fits(o.tensor()));
    within.then_some(rows)
}

/// Whether every row of a BYTES tensor holds at most [`MAX_ROW_BYTES`] of text (other
/// datatypes are bounded by the element cap).
fn text_rows_within_cap(t: &Tensor, rows: usize) -> bool {
    let TensorData::Bytes(elements) = t.data() else {
        return true;
    };
    let width = elements.len() / rows.max(1);
    elements
        .chunks(width.max(1))
        .all(|row| row.iter().map(Vec::len).sum::<usize>() <= MAX_ROW_BYTES)
}

/// `{key: [tensor, ...]}`, a V2 request (`inputs`) or answer (`outputs`) document.
fn document(key: &str, tensors: Vec<V2Tensor<'_>>) -> Bytes {
    let mut text = Vec::with_capacity(256);
    let mut map = serde_json::Serializer::new(&mut text);
    let written = (|| {
        let mut m = map.serialize_map(Some(1))?;
        m.serialize_entry(key, &tensors)?;
        SerializeMap::end(m)
    })();
    // Writing into a Vec cannot fail, and every element is serializable.
    debug_assert!(written.is_ok());
    text.into()
}

/// `tensors` as the V2 JSON document `{key: [tensor, ...]}`, read back as a tree (binary.rs's
/// readback: the same document a V2 JSON request is stored as).
pub(super) fn document_value(key: &str, tensors: &[Tensor]) -> Option<Value> {
    serde_json::from_slice(&document(key, tensors.iter().map(V2Tensor).collect())).ok()
}

/// A tensor as a V2 JSON document writes it, its data flat (BYTES as strings, f32 as f32).
struct V2Tensor<'a>(&'a Tensor);

impl Serialize for V2Tensor<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let elements = [t.shape().iter().product::<usize>()];
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("name", t.name())?;
        map.serialize_entry("shape", t.shape())?;
        map.serialize_entry("datatype", &t.datatype())?;
        map.serialize_entry("data", &Nested(t.data(), 0, &elements, Floats::AsF32))?;
        map.end()
    }
}

/// Row `r` of every input tensor: `{name: value}`, the tensors sorted by name.
struct TensorRow<'a> {
    /// The inputs by name, each with whether it holds the records.
    sorted: &'a [(&'a Tensor, bool)],
    r: usize,
}

impl Serialize for TensorRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.sorted.len()))?;
        for &(tensor, rows) in self.sorted {
            map.serialize_entry(
                tensor.name(),
                &TensorRowJson {
                    tensor,
                    r: self.r,
                    whole: !rows,
                },
            )?;
        }
        map.end()
    }
}

/// Row `r` of one tensor: a scalar or nested array (BYTES as strings), or a marker when the
/// row is too wide; all of it (`whole`) when it does not hold the records along its first
/// dimension. Written straight from the tensor, as the answers are.
struct TensorRowJson<'a> {
    tensor: &'a Tensor,
    r: usize,
    whole: bool,
}

impl Serialize for TensorRowJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let whole = self.whole;
        let inner = match whole {
            true => self.tensor.shape(),
            false => self.tensor.shape().get(1..).unwrap_or_default(),
        };
        let width: usize = inner.iter().product();
        if width > MAX_ROW_ELEMENTS {
            return truncated(width).serialize(s);
        }
        let start = if whole { 0 } else { self.r * width };
        Nested(self.tensor.data(), start, inner, Floats::AsF32).serialize(s)
    }
}

fn truncated(elements: usize) -> Value {
    json!({"truncated": true, "elements": elements})
}

/// Leaf values in `v`, counting no further than just past the cap.
fn count_elements(v: &Value) -> usize {
    fn walk(v: &Value, n: &mut usize) {
        if *n > MAX_ROW_ELEMENTS {
            return;
        }
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, n)),
            Value::Object(fields) => fields.values().for_each(|i| walk(i, n)),
            _ => *n += 1,
        }
    }
    let mut n = 0;
    walk(v, &mut n);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::TensorData;

    fn tensor_row(tensor: &Tensor, r: usize) -> Value {
        serde_json::to_value(TensorRowJson {
            tensor,
            r,
            whole: false,
        })
        .expect("JSON")
    }

    #[test]
    fn tensor_rows_are_sliced_and_wide_rows_become_markers() {
        let t = Tensor::new("x", vec![2, 2], TensorData::F32(vec![1.5, 2.0, 3.0, 4.0]))
            .expect("tensor");
        assert_eq!(tensor_row(&t, 1), json!([3.0, 4.0]));
        let wide = Tensor::new(
            "w",
            vec![1, MAX_ROW_ELEMENTS + 1],
            TensorData::I32(vec![0; MAX_ROW_ELEMENTS + 1]),
        )
        .expect("tensor");
        assert_eq!(tensor_row(&wide, 0)["truncated"], json!(true));
        let half = Tensor::new("h", vec![1, 1], TensorData::F16(vec![0x3c00])).expect("tensor");
        assert_eq!(tensor_row(&half, 0), json!([1.0]));
        let text =
            Tensor::new("s", vec![1], TensorData::Bytes(vec![b"abc".to_vec()])).expect("tensor");
        assert_eq!(tensor_row(&text, 0), json!("abc"));
        let one = Tensor::new("x", vec![1, 2], TensorData::F32(vec![1.5, 2.0])).expect("tensor");
        let sorted = [(&text, true), (&one, true)];
        let row = serde_json::to_value(TensorRow {
            sorted: &sorted,
            r: 0,
        })
        .expect("JSON");
        assert_eq!(row, json!({"s": "abc", "x": [1.5, 2.0]}));
    }

    #[test]
    fn a_tensor_without_the_records_along_its_first_dimension_is_kept_whole_in_each() {
        let scalar = Tensor::new("y", vec![], TensorData::F32(vec![21.0])).expect("tensor");
        let constant = Tensor::new("c", vec![3], TensorData::I64(vec![1, 2, 3])).expect("tensor");
        for r in 0..2 {
            let json = |tensor| {
                serde_json::to_value(TensorRowJson {
                    tensor,
                    r,
                    whole: true,
                })
            };
            assert_eq!(json(&scalar).expect("JSON"), json!(21.0));
            assert_eq!(json(&constant).expect("JSON"), json!([1, 2, 3]));
        }
    }

    #[test]
    fn binary_tensors_become_one_v2_document_with_flat_data() {
        let x = Tensor::new("x", vec![2, 2], TensorData::F32(vec![1.5, 0.1, 3.0, 4.0]))
            .expect("tensor");
        let s = Tensor::new(
            "s",
            vec![2, 1],
            TensorData::Bytes(vec![b"a".to_vec(), b"b\"c".to_vec()]),
        )
        .expect("tensor");
        let b = Tensor::new("b", vec![2], TensorData::Bool(vec![true, false])).expect("tensor");
        let texts = RowTexts::v2(&[x, s, b], &Vec::new(), None, None).expect("fits");
        assert_eq!((texts.len(), texts.layout()), (2, Some("v2")));
        let document: Value = serde_json::from_slice(texts.features()).expect("JSON");
        assert_eq!(
            document,
            json!({"inputs": [
                {"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1.5, 0.1, 3.0, 4.0]},
                {"name": "s", "shape": [2, 1], "datatype": "BYTES", "data": ["a", "b\"c"]},
                {"name": "b", "shape": [2], "datatype": "BOOL", "data": [true, false]}
            ]})
        );
        let answer: Value = serde_json::from_slice(texts.outputs()).expect("JSON");
        assert_eq!(answer, json!({"outputs": []}));
        // Records not along the first dimension: the per-record path instead.
        let odd = Tensor::new("o", vec![3], TensorData::I64(vec![1, 2, 3])).expect("tensor");
        let two = Tensor::new("t", vec![2], TensorData::I64(vec![1, 2])).expect("tensor");
        assert!(RowTexts::v2(&[two, odd], &Vec::new(), None, None).is_none());
    }

    #[test]
    fn large_requests_are_kept_as_tensors_unless_a_row_is_over_a_cap() {
        let rows = binary::FROM_ELEMENTS;
        let x = Tensor::new("x", vec![rows, 1], TensorData::F32(vec![0.5; rows])).expect("x");
        let texts = RowTexts::v2(std::slice::from_ref(&x), &Vec::new(), None, None).expect("fits");
        assert_eq!((texts.len(), texts.layout()), (rows, Some(binary::LAYOUT)));
        let document = binary::decode(texts.features(), None, "inputs").expect("a binary document");
        assert_eq!(document["inputs"][0]["shape"], json!([rows, 1]));
        // A text longer than the byte cap in one row: not kept as tensors, so the JSON path
        // writes its marker.
        let mut long = vec![b"s".to_vec(); rows];
        long[7] = vec![b'x'; MAX_ROW_BYTES + 1];
        let s = Tensor::new("s", vec![rows], TensorData::Bytes(long)).expect("s");
        assert!(RowTexts::tensors(&[x, s], &Vec::new()).is_none());
    }

    #[test]
    fn large_v2_requests_keep_their_bodies_as_sent_and_small_ones_only_json() {
        // Bodies that own their memory, as a body read in several parts is.
        let sent = |body: &[u8], header_length| Sent {
            body: Bytes::from(body.to_vec()),
            header_length,
        };
        let rows = binary::FROM_ELEMENTS;
        let x = Tensor::new("x", vec![rows, 1], TensorData::F32(vec![0.5; rows])).expect("x");
        let (request, answer) = (sent(b"binary request", Some(6)), sent(b"{answer}", None));
        let texts = RowTexts::v2(
            std::slice::from_ref(&x),
            &Vec::new(),
            Some(request),
            Some(answer),
        )
        .expect("fits");
        assert_eq!((texts.len(), texts.layout()), (rows, Some(binary::LAYOUT)));
        // Both bodies, one after the other in one block for the tensor files.
        let (block, headers) = texts.tensor_block().expect("for the tensor files");
        assert_eq!(block.side(0), b"binary request");
        assert_eq!(block.side(1), b"{answer}");
        assert_eq!(
            (texts.features(), texts.outputs()),
            (&b"binary request"[..], &b"{answer}"[..])
        );
        assert_eq!(headers, [Some(6), Some(8)]);
        // Without both bodies the tensors are written instead.
        let request = sent(b"binary request", Some(6));
        let texts =
            RowTexts::v2(std::slice::from_ref(&x), &Vec::new(), Some(request), None).expect("fits");
        let (_, [header, _]) = texts.tensor_block().expect("for the tensor files");
        assert_eq!(header, None, "written by the trail");
        // A small request keeps a JSON side as sent and writes a binary one as JSON.
        let small = Tensor::new("x", vec![2, 1], TensorData::F32(vec![0.5, 1.5])).expect("x");
        let texts = RowTexts::v2(
            std::slice::from_ref(&small),
            &Vec::new(),
            Some(sent(b"binary request", Some(6))),
            Some(sent(br#"{"outputs":[]}"#, None)),
        )
        .expect("fits");
        assert_eq!(texts.layout(), Some("v2"));
        assert!(texts.tensor_block().is_none());
        let document: Value = serde_json::from_slice(texts.features()).expect("JSON");
        assert_eq!(document["inputs"][0]["data"], json!([0.5, 1.5]));
        assert_eq!(texts.outputs(), br#"{"outputs":[]}"#);
    }

    #[test]
    fn a_body_that_shares_its_memory_is_copied_and_one_that_owns_it_is_kept() {
        // A body read in one go is a slice of the connection's buffer, which holds the rest.
        let mut buffer = bytes::BytesMut::with_capacity(64);
        buffer.extend_from_slice(br#"{"a":1}{"next""#);
        let body = buffer.split_to(7).freeze();
        let body_at = body.as_ptr();
        let reuse = 64 - buffer.len();
        assert!(
            !buffer.try_reclaim(reuse),
            "the body holds the buffer's memory"
        );
        let kept = detached(body);
        assert_eq!(&kept[..], br#"{"a":1}"#);
        assert_ne!(kept.as_ptr(), body_at, "copied");
        // So the buffer can reuse its memory for the next request.
        assert!(buffer.try_reclaim(reuse));
        let own = Bytes::from(br#"{"b":2}"#.to_vec());
        let own_at = own.as_ptr();
        assert_eq!(detached(own).as_ptr(), own_at, "kept");
    }

    #[test]
    fn wide_records_and_long_texts_become_markers_in_one_array() {
        let mut array = JsonArray::with_capacity(0);
        let wide = Value::Array(vec![json!(1); MAX_ROW_ELEMENTS + 5]);
        let long = Value::String("x".repeat(MAX_ROW_BYTES + 1));
        for record in [&wide, &long, &json!({"a": 1})] {
            array.push_record(record);
        }
        let text = array.finish();
        let elements: Vec<Value> = serde_json::from_slice(&text).expect("a JSON array");
        assert_eq!(elements.len(), 3);
        assert_eq!(elements[0]["truncated"], json!(true));
        assert_eq!(elements[1]["truncated"], json!(true));
        assert_eq!(elements[2], json!({"a": 1}));
        assert_eq!(&JsonArray::with_capacity(0).finish()[..], b"[]");
    }

    #[test]
    fn a_body_is_kept_as_sent_unless_a_record_is_too_wide() {
        let record = json!({"a": 1});
        let body = Bytes::from_static(br#"{"a": 1}"#);
        let answer = Bytes::from_static(br#"{"y":2}"#);
        let one = RowTexts::as_sent(std::slice::from_ref(&record), None, body, answer, true);
        assert_eq!(
            (one.len(), one.features(), one.outputs()),
            (1, &br#"[{"a": 1}]"#[..], &br#"[{"y":2}]"#[..])
        );
        let body = Bytes::from_static(br#"[{"a":1},{"a":1}]"#);
        let answer = Bytes::from_static(br#"[1,2]"#);
        let two = RowTexts::as_sent(
            &[record.clone(), record],
            Some(1),
            body.clone(),
            answer.clone(),
            false,
        );
        assert_eq!(two.features(), br#"[{"a":1},{"a":1}]"#);
        let wide = Value::Array(vec![json!(1); MAX_ROW_ELEMENTS + 1]);
        let marked = RowTexts::as_sent(&[wide, json!({"b": 2})], None, body, answer, false);
        let features: Vec<Value> = serde_json::from_slice(marked.features()).expect("JSON");
        assert_eq!(features[0]["truncated"], json!(true));
        assert_eq!(features[1], json!({"b": 2}));
        assert_eq!(marked.outputs(), b"[1,2]", "the answer is kept as sent");
    }
}
