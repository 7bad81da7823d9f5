//! The audit and drift hook of the prediction routes: the request's id and timing, and what a
//! prediction hands to the drift monitor and the audit writer when it ends.
//!
//! Handlers move their inputs and outputs into [`Scored`]; when the audit trail is on, the hook
//! writes them as the request's two JSON arrays here, on the request's thread (unless the
//! handler kept the body and answer as sent), and queues them for the writer.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::http::HeaderMap;

use super::error::ApiError;
use super::state::AppState;
use crate::audit::{AuditEntry, AuditInputs, Outcome, RowTexts};
use crate::inference::Outputs;
use crate::repository::LoadedModel;

/// The longest client-sent request id kept; longer ones are replaced by a fresh id.
const MAX_REQUEST_ID: usize = 128;

/// The request's id. The request-id middleware has put the id it assigned into the
/// `x-request-id` header; a new UUID stands in where that middleware did not run.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= MAX_REQUEST_ID)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// A successful prediction: the answer for the client, and what the trail keeps.
pub struct Scored<T> {
    pub model: Arc<LoadedModel>,
    pub inputs: AuditInputs,
    pub outputs: Outputs,
    pub answer: T,
    /// The trail's rows already made from the request and answer as sent, when the handler
    /// could keep them; otherwise the trail writes them from `inputs` and `outputs`.
    pub as_sent: Option<RowTexts>,
}

/// A prediction request in progress.
pub struct Trail {
    route: &'static str,
    request_id: String,
    time: SystemTime,
    started: Instant,
}

impl Trail {
    /// Starts the clock; `route` is the route template.
    pub fn begin(route: &'static str, headers: &HeaderMap) -> Trail {
        Trail {
            route,
            request_id: request_id(headers),
            time: SystemTime::now(),
            started: Instant::now(),
        }
    }

    /// Feeds drift and the audit trail, then gives the handler its answer. A failure is
    /// recorded as one row with its status and message, without waiting; in durable mode a
    /// success waits until its rows are committed and fails with 503 if they cannot be.
    /// `model` and `version` are what the request named, for failures.
    pub async fn finish<T>(
        self,
        state: &AppState,
        model: &str,
        version: Option<&str>,
        result: Result<Scored<T>, ApiError>,
    ) -> Result<T, ApiError> {
        let latency = self.started.elapsed();
        let scored = match result {
            Ok(scored) => scored,
            Err(error) => {
                state.audit.record(AuditEntry {
                    time: self.time,
                    request_id: self.request_id,
                    route: self.route,
                    model: model.to_string(),
                    version: version.and_then(crate::repository::version_of),
                    latency,
                    status: error.status().as_u16(),
                    outcome: Outcome::Failed {
                        error: error.to_string(),
                    },
                });
                return Err(error);
            }
        };
        state.drift.observe(&scored.model, &scored.inputs);
        if !state.audit.is_enabled() {
            return Ok(scored.answer);
        }
        let rows = match scored.as_sent {
            Some(rows) => rows,
            None => RowTexts::new(&scored.model, &scored.inputs, &scored.outputs),
        };
        if rows.is_empty() {
            return Ok(scored.answer);
        }
        let entry = AuditEntry {
            time: self.time,
            request_id: self.request_id,
            route: self.route,
            model: scored.model.name.clone(),
            version: Some(scored.model.version),
            latency,
            status: 200,
            outcome: Outcome::Predicted { rows },
        };
        state
            .audit
            .submit(entry)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        Ok(scored.answer)
    }
}
