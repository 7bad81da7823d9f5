//! Writing an uploaded model into the repository so that it appears whole: files go to a
//! hidden staging folder inside the repository, and the folder is renamed into place.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::upload::Upload;

/// A model folder under construction, removed on drop unless installed.
pub struct Staged {
    path: Option<PathBuf>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh hidden name in `root` (scans skip names starting with a dot).
fn hidden(root: &Path, what: &str, name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    root.join(format!(".{what}-{name}-{}-{n}", std::process::id()))
}

impl Staged {
    /// Writes `upload` as `<root>/.staging-…/{config.json, <version>/<file>}`.
    pub fn write(root: &Path, name: &str, upload: &Upload) -> std::io::Result<Staged> {
        let staged = Staged {
            path: Some(hidden(root, "staging", name)),
        };
        let dir = staged.path();
        std::fs::create_dir(dir)?;
        if let Some(config) = &upload.config {
            let text = serde_json::to_vec_pretty(config).map_err(std::io::Error::other)?;
            write_new(&dir.join("config.json"), &text)?;
        }
        for (version, files) in &upload.versions {
            let version_dir = dir.join(version.to_string());
            std::fs::create_dir(&version_dir)?;
            for (file, bytes) in files {
                write_new(&version_dir.join(file), bytes)?;
            }
        }
        Ok(staged)
    }

    pub fn path(&self) -> &Path {
        self.path
            .as_deref()
            .unwrap_or_else(|| unreachable!("a staged folder has a path until installed"))
    }

    /// Renames the staged folder to `<root>/<name>`, replacing the folder there. The old one
    /// is first moved aside, so the model folder is never seen half-replaced.
    pub fn install(mut self, root: &Path, name: &str) -> std::io::Result<()> {
        let target = root.join(name);
        let aside = hidden(root, "replaced", name);
        let had_old = match std::fs::rename(&target, &aside) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        if let Err(e) = std::fs::rename(self.path(), &target) {
            if had_old {
                let _ = std::fs::rename(&aside, &target);
            }
            return Err(e);
        }
        self.path = None;
        if had_old && let Err(e) = std::fs::remove_dir_all(&aside) {
            tracing::warn!(path = %aside.display(), error = %e, "cannot remove a replaced model folder");
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

/// Creates `path` (never through an existing file or link) and writes `bytes`.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
