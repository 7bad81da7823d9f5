//! The state every handler shares: cheap handles only.

use std::sync::Arc;
use std::time::Instant;

use crate::audit::AuditWriter;
use crate::drift::DriftMonitor;
use crate::repository::ModelRepository;

#[derive(Clone)]
pub struct AppState {
    pub repository: Arc<ModelRepository>,
    pub started: Instant,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// The model MLflow's `/invocations` and `/ping` answer for.
    pub default_model: Option<Arc<str>>,
    /// The audit trail (a no-op writer when it is off).
    pub audit: AuditWriter,
    /// Sliding windows of recent inputs per model version, for drift.
    pub drift: DriftMonitor,
}
