//! Checking a request's tensors against the model's inputs before anything runs.

use crate::contract::DataType;
use crate::repository::LoadedModel;
use crate::tensor::{Tensor, TensorData};

use super::InferError;

/// Checks names, datatypes, ranks, fixed dimensions, a common batch size and (for models
/// that do not accept them) finite values. Returns the batch size.
pub fn check_inputs(model: &LoadedModel, inputs: &[Tensor]) -> Result<usize, InferError> {
    let invalid = |m: String| Err(InferError::Invalid(m));
    for tensor in inputs {
        if model.input(tensor.name()).is_none() {
            let expected: Vec<&str> = model
                .signature
                .inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect();
            return invalid(format!(
                "unknown input `{}` (the model takes: {})",
                tensor.name(),
                expected.join(", ")
            ));
        }
        if inputs.iter().filter(|t| t.name() == tensor.name()).count() > 1 {
            return invalid(format!("input `{}` is given more than once", tensor.name()));
        }
    }
    let mut batch: Option<usize> = None;
    for spec in &model.signature.inputs {
        let Some(tensor) = inputs.iter().find(|t| t.name() == spec.name) else {
            return invalid(format!(
                "missing input `{}` ({} {:?})",
                spec.name, spec.datatype, spec.shape
            ));
        };
        if tensor.datatype() != spec.datatype {
            return invalid(format!(
                "input `{}` has datatype {}, the model expects {}",
                spec.name,
                tensor.datatype(),
                spec.datatype
            ));
        }
        let shape = tensor.shape();
        if shape.len() != spec.shape.len() {
            return invalid(format!(
                "input `{}` has shape {:?}, the model expects {:?} (-1: any size)",
                spec.name, shape, spec.shape
            ));
        }
        for (dim, (&got, &want)) in shape.iter().zip(&spec.shape).enumerate() {
            // A fixed batch dimension is served by running the rows in chunks.
            let fixed_batch = dim == 0 && model.signature.max_batch.is_some();
            if want >= 0 && got as i64 != want && !fixed_batch {
                return invalid(format!(
                    "input `{}` dimension {dim} is {got}, the model expects {want}",
                    spec.name
                ));
            }
        }
        if let Some(&rows) = shape.first() {
            match batch {
                Some(b) if b != rows => {
                    return invalid(format!(
                        "input `{}` has {rows} rows, other inputs have {b}",
                        spec.name
                    ));
                }
                _ => batch = Some(rows),
            }
        }
        if !model.accepts_non_finite() {
            check_finite(tensor)?;
        }
    }
    if spec_is_batched(model) && batch == Some(0) {
        return invalid("the request has no rows".to_string());
    }
    Ok(batch.unwrap_or(1))
}

fn spec_is_batched(model: &LoadedModel) -> bool {
    model.signature.inputs.iter().all(|i| !i.shape.is_empty())
}

fn check_finite(tensor: &Tensor) -> Result<(), InferError> {
    let bad = match tensor.data() {
        TensorData::F32(v) => v.iter().position(|x| !x.is_finite()),
        TensorData::F64(v) => v.iter().position(|x| !x.is_finite()),
        _ => None,
    };
    match bad {
        Some(index) => Err(InferError::NonFinite(format!(
            "input `{}` element {index} is NaN or infinite, which this model does not accept",
            tensor.name()
        ))),
        None => Ok(()),
    }
}

/// The element type a JSON value must have for `datatype`, for messages.
pub fn expected_json(datatype: DataType) -> &'static str {
    match datatype {
        DataType::Bool => "true or false",
        DataType::Bytes => "a string",
        DataType::Fp16 | DataType::Bf16 | DataType::Fp32 | DataType::Fp64 => "a number",
        _ => "an integer",
    }
}
