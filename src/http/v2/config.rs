//! `GET /v2/models/{name}[/versions/{version}]/config`: a model's configuration in the shape of
//! Triton's model configuration (its JSON form), for the clients that read it before they send
//! anything: tritonclient's `get_model_config`, Triton's `perf_analyzer`.
//!
//! Triton's convention decides the dimensions: with `max_batch_size` above 0 every input and
//! output has an implicit first (batch) dimension that `dims` leave out; with 0, `dims` are
//! the whole shapes. A model is described batched when every input and output holds the rows
//! along its first dimension (`LoadedModel::rows_everywhere`), which is also when this server
//! splits a request into records.

use schemars::JsonSchema;
use serde::Serialize;

use crate::contract::{DataType, TensorSpec};
use crate::repository::LoadedModel;

use super::metadata::PLATFORM;

/// Triton's model configuration, the fields this server can fill truthfully.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelConfigResponse {
    pub name: String,
    pub platform: &'static str,
    pub backend: &'static str,
    /// The most rows one execution takes when the model is batched (1 for graphs exported
    /// with a fixed batch of one; the batching limit otherwise), 0 when it is not: then
    /// `dims` are whole shapes.
    pub max_batch_size: usize,
    pub input: Vec<ConfigTensor>,
    pub output: Vec<ConfigTensor>,
    /// Present when concurrent requests are coalesced into one execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_batching: Option<DynamicBatching>,
    /// The ONNX Runtime sessions this version runs on.
    pub instance_group: Vec<InstanceGroup>,
}

/// One input or output; -1 marks a dynamic dimension.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigTensor {
    pub name: String,
    /// Triton's name of the datatype: `TYPE_FP32`, `TYPE_STRING` for BYTES, …
    pub data_type: String,
    pub dims: Vec<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DynamicBatching {
    pub max_queue_delay_microseconds: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct InstanceGroup {
    pub count: usize,
    pub kind: &'static str,
}

/// The configuration of `model`.
pub fn describe(model: &LoadedModel) -> ModelConfigResponse {
    let signature = &model.signature;
    let max_batch_size = max_batch_size(model);
    let dims = |spec: &TensorSpec| match max_batch_size {
        0 => spec.shape.clone(),
        _ => spec.shape.iter().skip(1).copied().collect(),
    };
    let tensor = |spec: &TensorSpec| ConfigTensor {
        name: spec.name.clone(),
        data_type: triton_type(spec.datatype),
        dims: dims(spec),
    };
    ModelConfigResponse {
        name: model.name.clone(),
        platform: PLATFORM,
        backend: "onnxruntime",
        max_batch_size,
        input: signature.inputs.iter().map(tensor).collect(),
        output: signature
            .outputs
            .iter()
            .map(|o| tensor(&o.tensor))
            .collect(),
        dynamic_batching: model.batching.enabled.then(|| DynamicBatching {
            max_queue_delay_microseconds: u64::try_from(model.batching.max_delay.as_micros())
                .unwrap_or(u64::MAX),
        }),
        instance_group: vec![InstanceGroup {
            count: model.pool.size(),
            kind: "KIND_CPU",
        }],
    }
}

/// Triton's `max_batch_size` for `model`: above 0 when its first dimensions are the batch.
pub fn max_batch_size(model: &LoadedModel) -> usize {
    match model.signature.max_batch {
        Some(fixed) => fixed,
        None if model.rows_everywhere() && all_dynamic_first(model) => model.batching.max_rows,
        None => 0,
    }
}

/// Whether every input and output has a dynamic first dimension (the batch Triton leaves out).
fn all_dynamic_first(model: &LoadedModel) -> bool {
    let dynamic = |spec: &TensorSpec| spec.shape.first().is_some_and(|&d| d < 0);
    model.signature.inputs.iter().all(dynamic)
        && model.signature.outputs.iter().all(|o| dynamic(&o.tensor))
}

/// `TYPE_` and the V2 name, but for BYTES, which Triton's configuration calls `TYPE_STRING`.
fn triton_type(datatype: DataType) -> String {
    match datatype {
        DataType::Bytes => "TYPE_STRING".to_string(),
        other => format!("TYPE_{}", other.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triton_names_every_datatype() {
        let names: Vec<String> = DataType::ALL.into_iter().map(triton_type).collect();
        assert!(names.contains(&"TYPE_FP32".to_string()));
        assert!(names.contains(&"TYPE_STRING".to_string()));
        assert!(names.contains(&"TYPE_BOOL".to_string()));
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("TYPE_") && !n.contains("BYTES"))
        );
    }
}
