//! Inputs sent as JSON `data`: every datatype, flat and nested layouts, and every refusal.

use super::*;

fn json_error(shape: &[i64], datatype: &str, data: &str) -> String {
    decode_json(shape, datatype, data)
        .expect_err("input must be refused")
        .to_string()
}

fn json_data(shape: &[i64], datatype: &str, data: &str) -> TensorData {
    decode_json(shape, datatype, data)
        .expect("input decodes")
        .data()
        .clone()
}

#[test]
fn every_json_datatype_decodes_at_its_limits() {
    use TensorData::*;
    let cases = [
        ("BOOL", "[true, false]", Bool(vec![true, false])),
        ("UINT8", "[0, 255]", U8(vec![0, 255])),
        ("UINT16", "[0, 65535]", U16(vec![0, 65535])),
        ("UINT32", "[0, 4294967295]", U32(vec![0, u32::MAX])),
        (
            "UINT64",
            "[0, 18446744073709551615]",
            U64(vec![0, u64::MAX]),
        ),
        ("INT8", "[-128, 127]", I8(vec![-128, 127])),
        ("INT16", "[-32768, 32767]", I16(vec![i16::MIN, i16::MAX])),
        (
            "INT32",
            "[-2147483648, 2147483647]",
            I32(vec![i32::MIN, i32::MAX]),
        ),
        (
            "INT64",
            "[-9223372036854775808, 9223372036854775807]",
            I64(vec![i64::MIN, i64::MAX]),
        ),
        ("FP32", "[1.5, -2]", F32(vec![1.5, -2.0])),
        ("FP64", "[0.1, -1e300]", F64(vec![0.1, -1e300])),
        (
            "BYTES",
            r#"["ab", "é\n"]"#,
            Bytes(vec![b"ab".to_vec(), "é\n".as_bytes().to_vec()]),
        ),
    ];
    for (datatype, data, expected) in cases {
        assert_eq!(json_data(&[2], datatype, data), expected, "{datatype}");
    }
}

#[test]
fn nested_and_flat_data_decode_alike() {
    let flat = decode_json(&[2, 3], "INT32", "[1, 2, 3, 4, 5, 6]").expect("flat");
    let nested = decode_json(&[2, 3], "INT32", "[[1, 2, 3], [4, 5, 6]]").expect("nested");
    assert_eq!(flat, nested);
    let deep = decode_json(&[2, 1, 2], "FP32", "[[[1, 2]], [[3, 4]]]").expect("rank 3");
    assert_eq!(deep.data(), &TensorData::F32(vec![1.0, 2.0, 3.0, 4.0]));
}

#[test]
fn empty_and_scalar_shapes_decode() {
    assert_eq!(json_data(&[0], "FP32", "[]"), TensorData::F32(vec![]));
    assert_eq!(json_data(&[0, 3], "FP32", "[]"), TensorData::F32(vec![]));
    assert_eq!(
        json_data(&[2, 0], "INT64", "[[], []]"),
        TensorData::I64(vec![])
    );
    let scalar = decode_json(&[], "INT64", "[7]").expect("rank 0");
    assert_eq!((scalar.shape(), scalar.len()), (&[][..], 1));
}

#[test]
fn element_count_must_match_the_shape() {
    assert_eq!(
        json_error(&[2, 2], "FP32", "[1, 2, 3]"),
        "input 'x': shape [2, 2] needs 4 elements but the data has 3"
    );
    assert_eq!(
        json_error(&[1], "FP32", "[1, 2]"),
        "input 'x': shape [1] needs 1 elements but the data has 2"
    );
}

#[test]
fn nested_data_names_the_dimension_at_fault() {
    assert_eq!(
        json_error(&[2, 2], "INT32", "[[1, 2], [3]]"),
        "input 'x': dimension 1 of the nested data has 1 elements but shape [2, 2] says 2"
    );
    assert_eq!(
        json_error(&[2, 2], "INT32", "[[1, 2], [3, 4], [5, 6]]"),
        "input 'x': dimension 0 of the nested data has 3 elements but shape [2, 2] says 2"
    );
    assert_eq!(
        json_error(&[2], "INT32", "[[1], [2]]"),
        "input 'x': data is nested deeper than shape [2]"
    );
    assert_eq!(
        json_error(&[2, 2], "INT32", "[[1, 2], 3]"),
        "input 'x': nested data must be arrays down to dimension 1 of shape [2, 2], found a value at that depth"
    );
    assert_eq!(
        json_error(&[2, 2], "INT32", "[1, [2, 3], 4]"),
        "input 'x': data mixes values and nested arrays; send it flat or nested like shape [2, 2]"
    );
}

#[test]
fn data_must_be_an_array() {
    for data in ["5", r#"{"a": 1}"#, r#""abc""#] {
        assert_eq!(
            json_error(&[1], "INT32", data),
            "input 'x': data must be a JSON array"
        );
    }
}

