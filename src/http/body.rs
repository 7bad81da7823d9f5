//! Request bodies: read under the size limit and parsed so that every failure is an
//! [`ApiError`] with a JSON body, never axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::state::AppState;

/// The raw body and headers, for routes that parse it themselves (V2 binary tensors).
pub struct RawBody {
    pub headers: HeaderMap,
    pub bytes: Bytes,
}

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let limit = state.max_body_bytes;
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|e| too_large_or_bad(e, limit))?;
        Ok(RawBody {
            headers: parts.headers,
            bytes,
        })
    }
}

fn too_large_or_bad(e: axum::Error, limit: usize) -> ApiError {
    // axum reports the limit as a `LengthLimitError` somewhere in the source chain.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return ApiError::PayloadTooLarge { limit };
        }
        source = s.source();
    }
    ApiError::BadRequest(format!("could not read the request body: {e}"))
}

/// A JSON body of type `T`. Accepts `application/json` (and `+json` types), no Content-Type,
/// or curl's default form type; anything else is 415.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        SentJson::from_request(req, state)
            .await
            .map(|sent| JsonBody(sent.value))
    }
}

/// A JSON body of type `T` as [`JsonBody`] reads it, with the bytes it was parsed from and the
/// request's headers, for routes that keep the body as sent.
pub struct SentJson<T> {
    pub value: T,
    pub raw: RawBody,
}

impl<T: DeserializeOwned> FromRequest<AppState> for SentJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        check_json_content_type(req.headers())?;
        let raw = RawBody::from_request(req, state).await?;
        let value = parse_json(&raw.bytes)?;
        Ok(SentJson { value, raw })
    }
}

pub fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // curl's `-d` labels a JSON body as a form unless told otherwise: take it as JSON.
    let curl_default = essence == "application/x-www-form-urlencoded";
    if essence == "application/json"
        || essence.ends_with("+json")
        || essence.is_empty()
        || curl_default
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(text.to_string()))
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "the request body is empty; send a JSON document".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))
}
