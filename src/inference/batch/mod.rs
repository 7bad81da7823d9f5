//! Dynamic batching: concurrent requests for one model version are queued and coalesced into
//! one graph execution.
//!
//! One dispatcher task per model version owns the queue's receiving end. It waits for a
//! request, then for a free session; once it has one, it takes every compatible request that
//! queued meanwhile (up to `max_rows` rows) and hands the batch to a blocking thread. A lone
//! request therefore runs as soon as a session is free; batches form only from requests that
//! would have waited anyway. With `max_delay` set, a batch that already holds several
//! requests may wait that long for more.
//!
//! The queue is bounded: when it is full the request is refused at once
//! ([`InferError::Overloaded`], answered 503 with `Retry-After`), so memory stays bounded.
//! A request whose caller gave up (timeout, closed connection) is skipped, not run.

mod merge;
mod policy;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use crate::repository::LoadedModel;
use crate::tensor::Tensor;

use super::{InferError, Outputs, run_blocking};

pub use merge::{compatible, merge_inputs, split_inputs, split_outputs};
pub use policy::BatchPolicy;

/// The sending end of a model version's batching queue.
pub struct Batcher {
    queue: mpsc::Sender<Job>,
}

/// One request waiting in the queue.
struct Job {
    slot: QueueSlot,
    inputs: Arc<[Tensor]>,
    rows: usize,
    wanted: Option<Vec<String>>,
    enqueued: Instant,
    reply: oneshot::Sender<Result<(Outputs, std::time::Duration), InferError>>,
}

/// Counts a request in the model's queue depth until it is taken into a batch or dropped.
/// It also holds the model, so a queued request keeps its version alive.
struct QueueSlot(Arc<LoadedModel>);

impl QueueSlot {
    fn enter(model: Arc<LoadedModel>) -> QueueSlot {
        model.events.queue_entered(&model.name, model.version);
        QueueSlot(model)
    }
}

impl Drop for QueueSlot {
    fn drop(&mut self) {
        self.0.events.queue_left(&self.0.name, self.0.version);
    }
}

impl Batcher {
    /// Starts the dispatcher task. Must be called inside the tokio runtime. The task ends
    /// when the `Batcher` (owned by its model version) is dropped and the queue is drained.
    pub fn start(policy: BatchPolicy) -> Batcher {
        let (queue, receiver) = mpsc::channel(policy.queue_capacity.max(1));
        tokio::spawn(dispatch(receiver, policy));
        Batcher { queue }
    }

    /// A session permit, when no request is queued and a session is free: a request then has
    /// no one to batch with and runs at once, without the queue's extra hand-off.
    pub fn idle_session(&self, model: &LoadedModel) -> Option<OwnedSemaphorePermit> {
        if self.queue.capacity() < self.queue.max_capacity() {
            return None;
        }
        // The semaphore is fair: while the dispatcher waits for a session, this fails.
        model.permits.clone().try_acquire_owned().ok()
    }

    /// Queues a checked request and waits for its share of a batch's outputs, with the time
    /// it waited before its batch started.
    pub async fn submit(
        &self,
        model: Arc<LoadedModel>,
        inputs: Arc<[Tensor]>,
        rows: usize,
        wanted: Option<Vec<String>>,
    ) -> Result<(Outputs, std::time::Duration), InferError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            slot: QueueSlot::enter(model),
            inputs,
            rows,
            wanted,
            enqueued: Instant::now(),
            reply,
        };
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                return Err(InferError::Overloaded(self.queue.max_capacity()));
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(InferError::Aborted("the batching queue is closed".into()));
            }
        }
        answer
            .await
            .map_err(|_| InferError::Aborted("the batch was dropped before it ran".into()))?
    }
}

