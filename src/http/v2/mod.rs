//! KServe V2 model routes: metadata, readiness and inference (JSON and binary tensors).
//!
//! Every route exists twice, with and without `/versions/{version}`; without a version the
//! highest loaded version answers.

// Public so the request-path benchmarks run the very decode and encode the handler does.
mod config;
pub mod infer;
mod metadata;
mod stats;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::body::RawBody;
use super::error::ApiError;
use super::path::ApiPath;
use super::state::AppState;
use super::trail::{Scored, Trail};
use crate::audit::{AuditInputs, RowTexts, Sent};
use crate::inference;
use crate::repository::LookupError;
use crate::tensor::Tensor;

pub use config::{ConfigTensor, DynamicBatching, InstanceGroup, ModelConfigResponse};
pub use metadata::{MetadataTensor, ModelMetadataResponse, ModelReadyResponse, TensorParameters};
pub use stats::{InferenceStatistics, ModelStatistics, ModelStatsResponse};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/versions/{version}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(model_ready),
        )
        .route("/v2/models/{name}/config", get(model_config))
        .route(
            "/v2/models/{name}/versions/{version}/config",
            get(model_config),
        )
        .route("/v2/models/stats", get(all_stats))
        .route("/v2/models/{name}/stats", get(model_stats))
        .route(
            "/v2/models/{name}/versions/{version}/stats",
            get(model_stats),
        )
        .route("/v2/models/{name}/infer", post(model_infer))
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(model_infer),
        )
}

/// `GET /v2/models/{name}[/versions/{version}]`
async fn model_metadata(
    State(state): State<AppState>,
    ModelRef { name, version }: ModelRef,
) -> Result<Json<ModelMetadataResponse>, ApiError> {
    let model = state.repository.get(&name, version.as_deref())?;
    let versions = state
        .repository
        .snapshot()
        .models
        .get(&name)
        .map(|entry| entry.loaded.keys().map(u64::to_string).collect())
        .unwrap_or_default();
    Ok(Json(metadata::describe(&model, versions)))
}

/// `GET /v2/models/{name}[/versions/{version}]/config` (Triton's model configuration
/// extension, read-only).
async fn model_config(
    State(state): State<AppState>,
    ModelRef { name, version }: ModelRef,
) -> Result<Json<ModelConfigResponse>, ApiError> {
    let model = state.repository.get(&name, version.as_deref())?;
    Ok(Json(config::describe(&model)))
}

/// `GET /v2/models/stats`: every loaded version of every model.
async fn all_stats(State(state): State<AppState>) -> Json<ModelStatsResponse> {
    let catalog = state.repository.snapshot();
    let model_stats = catalog
        .models
        .values()
        .flat_map(|entry| entry.loaded.values().map(|m| stats::of(m)))
        .collect();
    Json(ModelStatsResponse { model_stats })
}

/// `GET /v2/models/{name}[/versions/{version}]/stats`: every loaded version of the model, or
/// the one named.
async fn model_stats(
    State(state): State<AppState>,
    ModelRef { name, version }: ModelRef,
) -> Result<Json<ModelStatsResponse>, ApiError> {
    let model_stats = match version {
        Some(v) => {
            let model = state.repository.get(&name, Some(&v))?;
            vec![stats::of(&model)]
        }
        None => {
            let catalog = state.repository.snapshot();
            let entry = catalog
                .models
                .get(&name)
                .ok_or_else(|| LookupError::UnknownModel(name.clone()))?;
            entry.loaded.values().map(|m| stats::of(m)).collect()
        }
    };
    Ok(Json(ModelStatsResponse { model_stats }))
}

/// `GET /v2/models/{name}[/versions/{version}]/ready`: 200 when the version can serve, 400
/// when it failed to load (V2 clients test the status only), 404 when it does not exist.
async fn model_ready(
    State(state): State<AppState>,
    ModelRef { name, version }: ModelRef,
) -> Result<Response, ApiError> {
    let (status, error) = match state.repository.get(&name, version.as_deref()) {
        Ok(_) => (StatusCode::OK, None),
        Err(e @ (LookupError::Unavailable { .. } | LookupError::NoneLoaded { .. })) => {
            (StatusCode::BAD_REQUEST, Some(e.to_string()))
        }
        Err(e @ (LookupError::UnknownModel(_) | LookupError::UnknownVersion { .. })) => {
            return Err(e.into());
        }
    };
    let ready = error.is_none();
    Ok((status, Json(ModelReadyResponse { name, ready, error })).into_response())
}

/// `POST /v2/models/{name}[/versions/{version}]/infer`
async fn model_infer(
    State(state): State<AppState>,
    ModelRef { name, version }: ModelRef,
    RawBody { headers, bytes }: RawBody,
) -> Result<Response, ApiError> {
    let route = match version {
        Some(_) => "/v2/models/{name}/versions/{version}/infer",
        None => "/v2/models/{name}/infer",
    };
    let trail = Trail::begin(route, &headers);
    let result = run_infer(&state, &name, version.as_deref(), &headers, bytes).await;
    let (body, header_length) = trail
        .finish(&state, &name, version.as_deref(), result)
        .await?;
    Ok(infer::into_response(body, header_length))
}

async fn run_infer(
    state: &AppState,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    bytes: Bytes,
) -> Result<Scored<(Bytes, Option<usize>)>, ApiError> {
    let model = state.repository.get(name, version)?;
    infer::check_content_type(headers)?;
    // A JSON body may start with a byte order mark; a binary one's header length counts
    // from its first byte, so it is read as sent.
    let bytes = match infer::is_binary(headers) {
        true => bytes,
        false => super::body::without_bom(bytes),
    };
    let call = infer::decode(&model, headers, &bytes)?;
    // The tensors own their elements: the body lives on only for the audit trail, which keeps
    // it as sent.
    let sent = state.audit.is_enabled().then(|| Sent {
        body: bytes,
        header_length: call.header_length,
    });
    let tensors: Arc<[Tensor]> = call.inputs.into();
    let outputs = inference::infer(model.clone(), tensors.clone(), call.plan.wanted()).await?;
    let answer = infer::encode(&model, call.id, &call.plan, &outputs)?;
    let header_length = answer.header_length;
    let body = Bytes::from(answer.body);
    // The compact forms cut a request into records by the first dimension alone: only for
    // graphs whose every input and output holds the records there.
    let as_sent = match state.audit.is_enabled() && model.rows_everywhere() {
        true => {
            let answer = Sent {
                body: body.clone(),
                header_length,
            };
            RowTexts::v2(&tensors, &outputs, sent, Some(answer))
        }
        false => None,
    };
    Ok(Scored {
        model,
        inputs: AuditInputs::Tensors(tensors),
        outputs,
        answer: (body, header_length),
        as_sent,
    })
}

/// The model named in the path, and the version when the path has one.
#[derive(Debug, Deserialize)]
struct ModelRef {
    name: String,
    version: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ModelRef {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        ApiPath::<ModelRef>::from_request_parts(parts, state)
            .await
            .map(|ApiPath(model)| model)
    }
}
