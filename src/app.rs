//! Wiring: builds the application from a [`Config`] and runs it until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::audit::AuditWriter;
use crate::config::{Config, ModelControlMode};
use crate::drift::DriftMonitor;
use crate::events::Events;
use crate::http::admin::RepositoryApi;
use crate::http::{self, AppState, SharedState};
use crate::metrics::Metrics;
use crate::repository::{LoadOptions, ModelRepository, poll};
use crate::runtime::{self, SessionOptions};

/// A bound, ready-to-serve application: every model is loaded and warmed up.
pub struct Application {
    listener: TcpListener,
    router: Router,
    repository: Arc<ModelRepository>,
    audit: AuditWriter,
    shutdown_timeout: Duration,
    /// How long a connection may take to send a request head, or stay idle.
    header_timeout: Duration,
    /// The polling task in `poll` mode, stopped with the server.
    poller: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Loads ONNX Runtime and the model repository, then binds the listener. Every fallible
    /// start-up step happens here, so a missing library or a busy port fails at boot.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let started = Instant::now();
        config.validate().map_err(anyhow::Error::msg)?;
        runtime::init(config.ort_dylib_path.as_deref())?;
        let options = LoadOptions {
            session: SessionOptions {
                intra_threads: config.intra_op_threads,
                cpu_arena: config.cpu_arena,
            },
            pool_size: config.pool_size(),
            batching: config.batch_policy(),
            inline_budget: config.inline_budget(),
        };
        let metrics = Arc::new(Metrics::new().context("cannot set up the metrics registry")?);
        let root = config.model_repository.clone();
        let events: Events = metrics.clone();
        let repository =
            tokio::task::spawn_blocking(move || ModelRepository::open(&root, options, events))
                .await
                .context("model loading did not complete")?
                .with_context(|| {
                    format!(
                        "cannot read the model repository {}",
                        config.model_repository.display()
                    )
                })?;
        let repository = Arc::new(repository);
        if let Some(name) = &config.default_model {
            repository
                .get(name, None)
                .with_context(|| format!("--default-model {name}"))?;
        }
        let address = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let audit = start_audit(config).await?;
        let drift = DriftMonitor::new(config.drift_window);
        // Metrics read the audit writer's counters and the drift windows at scrape time.
        let audit_source = audit.clone();
        metrics.register_audit_source(move || audit_source.stats());
        let drift_source = drift.clone();
        metrics.register_drift_source(move || drift_source.snapshot());
        let state = AppState::new(SharedState {
            repository: repository.clone(),
            started,
            max_body_bytes: config.max_body_bytes,
            default_model: config.default_model.as_deref().map(Arc::from),
            metrics,
            repository_api: Arc::new(RepositoryApi::from_config(config)),
            audit: audit.clone(),
            drift,
        });
        let poller = (config.model_control_mode == ModelControlMode::Poll)
            .then(|| poll::spawn(repository.clone(), config.repository_poll_interval()));
        let router = http::router(state, config.request_timeout());
        tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "ready");
        Ok(Application {
            listener,
            router,
            repository,
            audit,
            shutdown_timeout: config.shutdown_timeout(),
            header_timeout: config.header_read_timeout(),
            poller,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn repository(&self) -> &Arc<ModelRepository> {
        &self.repository
    }

    /// Serves until `shutdown` completes, then stops accepting and lets requests in flight
    /// finish, for at most the shutdown timeout; then writes what the audit queue holds.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let audit = self.audit.clone();
        let served = self.serve_until(shutdown).await;
        if let Err(e) = tokio::task::spawn_blocking(move || audit.stop()).await {
            tracing::error!(error = %e, "audit: could not flush the queue at shutdown");
        }
        served
    }

    async fn serve_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            let _ = stopping_tx.send(());
        };
        let server = crate::serve::serve(self.listener, self.router, self.header_timeout, signal);
        let grace = self.shutdown_timeout;
        let _poller = self.poller.map(AbortOnDrop);
        tokio::select! {
            result = server => result,
            () = async {
                let _ = stopping_rx.await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(seconds = grace.as_secs_f64(), "requests still in flight after the shutdown timeout; stopping");
                Ok(())
            }
        }
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Opens the audit database and starts its writer (a no-op writer when the trail is off).
async fn start_audit(config: &Config) -> anyhow::Result<AuditWriter> {
    let Some(audit) = config.audit() else {
        return Ok(AuditWriter::disabled());
    };
    let writer = tokio::task::spawn_blocking(move || AuditWriter::start(&audit))
        .await
        .context("the audit writer did not start")??;
    Ok(writer)
}
