//! The repository index: every model and version on disk or in the catalog, with its state.

use std::collections::{BTreeMap, BTreeSet};

use super::{ModelRepository, model_dirs, version_dirs};

/// The state of a model version, as Triton names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    Ready,
    Unavailable,
    Loading,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Ready => "READY",
            VersionState::Unavailable => "UNAVAILABLE",
            VersionState::Loading => "LOADING",
        }
    }
}

/// One row of the index. `version` is `None` for a model that failed as a whole (e.g. it has
/// no version folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub name: String,
    pub version: Option<u64>,
    pub state: VersionState,
    pub reason: String,
}

impl ModelRepository {
    /// Reads the folder again and lists every model and version there or loaded, by name
    /// then version.
    pub fn index(&self) -> std::io::Result<Vec<IndexEntry>> {
        let catalog = self.snapshot();
        let status = self.status_snapshot();
        let loading: BTreeSet<String> = self.loading_now().into_iter().collect();
        let mut versions: BTreeMap<String, BTreeSet<Option<u64>>> = BTreeMap::new();
        for (name, dir) in model_dirs(self.root())? {
            let on_disk = version_dirs(&dir).unwrap_or_default();
            versions
                .entry(name)
                .or_default()
                .extend(on_disk.into_iter().map(|(v, _)| Some(v)));
        }
        for (name, entry) in &catalog.models {
            let known = versions.entry(name.clone()).or_default();
            known.extend(
                entry
                    .loaded
                    .keys()
                    .chain(entry.failed.keys())
                    .map(|&v| Some(v)),
            );
        }
        for (name, record) in &status {
            if !record.failures.is_empty() {
                versions
                    .entry(name.clone())
                    .or_default()
                    .extend(record.failures.keys().copied());
            }
        }
        let mut rows = Vec::new();
        for (name, known) in versions {
            let entry = catalog.models.get(&name);
            let record = status.get(&name);
            let failure_of = |v: Option<u64>| record.and_then(|r| r.failures.get(&v)).cloned();
            for version in known {
                let loaded =
                    version.is_some_and(|v| entry.is_some_and(|e| e.loaded.contains_key(&v)));
                let (state, reason) = if loading.contains(&name) {
                    (VersionState::Loading, String::new())
                } else if loaded {
                    let last = failure_of(version)
                        .map(|r| format!("still serving; the last reload failed: {r}"));
                    (VersionState::Ready, last.unwrap_or_default())
                } else if let Some(reason) = failure_of(version)
                    .or_else(|| version.and_then(|v| entry.and_then(|e| e.failed.get(&v)).cloned()))
                {
                    (VersionState::Unavailable, reason)
                } else if record.is_some_and(|r| r.unloaded) {
                    (VersionState::Unavailable, "unloaded".to_string())
                } else {
                    (VersionState::Unavailable, "not loaded".to_string())
                };
                rows.push(IndexEntry {
                    name: name.clone(),
                    version,
                    state,
                    reason,
                });
            }
        }
        Ok(rows)
    }
}
