//! Loading one model version from its folder: sessions, signature, metadata, warm-up.

use std::path::Path;
use std::time::Duration;

use std::collections::{HashMap, HashSet};

use crate::contract::{DataType, ModelConfig, ModelMetadata, TensorSpec};
use crate::events::Events;
use crate::graph::{self, Axis, KnownValue, SizeHint};
use crate::inference::batch::BatchPolicy;
use crate::inference::inline::InlineRuns;
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
    /// Runs expected to take less than this stay on the async worker (zero: never).
    pub inline_budget: Duration,
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
    let facts = GraphFacts {
        known: graph::known_input_values(&model),
        sizes: graph::size_hints(&model),
    };
    let unranked = graph::unranked_inputs(&model);
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
    // A first dimension fixed at 1 on every input is a batch of one (a common export):
    // requests with more rows run one row at a time. Any other fixed size is the shape the
    // graph takes.
    let batch_of_one = !graph_signature.inputs.is_empty()
        && graph_signature
            .inputs
            .iter()
            .all(|i| i.shape.first() == Some(&1));
    let max_batch = batch_of_one.then_some(1);
    let mut signature = ModelSignature {
        inputs: graph_signature.inputs,
        outputs: graph_signature
            .outputs
            .into_iter()
            .map(|tensor| OutputSpec {
                classes: classes_for(&tensor, metadata.as_ref()),
                tensor,
                zipmap: false,
                rows: false,
            })
            .collect(),
        max_batch,
        any_rank: HashSet::new(),
    };
    signature.any_rank = signature
        .inputs
        .iter()
        .filter(|i| i.shape.is_empty() && unranked.contains(&i.name))
        .map(|i| i.name.clone())
        .collect();
    // ZipMap outputs reveal their classes only when run: the warm-up run tells.
    let (warm, fill, warmed) = match warm_up_ranks(&pool, &signature, &facts) {
        Ok((warm, fill)) => (warm, fill, true),
        // An input of any shape, or with dynamic dimensions past the first, may need sizes
        // this server cannot guess (a matrix product's inner dimension): the graph is served
        // unwarmed rather than refused, and each request's own shape decides.
        Err(reason) if shapes_left_to_the_client(&signature) => {
            tracing::warn!(
                model = name,
                version,
                %reason,
                "served without a warm-up: no synthetic input this server could shape ran"
            );
            (Vec::new(), FILLS[0], false)
        }
        Err(reason) => return Err(LoadError::WarmUp { path, reason }),
    };
    let warm_rows = first_dimensions(&warm);
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
                rows: false,
            });
        }
    }
    let probe = probe_rows(&pool, &signature.inputs, &facts, fill);
    if let Err(reason) = &probe {
        tracing::debug!(model = name, version, %reason, "rows not probed");
    }
    for output in &mut signature.outputs {
        output.rows = output_holds_rows(output, &warm_rows, probe.as_ref().ok(), max_batch);
    }
    let batching = options
        .batching
        .with_overrides(&config.batching)
        .map_err(|reason| LoadError::Config {
            path: dir.display().to_string(),
            reason,
        })?;
    let by_rows = batching.enabled && batches_by_rows(&signature);
    if batching.enabled && !by_rows {
        tracing::info!(
            model = name,
            version,
            "dynamic batching off: not every input and output holds the rows"
        );
    }
    let batching = BatchPolicy {
        enabled: by_rows,
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
        inline: InlineRuns::new(options.inline_budget),
        stats: Default::default(),
        warmed,
    })
}

/// Requests can be coalesced only when every input has a dynamic first (batch) dimension and
/// every output was seen to hold the rows ([`OutputSpec::rows`]): then row `i` of the outputs
/// belongs to row `i` of the inputs.
fn batches_by_rows(signature: &ModelSignature) -> bool {
    let dynamic_batch = |shape: &[i64]| shape.first().is_some_and(|&d| d < 0);
    signature.max_batch.is_none()
        && signature.inputs.iter().all(|i| dynamic_batch(&i.shape))
        && signature
            .outputs
            .iter()
            .all(|o| o.rows && dynamic_batch(&o.tensor.shape))
}

