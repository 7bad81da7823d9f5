//! Conversions between wire tensors ([`Tensor`]) and ONNX Runtime values.
//!
//! Inputs borrow the request's buffers wherever ONNX Runtime allows it (every numeric type);
//! strings are always copied by ONNX Runtime. Outputs are copied once into wire tensors.

use ort::session::SessionInputValue;
use ort::value::{
    DynMapValueType, DynValue, Tensor as OrtTensor, TensorElementType, TensorRef, ValueType,
};

use crate::tensor::{Tensor, TensorData};

use super::session::datatype_of;

/// Why a value could not cross between the wire and ONNX Runtime.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(
        "input `{input}`: element {index} is not valid UTF-8, which ONNX string tensors require"
    )]
    NotUtf8 { input: String, index: usize },
    #[error("output `{output}` has a type this server cannot return: {kind}")]
    UnsupportedOutput { output: String, kind: String },
    #[error("ONNX Runtime could not build or read `{name}`: {reason}")]
    Runtime { name: String, reason: String },
}

fn runtime(name: &str) -> impl Fn(ort::Error) -> ConvertError + '_ {
    move |e| ConvertError::Runtime {
        name: name.to_string(),
        reason: e.to_string(),
    }
}

/// A session input borrowing `tensor`'s elements (strings are copied).
pub fn input_value<'t>(tensor: &'t Tensor) -> Result<SessionInputValue<'t>, ConvertError> {
    let shape: Vec<i64> = tensor.shape().iter().map(|&d| d as i64).collect();
    let err = runtime(tensor.name());
    macro_rules! borrowed {
        ($v:expr) => {
            TensorRef::from_array_view((shape, &$v[..]))
                .map_err(&err)?
                .into()
        };
    }
    Ok(match tensor.data() {
        TensorData::Bool(v) => borrowed!(v),
        TensorData::U8(v) => borrowed!(v),
        TensorData::U16(v) => borrowed!(v),
        TensorData::U32(v) => borrowed!(v),
        TensorData::U64(v) => borrowed!(v),
        TensorData::I8(v) => borrowed!(v),
        TensorData::I16(v) => borrowed!(v),
        TensorData::I32(v) => borrowed!(v),
        TensorData::I64(v) => borrowed!(v),
        TensorData::F32(v) => borrowed!(v),
        TensorData::F64(v) => borrowed!(v),
        TensorData::F16(bits) => {
            let v: Vec<half::f16> = bits.iter().map(|&b| half::f16::from_bits(b)).collect();
            OrtTensor::from_array((shape, v)).map_err(&err)?.into()
        }
        TensorData::BF16(bits) => {
            let v: Vec<half::bf16> = bits.iter().map(|&b| half::bf16::from_bits(b)).collect();
            OrtTensor::from_array((shape, v)).map_err(&err)?.into()
        }
        TensorData::Bytes(items) => {
            let strings = items
                .iter()
                .enumerate()
                .map(|(index, b)| {
                    std::str::from_utf8(b)
                        .map(str::to_owned)
                        .map_err(|_| ConvertError::NotUtf8 {
                            input: tensor.name().to_string(),
                            index,
                        })
                })
                .collect::<Result<Vec<String>, _>>()?;
            OrtTensor::from_string_array((shape, &strings[..]))
                .map_err(&err)?
                .into()
        }
    })
}

/// An output of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Tensor(Tensor),
    /// A sequence of maps class → probability (skl2onnx's ZipMap), one map per row, turned
    /// into an FP32 `[rows, classes]` tensor with the classes in the first row's key order.
    ClassProbabilities {
        table: Tensor,
        classes: Vec<String>,
    },
}

impl Output {
    pub fn tensor(&self) -> &Tensor {
        match self {
            Output::Tensor(t) | Output::ClassProbabilities { table: t, .. } => t,
        }
    }
}

