//! Stage `validate` (deployment validation): load each exported graph through the server's
//! ONNX Runtime loader, check its signature against its metadata, run every test row and
//! compare with the linfa model. Any difference fails the stage.

use anyhow::{Context, bail};
use prediction_api::contract::{FeatureType, ModelMetadata};
use prediction_api::runtime::ort::session::{Session, SessionInputValue};
use prediction_api::runtime::ort::value::Tensor;
use prediction_api::runtime::{SessionOptions, graph_signature, open_session};
use serde::Serialize;

use crate::dataset::{self, Table};
use crate::features::Preprocessing;
use crate::fsutil::{read_json, write_json};
use crate::layout::Layout;
use crate::params::Params;
use crate::{housing, iris};

/// Largest relative difference accepted between ONNX Runtime (f32) and linfa (f64).
pub const REGRESSION_TOLERANCE: f64 = 1e-4;

/// `models/<name>/validation.json` (a DVC metrics file)
#[derive(Debug, Serialize)]
pub struct ValidationReport {
    pub model: String,
    pub rows: usize,
    pub signature_matches: bool,
    pub mismatches: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_relative_error: Option<f64>,
}

fn open(layout: &Layout, name: &str) -> anyhow::Result<(Session, ModelMetadata)> {
    let path = layout.trained(name, "model.onnx");
    let meta: ModelMetadata = read_json(&layout.trained(name, "metadata.json"))?;
    let session = open_session(&path, SessionOptions::default())?;
    let signature = graph_signature(&session)?;
    if signature.inputs != meta.input_specs() {
        bail!(
            "{}: graph inputs {:?} do not match the metadata's {:?}",
            path.display(),
            signature.inputs,
            meta.input_specs()
        );
    }
    if signature.outputs != meta.outputs || !signature.other_outputs.is_empty() {
        bail!(
            "{}: graph outputs {:?} do not match the metadata's {:?}",
            path.display(),
            signature.outputs,
            meta.outputs
        );
    }
    Ok((session, meta))
}

/// One [N, 1] input per feature, from the table's columns.
fn inputs(
    meta: &ModelMetadata,
    table: &Table,
) -> anyhow::Result<Vec<(String, SessionInputValue<'static>)>> {
    let n = table.rows();
    let (mut numeric, mut categorical) = (table.numeric.iter(), table.categorical.iter());
    meta.features
        .iter()
        .map(|f| {
            let value: SessionInputValue<'static> = match f.kind {
                FeatureType::Float => {
                    let col = numeric
                        .next()
                        .context("fewer numeric columns than features")?;
                    Tensor::from_array((
                        [n, 1usize],
                        col.iter().map(|&v| v as f32).collect::<Vec<f32>>(),
                    ))?
                    .into()
                }
                FeatureType::String => {
                    let col = categorical
                        .next()
                        .context("fewer categorical columns than features")?;
                    Tensor::from_string_array(([n, 1usize], &col[..]))?.into()
                }
            };
            Ok((f.name.clone(), value))
        })
        .collect()
}

pub fn run_housing(layout: &Layout, params: &Params) -> anyhow::Result<()> {
    let name = housing::NAME;
    let (mut session, meta) = open(layout, name)?;
    let test = dataset::load(&layout.processed(name, "test.csv"), params.dataset(name)?)?;
    let expected =
        housing::load_model(layout)?.predict(&Preprocessing::load(layout, name)?, &test)?;
    let outputs = session.run(inputs(&meta, &test)?)?;
    let (_, got) = outputs
        .get("variable")
        .context("no output `variable`")?
        .try_extract_tensor::<f32>()?;
    let errors: Vec<f64> = expected
        .iter()
        .zip(got)
        .map(|(&e, &g)| (f64::from(g) - e).abs() / e.abs().max(1.0))
        .collect();
    let mismatches = errors.iter().filter(|&&e| e > REGRESSION_TOLERANCE).count()
        + expected.len().abs_diff(got.len());
    let max = errors.iter().copied().fold(0.0, f64::max);
    let answers = expected.iter().map(|&p| serde_json::json!(p)).collect();
    write_expected(layout, name, &meta, &test, answers)?;
    report(layout, name, test.rows(), mismatches, Some(max))
}

pub fn run_iris(layout: &Layout, params: &Params) -> anyhow::Result<()> {
    let name = iris::NAME;
    let (mut session, meta) = open(layout, name)?;
    let schema = params.dataset(name)?;
    let classes = schema.classes.clone().unwrap_or_default();
    let test = dataset::load(&layout.processed(name, "test.csv"), schema)?;
    let expected = iris::load_model(layout)?.predict(&test)?;
    let outputs = session.run(inputs(&meta, &test)?)?;
    let (_, labels) = outputs
        .get("label")
        .context("no output `label`")?
        .try_extract_strings()?;
    let mismatches = expected
        .iter()
        .zip(&labels)
        .filter(|&(&e, got)| classes.get(e) != Some(got))
        .count()
        + expected.len().abs_diff(labels.len());
    let answers = expected
        .iter()
        .map(|&e| serde_json::json!(classes.get(e)))
        .collect();
    write_expected(layout, name, &meta, &test, answers)?;
    report(layout, name, test.rows(), mismatches, None)
}

/// `models/<name>/expected_predictions.json`: every test row with the linfa model's answer,
/// the reference any client of the served model can compare with.
#[derive(Debug, Serialize)]
struct ExpectedPredictions {
    model: String,
    source: &'static str,
    records: Vec<ExpectedRecord>,
}

#[derive(Debug, Serialize)]
struct ExpectedRecord {
    features: serde_json::Map<String, serde_json::Value>,
    expected: serde_json::Value,
}

fn write_expected(
    layout: &Layout,
    name: &str,
    meta: &ModelMetadata,
    table: &Table,
    answers: Vec<serde_json::Value>,
) -> anyhow::Result<()> {
    let records = answers
        .into_iter()
        .enumerate()
        .map(|(row, expected)| {
            let (mut numeric, mut categorical) = (table.numeric.iter(), table.categorical.iter());
            let features = meta
                .features
                .iter()
                .map(|f| {
                    let value = match f.kind {
                        FeatureType::Float => serde_json::json!(numeric.next().map(|c| c[row])),
                        FeatureType::String => {
                            serde_json::json!(categorical.next().map(|c| &c[row]))
                        }
                    };
                    (f.name.clone(), value)
                })
                .collect();
            ExpectedRecord { features, expected }
        })
        .collect();
    let file = ExpectedPredictions {
        model: name.to_string(),
        source: "the linfa model's predictions on the test split",
        records,
    };
    write_json(
        &layout.repository(name).join("expected_predictions.json"),
        &file,
    )
}

fn report(
    layout: &Layout,
    name: &str,
    rows: usize,
    mismatches: usize,
    max_relative_error: Option<f64>,
) -> anyhow::Result<()> {
    let report = ValidationReport {
        model: name.to_string(),
        rows,
        signature_matches: true,
        mismatches,
        max_relative_error,
    };
    write_json(&layout.repository(name).join("validation.json"), &report)?;
    if mismatches > 0 {
        bail!(
            "validate {name}: ONNX Runtime and linfa disagree on {mismatches} of {rows} test rows"
        );
    }
    match max_relative_error {
        Some(e) => {
            eprintln!("validate {name}: {rows} test rows agree (max relative error {e:.2e})")
        }
        None => eprintln!("validate {name}: {rows} test rows agree, labels identical"),
    }
    Ok(())
}
