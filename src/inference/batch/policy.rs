//! How a model version batches: the server's flags, overridden by the model's `config.json`.

use std::time::Duration;

use crate::contract::BatchingConfig;

/// Dynamic batching settings of one model version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPolicy {
    pub enabled: bool,
    /// Most rows one coalesced execution takes.
    pub max_rows: usize,
    /// How long a batch that already holds several requests may wait for more. A lone request
    /// never waits: it runs as soon as a session is free.
    pub max_delay: Duration,
    /// Requests that may wait; more are refused at once.
    pub queue_capacity: usize,
}

impl Default for BatchPolicy {
    fn default() -> Self {
        BatchPolicy {
            enabled: true,
            max_rows: 1024,
            max_delay: Duration::ZERO,
            queue_capacity: 1024,
        }
    }
}

impl BatchPolicy {
    /// Checks the values that make no sense; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_rows == 0 {
            return Err("batching max rows must be at least 1".into());
        }
        if self.queue_capacity == 0 {
            return Err("batching queue capacity must be at least 1".into());
        }
        if self.max_delay > Duration::from_secs(1) {
            return Err("batching max delay must be at most 1 s (1000000 µs)".into());
        }
        Ok(())
    }

    /// This policy with a model's `config.json` settings applied.
    pub fn with_overrides(self, config: &BatchingConfig) -> Result<BatchPolicy, String> {
        let policy = BatchPolicy {
            enabled: config.enabled.unwrap_or(self.enabled),
            max_rows: config.max_rows.unwrap_or(self.max_rows),
            max_delay: config
                .max_delay_us
                .map_or(self.max_delay, Duration::from_micros),
            queue_capacity: config.queue_capacity.unwrap_or(self.queue_capacity),
        };
        policy.validate().map(|()| policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_settings_override_the_server_and_are_checked() {
        let server = BatchPolicy::default();
        let config = BatchingConfig {
            max_delay_us: Some(250),
            queue_capacity: Some(8),
            ..BatchingConfig::default()
        };
        let policy = server.with_overrides(&config).expect("valid");
        assert_eq!(policy.max_delay, Duration::from_micros(250));
        assert_eq!(policy.queue_capacity, 8);
        assert_eq!(policy.max_rows, server.max_rows);
        let zero = BatchingConfig {
            max_rows: Some(0),
            ..BatchingConfig::default()
        };
        assert!(server.with_overrides(&zero).is_err());
    }
}
