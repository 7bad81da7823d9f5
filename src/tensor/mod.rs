//! Tensors on the wire: KServe V2 JSON and Triton binary tensor data, decoded and encoded.
//!
//! Pure data: no HTTP and no ONNX Runtime. A request body goes in through
//! [`decode_request`] (or [`split_body`], [`InferenceRequest::from_json`] and
//! [`InferenceRequest::decode_inputs`]) and comes out as typed [`Tensor`]s; output tensors go
//! back out through [`encode_response`] (or [`ResponseBuilder`]) as body bytes plus the
//! `Inference-Header-Content-Length` to send when some output is binary.
//!
//! Invariants:
//! - Nothing panics on any input: every fault is a [`TensorError`] that names the input or
//!   output, dimension, element or byte count at fault.
//! - No allocation is sized by a client-declared shape alone; the bytes or JSON text actually
//!   received bound every allocation.
//! - JSON output is never lossy: NaN, infinities and non-UTF-8 BYTES elements are refused in
//!   JSON (they travel fine in binary), and FP16/BF16 travel only in binary.

mod binary;
mod classification;
mod data;
mod error;
mod json;
mod request;
mod response;
mod wire;

pub(crate) use binary::encode as encode_binary;
pub use binary::{parse_header_length, split_body};
pub use classification::top_k as classifications;
pub use data::{Tensor, TensorData};
pub use error::TensorError;
pub use request::decode_request;
pub use response::{EncodedResponse, OutputEncoding, ResponseBuilder, encode_response};
pub use wire::{
    InferenceRequest, InferenceResponse, Parameters, RequestInput, RequestedOutput, ResponseOutput,
};

#[cfg(test)]
mod tests;
