//! TF-Serving / KServe V1 routes: `POST /v1/models/{name}[/versions/{v}]:predict` in row
//! (`instances`) or column (`inputs`) format, `GET /v1/models/{name}[/versions/{v}]` status,
//! and the signature at `…/metadata` (metadata.rs).
//!
//! The verb is part of the last path segment (`iris:predict`), so the routes capture that
//! segment whole and split it at its last `:`.

mod metadata;

pub use metadata::MetadataResponse;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;

use super::path::ApiPath;
use axum::http::HeaderMap;
use axum::routing::get;
use serde::Serialize;
use serde_json::{Map, Value};

use super::body::JsonBody;
use super::error::{ApiError, unprocessable};
use super::state::AppState;
use super::trail::{Scored, Trail};
use crate::audit::AuditInputs;
use crate::inference::{self, Outputs, records};
use crate::repository::{LoadedModel, ModelEntry};
use crate::tensor::Tensor;

pub fn routes() -> Router<AppState> {
    // `{name}` is `iris` for status and `iris:predict` for predictions; the MLflow routes
    // use the same parameter name under this prefix so the router sees one shape.
    Router::new()
        .route("/v1/models/{name}", get(status).post(predict))
        .route(
            "/v1/models/{name}/versions/{version}",
            get(version_status).post(predict_version),
        )
        .route("/v1/models/{name}/metadata", get(metadata::metadata))
        .route(
            "/v1/models/{name}/versions/{version}/metadata",
            get(metadata::version_metadata),
        )
}

/// `POST /v1/models/{name}:predict`
async fn predict(
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let trail = Trail::begin("/v1/models/{name}:predict", &headers);
    let name = segment
        .rsplit_once(':')
        .map_or(segment.as_str(), |(n, _)| n);
    let result = match strip_predict(&segment) {
        Ok(name) => match state.repository.get(name, None) {
            Ok(model) => answer(model, body).await,
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e),
    };
    trail.finish(&state, name, None, result).await.map(Json)
}

/// `POST /v1/models/{name}/versions/{version}:predict`
async fn predict_version(
    State(state): State<AppState>,
    ApiPath((name, segment)): ApiPath<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let trail = Trail::begin("/v1/models/{name}/versions/{version}:predict", &headers);
    let version = segment
        .rsplit_once(':')
        .map_or(segment.as_str(), |(v, _)| v);
    let result = match strip_predict(&segment) {
        Ok(version) => match state.repository.get(&name, Some(version)) {
            Ok(model) => answer(model, body).await,
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e),
    };
    trail
        .finish(&state, &name, Some(version), result)
        .await
        .map(Json)
}

/// The path segment without its `:predict` verb; any other verb (or none) is not a route.
fn strip_predict(segment: &str) -> Result<&str, ApiError> {
    match segment.rsplit_once(':') {
        Some((target, "predict")) if !target.is_empty() => Ok(target),
        Some(("", _)) => Err(ApiError::NotFound(format!(
            "`{segment}` names no model: post to `/v1/models/<name>:predict`"
        ))),
        Some((_, verb)) => Err(ApiError::NotFound(format!(
            "unsupported verb `:{verb}`: this server answers `:predict`"
        ))),
        None => Err(ApiError::NotFound(format!(
            "predictions are posted to `{segment}:predict`"
        ))),
    }
}

/// Row format answers `{"predictions": [...]}`, column format `{"outputs": ...}`.
async fn answer(model: Arc<LoadedModel>, body: Value) -> Result<Scored<Value>, ApiError> {
    let request = V1Request::parse(body)?;
    let (format, tensors, records) = match &request {
        V1Request::Instances(rows) => (
            "predictions",
            tensors_from_instances(&model, rows)?,
            Some(rows.len()),
        ),
        V1Request::Inputs(columns) => ("outputs", tensors_from_inputs(&model, columns)?, None),
    };
    let rows = request_rows(records, &tensors);
    let tensors: Arc<[Tensor]> = tensors.into();
    let outputs = run(&model, tensors.clone(), rows).await?;
    let (result, inputs) = match request {
        V1Request::Instances(records) => (
            Value::Array(per_row(&model, &outputs, rows)),
            AuditInputs::Records(records),
        ),
        V1Request::Inputs(_) => (
            by_column(&model, &outputs, rows),
            // Columns have no records to keep: the trail keeps the tensors they became.
            AuditInputs::Tensors(tensors),
        ),
    };
    let mut answer = Map::new();
    answer.insert(format.into(), result);
    Ok(Scored {
        model,
        inputs,
        outputs,
        answer: Value::Object(answer),
        as_sent: None,
    })
}