/// The dispatcher loop of one model version.
async fn dispatch(mut queue: mpsc::Receiver<Job>, policy: BatchPolicy) {
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match queue.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        if first.reply.is_closed() {
            continue;
        }
        let model = first.slot.0.clone();
        let Ok(permit) = model.permits.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Batch::new(first);
        // Everything that queued while no session was free joins, up to the row limit.
        while batch.rows < policy.max_rows && carried.is_none() {
            match queue.try_recv() {
                Ok(job) => carried = batch.offer(job, policy.max_rows),
                Err(_) => break,
            }
        }
        // Requests are arriving faster than they are served: waiting a little fills the batch.
        if !policy.max_delay.is_zero() && batch.jobs.len() > 1 {
            let deadline = tokio::time::Instant::from_std(batch.started + policy.max_delay);
            while batch.rows < policy.max_rows && carried.is_none() {
                match tokio::time::timeout_at(deadline, queue.recv()).await {
                    Ok(Some(job)) => carried = batch.offer(job, policy.max_rows),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        tokio::task::spawn_blocking(move || batch.execute(&model, permit));
    }
}

/// Requests taken from the queue to run together.
struct Batch {
    jobs: Vec<Job>,
    rows: usize,
    /// When the first request was taken: the delay counts from here.
    started: Instant,
}

impl Batch {
    fn new(first: Job) -> Batch {
        let rows = first.rows;
        Batch {
            jobs: vec![first],
            rows,
            started: Instant::now(),
        }
    }

    /// Adds `job` if it fits; gives it back when it does not (it starts the next batch).
    fn offer(&mut self, job: Job, max_rows: usize) -> Option<Job> {
        if job.reply.is_closed() {
            return None;
        }
        let fits = self.rows + job.rows <= max_rows
            && self
                .jobs
                .first()
                .is_some_and(|first| compatible(&first.inputs, &job.inputs));
        if !fits {
            return Some(job);
        }
        self.rows += job.rows;
        self.jobs.push(job);
        None
    }

    /// Runs the batch on this (blocking) thread and answers every request. When the batch
    /// fails, or its outputs cannot be split by rows, each request is run on its own, so one
    /// bad request fails alone.
    fn execute(self, model: &LoadedModel, permit: OwnedSemaphorePermit) {
        let _permit = permit;
        let mut inputs = Vec::with_capacity(self.jobs.len());
        let mut rows = Vec::with_capacity(self.jobs.len());
        let mut waiters = Vec::with_capacity(self.jobs.len());
        let union = wanted_union(&self.jobs);
        for job in self.jobs {
            let Job {
                slot,
                inputs: tensors,
                rows: n,
                wanted,
                enqueued,
                reply,
            } = job;
            drop(slot);
            inputs.push(tensors);
            rows.push(n);
            waiters.push(Waiter {
                wanted,
                queued: enqueued.elapsed(),
                reply,
            });
        }
        if waiters.len() == 1 {
            let (Some(tensors), Some(waiter)) = (inputs.pop(), waiters.pop()) else {
                return;
            };
            let result = run_blocking(model, &tensors, self.rows, waiter.wanted.as_deref());
            waiter.answer(result);
            return;
        }
        let parts: Vec<&[Tensor]> = inputs.iter().map(|i| &i[..]).collect();
        let Some(merged) = merge_inputs(&parts) else {
            for waiter in waiters {
                waiter.answer(Err(InferError::Aborted(
                    "requests in one batch did not fit together".into(),
                )));
            }
            return;
        };
        let result = run_blocking(model, &merged, self.rows, union.as_deref());
        if let Some(parts) = result
            .ok()
            .and_then(|outputs| split_outputs(outputs, &rows))
        {
            for (waiter, part) in waiters.into_iter().zip(parts) {
                waiter.answer(Ok(part));
            }
            return;
        }
        for ((waiter, tensors), n) in waiters
            .into_iter()
            .zip(split_inputs(&merged, &rows))
            .zip(&rows)
        {
            let result = run_blocking(model, &tensors, *n, waiter.wanted.as_deref());
            waiter.answer(result);
        }
    }
}

/// What a request asked for and where its answer goes.
struct Waiter {
    wanted: Option<Vec<String>>,
    queued: std::time::Duration,
    reply: oneshot::Sender<Result<(Outputs, std::time::Duration), InferError>>,
}

impl Waiter {
    fn answer(self, result: Result<Outputs, InferError>) {
        let result = result.map(|mut outputs| {
            if let Some(wanted) = &self.wanted {
                outputs.retain(|(name, _)| wanted.contains(name));
            }
            (outputs, self.queued)
        });
        // The caller may have given up meanwhile; nobody is left to tell.
        let _ = self.reply.send(result);
    }
}

/// The outputs a batch must compute: all when any request wants all.
fn wanted_union(jobs: &[Job]) -> Option<Vec<String>> {
    let mut union: Vec<String> = Vec::new();
    for job in jobs {
        for name in job.wanted.as_ref()? {
            if !union.contains(name) {
                union.push(name.clone());
            }
        }
    }
    Some(union)
}

#[cfg(test)]
mod tests;
