//! Where runs execute, against the committed iris graph: which thread ran each execution.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use crate::events::ServingEvents;
use crate::repository::{LoadOptions, LoadedModel, load_version};
use crate::runtime::SessionOptions;
use crate::tensor::{Tensor, TensorData};

use super::batch::BatchPolicy;
use super::inline::{LONE_STREAK, SMALL_ROWS};

/// The thread of every graph execution (events are sent from the thread that ran it).
#[derive(Default)]
struct Threads(Mutex<Vec<ThreadId>>);

impl ServingEvents for Threads {
    fn executed(&self, _model: &str, _version: u64, _rows: usize, _ran: Duration) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.push(std::thread::current().id());
    }
}

impl Threads {
    fn take(&self) -> Vec<ThreadId> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn iris(inline_budget: Duration) -> (Arc<LoadedModel>, Arc<Threads>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/iris/1");
    let threads = Arc::new(Threads::default());
    let options = LoadOptions {
        session: SessionOptions::default(),
        pool_size: 1,
        batching: BatchPolicy {
            enabled: false,
            ..BatchPolicy::default()
        },
        inline_budget,
    };
    let model = load_version(&dir, "iris", 1, options, threads.clone()).expect("iris loads");
    threads.take(); // the load's own runs
    (Arc::new(model), threads)
}

fn rows(rows: usize) -> Vec<Tensor> {
    ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        .iter()
        .map(|name| Tensor::new(*name, vec![rows, 1], TensorData::F32(vec![1.5; rows])))
        .collect::<Result<_, _>>()
        .expect("tensors")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[test]
fn short_runs_stay_on_the_calling_thread_once_measured() {
    let (model, threads) = iris(Duration::from_secs(1));
    let here = std::thread::current().id();
    let rt = runtime();
    let calls = LONE_STREAK as usize + 2;
    for _ in 0..calls {
        rt.block_on(super::infer(model.clone(), rows(1).into(), None))
            .expect("runs");
    }
    let ran = threads.take();
    assert_eq!(ran.len(), calls);
    let (first, rest) = ran.split_at(LONE_STREAK as usize - 1);
    assert!(
        first.iter().all(|t| *t != here),
        "until the streak shows a lone client, runs go to the pool"
    );
    assert_eq!(
        rest,
        [here, here, here],
        "measured short: the rest run inline"
    );

    // A large request still goes to the pool, and the answers are the same either way.
    let large = rt
        .block_on(super::infer(
            model.clone(),
            rows(SMALL_ROWS + 1).into(),
            None,
        ))
        .expect("runs");
    assert_ne!(threads.take(), [here]);
    let small = rt
        .block_on(super::infer(model.clone(), rows(1).into(), None))
        .expect("runs");
    for ((name, a), (_, b)) in small.iter().zip(&large) {
        let first = |o: &crate::runtime::Output| crate::inference::slice_rows(o.tensor(), 0, 1);
        assert_eq!(first(a), first(b), "{name}");
    }
}

#[test]
fn a_zero_budget_sends_every_run_to_the_pool() {
    let (model, threads) = iris(Duration::ZERO);
    let here = std::thread::current().id();
    let rt = runtime();
    for _ in 0..LONE_STREAK + 2 {
        rt.block_on(super::infer(model.clone(), rows(1).into(), None))
            .expect("runs");
    }
    let ran = threads.take();
    assert_eq!(ran.len(), LONE_STREAK as usize + 2);
    assert!(ran.iter().all(|t| *t != here), "{ran:?} vs {here:?}");
}
