//! Reading an ONNX file as data, without running it: the protobuf messages and what the server
//! learns from a graph before ONNX Runtime sees it: valid values to warm a model up with, and
//! the checks that refuse hostile graphs ([`check`]).

pub mod check;
pub mod proto;

use std::collections::{HashMap, HashSet, VecDeque};

use prost::Message;

pub use check::{CheckError, check_model, external_locations};
use proto::{AttributeProto, GraphProto, ModelProto, NodeProto};

/// Why a file is not a readable ONNX model.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("not an ONNX model: {0}")]
    Decode(String),
    #[error("not an ONNX model: the file is empty")]
    Empty,
    #[error("not an ONNX model: it has no graph")]
    NoGraph,
}

/// Decodes the bytes of a `.onnx` file.
pub fn decode(bytes: &[u8]) -> Result<ModelProto, GraphError> {
    if bytes.is_empty() {
        return Err(GraphError::Empty);
    }
    let model = ModelProto::decode(bytes).map_err(|e| GraphError::Decode(e.to_string()))?;
    if model.graph.is_none() {
        return Err(GraphError::NoGraph);
    }
    Ok(model)
}

/// The graph inputs declared without a shape: tensors of any rank. ONNX Runtime describes such
/// an input with the empty shape of a scalar; only the graph tells the two apart (a scalar
/// has a shape with no dimensions, an input of any rank has no shape at all).
pub fn unranked_inputs(model: &ModelProto) -> HashSet<String> {
    let Some(graph) = &model.graph else {
        return HashSet::new();
    };
    graph
        .input
        .iter()
        .filter(|input| {
            matches!(
                input.r#type.as_ref().and_then(|t| t.value.as_ref()),
                Some(proto::type_proto::Value::TensorType(tensor)) if tensor.shape.is_none()
            )
        })
        .filter_map(|input| input.name.clone())
        .collect()
}

/// Where a size read from the graph goes in an input's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Last,
    At(usize),
}

/// A size an input's dimension must have for the node that reads it: the inner dimension of
/// a matrix product with constant weights, the channels of a convolution. A synthetic
/// warm-up input of any other size there does not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeHint {
    pub axis: Axis,
    pub size: usize,
}

/// For each graph input read directly by a `MatMul`, `Gemm` or `Conv` with constant weights,
/// the size those weights need along one of its axes.
pub fn size_hints(model: &ModelProto) -> HashMap<String, Vec<SizeHint>> {
    let Some(graph) = &model.graph else {
        return HashMap::new();
    };
    let weights: HashMap<&str, &[i64]> = graph
        .initializer
        .iter()
        .filter_map(|t| Some((t.name.as_deref()?, t.dims.as_slice())))
        .collect();
    let mut hints: HashMap<String, Vec<SizeHint>> = HashMap::new();
    for input in graph.input.iter().filter_map(|i| i.name.as_deref()) {
        for node in graph
            .node
            .iter()
            .filter(|n| n.input.first().map(String::as_str) == Some(input))
        {
            let dims = node
                .input
                .get(1)
                .and_then(|w| weights.get(w.as_str()).copied());
            if let Some(hint) = dims.and_then(|dims| size_needed(node, dims)) {
                hints.entry(input.to_string()).or_default().push(hint);
            }
        }
    }
    hints
}

/// The size `node` needs its first input to have, given its constant second input's `dims`.
fn size_needed(node: &NodeProto, dims: &[i64]) -> Option<SizeHint> {
    let attribute = |name: &str| {
        node.attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
            .and_then(|a| a.i)
    };
    let (axis, size) = match (node.op_type.as_deref()?, dims) {
        // x @ W: x's last dimension is W's second to last (its only one for a vector).
        ("MatMul", [k]) | ("MatMul", [.., k, _]) => (Axis::Last, *k),
        ("Gemm", [rows, columns]) if attribute("transA").unwrap_or(0) == 0 => {
            let k = if attribute("transB").unwrap_or(0) == 1 {
                columns
            } else {
                rows
            };
            (Axis::At(1), *k)
        }
        // W is [out channels, in channels / group, kernel…].
        ("Conv", [_, per_group, _, ..]) => {
            let group = attribute("group").unwrap_or(1);
            (Axis::At(1), per_group.checked_mul(group)?)
        }
        _ => return None,
    };
    let size = usize::try_from(size).ok().filter(|&s| s > 0)?;
    Some(SizeHint { axis, size })
}

/// A value a graph input is known to accept, found in the category list of an encoder that
/// consumes it (OneHotEncoder, LabelEncoder, CategoryMapper…).
#[derive(Debug, Clone, PartialEq)]
pub enum KnownValue {
    String(String),
    Int(i64),
}

/// How many nodes downstream of an input to look for its encoder.
const SEARCH_DEPTH: usize = 4;

/// For each graph input that feeds a categorical encoder, one category that encoder knows.
/// A synthetic warm-up run with these values passes encoders that refuse unknown categories
/// (scikit-learn's default `OneHotEncoder(handle_unknown="error")`).
pub fn known_input_values(model: &ModelProto) -> HashMap<String, KnownValue> {
    let Some(graph) = &model.graph else {
        return HashMap::new();
    };
    graph
        .input
        .iter()
        .filter_map(|i| i.name.clone())
        .filter_map(|name| first_category(graph, &name).map(|v| (name, v)))
        .collect()
}

