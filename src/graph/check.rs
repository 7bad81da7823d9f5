//! Checks a graph must pass before ONNX Runtime opens it: versions the runtime has, operator
//! domains it registers, and external data files that stay inside the model's folder.
//!
//! ONNX Runtime would refuse most of these itself, but some of what it accepts is dangerous to
//! accept from an upload: an external data `location` is a path it opens, and a custom domain
//! only works with an operator library (which this server never loads). Refusing them here
//! gives the client a clear message instead of a runtime error or a file read outside the
//! repository.

use std::path::{Component, Path};

use super::proto::{
    AttributeProto, DataLocation, GraphProto, ModelProto, NodeProto, SparseTensorProto, TensorProto,
};

/// The highest IR version ONNX Runtime 1.31 reads.
pub const MAX_IR_VERSION: i64 = 13;

/// Operator domains ONNX Runtime 1.31 registers kernels for on the CPU, with the highest opset
/// of each it implements (`None`: no bound checked here, the runtime decides). Measured with
/// ONNX Runtime 1.31.1: `ai.onnx` 27 and `ai.onnx.ml` 6 are refused as "under development".
const KNOWN_DOMAINS: &[(&str, Option<i64>)] = &[
    ("", Some(26)),
    ("ai.onnx", Some(26)),
    ("ai.onnx.ml", Some(5)),
    ("com.microsoft", None),
    ("com.microsoft.nchwc", None),
    ("com.microsoft.experimental", None),
    ("com.ms.internal.nhwc", None),
    ("ai.onnx.training", None),
    ("ai.onnx.preview.training", None),
    ("org.pytorch.aten", None),
];

/// Why a graph is refused before it reaches the runtime.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("IR version {found} is newer than this runtime reads (at most {MAX_IR_VERSION})")]
    IrVersion { found: i64 },
    #[error("opset {version} of domain `{domain}` is newer than this runtime has (at most {max})")]
    Opset {
        domain: String,
        version: i64,
        max: i64,
    },
    #[error(
        "operator `{op}` is in domain `{domain}`, which this runtime does not know; custom operator libraries are never loaded"
    )]
    UnknownDomain { op: String, domain: String },
    #[error("tensor `{tensor}`: external data {reason}")]
    ExternalData { tensor: String, reason: String },
}

/// Checks `model`, whose file sits in `folder` (the version folder its external data must stay
/// inside).
pub fn check_model(model: &ModelProto, folder: &Path) -> Result<(), CheckError> {
    if let Some(found) = model.ir_version.filter(|&v| v > MAX_IR_VERSION) {
        return Err(CheckError::IrVersion { found });
    }
    let local_functions: Vec<&str> = model
        .functions
        .iter()
        .filter_map(|f| f.domain.as_deref())
        .collect();
    let opsets = model
        .opset_import
        .iter()
        .chain(model.functions.iter().flat_map(|f| &f.opset_import));
    for opset in opsets {
        let domain = opset.domain.as_deref().unwrap_or("");
        let version = opset.version.unwrap_or(0);
        if let Some((_, Some(max))) = KNOWN_DOMAINS.iter().find(|(d, _)| *d == domain)
            && version > *max
        {
            return Err(CheckError::Opset {
                domain: domain.to_string(),
                version,
                max: *max,
            });
        }
    }
    let checker = Checker {
        folder,
        local_functions: &local_functions,
    };
    if let Some(graph) = &model.graph {
        checker.graph(graph)?;
    }
    for function in &model.functions {
        function.node.iter().try_for_each(|n| checker.node(n))?;
    }
    Ok(())
}

/// The names an external data `location` points to, in a graph (for uploads: which extra files
/// a version may carry). Nested graphs included; invalid locations are returned as they are.
pub fn external_locations(model: &ModelProto) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(graph) = &model.graph {
        collect_graph(graph, &mut found);
    }
    for function in &model.functions {
        for node in &function.node {
            node.attribute
                .iter()
                .for_each(|a| collect_attribute(a, &mut found));
        }
    }
    found
}

struct Checker<'a> {
    folder: &'a Path,
    local_functions: &'a [&'a str],
}

