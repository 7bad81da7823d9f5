//! The JSON Schema of `metadata.json`, generated from [`ModelMetadata`] and committed at
//! `schemas/model-metadata.schema.json` so that tools outside Rust can validate the files.

use super::ModelMetadata;

/// Where the committed schema lives, relative to the workspace root.
pub const METADATA_SCHEMA_PATH: &str = "schemas/model-metadata.schema.json";

/// The schema as pretty JSON with a trailing newline, exactly as committed.
pub fn metadata_schema_json() -> String {
    let schema = schemars::schema_for!(ModelMetadata);
    let mut text = serde_json::to_string_pretty(&schema)
        .unwrap_or_else(|e| unreachable!("a generated schema always serializes: {e}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regenerate with `cargo run -p trainer -- schema` when this fails.
    #[test]
    fn committed_schema_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(METADATA_SCHEMA_PATH);
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}); run `cargo run -p trainer -- schema`",
                path.display()
            )
        });
        assert!(
            committed == metadata_schema_json(),
            "{} is stale: run `cargo run -p trainer -- schema`",
            path.display()
        );
    }
}
