//! The command line: serving (the default, with [`Config`]'s flags) or a subcommand.

use clap::{Parser, Subcommand};

use crate::audit::query::AuditQuery;
use crate::config::Config;

/// prediction-api: serves ONNX models over REST, KServe V2, TF-Serving V1 and MLflow APIs.
#[derive(Debug, Parser)]
#[command(name = "prediction-api", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print audit trail rows as JSON lines (the most recent ones, oldest first).
    Audit(AuditQuery),
}

/// Runs the `audit` subcommand: prints to stdout, fails with one line on stderr.
pub fn audit(query: &AuditQuery) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    crate::audit::query::run(query, &mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}
