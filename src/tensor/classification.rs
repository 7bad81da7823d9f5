//! Triton's classification extension: an output asked for with `"classification": k` is
//! answered as its `k` highest-valued elements per batch item, each a BYTES string
//! `"<value>:<index>[:<label>]"`, instead of the raw tensor.
//!
//! The form follows Triton's, so clients that parse it (tritonclient's `class_count`) read
//! ours: values printed as C's `%f` prints them (six decimals) for floating-point outputs and
//! as plain integers otherwise; the count cut to the elements a batch item has; shape
//! `[batch, k]` for a batched output, `[k]` otherwise. Ties keep the lower index first, and
//! NaN ranks below every number, so the answer does not depend on a sort's whims.

use std::cmp::Ordering;

use super::{Tensor, TensorData, TensorError};

/// Largest number of elements one batch item may rank: sorting is bounded by what a request
/// may ask, not by what a graph happens to return.
const MAX_ELEMENTS_PER_ITEM: usize = 1 << 24;

/// The `count` highest elements of each batch item of `tensor` as Triton's classification
/// strings. `batched`: the first dimension is the batch (each item ranked on its own);
/// otherwise the whole tensor is one item. `labels[i]`, when present, names class `i`.
pub fn top_k(
    tensor: &Tensor,
    count: usize,
    batched: bool,
    labels: Option<&[String]>,
) -> Result<Tensor, TensorError> {
    let output = tensor.name();
    let (items, per_item) = match tensor.shape().split_first() {
        Some((&batch, rest)) if batched => (batch, rest.iter().product::<usize>()),
        _ => (1, tensor.len()),
    };
    if per_item > MAX_ELEMENTS_PER_ITEM {
        return Err(TensorError::NotClassifiable {
            output: output.to_owned(),
            reason: format!(
                "a batch item has {per_item} elements, more than the {MAX_ELEMENTS_PER_ITEM} this server ranks"
            ),
        });
    }
    let k = count.min(per_item);
    let ranked = Ranked::of(tensor.data()).ok_or_else(|| TensorError::NotClassifiable {
        output: output.to_owned(),
        reason: format!("its datatype {} has no order", tensor.datatype()),
    })?;
    let mut strings = Vec::with_capacity(items.saturating_mul(k));
    let mut order: Vec<usize> = Vec::with_capacity(per_item);
    for item in 0..items {
        let start = item * per_item;
        order.clear();
        order.extend(0..per_item);
        // Stable, so equal values keep the lower index first.
        order.sort_by(|&a, &b| ranked.compare(start + b, start + a));
        for &index in &order[..k] {
            let mut text = ranked.value_text(start + index);
            text.push(':');
            text.push_str(&index.to_string());
            if let Some(label) = labels.and_then(|l| l.get(index)) {
                text.push(':');
                text.push_str(label);
            }
            strings.push(text.into_bytes());
        }
    }
    let shape = if batched && !tensor.shape().is_empty() {
        vec![items, k]
    } else {
        vec![k]
    };
    Tensor::new(output, shape, TensorData::Bytes(strings))
}

/// The elements of an output that can be ranked, seen through one comparison and one way of
/// printing them.
enum Ranked<'a> {
    Integers(&'a TensorData),
    Floats(Vec<f64>),
}

