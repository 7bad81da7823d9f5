//! Stage `train iris`: a linfa-trees decision tree on the four measurements, made reproducible.
//!
//! linfa-trees 0.8.1 sums class frequencies in `HashMap` order, which changes with every
//! process, so among splits that are exactly as good it picks one at random (the same data
//! gives trees of different shapes). We cannot seed that order, so the trainer fits the tree
//! `iris.fits` times, reduces each fit to its canonical form (preorder list of splits and
//! leaves) and keeps the smallest tree, ties broken by the canonical text. Every fit is an
//! equally valid linfa tree; the choice among them no longer depends on the process. The
//! number of distinct trees and how often each appeared is written to `fits.json`, so the
//! margin (the chance of never drawing the canonical tree in `fits` draws) can be checked.
//!
//! Two further rules make linfa and ONNX Runtime agree on every input:
//! - inputs are rounded to f32 before fitting (the graph takes `float`), and each f64 split
//!   value `t` is exported as the smallest f32 `>= t`, so `x < t` holds in f64 exactly when it
//!   holds in f32;
//! - a leaf whose class counts tie must predict the tie winner of the ONNX classifier (the
//!   lowest class index); fits that break a tie the other way are not eligible.

use std::collections::BTreeMap;

use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality, TreeNode};
use ndarray16::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::dataset::{self, Table, Target};
use crate::features::Preprocessing;
use crate::fsutil::{read_json, write_atomic, write_json};
use crate::layout::Layout;
use crate::metadata;
use crate::onnx::{TreeGraphSpec, TreeNodeSpec, tree_classifier_graph};
use crate::params::{IrisParams, Params, SplitQualityParam};

pub const NAME: &str = "iris";

/// The fitted linfa tree (`artifacts/iris/model.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct IrisModel {
    pub tree: DecisionTree<f64, usize>,
}

/// A tree in canonical form: nodes in preorder, children by index.
#[derive(Debug, Clone, PartialEq)]
pub enum CanonicalNode {
    Branch {
        feature: usize,
        threshold: f32,
        left: usize,
        right: usize,
    },
    Leaf {
        label: usize,
        counts: Vec<usize>,
    },
}

/// The records as linfa sees them: f32-rounded values widened to f64.
pub fn records(table: &Table) -> anyhow::Result<Array2<f64>> {
    let rows = table.rows();
    let mut flat = Vec::with_capacity(rows * table.numeric.len());
    for r in 0..rows {
        flat.extend(table.numeric.iter().map(|col| f64::from(col[r] as f32)));
    }
    Ok(Array2::from_shape_vec((rows, table.numeric.len()), flat)?)
}

fn labels(table: &Table) -> anyhow::Result<&[usize]> {
    match &table.target {
        Target::Class(v) => Ok(v),
        Target::Numeric(_) => anyhow::bail!("the iris target must be a class"),
    }
}

/// The smallest f32 that is >= `t`: for every f32 `x`, `(x as f64) < t` iff `x < threshold`.
pub fn f32_threshold(t: f64) -> f32 {
    let nearest = t as f32;
    if f64::from(nearest) >= t {
        nearest
    } else {
        nearest.next_up()
    }
}

impl IrisModel {
    /// The canonical form, with leaf class counts from routing `train` through the tree.
    pub fn canonical(&self, x: &Array2<f64>, y: &[usize], classes: usize) -> Vec<CanonicalNode> {
        let mut nodes = Vec::new();
        let rows: Vec<usize> = (0..y.len()).collect();
        push_node(self.tree.root_node(), &rows, x, y, classes, &mut nodes);
        nodes
    }

    pub fn predict(&self, table: &Table) -> anyhow::Result<Vec<usize>> {
        let x = records(table)?;
        let predicted: Array1<usize> = self.tree.predict(&x);
        Ok(predicted.to_vec())
    }
}

