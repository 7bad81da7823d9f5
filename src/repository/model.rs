//! A loaded model version: its sessions, signature and metadata.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::contract::{DataType, ModelConfig, ModelMetadata, TensorSpec};
use crate::events::Events;
use crate::inference::batch::{BatchPolicy, Batcher};
use crate::inference::inline::InlineRuns;
use crate::inference::stats::ModelStats;
use crate::runtime::SessionPool;
use crate::tensor::Tensor;

/// One version of one model, ready to serve.
pub struct LoadedModel {
    pub name: String,
    pub version: u64,
    /// `metadata.json`, when the model has one (our models do; external ones need not).
    pub metadata: Option<ModelMetadata>,
    /// `<name>/config.json`, or the defaults.
    pub config: ModelConfig,
    /// Where this model reports its inferences.
    pub events: Events,
    pub signature: ModelSignature,
    pub pool: SessionPool,
    /// One permit per session: a request holds one while its run is queued or running, so
    /// no more runs wait on blocking threads than there are sessions to run them.
    pub permits: std::sync::Arc<tokio::sync::Semaphore>,
    /// Dynamic batching of this version: the server's flags with `config.json` applied, off
    /// for graphs whose batch dimension is fixed.
    pub batching: BatchPolicy,
    /// The batching queue, started with the first request (it needs the async runtime).
    pub(crate) batcher: OnceLock<Batcher>,
    /// Which runs are short enough to stay on the worker that took the request.
    pub inline: InlineRuns,
    /// Totals for Triton's statistics extension.
    pub stats: ModelStats,
    /// Whether a synthetic input ran at load. A graph whose inputs' sizes this server could
    /// not guess is served without one: its first request pays ONNX Runtime's first-run cost.
    pub warmed: bool,
}

/// What the graph takes and gives, as clients see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSignature {
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<OutputSpec>,
    /// The largest batch one run accepts: `None` when the batch dimension is dynamic, `Some(1)`
    /// for graphs exported with a fixed batch of one (requests are then run row by row).
    pub max_batch: Option<usize>,
    /// Inputs the graph declares without a shape: they take a tensor of any rank (their
    /// `shape` is empty, as a scalar's would be).
    pub any_rank: HashSet<String>,
}

impl ModelSignature {
    /// Whether input `name` takes a tensor of any rank.
    pub fn takes_any_rank(&self, name: &str) -> bool {
        self.any_rank.contains(name)
    }
}

/// A graph output as served.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSpec {
    pub tensor: TensorSpec,
    /// Class names of a probability table: ZipMap keys, or the metadata's class labels.
    pub classes: Option<Vec<String>>,
    /// The graph returns a sequence of maps (skl2onnx's ZipMap), served as an FP32
    /// `[N, classes]` table in the class order of `classes`.
    pub zipmap: bool,
    /// The output holds one row per input row along its first dimension, as seen when the
    /// graph was run at load (loader.rs): a record's answer is its row. Otherwise (a scalar,
    /// a constant, a size computed from the data) the output belongs to the request as a
    /// whole and each record's answer shows all of it.
    pub rows: bool,
}

impl LoadedModel {
    pub fn input(&self, name: &str) -> Option<&TensorSpec> {
        self.signature.inputs.iter().find(|i| i.name == name)
    }

    pub fn output(&self, name: &str) -> Option<&OutputSpec> {
        self.signature
            .outputs
            .iter()
            .find(|o| o.tensor.name == name)
    }

    /// The batching queue, when this version batches.
    pub fn batcher(&self) -> Option<&Batcher> {
        self.batching
            .enabled
            .then(|| self.batcher.get_or_init(|| Batcher::start(self.batching)))
    }

    /// Whether a NaN or infinite value may be sent to this model: only when its
    /// `config.json` says it handles them.
    pub fn accepts_non_finite(&self) -> bool {
        self.config.allow_non_finite
    }

    /// Whether the input's first dimension is the records' (dynamic, or a fixed batch of one).
    pub fn input_holds_rows(&self, spec: &TensorSpec) -> bool {
        match spec.shape.first() {
            Some(&d) => d < 0 || (d == 1 && self.signature.max_batch == Some(1)),
            None => false,
        }
    }

    /// Whether every input and output holds the records along its first dimension: a request
    /// can then be cut into records by that dimension alone (the audit trail's compact forms).
    pub fn rows_everywhere(&self) -> bool {
        self.signature
            .inputs
            .iter()
            .all(|i| self.input_holds_rows(i))
            && self.signature.outputs.iter().all(|o| o.rows)
    }

    /// Whether output `tensor` of a request of `rows` records holds one row per record: the
    /// graph gives this output by rows, and it has `rows` of them.
    pub fn output_has_rows(&self, tensor: &Tensor, rows: usize) -> bool {
        self.output(tensor.name()).is_none_or(|o| o.rows) && tensor.shape().first() == Some(&rows)
    }

    /// [`LoadedModel::output_has_rows`] for an input.
    pub fn input_has_rows(&self, tensor: &Tensor, rows: usize) -> bool {
        self.input(tensor.name())
            .is_none_or(|i| self.input_holds_rows(i))
            && tensor.shape().first() == Some(&rows)
    }

    /// The output holding per-class probabilities, if any.
    pub fn probability_output(&self) -> Option<&OutputSpec> {
        self.signature
            .outputs
            .iter()
            .find(|o| o.classes.is_some() && o.tensor.datatype == DataType::Fp32)
    }
}
