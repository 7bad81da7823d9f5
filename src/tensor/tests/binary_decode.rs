//! Inputs sent as Triton binary data: every datatype's layout, round trips, and every refusal.

use super::*;
use crate::contract::DataType;

fn binary_error(shape: &[i64], datatype: &str, size: usize, bytes: &[u8]) -> String {
    decode_binary(shape, datatype, size, bytes)
        .expect_err("input must be refused")
        .to_string()
}

/// One small tensor per datatype, with awkward values (extremes, NaN, non-UTF-8 bytes).
pub(super) fn one_of_each() -> Vec<Tensor> {
    use TensorData::*;
    let data = [
        Bool(vec![true, false, true]),
        U8(vec![0, 1, 255]),
        U16(vec![0, 258, u16::MAX]),
        U32(vec![0, 0x0102_0304, u32::MAX]),
        U64(vec![0, 0x0102_0304_0506_0708, u64::MAX]),
        I8(vec![i8::MIN, -1, i8::MAX]),
        I16(vec![i16::MIN, -2, i16::MAX]),
        I32(vec![i32::MIN, -3, i32::MAX]),
        I64(vec![i64::MIN, -4, i64::MAX]),
        F16(vec![0x3c00, 0x7e00, 0x8001]),
        BF16(vec![0x3f80, 0x7fc0, 0xff80]),
        F32(vec![f32::NAN, f32::NEG_INFINITY, -0.0]),
        F64(vec![f64::MIN_POSITIVE, f64::INFINITY, 0.1]),
        Bytes(vec![b"ab".to_vec(), vec![], vec![0xff, 0x00]]),
    ];
    data.into_iter()
        .map(|d| tensor(d.datatype().as_str(), &[3, 1], d))
        .collect()
}

#[test]
fn every_datatype_round_trips_through_binary() {
    let tensors = one_of_each();
    assert_eq!(tensors.len(), DataType::ALL.len());
    for t in &tensors {
        let mut bytes = Vec::new();
        binary::encode(t.name(), t.data(), &mut bytes).expect("encodes");
        let decoded =
            decode_binary(&[3, 1], t.datatype().as_str(), bytes.len(), &bytes).expect("decodes");
        assert_same(&tensor(t.name(), &[3, 1], decoded.data().clone()), t);
    }
}

#[test]
fn fixed_size_layout_is_little_endian_row_major() {
    let t = decode_binary(&[2], "UINT16", 4, &[0x01, 0x02, 0x03, 0x04]).expect("UINT16");
    assert_eq!(t.data(), &TensorData::U16(vec![0x0201, 0x0403]));
    let t = decode_binary(&[1], "INT32", 4, &(-2i32).to_le_bytes()).expect("INT32");
    assert_eq!(t.data(), &TensorData::I32(vec![-2]));
    let t = decode_binary(&[2], "BOOL", 2, &[1, 0]).expect("BOOL");
    assert_eq!(t.data(), &TensorData::Bool(vec![true, false]));
    let t = decode_binary(&[1], "FP64", 8, &1.5f64.to_le_bytes()).expect("FP64");
    assert_eq!(t.data(), &TensorData::F64(vec![1.5]));
}

#[test]
fn bool_bytes_other_than_zero_and_one_are_refused() {
    assert_eq!(
        binary_error(&[3], "BOOL", 3, &[0, 1, 2]),
        "input 'x': BOOL element 2 is byte 0x02, expected 0x00 or 0x01"
    );
}

#[test]
fn binary_size_must_match_datatype_and_shape() {
    assert_eq!(
        binary_error(&[2, 2], "FP32", 12, &[0; 12]),
        "input 'x': binary_data_size is 12 but FP32 shape [2, 2] needs 16 bytes"
    );
    assert_eq!(
        binary_error(&[4_000_000_000, 4], "FP32", 16, &[0; 16]),
        "input 'x': binary_data_size is 16 but FP32 shape [4000000000, 4] needs 64000000000 bytes"
    );
    assert_eq!(
        binary_error(&[1 << 62, 8], "FP64", 16, &[0; 16]),
        format!(
            "input 'x': shape [{}, 8] has more elements than this server can address",
            1u64 << 62
        )
    );
}