fn first_category(graph: &GraphProto, input: &str) -> Option<KnownValue> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut queue: VecDeque<(&str, usize)> = VecDeque::from([(input, 0)]);
    while let Some((value, depth)) = queue.pop_front() {
        if depth >= SEARCH_DEPTH || !seen.insert(value) {
            continue;
        }
        for node in graph
            .node
            .iter()
            .filter(|n| n.input.iter().any(|i| i == value))
        {
            if let Some(found) = node.attribute.iter().find_map(category_of) {
                return Some(found);
            }
            queue.extend(node.output.iter().map(|o| (o.as_str(), depth + 1)));
        }
    }
    None
}

fn category_of(attribute: &AttributeProto) -> Option<KnownValue> {
    let name = attribute.name.as_deref()?;
    match name {
        "cats_strings" | "keys_strings" | "classes_strings" => attribute
            .strings
            .first()
            .map(|s| KnownValue::String(String::from_utf8_lossy(s).into_owned())),
        "cats_int64s" | "keys_int64s" | "classes_int64s" => {
            attribute.ints.first().copied().map(KnownValue::Int)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::proto::{NodeProto, ValueInfoProto};
    use super::*;

    fn node(inputs: &[&str], outputs: &[&str], attribute: Option<AttributeProto>) -> NodeProto {
        NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute: attribute.into_iter().collect(),
            ..Default::default()
        }
    }

    fn strings(name: &str, values: &[&str]) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            strings: values.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn finds_the_category_of_an_encoder_downstream() {
        let graph = GraphProto {
            input: ["colour", "size"]
                .iter()
                .map(|n| ValueInfoProto {
                    name: Some(n.to_string()),
                    ..Default::default()
                })
                .collect(),
            node: vec![
                node(&["colour"], &["c1"], None),
                node(
                    &["c1"],
                    &["c2"],
                    Some(strings("cats_strings", &["red", "blue"])),
                ),
                node(&["size"], &["s1"], None),
            ],
            ..Default::default()
        };
        let model = ModelProto {
            graph: Some(graph),
            ..Default::default()
        };
        let known = known_input_values(&model);
        assert_eq!(known.get("colour"), Some(&KnownValue::String("red".into())));
        assert_eq!(known.get("size"), None);
    }

    #[test]
    fn an_input_without_a_shape_is_unranked_and_a_scalar_is_not() {
        use super::proto::{TensorShapeProto, TypeProto, type_proto};
        let input = |name: &str, shape: Option<TensorShapeProto>| ValueInfoProto {
            name: Some(name.into()),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: Some(1),
                    shape,
                })),
                denotation: None,
            }),
            ..Default::default()
        };
        let model = ModelProto {
            graph: Some(GraphProto {
                input: vec![
                    input("any", None),
                    input("scalar", Some(TensorShapeProto::default())),
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(unranked_inputs(&model), HashSet::from(["any".to_string()]));
    }

    #[test]
    fn weights_tell_the_size_their_node_needs_of_an_input() {
        use super::proto::TensorProto;
        let weight = |name: &str, dims: &[i64]| TensorProto {
            name: Some(name.into()),
            dims: dims.to_vec(),
            ..Default::default()
        };
        let int = |name: &str, i: i64| AttributeProto {
            name: Some(name.into()),
            i: Some(i),
            ..Default::default()
        };
        let op = |op: &str, inputs: &[&str], attributes: Vec<AttributeProto>| NodeProto {
            op_type: Some(op.into()),
            attribute: attributes,
            ..node(inputs, &["y"], None)
        };
        let graph = GraphProto {
            input: ["a", "b", "c", "d", "e"]
                .iter()
                .map(|n| ValueInfoProto {
                    name: Some(n.to_string()),
                    ..Default::default()
                })
                .collect(),
            initializer: vec![
                weight("w", &[2, 3]),
                weight("k", &[8, 3, 3, 3]),
                weight("v", &[5]),
            ],
            node: vec![
                op("MatMul", &["a", "w"], vec![]),
                op("Gemm", &["b", "w", "bias"], vec![int("transB", 1)]),
                op("Conv", &["c", "k"], vec![int("group", 2)]),
                op("MatMul", &["d", "v"], vec![]),
                // Weights computed in the graph say nothing.
                op("MatMul", &["e", "computed"], vec![]),
            ],
            ..Default::default()
        };
        let model = ModelProto {
            graph: Some(graph),
            ..Default::default()
        };
        let hints = size_hints(&model);
        let hint = |axis, size| vec![SizeHint { axis, size }];
        assert_eq!(hints.get("a"), Some(&hint(Axis::Last, 2)));
        assert_eq!(hints.get("b"), Some(&hint(Axis::At(1), 3)));
        assert_eq!(hints.get("c"), Some(&hint(Axis::At(1), 6)));
        assert_eq!(hints.get("d"), Some(&hint(Axis::Last, 5)));
        assert_eq!(hints.get("e"), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"definitely not protobuf \xff\xff").is_err());
        assert!(matches!(decode(b""), Err(GraphError::Empty)));
        assert!(matches!(decode(b"\x08\x0a"), Err(GraphError::NoGraph)));
    }
}
