//! HTTP metrics: the middleware that counts every request by method, route template and status
//! class, and `GET /metrics` (alias `/metrics/prometheus`), the Prometheus exposition.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::ApiError;
use super::state::AppState;
use crate::metrics::{CONTENT_TYPE, Metrics};

/// The route label of requests no route matched: one series, whatever the path.
pub const UNMATCHED: &str = "unmatched";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(expose))
        .route("/metrics/prometheus", get(expose))
}

/// Middleware: counts the request when its response is ready. Labelled by the route template
/// (`/predict/{model}`), never the raw path, so clients cannot create series.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().cloned();
    let _in_flight = metrics.http().in_flight();
    let started = Instant::now();
    let response = next.run(req).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    metrics
        .http()
        .observe(method, route, response.status().as_u16(), started.elapsed());
    response
}

/// Standard methods by name, anything else as `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

async fn expose(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = state
        .metrics
        .render()
        .map_err(|e| ApiError::Internal(format!("cannot encode metrics: {e}")))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}
