//! One graph execution: wire tensors in, outputs out.

use ort::session::{Session, SessionInputValue};

use super::convert::{ConvertError, Output, input_value, output};

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// ONNX Runtime refused the inputs (its `INVALID_ARGUMENT`: shapes the graph does not
    /// take), or a node failed on them (shapes that do not broadcast, an index out of range).
    /// The graph ran at load on synthetic inputs, so what fails now is these inputs: the
    /// message is for the client.
    #[error("ONNX Runtime cannot run the graph on these inputs: {0}")]
    Refused(String),
    /// ONNX Runtime failed while running.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
}

/// How ONNX Runtime's message starts when a node's kernel failed on its inputs.
const NODE_FAILED: &str = "Non-zero status code returned while running";

/// Runs `session` on `inputs` and returns the outputs in graph order, restricted to `wanted`
/// when given.
pub fn run(
    session: &mut Session,
    inputs: &[crate::tensor::Tensor],
    wanted: Option<&[String]>,
) -> Result<Vec<(String, Output)>, RunError> {
    let values = inputs
        .iter()
        .map(|t| Ok((t.name().to_string(), input_value(t)?)))
        .collect::<Result<Vec<(String, SessionInputValue<'_>)>, ConvertError>>()?;
    let names: Vec<String> = session
        .outputs()
        .iter()
        .map(|o| o.name().to_string())
        .collect();
    let outputs = session.run(values).map_err(|e| {
        let node_failed = e.message().starts_with(NODE_FAILED);
        match e.code() {
            ort::ErrorCode::InvalidArgument => RunError::Refused(e.message().to_string()),
            ort::ErrorCode::GenericFailure if node_failed => {
                RunError::Refused(e.message().to_string())
            }
            _ => RunError::Runtime(e.to_string()),
        }
    })?;
    names
        .into_iter()
        .filter(|n| wanted.is_none_or(|w| w.iter().any(|x| x == n)))
        .filter_map(|n| {
            outputs
                .get(&n)
                .map(|v| output(&n, v).map(|o| (n.clone(), o)))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(RunError::from)
}
