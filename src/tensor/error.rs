//! Everything that can be wrong with a tensor on the wire, worded so a client can fix it.

use crate::contract::DataType;

/// A tensor that cannot be decoded or encoded.
///
/// Every message names the input or output at fault and, where it applies, the dimension,
/// element index or byte count. All variants except [`TensorError::NotJsonRepresentable`],
/// [`TensorError::BinaryOnly`], [`TensorError::BytesElementTooLong`] and
/// [`TensorError::Serialize`] describe a bad request; those four describe an output that the
/// requested encoding cannot carry.
#[derive(Debug, thiserror::Error)]
pub enum TensorError {
    #[error("malformed inference request JSON: {0}")]
    MalformedJson(#[source] serde_json::Error),
    #[error("the inference request is empty: send its JSON (before any binary tensor data)")]
    EmptyRequest,
    #[error("Inference-Header-Content-Length must be a byte count, got '{0}'")]
    InvalidHeaderLength(String),
    #[error(
        "Inference-Header-Content-Length is {header_length} but the body has only {body_length} bytes"
    )]
    HeaderLengthTooLarge {
        header_length: usize,
        body_length: usize,
    },
    #[error("input '{input}': unknown datatype '{datatype}', expected one of {valid}", valid = valid_datatypes())]
    UnknownDatatype { input: String, datatype: String },
    #[error("input '{input}': dimension {dim} of shape {shape:?} is negative")]
    NegativeDimension {
        input: String,
        dim: usize,
        shape: Vec<i64>,
    },
    #[error("input '{input}': shape {shape:?} has more elements than this server can address")]
    ShapeOverflow { input: String, shape: Vec<u64> },
    #[error("input '{input}': shape {shape:?} needs {expected} elements but the data has {actual}")]
    ElementCount {
        input: String,
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
    #[error("input '{input}': data must be a JSON array")]
    DataNotArray { input: String },
    #[error(
        "input '{input}': dimension {dim} of the nested data has {actual} elements but shape {shape:?} says {expected}"
    )]
    DimensionLength {
        input: String,
        dim: usize,
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
    #[error(
        "input '{input}': nested data must be arrays down to dimension {dim} of shape {shape:?}, found a value at that depth"
    )]
    NestedTooShallow {
        input: String,
        dim: usize,
        shape: Vec<usize>,
    },
    #[error("input '{input}': data is nested deeper than shape {shape:?}")]
    NestedTooDeep { input: String, shape: Vec<usize> },
    #[error(
        "input '{input}': data mixes values and nested arrays; send it flat or nested like shape {shape:?}"
    )]
    MixedNesting { input: String, shape: Vec<usize> },
    #[error("input '{input}': element {index} is {found}, expected {expected}")]
    InvalidElement {
        input: String,
        index: usize,
        found: String,
        expected: String,
    },
    #[error(
        "input '{input}': {datatype} data can only be sent in binary form (parameters.binary_data_size)"
    )]
    JsonDataNotSupported { input: String, datatype: DataType },
    #[error("input '{input}': malformed data: {source}")]
    MalformedData {
        input: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("input '{input}' has neither data nor parameters.binary_data_size")]
    MissingData { input: String },
    #[error("input '{input}' has both data and parameters.binary_data_size; send one")]
    DataAndBinary { input: String },
    #[error("{location}: parameter '{parameter}' must be {expected}")]
    InvalidParameter {
        location: String,
        parameter: &'static str,
        expected: &'static str,
    },
    #[error(
        "input '{input}': binary_data_size is {actual} but {datatype} shape {shape:?} needs {expected} bytes"
    )]
    BinarySize {
        input: String,
        datatype: DataType,
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
    #[error(
        "input '{input}': binary_data_size is {declared} but only {available} bytes of binary data remain"
    )]
    BinaryTruncated {
        input: String,
        declared: usize,
        available: usize,
    },
    #[error("{extra} bytes of binary data follow the last input's binary_data_size")]
    BinaryLeftover { extra: usize },
    #[error(
        "input '{input}': BYTES element {index} needs a 4-byte length prefix but only {remaining} bytes remain"
    )]
    BytesPrefixTruncated {
        input: String,
        index: usize,
        remaining: usize,
    },
    #[error(
        "input '{input}': BYTES element {index} declares {length} bytes but only {remaining} remain"
    )]
    BytesElementTruncated {
        input: String,
        index: usize,
        length: usize,
        remaining: usize,
    },
    #[error("input '{input}': BOOL element {index} is byte {byte:#04x}, expected 0x00 or 0x01")]
    BoolByte {
        input: String,
        index: usize,
        byte: u8,
    },
    #[error("tensor '{tensor}': shape {shape:?} does not hold exactly {len} elements")]
    TensorShape {
        tensor: String,
        shape: Vec<usize>,
        len: usize,
    },
    #[error(
        "output '{output}': element {index} {reason}; request it in binary form (parameters.binary_data = true)"
    )]
    NotJsonRepresentable {
        output: String,
        index: usize,
        reason: &'static str,
    },
    #[error(
        "output '{output}': {datatype} can only be sent in binary form; request it with parameters.binary_data = true"
    )]
    BinaryOnly { output: String, datatype: DataType },
    #[error(
        "output '{output}': BYTES element {index} has {len} bytes, more than a 4-byte length prefix can describe"
    )]
    BytesElementTooLong {
        output: String,
        index: usize,
        len: usize,
    },
    #[error("output '{output}' cannot be answered as classifications: {reason}")]
    NotClassifiable { output: String, reason: String },
    #[error("cannot serialize the inference response: {0}")]
    Serialize(#[source] serde_json::Error),
}

/// The protocol's datatype names, for the unknown-datatype message.
fn valid_datatypes() -> String {
    DataType::ALL.map(DataType::as_str).join(", ")
}
