//! TF-Serving / KServe V1 routes: `/v1/models/{name}[/versions/{v}]:predict` and model status.

use axum::Router;

use super::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
