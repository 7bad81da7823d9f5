//! A model sent in a load request: `config.json` and `file:<version>/<name>` contents, checked
//! strictly before anything touches the disk.

use std::collections::BTreeMap;

use base64::Engine;

use super::manage::RepositoryError;
use crate::contract::ModelConfig;
use crate::graph;

/// The files of one uploaded model, by version, decoded and checked.
#[derive(Debug, Default)]
pub struct Upload {
    /// `config.json`, re-serialised from the validated settings.
    pub config: Option<ModelConfig>,
    pub versions: BTreeMap<u64, BTreeMap<String, Vec<u8>>>,
}

/// Files a version may hold besides the external data files its graph names.
const FIXED_NAMES: [&str; 2] = ["model.onnx", "metadata.json"];

impl Upload {
    /// Builds an upload from the request's `config` (a JSON string) and its `file:` entries
    /// (key, base64 text). Refuses a key that is not `file:<positive integer>/<plain name>`, a
    /// name the version has no use for, a version without `model.onnx`, and more than
    /// `max_bytes` of decoded content in all.
    pub fn parse(
        config: Option<&str>,
        files: &[(&str, &str)],
        max_bytes: usize,
    ) -> Result<Upload, RepositoryError> {
        let mut upload = Upload {
            config: config.map(parse_config).transpose()?,
            versions: BTreeMap::new(),
        };
        let mut total = 0usize;
        for (key, text) in files {
            let (version, name) = parse_key(key)?;
            // Base64 decodes to at most 3/4 of its length: refuse before allocating.
            total = total.saturating_add(text.len() / 4 * 3);
            if total > max_bytes.saturating_add(3) {
                return Err(RepositoryError::UploadTooLarge { limit: max_bytes });
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| RepositoryError::BadUpload(format!("`{key}` is not base64: {e}")))?;
            upload
                .versions
                .entry(version)
                .or_default()
                .insert(name.to_string(), bytes);
        }
        let decoded: usize = upload
            .versions
            .values()
            .flat_map(|f| f.values())
            .map(Vec::len)
            .sum();
        if decoded > max_bytes {
            return Err(RepositoryError::UploadTooLarge { limit: max_bytes });
        }
        upload.check_names()?;
        Ok(upload)
    }

    /// Every version has a graph, and every other file is one the version uses.
    fn check_names(&self) -> Result<(), RepositoryError> {
        for (version, files) in &self.versions {
            let graph = files.get("model.onnx").ok_or_else(|| {
                RepositoryError::BadUpload(format!("version {version} has no `model.onnx`"))
            })?;
            let referenced = graph::decode(graph)
                .map(|m| graph::external_locations(&m))
                .unwrap_or_default();
            for name in files.keys() {
                if !FIXED_NAMES.contains(&name.as_str()) && !referenced.contains(name) {
                    return Err(RepositoryError::BadUpload(format!(
                        "`file:{version}/{name}`: a version holds model.onnx, metadata.json and the external data files its graph names, nothing else"
                    )));
                }
            }
        }
        Ok(())
    }
}

fn parse_config(text: &str) -> Result<ModelConfig, RepositoryError> {
    serde_json::from_str(text).map_err(|e| {
        RepositoryError::BadUpload(format!("`config` is not a valid config.json: {e}"))
    })
}

/// `file:<version>/<name>` → (version, name).
pub fn parse_key(key: &str) -> Result<(u64, &str), RepositoryError> {
    let bad = |why: &str| {
        RepositoryError::BadUpload(format!(
            "{key:?}: file keys are `file:<version>/<file name>` with a positive integer version and a plain file name ({why})"
        ))
    };
    let path = key
        .strip_prefix("file:")
        .ok_or_else(|| bad("no `file:` prefix"))?;
    let (version, name) = path
        .split_once('/')
        .ok_or_else(|| bad("no version folder"))?;
    let number =
        super::version_of(version).ok_or_else(|| bad("the version is not a positive integer"))?;
    if !is_plain_name(name) {
        return Err(bad("the file name is not plain"));
    }
    Ok((number, name))
}

/// The longest model or file name taken. A file system takes 255 bytes in a name; a model is
/// staged beside its folder as `.staging-<name>-<pid>-<counter>`, up to 40 bytes more.
pub const MAX_NAME_BYTES: usize = 200;

/// A file or folder name with no way to name anything else: letters, digits, `.`, `_`, `-`,
/// not starting with a dot (so never `.` or `..`), at most [`MAX_NAME_BYTES`].
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_leaves_room_for_its_staging_folder() {
        assert!(is_plain_name(&"c".repeat(MAX_NAME_BYTES)));
        assert!(!is_plain_name(&"c".repeat(MAX_NAME_BYTES + 1)));
        let staging = format!(
            ".staging-{}-{}-{}",
            "c".repeat(MAX_NAME_BYTES),
            u32::MAX,
            u64::MAX
        );
        assert!(staging.len() <= 255, "{}", staging.len());
    }

    #[test]
    fn keys_must_be_a_version_and_a_plain_name() {
        assert_eq!(parse_key("file:1/model.onnx").ok(), Some((1, "model.onnx")));
        assert_eq!(
            parse_key("file:12/weights.bin").ok(),
            Some((12, "weights.bin"))
        );
        for bad in [
            "1/model.onnx",
            "file:model.onnx",
            "file:0/model.onnx",
            "file:01/model.onnx",
            "file:-1/model.onnx",
            "file:+1/model.onnx",
            "file:v1/model.onnx",
            "file:1/../model.onnx",
            "file:1/..",
            "file:1/",
            "file:1/a/b",
            "file:1/a\\b",
            "file:1//etc/passwd",
            "file:1/.hidden",
            "file:1/a\0b",
            "file:../1/model.onnx",
            "file:99999999999999999999/model.onnx",
        ] {
            assert!(parse_key(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn an_upload_is_checked_before_it_is_kept() {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let junk = b64(b"junk");
        assert!(matches!(
            Upload::parse(
                None,
                &[("file:1/notes.txt", &junk), ("file:1/model.onnx", &junk)],
                100
            ),
            Err(RepositoryError::BadUpload(_))
        ));
        assert!(matches!(
            Upload::parse(None, &[("file:1/metadata.json", &junk)], 100),
            Err(RepositoryError::BadUpload(_))
        ));
        assert!(matches!(
            Upload::parse(None, &[("file:1/model.onnx", &b64(&[0; 200]))], 100),
            Err(RepositoryError::UploadTooLarge { limit: 100 })
        ));
        assert!(matches!(
            Upload::parse(Some("{\"nope\": 1}"), &[("file:1/model.onnx", &junk)], 100),
            Err(RepositoryError::BadUpload(_))
        ));
        let ok = Upload::parse(Some("{}"), &[("file:1/model.onnx", &junk)], 100).expect("valid");
        assert_eq!(ok.versions[&1]["model.onnx"], b"junk");
    }
}