/// Each output's first dimension in a run, by name.
fn first_dimensions(outputs: &[(String, Output)]) -> HashMap<String, Option<usize>> {
    outputs
        .iter()
        .map(|(name, o)| (name.clone(), o.tensor().shape().first().copied()))
        .collect()
}

/// The outputs' first dimensions in a run of [`PROBE_ROWS`] rows, when every input's first
/// dimension is dynamic (otherwise no such run exists).
fn probe_rows(
    pool: &SessionPool,
    inputs: &[TensorSpec],
    facts: &GraphFacts,
    fill: Fill,
) -> Result<HashMap<String, Option<usize>>, String> {
    if inputs.is_empty()
        || !inputs
            .iter()
            .all(|i| i.shape.first().is_some_and(|&d| d < 0))
    {
        return Err("not every input has a dynamic first dimension".into());
    }
    warm_up(pool, inputs, facts, PROBE_ROWS, fill)
        .map(|outputs| first_dimensions(&outputs))
        .map_err(|e| format!("a run of {PROBE_ROWS} rows failed: {e}"))
}

/// Whether `output` holds one row per input row. Seen when it can be: one row at warm-up and
/// [`PROBE_ROWS`] in the probe. A dynamic first dimension on both sides does not prove it: an
/// output whose size comes from the data (`Unique`, `NonZero`, detections) can equal the rows
/// of a request by chance, and cutting it by rows would hand one client's result to another;
/// synthetic rows are all alike, so such an output does not follow them. Without a probe the
/// declared shape decides: a dynamic first dimension, or a batch of one.
fn output_holds_rows(
    output: &OutputSpec,
    warm: &HashMap<String, Option<usize>>,
    probe: Option<&HashMap<String, Option<usize>>>,
    max_batch: Option<usize>,
) -> bool {
    let name = &output.tensor.name;
    match probe {
        Some(probe) => {
            warm.get(name) == Some(&Some(1)) && probe.get(name) == Some(&Some(PROBE_ROWS))
        }
        None => match output.tensor.shape.first() {
            Some(&d) => d < 0 || (d == 1 && max_batch == Some(1)),
            None => false,
        },
    }
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

/// What a synthetic run puts in the inputs: numbers (zero or one; `false` and empty strings
/// either way, or for inputs that feed a categorical encoder, a category it knows), and the
/// size of every dynamic dimension past the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fill {
    ones: bool,
    other_dimensions: usize,
}

/// The synthetic inputs a warm-up tries, in order, until one runs. Zeros in dimensions of 1
/// suit most graphs; an integer division by an input needs ones, and a convolution over
/// dynamic height and width needs room for its kernels and strides (64 takes five halvings).
const FILLS: [Fill; 4] = [
    Fill {
        ones: false,
        other_dimensions: 1,
    },
    Fill {
        ones: true,
        other_dimensions: 1,
    },
    Fill {
        ones: false,
        other_dimensions: 64,
    },
    Fill {
        ones: true,
        other_dimensions: 64,
    },
];

/// The warm-up: one run on a synthetic batch of one row, with the first of [`FILLS`] that
/// the graph runs on. When none does, the reason the first one failed (the others usually
/// fail the same way).
fn warm_up_any(
    pool: &SessionPool,
    inputs: &[TensorSpec],
    facts: &GraphFacts,
) -> Result<(Vec<(String, Output)>, Fill), String> {
    let mut first_failure = None;
    for fill in FILLS {
        match warm_up(pool, inputs, facts, 1, fill) {
            Ok(outputs) => return Ok((outputs, fill)),
            Err(reason) => {
                first_failure.get_or_insert(reason);
            }
        }
    }
    let reason = first_failure.unwrap_or_default();
    Err(format!(
        "{reason} (synthetic inputs of zeros and of ones, with dynamic dimensions past the \
         first of 1 and of 64, all failed)"
    ))
}

