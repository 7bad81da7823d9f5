//! What a model folder holds, cheaply: enough to tell that something on disk changed without
//! reading the files.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Every file of a model folder that loading reads (`config.json` and the files of its
/// integer version folders): relative path, size, modification time and inode. A file
/// replaced by a rename gets a new inode even when size and time happen to match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint(Vec<(String, u64, i64, i64, u64)>);

impl Fingerprint {
    /// The fingerprint of `model_dir`; a folder that cannot be read has an empty one.
    pub fn of(model_dir: &Path) -> Fingerprint {
        let mut files = Vec::new();
        let Ok(entries) = std::fs::read_dir(model_dir) else {
            return Fingerprint(files);
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name == "config.json" {
                record(&mut files, name, &path);
            } else if is_version_name(&name) && path.is_dir() {
                walk(&path, &name, &mut files);
            }
        }
        files.sort();
        Fingerprint(files)
    }
}

/// A positive integer, as version folders are named.
fn is_version_name(name: &str) -> bool {
    super::version_of(name).is_some()
}

fn walk(dir: &Path, prefix: &str, files: &mut Vec<(String, u64, i64, i64, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        let path = entry.path();
        if path.is_dir() {
            walk(&path, &name, files);
        } else {
            record(files, name, &path);
        }
    }
}

fn record(files: &mut Vec<(String, u64, i64, i64, u64)>, name: String, path: &Path) {
    // Follows symlinks: a link retargeted to another file is a change.
    if let Ok(meta) = std::fs::metadata(path) {
        files.push((
            name,
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ino(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_file_changes_the_fingerprint() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("1")).expect("mkdir");
        std::fs::write(dir.path().join("1/model.onnx"), b"a").expect("write");
        std::fs::create_dir(dir.path().join("notes")).expect("mkdir");
        let before = Fingerprint::of(dir.path());
        std::fs::write(dir.path().join("notes/readme"), b"ignored").expect("write");
        assert_eq!(before, Fingerprint::of(dir.path()));
        std::fs::write(dir.path().join("1/model.onnx.tmp"), b"b").expect("write");
        std::fs::rename(
            dir.path().join("1/model.onnx.tmp"),
            dir.path().join("1/model.onnx"),
        )
        .expect("rename");
        assert_ne!(before, Fingerprint::of(dir.path()));
    }
}
