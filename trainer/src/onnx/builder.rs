//! Small constructors for graph pieces, and the one place a model becomes bytes.
//!
//! Everything here is a pure function of its arguments: no timestamps, no generated ids, and
//! lists keep the order they are given in, so the same graph always encodes to the same bytes.

use std::collections::BTreeSet;
use std::collections::HashSet;

use prost::Message;

use super::OnnxExportError;
use super::proto::tensor_shape_proto::{Dimension, dimension};
use super::proto::{
    AttributeProto, AttributeType, DataType, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, type_proto,
};

/// The ONNX IR version we write. ONNX Runtime 1.31 reads up to 13; 10 is what everything we
/// checked (ONNX Runtime, the onnx 1.23 checker) accepts.
pub const IR_VERSION: i64 = 10;
/// The default-domain (`""`) operator set version.
pub const OPSET_VERSION: i64 = 21;
/// The domain of the classic ML operators (`TreeEnsembleClassifier`, ...).
pub const ML_DOMAIN: &str = "ai.onnx.ml";
/// The `ai.onnx.ml` operator set version.
pub const ML_OPSET_VERSION: i64 = 3;
/// `producer_name` of every model we write.
pub const PRODUCER_NAME: &str = "prediction-api trainer";
/// The symbolic batch dimension of every graph input and output.
pub const BATCH_DIM: &str = "N";

/// One axis of a declared input or output shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// The batch axis, named [`BATCH_DIM`].
    Batch,
    Fixed(i64),
}

/// A typed tensor input or output of the graph.
pub fn tensor_value(name: &str, elem_type: DataType, shape: &[Dim]) -> ValueInfoProto {
    let dim = shape
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Batch => dimension::Value::DimParam(BATCH_DIM.to_string()),
                Dim::Fixed(n) => dimension::Value::DimValue(*n),
            }),
            denotation: None,
        })
        .collect();
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem_type as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
            denotation: None,
        }),
        doc_string: None,
    }
}

/// A node; `domain` is `""` for standard operators.
pub fn node(
    op_type: &str,
    domain: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: Some(name.to_string()),
        op_type: Some(op_type.to_string()),
        // Like onnx.helper, the default domain is left absent rather than written as "".
        domain: (!domain.is_empty()).then(|| domain.to_string()),
        attribute,
        doc_string: None,
    }
}

fn attribute(name: &str, kind: AttributeType) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(kind as i32),
        ..AttributeProto::default()
    }
}

pub fn attr_int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        i: Some(value),
        ..attribute(name, AttributeType::Int)
    }
}

pub fn attr_string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        s: Some(value.as_bytes().to_vec()),
        ..attribute(name, AttributeType::String)
    }
}

pub fn attr_ints(name: &str, values: Vec<i64>) -> AttributeProto {
    AttributeProto {
        ints: values,
        ..attribute(name, AttributeType::Ints)
    }
}

pub fn attr_floats(name: &str, values: Vec<f32>) -> AttributeProto {
    AttributeProto {
        floats: values,
        ..attribute(name, AttributeType::Floats)
    }
}

pub fn attr_strings<S: AsRef<str>>(name: &str, values: &[S]) -> AttributeProto {
    AttributeProto {
        strings: values
            .iter()
            .map(|s| s.as_ref().as_bytes().to_vec())
            .collect(),
        ..attribute(name, AttributeType::Strings)
    }
}

/// A length or index as ONNX stores it (int64). In-memory lengths always fit.
pub fn dim(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// A float constant of the given shape (row-major `values`).
pub fn float_tensor(name: &str, dims: &[i64], values: Vec<f32>) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: Some(DataType::Float as i32),
        float_data: values,
        name: Some(name.to_string()),
        ..TensorProto::default()
    }
}

/// A string constant of the given shape (row-major `values`).
pub fn string_tensor<S: AsRef<str>>(name: &str, dims: &[i64], values: &[S]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: Some(DataType::String as i32),
        string_data: values
            .iter()
            .map(|s| s.as_ref().as_bytes().to_vec())
            .collect(),
        name: Some(name.to_string()),
        ..TensorProto::default()
    }
}

/// Wraps a finished graph into a model: IR version, the operator sets its nodes use (the
/// default domain always, `ai.onnx.ml` only when a node needs it) and the metadata, in order.
pub fn model(graph: GraphProto, doc: &str, metadata: &[(String, String)]) -> ModelProto {
    // A BTreeSet keeps the opset list in a fixed order whatever the node order is.
    let domains: BTreeSet<&str> = graph
        .node
        .iter()
        .filter_map(|n| n.domain.as_deref())
        .chain([""])
        .collect();
    let opset_import = domains
        .into_iter()
        .map(|domain| OperatorSetIdProto {
            domain: Some(domain.to_string()),
            version: Some(if domain == ML_DOMAIN {
                ML_OPSET_VERSION
            } else {
                OPSET_VERSION
            }),
        })
        .collect();
    ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import,
        producer_name: Some(PRODUCER_NAME.to_string()),
        producer_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        domain: None,
        model_version: None,
        doc_string: Some(doc.to_string()),
        graph: Some(graph),
        metadata_props: metadata
            .iter()
            .map(|(key, value)| StringStringEntryProto {
                key: Some(key.clone()),
                value: Some(value.clone()),
            })
            .collect(),
        functions: vec![],
    }
}