/// The one signature a graph has ([`metadata`]); a request may name it.
const SIGNATURE: &str = "serving_default";

/// The two request formats; other keys are ignored. `signature_name`, when given, must be
/// the graph's one signature (TF-Serving refuses a signature it does not have).
enum V1Request {
    Instances(Vec<Value>),
    Inputs(Value),
}

impl V1Request {
    fn parse(body: Value) -> Result<V1Request, ApiError> {
        let Value::Object(mut fields) = body else {
            return Err(ApiError::BadRequest(
                "send a JSON object with `instances` (rows) or `inputs` (columns)".into(),
            ));
        };
        match fields.get("signature_name") {
            None | Some(Value::Null) => {}
            Some(Value::String(name)) if name.is_empty() || name == SIGNATURE => {}
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "signature_name {other} not found: this model's one signature is \
                     `{SIGNATURE}`"
                )));
            }
        }
        match (fields.remove("instances"), fields.remove("inputs")) {
            (Some(Value::Array(rows)), None) => Ok(V1Request::Instances(rows)),
            (Some(_), None) => Err(ApiError::BadRequest(
                "`instances` must be an array with one entry per row".into(),
            )),
            (None, Some(columns)) => Ok(V1Request::Inputs(columns)),
            (Some(_), Some(_)) => Err(ApiError::BadRequest(
                "send either `instances` (rows) or `inputs` (columns), not both".into(),
            )),
            (None, None) => Err(ApiError::BadRequest(
                "the body needs `instances` (rows) or `inputs` (columns)".into(),
            )),
        }
    }
}

/// Row records (or bare rows for a single-input model) as one tensor per model input.
pub(super) fn tensors_from_instances(
    model: &LoadedModel,
    rows: &[Value],
) -> Result<Vec<Tensor>, ApiError> {
    Ok(records::tensors_from_records(model, rows)?)
}

/// Columns `{input: [per-row values]}`; a single-input model also takes the bare list.
pub(super) fn tensors_from_inputs(
    model: &LoadedModel,
    columns: &Value,
) -> Result<Vec<Tensor>, ApiError> {
    let tensors = match (columns, model.signature.inputs.as_slice()) {
        // A lone `{"b64": …}` is TF-Serving's bytes value: the one input's single row.
        (Value::Object(map), [only]) if only.name != "b64" && records::b64_text(map).is_some() => {
            let map = Map::from_iter([(only.name.clone(), Value::Array(vec![columns.clone()]))]);
            records::tensors_from_columns(model, &map)?
        }
        (Value::Object(map), _) => records::tensors_from_columns(model, map)?,
        (Value::Array(_), [only]) => {
            let map = Map::from_iter([(only.name.clone(), columns.clone())]);
            records::tensors_from_columns(model, &map)?
        }
        _ => {
            return Err(ApiError::BadRequest(
                "`inputs` must be an object mapping each input name to its values per row".into(),
            ));
        }
    };
    Ok(tensors)
}

/// The rows a request stands for: its records (each becomes one row of every input, and a
/// graph that takes no inputs answers each of them whole), or for columns the tensors' batch
/// size, one when the graph takes no inputs (its outputs answered whole, once).
pub(super) fn request_rows(records: Option<usize>, tensors: &[Tensor]) -> usize {
    records.unwrap_or_else(|| match tensors.first() {
        Some(tensor) => tensor.shape().first().copied().unwrap_or(0),
        None => 1,
    })
}

/// Runs the model unless there is nothing to run: an empty batch answers empty.
pub(super) async fn run(
    model: &Arc<LoadedModel>,
    tensors: Arc<[Tensor]>,
    rows: usize,
) -> Result<Outputs, ApiError> {
    if rows == 0 {
        return Ok(Vec::new());
    }
    inference::infer(model.clone(), tensors, None)
        .await
        .map_err(unprocessable)
}

/// One value per row for a single-output model, else one object `{output: value}` per row.
/// A probability table gives `{class: probability}` for its row.
pub(super) fn per_row(model: &LoadedModel, outputs: &Outputs, rows: usize) -> Vec<Value> {
    (0..rows)
        .map(|r| match outputs.as_slice() {
            [(name, output)] => records::row_value(model, name, output, r, rows),
            many => Value::Object(
                many.iter()
                    .map(|(name, o)| (name.clone(), records::row_value(model, name, o, r, rows)))
                    .collect(),
            ),
        })
        .collect()
}

