//! Record answers written straight to JSON: the same text as the `Value` tree of
//! `records::record_predictions` (kept as the tests' oracle), without building that tree per
//! row first. For a 1,000-row request that tree (a map, its keys and a value per output per
//! row) cost more than running the graph.
//!
//! Keys come out sorted, as `serde_json::Map` sorts them, so both paths agree byte for byte
//! (a test checks it).

use serde::Serializer;
use serde::ser::{Serialize, SerializeMap, SerializeSeq};

use crate::repository::LoadedModel;
use crate::runtime::Output;
use crate::tensor::TensorData;

use super::Outputs;

/// The answers to a records request: one object, or an array of `rows` objects.
pub struct RecordAnswers<'a> {
    plan: Plan<'a>,
    rows: usize,
    single: bool,
}

/// What every row's answer is made of, worked out once per request.
struct Plan<'a> {
    model: &'a LoadedModel,
    prediction: Option<Column<'a>>,
    probabilities: Option<Column<'a>>,
    /// The other outputs, sorted by name.
    extra: Vec<Column<'a>>,
}

/// One output as row values.
pub(crate) struct Column<'a> {
    pub(crate) name: &'a str,
    data: &'a TensorData,
    inner: &'a [usize],
    /// Elements per row.
    pub(crate) width: usize,
    /// For a probability table: (class, column) sorted by class, one column per class name.
    classes: Option<Vec<(&'a str, usize)>>,
    /// The output does not hold the request's records along its first dimension: every row
    /// shows all of it.
    whole: bool,
}

impl<'a> RecordAnswers<'a> {
    /// `single`: the request sent one object (not an array), so the answer is one object.
    pub fn new(model: &'a LoadedModel, outputs: &'a Outputs, rows: usize, single: bool) -> Self {
        let is_table = |name: &str, o: &Output| {
            matches!(o, Output::ClassProbabilities { .. })
                || model.output(name).is_some_and(|s| s.classes.is_some())
        };
        let prediction = outputs.iter().find(|(n, o)| !is_table(n, o));
        let table = outputs.iter().find(|(n, o)| is_table(n, o));
        let mut extra: Vec<Column<'a>> = outputs
            .iter()
            .filter(|(n, _)| Some(n) != prediction.map(|p| &p.0) && Some(n) != table.map(|t| &t.0))
            .map(|(n, o)| Column::new(model, n, o, rows))
            .collect();
        extra.sort_by(|a, b| a.name.cmp(b.name));
        // Duplicate output names cannot happen (graph outputs are unique); a map would keep
        // the last one.
        extra.dedup_by(|later, earlier| {
            let same = later.name == earlier.name;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        RecordAnswers {
            plan: Plan {
                model,
                prediction: prediction.map(|(n, o)| Column::new(model, n, o, rows)),
                probabilities: table.map(|(n, o)| Column::new(model, n, o, rows)),
                extra,
            },
            rows,
            single,
        }
    }
}

impl<'a> Column<'a> {
    /// The column of `output` in a request of `rows` records.
    pub(crate) fn new(
        model: &'a LoadedModel,
        name: &'a str,
        output: &'a Output,
        rows: usize,
    ) -> Column<'a> {
        let tensor = output.tensor();
        let whole = !model.output_has_rows(tensor, rows);
        let names = match output {
            _ if whole => None,
            Output::ClassProbabilities { classes, .. } => Some(classes.as_slice()),
            Output::Tensor(_) => model.output(name).and_then(|o| o.classes.as_deref()),
        };
        let inner = match whole {
            true => tensor.shape(),
            false => tensor.shape().get(1..).unwrap_or_default(),
        };
        let width: usize = inner.iter().product();
        let classes = names.filter(|c| c.len() == width).map(|names| {
            let mut sorted: Vec<(&str, usize)> = names
                .iter()
                .enumerate()
                .map(|(i, c)| (c.as_str(), i))
                .collect();
            // Stable: equal names stay in column order, and like a map, the last one wins.
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            let mut kept: Vec<(&str, usize)> = Vec::with_capacity(sorted.len());
            for entry in sorted {
                match kept.last_mut() {
                    Some(last) if last.0 == entry.0 => *last = entry,
                    _ => kept.push(entry),
                }
            }
            kept
        });
        Column {
            name,
            data: tensor.data(),
            inner,
            width,
            classes,
            whole,
        }
    }

    /// Where row `r`'s elements start.
    fn start(&self, r: usize) -> usize {
        if self.whole { 0 } else { r * self.width }
    }

    /// Row `r`, serializable: the JSON [`super::records::row_value`] gives.
    pub(crate) fn row(&self, r: usize) -> RowJson<'_> {
        RowJson {
            column: self,
            r,
            floats: Floats::AsF64,
        }
    }

