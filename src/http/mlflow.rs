//! MLflow scoring routes: `POST /invocations` and `GET /ping` for the default model.

use axum::Router;

use super::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
