//! KServe V2 model routes: metadata, readiness and inference (JSON and binary tensors).

use axum::Router;

use super::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
