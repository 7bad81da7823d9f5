//! Server configuration: one clap struct, every flag with an environment fallback.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

/// prediction-api: serves ONNX models over REST, KServe V2, TF-Serving V1 and MLflow APIs.
#[derive(Debug, Clone, Parser)]
#[command(name = "prediction-api", version, about)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "API_HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,

    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "API_PORT", default_value_t = 8000)]
    pub port: u16,

    /// Model repository: <name>/<version>/model.onnx folders.
    #[arg(long, env = "MODEL_REPOSITORY", default_value = "models")]
    pub model_repository: PathBuf,

    /// Log filter (error, warn, info, debug, trace, or a tracing env-filter directive).
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Path of libonnxruntime.so.1.31.1 (default: .onnxruntime/ in the project, see `make setup`).
    #[arg(long, env = "ORT_DYLIB_PATH")]
    pub ort_dylib_path: Option<PathBuf>,
}
