//! Logging set-up: `tracing` with an env-filter from LOG_LEVEL, as text or JSON lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Installs the global subscriber. An invalid LOG_LEVEL falls back to `info` with a warning.
pub fn init(config: &Config) {
    let (filter, invalid) = match EnvFilter::try_new(&config.log_level) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Json => builder.json().with_current_span(true).init(),
        LogFormat::Text => builder.with_ansi(std::io::stdout().is_terminal()).init(),
    }
    if let Some(reason) = invalid {
        tracing::warn!(log_level = %config.log_level, %reason, "invalid LOG_LEVEL; logging at info");
    }
}