/// Copies an ONNX Runtime output into an [`Output`].
pub fn output(name: &str, value: &DynValue) -> Result<Output, ConvertError> {
    let err = runtime(name);
    match value.dtype() {
        ValueType::Tensor { ty, .. } => {
            let ty = *ty;
            let unsupported = || ConvertError::UnsupportedOutput {
                output: name.to_string(),
                kind: format!("{ty:?} tensor"),
            };
            datatype_of(ty).ok_or_else(unsupported)?;
            tensor_output(name, value, ty).map(Output::Tensor)
        }
        ValueType::Sequence(inner) if matches!(**inner, ValueType::Map { .. }) => {
            zipmap(name, value)
        }
        other => Err(ConvertError::UnsupportedOutput {
            output: name.to_string(),
            kind: other.to_string(),
        }),
    }
    .map_err(|e| match e {
        ConvertError::Runtime { reason, .. } => err(ort::Error::new(reason)),
        other => other,
    })
}

fn tensor_output(
    name: &str,
    value: &DynValue,
    ty: TensorElementType,
) -> Result<Tensor, ConvertError> {
    let err = runtime(name);
    macro_rules! copied {
        ($t:ty, $variant:ident) => {{
            let (shape, data) = value.try_extract_tensor::<$t>().map_err(&err)?;
            (shape.to_vec(), TensorData::$variant(data.to_vec()))
        }};
    }
    let (shape, data): (Vec<i64>, TensorData) = match ty {
        TensorElementType::Bool => copied!(bool, Bool),
        TensorElementType::Uint8 => copied!(u8, U8),
        TensorElementType::Uint16 => copied!(u16, U16),
        TensorElementType::Uint32 => copied!(u32, U32),
        TensorElementType::Uint64 => copied!(u64, U64),
        TensorElementType::Int8 => copied!(i8, I8),
        TensorElementType::Int16 => copied!(i16, I16),
        TensorElementType::Int32 => copied!(i32, I32),
        TensorElementType::Int64 => copied!(i64, I64),
        TensorElementType::Float32 => copied!(f32, F32),
        TensorElementType::Float64 => copied!(f64, F64),
        TensorElementType::Float16 => {
            let (shape, data) = value.try_extract_tensor::<half::f16>().map_err(&err)?;
            (
                shape.to_vec(),
                TensorData::F16(data.iter().map(|v| v.to_bits()).collect()),
            )
        }
        TensorElementType::Bfloat16 => {
            let (shape, data) = value.try_extract_tensor::<half::bf16>().map_err(&err)?;
            (
                shape.to_vec(),
                TensorData::BF16(data.iter().map(|v| v.to_bits()).collect()),
            )
        }
        TensorElementType::String => {
            let (shape, strings) = value.try_extract_strings().map_err(&err)?;
            (
                shape.to_vec(),
                TensorData::Bytes(strings.into_iter().map(String::into_bytes).collect()),
            )
        }
        other => {
            return Err(ConvertError::UnsupportedOutput {
                output: name.to_string(),
                kind: format!("{other:?} tensor"),
            });
        }
    };
    let shape = shape
        .iter()
        .map(|&d| usize::try_from(d).unwrap_or(0))
        .collect();
    Tensor::new(name, shape, data).map_err(|e| ConvertError::Runtime {
        name: name.to_string(),
        reason: e.to_string(),
    })
}

fn zipmap(name: &str, value: &DynValue) -> Result<Output, ConvertError> {
    let err = runtime(name);
    let rows = value
        .try_extract_sequence::<DynMapValueType>()
        .map_err(&err)?;
    let mut classes: Vec<String> = Vec::new();
    let mut table: Vec<f32> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let pairs: Vec<(String, f32)> = match row.dtype() {
            ValueType::Map {
                key: TensorElementType::String,
                ..
            } => row.try_extract_key_values::<String, f32>().map_err(&err)?,
            _ => row
                .try_extract_key_values::<i64, f32>()
                .map_err(&err)?
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        };
        if r == 0 {
            classes = pairs.iter().map(|(k, _)| k.clone()).collect();
            classes.sort_by(|a, b| natural_order(a, b));
        }
        for class in &classes {
            table.push(
                pairs
                    .iter()
                    .find(|(k, _)| k == class)
                    .map_or(0.0, |(_, v)| *v),
            );
        }
    }
    let table = Tensor::new(
        name,
        vec![rows.len(), classes.len()],
        TensorData::F32(table),
    )
    .map_err(|e| ConvertError::Runtime {
        name: name.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Output::ClassProbabilities { table, classes })
}

/// Integer class labels in numeric order, others lexicographic: the order skl2onnx uses.
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}
