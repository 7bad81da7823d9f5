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

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use tracing::Instrument;

use crate::metrics::Metrics;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use error::ApiError;
pub use request_id::RequestId;
pub use state::{AppState, SharedState};

/// Every route of the server.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let edge = Edge {
        metrics: state.metrics.clone(),
        request_timeout,
    };
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
        .layer(middleware::from_fn_with_state(edge, at_the_edge))
        .with_state(state)
}

/// What every request passes through on its way in and out.
#[derive(Clone)]
struct Edge {
    metrics: Arc<Metrics>,
    request_timeout: Duration,
}

/// Every request: its id and span (request_id.rs), its count in the metrics (metrics.rs) and
/// its deadline, in that order, so that a 504 is counted and logged like any answer. One
/// layer for the three: each `from_fn` layer boxes and clones the services inside it on every
/// request, which single records feel (BENCHMARKS.md, choices made by measurement).
async fn at_the_edge(State(edge): State<Edge>, mut req: Request, next: Next) -> Response {
    let identified = request_id::Identified::begin(&mut req);
    let span = identified.span.clone();
    let tracked = metrics::Tracked::start(&edge.metrics, &req);
    let limit = edge.request_timeout;
    let progress = body::BodyProgress::default();
    req.extensions_mut().insert(progress.clone());
    let response = match tokio::time::timeout(limit, next.run(req))
        .instrument(span)
        .await
    {
        Ok(response) => response,
        // A client still sending its body is the client's delay, not the server's.
        Err(_) if progress.was_waiting_for_the_body() => {
            ApiError::BodyTimeout(limit.as_secs_f64()).into_response()
        }
        Err(_) => ApiError::Timeout(limit.as_secs_f64()).into_response(),
    };
    tracked.finish(&response);
    identified.end(response)
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    // TF-Serving's `…:predict` shares its route with the model's status (`GET`): the path
    // itself takes POST only.
    let path = uri.path();
    let predict = path.starts_with("/v1/models/") && path.ends_with(":predict");
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: path.to_string(),
        allow: predict.then_some("POST"),
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}
