//! Loading, reloading and unloading models while serving: each change is built off to the
//! side, then swapped into the catalog in one atomic step.
//!
//! Every function here blocks (file I/O, ONNX Runtime): call them from blocking threads.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::fingerprint::Fingerprint;
use super::staging::Staged;
use super::upload::{Upload, is_plain_name};
use super::{
    Catalog, LoadedModel, ModelEntry, ModelRepository, load_version, model_dirs, version_dirs,
};

/// Why a repository call did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error(
        "{0:?} is not a model name: use letters, digits, `.`, `_` and `-`, not starting with `.`, at most 200 bytes"
    )]
    BadName(String),
    #[error("model `{0}` is not in the repository")]
    UnknownModel(String),
    #[error("{0}")]
    BadUpload(String),
    #[error("the uploaded files are larger than the limit of {limit} bytes (--max-upload-bytes)")]
    UploadTooLarge { limit: usize },
    /// The model could not be loaded; what was serving still serves.
    #[error("failed to load model `{name}`: {reason}")]
    LoadFailed { name: String, reason: String },
    /// The server could not write to its own repository.
    #[error("{0}")]
    Io(String),
}

/// What the repository remembers about a model between changes.
#[derive(Debug, Default, Clone)]
pub struct ModelStatus {
    /// The model folder as the last load or scan saw it.
    pub fingerprint: Option<Fingerprint>,
    /// Why the last load failed, by version (`None`: the model as a whole), until one succeeds.
    pub failures: BTreeMap<Option<u64>, String>,
    /// Unloaded through the API (and not loaded since).
    pub unloaded: bool,
}

/// The fingerprint of every model folder, before the start-up scan loads them.
pub fn initial_status(root: &Path) -> std::io::Result<BTreeMap<String, ModelStatus>> {
    Ok(model_dirs(root)?
        .into_iter()
        .map(|(name, dir)| {
            let status = ModelStatus {
                fingerprint: Some(Fingerprint::of(&dir)),
                ..ModelStatus::default()
            };
            (name, status)
        })
        .collect())
}

/// Versions that loaded, each with how long it took.
type Loaded = BTreeMap<u64, (Arc<LoadedModel>, Duration)>;
/// Why versions failed (`None`: the model as a whole).
type Failures = BTreeMap<Option<u64>, String>;

/// Marks a model as loading for as long as it lives.
struct Loading<'a> {
    repository: &'a ModelRepository,
    name: String,
}

