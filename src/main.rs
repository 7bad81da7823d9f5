//! The `prediction-api` server binary: parse configuration, set up logging, build, serve
//! until SIGTERM or ctrl-c; or run a subcommand (`audit`).

use clap::Parser;
use prediction_api::app::Application;
use prediction_api::cli::{self, Cli, Command};
use prediction_api::config::Config;
use prediction_api::telemetry;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let Cli { config, command } = Cli::parse();
    let result = match command {
        Some(Command::Audit(query)) => cli::audit(&query),
        None => {
            telemetry::init(&config);
            serve(config).await
        }
    };
    if let Err(e) = result {
        // One line with the whole cause chain: what the operator needs to act on.
        eprintln!("prediction-api: {e:#}");
        std::process::exit(1);
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(&config).await?;
    tracing::info!(address = %app.local_addr()?, "serving");
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGTERM or ctrl-c.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for ctrl-c: {e}");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
