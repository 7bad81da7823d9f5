//! The async face of inference: check a request's tensors against the model, wait for a
//! session permit, run the graph on a blocking thread, hand back the outputs.
//!
//! Every API family (records, V1, V2, MLflow) ends here, so the checks that protect the
//! runtime live in one place.

mod check;
pub mod records;
mod rows;

use std::sync::Arc;
use std::time::Instant;

use crate::repository::LoadedModel;
use crate::runtime::{self, Output, RunError};
use crate::tensor::Tensor;

pub use check::check_inputs;
pub use rows::{concat_rows, slice_rows};

/// Why an inference did not produce outputs.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// The tensors do not fit the model's inputs (names, types, shapes).
    #[error("{0}")]
    Invalid(String),
    /// A NaN or infinite value for a model that does not accept them.
    #[error("{0}")]
    NonFinite(String),
    #[error(transparent)]
    Run(#[from] RunError),
    /// The blocking task did not complete (it panicked or the runtime is shutting down).
    #[error("inference did not complete: {0}")]
    Aborted(String),
}

/// Named outputs in graph order.
pub type Outputs = Vec<(String, Output)>;

/// Runs `model` on `inputs`, returning the outputs named in `wanted` (all when `None`).
/// Reports the inference (or its failure) to the model's event sink.
pub async fn infer(
    model: Arc<LoadedModel>,
    inputs: Vec<Tensor>,
    wanted: Option<Vec<String>>,
) -> Result<Outputs, InferError> {
    let rows = match check_inputs(&model, &inputs) {
        Ok(rows) => rows,
        Err(e) => {
            model
                .events
                .inference_failed(&model.name, model.version, e.kind());
            return Err(e);
        }
    };
    let span = tracing::Span::current();
    span.record("model", model.name.as_str());
    span.record("version", model.version);
    span.record("rows", rows);
    let queued = Instant::now();
    let waiting = Waiting::enter(&model);
    let permit = model
        .permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| InferError::Aborted(e.to_string()))?;
    drop(waiting);
    let waited = queued.elapsed();
    let runner = model.clone();
    let result = tokio::task::spawn_blocking(move || {
        // The permit lives as long as the work, even if the caller stops waiting.
        let _permit = permit;
        span.in_scope(|| {
            let started = Instant::now();
            run_blocking(&runner, &inputs, rows, wanted.as_deref())
                .map(|(outputs, executions)| (outputs, executions, started.elapsed()))
        })
    })
    .await
    .map_err(|e| InferError::Aborted(e.to_string()))
    .and_then(|r| r);
    match result {
        Ok((outputs, executions, ran)) => {
            model
                .events
                .inference(&model.name, model.version, rows, executions, waited, ran);
            Ok(outputs)
        }
        Err(e) => {
            model
                .events
                .inference_failed(&model.name, model.version, e.kind());
            Err(e)
        }
    }
}

/// Counts a request as queued for a session until dropped, also when the caller gives up
/// (a timeout drops the future mid-wait).
struct Waiting<'a>(&'a LoadedModel);

impl<'a> Waiting<'a> {
    fn enter(model: &'a LoadedModel) -> Waiting<'a> {
        model.events.queue_entered(&model.name, model.version);
        Waiting(model)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.events.queue_left(&self.0.name, self.0.version);
    }
}

impl InferError {
    /// Every value [`InferError::kind`] returns.
    pub const KINDS: [&'static str; 5] = [
        "invalid_input",
        "non_finite_input",
        "conversion",
        "runtime",
        "aborted",
    ];

    /// A short, bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            InferError::Invalid(_) => "invalid_input",
            InferError::NonFinite(_) => "non_finite_input",
            InferError::Run(RunError::Convert(_)) => "conversion",
            InferError::Run(RunError::Runtime(_)) => "runtime",
            InferError::Aborted(_) => "aborted",
        }
    }
}

/// Runs on the calling (blocking) thread, in chunks when the graph has a fixed batch size.
/// Returns the outputs and the number of graph executions.
fn run_blocking(
    model: &LoadedModel,
    inputs: &[Tensor],
    rows: usize,
    wanted: Option<&[String]>,
) -> Result<(Outputs, usize), InferError> {
    let mut session = model.pool.checkout();
    let chunk = match model.signature.max_batch {
        Some(m) if rows > m => m,
        _ => return Ok((runtime::run(&mut session, inputs, wanted)?, 1)),
    };
    let mut parts: Vec<Outputs> = Vec::new();
    for start in (0..rows).step_by(chunk) {
        let end = (start + chunk).min(rows);
        let slice: Vec<Tensor> = inputs.iter().map(|t| slice_rows(t, start, end)).collect();
        parts.push(runtime::run(&mut session, &slice, wanted)?);
    }
    let executions = parts.len();
    Ok((join_chunks(parts)?, executions))
}

fn join_chunks(parts: Vec<Outputs>) -> Result<Outputs, InferError> {
    let Some(first) = parts.first() else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = first.iter().map(|(n, _)| n.clone()).collect();
    let mut joined = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        let pieces: Vec<&Output> = parts
            .iter()
            .filter_map(|p| p.get(i).map(|(_, o)| o))
            .collect();
        let tensor =
            concat_rows(pieces.iter().map(|o| o.tensor().clone()).collect()).ok_or_else(|| {
                InferError::Aborted(format!("output `{name}` changed shape between runs"))
            })?;
        let output = match pieces.first() {
            Some(Output::ClassProbabilities { classes, .. }) => Output::ClassProbabilities {
                table: tensor,
                classes: classes.clone(),
            },
            _ => Output::Tensor(tensor),
        };
        joined.push((name, output));
    }
    Ok(joined)
}
