//! Where each stage reads and writes, relative to the project root (`--root`).
//!
//! dvc.yaml declares the same paths as each stage's deps and outs.

use std::path::{Path, PathBuf};

use crate::params::DatasetSchema;

/// The datasets the pipeline trains on, in the order stages process them.
pub const DATASETS: [&str; 2] = ["housing", "iris"];

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn params(&self) -> PathBuf {
        self.root.join("params.yaml")
    }

    pub fn raw(&self, schema: &DatasetSchema) -> PathBuf {
        self.root.join(&schema.raw)
    }

    /// `data/processed/<name>/{train.csv, test.csv, profile.json}`
    pub fn processed(&self, name: &str, file: &str) -> PathBuf {
        self.root.join("data/processed").join(name).join(file)
    }

    /// The fitted preprocessing: `artifacts/features/<name>.json`.
    pub fn features(&self, name: &str) -> PathBuf {
        self.root
            .join("artifacts/features")
            .join(format!("{name}.json"))
    }

    /// A training output: `artifacts/<name>/{model.onnx, model.json, metadata.json, …}`.
    pub fn trained(&self, name: &str, file: &str) -> PathBuf {
        self.root.join("artifacts").join(name).join(file)
    }

    /// The model's folder in the repository: `models/<name>`.
    pub fn repository(&self, name: &str) -> PathBuf {
        self.root.join("models").join(name)
    }
}
