//! The decision tree classifier graph: the feature columns concatenated, one
//! `ai.onnx.ml.TreeEnsembleClassifier` holding a single tree, and the label picked from the
//! class weights by `ArgMax`.
//!
//! ```text
//! feature inputs ─ Concat ─ TreeEnsembleClassifier ─ probabilities [N, C] float
//!                                                          └─ ArgMax ─ Gather(classes) ─ label [N] string
//! ```
//!
//! Why the label does not come from the tree operator itself: ONNX Runtime 1.31's
//! `TreeEnsembleClassifier` (with `post_transform` NONE) takes the argmax only with three or more
//! classes, keeping the lowest class index on ties. With two classes whose weights are both
//! given, it returns the second class whenever that class's weight is above zero, so a leaf
//! `[0.8, 0.2]` is labelled as the second class; giving only the second class's weights fixes
//! the label (second class iff its weight > 0.5) but then the first probability column comes out
//! as 0. `ArgMax` with `select_last_index = 0` is specified by the ONNX standard, so the rule is
//! the same for every class count and every conforming runtime: **on a tie the class listed
//! first wins.** The tests pin both the rule and the operator behaviour behind this choice.

use std::collections::HashSet;

use super::OnnxExportError;
use super::builder::{
    Dim, ML_DOMAIN, attr_floats, attr_int, attr_ints, attr_string, attr_strings, check_graph, dim,
    encode, model, node, string_tensor, tensor_value,
};
use super::proto::{DataType, GraphProto};

/// The predicted class label, `[N]` string: the class of the largest weight in the leaf and,
/// among equal largest weights, the one listed first in `classes` (see the module documentation).
pub const LABEL_OUTPUT: &str = "label";
/// The leaf's class weights, `[N, C]` float, columns in the order of `classes`.
pub const PROBABILITIES_OUTPUT: &str = "probabilities";

/// The tree operator's own label output, an internal value of the graph.
const TREE_LABEL: &str = "tree_label";

/// A node of the tree. Nodes are indexed by their position in [`TreeGraphSpec::nodes`]; node 0
/// is the root.
#[derive(Debug, Clone, PartialEq)]
pub enum TreeNodeSpec {
    /// Goes to `left` when `x[feature] < threshold`, else to `right` (ONNX `BRANCH_LT`, the
    /// rule linfa-trees predicts with). A value equal to the threshold, or NaN, goes right.
    Branch {
        feature: usize,
        threshold: f32,
        left: usize,
        right: usize,
    },
    /// One weight per class (the class distribution of the training rows in the leaf).
    Leaf { class_weights: Vec<f32> },
}

/// Everything the tree classifier graph is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeGraphSpec {
    pub graph_name: String,
    pub doc: String,
    /// The input names, in the order the tree's feature indices refer to.
    pub features: Vec<String>,
    /// The class labels, in the order of each leaf's `class_weights`.
    pub classes: Vec<String>,
    pub nodes: Vec<TreeNodeSpec>,
    /// Written to the model's `metadata_props`, in this order.
    pub metadata_props: Vec<(String, String)>,
}

/// Builds the tree classifier model and returns its ONNX bytes.
///
/// Inputs: one `[N, 1]` float tensor per feature, in order. Outputs: [`LABEL_OUTPUT`] and
/// [`PROBABILITIES_OUTPUT`].
pub fn tree_classifier_graph(spec: &TreeGraphSpec) -> Result<Vec<u8>, OnnxExportError> {
    validate(spec)?;
    let graph = graph(spec);
    check_graph(&graph, &spec.metadata_props)?;
    Ok(encode(&model(graph, &spec.doc, &spec.metadata_props)))
}

/// The flattened attribute arrays of a single-tree ensemble (tree id 0, node id = position).
#[derive(Default)]
struct EnsembleArrays {
    node_ids: Vec<i64>,
    feature_ids: Vec<i64>,
    modes: Vec<&'static str>,
    values: Vec<f32>,
    true_ids: Vec<i64>,
    false_ids: Vec<i64>,
    class_node_ids: Vec<i64>,
    class_ids: Vec<i64>,
    class_weights: Vec<f32>,
}

