//! `ApiError`: the one place where errors become HTTP status codes and `{"error": "…"}` bodies.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::inference::InferError;
use crate::inference::records::RecordError;
use crate::repository::LookupError;
use crate::runtime::{ConvertError, RunError};
use crate::tensor::TensorError;

/// Every way a request can fail, each with its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed body: not JSON, wrong JSON shape, bad tensor encoding.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// `allow`: the methods the path takes, for the `Allow` header, when the handler knows them
    /// (axum adds the header itself for the router's own 405s).
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: Option<&'static str>,
    },
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error(
        "the uploaded model files are larger than the limit of {limit} bytes (--max-upload-bytes)"
    )]
    UploadTooLarge { limit: usize },
    /// An admin call without a token.
    #[error("{0}")]
    Unauthorized(String),
    /// An admin call with a wrong token, or admin calls disabled.
    #[error("{0}")]
    Forbidden(String),
    /// A body type the route does not read: the type sent, and what the route takes.
    #[error("unsupported Content-Type {0:?}: send {1}")]
    UnsupportedMediaType(String, &'static str),
    #[error("unsupported Content-Encoding {0:?}: send the body uncompressed, gzip or deflate")]
    UnsupportedEncoding(String),
    /// A well-formed body that does not fit the model; the message names the field.
    #[error("{0}")]
    Unprocessable(String),
    /// A model that is not ready (failed to load or still loading).
    #[error("{0}")]
    Unavailable(String),
    #[error("the request took longer than {0:.1} s")]
    Timeout(f64),
    /// The client had not finished sending its body when the request's time ran out.
    #[error("the request body did not arrive within {0:.1} s")]
    BodyTimeout(f64),
    /// The runtime failed on valid input: a bug or a broken model, logged in full.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } | ApiError::UploadTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType(..) | ApiError::UnsupportedEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// For a route that reads more than JSON: a 415 names the body types it does read.
    pub fn for_a_route_reading(self, reads: &'static str) -> ApiError {
        match self {
            ApiError::UnsupportedMediaType(sent, _) => ApiError::UnsupportedMediaType(sent, reads),
            other => other,
        }
    }

    /// A stable machine-readable code beside the message.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } | ApiError::UploadTooLarge { .. } => {
                "payload_too_large"
            }
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::UnsupportedMediaType(..) | ApiError::UnsupportedEncoding(_) => {
                "unsupported_media_type"
            }
            ApiError::Unprocessable(_) => "invalid_input",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Timeout(_) => "timeout",
            ApiError::BodyTimeout(_) => "body_timeout",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed inside the server");
        }
        let body = serde_json::json!({"error": self.to_string(), "code": self.code()});
        let mut response = (self.status(), axum::Json(body)).into_response();
        if matches!(self, ApiError::Unavailable(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ApiError::MethodNotAllowed {
            allow: Some(allow), ..
        } = &self
        {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if matches!(
            self,
            ApiError::BodyTimeout(_) | ApiError::PayloadTooLarge { .. }
        ) {
            // The rest of the body may still come (or was never read): this connection
            // cannot be read further.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::UnknownModel(_) | LookupError::UnknownVersion { .. } => {
                ApiError::NotFound(e.to_string())
            }
            LookupError::Unavailable { .. } | LookupError::NoneLoaded { .. } => {
                ApiError::Unavailable(e.to_string())
            }
        }
    }
}

impl From<TensorError> for ApiError {
    fn from(e: TensorError) -> Self {
        match e {
            // Failures to write a response are the server's, not the client's.
            TensorError::Serialize(_) | TensorError::BytesElementTooLong { .. } => {
                ApiError::Internal(e.to_string())
            }
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<RecordError> for ApiError {
    fn from(e: RecordError) -> Self {
        ApiError::Unprocessable(e.0)
    }
}

impl From<InferError> for ApiError {
    fn from(e: InferError) -> Self {
        match e {
            InferError::Invalid(m) => ApiError::BadRequest(m),
            InferError::NonFinite(m) => ApiError::Unprocessable(m),
            InferError::Run(RunError::Convert(c @ ConvertError::NotUtf8 { .. })) => {
                ApiError::BadRequest(c.to_string())
            }
            InferError::Run(refused @ RunError::Refused(_)) => {
                ApiError::BadRequest(refused.to_string())
            }
            InferError::Run(other) => ApiError::Internal(other.to_string()),
            InferError::Aborted(m) => ApiError::Internal(m),
            overloaded @ InferError::Overloaded(_) => ApiError::Unavailable(overloaded.to_string()),
        }
    }
}

/// For the record APIs, a tensor that does not fit the model is the client's field error.
pub fn unprocessable(e: InferError) -> ApiError {
    match e {
        InferError::Invalid(m) => ApiError::Unprocessable(m),
        InferError::Run(refused @ RunError::Refused(_)) => {
            ApiError::Unprocessable(refused.to_string())
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_batching_queue_is_503_with_retry_after() {
        let response = ApiError::from(InferError::Overloaded(8)).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
