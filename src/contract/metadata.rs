//! `metadata.json`: what the trainer knows about a model and the server needs to serve it.
//!
//! External models have no metadata file; their signature is read from the graph instead
//! (see [`crate::runtime`]). Everything here is optional for the server except the signature.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DataType;

/// Version of the metadata format written by this build. Bumped on incompatible changes.
pub const METADATA_SCHEMA_VERSION: u32 = 1;

/// The contents of `models/<name>/<version>/metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelMetadata {
    /// Format version of this file ([`METADATA_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Model name: the folder name in the repository and the name in every API.
    pub name: String,
    /// Positive integer version: the folder name under the model.
    pub version: u64,
    pub task: Task,
    /// Human-readable algorithm, e.g. `"linfa-trees DecisionTree (gini)"`.
    pub algorithm: String,
    /// Library name → version used to fit and export the model.
    pub libraries: BTreeMap<String, String>,
    /// The target column the model predicts.
    pub target: String,
    /// One graph input per feature, in graph order.
    pub features: Vec<FeatureSpec>,
    /// The graph outputs.
    pub outputs: Vec<TensorSpec>,
    /// Class labels in the order of the probability columns (classification only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_labels: Option<Vec<String>>,
    /// Evaluation metrics on the held-out test split (name → value).
    pub metrics: BTreeMap<String, f64>,
    pub training_data: TrainingData,
    /// The hyperparameters and preprocessing parameters the model was fitted with.
    pub params: serde_json::Value,
    /// sha256 (hex) of the `model.onnx` beside this file.
    pub model_sha256: String,
}

/// What kind of prediction the model makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Regression,
    Classification,
}

/// The element type of a feature as the client sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeatureType {
    /// A number, fed to the graph as a `float` tensor of shape [N, 1].
    Float,
    /// A category, fed to the graph as a `string` tensor of shape [N, 1].
    String,
}

impl FeatureType {
    /// The graph input's element type for this feature.
    pub fn datatype(self) -> DataType {
        match self {
            FeatureType::Float => DataType::Fp32,
            FeatureType::String => DataType::Bytes,
        }
    }
}

/// One input feature of a model trained by this project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// Categories seen in training (string features). Others are accepted and encoded as
    /// "none of the known categories".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Training minimum (numeric features).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Training maximum (numeric features).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Training mean (numeric features).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Training standard deviation (numeric features).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// The training distribution, the reference for drift.
    pub reference: ReferenceDistribution,
}

/// A feature's training distribution, in the bins drift is measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ReferenceDistribution {
    /// Bins split at `edges` (ascending inner edges: bin i holds `edges[i-1] <= x < edges[i]`,
    /// the first and last bins are open-ended), so `fractions.len() == edges.len() + 1`.
    Numeric {
        edges: Vec<f64>,
        fractions: Vec<f64>,
    },
    /// One bin per training category, plus a last bin for anything else.
    Categorical {
        categories: Vec<String>,
        fractions: Vec<f64>,
    },
}

/// A named tensor: a graph input or output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    pub datatype: DataType,
    /// Dimensions; -1 where the graph leaves a dimension dynamic.
    pub shape: Vec<i64>,
}

/// Where the training data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingData {
    /// Path of the raw CSV, relative to the project root.
    pub source: String,
    /// sha256 (hex) of the raw CSV.
    pub sha256: String,
    /// Rows in the raw CSV.
    pub rows: usize,
    /// Rows used for fitting (training split, validation included).
    pub train_rows: usize,
    /// Rows held out for evaluation.
    pub test_rows: usize,
}

impl ModelMetadata {
    /// The graph inputs this metadata promises: one [-1, 1] tensor per feature.
    pub fn input_specs(&self) -> Vec<TensorSpec> {
        self.features
            .iter()
            .map(|f| TensorSpec {
                name: f.name.clone(),
                datatype: f.kind.datatype(),
                shape: vec![-1, 1],
            })
            .collect()
    }
}