    /// Row `r` with f32 elements written as f32 (see [`Floats::AsF32`]).
    pub(crate) fn row_f32(&self, r: usize) -> RowJson<'_> {
        RowJson {
            column: self,
            r,
            floats: Floats::AsF32,
        }
    }

    /// The most likely class of row `r`: the first of the highest, in class-name order.
    fn most_likely(&self, r: usize) -> Option<&'a str> {
        let classes = self.classes.as_ref()?;
        let start = self.start(r);
        let mut best: Option<(&'a str, f64)> = None;
        for &(class, column) in classes {
            let Some(p) = number(self.data, start + column) else {
                continue;
            };
            if best.is_none_or(|(_, b)| p > b) {
                best = Some((class, p));
            }
        }
        best.map(|(class, _)| class)
    }
}

/// Row `r` of a column, as [`super::records::row_value`] writes it.
pub(crate) struct RowJson<'c> {
    column: &'c Column<'c>,
    r: usize,
    floats: Floats,
}

/// How f32 elements are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Floats {
    /// As the f64 with the f32's shortest decimal, so answers read exactly as the f64 writer
    /// of the other APIs writes them (same digits, same exponent thresholds).
    AsF64,
    /// As f32: the same shortest digits in one step, without the f64 round trip; the exponent
    /// form may start at other magnitudes. For the audit trail, which nobody compares bytewise.
    AsF32,
}

impl Serialize for RowJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.column;
        let start = c.start(self.r);
        if let Some(classes) = &c.classes {
            let mut map = s.serialize_map(Some(classes.len()))?;
            for &(class, column) in classes {
                map.serialize_entry(class, &Element(c.data, start + column, self.floats))?;
            }
            return map.end();
        }
        if c.width == 1 && !c.whole {
            return Element(c.data, start, self.floats).serialize(s);
        }
        Nested(c.data, start, c.inner, self.floats).serialize(s)
    }
}

/// Elements `start..` of `data` nested by `shape`.
pub(crate) struct Nested<'a>(
    pub(crate) &'a TensorData,
    pub(crate) usize,
    pub(crate) &'a [usize],
    pub(crate) Floats,
);

impl Serialize for Nested<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Nested(data, start, shape, floats) = *self;
        match shape.split_first() {
            None => Element(data, start, floats).serialize(s),
            Some((&n, rest)) => {
                let step: usize = rest.iter().product();
                let mut seq = s.serialize_seq(Some(n))?;
                for i in 0..n {
                    seq.serialize_element(&Nested(data, start + i * step, rest, floats))?;
                }
                seq.end()
            }
        }
    }
}

/// One element, as [`super::records::element`] writes it.
struct Element<'a>(&'a TensorData, usize, Floats);

