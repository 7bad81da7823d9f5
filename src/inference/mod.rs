//! The async face of inference: check a request's tensors against the model, queue it for a
//! batch (or wait for a session permit), run the graph on a blocking thread (or, when it is
//! known to be short, where it is: `inline.rs`), hand back the outputs.
//!
//! Every API family (records, V1, V2, MLflow) ends here, so the checks that protect the
//! runtime live in one place.

pub mod answers;
pub mod batch;
mod check;
pub mod inline;
pub mod records;
mod rows;
pub mod stats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;

use crate::repository::LoadedModel;
use crate::runtime::{self, Output, RunError};
use crate::tensor::Tensor;

pub use check::check_inputs;
use rows::by_rows;
pub use rows::{concat_rows, slice_rows, split_rows};

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
    /// The model's batching queue is full (its capacity given): the client should retry.
    #[error("the model is overloaded: {0} requests are already waiting; retry shortly")]
    Overloaded(usize),
}

/// Named outputs in graph order.
pub type Outputs = Vec<(String, Output)>;

/// Runs `model` on `inputs`, returning the outputs named in `wanted` (all when `None`).
/// Through the model's batcher when it batches, else on a session of its own. The inputs are
/// shared, not taken: the handler keeps them for drift and the audit trail without a copy.
/// Reports the inference (or its failure) to the model's event sink.
pub async fn infer(
    model: Arc<LoadedModel>,
    inputs: Arc<[Tensor]>,
    wanted: Option<Vec<String>>,
) -> Result<Outputs, InferError> {
    let started = Instant::now();
    let result = match check_inputs(&model, &inputs) {
        Ok(rows) => {
            let span = tracing::Span::current();
            span.record("model", model.name.as_str());
            span.record("version", model.version);
            span.record("rows", rows);
            match model.batcher() {
                // Nothing queued and a session free: nothing to batch with, run at once.
                Some(batcher) => match batcher.idle_session(&model) {
                    Some(permit) => {
                        run_on(permit, &model, inputs, rows, wanted, Duration::ZERO).await
                    }
                    None => batcher.submit(model.clone(), inputs, rows, wanted).await,
                },
                None => infer_alone(&model, inputs, rows, wanted).await,
            }
            .map(|(outputs, queued)| {
                model
                    .events
                    .predicted(&model.name, model.version, rows, queued);
                model.stats.succeeded(rows, started.elapsed(), queued);
                outputs
            })
        }
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        model
            .events
            .inference_failed(&model.name, model.version, e.kind());
        model.stats.failed(started.elapsed());
    }
    result
}

/// Runs one request on a session of its own: wait for a permit, run on a blocking thread.
async fn infer_alone(
    model: &Arc<LoadedModel>,
    inputs: Arc<[Tensor]>,
    rows: usize,
    wanted: Option<Vec<String>>,
) -> Result<(Outputs, Duration), InferError> {
    let queued = Instant::now();
    let waiting = Waiting::enter(model);
    let permit = model
        .permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| InferError::Aborted(e.to_string()))?;
    drop(waiting);
    run_on(permit, model, inputs, rows, wanted, queued.elapsed()).await
}

/// Runs one request with the session `permit` it holds: on the calling worker when the
/// model's small runs are within the inline budget, else on a blocking thread.
async fn run_on(
    permit: OwnedSemaphorePermit,
    model: &Arc<LoadedModel>,
    inputs: Arc<[Tensor]>,
    rows: usize,
    wanted: Option<Vec<String>>,
    waited: Duration,
) -> Result<(Outputs, Duration), InferError> {
    if model.inline.allows(rows, model.events.requests_in_flight()) {
        let _permit = permit;
        return run_inline(model, &inputs, rows, wanted.as_deref()).map(|o| (o, waited));
    }
    let runner = model.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        // The permit lives as long as the work, even if the caller stops waiting.
        let _permit = permit;
        span.in_scope(|| run_blocking(&runner, &inputs, rows, wanted.as_deref()))
    })
    .await
    .map_err(|e| InferError::Aborted(e.to_string()))?
    .map(|outputs| (outputs, waited))
}

/// [`run_blocking`] on the calling thread. A panic in the run becomes an error for this
/// request, as it does on a blocking thread, instead of unwinding through the handler.
fn run_inline(
    model: &LoadedModel,
    inputs: &[Tensor],
    rows: usize,
    wanted: Option<&[String]>,
) -> Result<Outputs, InferError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_blocking(model, inputs, rows, wanted)
    }))
    .unwrap_or_else(|_| Err(InferError::Aborted("the run panicked".into())))
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
    pub const KINDS: [&'static str; 6] = [
        "invalid_input",
        "non_finite_input",
        "conversion",
        "runtime",
        "aborted",
        "overloaded",
    ];

    /// A short, bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            InferError::Invalid(_) => "invalid_input",
            InferError::NonFinite(_) => "non_finite_input",
            InferError::Run(RunError::Convert(_)) => "conversion",
            InferError::Run(RunError::Refused(_)) => "invalid_input",
            InferError::Run(RunError::Runtime(_)) => "runtime",
            InferError::Aborted(_) => "aborted",
            InferError::Overloaded(_) => "overloaded",
        }
    }
}

/// Runs on the calling (blocking) thread, in chunks when the graph has a fixed batch size,
/// and reports each graph execution.
fn run_blocking(
    model: &LoadedModel,
    inputs: &[Tensor],
    rows: usize,
    wanted: Option<&[String]>,
) -> Result<Outputs, InferError> {
    let mut session = model.pool.checkout();
    let mut execute = |inputs: &[Tensor], rows: usize| {
        let started = Instant::now();
        let outputs = runtime::run(&mut session, inputs, wanted)?;
        let took = started.elapsed();
        model.inline.record(rows, took);
        model.stats.executed(took);
        model
            .events
            .executed(&model.name, model.version, rows, took);
        Ok::<_, InferError>(outputs)
    };
    // Only inputs that all hold the rows can be cut into them.
    let chunk = match model.signature.max_batch {
        Some(m) if rows > m && inputs.iter().all(|t| by_rows(t, rows)) => m,
        _ => return execute(inputs, rows),
    };
    let mut parts: Vec<Outputs> = Vec::new();
    for start in (0..rows).step_by(chunk) {
        let end = (start + chunk).min(rows);
        let slice: Vec<Tensor> = inputs.iter().map(|t| slice_rows(t, start, end)).collect();
        parts.push(execute(&slice, end - start)?);
    }
    join_chunks(parts)
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
        let tensors: Vec<&Tensor> = pieces.iter().map(|o| o.tensor()).collect();
        let tensor = concat_rows(&tensors).ok_or_else(|| {
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

#[cfg(test)]
mod tests;
