//! ONNX Runtime: loading the shared library, opening sessions, reading graph signatures.
//!
//! This is the only module that imports `ort`, and it is synchronous: callers on the async
//! runtime move work here through blocking threads.

mod library;
mod session;

pub use library::{LIBRARY_FILE, RuntimeLibraryError, environment, init, locate_library};
pub use session::{
    GraphSignature, SessionError, SessionOptions, datatype_of, graph_signature, open_session,
};

/// Re-exported so that the trainer and tests build tensors with the same `ort` the server uses.
pub use ort;
