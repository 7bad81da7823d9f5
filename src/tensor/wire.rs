//! The KServe V2 inference request and response as serde types, field for field.
//!
//! Tensor `data` is kept as raw JSON text ([`RawValue`]) rather than a `serde_json::Value`
//! tree: a tree costs an allocation-heavy node per element, while raw text is decoded straight
//! into a typed vector once the datatype and shape are known (they may come after `data` in the
//! object, so the decode cannot happen while the request itself is parsed).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::contract::DataType;

/// Free-form `parameters` objects of the protocol.
pub type Parameters = Map<String, Value>;

/// `POST /v2/models/{m}/infer` request body (its JSON part, when binary data follows).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InferenceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `binary_data_output: true` asks for every output in binary form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
    pub inputs: Vec<RequestInput>,
    /// `None` means every output of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<RequestedOutput>>,
}

/// One input tensor of a request.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RequestInput {
    pub name: String,
    /// As sent; validated (non-negative, product fits) when the input is decoded.
    pub shape: Vec<i64>,
    /// As sent, so an unknown name is answered with the list of valid ones.
    pub datatype: String,
    /// `binary_data_size` says the elements are in the binary part of the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
    /// The elements as JSON text: a flat or nested array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    pub data: Option<Box<RawValue>>,
}

/// An output the client asks for, and how it wants it encoded.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RequestedOutput {
    pub name: String,
    /// `binary_data: true|false` overrides the request's `binary_data_output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
}

/// The inference response body (its JSON part, when binary data follows).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InferenceResponse {
    pub model_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
    pub outputs: Vec<ResponseOutput>,
}

/// One output tensor of a response.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ResponseOutput {
    pub name: String,
    pub shape: Vec<usize>,
    pub datatype: DataType,
    /// `binary_data_size` when the elements follow the JSON in binary form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
    /// The elements as a flat JSON array; absent for binary outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    pub data: Option<Box<RawValue>>,
}
