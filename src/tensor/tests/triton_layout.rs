//! Byte-exact bodies as Python's `tritonclient.http` writes and reads them.

use super::*;
use crate::contract::DataType;

/// What `client.infer("m", [x, s])` sends for `x = np.array([[1, 2], [3, 4]], np.float32)` and
/// `s = np.array([b"ab", b""], dtype=object)` with default `binary_data=True` and no outputs
/// listed: compact JSON, then each input's bytes, with the JSON length in the header.
#[test]
fn decodes_a_tritonclient_request_byte_for_byte() {
    let header: &[u8] = br#"{"inputs":[{"name":"INPUT0","shape":[2,2],"datatype":"FP32","parameters":{"binary_data_size":16}},{"name":"INPUT1","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":10}}],"parameters":{"binary_data_output":true}}"#;
    let tail: &[u8] = &[
        0x00, 0x00, 0x80, 0x3f, // 1.0f32
        0x00, 0x00, 0x00, 0x40, // 2.0f32
        0x00, 0x00, 0x40, 0x40, // 3.0f32
        0x00, 0x00, 0x80, 0x40, // 4.0f32
        0x02, 0x00, 0x00, 0x00, b'a', b'b', // "ab"
        0x00, 0x00, 0x00, 0x00, // ""
    ];
    let body = [header, tail].concat();
    let header_length = parse_header_length(&header.len().to_string()).expect("number");
    assert_eq!(header_length, 226);

    let (request, inputs) = decode_request(&body, Some(header_length)).expect("decodes");
    assert_eq!(
        inputs,
        [
            tensor("INPUT0", &[2, 2], TensorData::F32(vec![1.0, 2.0, 3.0, 4.0])),
            tensor(
                "INPUT1",
                &[2],
                TensorData::Bytes(vec![b"ab".to_vec(), vec![]])
            ),
        ]
    );
    assert_eq!(
        request.output_encoding("OUTPUT0").expect("valid"),
        OutputEncoding::Binary
    );
}

/// The response tritonclient reads: JSON header first, `binary_data_size` on binary outputs,
/// their bytes after the header in output order, and the header's length to send.
#[test]
fn encodes_a_response_tritonclient_reads() {
    let request = InferenceRequest::from_json(
        br#"{"id":"42","inputs":[],"outputs":[{"name":"p","parameters":{"binary_data":true}},{"name":"label"}]}"#,
    )
    .expect("request");
    let outputs = [
        tensor("p", &[2], TensorData::F32(vec![0.5, -1.0])),
        tensor("label", &[1], TensorData::Bytes(vec![b"setosa".to_vec()])),
    ];
    let encoded = encode_response(&request, "iris", Some("1"), &outputs).expect("encodes");

    let header: &[u8] = br#"{"model_name":"iris","model_version":"1","id":"42","outputs":[{"name":"p","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},{"name":"label","shape":[1],"datatype":"BYTES","data":["setosa"]}]}"#;
    let tail: &[u8] = &[0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0xbf];
    assert_eq!(encoded.header_length, Some(header.len()));
    assert_eq!(
        String::from_utf8_lossy(&encoded.body[..header.len()]),
        String::from_utf8_lossy(header)
    );
    assert_eq!(encoded.body, [header, tail].concat());
    assert_eq!(outputs[0].datatype(), DataType::Fp32);
}

/// A JSON-only response has no header length, so clients read `data`.
#[test]
fn json_only_responses_have_no_header_length() {
    let request = InferenceRequest::from_json(br#"{"inputs":[]}"#).expect("request");
    let outputs = [tensor("y", &[2, 1], TensorData::I64(vec![3, -4]))];
    let encoded = encode_response(&request, "m", None, &outputs).expect("encodes");
    assert_eq!(encoded.header_length, None);
    assert_eq!(
        String::from_utf8(encoded.body).expect("UTF-8"),
        r#"{"model_name":"m","outputs":[{"name":"y","shape":[2,1],"datatype":"INT64","data":[3,-4]}]}"#
    );
}
