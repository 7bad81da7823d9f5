//! `config.json`: optional serving settings of a model, beside its version folders
//! (`<repository>/<name>/config.json`), in the spirit of Triton's `config.pbtxt`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Serving settings of one model (all versions). Every field is optional; unknown fields are
/// refused so that a misspelt setting is noticed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The model handles NaN and infinite inputs itself (e.g. gradient-boosted trees that
    /// treat NaN as missing). Without it, such values are refused with 422.
    #[serde(default)]
    pub allow_non_finite: bool,
    /// Dynamic batching for this model; each field left out takes the server's setting.
    #[serde(default)]
    pub batching: BatchingConfig,
}

/// Per-model overrides of the server's dynamic batching flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchingConfig {
    /// Coalesce concurrent requests into one graph execution. Turn it off for graphs whose
    /// answer for a row depends on the other rows of the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Most rows one coalesced execution takes (a larger request still runs, alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<usize>,
    /// How long a batch that already has company may wait for more rows, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_us: Option<u64>,
    /// Requests that may wait for a session; more are answered 503 at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_capacity: Option<usize>,
}
