//! JSON records and columns ⇄ tensors, for the APIs that speak in rows of named features
//! (the seed's `/predict/*`, TF-Serving V1, MLflow).
//!
//! A record is a JSON object keyed by input name, one value per input for that row: a scalar
//! when the input takes one value per row (`[N]` or `[N, 1]`, our models' convention), a
//! nested array for wider inputs. A model with a single input also takes bare rows: `[5.1,
//! 3.5, 1.4, 0.2]` for an `[N, 4]` input, or a scalar for an `[N, 1]` one.

use serde_json::{Map, Value};

use crate::contract::{DataType, TensorSpec};
use crate::repository::LoadedModel;
use crate::runtime::Output;
use crate::tensor::{Tensor, TensorData};

#[cfg(test)]
use super::Outputs;
use super::answers::shortest_f32;
use super::check::expected_json;

/// A body that parsed but does not fit the model; the message names the record and feature.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(pub String);

fn fail<T>(message: String) -> Result<T, RecordError> {
    Err(RecordError(message))
}

/// Builds one tensor per model input from row records.
pub fn tensors_from_records(
    model: &LoadedModel,
    records: &[Value],
) -> Result<Vec<Tensor>, RecordError> {
    let inputs = &model.signature.inputs;
    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    let mut columns: Vec<Column> = inputs.iter().map(|i| Column::new(model, i)).collect();
    for (r, record) in records.iter().enumerate() {
        let at = |feature: &str| {
            if records.len() == 1 {
                format!("feature `{feature}`")
            } else {
                format!("record {r}, feature `{feature}`")
            }
        };
        match record {
            // TF-Serving's bytes object is a bare value for a model of one input, not a record
            // with a feature named `b64`.
            Value::Object(fields)
                if columns.len() == 1
                    && columns[0].spec.name != "b64"
                    && b64_text(fields).is_some() =>
            {
                let column = &mut columns[0];
                column
                    .push_row(record)
                    .map_err(|m| RecordError(format!("{}: {m}", at(&column.spec.name))))?;
            }
            Value::Object(fields) => {
                if let Some(unknown) = fields.keys().find(|k| !names.contains(&k.as_str())) {
                    return fail(format!(
                        "{}: unknown feature (the model takes: {})",
                        at(unknown),
                        names.join(", ")
                    ));
                }
                for column in &mut columns {
                    let Some(value) = fields.get(&column.spec.name) else {
                        return fail(format!("{}: missing", at(&column.spec.name)));
                    };
                    column
                        .push_row(value)
                        .map_err(|m| RecordError(format!("{}: {m}", at(&column.spec.name))))?;
                }
            }
            other if columns.len() == 1 => {
                let column = &mut columns[0];
                column
                    .push_row(other)
                    .map_err(|m| RecordError(format!("{}: {m}", at(&column.spec.name))))?;
            }
            _ => {
                return fail(format!(
                    "record {r}: expected an object with the features {}",
                    names.join(", ")
                ));
            }
        }
    }
    columns
        .into_iter()
        .map(|c| c.finish(records.len()))
        .collect()
}

/// Builds one tensor per model input from columns: input name → one value per row.
pub fn tensors_from_columns(
    model: &LoadedModel,
    columns: &Map<String, Value>,
) -> Result<Vec<Tensor>, RecordError> {
    let names: Vec<&str> = model
        .signature
        .inputs
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    if let Some(unknown) = columns.keys().find(|k| !names.contains(&k.as_str())) {
        return fail(format!(
            "feature `{unknown}`: unknown feature (the model takes: {})",
            names.join(", ")
        ));
    }
    let mut rows: Option<usize> = None;
    let mut tensors = Vec::with_capacity(names.len());
    for spec in &model.signature.inputs {
        let Some(values) = columns.get(&spec.name) else {
            return fail(format!("feature `{}`: missing", spec.name));
        };
        let Value::Array(values) = values else {
            return fail(format!(
                "feature `{}`: expected an array with one value per row",
                spec.name
            ));
        };
        if rows.is_some_and(|n| n != values.len()) {
            return fail(format!(
                "feature `{}`: {} values, other features have {}",
                spec.name,
                values.len(),
                rows.unwrap_or(0)
            ));
        }
        rows = Some(values.len());
        let mut column = Column::new(model, spec);
        for (r, value) in values.iter().enumerate() {
            column
                .push_row(value)
                .map_err(|m| RecordError(format!("row {r}, feature `{}`: {m}", spec.name)))?;
        }
        tensors.push(column.finish(values.len())?);
    }
    Ok(tensors)
}

