//! Joining the inputs of several requests into one batch, and splitting the batch's outputs
//! back: the rows of request `i` are rows `offset_i .. offset_i + rows_i` of every tensor.

use crate::runtime::Output;
use crate::tensor::Tensor;

use super::super::{Outputs, concat_rows, slice_rows, split_rows};

/// Whether two requests' inputs can run in one execution: the same names, datatypes and
/// shapes past the batch dimension. Requests checked against the same model differ only in
/// dynamic non-batch dimensions (string lengths are not dimensions, so those always fit).
pub fn compatible(first: &[Tensor], other: &[Tensor]) -> bool {
    first.len() == other.len()
        && first.iter().all(|a| {
            other.iter().any(|b| {
                b.name() == a.name()
                    && b.datatype() == a.datatype()
                    && b.shape().len() == a.shape().len()
                    && b.shape().get(1..) == a.shape().get(1..)
            })
        })
}

/// Joins the requests' inputs (each a full set, all [`compatible`]) into one set, in the
/// first request's input order. `None` when they do not fit together.
pub fn merge_inputs(requests: &[&[Tensor]]) -> Option<Vec<Tensor>> {
    let first = requests.first()?;
    if requests.iter().any(|inputs| inputs.len() != first.len()) {
        return None;
    }
    first
        .iter()
        .map(|column| {
            let parts = requests
                .iter()
                .map(|inputs| inputs.iter().find(|t| t.name() == column.name()))
                .collect::<Option<Vec<&Tensor>>>()?;
            concat_rows(&parts)
        })
        .collect()
}

/// Splits a batch's inputs back into each request's, by row counts (for running the
/// requests one by one after the batch failed).
pub fn split_inputs(inputs: &[Tensor], rows: &[usize]) -> Vec<Vec<Tensor>> {
    ranges(rows)
        .map(|(start, end)| inputs.iter().map(|t| slice_rows(t, start, end)).collect())
        .collect()
}

/// Splits a batch's outputs into each request's, by row counts, moving their elements (a
/// string label is not copied once per request). `None` when an output does not have one
/// row per input row (a graph whose outputs are not batched alike): the caller then runs the
/// requests one by one.
pub fn split_outputs(outputs: Outputs, rows: &[usize]) -> Option<Vec<Outputs>> {
    let total: usize = rows.iter().sum();
    if outputs
        .iter()
        .any(|(_, o)| o.tensor().shape().first() != Some(&total))
    {
        return None;
    }
    let mut parts: Vec<Outputs> = rows
        .iter()
        .map(|_| Vec::with_capacity(outputs.len()))
        .collect();
    for (name, output) in outputs {
        match output {
            Output::Tensor(t) => {
                for (part, t) in parts.iter_mut().zip(split_rows(t, rows)) {
                    part.push((name.clone(), Output::Tensor(t)));
                }
            }
            Output::ClassProbabilities { table, classes } => {
                for (part, table) in parts.iter_mut().zip(split_rows(table, rows)) {
                    let classes = classes.clone();
                    part.push((name.clone(), Output::ClassProbabilities { table, classes }));
                }
            }
        }
    }
    Some(parts)
}