fn ensemble_arrays(spec: &TreeGraphSpec) -> EnsembleArrays {
    let mut a = EnsembleArrays::default();
    for (id, tree_node) in spec.nodes.iter().enumerate() {
        let id = dim(id);
        a.node_ids.push(id);
        match tree_node {
            TreeNodeSpec::Branch {
                feature,
                threshold,
                left,
                right,
            } => {
                a.feature_ids.push(dim(*feature));
                a.modes.push("BRANCH_LT");
                a.values.push(*threshold);
                a.true_ids.push(dim(*left));
                a.false_ids.push(dim(*right));
            }
            TreeNodeSpec::Leaf { class_weights } => {
                a.feature_ids.push(0);
                a.modes.push("LEAF");
                a.values.push(0.0);
                a.true_ids.push(0);
                a.false_ids.push(0);
                for (class, weight) in class_weights.iter().enumerate() {
                    a.class_node_ids.push(id);
                    a.class_ids.push(dim(class));
                    a.class_weights.push(*weight);
                }
            }
        }
    }
    a
}

fn graph(spec: &TreeGraphSpec) -> GraphProto {
    let input = spec
        .features
        .iter()
        .map(|f| tensor_value(f, DataType::Float, &[Dim::Batch, Dim::Fixed(1)]))
        .collect();
    let names: Vec<&str> = spec.features.iter().map(String::as_str).collect();
    let concat = node(
        "Concat",
        "",
        "features_concat",
        &names,
        &["features"],
        vec![attr_int("axis", 1)],
    );

    let a = ensemble_arrays(spec);
    // A single tree: every node and every class weight belongs to tree 0.
    let class_tree_ids = vec![0; a.class_node_ids.len()];
    let node_tree_ids = vec![0; a.node_ids.len()];
    let attributes = vec![
        attr_ints("class_ids", a.class_ids),
        attr_ints("class_nodeids", a.class_node_ids),
        attr_ints("class_treeids", class_tree_ids),
        attr_floats("class_weights", a.class_weights),
        attr_strings("classlabels_strings", &spec.classes),
        attr_ints("nodes_falsenodeids", a.false_ids),
        attr_ints("nodes_featureids", a.feature_ids),
        attr_strings("nodes_modes", &a.modes),
        attr_ints("nodes_nodeids", a.node_ids),
        attr_ints("nodes_treeids", node_tree_ids),
        attr_ints("nodes_truenodeids", a.true_ids),
        attr_floats("nodes_values", a.values),
        attr_string("post_transform", "NONE"),
    ];
    // The operator's own label is left unused: see the module documentation.
    let classifier = node(
        "TreeEnsembleClassifier",
        ML_DOMAIN,
        "tree_classifier",
        &["features"],
        &[TREE_LABEL, PROBABILITIES_OUTPUT],
        attributes,
    );
    let argmax = node(
        "ArgMax",
        "",
        "label_argmax",
        &[PROBABILITIES_OUTPUT],
        &["class_index"],
        vec![
            attr_int("axis", 1),
            attr_int("keepdims", 0),
            attr_int("select_last_index", 0),
        ],
    );
    let gather = node(
        "Gather",
        "",
        "label_gather",
        &["class_labels", "class_index"],
        &[LABEL_OUTPUT],
        vec![attr_int("axis", 0)],
    );
    let classes = dim(spec.classes.len());
    GraphProto {
        node: vec![concat, classifier, argmax, gather],
        name: Some(spec.graph_name.clone()),
        initializer: vec![string_tensor("class_labels", &[classes], &spec.classes)],
        doc_string: Some(spec.doc.clone()),
        input,
        output: vec![
            tensor_value(LABEL_OUTPUT, DataType::String, &[Dim::Batch]),
            tensor_value(
                PROBABILITIES_OUTPUT,
                DataType::Float,
                &[Dim::Batch, Dim::Fixed(classes)],
            ),
        ],
        value_info: vec![],
        sparse_initializer: vec![],
    }
}