/// One input's values being gathered row by row.
struct Column<'s> {
    spec: &'s TensorSpec,
    /// The per-row shape once known (dynamic inner dimensions are learnt from the first row).
    row_shape: Option<Vec<usize>>,
    /// The graph declares this input without a shape: a row's shape, whatever its rank, is
    /// learnt from the first row.
    any_rank: bool,
    data: TensorData,
}

impl<'s> Column<'s> {
    fn new(model: &LoadedModel, spec: &'s TensorSpec) -> Self {
        let data = match spec.datatype {
            DataType::Bool => TensorData::Bool(Vec::new()),
            DataType::Uint8 => TensorData::U8(Vec::new()),
            DataType::Uint16 => TensorData::U16(Vec::new()),
            DataType::Uint32 => TensorData::U32(Vec::new()),
            DataType::Uint64 => TensorData::U64(Vec::new()),
            DataType::Int8 => TensorData::I8(Vec::new()),
            DataType::Int16 => TensorData::I16(Vec::new()),
            DataType::Int32 => TensorData::I32(Vec::new()),
            DataType::Int64 => TensorData::I64(Vec::new()),
            DataType::Fp16 => TensorData::F16(Vec::new()),
            DataType::Bf16 => TensorData::BF16(Vec::new()),
            DataType::Fp32 => TensorData::F32(Vec::new()),
            DataType::Fp64 => TensorData::F64(Vec::new()),
            DataType::Bytes => TensorData::Bytes(Vec::new()),
        };
        Column {
            spec,
            row_shape: None,
            any_rank: model.signature.takes_any_rank(&spec.name),
            data,
        }
    }

    /// Appends one row's value: flattened after checking it against the per-row shape.
    fn push_row(&mut self, value: &Value) -> Result<(), String> {
        if self.any_rank {
            let shape = self
                .row_shape
                .get_or_insert_with(|| nesting_of(value))
                .clone();
            return self.push_nested(value, &shape);
        }
        let inner: &[i64] = self.spec.shape.get(1..).unwrap_or_default();
        let one_per_row = inner.iter().all(|&d| d == 1)
            || (inner.len() == 1 && inner[0] == -1 && !value.is_array());
        if one_per_row {
            let mut v = value;
            // Accept `x`, `[x]` and `[[x]]` alike for a one-value row.
            while let Value::Array(items) = v {
                match items.as_slice() {
                    [only] => v = only,
                    _ => {
                        // A fixed first dimension is often not a batch at all: say where such
                        // a graph's whole tensor goes.
                        let hint = match self.spec.shape.first() {
                            Some(&d) if d > 1 => format!(
                                " (the input's shape is {:?}, and the record routes read its \
                                 first dimension as the records; send the whole tensor over \
                                 KServe V2)",
                                self.spec.shape
                            ),
                            _ => String::new(),
                        };
                        return Err(format!(
                            "expected one value, got an array of {}{hint}",
                            items.len()
                        ));
                    }
                }
            }
            if self.row_shape.is_none() {
                self.row_shape = Some(inner.iter().map(|_| 1).collect());
            }
            return self.push_element(v);
        }
        let shape = match &self.row_shape {
            Some(s) => s.clone(),
            None => {
                let learnt = learn_shape(value, inner)?;
                self.row_shape = Some(learnt.clone());
                learnt
            }
        };
        self.push_nested(value, &shape)
    }

