//! Checking a request's tensors against the model's inputs before anything runs.

use crate::contract::DataType;
use crate::repository::LoadedModel;
use crate::tensor::{Tensor, TensorData};

use super::InferError;

/// Checks names, datatypes, ranks, fixed dimensions, a common batch size (for graphs that
/// batch) and (for models that do not accept them) finite values. Returns the batch size: the
/// first input's first dimension.
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
    let aligned = model.rows_everywhere();
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
        // An input the graph declares without a shape takes any; its dimensions say nothing
        // about the records either.
        if model.signature.takes_any_rank(&spec.name) {
            check_values(model, tensor)?;
            continue;
        }
        if shape.len() != spec.shape.len() {
            return invalid(format!(
                "input `{}` has shape {:?}, the model expects {:?} (-1: any size)",
                spec.name, shape, spec.shape
            ));
        }
        for (dim, (&got, &want)) in shape.iter().zip(&spec.shape).enumerate() {
            // A graph exported with a fixed batch of one is served by running the rows one
            // at a time; any other fixed dimension, the first included, must match.
            let fixed_batch = dim == 0 && model.signature.max_batch.is_some();
            if want >= 0 && got as i64 != want && !fixed_batch {
                return invalid(format!(
                    "input `{}` dimension {dim} is {got}, the model expects {want}",
                    spec.name
                ));
            }
        }
        // The records are along the first dimension of the first input. A graph whose every
        // input and output holds them needs every input to have as many; another may take
        // inputs that do not (a weight vector beside the rows, two lists of other lengths).
        if let Some(&rows) = shape.first() {
            match batch {
                Some(b) if b != rows && aligned => {
                    return invalid(format!(
                        "input `{}` has {rows} rows, other inputs have {b}",
                        spec.name
                    ));
                }
                Some(_) => {}
                None => batch = Some(rows),
            }
        }
        check_values(model, tensor)?;
    }
    // An empty batch of a graph that batches by rows has nothing to run; a graph whose
    // dimensions are not rows may take a tensor with a zero in its shape.
    if aligned && batch == Some(0) {
        return invalid("the request has no rows".to_string());
    }
    Ok(batch.unwrap_or(1))
}

/// The elements' own checks: finite numbers (unless the model accepts others), strings ONNX
/// can hold.
fn check_values(model: &LoadedModel, tensor: &Tensor) -> Result<(), InferError> {
    if !model.accepts_non_finite() {
        check_finite(tensor)?;
    }
    check_strings(tensor)
}

fn check_finite(tensor: &Tensor) -> Result<(), InferError> {
    let bad = match tensor.data() {
        TensorData::F32(v) => v.iter().position(|x| !x.is_finite()),
        TensorData::F64(v) => v.iter().position(|x| !x.is_finite()),
        // Raw bits: NaN and the infinities have every exponent bit set.
        TensorData::F16(v) => v.iter().position(|&x| x & 0x7C00 == 0x7C00),
        TensorData::BF16(v) => v.iter().position(|&x| x & 0x7F80 == 0x7F80),
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

/// ONNX string tensors hold UTF-8 text, which ONNX Runtime hands to its kernels as C strings:
/// bytes that are not UTF-8, or a NUL character, are the client's input to fix, refused
/// here rather than failing as a conversion inside the runtime.
fn check_strings(tensor: &Tensor) -> Result<(), InferError> {
    let TensorData::Bytes(elements) = tensor.data() else {
        return Ok(());
    };
    for (index, element) in elements.iter().enumerate() {
        let fault = if element.contains(&0) {
            "contains a NUL character"
        } else if std::str::from_utf8(element).is_err() {
            "is not valid UTF-8"
        } else {
            continue;
        };
        return Err(InferError::Invalid(format!(
            "input `{}` element {index} {fault}, which ONNX string tensors cannot hold",
            tensor.name()
        )));
    }
    Ok(())
}

/// The element type a JSON value must have for `datatype`, for messages.
pub fn expected_json(datatype: DataType) -> &'static str {
    match datatype {
        DataType::Bool => "true or false",
        DataType::Bytes => "a string (or TF-Serving's {\"b64\": \"…\"})",
        DataType::Fp16 | DataType::Bf16 | DataType::Fp32 | DataType::Fp64 => "a number",
        _ => "an integer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(data: TensorData) -> Tensor {
        let n = data.len();
        Tensor::new("x", vec![n], data).expect("tensor")
    }

    #[test]
    fn half_precision_nan_and_infinity_are_refused_like_fp32() {
        // 1.0, then +inf / NaN in FP16 (0x3C00, 0x7C00, 0x7E00) and BF16 (0x3F80, 0x7F80, 0x7FC0).
        assert!(check_finite(&tensor(TensorData::F16(vec![0x3C00, 0xFBFF]))).is_ok());
        for bad in [0x7C00, 0xFC00, 0x7E00] {
            let error = check_finite(&tensor(TensorData::F16(vec![0x3C00, bad])));
            assert!(matches!(error, Err(InferError::NonFinite(m)) if m.contains("element 1")));
        }
        assert!(check_finite(&tensor(TensorData::BF16(vec![0x3F80, 0xFF7F]))).is_ok());
        for bad in [0x7F80, 0xFF80, 0x7FC0] {
            let error = check_finite(&tensor(TensorData::BF16(vec![bad])));
            assert!(matches!(error, Err(InferError::NonFinite(_))));
        }
    }

    #[test]
    fn a_string_holding_nul_or_not_utf8_is_the_clients_error() {
        let ok = tensor(TensorData::Bytes(vec![b"red".to_vec(), Vec::new()]));
        assert!(check_strings(&ok).is_ok());
        let bad = tensor(TensorData::Bytes(vec![b"red".to_vec(), b"y\0".to_vec()]));
        let error = check_strings(&bad);
        assert!(
            matches!(error, Err(InferError::Invalid(m)) if m.contains("element 1") && m.contains("NUL"))
        );
        let latin1 = tensor(TensorData::Bytes(vec![b"caf\xe9".to_vec()]));
        let error = check_strings(&latin1);
        assert!(
            matches!(error, Err(InferError::Invalid(m)) if m.contains("element 0") && m.contains("UTF-8"))
        );
    }
}