/// `[2, 1, 3]` → `(0, 2), (2, 3), (3, 6)`.
fn ranges(rows: &[usize]) -> impl Iterator<Item = (usize, usize)> + '_ {
    rows.iter().scan(0, |offset, &n| {
        let start = *offset;
        *offset += n;
        Some((start, start + n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::TensorData;
    use proptest::prelude::*;

    /// A request of `rows` rows with a float input `x` of `width` columns and a string input
    /// `s`, filled with values that name the request and the row.
    fn request(id: usize, rows: usize, width: usize, reversed: bool) -> Vec<Tensor> {
        let x: Vec<f32> = (0..rows * width)
            .map(|i| (id * 10_000 + i) as f32)
            .collect();
        let s: Vec<Vec<u8>> = (0..rows)
            .map(|r| format!("{id}-{r}").into_bytes())
            .collect();
        let x = Tensor::new("x", vec![rows, width], TensorData::F32(x)).expect("x");
        let s = Tensor::new("s", vec![rows, 1], TensorData::Bytes(s)).expect("s");
        // Clients may send the inputs in any order.
        if reversed { vec![s, x] } else { vec![x, s] }
    }

    fn find<'a>(inputs: &'a [Tensor], name: &str) -> &'a Tensor {
        inputs.iter().find(|t| t.name() == name).expect("input")
    }

    proptest! {
        /// Merging any mix of requests and splitting the result gives every request its own
        /// rows back, in order.
        #[test]
        fn merge_then_split_returns_each_request_its_rows(
            sizes in prop::collection::vec((1usize..40, any::<bool>()), 1..24),
            width in 1usize..5,
        ) {
            let requests: Vec<Vec<Tensor>> = sizes
                .iter()
                .enumerate()
                .map(|(id, &(rows, reversed))| request(id, rows, width, reversed))
                .collect();
            let rows: Vec<usize> = sizes.iter().map(|&(r, _)| r).collect();
            let parts: Vec<&[Tensor]> = requests.iter().map(Vec::as_slice).collect();
            let merged = merge_inputs(&parts).expect("compatible requests merge");
            prop_assert_eq!(find(&merged, "x").shape(), &[rows.iter().sum::<usize>(), width][..]);
            // The model "echoes" its inputs: splitting the outputs must give back each input.
            let outputs: Outputs = merged
                .iter()
                .map(|t| (t.name().to_string(), Output::Tensor(t.clone())))
                .collect();
            let parts = split_outputs(outputs, &rows).expect("one row per input row");
            prop_assert_eq!(parts.len(), requests.len());
            for (part, original) in parts.iter().zip(&requests) {
                for (name, output) in part {
                    prop_assert_eq!(output.tensor(), find(original, name));
                }
            }
            let back = split_inputs(&merged, &rows);
            for (inputs, original) in back.iter().zip(&requests) {
                for tensor in inputs {
                    prop_assert_eq!(tensor, find(original, tensor.name()));
                }
            }
        }
    }

    #[test]
    fn different_row_shapes_are_not_compatible() {
        let a = request(0, 2, 3, false);
        let b = request(1, 5, 3, true);
        let c = request(2, 2, 4, false);
        assert!(compatible(&a, &b));
        assert!(!compatible(&a, &c));
    }

    #[test]
    fn requests_whose_inputs_differ_by_name_or_count_do_not_merge() {
        let a = request(0, 2, 3, false);
        let fewer = vec![a[0].clone()];
        assert_eq!(merge_inputs(&[&a, &fewer]), None);
        let renamed = vec![
            a[0].clone(),
            Tensor::new("t", vec![2, 1], TensorData::Bytes(vec![vec![]; 2])).expect("t"),
        ];
        assert_eq!(merge_inputs(&[&a, &renamed]), None);
        assert_eq!(merge_inputs(&[]), None);
    }

    #[test]
    fn outputs_without_a_row_per_input_row_are_not_split() {
        let t = Tensor::new("y", vec![1], TensorData::F32(vec![0.5])).expect("y");
        let outputs = vec![("y".to_string(), Output::Tensor(t))];
        assert!(split_outputs(outputs, &[1, 1]).is_none());
    }

    #[test]
    fn class_tables_keep_their_classes() {
        let table = Tensor::new("p", vec![3, 2], TensorData::F32(vec![0.0; 6])).expect("p");
        let classes = vec!["a".to_string(), "b".to_string()];
        let outputs = vec![(
            "p".to_string(),
            Output::ClassProbabilities {
                table,
                classes: classes.clone(),
            },
        )];
        let parts = split_outputs(outputs, &[1, 2]).expect("split");
        match &parts[1][0].1 {
            Output::ClassProbabilities { table, classes: c } => {
                assert_eq!(table.shape(), &[2, 2]);
                assert_eq!(c, &classes);
            }
            other => panic!("expected a class table, got {other:?}"),
        }
    }
}
