//! The steps of a V2 inference around the run: content type, decoding the body against the
//! model, choosing the outputs and their encodings, and encoding the response.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::contract::DataType;
use crate::http::body::{check_json_content_type, media_type};
use crate::http::error::ApiError;
use crate::inference::Outputs;
use crate::repository::LoadedModel;
use crate::tensor::{
    self, EncodedResponse, InferenceRequest, OutputEncoding, ResponseBuilder, Tensor, TensorError,
};

use super::config;

/// Triton's binary extension header: the byte length of the JSON part of a body.
const INFERENCE_HEADER: &str = "inference-header-content-length";

/// A decoded request: what the run needs, and what the response must echo.
pub struct InferCall {
    pub id: Option<String>,
    pub plan: OutputPlan,
    pub inputs: Vec<Tensor>,
    /// The length of the body's JSON header when the body is in Triton's binary form.
    pub header_length: Option<usize>,
}

/// The outputs the response carries, each with its encoding, in the model's order.
pub struct OutputPlan {
    /// The outputs the client listed; `None` when it listed none (then all are sent).
    requested: Option<Vec<String>>,
    outputs: Vec<PlannedOutput>,
}

/// One output of the response, as the client asked for it.
struct PlannedOutput {
    name: String,
    encoding: OutputEncoding,
    /// Triton's classification extension: answer the `k` highest elements per batch item.
    classification: Option<usize>,
}

impl OutputPlan {
    fn new(model: &LoadedModel, request: &InferenceRequest) -> Result<OutputPlan, ApiError> {
        let listed: Vec<&str> = request
            .outputs
            .iter()
            .flatten()
            .map(|o| o.name.as_str())
            .collect();
        if let Some(unknown) = listed.iter().find(|n| model.output(n).is_none()) {
            return Err(ApiError::BadRequest(format!(
                "unknown output `{unknown}` (the model gives: {})",
                output_names(model).join(", ")
            )));
        }
        if let Some(twice) = listed
            .iter()
            .enumerate()
            .find(|&(i, name)| listed[..i].contains(name))
            .map(|(_, name)| name)
        {
            return Err(ApiError::BadRequest(format!(
                "output `{twice}` is requested more than once"
            )));
        }
        // Triton answers an empty `outputs` list with every output, as if it were absent.
        let names: Vec<&str> = output_names(model)
            .into_iter()
            .filter(|n| listed.is_empty() || listed.contains(n))
            .collect();
        let outputs = names
            .iter()
            .map(|&name| {
                let classification = request.output_classification(name)?;
                if classification.is_some() {
                    check_classifiable(model, name)?;
                }
                Ok(PlannedOutput {
                    name: name.to_string(),
                    encoding: request.output_encoding(name)?,
                    classification,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let requested = (!listed.is_empty()).then(|| names.iter().map(|&n| n.into()).collect());
        Ok(OutputPlan { requested, outputs })
    }

    /// The outputs to ask the run for.
    pub fn wanted(&self) -> Option<Vec<String>> {
        self.requested.clone()
    }

    fn output(&self, name: &str) -> Option<&PlannedOutput> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

/// Classifications rank numbers: an output of strings or booleans is refused before anything
/// runs.
fn check_classifiable(model: &LoadedModel, name: &str) -> Result<(), ApiError> {
    let datatype = model.output(name).map(|o| o.tensor.datatype);
    match datatype {
        Some(d @ (DataType::Bytes | DataType::Bool)) => Err(ApiError::BadRequest(format!(
            "output `{name}` is {d}, which has no order: `classification` needs a numeric output"
        ))),
        _ => Ok(()),
    }
}

fn output_names(model: &LoadedModel) -> Vec<&str> {
    model
        .signature
        .outputs
        .iter()
        .map(|o| o.tensor.name.as_str())
        .collect()
}

/// Whether the body is in Triton's binary form (a JSON header, then tensor bytes) rather than
/// JSON as a whole.
pub fn is_binary(headers: &HeaderMap) -> bool {
    headers.contains_key(INFERENCE_HEADER)
}

/// JSON, or Triton's binary form, which `tritonclient` sends with no Content-Type at all.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    if media_type(headers) == "application/octet-stream" {
        return Ok(());
    }
    check_json_content_type(headers).map_err(|e| {
        e.for_a_route_reading(
            "application/json, or Triton's binary tensors (application/octet-stream)",
        )
    })
}

/// Decodes the body's inputs and plans the outputs. The output list is checked here, before
/// anything runs, so a typo in an output name costs no inference.
pub fn decode(
    model: &LoadedModel,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<InferCall, ApiError> {
    let header_length = headers
        .get(INFERENCE_HEADER)
        .map(|v| tensor::parse_header_length(&String::from_utf8_lossy(v.as_bytes())))
        .transpose()?;
    let (request, inputs) = tensor::decode_request(body, header_length)?;
    let plan = OutputPlan::new(model, &request)?;
    Ok(InferCall {
        id: request.id,
        plan,
        inputs,
        header_length,
    })
}

/// Encodes the planned outputs; `model_version` names the version that ran.
pub fn encode(
    model: &LoadedModel,
    id: Option<String>,
    plan: &OutputPlan,
    outputs: &Outputs,
) -> Result<EncodedResponse, ApiError> {
    let mut builder = ResponseBuilder::new(&model.name, Some(model.version.to_string()), id);
    for (name, output) in outputs {
        let Some(planned) = plan.output(name) else {
            continue;
        };
        let pushed = match planned.classification {
            None => builder.push(output.tensor(), planned.encoding),
            Some(count) => {
                let batched = config::max_batch_size(model) > 0;
                let labels = model.output(name).and_then(|o| o.classes.as_deref());
                tensor::classifications(output.tensor(), count, batched, labels)
                    .and_then(|classes| builder.push(&classes, planned.encoding))
            }
        };
        pushed.map_err(encoding_error)?;
    }
    builder.finish().map_err(encoding_error)
}

/// An output JSON cannot carry is the client's to fix by asking for binary; anything else
/// going wrong while encoding is the server's fault.
fn encoding_error(e: TensorError) -> ApiError {
    match e {
        TensorError::NotJsonRepresentable { .. }
        | TensorError::BinaryOnly { .. }
        | TensorError::NotClassifiable { .. } => ApiError::BadRequest(e.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// JSON when every output is JSON; otherwise the JSON header plus binary tail, typed as
/// octet-stream (it is not JSON as a whole) and framed by `Inference-Header-Content-Length`.
pub fn into_response(body: Bytes, header_length: Option<usize>) -> Response {
    let content_type = match header_length {
        Some(_) => "application/octet-stream",
        None => "application/json",
    };
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response();
    if let Some(length) = header_length {
        response
            .headers_mut()
            .insert(INFERENCE_HEADER, HeaderValue::from(length));
    }
    response
}
