//! The model repository: `<root>/<name>/<version>/model.onnx` folders, loaded into a catalog
//! that request handlers read without locking.
//!
//! The catalog is an immutable snapshot behind an `ArcSwap`: readers take a cheap snapshot,
//! writers build a new catalog and swap it in one atomic step. A request keeps the
//! `Arc<LoadedModel>` it started with, so a version replaced meanwhile finishes its work and
//! is dropped (with its sessions) when the last request using it ends.

mod fingerprint;
mod index;
mod loader;
mod manage;
mod model;
pub mod poll;
mod staging;
pub mod upload;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::events::Events;

pub use index::{IndexEntry, VersionState};
pub use loader::{LoadError, LoadOptions, load_version};
pub use manage::RepositoryError;
pub use model::{LoadedModel, ModelSignature, OutputSpec};
pub use upload::Upload;

/// Every model the server knows, by name.
#[derive(Default)]
pub struct Catalog {
    pub models: BTreeMap<String, ModelEntry>,
}

/// The versions of one model: loaded ones, and those that failed with their reason.
#[derive(Default, Clone)]
pub struct ModelEntry {
    pub loaded: BTreeMap<u64, Arc<LoadedModel>>,
    pub failed: BTreeMap<u64, String>,
}

impl ModelEntry {
    /// The version served when a request names none: the highest loaded one.
    pub fn latest(&self) -> Option<&Arc<LoadedModel>> {
        self.loaded.values().next_back()
    }
}

/// Why a lookup found nothing to serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("model `{0}` not found")]
    UnknownModel(String),
    #[error("model `{name}` has no version {version}")]
    UnknownVersion { name: String, version: String },
    #[error("model `{name}` version {version} is not available: {reason}")]
    Unavailable {
        name: String,
        version: u64,
        reason: String,
    },
    /// `why` names the newest version that failed and its reason, when one did.
    #[error("model `{name}` has no version that loaded{why}")]
    NoneLoaded { name: String, why: String },
}

pub struct ModelRepository {
    root: PathBuf,
    options: LoadOptions,
    events: Events,
    catalog: ArcSwap<Catalog>,
    /// Held while a model is (re)loaded or unloaded and the catalog swapped, so that two
    /// changes never build on the same old catalog and lose one another. Only ever taken on
    /// blocking threads.
    changes: Mutex<()>,
    /// What the last load of each model saw on disk, and how it ended.
    status: Mutex<BTreeMap<String, manage::ModelStatus>>,
    /// Models being loaded right now (the index shows them as `LOADING`).
    loading: Mutex<BTreeSet<String>>,
}

impl ModelRepository {
    /// Loads every model version under `root`. A version that fails is recorded with its
    /// reason and does not stop the others.
    pub fn open(
        root: &Path,
        options: LoadOptions,
        events: Events,
    ) -> std::io::Result<ModelRepository> {
        // Fingerprints first: a file changed during the scan then differs at the next poll.
        let status = manage::initial_status(root)?;
        let catalog = scan(root, options, &events)?;
        Ok(ModelRepository {
            root: root.to_path_buf(),
            options,
            events,
            catalog: ArcSwap::from_pointee(catalog),
            changes: Mutex::new(()),
            status: Mutex::new(status),
            loading: Mutex::new(BTreeSet::new()),
        })
    }

