//! TF-Serving's model metadata: `GET /v1/models/{name}[/versions/{v}]/metadata`, the
//! signature a TF-Serving client reads to learn the input and output names, types and shapes.
//!
//! The answer has TF-Serving's JSON shape, nesting included (`metadata.signature_def` holds a
//! `SignatureDefMap`, whose `signature_def` maps signature names to signatures): one
//! signature, `serving_default`, with the graph's inputs and outputs. Dimension sizes are
//! strings, as protobuf's JSON mapping writes 64-bit integers; -1 marks a dynamic dimension.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;

use crate::contract::{DataType, TensorSpec};
use crate::http::error::ApiError;
use crate::http::path::ApiPath;
use crate::http::state::AppState;
use crate::repository::LoadedModel;

use super::SIGNATURE;

/// `GET /v1/models/{name}/metadata`: the newest loaded version's signature.
pub async fn metadata(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<MetadataResponse>, ApiError> {
    let model = state.repository.get(&name, None)?;
    Ok(Json(MetadataResponse::of(&model)))
}

/// `GET /v1/models/{name}/versions/{version}/metadata`
pub async fn version_metadata(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<Json<MetadataResponse>, ApiError> {
    let model = state.repository.get(&name, Some(&version))?;
    Ok(Json(MetadataResponse::of(&model)))
}

/// TF-Serving's `GetModelMetadataResponse`, in its JSON form.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MetadataResponse {
    pub model_spec: ModelSpec,
    pub metadata: Metadata,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelSpec {
    pub name: String,
    /// Empty: the default signature.
    pub signature_name: String,
    /// The version that answers, as a string.
    pub version: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Metadata {
    pub signature_def: SignatureDefMap,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SignatureDefMap {
    /// Signature name → signature; one, `serving_default`.
    pub signature_def: BTreeMap<String, SignatureDef>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SignatureDef {
    /// Input name → tensor.
    pub inputs: BTreeMap<String, TensorInfo>,
    /// Output name → tensor.
    pub outputs: BTreeMap<String, TensorInfo>,
    /// `tensorflow/serving/predict`: the signature `:predict` serves.
    pub method_name: &'static str,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TensorInfo {
    /// The graph's name for the tensor, the key the predict formats use.
    pub name: String,
    /// TensorFlow's type name: `DT_FLOAT`, `DT_STRING` for BYTES, …
    pub dtype: &'static str,
    pub tensor_shape: TensorShape,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TensorShape {
    pub dim: Vec<Dim>,
    /// True for an input the graph declares without a shape (any rank; `dim` is then empty).
    pub unknown_rank: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Dim {
    /// The size as a string; "-1" when the graph leaves it dynamic.
    pub size: String,
    pub name: String,
}

impl MetadataResponse {
    fn of(model: &LoadedModel) -> MetadataResponse {
        let signature = &model.signature;
        let inputs = signature
            .inputs
            .iter()
            .map(|i| TensorInfo::entry(i, signature.takes_any_rank(&i.name)))
            .collect();
        let outputs = signature
            .outputs
            .iter()
            .map(|o| TensorInfo::entry(&o.tensor, false))
            .collect();
        let signature_def = BTreeMap::from([(
            SIGNATURE.to_owned(),
            SignatureDef {
                inputs,
                outputs,
                method_name: "tensorflow/serving/predict",
            },
        )]);
        MetadataResponse {
            model_spec: ModelSpec {
                name: model.name.clone(),
                signature_name: String::new(),
                version: model.version.to_string(),
            },
            metadata: Metadata {
                signature_def: SignatureDefMap { signature_def },
            },
        }
    }
}

impl TensorInfo {
    /// `spec` as TF-Serving describes a tensor; `any_rank` for an input the graph declares
    /// without a shape.
    fn entry(spec: &TensorSpec, any_rank: bool) -> (String, TensorInfo) {
        let dim = spec
            .shape
            .iter()
            .map(|&d| Dim {
                size: d.max(-1).to_string(),
                name: String::new(),
            })
            .collect();
        let info = TensorInfo {
            name: spec.name.clone(),
            dtype: tensorflow_type(spec.datatype),
            tensor_shape: TensorShape {
                dim,
                unknown_rank: any_rank,
            },
        };
        (spec.name.clone(), info)
    }
}

/// TensorFlow's name of a datatype.
fn tensorflow_type(datatype: DataType) -> &'static str {
    match datatype {
        DataType::Bool => "DT_BOOL",
        DataType::Uint8 => "DT_UINT8",
        DataType::Uint16 => "DT_UINT16",
        DataType::Uint32 => "DT_UINT32",
        DataType::Uint64 => "DT_UINT64",
        DataType::Int8 => "DT_INT8",
        DataType::Int16 => "DT_INT16",
        DataType::Int32 => "DT_INT32",
        DataType::Int64 => "DT_INT64",
        DataType::Fp16 => "DT_HALF",
        DataType::Bf16 => "DT_BFLOAT16",
        DataType::Fp32 => "DT_FLOAT",
        DataType::Fp64 => "DT_DOUBLE",
        DataType::Bytes => "DT_STRING",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_datatype_has_a_tensorflow_name() {
        for datatype in DataType::ALL {
            assert!(tensorflow_type(datatype).starts_with("DT_"));
        }
        assert_eq!(tensorflow_type(DataType::Bytes), "DT_STRING");
        assert_eq!(tensorflow_type(DataType::Fp32), "DT_FLOAT");
    }

    #[test]
    fn a_tensor_is_described_with_string_sizes_and_dynamic_dimensions_as_minus_one() {
        let spec = TensorSpec {
            name: "x".into(),
            datatype: DataType::Fp32,
            shape: vec![-1, 4],
        };
        let (key, info) = TensorInfo::entry(&spec, false);
        let json = serde_json::to_value(&info).expect("serializes");
        assert_eq!(key, "x");
        assert_eq!(
            json,
            serde_json::json!({"name": "x", "dtype": "DT_FLOAT", "tensor_shape": {
                "dim": [{"size": "-1", "name": ""}, {"size": "4", "name": ""}],
                "unknown_rank": false}})
        );
    }
}