impl<'a> Loading<'a> {
    fn mark(repository: &'a ModelRepository, name: &str) -> Loading<'a> {
        lock(&repository.loading).insert(name.to_string());
        Loading {
            repository,
            name: name.to_string(),
        }
    }
}

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        lock(&self.repository.loading).remove(&self.name);
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section leaves its data consistent: a panic elsewhere cannot corrupt it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ModelRepository {
    /// Loads (or reloads) every integer version of model `name`, from its folder or from
    /// `upload` (which then replaces the folder). All versions must load and warm up;
    /// then they replace the model's versions in one swap. On failure nothing changes except
    /// the recorded reason.
    pub fn load_model(&self, name: &str, upload: Option<Upload>) -> Result<(), RepositoryError> {
        if !is_plain_name(name) {
            return Err(RepositoryError::BadName(name.to_string()));
        }
        let _changes = lock(&self.changes);
        let _loading = Loading::mark(self, name);
        let target = self.root.join(name);
        let staged =
            match &upload {
                Some(upload) => Some(Staged::write(&self.root, name, upload).map_err(|e| {
                    RepositoryError::Io(format!("cannot stage model `{name}`: {e}"))
                })?),
                None if target.is_dir() => None,
                None => return Err(RepositoryError::UnknownModel(name.to_string())),
            };
        let source = staged.as_ref().map_or(target.as_path(), Staged::path);
        let fingerprint = Fingerprint::of(source);
        match self.load_versions(name, source) {
            Ok(loaded) => self.commit(name, staged, fingerprint, loaded),
            Err(failures) => {
                // Name the model folder, not the staging folder, in messages.
                let (staged_at, shown) =
                    (source.display().to_string(), target.display().to_string());
                let failures = failures
                    .into_iter()
                    .map(|(v, reason)| (v, reason.replace(&staged_at, &shown)))
                    .collect();
                // An upload that failed never reached the disk: the folder's fingerprint stands.
                let seen = staged.is_none().then_some(fingerprint);
                Err(self.record_failure(name, seen, failures))
            }
        }
    }

    /// Installs an upload, then swaps the loaded versions in.
    fn commit(
        &self,
        name: &str,
        staged: Option<Staged>,
        fingerprint: Fingerprint,
        loaded: Loaded,
    ) -> Result<(), RepositoryError> {
        let fingerprint = match staged {
            Some(staged) => {
                staged.install(&self.root, name).map_err(|e| {
                    RepositoryError::Io(format!("cannot install model `{name}`: {e}"))
                })?;
                Fingerprint::of(&self.root.join(name))
            }
            None => fingerprint,
        };
        self.swap_in(name, loaded);
        self.set_status(name, Some(fingerprint), BTreeMap::new());
        Ok(())
    }

    /// Reports and remembers a failed load; what serves keeps serving.
    fn record_failure(
        &self,
        name: &str,
        seen: Option<Fingerprint>,
        failures: Failures,
    ) -> RepositoryError {
        if failures.contains_key(&None) {
            self.events.model_load_failed(name, None);
        }
        self.keep_after_failure(name, &failures);
        let reason = describe(&failures);
        self.set_status(name, seen, failures);
        RepositoryError::LoadFailed {
            name: name.to_string(),
            reason,
        }
    }

    /// Stops serving model `name`: new requests get 404, requests in flight finish on the
    /// version they hold, whose sessions are dropped with the last of them.
    pub fn unload_model(&self, name: &str) -> Result<(), RepositoryError> {
        if !is_plain_name(name) {
            return Err(RepositoryError::BadName(name.to_string()));
        }
        let _changes = lock(&self.changes);
        let current = self.catalog.load_full();
        let Some(entry) = current.models.get(name) else {
            if self.root.join(name).is_dir() {
                return Ok(());
            }
            return Err(RepositoryError::UnknownModel(name.to_string()));
        };
        let mut next = clone_catalog(&current);
        next.models.remove(name);
        let versions: Vec<u64> = entry.loaded.keys().copied().collect();
        drop(current);
        self.catalog.store(Arc::new(next));
        for version in versions {
            self.events.model_unloaded(name, version);
        }
        let mut status = lock(&self.status);
        let record = status.entry(name.to_string()).or_default();
        record.failures.clear();
        record.unloaded = true;
        tracing::info!(model = %name, "unloaded");
        Ok(())
    }

    /// Loads each version folder of `dir`; all or nothing.
    fn load_versions(&self, name: &str, dir: &Path) -> Result<Loaded, Failures> {
        let versions = version_dirs(dir).map_err(|e| single(None, e.to_string()))?;
        if versions.is_empty() {
            return Err(single(
                None,
                "no version folder: put the model in <name>/<positive integer>/model.onnx".into(),
            ));
        }
        let mut loaded = BTreeMap::new();
        let mut failures = BTreeMap::new();
        for (version, path) in versions {
            let started = Instant::now();
            match load_version(&path, name, version, self.options, self.events.clone()) {
                Ok(model) => {
                    loaded.insert(version, (Arc::new(model), started.elapsed()));
                }
                Err(e) => {
                    self.events.model_load_failed(name, Some(version));
                    tracing::warn!(model = %name, version, error = %e, "load failed");
                    failures.insert(Some(version), e.to_string());
                }
            }
        }
        if failures.is_empty() {
            Ok(loaded)
        } else {
            Err(failures)
        }
    }

    /// Replaces the model's versions with `loaded` in one catalog swap.
    fn swap_in(&self, name: &str, loaded: Loaded) {
        let current = self.catalog.load_full();
        let previous = current.models.get(name).cloned().unwrap_or_default();
        let mut next = clone_catalog(&current);
        let entry = ModelEntry {
            loaded: loaded.iter().map(|(&v, (m, _))| (v, m.clone())).collect(),
            failed: BTreeMap::new(),
        };
        next.models.insert(name.to_string(), entry);
        drop(current);
        self.catalog.store(Arc::new(next));
        for (version, (_, took)) in &loaded {
            let reload = previous.loaded.contains_key(version);
            self.events.model_loaded(name, *version, *took, reload);
            tracing::info!(model = %name, version, reload, "loaded");
        }
        for version in previous.loaded.keys().filter(|v| !loaded.contains_key(v)) {
            self.events.model_unloaded(name, *version);
        }
    }

    /// After a failed load: what serves keeps serving, and the versions that failed are
    /// shown beside it with their reasons, as the start-up scan shows them: health and
    /// readiness then report the same disk the same way whether it was found at start-up or
    /// while serving. A failure of the model as a whole (no version folder) adds nothing.
    fn keep_after_failure(&self, name: &str, failures: &BTreeMap<Option<u64>, String>) {
        let failed: BTreeMap<u64, String> = failures
            .iter()
            .filter_map(|(v, reason)| Some(((*v)?, reason.clone())))
            .collect();
        if failed.is_empty() {
            return;
        }
        let current = self.catalog.load_full();
        let loaded = current
            .models
            .get(name)
            .map(|e| e.loaded.clone())
            .unwrap_or_default();
        let mut next = clone_catalog(&current);
        next.models
            .insert(name.to_string(), ModelEntry { loaded, failed });
        drop(current);
        self.catalog.store(Arc::new(next));
    }

    fn set_status(
        &self,
        name: &str,
        fingerprint: Option<Fingerprint>,
        failures: BTreeMap<Option<u64>, String>,
    ) {
        let mut status = lock(&self.status);
        let record = status.entry(name.to_string()).or_default();
        if fingerprint.is_some() {
            record.fingerprint = fingerprint;
        }
        record.failures = failures;
        record.unloaded = false;
    }

    /// Forgets what was seen of model `name`'s folder, once the folder is gone: a folder put
    /// back as it was is then a new model to the poll, not one already loaded.
    pub(super) fn forget_folder(&self, name: &str) {
        lock(&self.status).remove(name);
    }

    /// A copy of what the repository remembers about each model.
    pub(super) fn status_snapshot(&self) -> BTreeMap<String, ModelStatus> {
        lock(&self.status).clone()
    }

    /// Names of the models being loaded now.
    pub(super) fn loading_now(&self) -> Vec<String> {
        lock(&self.loading).iter().cloned().collect()
    }
}

fn clone_catalog(catalog: &Catalog) -> Catalog {
    Catalog {
        models: catalog.models.clone(),
    }
}

fn single(version: Option<u64>, reason: String) -> BTreeMap<Option<u64>, String> {
    BTreeMap::from([(version, reason)])
}

fn describe(failures: &BTreeMap<Option<u64>, String>) -> String {
    failures
        .iter()
        .map(|(v, reason)| match v {
            Some(v) => format!("version {v}: {reason}"),
            None => reason.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
