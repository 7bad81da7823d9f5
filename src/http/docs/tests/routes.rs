//! The document lists exactly the routes the router serves: each documented route reaches a
//! handler, and each route registered in src/http is documented.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use crate::http::docs::{ASSETS, OPERATIONS};
use crate::http::{AppState, SharedState};
use crate::repository::{LoadOptions, ModelRepository};
use crate::runtime::SessionOptions;

/// The path of a documented route with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{model}", "iris")
        .replace("{name}", "iris")
        .replace("{version}", "1")
        .replace("{file}", ASSETS[0].0)
}

fn test_router() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = LoadOptions {
        session: SessionOptions::default(),
        pool_size: 1,
        batching: Default::default(),
        inline_budget: std::time::Duration::ZERO,
    };
    let repository = ModelRepository::open(dir.path(), options, crate::events::none())
        .expect("an empty repository");
    let state = AppState::new(SharedState {
        repository: std::sync::Arc::new(repository),
        started: Instant::now(),
        max_body_bytes: 1 << 20,
        default_model: None,
        metrics: std::sync::Arc::new(crate::metrics::Metrics::new().expect("metrics")),
        repository_api: std::sync::Arc::new(crate::http::admin::RepositoryApi::from_config(
            &crate::config::Config::for_tests(dir.path()),
        )),
        audit: crate::audit::AuditWriter::disabled(),
        drift: crate::drift::DriftMonitor::new(10),
    });
    (crate::http::router(state, Duration::from_secs(5)), dir)
}

/// Every documented (method, path) reaches a handler: the router's fallback ("no route for")
/// and 405 answers mean the route is documented but not served.
#[tokio::test]
async fn every_documented_route_is_routed() {
    let (router, _dir) = test_router();
    let mut unrouted = Vec::new();
    for op in OPERATIONS {
        let request = Request::builder()
            .method(op.method.http())
            .uri(concrete(op.path))
            .body(Body::empty())
            .expect("a request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        let fallback = status == StatusCode::NOT_FOUND
            && String::from_utf8_lossy(&body).contains("no route for");
        if fallback || status == StatusCode::METHOD_NOT_ALLOWED {
            unrouted.push(format!("{} {}", op.method.key().to_uppercase(), op.path));
        }
    }
    assert!(
        unrouted.is_empty(),
        "documented but not routed ({}):\n  {}",
        unrouted.len(),
        unrouted.join("\n  ")
    );
}

/// Every `.route("…", method(…))` in src/http is documented: the router cannot list its
/// routes, so they are read from the source.
#[test]
fn every_routed_route_is_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut routes = Vec::new();
    // This file's own examples of route calls are not routes.
    for file in rust_files(&root)
        .into_iter()
        .filter(|f| !f.ends_with(file!().trim_start_matches("./")))
    {
        let source = std::fs::read_to_string(&file).expect("readable source");
        routes.extend(registered_routes(&source));
    }
    assert!(
        routes.len() >= 6,
        "the scan found too few routes: {routes:?}"
    );
    let mut undocumented = Vec::new();
    for (pattern, methods) in routes {
        for method in methods {
            let documented = OPERATIONS.iter().any(|op| {
                op.method.key() == method && matches_pattern(&concrete(op.path), &pattern)
            });
            if !documented {
                undocumented.push(format!("{} {pattern}", method.to_uppercase()));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "routed but not documented: {undocumented:?}"
    );
}

fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("src/http").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// `(path pattern, methods)` of each `.route("/…", get(…).post(…))` call in `source`.
fn registered_routes(source: &str) -> Vec<(String, Vec<String>)> {
    const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];
    let mut out = Vec::new();
    for (start, _) in source.match_indices(".route(") {
        let call = &source[start + ".route(".len()..];
        let Some(literal) = call.trim_start().strip_prefix("\"/") else {
            continue;
        };
        let Some(end) = literal.find('"') else {
            continue;
        };
        let pattern = format!("/{}", &literal[..end]);
        let mut depth = 1;
        let close = call
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map_or(call.len(), |(i, _)| i);
        let args = &call[..close];
        let methods = METHODS
            .iter()
            .filter(|m| {
                args.match_indices(&format!("{m}(")).any(|(i, _)| {
                    !args[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
            })
            .map(|m| m.to_string())
            .collect();
        out.push((pattern, methods));
    }
    out
}

/// Whether a concrete path matches an axum route pattern (`{x}` one segment, `{*x}` the rest).
fn matches_pattern(path: &str, pattern: &str) -> bool {
    let mut segments = path.split('/');
    for expected in pattern.split('/') {
        if expected.starts_with("{*") {
            return true;
        }
        match segments.next() {
            Some(s) if expected.starts_with('{') && expected.ends_with('}') => {
                if s.is_empty() {
                    return false;
                }
            }
            Some(s) if s == expected => {}
            _ => return false,
        }
    }
    segments.next().is_none()
}

#[test]
fn the_route_scan_reads_the_shapes_in_use() {
    let source = r#"Router::new()
        .route("/v1/models/{name}", get(status).post(predict))
        .route("/x", axum::routing::post(get_thing))"#;
    assert_eq!(
        registered_routes(source),
        vec![
            (
                "/v1/models/{name}".to_string(),
                vec!["get".to_string(), "post".to_string()]
            ),
            ("/x".to_string(), vec!["post".to_string()]),
        ]
    );
    assert!(matches_pattern(
        "/v1/models/iris:predict",
        "/v1/models/{name}"
    ));
    assert!(!matches_pattern(
        "/v1/models/iris/versions/1",
        "/v1/models/{name}"
    ));
    assert!(matches_pattern("/docs/docs.css", "/docs/{file}"));
}