fn validate(spec: &TreeGraphSpec) -> Result<(), OnnxExportError> {
    let invalid = |reason: String| OnnxExportError::InvalidSpec {
        graph: spec.graph_name.clone(),
        reason,
    };
    if spec.features.is_empty() {
        return Err(invalid("the model has no input features".into()));
    }
    unique_non_empty(&spec.features, "feature").map_err(invalid)?;
    if spec.classes.len() < 2 {
        return Err(invalid(format!(
            "{} classes: a classifier needs at least two",
            spec.classes.len()
        )));
    }
    unique_non_empty(&spec.classes, "class").map_err(invalid)?;
    if spec.nodes.is_empty() {
        return Err(invalid("the tree has no node".into()));
    }
    for (i, n) in spec.nodes.iter().enumerate() {
        match n {
            TreeNodeSpec::Branch {
                feature,
                threshold,
                left,
                right,
            } => {
                if *feature >= spec.features.len() {
                    return Err(invalid(format!(
                        "node {i} splits on feature {feature}, but there are {}",
                        spec.features.len()
                    )));
                }
                if !threshold.is_finite() {
                    return Err(invalid(format!("node {i} has threshold {threshold}")));
                }
                if let Some(child) = [left, right].into_iter().find(|c| **c >= spec.nodes.len()) {
                    return Err(invalid(format!(
                        "node {i} points to node {child}, but there are {}",
                        spec.nodes.len()
                    )));
                }
            }
            TreeNodeSpec::Leaf { class_weights } => {
                if class_weights.len() != spec.classes.len() {
                    return Err(invalid(format!(
                        "leaf {i} has {} class weights for {} classes",
                        class_weights.len(),
                        spec.classes.len()
                    )));
                }
                if let Some(w) = class_weights.iter().find(|w| !w.is_finite() || **w < 0.0) {
                    return Err(invalid(format!(
                        "leaf {i} has class weight {w}: weights are finite and non-negative"
                    )));
                }
            }
        }
    }
    check_tree_shape(&spec.nodes).map_err(invalid)
}

/// Every node but the root has exactly one parent and every node is reachable from the root:
/// together, the nodes form one tree (no cycle, no shared subtree, no stray node).
/// `validate` has already checked that `nodes` is not empty and every child index is in range.
fn check_tree_shape(nodes: &[TreeNodeSpec]) -> Result<(), String> {
    let mut parents = vec![0usize; nodes.len()];
    for n in nodes {
        if let TreeNodeSpec::Branch { left, right, .. } = n {
            parents[*left] += 1;
            parents[*right] += 1;
        }
    }
    if parents[0] != 0 {
        return Err("the root (node 0) is the child of another node: the tree has a cycle".into());
    }
    if let Some(i) = parents.iter().skip(1).position(|p| *p > 1) {
        return Err(format!(
            "node {} is reached from {} parents",
            i + 1,
            parents[i + 1]
        ));
    }
    let mut reached = vec![false; nodes.len()];
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        reached[i] = true;
        if let TreeNodeSpec::Branch { left, right, .. } = &nodes[i] {
            stack.extend([*left, *right]);
        }
    }
    match reached.iter().position(|r| !r) {
        Some(i) => Err(format!("node {i} is not reachable from the root")),
        None => Ok(()),
    }
}

