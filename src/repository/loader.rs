//! Loading one model version from its folder: sessions, signature, metadata, warm-up.

use std::path::Path;

use std::collections::HashMap;

use crate::contract::{DataType, ModelConfig, ModelMetadata, TensorSpec};
use crate::events::Events;
use crate::graph::{self, KnownValue};
use crate::inference::batch::BatchPolicy;
use crate::runtime::{self, Output, SessionOptions, SessionPool};
use crate::tensor::{Tensor, TensorData};

use super::model::{LoadedModel, ModelSignature, OutputSpec};

/// How sessions of every model are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    pub session: SessionOptions,
    /// Sessions per model version.
    pub pool_size: usize,
    /// The server's batching settings; a model's `config.json` may override them.
    pub batching: BatchPolicy,
}

/// Why a model version could not be served. The message is what operators read in the log,
/// the readiness answer and the repository index.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: no model.onnx")]
    MissingGraph { path: String },
    #[error("{path}/model.onnx: {reason}")]
    Unreadable { path: String, reason: String },
    /// The graph failed a check made before the runtime opens it (see `graph::check`).
    #[error("{path}/model.onnx refused: {reason}")]
    Refused { path: String, reason: String },
    #[error("{path}: invalid config: {reason}")]
    Config { path: String, reason: String },
    #[error("{path}: invalid metadata.json: {reason}")]
    Metadata { path: String, reason: String },
    #[error(transparent)]
    Session(#[from] runtime::SessionError),
    #[error("{path}: {reason}")]
    Signature { path: String, reason: String },
    #[error("{path}: warm-up run failed: {reason}")]
    WarmUp { path: String, reason: String },
}

