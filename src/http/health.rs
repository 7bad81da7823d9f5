//! Health, readiness and model information: the seed's `/health` and `/models/info`, and the
//! KServe V2 server routes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use std::sync::Arc;

use super::state::AppState;
use crate::contract::{ModelMetadata, TensorSpec};
use crate::drift::{DriftMonitor, DriftReport};
use crate::repository::LoadedModel;

/// `GET /health`
#[derive(Debug, Serialize, JsonSchema)]
pub struct HealthResponse {
    /// `healthy` when every model version on disk loaded, `degraded` otherwise.
    pub status: &'static str,
    /// Loaded models, each with its loaded versions.
    pub models: Vec<ModelVersions>,
    /// Seconds since the server started, to the millisecond.
    pub uptime_seconds: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelVersions {
    pub name: String,
    pub versions: Vec<u64>,
}

pub async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    let catalog = state.repository.snapshot();
    Json(HealthResponse {
        status: if state.repository.all_ready() {
            "healthy"
        } else {
            "degraded"
        },
        models: catalog
            .models
            .iter()
            .filter(|(_, e)| !e.loaded.is_empty())
            .map(|(name, e)| ModelVersions {
                name: name.clone(),
                versions: e.loaded.keys().copied().collect(),
            })
            .collect(),
        // In whole milliseconds, so the number reads as `12.345`, not `12.345000000000001`.
        uptime_seconds: state.started.elapsed().as_millis() as f64 / 1e3,
    })
}

/// `GET /models/info`: every model and version, loaded or not.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelsInfo {
    pub models: Vec<ModelInfo>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelInfo {
    pub name: String,
    /// The version served when a request names none.
    pub default_version: Option<u64>,
    pub versions: Vec<VersionInfo>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct VersionInfo {
    pub version: u64,
    /// `READY`, or `UNAVAILABLE` with the reason.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<TensorSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<TensorSpec>,
    /// Class names of the probability output, for classifiers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// The trainer's metadata (task, features, metrics…), for models that have it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ModelMetadata>,
    /// Remarks on how the model is served, e.g. a converted ZipMap output.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Feature drift of the recent predictions against the training distribution (PSI per
    /// feature); absent for models without a reference distribution in their metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftReport>,
}

/// The note on a version served without a warm-up run (repository/loader.rs).
pub const UNWARMED: &str = "served without a warm-up: no synthetic input this server could shape ran at load (the graph's inputs leave sizes to the client), so the first request pays ONNX Runtime's first-run cost, and outputs are known only from the graph's declarations";

pub fn version_info(model: &LoadedModel) -> VersionInfo {
    let mut notes: Vec<String> = model
        .signature
        .outputs
        .iter()
        .filter(|o| o.zipmap)
        .map(|o| {
            format!(
                "output `{}` is a sequence of maps class → probability (ZipMap); it is served as an FP32 [N, {}] tensor with the classes in `classes` order",
                o.tensor.name,
                o.classes.as_ref().map_or(0, Vec::len)
            )
        })
        .collect();
    if !model.warmed {
        notes.push(UNWARMED.to_string());
    }
    VersionInfo {
        version: model.version,
        state: "READY",
        reason: None,
        inputs: model.signature.inputs.clone(),
        outputs: model
            .signature
            .outputs
            .iter()
            .map(|o| o.tensor.clone())
            .collect(),
        classes: model.probability_output().and_then(|o| o.classes.clone()),
        metadata: model.metadata.clone(),
        notes,
        drift: None,
    }
}

pub async fn models_info(State(state): State<AppState>) -> Json<ModelsInfo> {
    let catalog = state.repository.snapshot();
    let models = catalog
        .models
        .iter()
        .map(|(name, entry)| {
            let mut versions: Vec<VersionInfo> = entry
                .loaded
                .values()
                .map(|m| with_drift(version_info(m), &state.drift, m))
                .collect();
            versions.extend(entry.failed.iter().map(|(&version, reason)| VersionInfo {
                version,
                state: "UNAVAILABLE",
                reason: Some(reason.clone()),
                inputs: Vec::new(),
                outputs: Vec::new(),
                classes: None,
                metadata: None,
                notes: Vec::new(),
                drift: None,
            }));
            versions.sort_by_key(|v| v.version);
            ModelInfo {
                name: name.clone(),
                default_version: entry.latest().map(|m| m.version),
                versions,
            }
        })
        .collect();
    Json(ModelsInfo { models })
}

/// Adds the version's drift, or a note saying why it has none.
fn with_drift(
    mut info: VersionInfo,
    drift: &DriftMonitor,
    model: &Arc<LoadedModel>,
) -> VersionInfo {
    info.drift = drift.report(model);
    if info.drift.is_none() {
        info.notes.push(
            "no drift metric: the model has no training distribution (metadata.json with a reference per feature)"
                .into(),
        );
    }
    info
}

/// `GET /v2`
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerMetadata {
    pub name: &'static str,
    pub version: &'static str,
    pub extensions: Vec<&'static str>,
}

pub async fn server_metadata() -> Json<ServerMetadata> {
    Json(ServerMetadata {
        name: "prediction-api",
        version: env!("CARGO_PKG_VERSION"),
        extensions: vec![
            "binary_tensor_data",
            "classification",
            "model_repository",
            "model_configuration",
            "statistics",
        ],
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LiveResponse {
    pub live: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadyResponse {
    pub ready: bool,
}

/// `GET /v2/health/live`: the process answers.
pub async fn live() -> Json<LiveResponse> {
    Json(LiveResponse { live: true })
}

/// `GET /v2/health/ready`: 200 when every model on disk loaded, 400 otherwise (V2 clients
/// test the status only).
pub async fn ready(State(state): State<AppState>) -> Response {
    let ready = state.repository.all_ready();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, Json(ReadyResponse { ready })).into_response()
}
