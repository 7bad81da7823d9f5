//! V2 model metadata and readiness bodies, built from a loaded model's signature.

use schemars::JsonSchema;
use serde::Serialize;

use crate::contract::{DataType, TensorSpec};
use crate::repository::{LoadedModel, OutputSpec};

/// The only runtime behind the V2 routes, named as Triton names its ONNX backend.
pub(super) const PLATFORM: &str = "onnxruntime_onnx";

/// `GET /v2/models/{name}[/versions/{version}]`
#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelMetadataResponse {
    pub name: String,
    /// Every loaded version of the model, ascending, as strings (the protocol's type).
    pub versions: Vec<String>,
    pub platform: &'static str,
    /// The inputs of the version asked for (the highest loaded one when none is).
    pub inputs: Vec<MetadataTensor>,
    pub outputs: Vec<MetadataTensor>,
}

/// One input or output; -1 marks a dynamic dimension.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MetadataTensor {
    pub name: String,
    pub datatype: DataType,
    pub shape: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<TensorParameters>,
}

/// What a client needs beyond name, datatype and shape to read an output.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TensorParameters {
    /// Class labels, in the order of the output's columns.
    pub classes: Vec<String>,
    /// How the graph's output is converted to be served, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `GET /v2/models/{name}[/versions/{version}]/ready`
#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelReadyResponse {
    pub name: String,
    pub ready: bool,
    /// Why the model is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The metadata of `model`, listing `versions` as the model's loaded versions.
pub fn describe(model: &LoadedModel, versions: Vec<String>) -> ModelMetadataResponse {
    ModelMetadataResponse {
        name: model.name.clone(),
        versions,
        platform: PLATFORM,
        inputs: model.signature.inputs.iter().map(input).collect(),
        outputs: model.signature.outputs.iter().map(output).collect(),
    }
}

fn input(spec: &TensorSpec) -> MetadataTensor {
    MetadataTensor {
        name: spec.name.clone(),
        datatype: spec.datatype,
        shape: spec.shape.clone(),
        parameters: None,
    }
}

fn output(spec: &OutputSpec) -> MetadataTensor {
    // A ZipMap's sequence of maps has no V2 datatype: it is served as the table it becomes.
    let note = spec.zipmap.then(|| {
        "the graph returns a sequence of maps class → probability (ZipMap); it is served as \
         an FP32 [N, classes] table with the columns in `classes` order"
            .to_string()
    });
    MetadataTensor {
        parameters: spec
            .classes
            .clone()
            .map(|classes| TensorParameters { classes, note }),
        ..input(&spec.tensor)
    }
}
