//! HTTP: the router with every route and layer, one module per API family, and the one error
//! type. Only this module knows JSON bodies and status codes.

pub mod admin;
pub mod body;
pub mod docs;
pub mod error;
pub mod health;
pub mod metrics;
pub mod mlflow;
mod path;
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

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}
