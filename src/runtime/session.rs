//! Opening ONNX Runtime sessions and reading a graph's signature.

use std::path::Path;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{TensorElementType, ValueType};

use super::library::{RuntimeLibraryError, environment};
use crate::contract::{DataType, TensorSpec};

/// How sessions are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Threads ONNX Runtime may use inside one operator (1 = run on the calling thread).
    pub intra_threads: usize,
    /// ONNX Runtime's CPU memory arena: faster allocation for large tensors, but the memory it
    /// grabbed stays with the session and is returned only when the session is dropped.
    pub cpu_arena: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            intra_threads: 1,
            cpu_arena: true,
        }
    }
}

/// Why a session could not be opened or described.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Library(#[from] RuntimeLibraryError),
    #[error("ONNX Runtime refused {what}: {reason}")]
    Refused { what: String, reason: String },
    #[error("{name}: {reason}")]
    UnsupportedValue { name: String, reason: String },
}

/// Opens a session on the model file at `path`.
pub fn open_session(path: &Path, options: SessionOptions) -> Result<Session, SessionError> {
    let env = environment()?;
    let refused = |e: ort::Error| SessionError::Refused {
        what: path.display().to_string(),
        reason: e.to_string(),
    };
    Session::builder(env)
        .map_err(refused)?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| refused(e.into()))?
        .with_intra_threads(options.intra_threads)
        .map_err(|e| refused(e.into()))?
        .with_inter_threads(1)
        .map_err(|e| refused(e.into()))?
        .with_execution_providers([ort::ep::CPU::default()
            .with_arena_allocator(options.cpu_arena)
            .build()])
        .map_err(|e| refused(e.into()))?
        .commit_from_file(path)
        .map_err(refused)
}

/// The graph's inputs and outputs as tensor specs, -1 for dynamic dimensions. Outputs that are
/// not tensors (e.g. skl2onnx's ZipMap sequences) are returned separately with a description.
pub fn graph_signature(session: &Session) -> Result<GraphSignature, SessionError> {
    let inputs = session
        .inputs()
        .iter()
        .map(|o| tensor_spec(o.name(), o.dtype()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut outputs = Vec::new();
    let mut other_outputs = Vec::new();
    for outlet in session.outputs() {
        match tensor_spec(outlet.name(), outlet.dtype()) {
            Ok(spec) => outputs.push(spec),
            Err(_) => {
                other_outputs.push((outlet.name().to_string(), format!("{:?}", outlet.dtype())))
            }
        }
    }
    Ok(GraphSignature {
        inputs,
        outputs,
        other_outputs,
    })
}

/// What a graph takes and gives.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphSignature {
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
    /// Outputs that are not plain tensors: (name, type description).
    pub other_outputs: Vec<(String, String)>,
}

fn tensor_spec(name: &str, value: &ValueType) -> Result<TensorSpec, SessionError> {
    let unsupported = |reason: String| SessionError::UnsupportedValue {
        name: name.to_string(),
        reason,
    };
    match value {
        ValueType::Tensor { ty, shape, .. } => Ok(TensorSpec {
            name: name.to_string(),
            datatype: datatype_of(*ty)
                .ok_or_else(|| unsupported(format!("element type {ty:?}")))?,
            shape: shape.iter().copied().collect(),
        }),
        other => Err(unsupported(format!("not a tensor: {other:?}"))),
    }
}

/// The protocol datatype of an ONNX element type; `None` for types no protocol carries.
pub fn datatype_of(ty: TensorElementType) -> Option<DataType> {
    Some(match ty {
        TensorElementType::Bool => DataType::Bool,
        TensorElementType::Uint8 => DataType::Uint8,
        TensorElementType::Uint16 => DataType::Uint16,
        TensorElementType::Uint32 => DataType::Uint32,
        TensorElementType::Uint64 => DataType::Uint64,
        TensorElementType::Int8 => DataType::Int8,
        TensorElementType::Int16 => DataType::Int16,
        TensorElementType::Int32 => DataType::Int32,
        TensorElementType::Int64 => DataType::Int64,
        TensorElementType::Float16 => DataType::Fp16,
        TensorElementType::Bfloat16 => DataType::Bf16,
        TensorElementType::Float32 => DataType::Fp32,
        TensorElementType::Float64 => DataType::Fp64,
        TensorElementType::String => DataType::Bytes,
        _ => return None,
    })
}