/// Loads `dir` (`<repository>/<name>/<version>/`) and warms it up with one synthetic run.
pub fn load_version(
    dir: &Path,
    name: &str,
    version: u64,
    options: LoadOptions,
    events: Events,
) -> Result<LoadedModel, LoadError> {
    let path = dir.display().to_string();
    let graph = dir.join("model.onnx");
    if !graph.is_file() {
        return Err(LoadError::MissingGraph { path });
    }
    let bytes = std::fs::read(&graph).map_err(|e| LoadError::Unreadable {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let model = graph::decode(&bytes).map_err(|e| LoadError::Unreadable {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    drop(bytes);
    graph::check_model(&model, dir).map_err(|e| LoadError::Refused {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let known = graph::known_input_values(&model);
    drop(model);
    let metadata = read_metadata(dir)?;
    let config = read_config(dir)?;
    let pool = SessionPool::open(&graph, options.session, options.pool_size)?;
    let graph_signature = pool.with_any(|s| runtime::graph_signature(s))?;
    if let Some(meta) = &metadata {
        check_metadata(meta, &graph_signature.inputs).map_err(|reason| LoadError::Signature {
            path: path.clone(),
            reason,
        })?;
    }
    let max_batch = match graph_signature.inputs.first().and_then(|i| i.shape.first()) {
        Some(&d) if d > 0 => Some(d as usize),
        _ => None,
    };
    let mut signature = ModelSignature {
        inputs: graph_signature.inputs,
        outputs: graph_signature
            .outputs
            .into_iter()
            .map(|tensor| OutputSpec {
                classes: classes_for(&tensor, metadata.as_ref()),
                tensor,
                zipmap: false,
            })
            .collect(),
        max_batch,
    };
    // ZipMap outputs reveal their classes only when run: the warm-up run tells.
    let warm = warm_up(&pool, &signature.inputs, &known)
        .map_err(|reason| LoadError::WarmUp { path, reason })?;
    for (name, out) in warm {
        if let Output::ClassProbabilities { classes, .. } = out {
            signature.outputs.push(OutputSpec {
                tensor: TensorSpec {
                    name,
                    datatype: DataType::Fp32,
                    shape: vec![-1, classes.len() as i64],
                },
                classes: Some(classes),
                zipmap: true,
            });
        }
    }
    let batching = options
        .batching
        .with_overrides(&config.batching)
        .map_err(|reason| LoadError::Config {
            path: dir.display().to_string(),
            reason,
        })?;
    let batching = BatchPolicy {
        enabled: batching.enabled && batches_by_rows(&signature),
        ..batching
    };
    Ok(LoadedModel {
        batching,
        batcher: std::sync::OnceLock::new(),
        name: name.to_string(),
        version,
        metadata,
        config,
        events,
        signature,
        permits: std::sync::Arc::new(tokio::sync::Semaphore::new(pool.size())),
        pool,
    })
}

/// Requests can be coalesced only when every input and output has a dynamic first (batch)
/// dimension: then row `i` of the outputs belongs to row `i` of the inputs.
fn batches_by_rows(signature: &ModelSignature) -> bool {
    let dynamic_batch = |shape: &[i64]| shape.first().is_some_and(|&d| d < 0);
    signature.max_batch.is_none()
        && signature.inputs.iter().all(|i| dynamic_batch(&i.shape))
        && signature
            .outputs
            .iter()
            .all(|o| dynamic_batch(&o.tensor.shape))
}

fn read_metadata(dir: &Path) -> Result<Option<ModelMetadata>, LoadError> {
    let path = dir.join("metadata.json");
    let invalid = |reason: String| LoadError::Metadata {
        path: dir.display().to_string(),
        reason,
    };
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| invalid(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(invalid(e.to_string())),
    }
}

/// `config.json` in the model folder (the version folder's parent), or the defaults.
fn read_config(version_dir: &Path) -> Result<ModelConfig, LoadError> {
    let Some(model_dir) = version_dir.parent() else {
        return Ok(ModelConfig::default());
    };
    let path = model_dir.join("config.json");
    let invalid = |reason: String| LoadError::Config {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ModelConfig::default()),
        Err(e) => Err(invalid(e.to_string())),
    }
}

/// The metadata must describe the graph it sits beside.
fn check_metadata(meta: &ModelMetadata, inputs: &[TensorSpec]) -> Result<(), String> {
    let promised = meta.input_specs();
    if promised.len() != inputs.len() {
        return Err(format!(
            "metadata.json lists {} features, the graph has {} inputs",
            promised.len(),
            inputs.len()
        ));
    }
    for (p, g) in promised.iter().zip(inputs) {
        if p.name != g.name || p.datatype != g.datatype {
            return Err(format!(
                "metadata.json feature `{}` ({}) does not match graph input `{}` ({})",
                p.name, p.datatype, g.name, g.datatype
            ));
        }
    }
    Ok(())
}

fn classes_for(tensor: &TensorSpec, metadata: Option<&ModelMetadata>) -> Option<Vec<String>> {
    let labels = metadata?.class_labels.as_ref()?;
    let columns = tensor.shape.get(1).copied();
    (tensor.datatype == DataType::Fp32
        && tensor.shape.len() == 2
        && columns == Some(labels.len() as i64))
    .then(|| labels.clone())
}

/// One run on a synthetic batch of one row: zeros, `false` and empty strings, or for inputs
/// that feed a categorical encoder, a category it knows.
fn warm_up(
    pool: &SessionPool,
    inputs: &[TensorSpec],
    known: &HashMap<String, KnownValue>,
) -> Result<Vec<(String, Output)>, String> {
    let tensors = inputs
        .iter()
        .map(|spec| synthetic(spec, known.get(&spec.name)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut session = pool.checkout();
    runtime::run(&mut session, &tensors, None).map_err(|e| e.to_string())
}

fn synthetic(spec: &TensorSpec, known: Option<&KnownValue>) -> Result<Tensor, String> {
    let shape: Vec<usize> = spec
        .shape
        .iter()
        .map(|&d| if d < 0 { 1 } else { d as usize })
        .collect();
    let n: usize = shape.iter().product();
    let data = match (spec.datatype, known) {
        (DataType::Bytes, Some(KnownValue::String(s))) => {
            TensorData::Bytes(vec![s.as_bytes().to_vec(); n])
        }
        (DataType::Int64, Some(KnownValue::Int(i))) => TensorData::I64(vec![*i; n]),
        (DataType::Int32, Some(KnownValue::Int(i))) => {
            TensorData::I32(vec![i32::try_from(*i).unwrap_or(0); n])
        }
        _ => zeros(spec.datatype, n),
    };
    Tensor::new(spec.name.clone(), shape, data).map_err(|e| e.to_string())
}

fn zeros(datatype: DataType, n: usize) -> TensorData {
    match datatype {
        DataType::Bool => TensorData::Bool(vec![false; n]),
        DataType::Uint8 => TensorData::U8(vec![0; n]),
        DataType::Uint16 => TensorData::U16(vec![0; n]),
        DataType::Uint32 => TensorData::U32(vec![0; n]),
        DataType::Uint64 => TensorData::U64(vec![0; n]),
        DataType::Int8 => TensorData::I8(vec![0; n]),
        DataType::Int16 => TensorData::I16(vec![0; n]),
        DataType::Int32 => TensorData::I32(vec![0; n]),
        DataType::Int64 => TensorData::I64(vec![0; n]),
        DataType::Fp16 => TensorData::F16(vec![0; n]),
        DataType::Bf16 => TensorData::BF16(vec![0; n]),
        DataType::Fp32 => TensorData::F32(vec![0.0; n]),
        DataType::Fp64 => TensorData::F64(vec![0.0; n]),
        DataType::Bytes => TensorData::Bytes(vec![Vec::new(); n]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, shape: &[i64]) -> TensorSpec {
        TensorSpec {
            name: name.into(),
            datatype: DataType::Fp32,
            shape: shape.to_vec(),
        }
    }

    fn signature(input: &[i64], output: &[i64]) -> ModelSignature {
        ModelSignature {
            inputs: vec![spec("x", input)],
            outputs: vec![OutputSpec {
                tensor: spec("y", output),
                classes: None,
                zipmap: false,
            }],
            max_batch: match input.first() {
                Some(&d) if d > 0 => Some(d as usize),
                _ => None,
            },
        }
    }

    #[test]
    fn only_graphs_batched_by_rows_on_both_sides_are_coalesced() {
        assert!(batches_by_rows(&signature(&[-1, 4], &[-1])));
        assert!(!batches_by_rows(&signature(&[1, 4], &[1])), "fixed batch");
        assert!(
            !batches_by_rows(&signature(&[-1, 4], &[3])),
            "output not by rows"
        );
        assert!(!batches_by_rows(&signature(&[-1, 4], &[])), "scalar output");
    }
}
