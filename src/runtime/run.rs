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
    /// The graph ran at load on synthetic inputs (but for the few served unwarmed, whose
    /// shapes no synthetic input fitted: loader.rs), so what fails now is these inputs: the
    /// message is for the client.
    #[error("ONNX Runtime cannot run the graph on these inputs: {0}")]
    Refused(String),
    /// ONNX Runtime failed while running.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
}

/// How ONNX Runtime's message starts when a node's kernel failed on its inputs.
const NODE_FAILED: &str = "Non-zero status code returned while running";

/// ONNX Runtime's message without the C++ source location and function that raised it
/// (`/onnxruntime_src/…/bfc_arena.cc:360 void* onnxruntime::BFCArena::Alloc…(size_t, …) Failed
/// to allocate …`): the reason is the client's, the build's file names and signatures are not.
fn for_clients(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("/onnxruntime_src/") {
        out.push_str(&rest[..start]);
        let located = &rest[start..];
        let Some(space) = located.find(' ') else {
            return out.trim_end().to_string();
        };
        rest = without_signature(&located[space + 1..]);
    }
    out.push_str(rest);
    out
}

/// `text` past a leading C++ function signature (a declaration naming `onnxruntime::` before
/// its parameter list), or `text` itself when it does not start with one.
fn without_signature(text: &str) -> &str {
    let Some(open) = text.find('(') else {
        return text;
    };
    if !text[..open].contains("onnxruntime::") {
        return text;
    }
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    let after = &text[open + i + 1..];
                    return after.strip_prefix(" const").unwrap_or(after).trim_start();
                }
            }
            _ => {}
        }
    }
    text
}

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
            ort::ErrorCode::InvalidArgument => RunError::Refused(for_clients(e.message())),
            ort::ErrorCode::GenericFailure if node_failed => {
                RunError::Refused(for_clients(e.message()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_locations_and_signatures_are_left_out_of_client_messages() {
        let arena = "Non-zero status code returned while running Expand node. Name:'e' Status \
             Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:360 void* \
             onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, \
             bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested \
             buffer of size 400000000000";
        assert_eq!(
            for_clients(arena),
            "Non-zero status code returned while running Expand node. Name:'e' Status \
             Message: Failed to allocate memory for requested buffer of size 400000000000"
        );
        let plain = "Got invalid dimensions for input: x for the following indices index: 1 Got: 3 Expected: 4";
        assert_eq!(for_clients(plain), plain);
        let short = "Status Message: matmul_helper.h:59 Compute MatMul dimension mismatch";
        assert_eq!(for_clients(short), short);
        let no_signature = "a /onnxruntime_src/x.cc:1 left operand cannot broadcast";
        assert_eq!(for_clients(no_signature), "a left operand cannot broadcast");
    }
}
