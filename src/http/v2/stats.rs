//! `GET /v2/models[/{name}[/versions/{version}]]/stats`: Triton's statistics extension, from
//! each loaded version's running totals (`inference/stats.rs`).

use schemars::JsonSchema;
use serde::Serialize;

use crate::repository::LoadedModel;

/// Every model version asked for, with its totals since it was loaded.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelStatsResponse {
    pub model_stats: Vec<ModelStatistics>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelStatistics {
    pub name: String,
    pub version: String,
    /// When the last request was answered, in milliseconds since the Unix epoch (0: never).
    pub last_inference: u64,
    /// Rows predicted.
    pub inference_count: u64,
    /// Graph executions (a coalesced batch is one).
    pub execution_count: u64,
    pub inference_stats: InferenceStatistics,
    /// Not kept per batch size.
    pub batch_stats: Vec<serde_json::Value>,
}

/// Counts and total nanoseconds, as Triton names them.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InferenceStatistics {
    /// Successful requests, from the start of their inference to its outputs.
    pub success: Duration,
    /// Requests whose inference failed.
    pub fail: Duration,
    /// Waiting for a session (and for the batch a request joined).
    pub queue: Duration,
    /// Not measured apart: part of `compute_infer`.
    pub compute_input: Duration,
    /// Graph executions, tensors in and out included.
    pub compute_infer: Duration,
    /// Not measured apart: part of `compute_infer`.
    pub compute_output: Duration,
    /// There is no response cache.
    pub cache_hit: Duration,
    pub cache_miss: Duration,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Duration {
    pub count: u64,
    pub ns: u64,
}

impl From<(u64, u64)> for Duration {
    fn from((count, ns): (u64, u64)) -> Self {
        Duration { count, ns }
    }
}

/// The statistics of one loaded version.
pub fn of(model: &LoadedModel) -> ModelStatistics {
    let stats = &model.stats;
    let executions = stats.executions.read();
    ModelStatistics {
        name: model.name.clone(),
        version: model.version.to_string(),
        last_inference: stats.last_inference_ms(),
        inference_count: stats.rows(),
        execution_count: executions.0,
        inference_stats: InferenceStatistics {
            success: stats.success.read().into(),
            fail: stats.fail.read().into(),
            queue: stats.queue().into(),
            compute_input: Duration::default(),
            compute_infer: executions.into(),
            compute_output: Duration::default(),
            cache_hit: Duration::default(),
            cache_miss: Duration::default(),
        },
        batch_stats: Vec::new(),
    }
}
