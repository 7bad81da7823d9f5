//! Wiring: builds the HTTP application from a [`Config`] and runs it until shutdown.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::runtime;

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

#[derive(Clone)]
struct AppState {
    started: Instant,
}

impl Application {
    /// Loads ONNX Runtime and binds the listener; every fallible start-up step happens here.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        runtime::init(config.ort_dylib_path.as_deref())?;
        let address = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let state = AppState {
            started: Instant::now(),
        };
        let router = Router::new()
            .route("/health", get(health))
            .with_state(state);
        Ok(Application { listener, router })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

#[derive(Serialize)]
struct HealthResponse {
    status: &'static str,
    uptime_seconds: f64,
}

async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "healthy",
        uptime_seconds: state.started.elapsed().as_secs_f64(),
    })
}
