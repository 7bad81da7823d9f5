//! Finding and loading `libonnxruntime.so` once per process.
//!
//! `ort` is built with `load-dynamic`: nothing is linked at build time, and the first ort call
//! must be our [`init`], otherwise ort would `dlopen("libonnxruntime.so")` on its own and panic
//! when it is missing. [`environment`] makes that ordering impossible to get wrong.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

/// The file the setup script provisions (from the `onnxruntime==1.31.1` wheel).
pub const LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";

/// The folder, relative to the project root, where `scripts/setup-ort.sh` puts the library.
const PROVISIONED_DIR: &str = ".onnxruntime";

/// Why the ONNX Runtime library could not be used. Its `Display` is the one line a user reads.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeLibraryError {
    #[error(
        "ONNX Runtime library not found ({searched}): run `make setup` (scripts/setup-ort.sh) \
         or set ORT_DYLIB_PATH to {LIBRARY_FILE}"
    )]
    NotFound { searched: String },
    #[error("ONNX Runtime library {path} could not be loaded: {reason}")]
    LoadFailed { path: PathBuf, reason: String },
}

static ENVIRONMENT: OnceLock<Result<Environment, RuntimeLibraryError>> = OnceLock::new();

/// Loads the library from `explicit` (or the default search, see [`locate_library`]) and
/// creates the process-wide environment. Later calls return the first call's outcome.
pub fn init(explicit: Option<&Path>) -> Result<&'static Environment, RuntimeLibraryError> {
    ENVIRONMENT
        .get_or_init(|| {
            let path = locate_library(explicit)?;
            load(&path)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The process-wide environment, initialised with the default search if nobody called [`init`].
pub fn environment() -> Result<&'static Environment, RuntimeLibraryError> {
    init(None)
}

fn load(path: &Path) -> Result<Environment, RuntimeLibraryError> {
    let failed = |reason: String| RuntimeLibraryError::LoadFailed {
        path: path.to_path_buf(),
        reason,
    };
    // ort panics instead of returning an error for a few malformed libraries; keep that from
    // becoming a backtrace for the user.
    let loaded = std::panic::catch_unwind(|| {
        ort::init_from(path)
            .map_err(|e| e.to_string())?
            .with_name("prediction-api")
            .with_telemetry(false)
            .build()
            .map_err(|e| e.to_string())
    });
    match loaded {
        Ok(Ok(env)) => Ok(env),
        Ok(Err(reason)) => Err(failed(reason)),
        Err(_) => Err(failed("the library panicked while loading".into())),
    }
}

/// Where the library is: `explicit` if given (it must exist), else `ORT_DYLIB_PATH`, else
/// `.onnxruntime/libonnxruntime.so.1.31.1` in the current directory or one of its ancestors, in
/// the executable's folder or one of its ancestors, or in this crate's source tree.
pub fn locate_library(explicit: Option<&Path>) -> Result<PathBuf, RuntimeLibraryError> {
    if let Some(path) = explicit {
        return existing(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return existing(PathBuf::from(path));
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
        .iter()
        .map(|root| root.join(PROVISIONED_DIR).join(LIBRARY_FILE))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| RuntimeLibraryError::NotFound {
            searched: format!("ORT_DYLIB_PATH unset, no {PROVISIONED_DIR}/{LIBRARY_FILE} here"),
        })
}

fn existing(path: PathBuf) -> Result<PathBuf, RuntimeLibraryError> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(RuntimeLibraryError::NotFound {
            searched: format!("{} does not exist", path.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_missing_path_is_a_clear_error() {
        let err = locate_library(Some(Path::new("/nonexistent/libonnxruntime.so")))
            .expect_err("a missing file is refused");
        let line = err.to_string();
        assert!(line.contains("/nonexistent/libonnxruntime.so"), "{line}");
        assert!(line.contains("make setup"), "{line}");
        assert!(!line.contains('\n'), "one line: {line}");
    }

    #[test]
    fn the_provisioned_library_loads() {
        let env = environment().expect("run `make setup` before the tests");
        // A second call returns the same environment instead of building another.
        let again = environment().expect("cached");
        assert!(std::ptr::eq(env, again));
    }
}