fn push_node(
    node: &TreeNode<f64, usize>,
    rows: &[usize],
    x: &Array2<f64>,
    y: &[usize],
    classes: usize,
    out: &mut Vec<CanonicalNode>,
) -> usize {
    let at = out.len();
    let children = node.children();
    match (
        node.prediction(),
        children.first().and_then(|c| c.as_ref()),
        children.get(1).and_then(|c| c.as_ref()),
    ) {
        (None, Some(left), Some(right)) => {
            let (feature, split, _) = node.split();
            out.push(CanonicalNode::Branch {
                feature,
                threshold: f32_threshold(split),
                left: 0,
                right: 0,
            });
            let (l_rows, r_rows): (Vec<usize>, Vec<usize>) =
                rows.iter().partition(|&&r| x[(r, feature)] < split);
            let l = push_node(left, &l_rows, x, y, classes, out);
            let r = push_node(right, &r_rows, x, y, classes, out);
            out[at] = CanonicalNode::Branch {
                feature,
                threshold: f32_threshold(split),
                left: l,
                right: r,
            };
        }
        (label, _, _) => {
            let mut counts = vec![0usize; classes];
            for &r in rows {
                counts[y[r]] += 1;
            }
            out.push(CanonicalNode::Leaf {
                label: label.unwrap_or(0),
                counts,
            });
        }
    }
    at
}

