//! ONNX Runtime: loading the shared library, sessions and their pools, running graphs, and
//! converting between wire tensors and runtime values.
//!
//! This is the only module that imports `ort`, and it is synchronous: callers on the async
//! runtime move work here through blocking threads.

mod convert;
mod library;
mod pool;
mod run;
mod session;

pub use convert::{ConvertError, Output};
pub use library::{LIBRARY_FILE, RuntimeLibraryError, environment, init, locate_library};
pub use pool::{PooledSession, SessionPool};
pub use run::{RunError, run};
pub use session::{
    GraphSignature, SessionError, SessionOptions, datatype_of, graph_signature, open_session,
};

/// Re-exported so that the trainer and tests build tensors with the same `ort` the server uses.
pub use ort;
