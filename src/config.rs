//! Server configuration: one clap struct, every flag with an environment fallback. Nothing
//! else in the server reads the environment.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::audit::{AuditConfig, AuditMode, Retention};
use crate::inference::batch::BatchPolicy;

/// The largest `--max-body-bytes` accepted.
const MAX_BODY_LIMIT: usize = 4 << 30;

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

    /// Log line format: `text` for people, `pretty` for people reading one request at a
    /// time (multi-line), `json` for log collectors.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Path of libonnxruntime.so.1.31.1 (default: .onnxruntime/ in the project, see `make setup`).
    #[arg(long, env = "ORT_DYLIB_PATH")]
    pub ort_dylib_path: Option<PathBuf>,

    /// ONNX Runtime sessions per model version: how many runs of one model go at once
    /// (default: the number of CPU cores).
    #[arg(long, env = "SESSION_POOL_SIZE")]
    pub session_pool_size: Option<usize>,

    /// Threads ONNX Runtime may use inside one run (1 = the calling thread only).
    #[arg(long, env = "INTRA_OP_THREADS", default_value_t = 1)]
    pub intra_op_threads: usize,

    /// Dynamic batching (`on` or `off`): concurrent requests for one model version are
    /// coalesced into one graph execution. A lone request never waits for company.
    #[arg(long, env = "BATCHING", value_enum, default_value_t = Switch::On)]
    pub batching: Switch,

    /// Most rows one coalesced execution takes (a larger request still runs, alone).
    #[arg(long, env = "BATCH_MAX_ROWS", default_value_t = 1024)]
    pub batch_max_rows: usize,

    /// How long a batch that already holds several requests may wait for more, in
    /// microseconds (0: run as soon as a session is free).
    #[arg(long, env = "BATCH_MAX_DELAY_US", default_value_t = 0)]
    pub batch_max_delay_us: u64,

    /// A lone client's request (it and its model's seven before it found the server answering
    /// nothing else), whose run the model's recent runs say takes less than this many
    /// microseconds, runs on the thread that took it, saving two thread hand-offs (0: every
    /// run goes to a blocking thread).
    #[arg(long, env = "INLINE_RUN_US", default_value_t = crate::inference::inline::DEFAULT_BUDGET_US)]
    pub inline_run_us: u64,

    /// Requests per model version that may wait for a session; more are answered 503 with
    /// Retry-After at once.
    #[arg(long, env = "BATCH_QUEUE_CAPACITY", default_value_t = 1024)]
    pub batch_queue_capacity: usize,

    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Longest time a request may take, in seconds (then 504).
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30.0)]
    pub request_timeout_secs: f64,

    /// Longest time a connection may take to send a request's head, or stay idle between
    /// requests, in seconds (then it is closed).
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 30.0)]
    pub header_read_timeout_secs: f64,

    /// The model `POST /invocations` and `GET /ping` answer for (MLflow serves one model).
    #[arg(long, env = "DEFAULT_MODEL")]
    pub default_model: Option<String>,

    /// Longest wait for requests in flight at shutdown, in seconds.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 10.0)]
    pub shutdown_timeout_secs: f64,

    /// Token the model repository API requires (`Authorization: Bearer <token>`). Without
    /// one, that API is refused (see --allow-unauthenticated-admin).
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,

    /// Open the model repository API without a token. Honoured only when --host is a loopback
    /// address; the server refuses to start otherwise.
    #[arg(long, env = "ALLOW_UNAUTHENTICATED_ADMIN")]
    pub allow_unauthenticated_admin: bool,

    /// How models change while serving: `none` (what loaded at start stays; load and unload
    /// calls are refused), `explicit` (the repository API loads and unloads), `poll` (the
    /// folder is read again every --repository-poll-secs). Every mode loads all models at start.
    #[arg(long, env = "MODEL_CONTROL_MODE", value_enum, default_value_t = ModelControlMode::Explicit)]
    pub model_control_mode: ModelControlMode,

    /// Seconds between two reads of the repository folder in `poll` mode.
    #[arg(long, env = "REPOSITORY_POLL_SECS", default_value_t = 15.0)]
    pub repository_poll_secs: f64,

    /// Largest total size of the files in one model upload, in bytes, after base64 decoding
    /// (larger ones get 413). The request body limit applies to the encoded request too.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 48 * 1024 * 1024)]
    pub max_upload_bytes: usize,

    /// ONNX Runtime's CPU memory arena (`true` or `false`): faster allocation of large
    /// tensors, but memory it grabs is kept until the session is dropped.
    #[arg(long, env = "CPU_ARENA", default_value_t = true, action = clap::ArgAction::Set)]
    pub cpu_arena: bool,

    /// Audit trail: SQLite database with one row per predicted record; `off` (or an empty
    /// value) disables it.
    #[arg(long, env = "AUDIT_DB", default_value = "logs/predictions.db")]
    pub audit_db: String,

    /// `async`: responses never wait for the audit trail (rows that do not fit in the queue
    /// are counted as dropped); `durable`: a response is sent only once its rows are committed.
    #[arg(long, env = "AUDIT_MODE", value_enum, default_value_t = AuditMode::Async)]
    pub audit_mode: AuditMode,

    /// Requests that may wait for the audit writer.
    #[arg(long, env = "AUDIT_QUEUE_CAPACITY", default_value_t = 10_000)]
    pub audit_queue_capacity: usize,

    /// The most memory, in MiB, that queued audit rows may hold (their features and outputs
    /// texts); a request that would go over it is dropped like one finding the queue full.
    #[arg(long, env = "AUDIT_QUEUE_MIB", default_value_t = 256)]
    pub audit_queue_mib: u64,

    /// Delete audit rows older than this (e.g. 30d, 12h); unset keeps them.
    #[arg(long, env = "AUDIT_MAX_AGE", value_parser = humantime::parse_duration)]
    pub audit_max_age: Option<Duration>,

    /// Keep at most about this many audit rows, deleting the oldest; unset keeps them all.
    #[arg(long, env = "AUDIT_MAX_ROWS")]
    pub audit_max_rows: Option<u64>,

    /// Drift window: the last N predicted rows per model version are compared with the
    /// training distribution.
    #[arg(long, env = "DRIFT_WINDOW", default_value_t = 1_000)]
    pub drift_window: usize,
}

