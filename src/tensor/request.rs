//! Decoding an inference request's inputs, from JSON `data` or the binary tail, into tensors.

use super::data::element_count;
use super::wire::{InferenceRequest, Parameters, RequestInput};
use super::{OutputEncoding, Tensor, TensorError, binary, json};
use crate::contract::DataType;

/// Splits a request body, parses its JSON header and decodes every input.
///
/// `header_length` is the `Inference-Header-Content-Length` value, if the request had one.
/// The returned request still holds the inputs' raw `data`; drop it once its `id`,
/// `parameters` and `outputs` have been read.
pub fn decode_request(
    body: &[u8],
    header_length: Option<usize>,
) -> Result<(InferenceRequest, Vec<Tensor>), TensorError> {
    let (header, tail) = binary::split_body(body, header_length)?;
    let request = InferenceRequest::from_json(header)?;
    let inputs = request.decode_inputs(tail)?;
    Ok((request, inputs))
}

impl InferenceRequest {
    /// Parses the JSON part of a request body.
    pub fn from_json(json: &[u8]) -> Result<InferenceRequest, TensorError> {
        if json.iter().all(u8::is_ascii_whitespace) {
            return Err(TensorError::EmptyRequest);
        }
        serde_json::from_slice(json).map_err(TensorError::MalformedJson)
    }

    /// Decodes every input in order. Binary inputs take their bytes from the front of
    /// `binary` in the order they appear; every byte of `binary` must be claimed.
    pub fn decode_inputs(&self, binary: &[u8]) -> Result<Vec<Tensor>, TensorError> {
        let mut rest = binary;
        let tensors = self
            .inputs
            .iter()
            .map(|input| input.decode(&mut rest))
            .collect::<Result<Vec<_>, _>>()?;
        if !rest.is_empty() {
            return Err(TensorError::BinaryLeftover { extra: rest.len() });
        }
        Ok(tensors)
    }

    /// How the output named `output` must be encoded: an explicit `binary_data` on the
    /// requested output wins, then the request's `binary_data_output`, else JSON.
    pub fn output_encoding(&self, output: &str) -> Result<OutputEncoding, TensorError> {
        let requested = self.requested_parameters(output);
        let explicit = match requested {
            Some(p) => bool_parameter(p, "binary_data", || format!("output '{output}'"))?,
            None => None,
        };
        let default = match &self.parameters {
            Some(p) => bool_parameter(p, "binary_data_output", || "request".to_owned())?,
            None => None,
        };
        Ok(match explicit.or(default) {
            Some(true) => OutputEncoding::Binary,
            Some(false) | None => OutputEncoding::Json,
        })
    }

    /// The `parameters` of the requested output named `output`, if the client listed it with
    /// some.
    fn requested_parameters(&self, output: &str) -> Option<&Parameters> {
        self.outputs
            .iter()
            .flatten()
            .find(|o| o.name == output)
            .and_then(|o| o.parameters.as_ref())
    }

    /// How many classifications the client asked for on output `output` (Triton's
    /// `"classification": k`); `None` when it asked for the tensor itself (absent, or 0 as
    /// tritonclient's default `class_count` means).
    pub fn output_classification(&self, output: &str) -> Result<Option<usize>, TensorError> {
        let requested = self.requested_parameters(output);
        let Some(value) = requested.and_then(|p| p.get("classification")) else {
            return Ok(None);
        };
        let count = value
            .as_u64()
            .and_then(|k| usize::try_from(k).ok())
            .ok_or_else(|| TensorError::InvalidParameter {
                location: format!("output '{output}'"),
                parameter: "classification",
                expected: "a number of classes (an integer, 0 or more)",
            })?;
        Ok((count > 0).then_some(count))
    }
}

impl RequestInput {
    /// Decodes this input. A binary input takes its `binary_data_size` bytes from the front of
    /// `binary`, which is advanced past them.
    pub fn decode(&self, binary: &mut &[u8]) -> Result<Tensor, TensorError> {
        let datatype =
            DataType::parse(&self.datatype).ok_or_else(|| TensorError::UnknownDatatype {
                input: self.name.clone(),
                datatype: self.datatype.clone(),
            })?;
        let shape = self.checked_shape()?;
        let count = element_count(&shape).ok_or_else(|| self.overflow())?;
        let data = match (self.binary_data_size()?, &self.data) {
            (Some(_), Some(_)) => {
                return Err(TensorError::DataAndBinary {
                    input: self.name.clone(),
                });
            }
            (None, None) => {
                return Err(TensorError::MissingData {
                    input: self.name.clone(),
                });
            }
            (None, Some(raw)) => json::decode(&self.name, datatype, &shape, count, raw)?,
            (Some(size), None) => {
                let Some((bytes, rest)) = binary.split_at_checked(size) else {
                    return Err(TensorError::BinaryTruncated {
                        input: self.name.clone(),
                        declared: size,
                        available: binary.len(),
                    });
                };
                *binary = rest;
                binary::decode(&self.name, datatype, &shape, count, bytes)?
            }
        };
        Tensor::new(self.name.clone(), shape, data)
    }

    /// The shape as sizes, refusing negative dimensions (-1 is for metadata, not requests).
    fn checked_shape(&self) -> Result<Vec<usize>, TensorError> {
        if let Some(dim) = self.shape.iter().position(|&d| d < 0) {
            return Err(TensorError::NegativeDimension {
                input: self.name.clone(),
                dim,
                shape: self.shape.clone(),
            });
        }
        self.shape
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| self.overflow()))
            .collect()
    }

    fn overflow(&self) -> TensorError {
        TensorError::ShapeOverflow {
            input: self.name.clone(),
            shape: self.shape.iter().map(|&d| d.unsigned_abs()).collect(),
        }
    }

    fn binary_data_size(&self) -> Result<Option<usize>, TensorError> {
        let Some(value) = self
            .parameters
            .as_ref()
            .and_then(|p| p.get("binary_data_size"))
        else {
            return Ok(None);
        };
        value
            .as_u64()
            .and_then(|v| usize::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| TensorError::InvalidParameter {
                location: format!("input '{}'", self.name),
                parameter: "binary_data_size",
                expected: "a non-negative integer",
            })
    }
}

/// Reads an optional boolean parameter; `location` names its owner in the error.
fn bool_parameter(
    parameters: &Parameters,
    name: &'static str,
    location: impl FnOnce() -> String,
) -> Result<Option<bool>, TensorError> {
    match parameters.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_bool()
            .map(Some)
            .ok_or_else(|| TensorError::InvalidParameter {
                location: location(),
                parameter: name,
                expected: "true or false",
            }),
    }
}