/// Whether some input's shape is not fully known before a request: it takes any rank, or a
/// dimension past the first is dynamic.
fn shapes_left_to_the_client(signature: &ModelSignature) -> bool {
    !signature.any_rank.is_empty()
        || signature
            .inputs
            .iter()
            .any(|i| i.shape.iter().skip(1).any(|&d| d < 0))
}

/// The ranks tried, in order, for inputs that take any rank: a scalar first (what such an
/// input was served as before anything was known), then vectors and matrices.
const ANY_RANKS: [usize; 4] = [0, 1, 2, 3];

/// [`warm_up_any`], with the inputs that take any rank given each of [`ANY_RANKS`] in turn
/// (all the same rank) until one runs; their dimensions are dynamic. The first failure is the
/// reason when none runs.
fn warm_up_ranks(
    pool: &SessionPool,
    signature: &ModelSignature,
    facts: &GraphFacts,
) -> Result<(Vec<(String, Output)>, Fill), String> {
    let ranks: &[usize] = match signature.any_rank.is_empty() {
        true => &ANY_RANKS[..1],
        false => &ANY_RANKS,
    };
    let mut first_failure = None;
    for &rank in ranks {
        let inputs: Vec<TensorSpec> = signature
            .inputs
            .iter()
            .map(|spec| match signature.takes_any_rank(&spec.name) {
                true => TensorSpec {
                    shape: vec![-1; rank],
                    ..spec.clone()
                },
                false => spec.clone(),
            })
            .collect();
        match warm_up_any(pool, &inputs, facts) {
            Ok(warm) => return Ok(warm),
            Err(reason) => {
                first_failure.get_or_insert(reason);
            }
        }
    }
    Err(first_failure.unwrap_or_default())
}

/// Rows of the second synthetic run that checks a graph can be batched.
const PROBE_ROWS: usize = 3;

/// Runs the graph once on synthetic inputs with `rows` rows.
fn warm_up(
    pool: &SessionPool,
    inputs: &[TensorSpec],
    facts: &GraphFacts,
    rows: usize,
    fill: Fill,
) -> Result<Vec<(String, Output)>, String> {
    let tensors = inputs
        .iter()
        .map(|spec| synthetic(spec, facts, rows, fill))
        .collect::<Result<Vec<_>, _>>()?;
    let mut session = pool.checkout();
    runtime::run(&mut session, &tensors, None).map_err(|e| e.to_string())
}

/// What the graph's protobuf tells the synthetic runs, by input name: a value an encoder
/// downstream knows, and the sizes constant weights need of some axes.
struct GraphFacts {
    known: HashMap<String, KnownValue>,
    sizes: HashMap<String, Vec<SizeHint>>,
}

impl GraphFacts {
    /// The size axis `axis` of an input of rank `rank` must have, when the graph says.
    fn size(&self, input: &str, axis: usize, rank: usize) -> Option<usize> {
        self.sizes.get(input)?.iter().find_map(|hint| {
            let applies = match hint.axis {
                Axis::At(at) => at == axis,
                Axis::Last => axis + 1 == rank,
            };
            applies.then_some(hint.size)
        })
    }
}

fn synthetic(
    spec: &TensorSpec,
    facts: &GraphFacts,
    rows: usize,
    fill: Fill,
) -> Result<Tensor, String> {
    let rank = spec.shape.len();
    let shape: Vec<usize> = spec
        .shape
        .iter()
        .enumerate()
        .map(|(i, &d)| match (i, d) {
            (0, d) if d < 0 => rows,
            (_, d) if d < 0 => facts
                .size(&spec.name, i, rank)
                .unwrap_or(fill.other_dimensions),
            (_, d) => d as usize,
        })
        .collect();
    let n: usize = shape.iter().product();
    let data = match (spec.datatype, facts.known.get(&spec.name)) {
        (DataType::Bytes, Some(KnownValue::String(s))) => {
            TensorData::Bytes(vec![s.as_bytes().to_vec(); n])
        }
        (DataType::Int64, Some(KnownValue::Int(i))) => TensorData::I64(vec![*i; n]),
        (DataType::Int32, Some(KnownValue::Int(i))) => {
            TensorData::I32(vec![i32::try_from(*i).unwrap_or(0); n])
        }
        _ if fill.ones => ones(spec.datatype, n),
        _ => zeros(spec.datatype, n),
    };
    Tensor::new(spec.name.clone(), shape, data).map_err(|e| e.to_string())
}

