//! An [`AuditEntry`] as database rows: one per predicted record, or one for a failed request.
//!
//! A predicted request's features and outputs are written as JSON texts into one buffer
//! ([`RowTexts`]) on the request's own thread, where its inputs and outputs are still in cache
//! and are freed by the thread that allocated them; the writer thread only binds slices of
//! that buffer. Measured under load, handing the writer the parsed inputs instead cost more:
//! every record's allocations were freed across threads.

use serde::Serializer;
use serde::ser::{Serialize, SerializeMap};
use serde_json::{Value, json};

use super::{AuditEntry, AuditInputs, Outcome};
use crate::inference::Outputs;
use crate::inference::answers::Column;
use crate::inference::records;
use crate::repository::LoadedModel;
use crate::tensor::{Tensor, TensorData};

/// Rows wider than this many elements (per input or output) are stored as a marker, so one
/// huge tensor cannot blow up the database.
pub const MAX_ROW_ELEMENTS: usize = 1_000;
/// Serialized features or outputs longer than this are stored as a marker (long strings).
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// The features and outputs JSON of every row of a predicted request, in one buffer.
pub struct RowTexts {
    text: Vec<u8>,
    /// Per row, where its features text ends and where its outputs text ends.
    ends: Vec<(usize, usize)>,
}

impl RowTexts {
    /// Writes each row's features (the record as sent, or each input tensor's row by name)
    /// and outputs (by output name, as the record APIs answer them).
    pub fn new(model: &LoadedModel, inputs: &AuditInputs, outputs: &Outputs) -> RowTexts {
        let rows = match inputs {
            AuditInputs::Records(records) => records.len(),
            AuditInputs::Tensors(tensors) => tensors
                .first()
                .map_or(0, |t| t.shape().first().copied().unwrap_or(1)),
        };
        let columns = output_columns(model, outputs);
        let mut texts = RowTexts {
            text: Vec::with_capacity(rows * 128),
            ends: Vec::with_capacity(rows),
        };
        for r in 0..rows {
            match inputs {
                AuditInputs::Records(records) => {
                    if let Some(record) = records.get(r) {
                        texts.push_record(record);
                    }
                }
                AuditInputs::Tensors(tensors) => texts.push_capped(&TensorRow { tensors, r }),
            }
            let features_end = texts.text.len();
            texts.push_capped(&OutputRow {
                columns: &columns,
                r,
            });
            texts.ends.push((features_end, texts.text.len()));
        }
        texts
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Row `r`'s features and outputs texts.
    pub fn row(&self, r: usize) -> (&str, &str) {
        let start = r
            .checked_sub(1)
            .and_then(|p| self.ends.get(p))
            .map_or(0, |&(_, end)| end);
        let (features_end, outputs_end) = self.ends.get(r).copied().unwrap_or((start, start));
        (
            self.slice(start, features_end),
            self.slice(features_end, outputs_end),
        )
    }

    fn slice(&self, from: usize, to: usize) -> &str {
        // Only serde_json writes into the buffer, and it writes UTF-8 only.
        self.text
            .get(from..to)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }

    /// A record as given, or a marker when it holds too many elements.
    fn push_record(&mut self, record: &Value) {
        let elements = count_elements(record);
        if elements > MAX_ROW_ELEMENTS {
            self.push_capped(&truncated(elements));
        } else {
            self.push_capped(record);
        }
    }

    /// Appends `value` as JSON, or a marker when its text is too long.
    fn push_capped(&mut self, value: &impl Serialize) {
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
}

/// One row of the `predictions` table, borrowing what it can from its entry.
pub struct Row<'a> {
    pub time: &'a str,
    pub request_id: &'a str,
    pub model: &'a str,
    pub version: Option<i64>,
    pub route: &'a str,
    pub row_index: i64,
    pub features: Option<&'a str>,
    pub outputs: Option<&'a str>,
    pub latency_ms: f64,
    pub status: i64,
    pub error: Option<&'a str>,
}

/// Calls `write` with each row of `entry`, stopping at the first error.
pub fn for_each_row<E>(
    entry: &AuditEntry,
    time: &str,
    mut write: impl FnMut(Row<'_>) -> Result<(), E>,
) -> Result<(), E> {
    fn row<'r>(
        entry: &'r AuditEntry,
        time: &'r str,
        row_index: usize,
        features: Option<&'r str>,
        outputs: Option<&'r str>,
        error: Option<&'r str>,
    ) -> Row<'r> {
        Row {
            time,
            request_id: &entry.request_id,
            model: &entry.model,
            version: entry.version.map(|v| v as i64),
            route: entry.route,
            row_index: row_index as i64,
            features,
            outputs,
            latency_ms: entry.latency.as_secs_f64() * 1e3,
            status: i64::from(entry.status),
            error,
        }
    }
    match &entry.outcome {
        Outcome::Failed { error } => write(row(entry, time, 0, None, None, Some(error.as_str()))),
        Outcome::Predicted { rows } => {
            for r in 0..rows.len() {
                let (features, outputs) = rows.row(r);
                write(row(entry, time, r, Some(features), Some(outputs), None))?;
            }
            Ok(())
        }
    }
}