/// The canonical text of a tree: a total order on trees that does not depend on the process.
fn canonical_text(nodes: &[CanonicalNode]) -> String {
    nodes
        .iter()
        .map(|n| match n {
            CanonicalNode::Branch {
                feature,
                threshold,
                left,
                right,
            } => format!("B{feature}<{threshold:?}:{left},{right}"),
            CanonicalNode::Leaf { label, counts } => format!("L{label}{counts:?}"),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The label ONNX Runtime's TreeEnsembleClassifier gives a leaf: the highest weight, the lowest
/// class index among equals.
pub fn onnx_label(counts: &[usize]) -> usize {
    let max = counts.iter().copied().max().unwrap_or(0);
    counts.iter().position(|&c| c == max).unwrap_or(0)
}

fn eligible(nodes: &[CanonicalNode]) -> bool {
    nodes.iter().all(|n| match n {
        CanonicalNode::Leaf { label, counts } => {
            counts.iter().sum::<usize>() == 0 || *label == onnx_label(counts)
        }
        CanonicalNode::Branch { .. } => true,
    })
}

/// How the canonical tree was chosen (`artifacts/iris/fits.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct FitReport {
    pub fits: usize,
    /// Canonical text → how many fits gave that tree.
    pub variants: BTreeMap<String, usize>,
    pub chosen: String,
    pub chosen_nodes: usize,
}

fn hyperparameters(p: &IrisParams) -> linfa_trees::DecisionTreeParams<f64, usize> {
    DecisionTree::params()
        .split_quality(match p.split_quality {
            SplitQualityParam::Gini => SplitQuality::Gini,
            SplitQualityParam::Entropy => SplitQuality::Entropy,
        })
        .max_depth(Some(p.max_depth))
        .min_weight_split(p.min_weight_split)
        .min_weight_leaf(p.min_weight_leaf)
        .min_impurity_decrease(p.min_impurity_decrease)
}

/// Fits `p.fits` trees and returns the canonical one.
pub fn fit_canonical(
    p: &IrisParams,
    train: &Table,
    classes: usize,
) -> anyhow::Result<(IrisModel, Vec<CanonicalNode>, FitReport)> {
    let x = records(train)?;
    let y = labels(train)?;
    let data = Dataset::new(x.clone(), Array1::from(y.to_vec()));
    let params = hyperparameters(p);
    let mut variants: BTreeMap<String, usize> = BTreeMap::new();
    let mut best: Option<(usize, String, IrisModel, Vec<CanonicalNode>)> = None;
    for i in 0..p.fits {
        let model = IrisModel {
            tree: params.fit(&data)?,
        };
        let nodes = model.canonical(&x, y, classes);
        let text = canonical_text(&nodes);
        *variants.entry(text.clone()).or_insert(0) += 1;
        let better = best
            .as_ref()
            .is_none_or(|(n, t, _, _)| (nodes.len(), &text) < (*n, t));
        if eligible(&nodes) && better {
            best = Some((nodes.len(), text, model, nodes));
        }
        if (i + 1) % 64 == 0 || i + 1 == p.fits {
            eprintln!(
                "train iris: {}/{} fits, {} distinct trees",
                i + 1,
                p.fits,
                variants.len()
            );
        }
    }
    let (n, chosen, model, nodes) = best.ok_or_else(|| {
        anyhow::anyhow!("no fit had leaves consistent with the ONNX tie rule; raise iris.fits")
    })?;
    Ok((
        model,
        nodes,
        FitReport {
            fits: p.fits,
            variants,
            chosen,
            chosen_nodes: n,
        },
    ))
}

/// The exported graph.
pub fn graph(
    pre: &Preprocessing,
    classes: &[String],
    nodes: &[CanonicalNode],
    props: Vec<(String, String)>,
) -> anyhow::Result<Vec<u8>> {
    let spec = TreeGraphSpec {
        graph_name: NAME.to_string(),
        doc: "Iris species from sepal and petal measurements (cm), linfa-trees DecisionTree"
            .to_string(),
        features: pre.numeric.iter().map(|f| f.name.clone()).collect(),
        classes: classes.to_vec(),
        nodes: nodes
            .iter()
            .map(|n| match n {
                CanonicalNode::Branch {
                    feature,
                    threshold,
                    left,
                    right,
                } => TreeNodeSpec::Branch {
                    feature: *feature,
                    threshold: *threshold,
                    left: *left,
                    right: *right,
                },
                CanonicalNode::Leaf { counts, .. } => {
                    let total = counts.iter().sum::<usize>().max(1) as f32;
                    TreeNodeSpec::Leaf {
                        class_weights: counts.iter().map(|&c| c as f32 / total).collect(),
                    }
                }
            })
            .collect(),
        metadata_props: props,
    };
    Ok(tree_classifier_graph(&spec)?)
}

/// Runs the stage.
pub fn run(layout: &Layout, params: &Params) -> anyhow::Result<()> {
    let schema = params.dataset(NAME)?;
    let classes = schema.classes.clone().unwrap_or_default();
    let train = dataset::load(&layout.processed(NAME, "train.csv"), schema)?;
    let pre = Preprocessing::load(layout, NAME)?;
    let (model, nodes, report) = fit_canonical(&params.iris, &train, classes.len())?;
    eprintln!(
        "train iris: kept a tree of {} nodes ({} distinct trees in {} fits)",
        report.chosen_nodes,
        report.variants.len(),
        report.fits
    );
    let algorithm = format!(
        "linfa-trees DecisionTree ({:?}, max depth {})",
        params.iris.split_quality, params.iris.max_depth
    );
    let mut meta = metadata::draft(layout, params, NAME, &pre, &train, algorithm)?;
    let graph = graph(&pre, &classes, &nodes, metadata::graph_props(&meta))?;
    meta.model_sha256 = metadata::sha256_hex(&graph);
    write_json(&layout.trained(NAME, "fits.json"), &report)?;
    write_json(&layout.trained(NAME, "model.json"), &model)?;
    write_json(&layout.trained(NAME, "metadata.json"), &meta)?;
    write_atomic(&layout.trained(NAME, "model.onnx"), &graph)?;
    Ok(())
}

pub fn load_model(layout: &Layout) -> anyhow::Result<IrisModel> {
    read_json(&layout.trained(NAME, "model.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_threshold_preserves_every_comparison() {
        for t in [2.45f64, 0.8, 1.75, 4.95, 5.05, 3.0, -1.3] {
            let t32 = f32_threshold(t);
            assert!(f64::from(t32) >= t);
            // The neighbours of the threshold compare the same way in both precisions.
            for x in [t32.next_down(), t32, t32.next_up(), t as f32] {
                assert_eq!(f64::from(x) < t, x < t32, "t={t} x={x}");
            }
        }
    }

    #[test]
    fn onnx_label_takes_the_lowest_index_on_ties() {
        assert_eq!(onnx_label(&[0, 3, 3]), 1);
        assert_eq!(onnx_label(&[5, 0, 1]), 0);
    }
}