impl<'a> Ranked<'a> {
    fn of(data: &'a TensorData) -> Option<Ranked<'a>> {
        let floats = match data {
            TensorData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            TensorData::F64(v) => v.clone(),
            TensorData::F16(v) => v
                .iter()
                .map(|&b| half::f16::from_bits(b).to_f64())
                .collect(),
            TensorData::BF16(v) => v
                .iter()
                .map(|&b| half::bf16::from_bits(b).to_f64())
                .collect(),
            TensorData::Bool(_) | TensorData::Bytes(_) => return None,
            integers => return Some(Ranked::Integers(integers)),
        };
        Some(Ranked::Floats(floats))
    }

    /// Orders element `a` against element `b`, NaN below everything.
    fn compare(&self, a: usize, b: usize) -> Ordering {
        match self {
            Ranked::Floats(v) => match (v[a].is_nan(), v[b].is_nan()) {
                (false, false) => v[a].partial_cmp(&v[b]).unwrap_or(Ordering::Equal),
                (nan_a, nan_b) => nan_b.cmp(&nan_a),
            },
            Ranked::Integers(data) => match data {
                TensorData::U8(v) => v[a].cmp(&v[b]),
                TensorData::U16(v) => v[a].cmp(&v[b]),
                TensorData::U32(v) => v[a].cmp(&v[b]),
                TensorData::U64(v) => v[a].cmp(&v[b]),
                TensorData::I8(v) => v[a].cmp(&v[b]),
                TensorData::I16(v) => v[a].cmp(&v[b]),
                TensorData::I32(v) => v[a].cmp(&v[b]),
                TensorData::I64(v) => v[a].cmp(&v[b]),
                _ => Ordering::Equal,
            },
        }
    }

    fn value_text(&self, i: usize) -> String {
        match self {
            Ranked::Floats(v) => c_fixed(v[i]),
            Ranked::Integers(data) => match data {
                TensorData::U8(v) => v[i].to_string(),
                TensorData::U16(v) => v[i].to_string(),
                TensorData::U32(v) => v[i].to_string(),
                TensorData::U64(v) => v[i].to_string(),
                TensorData::I8(v) => v[i].to_string(),
                TensorData::I16(v) => v[i].to_string(),
                TensorData::I32(v) => v[i].to_string(),
                TensorData::I64(v) => v[i].to_string(),
                _ => String::new(),
            },
        }
    }
}

/// A number as C's `%f` prints it: six decimals, `nan`, `inf`, `-inf`.
fn c_fixed(x: f64) -> String {
    if x.is_nan() {
        "nan".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{x:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(t: &Tensor) -> Vec<String> {
        match t.data() {
            TensorData::Bytes(v) => v
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect(),
            other => panic!("expected BYTES, got {:?}", other.datatype()),
        }
    }

    #[test]
    fn each_batch_item_gives_its_highest_values_with_index_and_label() {
        let probabilities = Tensor::new(
            "p",
            vec![2, 3],
            TensorData::F32(vec![0.1, 0.7, 0.2, 0.5, 0.25, 0.25]),
        )
        .expect("a tensor");
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let top = top_k(&probabilities, 2, true, Some(&labels)).expect("a tensor");
        assert_eq!(top.shape(), &[2, 2]);
        assert_eq!(
            strings(&top),
            [
                "0.700000:1:b",
                "0.200000:2:c",
                "0.500000:0:a",
                "0.250000:1:b"
            ]
        );
    }

    #[test]
    fn an_unbatched_output_is_ranked_whole_and_the_count_is_cut_to_its_elements() {
        let scores =
            Tensor::new("s", vec![2, 2], TensorData::I64(vec![3, -1, 9, 3])).expect("a tensor");
        let top = top_k(&scores, 10, false, None).expect("a tensor");
        assert_eq!(top.shape(), &[4]);
        assert_eq!(strings(&top), ["9:2", "3:0", "3:3", "-1:1"]);
    }

    #[test]
    fn nan_ranks_last_and_prints_as_c_does() {
        let t = Tensor::new(
            "x",
            vec![1, 4],
            TensorData::F64(vec![f64::NAN, f64::NEG_INFINITY, 2.5, f64::INFINITY]),
        )
        .expect("a tensor");
        let top = top_k(&t, 4, true, None).expect("a tensor");
        assert_eq!(strings(&top), ["inf:3", "2.500000:2", "-inf:1", "nan:0"]);
    }

    #[test]
    fn labels_shorter_than_the_classes_leave_the_rest_unlabelled() {
        let t = Tensor::new("x", vec![1, 3], TensorData::U8(vec![1, 2, 3])).expect("a tensor");
        let labels = vec!["only".to_owned()];
        let top = top_k(&t, 3, true, Some(&labels)).expect("a tensor");
        assert_eq!(strings(&top), ["3:2", "2:1", "1:0:only"]);
    }

    #[test]
    fn an_empty_batch_gives_an_empty_answer() {
        let t = Tensor::new("x", vec![0, 3], TensorData::F32(vec![])).expect("a tensor");
        let top = top_k(&t, 2, true, None).expect("a tensor");
        assert_eq!(top.shape(), &[0, 2]);
        assert!(strings(&top).is_empty());
    }

    #[test]
    fn strings_and_booleans_have_no_order() {
        for data in [
            TensorData::Bool(vec![true]),
            TensorData::Bytes(vec![b"a".to_vec()]),
        ] {
            let t = Tensor::new("label", vec![1], data).expect("a tensor");
            let err = top_k(&t, 1, false, None).expect_err("refused").to_string();
            assert!(err.contains("label") && err.contains("no order"), "{err}");
        }
    }

    #[test]
    fn half_precision_is_ranked_by_its_value() {
        let bits = [1.5f32, -2.0, 3.0].map(|x| half::f16::from_f32(x).to_bits());
        let t = Tensor::new("h", vec![3], TensorData::F16(bits.to_vec())).expect("a tensor");
        let top = top_k(&t, 2, false, None).expect("a tensor");
        assert_eq!(strings(&top), ["3.000000:2", "1.500000:0"]);
    }
}