/// Column answers: the per-row values of a single output, else `{output: [per-row values]}`.
fn by_column(model: &LoadedModel, outputs: &Outputs, rows: usize) -> Value {
    let column = |name: &str, output: &crate::runtime::Output| match model
        .output_has_rows(output.tensor(), rows)
    {
        true => Value::Array(
            (0..rows)
                .map(|r| records::row_value(model, name, output, r, rows))
                .collect(),
        ),
        // Not one value per row: the tensor as it is, once.
        false => records::row_value(model, name, output, 0, rows),
    };
    match outputs.as_slice() {
        [(name, output)] => column(name, output),
        [] if model.signature.outputs.len() == 1 => Value::Array(Vec::new()),
        [] => Value::Object(
            model
                .signature
                .outputs
                .iter()
                .map(|o| (o.tensor.name.clone(), Value::Array(Vec::new())))
                .collect(),
        ),
        many => Value::Object(
            many.iter()
                .map(|(name, output)| (name.clone(), column(name, output)))
                .collect(),
        ),
    }
}

/// `GET /v1/models/{name}`: the state of every version of the model.
async fn status(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<StatusResponse>, ApiError> {
    predictions_are_posted(&name, &format!("/v1/models/{name}"))?;
    let entry = model_entry(&state, &name)?;
    Ok(Json(StatusResponse::of(&entry, None)))
}

/// `GET /v1/models/{name}/versions/{version}`
async fn version_status(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, String)>,
) -> Result<Json<StatusResponse>, ApiError> {
    predictions_are_posted(&version, &format!("/v1/models/{name}/versions/{version}"))?;
    let entry = model_entry(&state, &name)?;
    let unknown = || ApiError::NotFound(format!("model `{name}` has no version {version}"));
    let v = crate::repository::version_of(&version).ok_or_else(unknown)?;
    if !entry.loaded.contains_key(&v) && !entry.failed.contains_key(&v) {
        return Err(unknown());
    }
    Ok(Json(StatusResponse::of(&entry, Some(v))))
}

/// A GET (or HEAD) of `…:predict`: the route exists for POST only.
fn predictions_are_posted(segment: &str, path: &str) -> Result<(), ApiError> {
    match segment.rsplit_once(':') {
        Some((target, "predict")) if !target.is_empty() => Err(ApiError::MethodNotAllowed {
            method: "GET".into(),
            path: path.to_string(),
            allow: Some("POST"),
        }),
        _ => Ok(()),
    }
}

fn model_entry(state: &AppState, name: &str) -> Result<ModelEntry, ApiError> {
    state
        .repository
        .snapshot()
        .models
        .get(name)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("model `{name}` not found")))
}

/// TF-Serving's model status answer.
#[derive(Debug, Serialize)]
pub struct StatusResponse {
    pub model_version_status: Vec<VersionStatus>,
}

#[derive(Debug, Serialize)]
pub struct VersionStatus {
    pub version: String,
    /// `AVAILABLE`, or `END` for a version that failed to load (as TF-Serving reports it).
    pub state: &'static str,
    pub status: Status,
}

#[derive(Debug, Serialize)]
pub struct Status {
    /// `OK`, or `UNKNOWN` with the load failure in `error_message`.
    pub error_code: &'static str,
    pub error_message: String,
}

impl StatusResponse {
    /// Every version of `entry` in ascending order, or only `only`.
    fn of(entry: &ModelEntry, only: Option<u64>) -> StatusResponse {
        let loaded = entry.loaded.keys().map(|&v| (v, None));
        let failed = entry.failed.iter().map(|(&v, r)| (v, Some(r.clone())));
        let mut versions: Vec<(u64, Option<String>)> = loaded
            .chain(failed)
            .filter(|(v, _)| only.is_none_or(|o| o == *v))
            .collect();
        versions.sort_by_key(|(v, _)| *v);
        let model_version_status = versions
            .into_iter()
            .map(|(version, failure)| {
                let (state, error_code) = match failure {
                    None => ("AVAILABLE", "OK"),
                    Some(_) => ("END", "UNKNOWN"),
                };
                VersionStatus {
                    version: version.to_string(),
                    state,
                    status: Status {
                        error_code,
                        error_message: failure.unwrap_or_default(),
                    },
                }
            })
            .collect();
        StatusResponse {
            model_version_status,
        }
    }
}
