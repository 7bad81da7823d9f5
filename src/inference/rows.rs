//! Slicing tensors by rows and joining them back: for graphs with a fixed batch size, a
//! request's rows run in several executions whose outputs are concatenated.

use crate::tensor::{Tensor, TensorData};

macro_rules! each_variant {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            TensorData::Bool($v) => TensorData::Bool($body),
            TensorData::U8($v) => TensorData::U8($body),
            TensorData::U16($v) => TensorData::U16($body),
            TensorData::U32($v) => TensorData::U32($body),
            TensorData::U64($v) => TensorData::U64($body),
            TensorData::I8($v) => TensorData::I8($body),
            TensorData::I16($v) => TensorData::I16($body),
            TensorData::I32($v) => TensorData::I32($body),
            TensorData::I64($v) => TensorData::I64($body),
            TensorData::F16($v) => TensorData::F16($body),
            TensorData::BF16($v) => TensorData::BF16($body),
            TensorData::F32($v) => TensorData::F32($body),
            TensorData::F64($v) => TensorData::F64($body),
            TensorData::Bytes($v) => TensorData::Bytes($body),
        }
    };
}

/// Whether `tensor` has `rows` rows along its first dimension: only then can it be cut into
/// them. (Which outputs hold a request's records is the model's to say:
/// `LoadedModel::output_has_rows`.)
pub fn by_rows(tensor: &Tensor, rows: usize) -> bool {
    tensor.shape().first() == Some(&rows)
}

/// Rows `start..end` of `tensor` (the first dimension is the batch).
pub fn slice_rows(tensor: &Tensor, start: usize, end: usize) -> Tensor {
    let row: usize = tensor.shape().iter().skip(1).product();
    let (a, b) = (start * row, end * row);
    let data = each_variant!(tensor.data(), v => v[a..b].to_vec());
    let mut shape = tensor.shape().to_vec();
    if let Some(first) = shape.first_mut() {
        *first = end - start;
    }
    Tensor::new(tensor.name(), shape, data)
        .unwrap_or_else(|e| unreachable!("a row slice keeps the shape: {e}"))
}

/// Joins `parts` (same name, datatype and row shape) along the first dimension; `None` when
/// they do not fit together.
pub fn concat_rows(parts: Vec<Tensor>) -> Option<Tensor> {
    let mut iter = parts.into_iter();
    let first = iter.next()?;
    let (name, mut shape, mut data) = first.into_parts();
    for part in iter {
        let (_, s, d) = part.into_parts();
        if s.get(1..) != shape.get(1..) {
            return None;
        }
        if let Some(n) = shape.first_mut() {
            *n += s.first().copied().unwrap_or(0);
        }
        append(&mut data, d)?;
    }
    Tensor::new(name, shape, data).ok()
}

fn append(into: &mut TensorData, from: TensorData) -> Option<()> {
    match (into, from) {
        (TensorData::Bool(a), TensorData::Bool(b)) => a.extend(b),
        (TensorData::U8(a), TensorData::U8(b)) => a.extend(b),
        (TensorData::U16(a), TensorData::U16(b)) => a.extend(b),
        (TensorData::U32(a), TensorData::U32(b)) => a.extend(b),
        (TensorData::U64(a), TensorData::U64(b)) => a.extend(b),
        (TensorData::I8(a), TensorData::I8(b)) => a.extend(b),
        (TensorData::I16(a), TensorData::I16(b)) => a.extend(b),
        (TensorData::I32(a), TensorData::I32(b)) => a.extend(b),
        (TensorData::I64(a), TensorData::I64(b)) => a.extend(b),
        (TensorData::F16(a), TensorData::F16(b)) => a.extend(b),
        (TensorData::BF16(a), TensorData::BF16(b)) => a.extend(b),
        (TensorData::F32(a), TensorData::F32(b)) => a.extend(b),
        (TensorData::F64(a), TensorData::F64(b)) => a.extend(b),
        (TensorData::Bytes(a), TensorData::Bytes(b)) => a.extend(b),
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_concatenate_back_to_the_original() {
        let t = Tensor::new(
            "x",
            vec![3, 2],
            TensorData::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        )
        .expect("tensor");
        let parts = vec![slice_rows(&t, 0, 1), slice_rows(&t, 1, 3)];
        assert_eq!(parts[1].shape(), &[2, 2]);
        assert_eq!(concat_rows(parts), Some(t));
    }

    #[test]
    fn mismatched_parts_do_not_concatenate() {
        let a = Tensor::new("x", vec![1, 2], TensorData::F32(vec![1.0, 2.0])).expect("a");
        let b = Tensor::new("x", vec![1, 1], TensorData::F32(vec![1.0])).expect("b");
        assert_eq!(concat_rows(vec![a, b]), None);
    }
}
