//! Reloads under load: clients keep predicting while a model is swapped between two versions
//! whose answers differ. No request may fail, and every answer must come from one version.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{graphs, iris_label, load_upload, spawn_admin};

const CLIENTS: usize = 8;
const MIN_RELOADS: u64 = 20;
const MIN_DURATION: Duration = Duration::from_secs(5);
/// A bound on the whole test, not a timing assertion: a stuck server fails instead of hanging.
const GIVE_UP: Duration = Duration::from_secs(120);

#[derive(Default)]
struct Figures {
    requests: AtomicU64,
    failures: AtomicU64,
    foreign: AtomicU64,
    max_latency_us: AtomicU64,
    max_latency_during_swap_us: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reloads_under_load_lose_no_request() {
    let repo = tempfile::tempdir().expect("tempdir");
    let app = Arc::new(spawn_admin(repo.path()).await);
    let a = graphs::iris_with_labels(&["setosa", "versicolor", "virginica"]);
    let b = graphs::iris_with_labels(&["A", "B", "C"]);
    load_upload(&app, "swap", &[("file:1/model.onnx", &a)], 200).await;

    let figures = Arc::new(Figures::default());
    let stop = Arc::new(AtomicBool::new(false));
    let swapping = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (app, figures, stop, swapping) =
                (app.clone(), figures.clone(), stop.clone(), swapping.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let during_swap = swapping.load(Ordering::Relaxed);
                    let started = Instant::now();
                    let answer = iris_label(&app, "swap").await;
                    let took = started.elapsed().as_micros() as u64;
                    let during_swap = during_swap || swapping.load(Ordering::Relaxed);
                    figures.requests.fetch_add(1, Ordering::Relaxed);
                    figures.max_latency_us.fetch_max(took, Ordering::Relaxed);
                    if during_swap {
                        figures
                            .max_latency_during_swap_us
                            .fetch_max(took, Ordering::Relaxed);
                    }
                    match answer.as_deref() {
                        Ok("setosa") | Ok("A") => {}
                        Ok(_) => {
                            figures.foreign.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            figures.failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();

    let started = Instant::now();
    let mut reloads = 0u64;
    while (reloads < MIN_RELOADS || started.elapsed() < MIN_DURATION) && started.elapsed() < GIVE_UP
    {
        let next: &[u8] = if reloads.is_multiple_of(2) { &b } else { &a };
        swapping.store(true, Ordering::Relaxed);
        load_upload(&app, "swap", &[("file:1/model.onnx", next)], 200).await;
        swapping.store(false, Ordering::Relaxed);
        reloads += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("a client finished");
    }
    let elapsed = started.elapsed();
    let requests = figures.requests.load(Ordering::Relaxed);
    let failures = figures.failures.load(Ordering::Relaxed);
    let foreign = figures.foreign.load(Ordering::Relaxed);
    println!(
        "swap under load: {CLIENTS} clients, {requests} requests in {:.1} s, {reloads} reloads, {failures} failed, {foreign} answers from neither version, max latency {:.1} ms (during swaps {:.1} ms)",
        elapsed.as_secs_f64(),
        figures.max_latency_us.load(Ordering::Relaxed) as f64 / 1000.0,
        figures.max_latency_during_swap_us.load(Ordering::Relaxed) as f64 / 1000.0,
    );
    assert!(
        reloads >= MIN_RELOADS,
        "only {reloads} reloads before giving up"
    );
    assert_eq!(failures, 0);
    assert_eq!(foreign, 0);
    assert!(requests > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reloads_of_one_model_do_not_lose_each_other() {
    let repo = tempfile::tempdir().expect("tempdir");
    let app = Arc::new(spawn_admin(repo.path()).await);
    let a = graphs::iris_with_labels(&["setosa", "versicolor", "virginica"]);
    let b = graphs::iris_with_labels(&["A", "B", "C"]);
    let uploads: Vec<_> = (0..6)
        .map(|i| {
            let (app, graph) = (app.clone(), if i % 2 == 0 { a.clone() } else { b.clone() });
            tokio::spawn(async move {
                load_upload(&app, "raced", &[("file:1/model.onnx", &graph)], 200).await;
            })
        })
        .collect();
    for upload in uploads {
        upload.await.expect("an upload finished");
    }
    // What serves is what the folder holds: the last swap and the last install are one step.
    let on_disk = std::fs::read(repo.path().join("raced/1/model.onnx")).expect("installed");
    let expected = if on_disk == a { "setosa" } else { "A" };
    assert!(on_disk == a || on_disk == b);
    assert_eq!(iris_label(&app, "raced").await, Ok(expected.to_string()));
}
