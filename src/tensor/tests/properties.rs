//! Property tests: random shapes, datatypes and values survive every encoding, and no input
//! makes the decoders panic.

use proptest::collection::vec;
use proptest::num::{f32 as f32s, f64 as f64s};
use proptest::prelude::*;
use proptest::sample::select;

use super::*;
use crate::contract::DataType;

/// Elements of `datatype`; `json_safe` leaves out what JSON refuses to carry.
fn data(datatype: DataType, len: usize, json_safe: bool) -> BoxedStrategy<TensorData> {
    use TensorData as D;
    let finite32 = f32s::POSITIVE | f32s::NEGATIVE | f32s::NORMAL | f32s::SUBNORMAL | f32s::ZERO;
    let finite64 = f64s::POSITIVE | f64s::NEGATIVE | f64s::NORMAL | f64s::SUBNORMAL | f64s::ZERO;
    match datatype {
        DataType::Bool => vec(any::<bool>(), len).prop_map(D::Bool).boxed(),
        DataType::Uint8 => vec(any::<u8>(), len).prop_map(D::U8).boxed(),
        DataType::Uint16 => vec(any::<u16>(), len).prop_map(D::U16).boxed(),
        DataType::Uint32 => vec(any::<u32>(), len).prop_map(D::U32).boxed(),
        DataType::Uint64 => vec(any::<u64>(), len).prop_map(D::U64).boxed(),
        DataType::Int8 => vec(any::<i8>(), len).prop_map(D::I8).boxed(),
        DataType::Int16 => vec(any::<i16>(), len).prop_map(D::I16).boxed(),
        DataType::Int32 => vec(any::<i32>(), len).prop_map(D::I32).boxed(),
        DataType::Int64 => vec(any::<i64>(), len).prop_map(D::I64).boxed(),
        DataType::Fp16 => vec(any::<u16>(), len).prop_map(D::F16).boxed(),
        DataType::Bf16 => vec(any::<u16>(), len).prop_map(D::BF16).boxed(),
        DataType::Fp32 if json_safe => vec(finite32, len).prop_map(D::F32).boxed(),
        DataType::Fp32 => vec(any::<f32>(), len).prop_map(D::F32).boxed(),
        DataType::Fp64 if json_safe => vec(finite64, len).prop_map(D::F64).boxed(),
        DataType::Fp64 => vec(any::<f64>(), len).prop_map(D::F64).boxed(),
        DataType::Bytes if json_safe => vec(any::<String>().prop_map(String::into_bytes), len)
            .prop_map(D::Bytes)
            .boxed(),
        DataType::Bytes => vec(vec(any::<u8>(), 0..6), len).prop_map(D::Bytes).boxed(),
    }
}

/// A tensor of rank 0 to 3 with dimensions 0 to 3 (so empty tensors are common).
fn any_tensor(json_safe: bool) -> impl Strategy<Value = Tensor> {
    let datatypes: Vec<DataType> = DataType::ALL
        .into_iter()
        .filter(|d| !json_safe || !matches!(d, DataType::Fp16 | DataType::Bf16))
        .collect();
    (select(datatypes), vec(0usize..4, 0..4)).prop_flat_map(move |(datatype, shape)| {
        let len = shape.iter().product();
        data(datatype, len, json_safe).prop_map(move |d| tensor(datatype.as_str(), &shape, d))
    })
}

/// `values` (row-major) nested as arrays following `shape`.
fn nest(values: &[Value], shape: &[usize]) -> Value {
    match shape {
        [] | [_] => Value::Array(values.to_vec()),
        [outer, inner @ ..] => {
            let chunk = inner.iter().product::<usize>();
            let rows = (0..*outer).map(|i| nest(&values[i * chunk..(i + 1) * chunk], inner));
            Value::Array(rows.collect())
        }
    }
}

/// Any JSON value, nested a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z]{0,3}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            inner.prop_map(|v| json!({ "k": v })),
        ]
    })
}

proptest! {
    #[test]
    fn binary_requests_round_trip(inputs in vec((any_tensor(false), Just(true)), 0..4)) {
        let (body, header_length) = request_body(&inputs, json!({}));
        let (_, decoded) = decode_request(&body, header_length).expect("decodes");
        prop_assert_eq!(decoded.len(), inputs.len());
        for ((expected, _), got) in inputs.iter().zip(&decoded) {
            assert_same(got, expected);
        }
    }

    #[test]
    fn mixed_requests_round_trip(inputs in vec((any_tensor(true), any::<bool>()), 0..4)) {
        let (body, header_length) = request_body(&inputs, json!({"id": "p"}));
        let (request, decoded) = decode_request(&body, header_length).expect("decodes");
        prop_assert_eq!(request.id.as_deref(), Some("p"));
        for ((expected, _), got) in inputs.iter().zip(&decoded) {
            assert_same(got, expected);
        }
    }

    #[test]
    fn nested_json_decodes_like_flat_json(t in any_tensor(true)) {
        let raw = json::encode(t.name(), t.data()).expect("JSON-safe");
        let flat: Vec<Value> = serde_json::from_str(raw.get()).expect("array");
        let nested = nest(&flat, t.shape());
        let shape: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
        let datatype = t.datatype().as_str();
        let from_flat = decode_json(&shape, datatype, raw.get()).expect("flat decodes");
        let from_nested = decode_json(&shape, datatype, &nested.to_string()).expect("nested");
        assert_same(&from_flat, &from_nested);
        assert_same(&tensor("x", t.shape(), t.data().clone()), &from_flat);
    }

    #[test]
    fn responses_round_trip(outputs in vec((any_tensor(true), any::<bool>()), 0..4)) {
        let mut builder = ResponseBuilder::new("m", None, None);
        for (t, as_binary) in &outputs {
            let encoding = if *as_binary { OutputEncoding::Binary } else { OutputEncoding::Json };
            builder.push(t, encoding).expect("encodes");
        }
        let encoded = builder.finish().expect("finishes");
        prop_assert_eq!(encoded.header_length.is_some(), outputs.iter().any(|(_, b)| *b));
        let (_, decoded) = read_response(&encoded);
        for ((expected, _), got) in outputs.iter().zip(&decoded) {
            assert_same(got, expected);
        }
    }

    #[test]
    fn arbitrary_binary_never_panics(
        datatype in select(DataType::ALL.to_vec()),
        shape in vec(0i64..5, 0..4),
        bytes in vec(any::<u8>(), 0..40),
        size in 0usize..48,
    ) {
        let _ = decode_binary(&shape, datatype.as_str(), size, &bytes);
    }

    #[test]
    fn arbitrary_json_data_never_panics(
        datatype in select(DataType::ALL.to_vec()),
        shape in vec(-1i64..4, 0..4),
        data in json_value(),
    ) {
        let _ = decode_json(&shape, datatype.as_str(), &data.to_string());
    }
}