/// Ones of `datatype` (`false` and empty strings where there is no one).
fn ones(datatype: DataType, n: usize) -> TensorData {
    match datatype {
        DataType::Uint8 => TensorData::U8(vec![1; n]),
        DataType::Uint16 => TensorData::U16(vec![1; n]),
        DataType::Uint32 => TensorData::U32(vec![1; n]),
        DataType::Uint64 => TensorData::U64(vec![1; n]),
        DataType::Int8 => TensorData::I8(vec![1; n]),
        DataType::Int16 => TensorData::I16(vec![1; n]),
        DataType::Int32 => TensorData::I32(vec![1; n]),
        DataType::Int64 => TensorData::I64(vec![1; n]),
        // 1.0 in IEEE half precision and in bfloat16, as raw bits.
        DataType::Fp16 => TensorData::F16(vec![0x3C00; n]),
        DataType::Bf16 => TensorData::BF16(vec![0x3F80; n]),
        DataType::Fp32 => TensorData::F32(vec![1.0; n]),
        DataType::Fp64 => TensorData::F64(vec![1.0; n]),
        DataType::Bool | DataType::Bytes => zeros(datatype, n),
    }
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

    fn output(shape: &[i64]) -> OutputSpec {
        OutputSpec {
            tensor: spec("y", shape),
            classes: None,
            zipmap: false,
            rows: false,
        }
    }

    fn signature(input: &[i64], output_shape: &[i64], rows: bool) -> ModelSignature {
        ModelSignature {
            inputs: vec![spec("x", input)],
            outputs: vec![OutputSpec {
                rows,
                ..output(output_shape)
            }],
            max_batch: (input.first() == Some(&1)).then_some(1),
            any_rank: HashSet::new(),
        }
    }

    #[test]
    fn only_graphs_batched_by_rows_on_both_sides_are_coalesced() {
        assert!(batches_by_rows(&signature(&[-1, 4], &[-1], true)));
        assert!(
            !batches_by_rows(&signature(&[1, 4], &[1], true)),
            "fixed batch"
        );
        assert!(
            !batches_by_rows(&signature(&[-1, 4], &[-1], false)),
            "output seen not to follow the rows"
        );
        assert!(
            !batches_by_rows(&signature(&[-1, 4], &[3], false)),
            "fixed output"
        );
        assert!(
            !batches_by_rows(&signature(&[-1, 4], &[], false)),
            "scalar output"
        );
    }

    #[test]
    fn an_output_holds_the_rows_when_it_follows_them_in_both_runs() {
        let runs = |warm: Option<usize>, probe: Option<usize>| {
            (
                HashMap::from([("y".to_string(), warm)]),
                HashMap::from([("y".to_string(), probe)]),
            )
        };
        let (warm, probe) = runs(Some(1), Some(PROBE_ROWS));
        assert!(output_holds_rows(&output(&[-1]), &warm, Some(&probe), None));
        // Sized by the data: one distinct value however many alike rows.
        let (warm, probe) = runs(Some(1), Some(1));
        assert!(!output_holds_rows(
            &output(&[-1]),
            &warm,
            Some(&probe),
            None
        ));
        let (warm, probe) = runs(None, None);
        assert!(!output_holds_rows(&output(&[]), &warm, Some(&probe), None));
        // No probe: the declared shape.
        let warm = HashMap::new();
        assert!(output_holds_rows(&output(&[-1, 2]), &warm, None, None));
        assert!(output_holds_rows(&output(&[1, 2]), &warm, None, Some(1)));
        assert!(!output_holds_rows(&output(&[3]), &warm, None, None));
        assert!(!output_holds_rows(&output(&[]), &warm, None, None));
    }
}