    /// The sink this repository and its models report to.
    pub fn events(&self) -> &Events {
        &self.events
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn options(&self) -> LoadOptions {
        self.options
    }

    /// The current catalog.
    pub fn snapshot(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    /// The model to serve for `name` and an optional version from the request path.
    pub fn get(&self, name: &str, version: Option<&str>) -> Result<Arc<LoadedModel>, LookupError> {
        let catalog = self.catalog.load();
        let entry = catalog
            .models
            .get(name)
            .ok_or_else(|| LookupError::UnknownModel(name.to_string()))?;
        match version {
            None => entry
                .latest()
                .cloned()
                .ok_or_else(|| LookupError::NoneLoaded {
                    name: name.to_string(),
                    why: entry
                        .failed
                        .iter()
                        .next_back()
                        .map(|(v, reason)| format!(" (version {v}: {reason})"))
                        .unwrap_or_default(),
                }),
            Some(text) => {
                let unknown = || LookupError::UnknownVersion {
                    name: name.to_string(),
                    version: text.to_string(),
                };
                let v = version_of(text).ok_or_else(unknown)?;
                if let Some(model) = entry.loaded.get(&v) {
                    return Ok(model.clone());
                }
                match entry.failed.get(&v) {
                    Some(reason) => Err(LookupError::Unavailable {
                        name: name.to_string(),
                        version: v,
                        reason: reason.clone(),
                    }),
                    None => Err(unknown()),
                }
            }
        }
    }

    /// Whether every model version on disk loaded.
    pub fn all_ready(&self) -> bool {
        self.catalog
            .load()
            .models
            .values()
            .all(|e| e.failed.is_empty() && !e.loaded.is_empty())
    }
}

/// The version a folder named `name` holds: a positive integer written in plain decimal. `010`
/// and `+10` are not versions: read as numbers they would make a second version 10 beside
/// `10`, and which of the two served would depend on the order the folder lists them in.
pub fn version_of(name: &str) -> Option<u64> {
    let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
    name.parse::<u64>()
        .ok()
        .filter(|&v| plain && v > 0 && !name.starts_with('0'))
}

/// Integer version folders of a model folder, ascending.
pub fn version_dirs(model_dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut versions = Vec::new();
    for entry in std::fs::read_dir(model_dir)? {
        let entry = entry?;
        let path = entry.path();
        if let Some(v) = entry.file_name().to_str().and_then(version_of)
            && path.is_dir()
        {
            versions.push((v, path));
        }
    }
    versions.sort_unstable_by_key(|(v, _)| *v);
    Ok(versions)
}

/// The repository's folders (names not starting with `.`), each list sorted by name.
pub struct Folders {
    /// Folders with plain names (letters, digits, `.`, `_`, `-`): the models.
    pub models: Vec<(String, PathBuf)>,
    /// Folders with other names: never loaded, since no route could name them safely.
    pub ignored: Vec<String>,
}

/// Reads the repository's folders; see [`Folders`].
pub fn folders(root: &Path) -> std::io::Result<Folders> {
    let mut names: Vec<(String, PathBuf)> = std::fs::read_dir(root)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    names.sort();
    let (models, ignored) = names
        .into_iter()
        .partition::<Vec<_>, _>(|(name, _)| upload::is_plain_name(name));
    Ok(Folders {
        models,
        ignored: ignored.into_iter().map(|(name, _)| name).collect(),
    })
}

/// Logs a folder [`Folders::ignored`] holds; once per folder, by the caller.
pub fn warn_ignored(folder: &str) {
    tracing::warn!(
        folder,
        "not a model name (letters, digits, `.`, `_`, `-`); ignored"
    );
}

/// Model folders of the repository (plain names), sorted by name.
pub fn model_dirs(root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    Ok(folders(root)?.models)
}

fn scan(root: &Path, options: LoadOptions, events: &Events) -> std::io::Result<Catalog> {
    let mut catalog = Catalog::default();
    let Folders { models, ignored } = folders(root)?;
    for name in ignored {
        warn_ignored(&name);
    }
    for (name, dir) in models {
        let mut entry = ModelEntry::default();
        for (version, path) in version_dirs(&dir)? {
            let started = std::time::Instant::now();
            match load_version(&path, &name, version, options, events.clone()) {
                Ok(model) => {
                    events.model_loaded(&name, version, started.elapsed(), false);
                    tracing::info!(model = %name, version, "loaded");
                    entry.loaded.insert(version, Arc::new(model));
                }
                Err(e) => {
                    events.model_load_failed(&name, Some(version));
                    tracing::error!(model = %name, version, error = %crate::telemetry::ErrorChain(&e), "model failed to load");
                    entry.failed.insert(version, e.to_string());
                }
            }
        }
        if entry.loaded.is_empty() && entry.failed.is_empty() {
            tracing::warn!(model = %name, "no integer version folder with a model; skipped");
            continue;
        }
        catalog.models.insert(name, entry);
    }
    Ok(catalog)
}

#[cfg(test)]
mod version_names {
    use super::version_of;

    #[test]
    fn versions_are_positive_integers_in_plain_decimal() {
        assert_eq!(version_of("1"), Some(1));
        assert_eq!(version_of("10"), Some(10));
        for not_a_version in [
            "0",
            "010",
            "+10",
            "-1",
            "1.0",
            "",
            " 1",
            "1a",
            "99999999999999999999",
        ] {
            assert_eq!(version_of(not_a_version), None, "{not_a_version:?}");
        }
    }
}