impl Checker<'_> {
    fn graph(&self, graph: &GraphProto) -> Result<(), CheckError> {
        graph.initializer.iter().try_for_each(|t| self.tensor(t))?;
        graph
            .sparse_initializer
            .iter()
            .try_for_each(|s| self.sparse(s))?;
        graph.node.iter().try_for_each(|n| self.node(n))
    }

    fn node(&self, node: &NodeProto) -> Result<(), CheckError> {
        let domain = node.domain.as_deref().unwrap_or("");
        let known = KNOWN_DOMAINS.iter().any(|(d, _)| *d == domain)
            || self.local_functions.contains(&domain);
        if !known {
            return Err(CheckError::UnknownDomain {
                op: node.op_type.clone().unwrap_or_default(),
                domain: domain.to_string(),
            });
        }
        node.attribute.iter().try_for_each(|a| self.attribute(a))
    }

    fn attribute(&self, attribute: &AttributeProto) -> Result<(), CheckError> {
        attribute.t.iter().try_for_each(|t| self.tensor(t))?;
        attribute.tensors.iter().try_for_each(|t| self.tensor(t))?;
        attribute
            .sparse_tensor
            .iter()
            .try_for_each(|s| self.sparse(s))?;
        attribute.g.iter().try_for_each(|g| self.graph(g))?;
        attribute.graphs.iter().try_for_each(|g| self.graph(g))
    }

    fn sparse(&self, sparse: &SparseTensorProto) -> Result<(), CheckError> {
        sparse
            .values
            .iter()
            .chain(&sparse.indices)
            .try_for_each(|t| self.tensor(t))
    }

    fn tensor(&self, tensor: &TensorProto) -> Result<(), CheckError> {
        if tensor.data_location != Some(DataLocation::External as i32) {
            return Ok(());
        }
        let refused = |reason: String| CheckError::ExternalData {
            tensor: tensor.name.clone().unwrap_or_default(),
            reason,
        };
        let location = location_of(tensor).ok_or_else(|| refused("has no location".into()))?;
        check_location(location, self.folder).map_err(refused)
    }
}

fn location_of(tensor: &TensorProto) -> Option<&str> {
    tensor
        .external_data
        .iter()
        .find(|e| e.key.as_deref() == Some("location"))
        .and_then(|e| e.value.as_deref())
}

/// A location must be a relative path of plain names that, once symlinks are resolved, names
/// an existing file inside `folder`.
pub fn check_location(location: &str, folder: &Path) -> Result<(), String> {
    let path = Path::new(location);
    if location.is_empty() || location.contains('\0') || location.contains('\\') {
        return Err(format!(
            "location {location:?} is not a plain relative path"
        ));
    }
    if path.is_absolute() {
        return Err(format!("location {location:?} is absolute"));
    }
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!(
            "location {location:?} leaves the model's folder (`..` or `.`)"
        ));
    }
    let root = folder
        .canonicalize()
        .map_err(|e| format!("model folder unreadable: {e}"))?;
    let target = folder
        .join(path)
        .canonicalize()
        .map_err(|e| format!("file {location:?} cannot be read: {e}"))?;
    if !target.starts_with(&root) {
        return Err(format!(
            "location {location:?} resolves outside the model's folder"
        ));
    }
    if !target.is_file() {
        return Err(format!("location {location:?} is not a file"));
    }
    Ok(())
}

fn collect_graph(graph: &GraphProto, found: &mut Vec<String>) {
    let sparse = graph
        .sparse_initializer
        .iter()
        .flat_map(|s| s.values.iter().chain(&s.indices));
    for tensor in graph.initializer.iter().chain(sparse) {
        collect_tensor(tensor, found);
    }
    for node in &graph.node {
        node.attribute
            .iter()
            .for_each(|a| collect_attribute(a, found));
    }
}

fn collect_attribute(attribute: &AttributeProto, found: &mut Vec<String>) {
    for tensor in attribute.t.iter().chain(&attribute.tensors) {
        collect_tensor(tensor, found);
    }
    for graph in attribute.g.iter().map(|g| &**g).chain(&attribute.graphs) {
        collect_graph(graph, found);
    }
}

fn collect_tensor(tensor: &TensorProto, found: &mut Vec<String>) {
    if tensor.data_location == Some(DataLocation::External as i32)
        && let Some(location) = location_of(tensor)
        && !found.iter().any(|f| f == location)
    {
        found.push(location.to_string());
    }
}

#[cfg(test)]
mod tests;