/// The protobuf bytes of `model`.
pub fn encode(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}

/// Checks what every graph needs whatever it computes: a name, metadata keys that are
/// non-empty and unique, and each value name (input, constant, node output) defined once, so
/// that a feature called like an internal value cannot silently rewire the graph.
pub fn check_graph(
    graph: &GraphProto,
    metadata: &[(String, String)],
) -> Result<(), OnnxExportError> {
    let graph_name = graph.name.clone().unwrap_or_default();
    let invalid = |reason: String| OnnxExportError::InvalidSpec {
        graph: graph_name.clone(),
        reason,
    };
    if graph_name.is_empty() {
        return Err(invalid("the graph name is empty".into()));
    }
    let mut keys = HashSet::new();
    for (key, _) in metadata {
        if key.is_empty() {
            return Err(invalid("a metadata key is empty".into()));
        }
        if !keys.insert(key.as_str()) {
            return Err(invalid(format!("metadata key {key:?} appears twice")));
        }
    }
    let defined = graph
        .input
        .iter()
        .filter_map(|v| v.name.as_deref())
        .chain(graph.initializer.iter().filter_map(|t| t.name.as_deref()))
        .chain(
            graph
                .node
                .iter()
                .flat_map(|n| n.output.iter().map(String::as_str)),
        );
    let mut seen = HashSet::new();
    for name in defined {
        if !seen.insert(name) {
            return Err(invalid(format!(
                "the name {name:?} would be defined twice (an input named like another input \
                 or like an internal value of the graph)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes onnx 1.23.2's reference serializer writes for the same model (built with
    /// `onnx.helper` and `SerializeToString`): field numbers, wire types, packing and optional
    /// presence all agree.
    const REFERENCE: &str = "080a1201701a013132026d643ac6010a5b0a01780a01631201791a016e22024f702a080a01691800a001022a090a0173220176a001032a140a026973400140ffffffffffffffffff01a001072a0c0a0266733d0000803ea001062a0d0a0273734a01614a0162a001083a01640a140a017912017a1a026e3222084964656e746974791201672a1308010802100122080000803f000000c04201632a0d08021008320170320171420173520267645a140a0178120f0a0d080112090a0312014e0a02080262100a017a120b0a09080812050a0312014e42040a00101542050a0164100372060a016b120176";

    #[test]
    fn encoding_matches_the_reference_serializer() {
        let op = node(
            "Op",
            "d",
            "n",
            &["x", "c"],
            &["y"],
            vec![
                attr_int("i", 0),
                attr_string("s", "v"),
                attr_ints("is", vec![1, -1]),
                attr_floats("fs", vec![0.25]),
                attr_strings("ss", &["a", "b"]),
            ],
        );
        let graph = GraphProto {
            node: vec![op, node("Identity", "", "n2", &["y"], &["z"], vec![])],
            name: Some("g".into()),
            initializer: vec![
                float_tensor("c", &[1, 2], vec![1.0, -2.0]),
                string_tensor("s", &[2], &["p", "q"]),
            ],
            doc_string: Some("gd".into()),
            input: vec![tensor_value(
                "x",
                DataType::Float,
                &[Dim::Batch, Dim::Fixed(2)],
            )],
            output: vec![tensor_value("z", DataType::String, &[Dim::Batch])],
            value_info: vec![],
            sparse_initializer: vec![],
        };
        let model = ModelProto {
            ir_version: Some(10),
            opset_import: vec![
                OperatorSetIdProto {
                    domain: Some(String::new()),
                    version: Some(21),
                },
                OperatorSetIdProto {
                    domain: Some("d".into()),
                    version: Some(3),
                },
            ],
            producer_name: Some("p".into()),
            producer_version: Some("1".into()),
            domain: None,
            model_version: None,
            doc_string: Some("md".into()),
            graph: Some(graph),
            metadata_props: vec![StringStringEntryProto {
                key: Some("k".into()),
                value: Some("v".into()),
            }],
            functions: vec![],
        };
        let hex: String = encode(&model).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, REFERENCE);
    }

    #[test]
    fn opsets_are_the_domains_the_nodes_use() {
        let graph = |domains: &[&str]| GraphProto {
            node: domains
                .iter()
                .map(|d| node("Op", d, "n", &[], &[], vec![]))
                .collect(),
            ..GraphProto::default()
        };
        let opsets = |model: ModelProto| -> Vec<(String, i64)> {
            model
                .opset_import
                .into_iter()
                .map(|o| (o.domain.unwrap_or_default(), o.version.unwrap_or_default()))
                .collect()
        };
        assert_eq!(
            opsets(model(graph(&[""]), "", &[])),
            [(String::new(), OPSET_VERSION)]
        );
        assert_eq!(
            opsets(model(graph(&[ML_DOMAIN, "", ML_DOMAIN]), "", &[])),
            [
                (String::new(), OPSET_VERSION),
                (ML_DOMAIN.to_string(), ML_OPSET_VERSION)
            ]
        );
    }
}
