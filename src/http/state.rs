//! The state every handler shares. Axum clones it for every request, so it is one `Arc`:
//! one reference count to touch instead of one per handle (measured under load, the
//! per-handle counts bouncing between cores showed up in the profile).

use std::sync::Arc;
use std::time::Instant;

use super::admin::RepositoryApi;
use crate::audit::AuditWriter;
use crate::drift::DriftMonitor;
use crate::metrics::Metrics;
use crate::repository::ModelRepository;

#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

pub struct SharedState {
    pub repository: Arc<ModelRepository>,
    pub started: Instant,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// The model MLflow's `/invocations` and `/ping` answer for.
    pub default_model: Option<Arc<str>>,
    /// The application's metrics registry.
    pub metrics: Arc<Metrics>,
    /// Who may call the model repository API, and what it may do.
    pub repository_api: Arc<RepositoryApi>,
    /// The audit trail (a no-op writer when it is off).
    pub audit: AuditWriter,
    /// Sliding windows of recent inputs per model version, for drift.
    pub drift: DriftMonitor,
}