#[test]
fn declared_binary_sizes_must_match_the_tail() {
    assert_eq!(
        binary_error(&[2, 2], "FP32", 16, &[0; 8]),
        "input 'x': binary_data_size is 16 but only 8 bytes of binary data remain"
    );
    assert_eq!(
        binary_error(&[2], "FP32", 8, &[0; 13]),
        "5 bytes of binary data follow the last input's binary_data_size"
    );
    let body = br#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[1]}]}"#;
    let mut with_tail = body.to_vec();
    with_tail.push(7);
    let err = decode_request(&with_tail, Some(body.len())).expect_err("unclaimed byte");
    assert_eq!(
        err.to_string(),
        "1 bytes of binary data follow the last input's binary_data_size"
    );
}

#[test]
fn header_length_must_fit_the_body() {
    let err = decode_request(b"{}", Some(3)).expect_err("too long");
    assert_eq!(
        err.to_string(),
        "Inference-Header-Content-Length is 3 but the body has only 2 bytes"
    );
    assert_eq!(parse_header_length("120").expect("number"), 120);
    assert_eq!(parse_header_length(" 7 ").expect("padded number"), 7);
    for bad in ["-1", "abc", "", "1.5"] {
        assert_eq!(
            parse_header_length(bad).expect_err(bad).to_string(),
            format!("Inference-Header-Content-Length must be a byte count, got '{bad}'")
        );
    }
}

#[test]
fn malformed_bytes_elements_are_refused() {
    let mut truncated_prefix = vec![2, 0, 0, 0, b'a', b'b'];
    truncated_prefix.extend([1, 0]);
    assert_eq!(
        binary_error(&[2], "BYTES", 8, &truncated_prefix),
        "input 'x': BYTES element 1 needs a 4-byte length prefix but only 2 bytes remain"
    );
    assert_eq!(
        binary_error(&[1], "BYTES", 5, &[5, 0, 0, 0, b'a']),
        "input 'x': BYTES element 0 declares 5 bytes but only 1 remain"
    );
    assert_eq!(
        binary_error(&[1], "BYTES", 4, &[0xff, 0xff, 0xff, 0xff]),
        "input 'x': BYTES element 0 declares 4294967295 bytes but only 0 remain"
    );
    assert_eq!(
        binary_error(&[3], "BYTES", 5, &[1, 0, 0, 0, b'a']),
        "input 'x': shape [3] needs 3 elements but the data has 1"
    );
    assert_eq!(
        binary_error(&[1 << 40, 1 << 20], "BYTES", 5, &[1, 0, 0, 0, b'a']),
        format!(
            "input 'x': shape [{}, {}] needs {} elements but the data has 1",
            1u64 << 40,
            1u64 << 20,
            1u64 << 60
        )
    );
}

#[test]
fn binary_and_json_inputs_mix_in_json_order() {
    let a = tensor("a", &[2], TensorData::I16(vec![1, -1]));
    let b = tensor("b", &[1], TensorData::Bool(vec![true]));
    let c = tensor(
        "c",
        &[2],
        TensorData::Bytes(vec![b"x".to_vec(), b"yz".to_vec()]),
    );
    let inputs = [(a, true), (b, false), (c, true)];
    let (body, header_length) = request_body(&inputs, json!({}));
    let (_, decoded) = decode_request(&body, header_length).expect("decodes");
    assert_eq!(decoded.len(), 3);
    for ((expected, _), got) in inputs.iter().zip(&decoded) {
        assert_same(got, expected);
    }
}

#[test]
fn empty_binary_tensors_decode() {
    let t = decode_binary(&[0, 4], "FP32", 0, &[]).expect("empty FP32");
    assert!(t.is_empty());
    let t = decode_binary(&[0], "BYTES", 0, &[]).expect("empty BYTES");
    assert_eq!(t.data(), &TensorData::Bytes(vec![]));
}
