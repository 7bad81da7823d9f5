//! The typed tensor that the wire formats decode into and encode from.

use super::TensorError;
use crate::contract::DataType;

/// A tensor's elements in row-major order, one variant per datatype.
///
/// FP16 and BF16 keep their raw bits: the server only moves them between the wire and ONNX
/// Runtime and never computes with them, so it needs no half-precision arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    Bool(Vec<bool>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    /// IEEE 754 half precision, as raw bits.
    F16(Vec<u16>),
    /// bfloat16, as raw bits.
    BF16(Vec<u16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// Arbitrary byte strings; not necessarily UTF-8.
    Bytes(Vec<Vec<u8>>),
}

impl TensorData {
    /// The protocol datatype of these elements.
    pub fn datatype(&self) -> DataType {
        match self {
            TensorData::Bool(_) => DataType::Bool,
            TensorData::U8(_) => DataType::Uint8,
            TensorData::U16(_) => DataType::Uint16,
            TensorData::U32(_) => DataType::Uint32,
            TensorData::U64(_) => DataType::Uint64,
            TensorData::I8(_) => DataType::Int8,
            TensorData::I16(_) => DataType::Int16,
            TensorData::I32(_) => DataType::Int32,
            TensorData::I64(_) => DataType::Int64,
            TensorData::F16(_) => DataType::Fp16,
            TensorData::BF16(_) => DataType::Bf16,
            TensorData::F32(_) => DataType::Fp32,
            TensorData::F64(_) => DataType::Fp64,
            TensorData::Bytes(_) => DataType::Bytes,
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::Bool(v) => v.len(),
            TensorData::U8(v) => v.len(),
            TensorData::U16(v) | TensorData::F16(v) | TensorData::BF16(v) => v.len(),
            TensorData::U32(v) => v.len(),
            TensorData::U64(v) => v.len(),
            TensorData::I8(v) => v.len(),
            TensorData::I16(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
            TensorData::Bytes(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A named tensor whose element count always equals the product of its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    name: String,
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// Builds a tensor, refusing data whose length is not the product of `shape`.
    pub fn new(
        name: impl Into<String>,
        shape: Vec<usize>,
        data: TensorData,
    ) -> Result<Tensor, TensorError> {
        let name = name.into();
        if element_count(&shape) != Some(data.len()) {
            return Err(TensorError::TensorShape {
                tensor: name,
                shape,
                len: data.len(),
            });
        }
        Ok(Tensor { name, shape, data })
    }

    /// The tensor's name (the model's input or output name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements, row-major.
    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// The protocol datatype of the elements.
    pub fn datatype(&self) -> DataType {
        self.data.datatype()
    }

    /// The number of elements (the product of the shape).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Takes the tensor apart, e.g. to hand the elements to the runtime without copying.
    pub fn into_parts(self) -> (String, Vec<usize>, TensorData) {
        (self.name, self.shape, self.data)
    }
}

/// The product of `shape`, or `None` when it does not fit in `usize`. A zero dimension makes
/// the product zero even if the other dimensions together would overflow.
pub(crate) fn element_count(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_the_shape_against_the_data() {
        let t = Tensor::new("x", vec![2, 2], TensorData::F32(vec![1.0; 4])).expect("valid");
        assert_eq!((t.name(), t.shape(), t.len()), ("x", &[2, 2][..], 4));
        assert_eq!(t.datatype(), DataType::Fp32);
        let err = Tensor::new("x", vec![2, 3], TensorData::F32(vec![1.0; 4]))
            .expect_err("4 elements do not fill [2, 3]");
        assert_eq!(
            err.to_string(),
            "tensor 'x': shape [2, 3] does not hold exactly 4 elements"
        );
        let scalar = Tensor::new("s", vec![], TensorData::I64(vec![7])).expect("rank 0");
        assert_eq!(scalar.len(), 1);
    }

    #[test]
    fn element_count_checks_overflow_and_zero() {
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[3, 4]), Some(12));
        assert_eq!(element_count(&[usize::MAX, 2]), None);
        assert_eq!(element_count(&[usize::MAX, usize::MAX, 0]), Some(0));
    }
}
