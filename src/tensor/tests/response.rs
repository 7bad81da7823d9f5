//! Outputs: choosing JSON or binary per output, and encoding each datatype both ways.

use super::binary_decode::one_of_each;
use super::*;

fn encoding(request: &str, output: &str) -> Result<OutputEncoding, TensorError> {
    InferenceRequest::from_json(request.as_bytes())
        .expect("request JSON")
        .output_encoding(output)
}

#[test]
fn output_encoding_follows_output_then_request_parameters() {
    use OutputEncoding::{Binary, Json};
    let cases = [
        (r#"{"inputs":[]}"#, Json),
        (r#"{"inputs":[],"outputs":[{"name":"y"}]}"#, Json),
        (
            r#"{"inputs":[],"parameters":{"binary_data_output":true}}"#,
            Binary,
        ),
        (
            r#"{"inputs":[],"parameters":{"binary_data_output":false}}"#,
            Json,
        ),
        (
            r#"{"inputs":[],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}"#,
            Binary,
        ),
        (
            r#"{"inputs":[],"parameters":{"binary_data_output":true},"outputs":[{"name":"y","parameters":{"binary_data":false}}]}"#,
            Json,
        ),
        (
            r#"{"inputs":[],"parameters":{"binary_data_output":false},"outputs":[{"name":"y","parameters":{"binary_data":true}}]}"#,
            Binary,
        ),
        (
            r#"{"inputs":[],"parameters":{"binary_data_output":true},"outputs":[{"name":"y"}]}"#,
            Binary,
        ),
        (
            r#"{"inputs":[],"outputs":[{"name":"other","parameters":{"binary_data":true}}]}"#,
            Json,
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(
            encoding(request, "y").expect(request),
            expected,
            "{request}"
        );
    }
}

#[test]
fn non_boolean_binary_flags_are_refused() {
    let err = encoding(
        r#"{"inputs":[],"outputs":[{"name":"y","parameters":{"binary_data":"yes"}}]}"#,
        "y",
    )
    .expect_err("string flag");
    assert_eq!(
        err.to_string(),
        "output 'y': parameter 'binary_data' must be true or false"
    );
    let err = encoding(
        r#"{"inputs":[],"parameters":{"binary_data_output":1}}"#,
        "y",
    )
    .expect_err("numeric flag");
    assert_eq!(
        err.to_string(),
        "request: parameter 'binary_data_output' must be true or false"
    );
}

#[test]
fn every_datatype_round_trips_through_a_binary_response() {
    let tensors = one_of_each();
    let mut builder = ResponseBuilder::new("m", Some("3".to_owned()), Some("r".to_owned()));
    for t in &tensors {
        builder
            .push(t, OutputEncoding::Binary)
            .expect("binary encodes");
    }
    let encoded = builder.finish().expect("finishes");
    assert!(encoded.header_length.is_some());
    let (response, decoded) = read_response(&encoded);
    assert_eq!(
        (response.model_version.as_deref(), response.id.as_deref()),
        (Some("3"), Some("r"))
    );
    assert!(response.outputs.iter().all(|o| o.data.is_none()));
    for (got, expected) in decoded.iter().zip(&tensors) {
        assert_same(got, expected);
    }
}

#[test]
fn json_outputs_are_flat_arrays_of_every_json_datatype() {
    use TensorData::*;
    let tensors = [
        tensor("b", &[2], Bool(vec![true, false])),
        tensor("u", &[1, 2], U64(vec![0, u64::MAX])),
        tensor("i", &[2, 1], I8(vec![-128, 127])),
        tensor("f", &[2, 2], F32(vec![0.1, -2.5, 1e-40, f32::MAX])),
        tensor("d", &[2], F64(vec![0.1, -1e300])),
        tensor("s", &[2], Bytes(vec!["é".as_bytes().to_vec(), vec![]])),
    ];
    let mut builder = ResponseBuilder::new("m", None, None);
    for t in &tensors {
        builder.push(t, OutputEncoding::Json).expect("JSON encodes");
    }
    let encoded = builder.finish().expect("finishes");
    assert_eq!(encoded.header_length, None);
    let (response, decoded) = read_response(&encoded);
    let data = |i: usize| {
        response.outputs[i]
            .data
            .as_ref()
            .map(|d| d.get().to_owned())
    };
    assert_eq!(data(3).as_deref(), Some("[0.1,-2.5,1e-40,3.4028235e+38]"));
    assert_eq!(data(5).as_deref(), Some(r#"["é",""]"#));
    for (got, expected) in decoded.iter().zip(&tensors) {
        assert_same(got, expected);
    }
}

#[test]
fn json_refuses_what_it_cannot_carry_faithfully() {
    let cases = [
        (
            tensor("y", &[3], TensorData::F32(vec![1.0, 2.0, f32::NAN])),
            "output 'y': element 2 is NaN or infinite, which JSON cannot represent; request it in binary form (parameters.binary_data = true)",
        ),
        (
            tensor("y", &[1], TensorData::F64(vec![f64::NEG_INFINITY])),
            "output 'y': element 0 is NaN or infinite, which JSON cannot represent; request it in binary form (parameters.binary_data = true)",
        ),
        (
            tensor(
                "y",
                &[2],
                TensorData::Bytes(vec![b"ok".to_vec(), vec![0xc3]]),
            ),
            "output 'y': element 1 is not valid UTF-8, which a JSON string cannot carry; request it in binary form (parameters.binary_data = true)",
        ),
        (
            tensor("y", &[1], TensorData::F16(vec![0x3c00])),
            "output 'y': FP16 can only be sent in binary form; request it with parameters.binary_data = true",
        ),
        (
            tensor("y", &[1], TensorData::BF16(vec![0x3f80])),
            "output 'y': BF16 can only be sent in binary form; request it with parameters.binary_data = true",
        ),
    ];
    for (t, message) in cases {
        let mut builder = ResponseBuilder::new("m", None, None);
        let err = builder.push(&t, OutputEncoding::Json).expect_err(message);
        assert_eq!(err.to_string(), message);
        // The failed output left nothing behind, and binary still carries it.
        builder
            .push(&t, OutputEncoding::Binary)
            .expect("binary carries anything");
        let (response, decoded) = read_response(&builder.finish().expect("finishes"));
        assert_eq!(response.outputs.len(), 1);
        assert_same(&decoded[0], &t);
    }
}

#[test]
fn response_parameters_and_mixed_encodings_serialize() {
    let mut builder = ResponseBuilder::new("m", None, None);
    let mut parameters = Parameters::new();
    parameters.insert("sequence_id".to_owned(), json!(3));
    builder.parameters(parameters);
    let a = tensor("a", &[1], TensorData::U8(vec![9]));
    let b = tensor("b", &[1], TensorData::U8(vec![8]));
    builder.push(&a, OutputEncoding::Json).expect("JSON");
    builder.push(&b, OutputEncoding::Binary).expect("binary");
    let encoded = builder.finish().expect("finishes");
    let header_length = encoded.header_length.expect("binary output present");
    assert_eq!(encoded.body.len(), header_length + 1);
    let (response, decoded) = read_response(&encoded);
    assert_eq!(
        response.parameters.map(Value::Object),
        Some(json!({"sequence_id": 3}))
    );
    assert_eq!(decoded, [a, b]);
}
