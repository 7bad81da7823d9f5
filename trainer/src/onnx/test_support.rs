//! Running exported graphs through the real ONNX Runtime in tests.

use ort::session::Session;
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};
use prediction_api::runtime::environment;
use prediction_api::runtime::ort;

/// A session on `bytes`, with the process-wide environment the server uses.
pub fn session(bytes: &[u8]) -> Session {
    let env = environment().expect("ONNX Runtime loads (set ORT_DYLIB_PATH or run `make setup`)");
    Session::builder(env)
        .expect("session builder")
        .commit_from_memory(bytes)
        .expect("ONNX Runtime accepts the graph")
}

/// A `[n, 1]` float input column.
pub fn floats(values: &[f32]) -> DynValue {
    Tensor::from_array(([values.len(), 1usize], values.to_vec()))
        .expect("float tensor")
        .into_dyn()
}

/// A `[n, 1]` string input column.
pub fn strings(values: &[&str]) -> DynValue {
    // ort wants 'static elements for &str; owned strings avoid that bound.
    let owned: Vec<String> = values.iter().map(|s| s.to_string()).collect();
    Tensor::from_string_array(([owned.len(), 1usize], &owned[..]))
        .expect("string tensor")
        .into_dyn()
}

/// Runs `session` and returns the float output `name` with its shape.
pub fn run_floats(
    session: &mut Session,
    inputs: Vec<(&str, DynValue)>,
    name: &str,
) -> (Vec<i64>, Vec<f32>) {
    let outputs = session.run(inputs).expect("the graph runs");
    let (shape, data) = outputs[name]
        .try_extract_tensor::<f32>()
        .expect("a float tensor");
    (shape.to_vec(), data.to_vec())
}

/// The (name, element type, shape, symbolic dims) of each input or output.
pub fn signature(
    values: &[ort::value::Outlet],
) -> Vec<(String, TensorElementType, Vec<i64>, Vec<String>)> {
    values
        .iter()
        .map(|outlet| match outlet.dtype() {
            ValueType::Tensor {
                ty,
                shape,
                dimension_symbols,
            } => (
                outlet.name().to_string(),
                *ty,
                shape.to_vec(),
                dimension_symbols.to_vec(),
            ),
            other => panic!("{} is not a tensor: {other:?}", outlet.name()),
        })
        .collect()
}

pub fn assert_close(actual: &[f32], expected: &[f64], tolerance: f64) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let err = (f64::from(*a) - e).abs();
        assert!(
            err <= tolerance * e.abs().max(1.0),
            "row {i}: got {a}, expected {e} ({actual:?} vs {expected:?})"
        );
    }
}
