//! ONNX graphs written from Rust: protobuf messages and graph builders for our models.
//!
//! [`linear_regression_graph`] and [`tree_classifier_graph`] turn a fitted model's parameters
//! into the bytes of a self-contained ONNX model: preprocessing included, inputs one `[N, 1]`
//! tensor per feature. Output is deterministic: the same spec always gives the same bytes.

mod builder;
mod linear;
pub use prediction_api::graph::proto;
#[cfg(test)]
mod test_support;
mod tree;

pub use builder::{
    BATCH_DIM, IR_VERSION, ML_DOMAIN, ML_OPSET_VERSION, OPSET_VERSION, PRODUCER_NAME,
};
pub use linear::{
    CategoricalInput, LINEAR_OUTPUT, LinearGraphSpec, NumericInput, TargetTransform,
    linear_regression_graph,
};
pub use tree::{
    LABEL_OUTPUT, PROBABILITIES_OUTPUT, TreeGraphSpec, TreeNodeSpec, tree_classifier_graph,
};

/// Why a graph could not be exported: the spec is inconsistent. Nothing is written then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnnxExportError {
    #[error("cannot export ONNX graph {graph:?}: {reason}")]
    InvalidSpec { graph: String, reason: String },
}
