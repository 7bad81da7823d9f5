//! The API's documentation: `GET /openapi.json`, an OpenAPI 3.1 document generated from the
//! request and response types, and `GET /docs`, a page to read and try it.
//!
//! The page is this project's own HTML, CSS and JavaScript, compiled into the binary: it loads
//! nothing from other hosts (its Content-Security-Policy forbids it), so it works offline.

mod components;
mod examples;
mod openapi;
pub mod operations;
pub mod shapes;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use crate::http::path::ApiPath;
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderName, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::ApiError;
use super::state::AppState;

pub use openapi::{Method, Operation};
pub use operations::OPERATIONS;

/// The page's files: name under `/docs/`, Content-Type, contents.
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "docs.css",
        "text/css; charset=utf-8",
        include_str!("docs.css"),
    ),
    (
        "docs.js",
        "text/javascript; charset=utf-8",
        include_str!("docs.js"),
    ),
];

const PAGE: &str = include_str!("docs.html");

/// Everything the page needs comes from this server; `connect-src 'self'` is what "Try it"
/// calls.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(page))
        .route("/docs/{file}", get(asset))
}

/// The OpenAPI document as a JSON value.
pub fn openapi_document() -> serde_json::Value {
    let (document, conflicts) = openapi::build();
    if !conflicts.is_empty() {
        tracing::warn!(
            ?conflicts,
            "schemas defined differently for requests and responses; the response form is documented"
        );
    }
    document
}

/// The document is the same for the life of the process: serialized once.
fn document_bytes() -> Bytes {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            let text = serde_json::to_vec_pretty(&openapi_document())
                .unwrap_or_else(|e| unreachable!("a JSON value always serializes: {e}"));
            Bytes::from(text)
        })
        .clone()
}

async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_bytes(),
    )
        .into_response()
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

async fn asset(ApiPath(file): ApiPath<String>) -> Result<Response, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| ApiError::NotFound(format!("no file `{file}` under /docs/")))?;
    let headers: [(HeaderName, &str); 3] = [
        (header::CONTENT_TYPE, content_type),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    Ok((headers, *body).into_response())
}
