//! Building `metadata.json` (the server's [`ModelMetadata`] contract) for a trained model.
//!
//! The training stage writes a draft (version 0, no metrics); `evaluate` measures the metrics
//! and `publish` fills in both when it places the model in the repository.

use std::collections::BTreeMap;

use anyhow::Context;
use prediction_api::contract::{
    DataType, FeatureSpec, FeatureType, METADATA_SCHEMA_VERSION, ModelMetadata, Task, TensorSpec,
    TrainingData,
};
use sha2::{Digest, Sha256};

use crate::dataset::Table;
use crate::features::Preprocessing;
use crate::fsutil::read_json;
use crate::layout::Layout;
use crate::onnx;
use crate::params::{Params, TaskKind};

/// Versions of the libraries a model was fitted and exported with.
pub fn libraries() -> BTreeMap<String, String> {
    [
        ("linfa", "0.8.1"),
        ("linfa-linear", "0.8.1"),
        ("linfa-elasticnet", "0.8.1"),
        ("linfa-trees", "0.8.1"),
        ("trainer", env!("CARGO_PKG_VERSION")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([
        ("onnx_ir_version".to_string(), onnx::IR_VERSION.to_string()),
        ("onnx_opset".to_string(), onnx::OPSET_VERSION.to_string()),
        (
            "onnx_ml_opset".to_string(),
            onnx::ML_OPSET_VERSION.to_string(),
        ),
    ])
    .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The metadata of a model fitted on `train` with preprocessing `pre`, before evaluation.
pub fn draft(
    layout: &Layout,
    params: &Params,
    name: &str,
    pre: &Preprocessing,
    train: &Table,
    algorithm: String,
) -> anyhow::Result<ModelMetadata> {
    let schema = params.dataset(name)?;
    let raw =
        std::fs::read(layout.raw(schema)).with_context(|| format!("cannot read {}", schema.raw))?;
    let profile: serde_json::Value = read_json(&layout.processed(name, "profile.json"))?;
    let count = |key: &str| {
        profile
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0) as usize
    };
    let numeric = pre.numeric.iter().map(|f| FeatureSpec {
        name: f.name.clone(),
        kind: FeatureType::Float,
        categories: None,
        min: Some(f.stats.min),
        max: Some(f.stats.max),
        mean: Some(f.stats.mean),
        std: Some(f.stats.std),
        reference: f.reference.clone(),
    });
    let categorical = pre.categorical.iter().map(|f| FeatureSpec {
        name: f.name.clone(),
        kind: FeatureType::String,
        categories: Some(f.vocabulary.clone()),
        min: None,
        max: None,
        mean: None,
        std: None,
        reference: f.reference.clone(),
    });
    let (task, outputs) = match schema.task {
        TaskKind::Regression => (
            Task::Regression,
            vec![tensor("variable", DataType::Fp32, vec![-1, 1])],
        ),
        TaskKind::Classification => {
            let classes = schema.classes.as_ref().map_or(0, Vec::len) as i64;
            (
                Task::Classification,
                vec![
                    tensor("label", DataType::Bytes, vec![-1]),
                    tensor("probabilities", DataType::Fp32, vec![-1, classes]),
                ],
            )
        }
    };
    let model_params = match schema.task {
        TaskKind::Regression => serde_json::to_value(&params.housing)?,
        TaskKind::Classification => serde_json::to_value(&params.iris)?,
    };
    Ok(ModelMetadata {
        schema_version: METADATA_SCHEMA_VERSION,
        name: name.to_string(),
        version: 0,
        task,
        algorithm,
        libraries: libraries(),
        target: schema.target.clone(),
        features: numeric.chain(categorical).collect(),
        outputs,
        class_labels: schema.classes.clone(),
        metrics: BTreeMap::new(),
        training_data: TrainingData {
            source: schema.raw.clone(),
            sha256: sha256_hex(&raw),
            rows: count("rows"),
            train_rows: train.rows(),
            test_rows: count("test_rows"),
        },
        params: serde_json::json!({
            "seed": params.seed,
            "split": params.split,
            "schema": schema,
            "model": model_params,
        }),
        model_sha256: String::new(),
    })
}

fn tensor(name: &str, datatype: DataType, shape: Vec<i64>) -> TensorSpec {
    TensorSpec {
        name: name.to_string(),
        datatype,
        shape,
    }
}

/// Key/value pairs stored inside the graph itself, for tools that see only the .onnx file.
pub fn graph_props(meta: &ModelMetadata) -> Vec<(String, String)> {
    vec![
        ("model_name".to_string(), meta.name.clone()),
        ("target".to_string(), meta.target.clone()),
        ("algorithm".to_string(), meta.algorithm.clone()),
    ]
}
