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
}