/// A secret from the command line or environment: its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// How models change while the server runs (Triton's `--model-control-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelControlMode {
    None,
    Explicit,
    Poll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Pretty,
    Json,
}

impl Config {
    /// Checks what clap cannot; called once by `Application::build`.
    pub fn validate(&self) -> Result<(), String> {
        if self.intra_op_threads == 0 {
            return Err("--intra-op-threads must be at least 1".into());
        }
        if self.session_pool_size == Some(0) {
            return Err("--session-pool-size must be at least 1".into());
        }
        if self
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose().trim().is_empty())
        {
            return Err("--admin-token (ADMIN_TOKEN) must not be empty".into());
        }
        if self.allow_unauthenticated_admin && !self.host.is_loopback() {
            return Err(format!(
                "--allow-unauthenticated-admin is only honoured when the server listens on loopback, not on {}: set --admin-token (ADMIN_TOKEN) instead",
                self.host
            ));
        }
        self.batch_policy().validate().map_err(|e| {
            format!("{e} (--batch-max-rows, --batch-max-delay-us, --batch-queue-capacity)")
        })?;
        // A body is held whole in memory (and a compressed one may grow to the limit): a
        // limit beyond a few GiB is a typo, not a plan.
        if !(1..=MAX_BODY_LIMIT).contains(&self.max_body_bytes) {
            return Err(format!(
                "--max-body-bytes must be between 1 and {MAX_BODY_LIMIT} (4 GiB)"
            ));
        }
        if self.audit_queue_capacity == 0 {
            return Err("--audit-queue-capacity must be at least 1".into());
        }
        if self.audit_queue_mib == 0 {
            return Err("--audit-queue-mib must be at least 1".into());
        }
        if !(1..=1_000_000).contains(&self.drift_window) {
            return Err("--drift-window must be between 1 and 1000000 rows".into());
        }
        for (flag, secs) in [
            ("--request-timeout-secs", self.request_timeout_secs),
            ("--header-read-timeout-secs", self.header_read_timeout_secs),
            ("--shutdown-timeout-secs", self.shutdown_timeout_secs),
            ("--repository-poll-secs", self.repository_poll_secs),
        ] {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(format!("{flag} must be a positive number of seconds"));
            }
        }
        Ok(())
    }

    pub fn pool_size(&self) -> usize {
        self.session_pool_size
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// The server-wide batching settings (a model's `config.json` may override them).
    pub fn batch_policy(&self) -> BatchPolicy {
        BatchPolicy {
            enabled: self.batching == Switch::On,
            max_rows: self.batch_max_rows,
            max_delay: Duration::from_micros(self.batch_max_delay_us),
            queue_capacity: self.batch_queue_capacity,
        }
    }

    /// Runs expected to take less than this stay on the async worker (see `inline_run_us`).
    pub fn inline_budget(&self) -> Duration {
        Duration::from_micros(self.inline_run_us)
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.header_read_timeout_secs)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.request_timeout_secs)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.shutdown_timeout_secs)
    }

    pub fn repository_poll_interval(&self) -> Duration {
        Duration::from_secs_f64(self.repository_poll_secs)
    }

    /// The audit trail's settings, `None` when it is off.
    pub fn audit(&self) -> Option<AuditConfig> {
        let path = self.audit_db.trim();
        if path.is_empty() || path.eq_ignore_ascii_case("off") {
            return None;
        }
        Some(AuditConfig {
            path: PathBuf::from(path),
            mode: self.audit_mode,
            queue_capacity: self.audit_queue_capacity,
            queue_bytes: self.audit_queue_mib.saturating_mul(1 << 20),
            retention: Retention {
                max_age: self.audit_max_age,
                max_rows: self.audit_max_rows,
            },
        })
    }

    /// A configuration for tests: port 0 on loopback, the given repository, no audit trail,
    /// defaults otherwise.
    pub fn for_tests(model_repository: impl Into<PathBuf>) -> Config {
        let mut config =
            Config::parse_from(["prediction-api", "--host", "127.0.0.1", "--port", "0"]);
        config.model_repository = model_repository.into();
        config.audit_db = "off".into();
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_limit_of_nothing_or_beyond_4_gib_is_refused() {
        let mut config = Config::for_tests("models");
        assert!(config.validate().is_ok());
        for refused in [0, MAX_BODY_LIMIT + 1] {
            config.max_body_bytes = refused;
            let message = config.validate().expect_err("refused");
            assert!(message.contains("--max-body-bytes"), "{message}");
        }
        config.max_body_bytes = MAX_BODY_LIMIT;
        assert!(config.validate().is_ok());
    }
}
