//! Encoding output tensors into a response body: JSON `data`, or Triton binary data after the
//! JSON header.

use serde_json::Value;

use super::wire::{InferenceRequest, InferenceResponse, Parameters, ResponseOutput};
use super::{Tensor, TensorError, binary, json};

/// How one output travels in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputEncoding {
    /// A flat JSON array in `data`.
    Json,
    /// Raw bytes after the JSON header; the output carries `parameters.binary_data_size`.
    Binary,
}

/// A complete response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedResponse {
    /// The JSON header followed by the binary outputs' bytes, if any.
    pub body: Vec<u8>,
    /// The `Inference-Header-Content-Length` to send: `Some` exactly when some output is
    /// binary, because clients read JSON `data` when the header is absent.
    pub header_length: Option<usize>,
}

/// Builds a response one output at a time.
#[derive(Debug)]
pub struct ResponseBuilder {
    response: InferenceResponse,
    binary: Vec<u8>,
    any_binary: bool,
}

impl ResponseBuilder {
    /// Starts a response with no outputs; `id` echoes the request's.
    pub fn new(
        model_name: impl Into<String>,
        model_version: Option<String>,
        id: Option<String>,
    ) -> ResponseBuilder {
        ResponseBuilder {
            response: InferenceResponse {
                model_name: model_name.into(),
                model_version,
                id,
                parameters: None,
                outputs: Vec::new(),
            },
            binary: Vec::new(),
            any_binary: false,
        }
    }

    /// Sets the response's top-level `parameters`.
    pub fn parameters(&mut self, parameters: Parameters) -> &mut ResponseBuilder {
        self.response.parameters = Some(parameters);
        self
    }

    /// Appends `tensor` as the next output. On error the builder is unchanged.
    pub fn push(&mut self, tensor: &Tensor, encoding: OutputEncoding) -> Result<(), TensorError> {
        let (parameters, data) = match encoding {
            OutputEncoding::Json => (None, Some(json::encode(tensor.name(), tensor.data())?)),
            OutputEncoding::Binary => {
                let start = self.binary.len();
                if let Err(err) = binary::encode(tensor.name(), tensor.data(), &mut self.binary) {
                    self.binary.truncate(start);
                    return Err(err);
                }
                let size = self.binary.len() - start;
                self.any_binary = true;
                let mut parameters = Parameters::new();
                parameters.insert("binary_data_size".to_owned(), Value::from(size));
                (Some(parameters), None)
            }
        };
        self.response.outputs.push(ResponseOutput {
            name: tensor.name().to_owned(),
            shape: tensor.shape().to_vec(),
            datatype: tensor.datatype(),
            parameters,
            data,
        });
        Ok(())
    }

    /// Serializes the JSON header and appends the binary outputs' bytes.
    pub fn finish(self) -> Result<EncodedResponse, TensorError> {
        let mut body = serde_json::to_vec(&self.response).map_err(TensorError::Serialize)?;
        if !self.any_binary {
            return Ok(EncodedResponse {
                body,
                header_length: None,
            });
        }
        let header_length = body.len();
        body.extend_from_slice(&self.binary);
        Ok(EncodedResponse {
            body,
            header_length: Some(header_length),
        })
    }
}

/// Encodes `outputs` as the response to `request`, each output in the encoding the request
/// asked for (see [`InferenceRequest::output_encoding`]), echoing the request's `id`.
pub fn encode_response(
    request: &InferenceRequest,
    model_name: &str,
    model_version: Option<&str>,
    outputs: &[Tensor],
) -> Result<EncodedResponse, TensorError> {
    let mut builder = ResponseBuilder::new(
        model_name,
        model_version.map(str::to_owned),
        request.id.clone(),
    );
    for tensor in outputs {
        builder.push(tensor, request.output_encoding(tensor.name())?)?;
    }
    builder.finish()
}
