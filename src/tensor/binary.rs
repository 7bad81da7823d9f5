//! Triton's binary tensor data: splitting a body at its JSON header, and each datatype's raw
//! layout (little-endian, row-major, no padding; BOOL one byte; BYTES elements as a u32
//! little-endian length prefix followed by the bytes).

use super::{TensorData, TensorError};
use crate::contract::DataType;

/// Parses an `Inference-Header-Content-Length` header value.
pub fn parse_header_length(value: &str) -> Result<usize, TensorError> {
    value
        .trim()
        .parse()
        .map_err(|_| TensorError::InvalidHeaderLength(value.to_owned()))
}

/// Splits a request or response body into its JSON header and binary tail. Without a header
/// length the whole body is JSON.
pub fn split_body(
    body: &[u8],
    header_length: Option<usize>,
) -> Result<(&[u8], &[u8]), TensorError> {
    match header_length {
        None => Ok((body, &[])),
        Some(n) => body
            .split_at_checked(n)
            .ok_or(TensorError::HeaderLengthTooLarge {
                header_length: n,
                body_length: body.len(),
            }),
    }
}

/// Decodes one input's binary bytes as `count` elements of `datatype` laid out as `shape`.
///
/// The byte count is checked against the shape before anything is allocated, so the
/// allocation is bounded by bytes the client really sent.
pub(crate) fn decode(
    input: &str,
    datatype: DataType,
    shape: &[usize],
    count: usize,
    bytes: &[u8],
) -> Result<TensorData, TensorError> {
    if let Some(size) = datatype.element_size() {
        let expected = count
            .checked_mul(size)
            .ok_or_else(|| TensorError::ShapeOverflow {
                input: input.to_owned(),
                shape: shape.iter().map(|&d| d as u64).collect(),
            })?;
        if bytes.len() != expected {
            return Err(TensorError::BinarySize {
                input: input.to_owned(),
                datatype,
                shape: shape.to_vec(),
                expected,
                actual: bytes.len(),
            });
        }
    }
    Ok(match datatype {
        DataType::Bool => TensorData::Bool(decode_bool(input, bytes)?),
        DataType::Uint8 => TensorData::U8(bytes.to_vec()),
        DataType::Uint16 => TensorData::U16(from_le(bytes, u16::from_le_bytes)),
        DataType::Uint32 => TensorData::U32(from_le(bytes, u32::from_le_bytes)),
        DataType::Uint64 => TensorData::U64(from_le(bytes, u64::from_le_bytes)),
        DataType::Int8 => TensorData::I8(from_le(bytes, i8::from_le_bytes)),
        DataType::Int16 => TensorData::I16(from_le(bytes, i16::from_le_bytes)),
        DataType::Int32 => TensorData::I32(from_le(bytes, i32::from_le_bytes)),
        DataType::Int64 => TensorData::I64(from_le(bytes, i64::from_le_bytes)),
        DataType::Fp16 => TensorData::F16(from_le(bytes, u16::from_le_bytes)),
        DataType::Bf16 => TensorData::BF16(from_le(bytes, u16::from_le_bytes)),
        DataType::Fp32 => TensorData::F32(from_le(bytes, f32::from_le_bytes)),
        DataType::Fp64 => TensorData::F64(from_le(bytes, f64::from_le_bytes)),
        DataType::Bytes => TensorData::Bytes(decode_bytes(input, shape, count, bytes)?),
    })
}

/// Appends `data` in binary form to `out`; `output` names the tensor in errors.
pub(crate) fn encode(
    output: &str,
    data: &TensorData,
    out: &mut Vec<u8>,
) -> Result<(), TensorError> {
    match data {
        TensorData::Bool(v) => out.extend(v.iter().map(|&b| u8::from(b))),
        TensorData::U8(v) => out.extend_from_slice(v),
        TensorData::U16(v) | TensorData::F16(v) | TensorData::BF16(v) => {
            to_le(out, v, u16::to_le_bytes)
        }
        TensorData::U32(v) => to_le(out, v, u32::to_le_bytes),
        TensorData::U64(v) => to_le(out, v, u64::to_le_bytes),
        TensorData::I8(v) => to_le(out, v, i8::to_le_bytes),
        TensorData::I16(v) => to_le(out, v, i16::to_le_bytes),
        TensorData::I32(v) => to_le(out, v, i32::to_le_bytes),
        TensorData::I64(v) => to_le(out, v, i64::to_le_bytes),
        TensorData::F32(v) => to_le(out, v, f32::to_le_bytes),
        TensorData::F64(v) => to_le(out, v, f64::to_le_bytes),
        TensorData::Bytes(v) => {
            out.reserve(v.iter().map(|e| e.len() + 4).sum());
            for (index, element) in v.iter().enumerate() {
                let len =
                    u32::try_from(element.len()).map_err(|_| TensorError::BytesElementTooLong {
                        output: output.to_owned(),
                        index,
                        len: element.len(),
                    })?;
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(element);
            }
        }
    }
    Ok(())
}

/// Fixed-size elements from little-endian bytes; `bytes.len()` is a multiple of `N`.
fn from_le<T, const N: usize>(bytes: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
    let (chunks, _rest) = bytes.as_chunks::<N>();
    chunks.iter().map(|&c| from(c)).collect()
}

/// Appends fixed-size elements as little-endian bytes. The bytes are made room for first and
/// then written element by element into fixed-size chunks: no capacity check per element, so
/// the loop compiles to a plain copy on a little-endian machine (pushing each element's bytes
/// took about 2.5 times as long: perf, 100-row V2 requests with the audit trail on).
fn to_le<T: Copy, const N: usize>(out: &mut Vec<u8>, values: &[T], to: fn(T) -> [u8; N]) {
    let start = out.len();
    out.resize(start + values.len() * N, 0);
    let (chunks, _rest) = out[start..].as_chunks_mut::<N>();
    for (chunk, &v) in chunks.iter_mut().zip(values) {
        *chunk = to(v);
    }
}

/// BOOL bytes must be 0 or 1, as numpy writes them; anything else is a corrupt body.
fn decode_bool(input: &str, bytes: &[u8]) -> Result<Vec<bool>, TensorError> {
    if let Some(index) = bytes.iter().position(|&b| b > 1) {
        return Err(TensorError::BoolByte {
            input: input.to_owned(),
            index,
            byte: bytes[index],
        });
    }
    Ok(bytes.iter().map(|&b| b == 1).collect())
}

fn decode_bytes(
    input: &str,
    shape: &[usize],
    count: usize,
    mut rest: &[u8],
) -> Result<Vec<Vec<u8>>, TensorError> {
    // Each element takes at least its 4-byte prefix: the bytes bound the allocation.
    let mut values = Vec::with_capacity(count.min(rest.len() / 4));
    while !rest.is_empty() {
        let index = values.len();
        let Some((prefix, tail)) = rest.split_first_chunk::<4>() else {
            return Err(TensorError::BytesPrefixTruncated {
                input: input.to_owned(),
                index,
                remaining: rest.len(),
            });
        };
        let length = u32::from_le_bytes(*prefix) as usize;
        let Some((element, tail)) = tail.split_at_checked(length) else {
            return Err(TensorError::BytesElementTruncated {
                input: input.to_owned(),
                index,
                length,
                remaining: tail.len(),
            });
        };
        values.push(element.to_vec());
        rest = tail;
    }
    if values.len() != count {
        return Err(TensorError::ElementCount {
            input: input.to_owned(),
            shape: shape.to_vec(),
            expected: count,
            actual: values.len(),
        });
    }
    Ok(values)
}