    fn push_nested(&mut self, value: &Value, shape: &[usize]) -> Result<(), String> {
        match (shape.split_first(), value) {
            (None, v) => self.push_element(v),
            (Some((&n, rest)), Value::Array(items)) => {
                if items.len() != n {
                    return Err(format!("expected {n} values, got {}", items.len()));
                }
                items
                    .iter()
                    .try_for_each(|item| self.push_nested(item, rest))
            }
            (Some((&n, _)), _) => Err(format!("expected an array of {n} values")),
        }
    }

    fn push_element(&mut self, v: &Value) -> Result<(), String> {
        let wrong = || {
            format!(
                "expected {}, got {}",
                expected_json(self.spec.datatype),
                short(v)
            )
        };
        macro_rules! int {
            ($vec:expr, $t:ty) => {{
                let n = v
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| v.as_u64().map(i128::from))
                    .ok_or_else(wrong)?;
                $vec.push(
                    <$t>::try_from(n)
                        .map_err(|_| format!("{n} is out of range for {}", self.spec.datatype))?,
                );
            }};
        }
        match &mut self.data {
            TensorData::Bool(d) => d.push(v.as_bool().ok_or_else(wrong)?),
            TensorData::U8(d) => int!(d, u8),
            TensorData::U16(d) => int!(d, u16),
            TensorData::U32(d) => int!(d, u32),
            TensorData::U64(d) => int!(d, u64),
            TensorData::I8(d) => int!(d, i8),
            TensorData::I16(d) => int!(d, i16),
            TensorData::I32(d) => int!(d, i32),
            TensorData::I64(d) => int!(d, i64),
            TensorData::F32(d) => {
                let x = v.as_f64().ok_or_else(wrong)?;
                let narrowed = x as f32;
                if narrowed.is_infinite() && x.is_finite() {
                    return Err(format!("{x} is out of range for FP32"));
                }
                d.push(narrowed);
            }
            TensorData::F64(d) => d.push(v.as_f64().ok_or_else(wrong)?),
            TensorData::Bytes(d) => d.push(match v {
                Value::String(text) => text.as_bytes().to_vec(),
                Value::Object(wrapped) => b64_element(wrapped).ok_or_else(wrong)??,
                _ => return Err(wrong()),
            }),
            TensorData::F16(_) | TensorData::BF16(_) => {
                return Err(format!(
                    "{} inputs are only accepted as binary tensors (KServe V2)",
                    self.spec.datatype
                ));
            }
        }
        Ok(())
    }

    fn finish(self, rows: usize) -> Result<Tensor, RecordError> {
        let mut shape = vec![rows];
        shape.extend(self.row_shape.unwrap_or_else(|| {
            self.spec
                .shape
                .iter()
                .skip(1)
                .map(|&d| d.max(1) as usize)
                .collect()
        }));
        // A rank-1 input ([N]) takes one scalar per row.
        if self.spec.shape.len() == 1 {
            shape.truncate(1);
        }
        let name = self.spec.name.clone();
        Tensor::new(name.clone(), shape, self.data)
            .map_err(|e| RecordError(format!("feature `{name}`: {e}")))
    }
}

/// The base64 text of TF-Serving's bytes object `{"b64": "<base64>"}`, or `None` when
/// `object` is not one.
pub fn b64_text(object: &Map<String, Value>) -> Option<&str> {
    match (object.len(), object.get("b64")) {
        (1, Some(Value::String(text))) => Some(text),
        _ => None,
    }
}

/// TF-Serving's convention for bytes that are not text: `{"b64": "<base64>"}`. `None` when
/// the object is not that; an error when its text is not base64.
fn b64_element(object: &Map<String, Value>) -> Option<Result<Vec<u8>, String>> {
    use base64::Engine;
    let text = b64_text(object)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|e| format!("`b64` holds no base64 text ({e})"));
    Some(decoded)
}

