//! Stage `publish`: place a validated model in the repository as `models/<name>/<version>/`
//! with its final metadata. A new integer version is created only when the graph changed.

use std::path::Path;

use anyhow::{Context, bail};
use prediction_api::contract::ModelMetadata;

use crate::evaluate::MetricsFile;
use crate::fsutil::read_json;
use crate::layout::Layout;
use crate::metadata::sha256_hex;

/// Integer version folders under `dir`, ascending.
pub fn versions(dir: &Path) -> anyhow::Result<Vec<u64>> {
    let mut found = Vec::new();
    if dir.is_dir() {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let entry = entry?;
            if entry.path().is_dir()
                && let Some(v) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .filter(|&v| v > 0)
            {
                found.push(v);
            }
        }
    }
    found.sort_unstable();
    Ok(found)
}

pub fn run(layout: &Layout, name: &str) -> anyhow::Result<()> {
    let graph_path = layout.trained(name, "model.onnx");
    let graph = std::fs::read(&graph_path)
        .with_context(|| format!("cannot read {}", graph_path.display()))?;
    let validation: serde_json::Value =
        read_json(&layout.repository(name).join("validation.json"))?;
    if validation
        .get("mismatches")
        .and_then(serde_json::Value::as_u64)
        != Some(0)
    {
        bail!("publish {name}: the model did not pass validation; run `trainer validate` first");
    }
    let mut meta: ModelMetadata = read_json(&layout.trained(name, "metadata.json"))?;
    let sha = sha256_hex(&graph);
    if meta.model_sha256 != sha {
        bail!(
            "publish {name}: {} changed after training; run the pipeline again",
            graph_path.display()
        );
    }
    let dir = layout.repository(name);
    let existing = versions(&dir)?;
    if let Some(&latest) = existing.last() {
        let current =
            std::fs::read(dir.join(latest.to_string()).join("model.onnx")).unwrap_or_default();
        if sha256_hex(&current) == sha {
            eprintln!("publish {name}: unchanged, version {latest} stays current");
            return Ok(());
        }
    }
    let version = existing.last().map_or(1, |v| v + 1);
    meta.version = version;
    meta.metrics = MetricsFile::load(layout, name)?.values;
    write_version(&dir, version, &graph, &meta)?;
    eprintln!(
        "publish {name}: wrote version {version} ({})",
        dir.join(version.to_string()).display()
    );
    Ok(())
}

/// Writes the version folder under a temporary name and renames it into place, so a server
/// watching the repository never sees a half-written version.
fn write_version(
    dir: &Path,
    version: u64,
    graph: &[u8],
    meta: &ModelMetadata,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".publishing-")
        .tempdir_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::fs::write(staging.path().join("model.onnx"), graph)?;
    let mut text = serde_json::to_string_pretty(meta)?;
    text.push('\n');
    std::fs::write(staging.path().join("metadata.json"), text)?;
    let target = dir.join(version.to_string());
    std::fs::rename(staging.path(), &target)
        .with_context(|| format!("cannot create {}", target.display()))?;
    // Renamed into place: the guard must not delete it any more.
    let _ = staging.keep();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_integer_folders_are_versions() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["1", "3", "0", "x", "2a", ".publishing-1"] {
            std::fs::create_dir(dir.path().join(name)).expect("mkdir");
        }
        std::fs::write(dir.path().join("7"), b"a file, not a version").expect("write");
        assert_eq!(versions(dir.path()).expect("lists"), vec![1, 3]);
    }
}