fn unique_non_empty(names: &[String], what: &str) -> Result<(), String> {
    let mut seen = HashSet::new();
    for name in names {
        if name.is_empty() {
            return Err(format!("a {what} name is empty"));
        }
        if !seen.insert(name) {
            return Err(format!("{what} {name:?} appears twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::ModelProto;
    use crate::onnx::test_support::{assert_close, floats, session, signature};
    use prediction_api::runtime::ort::value::{DynValue, TensorElementType};
    use prost::Message;

    const SETOSA: [f32; 3] = [1.0, 0.0, 0.0];
    const VERSICOLOR: [f32; 3] = [0.0, 0.9, 0.1];
    const VIRGINICA: [f32; 3] = [0.0, 0.25, 0.75];

    fn leaf(weights: &[f32]) -> TreeNodeSpec {
        TreeNodeSpec::Leaf {
            class_weights: weights.to_vec(),
        }
    }

    fn branch(feature: usize, threshold: f32, left: usize, right: usize) -> TreeNodeSpec {
        TreeNodeSpec::Branch {
            feature,
            threshold,
            left,
            right,
        }
    }

    /// Iris-like: petal length < 2.45 is setosa, else petal width < 1.75 is versicolor. The
    /// nodes are deliberately not in depth-first order.
    fn iris() -> TreeGraphSpec {
        TreeGraphSpec {
            graph_name: "iris".into(),
            doc: "Species from sepal and petal sizes.".into(),
            features: ["sepal_length", "sepal_width", "petal_length", "petal_width"]
                .map(String::from)
                .to_vec(),
            classes: ["setosa", "versicolor", "virginica"]
                .map(String::from)
                .to_vec(),
            nodes: vec![
                branch(2, 2.45, 3, 1),
                branch(3, 1.75, 2, 4),
                leaf(&VERSICOLOR),
                leaf(&SETOSA),
                leaf(&VIRGINICA),
            ],
            metadata_props: vec![("target".into(), "species".into())],
        }
    }

    /// Runs `bytes` on rows of features and returns (labels, probabilities row by row).
    fn classify(
        bytes: &[u8],
        features: &[String],
        rows: &[Vec<f32>],
    ) -> (Vec<String>, Vec<Vec<f32>>) {
        let mut session = session(bytes);
        let inputs: Vec<(&str, DynValue)> = features
            .iter()
            .enumerate()
            .map(|(f, name)| {
                let column: Vec<f32> = rows.iter().map(|row| row[f]).collect();
                (name.as_str(), floats(&column))
            })
            .collect();
        let outputs = session.run(inputs).expect("the graph runs");
        let (label_shape, labels) = outputs[LABEL_OUTPUT].try_extract_strings().expect("labels");
        assert_eq!(label_shape.to_vec(), vec![dim(rows.len())]);
        let (shape, probabilities) = outputs[PROBABILITIES_OUTPUT]
            .try_extract_tensor::<f32>()
            .expect("probabilities");
        let classes = usize::try_from(shape[1]).expect("a class count");
        assert_eq!(shape.to_vec(), vec![dim(rows.len()), shape[1]]);
        (
            labels,
            probabilities.chunks(classes).map(<[f32]>::to_vec).collect(),
        )
    }

    fn widen(weights: &[f32]) -> Vec<f64> {
        weights.iter().map(|w| f64::from(*w)).collect()
    }

    #[test]
    fn rows_are_routed_to_their_leaf() {
        let spec = iris();
        let bytes = tree_classifier_graph(&spec).expect("a valid spec");
        let rows = vec![
            vec![5.1, 3.5, 1.4, 0.2],
            vec![6.0, 2.9, 4.5, 1.5],
            vec![6.5, 3.0, 5.5, 2.0],
        ];
        let (labels, probabilities) = classify(&bytes, &spec.features, &rows);
        assert_eq!(labels, ["setosa", "versicolor", "virginica"]);
        for (got, want) in probabilities.iter().zip([SETOSA, VERSICOLOR, VIRGINICA]) {
            assert_close(got, &widen(&want), 1e-7);
        }
    }

    #[test]
    fn a_value_equal_to_the_threshold_goes_right() {
        let spec = iris();
        let bytes = tree_classifier_graph(&spec).expect("a valid spec");
        let below = 2.45f32.next_down();
        let rows = vec![
            vec![5.0, 3.0, 2.45, 1.0],
            vec![5.0, 3.0, below, 1.0],
            vec![5.0, 3.0, 3.0, 1.75],
            vec![5.0, 3.0, 3.0, 1.75f32.next_down()],
        ];
        let (labels, _) = classify(&bytes, &spec.features, &rows);
        assert_eq!(labels, ["versicolor", "setosa", "virginica", "versicolor"]);
    }

    /// Single-feature trees whose leaf `i` is reached by `x = i`.
    fn leaves_spec(classes: &[&str], leaves: &[Vec<f32>]) -> TreeGraphSpec {
        let mut nodes = Vec::new();
        for (i, weights) in leaves.iter().enumerate() {
            if i + 1 < leaves.len() {
                // Branch at 2i, its leaf at 2i + 1, the next branch (or the last leaf) at 2i + 2.
                nodes.push(branch(0, i as f32 + 0.5, 2 * i + 1, 2 * i + 2));
            }
            nodes.push(leaf(weights));
        }
        TreeGraphSpec {
            graph_name: "leaves".into(),
            doc: String::new(),
            features: vec!["x".into()],
            classes: classes.iter().map(|c| c.to_string()).collect(),
            nodes,
            metadata_props: vec![],
        }
    }

    fn labels_of_leaves(classes: &[&str], leaves: &[Vec<f32>]) -> Vec<String> {
        let spec = leaves_spec(classes, leaves);
        let bytes = tree_classifier_graph(&spec).expect("a valid spec");
        let rows: Vec<Vec<f32>> = (0..leaves.len()).map(|i| vec![i as f32]).collect();
        let (labels, probabilities) = classify(&bytes, &spec.features, &rows);
        for (got, want) in probabilities.iter().zip(leaves) {
            assert_close(got, &widen(want), 1e-7);
        }
        labels
    }

    #[test]
    fn on_a_tie_the_class_listed_first_wins() {
        let third = 1.0 / 3.0;
        let leaves = [
            vec![0.5, 0.5, 0.0],
            vec![0.0, 0.5, 0.5],
            vec![0.5, 0.0, 0.5],
            vec![third, third, third],
            vec![0.2, 0.3, 0.5],
        ];
        assert_eq!(
            labels_of_leaves(&["a", "b", "c"], &leaves),
            ["a", "b", "a", "a", "c"]
        );
        // The rule follows the order of `classes`, not the labels' alphabetical order.
        assert_eq!(
            labels_of_leaves(&["c", "b", "a"], &leaves),
            ["c", "b", "c", "c", "a"]
        );
    }

    #[test]
    fn two_classes_follow_the_same_argmax_rule() {
        let leaves = [
            vec![0.5, 0.5],
            vec![0.8, 0.2],
            vec![0.2, 0.8],
            vec![1.0, 0.0],
            vec![0.0, 1.0],
        ];
        assert_eq!(
            labels_of_leaves(&["no", "yes"], &leaves),
            ["no", "no", "yes", "no", "yes"]
        );
    }

    /// The labels of the tree operator itself (exposed as an extra output) and of the graph,
    /// for leaf `i` reached by `x = i`.
    fn operator_and_graph_labels(
        classes: &[&str],
        leaves: &[Vec<f32>],
    ) -> (Vec<String>, Vec<String>) {
        let spec = leaves_spec(classes, leaves);
        let bytes = tree_classifier_graph(&spec).expect("a valid spec");
        let mut model = ModelProto::decode(&bytes[..]).expect("our own bytes decode");
        let graph = model.graph.as_mut().expect("a graph");
        graph
            .output
            .push(tensor_value(TREE_LABEL, DataType::String, &[Dim::Batch]));
        let mut session = session(&model.encode_to_vec());
        let xs: Vec<f32> = (0..leaves.len()).map(|i| i as f32).collect();
        let outputs = session
            .run(vec![("x", floats(&xs))])
            .expect("the graph runs");
        let (_, operator) = outputs[TREE_LABEL].try_extract_strings().expect("labels");
        let (_, graph) = outputs[LABEL_OUTPUT].try_extract_strings().expect("labels");
        (operator, graph)
    }

    /// Why the label is computed by `ArgMax`: ONNX Runtime's own label agrees with it for three
    /// classes (lowest index on ties) but not for two. If this starts failing, ONNX Runtime
    /// changed, and the module documentation should say so.
    #[test]
    fn the_tree_operator_label_agrees_for_three_classes_but_not_two() {
        let leaves = [
            vec![0.5, 0.5, 0.0],
            vec![0.0, 0.5, 0.5],
            vec![0.2, 0.3, 0.5],
        ];
        let (operator, graph) = operator_and_graph_labels(&["a", "b", "c"], &leaves);
        assert_eq!(operator, ["a", "b", "c"]);
        assert_eq!(graph, operator);

        let leaves = [vec![0.8, 0.2], vec![0.5, 0.5], vec![1.0, 0.0]];
        let (operator, graph) = operator_and_graph_labels(&["no", "yes"], &leaves);
        assert_eq!(operator, ["yes", "yes", "no"]);
        assert_eq!(graph, ["no", "no", "no"]);
    }

    #[test]
    fn the_signature_is_float_columns_in_and_label_and_probabilities_out() {
        let bytes = tree_classifier_graph(&iris()).expect("a valid spec");
        let session = session(&bytes);
        let batch = || vec!["N".to_string(), String::new()];
        let inputs = signature(session.inputs());
        let expected: Vec<_> = iris()
            .features
            .into_iter()
            .map(|f| (f, TensorElementType::Float32, vec![-1, 1], batch()))
            .collect();
        assert_eq!(inputs, expected);
        assert_eq!(
            signature(session.outputs()),
            vec![
                (
                    LABEL_OUTPUT.into(),
                    TensorElementType::String,
                    vec![-1],
                    vec!["N".to_string()]
                ),
                (
                    PROBABILITIES_OUTPUT.into(),
                    TensorElementType::Float32,
                    vec![-1, 3],
                    batch()
                ),
            ]
        );
        let metadata = session.metadata().expect("metadata");
        assert_eq!(metadata.custom("target").as_deref(), Some("species"));
    }

    #[test]
    fn the_same_spec_encodes_to_the_same_bytes() {
        let first = tree_classifier_graph(&iris()).expect("valid");
        assert_eq!(
            first,
            tree_classifier_graph(&iris().clone()).expect("valid")
        );
        let mut other = iris();
        other.nodes[0] = branch(2, 2.5, 3, 1);
        assert_ne!(first, tree_classifier_graph(&other).expect("valid"));
    }

    #[test]
    fn a_single_leaf_tree_is_valid() {
        let spec = TreeGraphSpec {
            nodes: vec![leaf(&VIRGINICA)],
            ..iris()
        };
        let bytes = tree_classifier_graph(&spec).expect("a valid spec");
        let (labels, _) = classify(&bytes, &spec.features, &[vec![0.0; 4]]);
        assert_eq!(labels, ["virginica"]);
    }

    fn error_of(spec: &TreeGraphSpec) -> String {
        tree_classifier_graph(spec)
            .expect_err("an invalid spec")
            .to_string()
    }

    fn with_nodes(nodes: Vec<TreeNodeSpec>) -> TreeGraphSpec {
        TreeGraphSpec { nodes, ..iris() }
    }

    #[test]
    fn invalid_specs_are_refused_with_a_reason() {
        let cases: Vec<(TreeGraphSpec, &str)> = vec![
            (with_nodes(vec![]), "no node"),
            (
                with_nodes(vec![branch(4, 1.0, 1, 2), leaf(&SETOSA), leaf(&SETOSA)]),
                "feature 4",
            ),
            (
                with_nodes(vec![
                    branch(0, f32::NAN, 1, 2),
                    leaf(&SETOSA),
                    leaf(&SETOSA),
                ]),
                "threshold NaN",
            ),
            (
                with_nodes(vec![branch(0, 1.0, 1, 3), leaf(&SETOSA), leaf(&SETOSA)]),
                "points to node 3",
            ),
            (
                with_nodes(vec![branch(0, 1.0, 1, 0), leaf(&SETOSA)]),
                "cycle",
            ),
            (
                with_nodes(vec![
                    branch(0, 1.0, 1, 2),
                    branch(1, 1.0, 2, 3),
                    leaf(&SETOSA),
                    leaf(&SETOSA),
                ]),
                "node 2 is reached from 2 parents",
            ),
            (
                with_nodes(vec![
                    branch(0, 1.0, 1, 2),
                    leaf(&SETOSA),
                    leaf(&SETOSA),
                    leaf(&SETOSA),
                ]),
                "node 3 is not reachable",
            ),
            (
                with_nodes(vec![
                    branch(0, 1.0, 1, 2),
                    branch(1, 1.0, 3, 4),
                    leaf(&SETOSA),
                    branch(1, 2.0, 1, 4),
                    leaf(&SETOSA),
                ]),
                "parents",
            ),
            (
                with_nodes(vec![leaf(&[0.5, 0.5])]),
                "2 class weights for 3 classes",
            ),
            (
                with_nodes(vec![leaf(&[1.5, -0.5, 0.0])]),
                "class weight -0.5",
            ),
            (
                with_nodes(vec![leaf(&[f32::INFINITY, 0.0, 0.0])]),
                "class weight inf",
            ),
            (
                TreeGraphSpec {
                    classes: vec!["only".into()],
                    nodes: vec![leaf(&[1.0])],
                    ..iris()
                },
                "at least two",
            ),
            (
                TreeGraphSpec {
                    classes: vec!["a".into(), "b".into(), "a".into()],
                    ..iris()
                },
                "class \"a\" appears twice",
            ),
            (
                TreeGraphSpec {
                    features: vec![],
                    ..iris()
                },
                "no input features",
            ),
            (
                TreeGraphSpec {
                    features: ["a", "b", "a", "c"].map(String::from).to_vec(),
                    ..iris()
                },
                "feature \"a\" appears twice",
            ),
            (
                TreeGraphSpec {
                    features: ["a", "", "b", "c"].map(String::from).to_vec(),
                    ..iris()
                },
                "feature name is empty",
            ),
            (
                TreeGraphSpec {
                    features: ["a", "label", "b", "c"].map(String::from).to_vec(),
                    ..iris()
                },
                "defined twice",
            ),
            (
                TreeGraphSpec {
                    graph_name: String::new(),
                    ..iris()
                },
                "graph name is empty",
            ),
        ];
        for (spec, expected) in cases {
            let error = error_of(&spec);
            assert!(
                error.contains(expected),
                "{error:?} should mention {expected:?}"
            );
        }
    }
}
