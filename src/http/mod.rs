//! HTTP: the router with every route and layer, one module per API family, and the one error
//! type. Only this module knows JSON bodies and status codes.

pub mod admin;
pub mod body;
pub mod docs;
pub mod error;
pub mod health;
pub mod metrics;
pub mod mlflow;
pub mod predict;
pub mod repository;
pub mod request_id;
mod state;
pub mod trail;
pub mod v1;
pub mod v2;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use error::ApiError;
pub use request_id::RequestId;
pub use state::{AppState, SharedState};

/// Every route of the server.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let registry = state.metrics.clone();
    Router::new()
        .route("/health", get(health::health))
        .route("/models/info", get(health::models_info))
        .route("/predict/{model}", post(predict::predict))
        .route("/v2", get(health::server_metadata))
        .route("/v2/health/live", get(health::live))
        .route("/v2/health/ready", get(health::ready))
        .merge(v1::routes())
        .merge(v2::routes())
        .merge(mlflow::routes())
        .merge(repository::routes())
        .merge(docs::routes())
        .merge(metrics::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(known_encodings))
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            deadline(request_timeout, req, next)
        }))
        // Outside the deadline, so a 504 is counted and logged like any answer.
        .layer(middleware::from_fn_with_state(registry, metrics::track))
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// Answers 504 (in the API's error shape) when a request outlives `limit`.
async fn deadline(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(limit.as_secs_f64()).into_response(),
    }
}

/// Refuses a body in an encoding the body reader does not decode (body.rs) with 415, on every
/// route, rather than letting it fail later as a malformed body.
async fn known_encodings(req: Request, next: Next) -> Response {
    match body::Encoding::of(req.headers()) {
        Ok(_) => next.run(req).await,
        Err(refused) => refused.into_response(),
    }
}

/// The longest plain-text error body turned into the API's error shape.
const MAX_TEXT_ERROR: usize = 16 * 1024;

/// Every error answer in the API's shape `{"error", "code"}`: the handlers answer in it, but
/// axum's own rejections (a path segment that is not UTF-8, say) come as plain text.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT_ERROR)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let error = match text.is_empty() {
        true => status.canonical_reason().unwrap_or("error").to_string(),
        false => text,
    };
    let body = serde_json::json!({"error": error, "code": error::code_for_status(status)});
    let mut answer = (status, axum::Json(body)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().append(name, value.clone());
        }
    }
    answer
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}
