//! Polling mode: the repository folder is the source of truth, read again at an interval.
//!
//! A model whose folder changed is reloaded once two polls in a row see the same change, so a
//! file still being written is never loaded (the supported way to change a model is still to
//! write under a temporary name and rename into place). A model whose folder disappeared is
//! unloaded.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use super::fingerprint::Fingerprint;
use super::{Folders, ModelRepository, folders, warn_ignored};

/// The changes seen at the last poll and not loaded yet.
#[derive(Default)]
pub struct Poller {
    pending: HashMap<String, Fingerprint>,
    /// Folders whose names are not model names, reported once.
    ignored: HashSet<String>,
}

impl Poller {
    /// One poll: loads what changed and settled, unloads what disappeared. Blocks.
    pub fn poll(&mut self, repository: &ModelRepository) {
        let Folders {
            models: on_disk,
            ignored,
        } = match folders(repository.root()) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the model repository; poll skipped");
                return;
            }
        };
        for name in &ignored {
            if self.ignored.insert(name.clone()) {
                warn_ignored(name);
            }
        }
        self.ignored.retain(|name| ignored.contains(name));
        let status = repository.status_snapshot();
        for (name, dir) in &on_disk {
            let now = Fingerprint::of(dir);
            if status.get(name).and_then(|s| s.fingerprint.as_ref()) == Some(&now) {
                self.pending.remove(name);
                continue;
            }
            if self.pending.get(name) != Some(&now) {
                self.pending.insert(name.clone(), now);
                continue;
            }
            self.pending.remove(name);
            if let Err(e) = repository.load_model(name, None) {
                tracing::warn!(model = %name, error = %e, "poll: load failed");
            }
        }
        self.pending
            .retain(|name, _| on_disk.iter().any(|(n, _)| n == name));
        let gone: Vec<String> = repository
            .snapshot()
            .models
            .keys()
            .filter(|name| !on_disk.iter().any(|(n, _)| n == *name))
            .cloned()
            .collect();
        for name in gone {
            if let Err(e) = repository.unload_model(&name) {
                tracing::warn!(model = %name, error = %e, "poll: unload failed");
            }
            repository.forget_folder(&name);
        }
    }
}

/// Polls `repository` every `every` until the runtime shuts down. Each poll runs on a
/// blocking thread.
pub fn spawn(repository: Arc<ModelRepository>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut poller = Poller::default();
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let repo = repository.clone();
            let polled = tokio::task::spawn_blocking(move || {
                poller.poll(&repo);
                poller
            })
            .await;
            match polled {
                Ok(p) => poller = p,
                Err(e) => {
                    tracing::error!(error = %e, "poll did not complete");
                    poller = Poller::default();
                }
            }
        }
    })
}
