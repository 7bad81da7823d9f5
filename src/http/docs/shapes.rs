//! Request and response shapes of the routes whose handlers work on `serde_json::Value`
//! (records, TF-Serving V1, MLflow, model status), typed here only so the OpenAPI document can
//! describe them: nothing constructs them. Doc comments become schema descriptions, so they
//! speak to API users; the `serde` attributes tell schemars the wire shape.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde_json::Value;

use crate::contract::DataType;

/// The body of every error answer.
#[derive(JsonSchema)]
pub struct ErrorResponse {
    /// What went wrong, in words; names the field at fault when there is one.
    pub error: String,
    pub code: ErrorCode,
}

/// A stable machine-readable error code: one per kind of failure.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not JSON, or not the expected JSON shape.
    BadRequest,
    /// 404: no such model, version or route.
    NotFound,
    /// 405: the route does not take this method (the `Allow` header lists those it takes).
    MethodNotAllowed,
    /// 408: the client had not finished sending its body within the server's time limit.
    BodyTimeout,
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 415: the Content-Type is not JSON.
    UnsupportedMediaType,
    /// 422: valid JSON that does not fit the model (missing or unknown feature, wrong type…).
    InvalidInput,
    /// 503: the model is not ready; retry after `Retry-After` seconds.
    Unavailable,
    /// 504: the request took longer than the server's time limit.
    Timeout,
    /// 500: the server or the runtime failed; details are in the server log.
    Internal,
    /// 401: an admin route called without `Authorization: Bearer <token>`.
    Unauthorized,
    /// 403: an admin route called with a token that is not the server's.
    Forbidden,
}

/// One value of a feature: a number, a category name, a boolean, or (for a model input that
/// takes several values per row) an array.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum FeatureValue {
    Number(f64),
    Category(String),
    /// For a model input of datatype BOOL.
    Boolean(bool),
    Array(Vec<Value>),
}

/// One row: feature name → value. Every input of the model must be present, and only those.
pub type Record = BTreeMap<String, FeatureValue>;

/// `POST /predict/{model}`: one record, or an array of records scored in one batch.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum PredictRequest {
    One(Record),
    Batch(Vec<Record>),
}

/// `POST /predict/{model}`: one prediction for a record, an array in request order for an
/// array.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum PredictResponse {
    One(Prediction),
    Batch(Vec<Prediction>),
}

/// The answer for one record.
#[derive(JsonSchema)]
pub struct Prediction {
    /// The predicted value (regression) or class label (classification).
    pub prediction: Value,
    /// Class label → probability, for classifiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<BTreeMap<String, f64>>,
    /// Any other output of the model, by output name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<BTreeMap<String, Value>>,
    /// The model that answered.
    pub model: String,
    /// The version that answered.
    pub version: u64,
}

/// `POST /v1/models/{name}:predict`: rows (`instances`) or columns (`inputs`), never both.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum V1PredictRequest {
    Rows(V1Rows),
    Columns(V1Columns),
}

/// Row format. Other keys (`signature_name`, which TF-Serving clients send) are ignored.
#[derive(JsonSchema)]
pub struct V1Rows {
    /// One record per row (a single-input model also takes bare values).
    pub instances: Vec<Value>,
    /// Optional: `serving_default` (or empty), the graph's one signature; another is 400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_name: Option<Value>,
}

/// Column format. Other keys (`signature_name`, which TF-Serving clients send) are ignored.
#[derive(JsonSchema)]
pub struct V1Columns {
    /// Input name → one value per row (a single-input model also takes the bare list).
    pub inputs: Value,
    /// Accepted and ignored, whatever its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_name: Option<Value>,
}

/// `POST /v1/models/{name}:predict` answer: `predictions` for rows, `outputs` for columns.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum V1PredictResponse {
    Rows {
        /// One entry per instance, in order: the output's value for a single-output model,
        /// else an object output name → value; a probability output is class → probability.
        predictions: Vec<Value>,
    },
    Columns {
        /// The per-row values of a single output, else output name → per-row values.
        outputs: Value,
    },
}

/// `GET /v1/models/{name}`: TF-Serving's model status.
#[derive(JsonSchema)]
pub struct V1ModelStatus {
    pub model_version_status: Vec<V1VersionStatus>,
}

#[derive(JsonSchema)]
pub struct V1VersionStatus {
    /// The version, as a string.
    pub version: String,
    /// `AVAILABLE` when it serves, `END` when it failed to load.
    pub state: String,
    pub status: V1Status,
}

#[derive(JsonSchema)]
pub struct V1Status {
    /// `OK`, or `UNKNOWN` for a version that failed to load.
    pub error_code: String,
    /// Why the version failed to load; empty when it serves.
    pub error_message: String,
}

/// `POST /invocations`: MLflow's scoring request, with exactly one of the four keys.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum MlflowRequest {
    Split {
        dataframe_split: DataframeSplit,
    },
    Records {
        /// One record per row (pandas `orient="records"`).
        dataframe_records: Vec<Record>,
    },
    Instances {
        /// One record per row, as in TF-Serving's row format.
        instances: Vec<Value>,
    },
    Inputs {
        /// Input name → one value per row, as in TF-Serving's column format.
        inputs: Value,
    },
}

/// A table in pandas `orient="split"` form.
#[derive(JsonSchema)]
pub struct DataframeSplit {
    /// The feature names, one per column of `data`.
    pub columns: Vec<String>,
    /// The rows: one value per column.
    pub data: Vec<Vec<Value>>,
    /// Row labels; accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Vec<Value>>,
}

/// MLflow's scoring answer.
#[derive(JsonSchema)]
pub struct MlflowResponse {
    /// One entry per row, in order.
    pub predictions: Vec<Value>,
}

/// `GET /v2/models/{name}`: the model's name, versions, platform and tensor signature.
#[derive(JsonSchema)]
pub struct V2ModelMetadata {
    pub name: String,
    /// The loaded versions, as strings.
    pub versions: Vec<String>,
    /// `onnxruntime_onnx`.
    pub platform: String,
    pub inputs: Vec<V2MetadataTensor>,
    pub outputs: Vec<V2MetadataTensor>,
}

/// A tensor of the model signature.
#[derive(JsonSchema)]
pub struct V2MetadataTensor {
    pub name: String,
    pub datatype: DataType,
    /// Dimensions; -1 for a dynamic one (the batch dimension first).
    pub shape: Vec<i64>,
    /// For a probability output: `classes`, the class labels in column order, and `note`, how
    /// the graph's output is converted to be served when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<serde_json::Map<String, Value>>,
}

/// `GET /v2/models/{name}/ready`
#[derive(JsonSchema)]
pub struct V2ModelReady {
    pub name: String,
    pub ready: bool,
    /// Why the model is not ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
