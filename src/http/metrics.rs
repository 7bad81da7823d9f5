//! HTTP metrics: the middleware that counts every request by method, route template and status
//! class, and `GET /metrics` (alias `/metrics/prometheus`), the Prometheus exposition.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::ApiError;
use super::state::AppState;
use crate::metrics::{CONTENT_TYPE, InFlight, Metrics};

/// The route label of requests no route matched: one series, whatever the path.
pub const UNMATCHED: &str = "unmatched";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(expose))
        .route("/metrics/prometheus", get(expose))
}

/// A request being counted: in flight from [`Tracked::start`], counted by
/// [`Tracked::finish`] once its answer is ready (the edge layer, mod.rs). Labelled by the
/// route template (`/predict/{model}`), never the raw path, so clients cannot create series.
pub struct Tracked<'m> {
    metrics: &'m Metrics,
    method: &'static str,
    route: Option<MatchedPath>,
    _in_flight: InFlight,
    started: Instant,
}

impl<'m> Tracked<'m> {
    pub fn start(metrics: &'m Metrics, req: &Request) -> Tracked<'m> {
        Tracked {
            metrics,
            method: method_label(req.method()),
            route: req.extensions().get::<MatchedPath>().cloned(),
            _in_flight: metrics.http().in_flight(),
            started: Instant::now(),
        }
    }

    pub fn finish(self, response: &Response) {
        let route = self.route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
        self.metrics.http().observe(
            self.method,
            route,
            response.status().as_u16(),
            self.started.elapsed(),
        );
    }
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
