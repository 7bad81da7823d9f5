//! Tensor `data` as JSON: a streaming decode of flat or nested arrays, and a flat encode.
//!
//! Decoding walks the raw JSON text with a serde visitor that pushes each element straight into
//! a typed vector: no `serde_json::Value` per element, one allocation for the whole vector
//! (plus one per string for BYTES, which owns its elements).

mod element;
mod walk;

use serde::Serialize;
use serde_json::value::RawValue;

use super::{TensorData, TensorError};
use crate::contract::DataType;
use walk::Run;

/// Decodes `raw` as `count` elements of `datatype` laid out as `shape`.
pub(crate) fn decode(
    input: &str,
    datatype: DataType,
    shape: &[usize],
    count: usize,
    raw: &RawValue,
) -> Result<TensorData, TensorError> {
    let run = Run {
        input,
        shape,
        count,
    };
    Ok(match datatype {
        DataType::Bool => TensorData::Bool(run.decode(raw)?),
        DataType::Uint8 => TensorData::U8(run.decode(raw)?),
        DataType::Uint16 => TensorData::U16(run.decode(raw)?),
        DataType::Uint32 => TensorData::U32(run.decode(raw)?),
        DataType::Uint64 => TensorData::U64(run.decode(raw)?),
        DataType::Int8 => TensorData::I8(run.decode(raw)?),
        DataType::Int16 => TensorData::I16(run.decode(raw)?),
        DataType::Int32 => TensorData::I32(run.decode(raw)?),
        DataType::Int64 => TensorData::I64(run.decode(raw)?),
        DataType::Fp32 => TensorData::F32(run.decode(raw)?),
        DataType::Fp64 => TensorData::F64(run.decode(raw)?),
        DataType::Bytes => TensorData::Bytes(run.decode(raw)?),
        // JSON numbers cannot say which half-precision value the client meant to round to.
        DataType::Fp16 | DataType::Bf16 => {
            return Err(TensorError::JsonDataNotSupported {
                input: input.to_owned(),
                datatype,
            });
        }
    })
}

/// Encodes `data` as a flat JSON array, refusing elements JSON cannot carry faithfully.
pub(crate) fn encode(output: &str, data: &TensorData) -> Result<Box<RawValue>, TensorError> {
    let not_json = |index, reason| TensorError::NotJsonRepresentable {
        output: output.to_owned(),
        index,
        reason,
    };
    match data {
        TensorData::Bool(v) => raw(v),
        TensorData::U8(v) => raw(v),
        TensorData::U16(v) => raw(v),
        TensorData::U32(v) => raw(v),
        TensorData::U64(v) => raw(v),
        TensorData::I8(v) => raw(v),
        TensorData::I16(v) => raw(v),
        TensorData::I32(v) => raw(v),
        TensorData::I64(v) => raw(v),
        // serde_json would silently write NaN and infinities as `null`.
        TensorData::F32(v) => match v.iter().position(|x| !x.is_finite()) {
            Some(index) => Err(not_json(index, NOT_FINITE)),
            None => raw(v),
        },
        TensorData::F64(v) => match v.iter().position(|x| !x.is_finite()) {
            Some(index) => Err(not_json(index, NOT_FINITE)),
            None => raw(v),
        },
        // A lossy conversion would hand the client different bytes than the model produced.
        TensorData::Bytes(v) => {
            let strings = v
                .iter()
                .enumerate()
                .map(|(i, b)| std::str::from_utf8(b).map_err(|_| not_json(i, NOT_UTF8)))
                .collect::<Result<Vec<&str>, _>>()?;
            raw(&strings)
        }
        TensorData::F16(_) | TensorData::BF16(_) => Err(TensorError::BinaryOnly {
            output: output.to_owned(),
            datatype: data.datatype(),
        }),
    }
}

const NOT_FINITE: &str = "is NaN or infinite, which JSON cannot represent";
const NOT_UTF8: &str = "is not valid UTF-8, which a JSON string cannot carry";

fn raw<T: Serialize + ?Sized>(value: &T) -> Result<Box<RawValue>, TensorError> {
    serde_json::value::to_raw_value(value).map_err(TensorError::Serialize)
}