impl Serialize for Element<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Element(data, i, floats) = *self;
        if let (TensorData::F32(v), Floats::AsF32) = (data, floats) {
            return match v.get(i) {
                Some(x) if x.is_finite() => s.serialize_f32(*x),
                _ => s.serialize_unit(),
            };
        }
        let float = |x: f64| {
            if x.is_finite() {
                Scalar::Float(x)
            } else {
                Scalar::Null
            }
        };
        let scalar = match data {
            TensorData::Bool(v) => v.get(i).map(|&b| Scalar::Bool(b)),
            TensorData::U8(v) => v.get(i).map(|&x| Scalar::Unsigned(x.into())),
            TensorData::U16(v) => v.get(i).map(|&x| Scalar::Unsigned(x.into())),
            TensorData::U32(v) => v.get(i).map(|&x| Scalar::Unsigned(x.into())),
            TensorData::U64(v) => v.get(i).map(|&x| Scalar::Unsigned(x)),
            TensorData::I8(v) => v.get(i).map(|&x| Scalar::Signed(x.into())),
            TensorData::I16(v) => v.get(i).map(|&x| Scalar::Signed(x.into())),
            TensorData::I32(v) => v.get(i).map(|&x| Scalar::Signed(x.into())),
            TensorData::I64(v) => v.get(i).map(|&x| Scalar::Signed(x)),
            // Not `serialize_f32`: it switches to exponent notation at other magnitudes than
            // f64 does, and the other APIs write f64 (the test below caught the difference).
            TensorData::F32(v) => v.get(i).map(|&x| float(shortest_f32(x))),
            TensorData::F64(v) => v.get(i).map(|&x| float(x)),
            TensorData::F16(v) => v.get(i).map(|&b| float(half::f16::from_bits(b).to_f64())),
            TensorData::BF16(v) => v.get(i).map(|&b| float(half::bf16::from_bits(b).to_f64())),
            TensorData::Bytes(v) => v.get(i).map(|b| Scalar::Text(String::from_utf8_lossy(b))),
        };
        match scalar.unwrap_or(Scalar::Null) {
            Scalar::Null => s.serialize_unit(),
            Scalar::Bool(b) => s.serialize_bool(b),
            Scalar::Unsigned(x) => s.serialize_u64(x),
            Scalar::Signed(x) => s.serialize_i64(x),
            Scalar::Float(x) => s.serialize_f64(x),
            Scalar::Text(t) => s.serialize_str(&t),
        }
    }
}

enum Scalar<'a> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(std::borrow::Cow<'a, str>),
}

/// The f64 whose shortest decimal is the f32's shortest decimal (`0.1f32` → `0.1`, not the
/// widened `0.10000000149011612`).
pub fn shortest_f32(x: f32) -> f64 {
    if x.is_finite() {
        ryu::Buffer::new()
            .format_finite(x)
            .parse()
            .unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

/// Element `i` as a number, for choosing the most likely class.
fn number(data: &TensorData, i: usize) -> Option<f64> {
    match data {
        TensorData::F32(v) => v.get(i).map(|&x| shortest_f32(x)),
        TensorData::F64(v) => v.get(i).copied(),
        TensorData::F16(v) => v.get(i).map(|&b| half::f16::from_bits(b).to_f64()),
        TensorData::BF16(v) => v.get(i).map(|&b| half::bf16::from_bits(b).to_f64()),
        TensorData::U8(v) => v.get(i).map(|&x| x.into()),
        TensorData::U16(v) => v.get(i).map(|&x| x.into()),
        TensorData::U32(v) => v.get(i).map(|&x| x.into()),
        TensorData::U64(v) => v.get(i).map(|&x| x as f64),
        TensorData::I8(v) => v.get(i).map(|&x| x.into()),
        TensorData::I16(v) => v.get(i).map(|&x| x.into()),
        TensorData::I32(v) => v.get(i).map(|&x| x.into()),
        TensorData::I64(v) => v.get(i).map(|&x| x as f64),
        TensorData::Bool(_) | TensorData::Bytes(_) => None,
    }
    .filter(|x| x.is_finite())
}

/// One row's answer object.
struct Answer<'a> {
    plan: &'a Plan<'a>,
    r: usize,
}

impl Serialize for Answer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Answer { plan, r } = *self;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("model", plan.model.name.as_str())?;
        if !plan.extra.is_empty() {
            map.serialize_entry("outputs", &Extra { plan, r })?;
        }
        match (&plan.prediction, &plan.probabilities) {
            (Some(p), _) => map.serialize_entry("prediction", &p.row(r))?,
            (None, Some(t)) => map.serialize_entry("prediction", &t.most_likely(r))?,
            (None, None) => map.serialize_entry("prediction", &())?,
        }
        if let Some(t) = &plan.probabilities {
            map.serialize_entry("probabilities", &t.row(r))?;
        }
        map.serialize_entry("version", &plan.model.version)?;
        map.end()
    }
}

