//! Graphs built for these tests from the committed models: another iris version, external
//! data, and hostile variants.

use prediction_api::graph::proto::{DataLocation, ModelProto, StringStringEntryProto};
use prost::Message;

use crate::helpers::committed_models;

pub fn committed(name: &str) -> Vec<u8> {
    std::fs::read(committed_models().join(name).join("1/model.onnx")).expect("committed model")
}

fn decoded(name: &str) -> ModelProto {
    prediction_api::graph::decode(&committed(name)).expect("a valid graph")
}

fn graph_mut(model: &mut ModelProto) -> &mut prediction_api::graph::proto::GraphProto {
    model.graph.as_mut().expect("a graph")
}

/// The iris graph answering with other class names: same inputs, different `label` outputs.
pub fn iris_with_labels(labels: &[&str; 3]) -> Vec<u8> {
    let mut model = decoded("iris");
    let tensor = graph_mut(&mut model)
        .initializer
        .iter_mut()
        .find(|t| t.name.as_deref() == Some("class_labels"))
        .expect("class_labels");
    tensor.string_data = labels.iter().map(|l| l.as_bytes().to_vec()).collect();
    model.encode_to_vec()
}

/// The housing graph with its `coefficients` moved to an external file at `location`; returns
/// the graph and the file's bytes.
pub fn housing_with_external_coefficients(location: &str) -> (Vec<u8>, Vec<u8>) {
    let mut model = decoded("housing");
    let tensor = graph_mut(&mut model)
        .initializer
        .iter_mut()
        .find(|t| t.name.as_deref() == Some("coefficients"))
        .expect("coefficients");
    let bytes: Vec<u8> = tensor
        .float_data
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    tensor.float_data.clear();
    tensor.data_location = Some(DataLocation::External as i32);
    tensor.external_data = [
        ("location", location.to_string()),
        ("offset", "0".into()),
        ("length", bytes.len().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| StringStringEntryProto {
        key: Some(k.into()),
        value: Some(v),
    })
    .collect();
    (model.encode_to_vec(), bytes)
}

/// The iris graph with its tree ensemble moved to another operator domain.
pub fn iris_in_domain(domain: &str) -> Vec<u8> {
    let mut model = decoded("iris");
    let node = graph_mut(&mut model)
        .node
        .iter_mut()
        .find(|n| n.domain.as_deref() == Some("ai.onnx.ml"))
        .expect("the ML node");
    node.domain = Some(domain.to_string());
    model.encode_to_vec()
}

/// The iris graph declaring a default-domain opset the runtime lacks.
pub fn iris_with_opset(version: i64) -> Vec<u8> {
    let mut model = decoded("iris");
    for opset in &mut model.opset_import {
        if opset.domain.as_deref().unwrap_or("").is_empty() {
            opset.version = Some(version);
        }
    }
    model.encode_to_vec()
}

/// The iris graph with an operator no runtime has, in the default domain: only ONNX Runtime
/// itself can refuse it.
pub fn iris_with_unknown_operator() -> Vec<u8> {
    let mut model = decoded("iris");
    let node = graph_mut(&mut model).node.first_mut().expect("a node");
    node.op_type = Some("NoSuchOperator".into());
    model.encode_to_vec()
}

/// Bytes that look like nothing: a fixed pseudo-random sequence.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}