/// The outputs as the answer columns of the record APIs, sorted by name like a JSON map.
fn output_columns<'a>(model: &'a LoadedModel, outputs: &'a Outputs) -> Vec<Column<'a>> {
    let mut columns: Vec<Column<'a>> = outputs
        .iter()
        .map(|(name, output)| Column::new(model, name, output))
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
                map.serialize_entry(column.name, &column.row(self.r))?;
            }
        }
        map.end()
    }
}

/// Row `r` of every input tensor: `{name: value}` in input order.
struct TensorRow<'a> {
    tensors: &'a [Tensor],
    r: usize,
}

impl Serialize for TensorRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<&Tensor> = self.tensors.iter().collect();
        sorted.sort_by(|a, b| a.name().cmp(b.name()));
        let mut map = s.serialize_map(Some(sorted.len()))?;
        for t in sorted {
            map.serialize_entry(t.name(), &tensor_row(t, self.r))?;
        }
        map.end()
    }
}

/// Row `r` of `tensor` as JSON: a scalar or nested array; BYTES as strings; FP16/BF16 (which
/// JSON requests cannot carry) as null; a marker when the row is too wide.
fn tensor_row(tensor: &Tensor, r: usize) -> Value {
    let inner = tensor.shape().get(1..).unwrap_or_default();
    let width = row_width(tensor);
    if width > MAX_ROW_ELEMENTS {
        return truncated(width);
    }
    if matches!(tensor.data(), TensorData::F16(_) | TensorData::BF16(_)) {
        return Value::Null;
    }
    nest(tensor.data(), r * width, inner)
}

fn row_width(tensor: &Tensor) -> usize {
    tensor.shape().iter().skip(1).product()
}

fn nest(data: &TensorData, start: usize, shape: &[usize]) -> Value {
    match shape.split_first() {
        None => records::element(data, start),
        Some((&n, rest)) => {
            let step: usize = rest.iter().product();
            Value::Array((0..n).map(|i| nest(data, start + i * step, rest)).collect())
        }
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
        let half = Tensor::new("h", vec![1, 1], TensorData::F16(vec![0])).expect("tensor");
        assert_eq!(tensor_row(&half, 0), Value::Null);
        let text =
            Tensor::new("s", vec![1], TensorData::Bytes(vec![b"abc".to_vec()])).expect("tensor");
        assert_eq!(tensor_row(&text, 0), json!("abc"));
    }

    #[test]
    fn wide_records_and_long_texts_become_markers_and_rows_slice_apart() {
        let mut texts = RowTexts {
            text: Vec::new(),
            ends: Vec::new(),
        };
        let wide = Value::Array(vec![json!(1); MAX_ROW_ELEMENTS + 5]);
        let long = Value::String("x".repeat(MAX_ROW_BYTES + 1));
        for record in [&wide, &long, &json!({"a": 1})] {
            texts.push_record(record);
            let features_end = texts.text.len();
            texts.push_capped(&json!({"y": 2}));
            texts.ends.push((features_end, texts.text.len()));
        }
        assert_eq!(texts.len(), 3);
        assert!(
            texts.row(0).0.contains(r#""truncated":true"#),
            "{:?}",
            texts.row(0)
        );
        assert!(
            texts.row(1).0.contains(r#""truncated":true"#),
            "{:?}",
            texts.row(1)
        );
        assert_eq!(texts.row(2), (r#"{"a":1}"#, r#"{"y":2}"#));
        assert_eq!(texts.row(3), ("", ""));
    }
}
