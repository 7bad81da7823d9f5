//! An [`AuditEntry`] as database rows: one per predicted record, or one for a failed request.
//! Runs on the writer thread, so the request path never serializes anything for the audit.

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

/// Calls `write` with each row of `entry`, stopping at the first error. The row texts are
/// written into two buffers reused from row to row.
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
        Outcome::Predicted {
            model,
            inputs,
            outputs,
        } => {
            let columns = output_columns(model, outputs);
            let mut features = Vec::new();
            let mut answer = Vec::new();
            for r in 0..entry.rows() as usize {
                let features = match inputs {
                    AuditInputs::Records(records) => records
                        .get(r)
                        .map(|record| record_text(record, &mut features)),
                    AuditInputs::Tensors(tensors) => {
                        Some(capped_text(&TensorRow { tensors, r }, &mut features))
                    }
                };
                let outputs = capped_text(
                    &OutputRow {
                        columns: &columns,
                        r,
                    },
                    &mut answer,
                );
                write(row(entry, time, r, features, Some(outputs), None))?;
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

/// A record as given, or a marker when it holds too many elements, written into `buffer`.
fn record_text<'b>(record: &Value, buffer: &'b mut Vec<u8>) -> &'b str {
    let elements = count_elements(record);
    if elements > MAX_ROW_ELEMENTS {
        capped_text(&truncated(elements), buffer)
    } else {
        capped_text(record, buffer)
    }
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

/// `value` as JSON text in `buffer` (cleared first), or a marker when it is too long.
fn capped_text<'b>(value: &impl Serialize, buffer: &'b mut Vec<u8>) -> &'b str {
    buffer.clear();
    if serde_json::to_writer(&mut *buffer, value).is_err() {
        // Our serializers cannot fail; keep the row readable if one ever does.
        buffer.clear();
        buffer.extend_from_slice(br#"{"unserializable":true}"#);
    }
    if buffer.len() > MAX_ROW_BYTES {
        let marker = json!({"truncated": true, "bytes": buffer.len()}).to_string();
        buffer.clear();
        buffer.extend_from_slice(marker.as_bytes());
    }
    // serde_json writes UTF-8 only.
    std::str::from_utf8(buffer).unwrap_or_default()
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
    fn wide_records_and_long_texts_are_capped() {
        let wide = Value::Array(vec![json!(1); MAX_ROW_ELEMENTS + 5]);
        assert!(record_text(&wide, &mut Vec::new()).contains("truncated"));
        let mut buffer = Vec::new();
        let long = Value::String("x".repeat(MAX_ROW_BYTES + 1));
        assert!(capped_text(&long, &mut buffer).contains("truncated"));
        assert_eq!(record_text(&json!({"a": 1}), &mut buffer), r#"{"a":1}"#);
    }
}
