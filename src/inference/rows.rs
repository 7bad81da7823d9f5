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

/// Cuts `tensor` along the first dimension into parts of `counts` rows each (which add up to
/// its rows), moving its elements rather than copying them: a byte string goes to its part as
/// the allocation it already is.
pub fn split_rows(tensor: Tensor, counts: &[usize]) -> Vec<Tensor> {
    let row: usize = tensor.shape().iter().skip(1).product();
    let (name, shape, data) = tensor.into_parts();
    let mut parts: Vec<TensorData> = Vec::with_capacity(counts.len());
    macro_rules! cut {
        ($variant:ident, $v:ident) => {{
            let mut elements = $v.into_iter();
            for &n in counts {
                parts.push(TensorData::$variant(
                    elements.by_ref().take(n * row).collect(),
                ));
            }
        }};
    }
    match data {
        TensorData::Bool(v) => cut!(Bool, v),
        TensorData::U8(v) => cut!(U8, v),
        TensorData::U16(v) => cut!(U16, v),
        TensorData::U32(v) => cut!(U32, v),
        TensorData::U64(v) => cut!(U64, v),
        TensorData::I8(v) => cut!(I8, v),
        TensorData::I16(v) => cut!(I16, v),
        TensorData::I32(v) => cut!(I32, v),
        TensorData::I64(v) => cut!(I64, v),
        TensorData::F16(v) => cut!(F16, v),
        TensorData::BF16(v) => cut!(BF16, v),
        TensorData::F32(v) => cut!(F32, v),
        TensorData::F64(v) => cut!(F64, v),
        TensorData::Bytes(v) => cut!(Bytes, v),
    }
    parts
        .into_iter()
        .zip(counts)
        .map(|(data, &n)| {
            let mut shape = shape.clone();
            if let Some(first) = shape.first_mut() {
                *first = n;
            }
            Tensor::new(name.as_str(), shape, data)
                .unwrap_or_else(|e| unreachable!("a cut along the rows keeps the shape: {e}"))
        })
        .collect()
}

/// Joins `parts` (same name, datatype and row shape) along the first dimension into a new
/// tensor, copying each part once; `None` when they do not fit together.
pub fn concat_rows(parts: &[&Tensor]) -> Option<Tensor> {
    let first = parts.first()?;
    let mut shape = first.shape().to_vec();
    let mut rows = 0;
    for part in parts {
        if part.shape().get(1..) != shape.get(1..) {
            return None;
        }
        rows += part.shape().first().copied().unwrap_or(0);
    }
    if let Some(n) = shape.first_mut() {
        *n = rows;
    }
    let data = joined(parts)?;
    Tensor::new(first.name(), shape, data).ok()
}

/// The parts' elements one after the other, in one allocation of the final size.
fn joined(parts: &[&Tensor]) -> Option<TensorData> {
    let total = parts.iter().map(|p| p.len()).sum();
    macro_rules! join {
        ($variant:ident) => {{
            let mut out = Vec::with_capacity(total);
            for part in parts {
                let TensorData::$variant(v) = part.data() else {
                    return None;
                };
                out.extend_from_slice(v);
            }
            TensorData::$variant(out)
        }};
    }
    Some(match parts.first()?.data() {
        TensorData::Bool(_) => join!(Bool),
        TensorData::U8(_) => join!(U8),
        TensorData::U16(_) => join!(U16),
        TensorData::U32(_) => join!(U32),
        TensorData::U64(_) => join!(U64),
        TensorData::I8(_) => join!(I8),
        TensorData::I16(_) => join!(I16),
        TensorData::I32(_) => join!(I32),
        TensorData::I64(_) => join!(I64),
        TensorData::F16(_) => join!(F16),
        TensorData::BF16(_) => join!(BF16),
        TensorData::F32(_) => join!(F32),
        TensorData::F64(_) => join!(F64),
        TensorData::Bytes(_) => join!(Bytes),
    })
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
        let parts = [slice_rows(&t, 0, 1), slice_rows(&t, 1, 3)];
        assert_eq!(parts[1].shape(), &[2, 2]);
        assert_eq!(concat_rows(&[&parts[0], &parts[1]]), Some(t));
    }

    #[test]
    fn a_cut_along_the_rows_gives_each_part_its_rows() {
        let words = |shape: Vec<usize>, w: &[&str]| {
            let data = TensorData::Bytes(w.iter().map(|s| s.as_bytes().to_vec()).collect());
            Tensor::new("s", shape, data).expect("tensor")
        };
        let t = words(vec![4, 2], &["a", "b", "c", "d", "e", "f", "g", "h"]);
        let parts = split_rows(t.clone(), &[1, 0, 3]);
        assert_eq!(parts[0], words(vec![1, 2], &["a", "b"]));
        assert_eq!(parts[1], words(vec![0, 2], &[]));
        assert_eq!(parts[2], words(vec![3, 2], &["c", "d", "e", "f", "g", "h"]));
        let n = Tensor::new("n", vec![3], TensorData::I64(vec![7, 8, 9])).expect("n");
        let parts = split_rows(n.clone(), &[2, 1]);
        assert_eq!(parts[0], slice_rows(&n, 0, 2));
        assert_eq!(parts[1], slice_rows(&n, 2, 3));
    }

    #[test]
    fn mismatched_parts_do_not_concatenate() {
        let a = Tensor::new("x", vec![1, 2], TensorData::F32(vec![1.0, 2.0])).expect("a");
        let b = Tensor::new("x", vec![1, 1], TensorData::F32(vec![1.0])).expect("b");
        assert_eq!(concat_rows(&[&a, &b]), None);
        let c = Tensor::new("x", vec![1, 2], TensorData::F64(vec![1.0, 2.0])).expect("c");
        assert_eq!(concat_rows(&[&a, &c]), None, "datatypes differ");
        assert_eq!(concat_rows(&[]), None);
    }

    #[test]
    fn byte_strings_and_empty_parts_concatenate() {
        let words = |shape: Vec<usize>, w: &[&str]| {
            let data = TensorData::Bytes(w.iter().map(|s| s.as_bytes().to_vec()).collect());
            Tensor::new("s", shape, data).expect("tensor")
        };
        let a = words(vec![2, 1], &["a", "bc"]);
        let empty = words(vec![0, 1], &[]);
        let b = words(vec![1, 1], &[""]);
        assert_eq!(
            concat_rows(&[&a, &empty, &b]),
            Some(words(vec![3, 1], &["a", "bc", ""]))
        );
    }
}