struct Extra<'a> {
    plan: &'a Plan<'a>,
    r: usize,
}

impl Serialize for Extra<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.plan.extra.len()))?;
        for column in &self.plan.extra {
            map.serialize_entry(column.name, &column.row(self.r))?;
        }
        map.end()
    }
}

impl Serialize for RecordAnswers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.single {
            return Answer {
                plan: &self.plan,
                r: 0,
            }
            .serialize(s);
        }
        let mut seq = s.serialize_seq(Some(self.rows))?;
        for r in 0..self.rows {
            seq.serialize_element(&Answer {
                plan: &self.plan,
                r,
            })?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::records::record_predictions;
    use crate::repository::{LoadOptions, load_version};
    use crate::tensor::Tensor;
    use proptest::prelude::*;

    fn iris() -> LoadedModel {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/iris/1");
        let options = LoadOptions {
            session: Default::default(),
            pool_size: 1,
            batching: Default::default(),
            inline_budget: std::time::Duration::ZERO,
        };
        load_version(&dir, "iris", 1, options, crate::events::none()).expect("iris loads")
    }

    fn tensor(name: &str, shape: Vec<usize>, data: TensorData) -> Tensor {
        Tensor::new(name, shape, data).expect("tensor")
    }

    /// Outputs of every kind the answer handles: string labels, a table with classes from
    /// the metadata, a ZipMap-style table with its own (unsorted, tied) classes, a nested
    /// extra output, integers, NaN.
    fn outputs(rows: usize, seed: &[f32], zipmap: bool) -> Outputs {
        let value = |i: usize| seed[i % seed.len()];
        let labels = (0..rows)
            .map(|r| format!("class-{}", r % 3).into_bytes())
            .collect();
        let table = (0..rows * 3).map(value).collect();
        let mut out: Outputs = vec![(
            "label".into(),
            Output::Tensor(tensor("label", vec![rows], TensorData::Bytes(labels))),
        )];
        if zipmap {
            out.truncate(0);
            out.push((
                "output_probability".into(),
                Output::ClassProbabilities {
                    table: tensor("output_probability", vec![rows, 3], TensorData::F32(table)),
                    classes: vec!["zeta".into(), "alpha".into(), "mu".into()],
                },
            ));
        } else {
            out.push((
                "probabilities".into(),
                Output::Tensor(tensor(
                    "probabilities",
                    vec![rows, 3],
                    TensorData::F32(table),
                )),
            ));
        }
        out.push((
            "scores".into(),
            Output::Tensor(tensor(
                "scores",
                vec![rows, 2, 2],
                TensorData::F64((0..rows * 4).map(|i| f64::from(value(i + 1))).collect()),
            )),
        ));
        out.push((
            "counts".into(),
            Output::Tensor(tensor(
                "counts",
                vec![rows, 1],
                TensorData::I64((0..rows as i64).map(|i| i - 2).collect()),
            )),
        ));
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        /// The direct writer and the `Value` tree give the same bytes.
        #[test]
        fn answers_match_the_value_tree_byte_for_byte(
            rows in 1usize..9,
            seed in prop::collection::vec(
                prop_oneof![Just(0.0f32), Just(0.5), Just(f32::NAN), 0.0f32..1.0, -1e6f32..1e6, any::<f32>()],
                1..12,
            ),
            zipmap in any::<bool>(),
            single in any::<bool>(),
        ) {
            let model = iris();
            let rows = if single { 1 } else { rows };
            let outputs = outputs(rows, &seed, zipmap);
            let mut tree = record_predictions(&model, &outputs, rows);
            let expected = if single {
                tree.swap_remove(0).to_string()
            } else {
                serde_json::Value::Array(tree).to_string()
            };
            let direct = serde_json::to_string(&RecordAnswers::new(&model, &outputs, rows, single))
                .expect("serializes");
            prop_assert_eq!(direct, expected);
        }
    }
}
