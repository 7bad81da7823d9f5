//! What the serving core reports as it works, and the sink that receives it.
//!
//! The repository and the inference path call a [`ServingEvents`] sink; metrics implement it.
//! Keeping the core ignorant of Prometheus keeps metrics a layer that can be swapped or left
//! out (tests use [`NoEvents`]).

use std::sync::Arc;
use std::time::Duration;

/// Receives serving events. Every method has an empty default, so a sink implements only what
/// it needs. Implementations must be cheap: they run on the request path.
pub trait ServingEvents: Send + Sync + 'static {
    /// A model version finished loading (and warming up); `reload` when it replaced a version
    /// already serving under the same number.
    fn model_loaded(&self, _model: &str, _version: u64, _took: Duration, _reload: bool) {}
    /// Loading a model version failed.
    fn model_load_failed(&self, _model: &str, _version: Option<u64>) {}
    /// A model version stopped taking new requests.
    fn model_unloaded(&self, _model: &str, _version: u64) {}
    /// A request's rows were predicted after waiting `queued` for a session (and for the
    /// batch it joined).
    fn predicted(&self, _model: &str, _version: u64, _rows: usize, _queued: Duration) {}
    /// One graph execution of `rows` rows (one request's, or a coalesced batch) took `ran`.
    fn executed(&self, _model: &str, _version: u64, _rows: usize, _ran: Duration) {}
    /// An inference failed; `kind` is a short, bounded label (`invalid_input`, `runtime`, …).
    fn inference_failed(&self, _model: &str, _version: u64, _kind: &'static str) {}
    /// A request started waiting for a session of this model version.
    fn queue_entered(&self, _model: &str, _version: u64) {}
    /// A request stopped waiting: it got a session, or it was dropped while waiting.
    fn queue_left(&self, _model: &str, _version: u64) {}
    /// How many requests the server is answering right now, this one included, when the sink
    /// counts them. Not an event but the one thing the core asks: a lone request's short run
    /// stays on its worker (`inference/inline.rs`).
    fn requests_in_flight(&self) -> Option<usize> {
        None
    }
}

/// A sink that ignores everything.
pub struct NoEvents;

impl ServingEvents for NoEvents {}

/// The shared handle the core holds.
pub type Events = Arc<dyn ServingEvents>;

/// A handle to [`NoEvents`].
pub fn none() -> Events {
    Arc::new(NoEvents)
}