/// The shape of `value` as nested arrays: the length at each depth, down the first elements.
fn nesting_of(value: &Value) -> Vec<usize> {
    let mut shape = Vec::new();
    let mut v = value;
    while let Value::Array(items) = v {
        shape.push(items.len());
        match items.first() {
            Some(first) => v = first,
            None => break,
        }
    }
    shape
}

/// The per-row shape of `value` for an input whose inner dimensions are `inner` (-1: any).
fn learn_shape(value: &Value, inner: &[i64]) -> Result<Vec<usize>, String> {
    let mut shape = Vec::with_capacity(inner.len());
    let mut v = value;
    for &want in inner {
        let Value::Array(items) = v else {
            return Err(format!("expected a nested array of shape {inner:?}"));
        };
        if want >= 0 && items.len() as i64 != want {
            return Err(format!("expected {want} values, got {}", items.len()));
        }
        shape.push(items.len());
        match items.first() {
            Some(first) => v = first,
            None => break,
        }
    }
    shape.resize(inner.len(), 0);
    Ok(shape)
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 40 {
        format!("{}…", &text[..text.floor_char_boundary(40)])
    } else {
        text
    }
}

/// Row `r` of `output` (of a request of `rows` records) as JSON: a scalar for one value per
/// row, a nested array otherwise, an object class → probability for a probability table; the
/// whole output when it does not hold the records along its first dimension.
pub fn row_value(model: &LoadedModel, name: &str, output: &Output, r: usize, rows: usize) -> Value {
    let classes = match output {
        Output::ClassProbabilities { classes, .. } => Some(classes.as_slice()),
        Output::Tensor(_) => model.output(name).and_then(|o| o.classes.as_deref()),
    };
    let tensor = output.tensor();
    if !model.output_has_rows(tensor, rows) {
        return nest(tensor.data(), 0, tensor.shape());
    }
    let inner: Vec<usize> = tensor.shape().iter().skip(1).copied().collect();
    let width: usize = inner.iter().product();
    let start = r * width;
    if let Some(classes) = classes.filter(|c| c.len() == width) {
        return Value::Object(
            classes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.clone(), element(tensor.data(), start + i)))
                .collect(),
        );
    }
    if width == 1 {
        return element(tensor.data(), start);
    }
    nest(tensor.data(), start, &inner)
}

fn nest(data: &TensorData, start: usize, shape: &[usize]) -> Value {
    match shape.split_first() {
        None => element(data, start),
        Some((&n, rest)) => {
            let step: usize = rest.iter().product();
            Value::Array((0..n).map(|i| nest(data, start + i * step, rest)).collect())
        }
    }
}

