//! Triton's model repository extension: the index, load (from disk or from the request) and
//! unload. Every call needs the admin token (see [`admin`](super::admin)).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::admin::Admin;
use super::body::{RawBody, check_json_content_type, parse_json, without_bom};
use super::error::ApiError;
use super::path::ApiPath;
use super::state::AppState;
use crate::config::ModelControlMode;
use crate::repository::{IndexEntry, RepositoryError, Upload, VersionState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/repository/index", post(index))
        .route("/v2/repository/models/{name}/load", post(load))
        .route("/v2/repository/models/{name}/unload", post(unload))
}

/// `POST /v2/repository/index` body: `{}`, empty, or `{"ready": true}` for ready models only.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct IndexRequest {
    #[serde(default)]
    pub ready: bool,
}

/// One model version in the index.
#[derive(Debug, Serialize, JsonSchema)]
pub struct IndexRow {
    pub name: String,
    /// Empty when the model failed as a whole (e.g. no version folder).
    pub version: String,
    /// `READY`, `UNAVAILABLE` or `LOADING`.
    pub state: &'static str,
    /// Why the version is unavailable (or why its last reload failed); empty otherwise.
    pub reason: String,
}

/// `POST /v2/repository/models/{name}/load|unload` body. `parameters.config` is a config.json
/// as a JSON string; `parameters["file:<version>/<name>"]` are base64 file contents.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ModelRequest {
    #[serde(default)]
    pub parameters: Map<String, Value>,
}

async fn index(
    State(state): State<AppState>,
    _: Admin,
    raw: RawBody,
) -> Result<Json<Vec<IndexRow>>, ApiError> {
    let request: IndexRequest = optional_json(&raw)?;
    let repository = state.repository.clone();
    let rows = blocking(move || {
        repository
            .index()
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await??;
    Ok(Json(
        rows.into_iter()
            .filter(|r| !request.ready || r.state == VersionState::Ready)
            .map(row)
            .collect(),
    ))
}

async fn load(
    State(state): State<AppState>,
    _: Admin,
    ModelName(name): ModelName,
    raw: RawBody,
) -> Result<StatusCode, ApiError> {
    changes_allowed(&state)?;
    let request: ModelRequest = optional_json(&raw)?;
    drop(raw);
    let upload = upload_of(&request.parameters, state.repository_api.max_upload_bytes)?;
    drop(request);
    let repository = state.repository.clone();
    blocking(move || repository.load_model(&name, upload)).await??;
    Ok(StatusCode::OK)
}

async fn unload(
    State(state): State<AppState>,
    _: Admin,
    ModelName(name): ModelName,
    raw: RawBody,
) -> Result<StatusCode, ApiError> {
    changes_allowed(&state)?;
    // `unload_dependents` has no meaning here: models have no dependents.
    let _: ModelRequest = optional_json(&raw)?;
    let repository = state.repository.clone();
    blocking(move || repository.unload_model(&name)).await??;
    Ok(StatusCode::OK)
}

fn changes_allowed(state: &AppState) -> Result<(), ApiError> {
    match state.repository_api.mode {
        ModelControlMode::Explicit => Ok(()),
        ModelControlMode::None => Err(ApiError::BadRequest(
            "explicit model load and unload are not allowed in model control mode `none`: start with --model-control-mode explicit".into(),
        )),
        ModelControlMode::Poll => Err(ApiError::BadRequest(
            "explicit model load and unload are not allowed while polling: change the repository folder instead, or start with --model-control-mode explicit".into(),
        )),
    }
}

/// The files of a load request, if it carries any.
fn upload_of(parameters: &Map<String, Value>, limit: usize) -> Result<Option<Upload>, ApiError> {
    let config = match parameters.get("config") {
        None => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => Some(other.to_string()),
    };
    let mut files = Vec::new();
    for (key, value) in parameters.iter().filter(|(k, _)| k.starts_with("file:")) {
        let text = value
            .as_str()
            .ok_or_else(|| ApiError::BadRequest(format!("`{key}` must be a base64 string")))?;
        files.push((key.as_str(), text));
    }
    if files.is_empty() {
        if config.is_some() {
            return Err(ApiError::BadRequest(
                "`config` without `file:` entries: send the model files with it, or neither to load from disk".into(),
            ));
        }
        return Ok(None);
    }
    Ok(Some(Upload::parse(config.as_deref(), &files, limit)?))
}

/// An empty body is `T::default()`; anything else must be JSON.
fn optional_json<T: Default + serde::de::DeserializeOwned>(raw: &RawBody) -> Result<T, ApiError> {
    if raw.bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    check_json_content_type(&raw.headers)?;
    parse_json(&without_bom(raw.bytes.clone()))
}

/// Runs repository work (file I/O, ONNX Runtime) on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(|e| ApiError::Internal(format!("repository task did not complete: {e}")))
}

fn row(entry: IndexEntry) -> IndexRow {
    IndexRow {
        name: entry.name,
        version: entry.version.map(|v| v.to_string()).unwrap_or_default(),
        state: entry.state.as_str(),
        reason: entry.reason,
    }
}

/// The `{name}` path segment.
struct ModelName(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ModelName {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        ApiPath::<String>::from_request_parts(parts, state)
            .await
            .map(|ApiPath(name)| ModelName(name))
    }
}

impl From<RepositoryError> for ApiError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::BadName(_)
            | RepositoryError::BadUpload(_)
            | RepositoryError::LoadFailed { .. } => ApiError::BadRequest(e.to_string()),
            RepositoryError::UnknownModel(_) => ApiError::NotFound(e.to_string()),
            RepositoryError::UploadTooLarge { limit } => ApiError::UploadTooLarge { limit },
            RepositoryError::Io(m) => ApiError::Internal(m),
        }
    }
}
