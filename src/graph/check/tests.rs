//! Unit tests of the graph checks on hand-built models.

use super::*;
use crate::graph::proto::{OperatorSetIdProto, StringStringEntryProto};

fn model(nodes: Vec<NodeProto>, initializers: Vec<TensorProto>) -> ModelProto {
    ModelProto {
        ir_version: Some(10),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(21),
        }],
        graph: Some(GraphProto {
            node: nodes,
            initializer: initializers,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(domain: &str) -> NodeProto {
    NodeProto {
        op_type: Some("Op".into()),
        domain: Some(domain.into()),
        ..Default::default()
    }
}

fn external(location: &str) -> TensorProto {
    TensorProto {
        name: Some("w".into()),
        data_location: Some(DataLocation::External as i32),
        external_data: vec![StringStringEntryProto {
            key: Some("location".into()),
            value: Some(location.into()),
        }],
        ..Default::default()
    }
}

#[test]
fn standard_domains_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = model(
        vec![node(""), node("ai.onnx.ml"), node("com.microsoft")],
        vec![],
    );
    assert_eq!(check_model(&m, dir.path()), Ok(()));
}

#[test]
fn an_unknown_domain_is_refused_even_in_a_subgraph() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner = GraphProto {
        node: vec![node("evil.custom")],
        ..Default::default()
    };
    let mut outer = node("");
    outer.attribute.push(AttributeProto {
        g: Some(Box::new(inner)),
        ..Default::default()
    });
    let err = check_model(&model(vec![outer], vec![]), dir.path()).expect_err("refused");
    assert!(err.to_string().contains("evil.custom"), "{err}");
}

#[test]
fn a_local_function_domain_is_known() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut m = model(vec![node("pkg.local")], vec![]);
    m.functions.push(crate::graph::proto::FunctionProto {
        name: Some("f".into()),
        domain: Some("pkg.local".into()),
        node: vec![node("")],
        ..Default::default()
    });
    assert_eq!(check_model(&m, dir.path()), Ok(()));
}

#[test]
fn versions_beyond_the_runtime_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut m = model(vec![], vec![]);
    m.opset_import[0].version = Some(99);
    assert!(matches!(
        check_model(&m, dir.path()),
        Err(CheckError::Opset { version: 99, .. })
    ));
    let mut m = model(vec![], vec![]);
    m.ir_version = Some(14);
    assert!(matches!(
        check_model(&m, dir.path()),
        Err(CheckError::IrVersion { found: 14 })
    ));
}

#[test]
fn external_data_must_stay_inside_the_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inside = dir.path().join("v");
    std::fs::create_dir(&inside).expect("mkdir");
    std::fs::write(inside.join("weights.bin"), [0u8; 8]).expect("write");
    std::fs::write(dir.path().join("outside.bin"), [0u8; 8]).expect("write");
    std::os::unix::fs::symlink(dir.path().join("outside.bin"), inside.join("link.bin"))
        .expect("symlink");
    assert_eq!(
        check_model(&model(vec![], vec![external("weights.bin")]), &inside),
        Ok(())
    );
    for bad in [
        "/etc/passwd",
        "../outside.bin",
        "../../x",
        "./weights.bin",
        "link.bin",
        "missing.bin",
        "",
        "*/_ORT_MEM_ADDR_/*",
    ] {
        let err = check_model(&model(vec![], vec![external(bad)]), &inside).expect_err("refused");
        assert!(
            matches!(err, CheckError::ExternalData { .. }),
            "{bad}: {err}"
        );
    }
}

#[test]
fn external_locations_are_listed_once() {
    let m = model(
        vec![],
        vec![external("a.bin"), external("a.bin"), external("b.bin")],
    );
    assert_eq!(external_locations(&m), vec!["a.bin", "b.bin"]);
}
