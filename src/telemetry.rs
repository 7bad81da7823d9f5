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
        LogFormat::Pretty => builder
            .pretty()
            .with_ansi(std::io::stdout().is_terminal())
            .init(),
    }
    if let Some(reason) = invalid {
        tracing::warn!(log_level = %config.log_level, %reason, "invalid LOG_LEVEL; logging at info");
    }
}

/// Displays an error with its sources, `outer: inner: root`, skipping a source whose message
/// the previous one already contains (wrappers that repeat their cause).
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !shown.contains(&text) {
                write!(f, ": {text}")?;
                shown = text;
            }
            next = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorChain;

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("outer: inner")]
    struct Repeats(#[source] Inner);

    #[test]
    fn the_chain_lists_each_cause_once() {
        assert_eq!(ErrorChain(&Outer(Inner)).to_string(), "outer: inner");
        assert_eq!(ErrorChain(&Repeats(Inner)).to_string(), "outer: inner");
    }
}
