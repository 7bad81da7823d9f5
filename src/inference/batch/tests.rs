//! The batcher against the committed iris graph: coalescing, the bounded queue, lone
//! requests. Sessions are held busy by taking the model's permits, so what queues is
//! deterministic.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::events::ServingEvents;
use crate::repository::{LoadOptions, LoadedModel, load_version};
use crate::runtime::SessionOptions;
use crate::tensor::{Tensor, TensorData};

use super::{BatchPolicy, InferError};

/// Records the rows of every graph execution.
#[derive(Default)]
struct Executions(Mutex<Vec<usize>>);

impl ServingEvents for Executions {
    fn executed(&self, _model: &str, _version: u64, rows: usize, _ran: Duration) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(rows);
    }
}

impl Executions {
    fn take(&self) -> Vec<usize> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn iris(policy: BatchPolicy) -> (Arc<LoadedModel>, Arc<Executions>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/iris/1");
    let executions = Arc::new(Executions::default());
    let options = LoadOptions {
        session: SessionOptions::default(),
        pool_size: 1,
        batching: policy,
        inline_budget: std::time::Duration::ZERO,
    };
    let model = load_version(&dir, "iris", 1, options, executions.clone()).expect("iris loads");
    executions.take(); // the warm-up run
    (Arc::new(model), executions)
}

/// `rows` iris rows; `petal_length` grows with `seed` so answers differ between requests.
fn rows(rows: usize, seed: usize) -> Vec<Tensor> {
    ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values = (0..rows)
                .map(|r| match i {
                    2 => 1.0 + ((seed + r) % 60) as f32 / 10.0,
                    3 => 0.1 + ((seed + r) % 25) as f32 / 10.0,
                    _ => 5.0,
                })
                .collect();
            Tensor::new(*name, vec![rows, 1], TensorData::F32(values)).expect("tensor")
        })
        .collect()
}

fn submit(
    model: &Arc<LoadedModel>,
    inputs: Vec<Tensor>,
) -> tokio::task::JoinHandle<Result<super::Outputs, InferError>> {
    let model = model.clone();
    tokio::spawn(async move {
        let rows = inputs.first().map_or(0, |t| t.shape()[0]);
        let batcher = model.batcher().expect("iris batches");
        batcher
            .submit(model.clone(), inputs.into(), rows, None)
            .await
            .map(|(outputs, _)| outputs)
    })
}

/// Takes the model's only session, so what is submitted queues until the permit is dropped.
async fn hold_session(model: &LoadedModel) -> tokio::sync::OwnedSemaphorePermit {
    model.permits.clone().acquire_owned().await.expect("permit")
}

/// Waits (bounded) until the dispatcher has taken what it can from the queue.
async fn settle(model: &LoadedModel, free: usize) {
    let batcher = model.batcher().expect("batches");
    for _ in 0..500 {
        if batcher.queue.capacity() == free {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("the queue did not reach {free} free slots");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_queued_behind_a_busy_session_run_as_one_execution() {
    let (model, executions) = iris(BatchPolicy::default());
    let busy = hold_session(&model).await;
    let alone: Vec<_> = (0..6).map(|i| rows(1 + i % 3, i * 7)).collect();
    let handles: Vec<_> = alone.iter().map(|r| submit(&model, r.clone())).collect();
    // The dispatcher holds the first request and waits for the session; five stay queued.
    settle(&model, BatchPolicy::default().queue_capacity - 5).await;
    drop(busy);
    let mut answers = Vec::new();
    for handle in handles {
        answers.push(handle.await.expect("joins").expect("predicts"));
    }
    assert_eq!(executions.take(), [12], "one execution of all 12 rows");
    // Each request got exactly its own rows: the same answer it gets when run alone.
    for (inputs, batched) in alone.into_iter().zip(answers) {
        let single = submit(&model, inputs)
            .await
            .expect("joins")
            .expect("predicts");
        assert_eq!(batched, single);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_at_once_and_keeps_what_it_queued() {
    let policy = BatchPolicy {
        queue_capacity: 2,
        ..BatchPolicy::default()
    };
    let (model, executions) = iris(policy);
    let busy = hold_session(&model).await;
    let first = submit(&model, rows(1, 1));
    settle(&model, 2).await;
    let queued = [submit(&model, rows(2, 2)), submit(&model, rows(3, 3))];
    settle(&model, 0).await;
    let refused = submit(&model, rows(1, 4)).await.expect("joins");
    assert!(
        matches!(refused, Err(InferError::Overloaded(2))),
        "{refused:?}"
    );
    drop(busy);
    first.await.expect("joins").expect("the first request runs");
    for handle in queued {
        handle.await.expect("joins").expect("queued requests run");
    }
    assert_eq!(executions.take().iter().sum::<usize>(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_request_does_not_wait_for_company() {
    let policy = BatchPolicy {
        max_delay: Duration::from_secs(1),
        ..BatchPolicy::default()
    };
    let (model, executions) = iris(policy);
    let started = std::time::Instant::now();
    submit(&model, rows(1, 0))
        .await
        .expect("joins")
        .expect("predicts");
    // The delay applies only to batches that already hold several requests.
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(executions.take(), [1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_caller_left_is_not_run() {
    let (model, executions) = iris(BatchPolicy::default());
    let busy = hold_session(&model).await;
    let first = submit(&model, rows(1, 1));
    settle(&model, 1024).await;
    let abandoned = submit(&model, rows(5, 2));
    settle(&model, 1023).await;
    abandoned.abort();
    let _ = abandoned.await;
    drop(busy);
    first.await.expect("joins").expect("predicts");
    assert_eq!(executions.take(), [1]);
}