/// One element as JSON. Floats keep their shortest decimal form; NaN and infinities, which
/// JSON cannot carry, become null.
pub fn element(data: &TensorData, i: usize) -> Value {
    fn float(x: f64) -> Value {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
    match data {
        TensorData::Bool(v) => v.get(i).map_or(Value::Null, |&b| Value::Bool(b)),
        TensorData::U8(v) => v.get(i).map_or(Value::Null, |&x| x.into()),
        TensorData::U16(v) => v.get(i).map_or(Value::Null, |&x| x.into()),
        TensorData::U32(v) => v.get(i).map_or(Value::Null, |&x| x.into()),
        TensorData::U64(v) => v.get(i).map_or(Value::Null, |&x| x.into()),
        TensorData::I8(v) => v.get(i).map_or(Value::Null, |&x| x.into()),
        TensorData::I16(v) => v.get(i).map_or(Value::Null, |&x| x.into()),
        TensorData::I32(v) => v.get(i).map_or(Value::Null, |&x| x.into()),
        TensorData::I64(v) => v.get(i).map_or(Value::Null, |&x| x.into()),
        // The shortest decimal that reads back as the same f32, not the f64 widening's digits.
        TensorData::F32(v) => v.get(i).map_or(Value::Null, |&x| float(shortest_f32(x))),
        TensorData::F64(v) => v.get(i).map_or(Value::Null, |&x| float(x)),
        TensorData::F16(v) => v
            .get(i)
            .map_or(Value::Null, |&b| float(half::f16::from_bits(b).to_f64())),
        TensorData::BF16(v) => v
            .get(i)
            .map_or(Value::Null, |&b| float(half::bf16::from_bits(b).to_f64())),
        TensorData::Bytes(v) => v.get(i).map_or(Value::Null, |b| {
            Value::String(String::from_utf8_lossy(b).into_owned())
        }),
    }
}

/// The per-record answers of the seed's `/predict/*` routes as a `Value` tree: `prediction`,
/// `probabilities` by class for classifiers, and any further outputs under `outputs`. The
/// routes write [`super::answers::RecordAnswers`] instead; this plain version is what that
/// writer is checked against.
#[cfg(test)]
pub fn record_predictions(model: &LoadedModel, outputs: &Outputs, rows: usize) -> Vec<Value> {
    let is_table = |name: &str, o: &Output| {
        matches!(o, Output::ClassProbabilities { .. })
            || model.output(name).is_some_and(|s| s.classes.is_some())
    };
    let prediction = outputs.iter().find(|(n, o)| !is_table(n, o));
    let table = outputs.iter().find(|(n, o)| is_table(n, o));
    (0..rows)
        .map(|r| {
            let mut answer = Map::new();
            let probabilities = table.map(|(n, o)| row_value(model, n, o, r, rows));
            let predicted = match (prediction, &probabilities) {
                (Some((n, o)), _) => row_value(model, n, o, r, rows),
                (None, Some(Value::Object(p))) => most_likely(p),
                (None, _) => Value::Null,
            };
            answer.insert("prediction".into(), predicted);
            if let Some(p) = probabilities {
                answer.insert("probabilities".into(), p);
            }
            let extra: Map<String, Value> = outputs
                .iter()
                .filter(|(n, _)| {
                    Some(n) != prediction.map(|p| &p.0) && Some(n) != table.map(|t| &t.0)
                })
                .map(|(n, o)| (n.clone(), row_value(model, n, o, r, rows)))
                .collect();
            if !extra.is_empty() {
                answer.insert("outputs".into(), Value::Object(extra));
            }
            answer.insert("model".into(), model.name.clone().into());
            answer.insert("version".into(), model.version.into());
            Value::Object(answer)
        })
        .collect()
}

#[cfg(test)]
fn most_likely(p: &Map<String, Value>) -> Value {
    p.iter()
        .filter_map(|(k, v)| Some((k, v.as_f64()?)))
        .fold(None, |best: Option<(&String, f64)>, (k, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((k, v)),
        })
        .map_or(Value::Null, |(k, _)| Value::String(k.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_elements_keep_their_shortest_decimal() {
        let data = TensorData::F32(vec![0.1, 141_362.83, 1e-7, 3.0, f32::NAN, f32::MAX]);
        let got: Vec<String> = (0..6).map(|i| element(&data, i).to_string()).collect();
        assert_eq!(
            got,
            ["0.1", "141362.83", "1e-7", "3.0", "null", "3.4028235e+38"]
        );
    }

    #[test]
    fn b64_objects_decode_with_or_without_padding_and_nothing_else_is_one() {
        let object = |v: Value| match v {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let decode = |v: Value| b64_element(&object(v));
        assert_eq!(
            decode(serde_json::json!({"b64": "AP8="})).and_then(Result::ok),
            Some(vec![0, 255])
        );
        assert_eq!(
            decode(serde_json::json!({"b64": "AP8"})).and_then(Result::ok),
            Some(vec![0, 255])
        );
        assert!(matches!(
            decode(serde_json::json!({"b64": "*"})),
            Some(Err(_))
        ));
        assert!(decode(serde_json::json!({"b64": "AP8=", "other": 1})).is_none());
        assert!(decode(serde_json::json!({"b64": 3})).is_none());
    }
}