#[test]
fn elements_out_of_range_or_of_the_wrong_kind_name_their_index() {
    let cases = [
        (
            "UINT8",
            "[1, 300]",
            "element 1 is 300, expected an integer in 0..=255",
        ),
        (
            "INT8",
            "[-129, 0]",
            "element 0 is -129, expected an integer in -128..=127",
        ),
        (
            "UINT32",
            "[0, -1]",
            "element 1 is -1, expected an integer in 0..=4294967295",
        ),
        (
            "INT64",
            "[1.5, 2]",
            "element 0 is 1.5, expected an integer in -9223372036854775808..=9223372036854775807",
        ),
        (
            "INT32",
            "[5.0]",
            "element 0 is 5.0, expected an integer in -2147483648..=2147483647",
        ),
        (
            "BOOL",
            "[true, 1]",
            "element 1 is 1, expected true or false",
        ),
        (
            "FP32",
            "[0, 1e39]",
            "element 1 is 1e39, expected a number within FP32 range (magnitude at most 3.4028235e38)",
        ),
        (
            "FP64",
            r#"[1, "2"]"#,
            "element 1 is a string, expected a number",
        ),
        ("BYTES", r#"["a", 5]"#, "element 1 is 5, expected a string"),
        (
            "INT32",
            "[1, null]",
            "element 1 is null, expected an integer in -2147483648..=2147483647",
        ),
        (
            "FP32",
            r#"[[1, {"a": 1}]]"#,
            "element 1 is an object, expected a number within FP32 range (magnitude at most 3.4028235e38)",
        ),
    ];
    for (datatype, data, message) in cases {
        let shape: &[i64] = if data.starts_with("[[") {
            &[1, 2]
        } else {
            &[2]
        };
        assert_eq!(
            json_error(shape, datatype, data),
            format!("input 'x': {message}"),
            "{datatype} {data}"
        );
    }
}

#[test]
fn half_precision_is_refused_in_json() {
    for datatype in ["FP16", "BF16"] {
        assert_eq!(
            json_error(&[1], datatype, "[1.0]"),
            format!(
                "input 'x': {datatype} data can only be sent in binary form (parameters.binary_data_size)"
            )
        );
    }
}

#[test]
fn unknown_datatype_lists_the_valid_ones() {
    assert_eq!(
        json_error(&[1], "FLOAT", "[1]"),
        "input 'x': unknown datatype 'FLOAT', expected one of BOOL, UINT8, UINT16, UINT32, \
         UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64, BYTES"
    );
}

#[test]
fn shapes_must_be_non_negative_and_addressable() {
    assert_eq!(
        json_error(&[-1, 2], "FP32", "[1, 2]"),
        "input 'x': dimension 0 of shape [-1, 2] is negative"
    );
    assert_eq!(
        json_error(&[i64::MAX, i64::MAX], "FP32", "[1]"),
        format!(
            "input 'x': shape [{m}, {m}] has more elements than this server can address",
            m = i64::MAX
        )
    );
}

#[test]
fn huge_declared_shapes_are_refused_without_allocating_for_them() {
    assert_eq!(
        json_error(&[4_000_000_000, 4], "FP32", "[1, 2, 3, 4]"),
        "input 'x': shape [4000000000, 4] needs 16000000000 elements but the data has 4"
    );
    // 2^60 elements: allocating for the shape would abort the process, not return an error.
    let huge = [1 << 40, 1 << 20];
    assert!(decode_json(&huge, "FP64", "[1, 2]").is_err());
    assert!(decode_json(&huge, "BYTES", r#"["a"]"#).is_err());
    assert!(decode_json(&huge, "FP64", "[[1, 2]]").is_err());
}

#[test]
fn many_fp32_values_fill_one_exactly_sized_allocation() {
    let values: Vec<f32> = (0..100_000).map(|i| i as f32 * 0.25 - 7.0).collect();
    let text = serde_json::to_string(&values).expect("serializes");
    let tensor = decode_json(&[1000, 100], "FP32", &text).expect("decodes");
    let (_, _, data) = tensor.into_parts();
    let TensorData::F32(decoded) = data else {
        panic!("FP32 decodes to F32");
    };
    assert_eq!(decoded, values);
    // The vector was sized once up front and never grew.
    assert_eq!(decoded.capacity(), values.len());
}

#[test]
fn requests_without_usable_data_are_refused() {
    let cases = [
        (
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]}"#,
            "input 'x' has neither data nor parameters.binary_data_size",
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":null}]}"#,
            "input 'x' has neither data nor parameters.binary_data_size",
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1],"parameters":{"binary_data_size":4}}]}"#,
            "input 'x' has both data and parameters.binary_data_size; send one",
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":"4"}}]}"#,
            "input 'x': parameter 'binary_data_size' must be a non-negative integer",
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":-4}}]}"#,
            "input 'x': parameter 'binary_data_size' must be a non-negative integer",
        ),
    ];
    for (body, message) in cases {
        let err = decode_request(body.as_bytes(), None).expect_err(body);
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn malformed_request_json_is_refused() {
    for body in [&b"{"[..], b"[]", br#"{"inputs":[{"name":"x"}]}"#, b"\xff"] {
        let err = decode_request(body, None).expect_err("malformed");
        assert!(matches!(err, TensorError::MalformedJson(_)), "{err}");
        assert!(
            err.to_string()
                .starts_with("malformed inference request JSON: ")
        );
    }
}

#[test]
fn request_fields_are_kept() {
    let body = br#"{"id":"42","parameters":{"p":1},"inputs":[{"name":"a","shape":[1],
        "datatype":"BOOL","data":[true]},{"name":"b","shape":[1],"datatype":"UINT8","data":[3]}],
        "outputs":[{"name":"y","parameters":{"binary_data":true}}]}"#;
    let (request, inputs) = decode_request(body, None).expect("valid request");
    assert_eq!(request.id.as_deref(), Some("42"));
    assert_eq!(request.outputs.as_ref().map(Vec::len), Some(1));
    let names: Vec<&str> = inputs.iter().map(Tensor::name).collect();
    assert_eq!(names, ["a", "b"]);
}
