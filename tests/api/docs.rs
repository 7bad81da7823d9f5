//! The documentation routes: the OpenAPI document and the `/docs` page with its own files.

use crate::helpers::{TestApp, json_with_status};

#[tokio::test]
async fn openapi_json_is_an_openapi_3_1_document_of_the_api() {
    let app = TestApp::spawn().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{:?}",
        response.headers()
    );
    let document = json_with_status(response, 200).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "prediction-api");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    for (path, method) in [
        ("/health", "get"),
        ("/models/info", "get"),
        ("/predict/{model}", "post"),
        ("/v2/health/ready", "get"),
        ("/v2/models/{name}", "get"),
        ("/v2/models/{name}/infer", "post"),
        ("/v1/models/{name}:predict", "post"),
        ("/invocations", "post"),
        ("/openapi.json", "get"),
        ("/docs", "get"),
    ] {
        let op = &document["paths"][path][method];
        assert!(
            op["summary"].is_string(),
            "{method} {path} is not documented"
        );
        assert!(
            op["responses"]["200"].is_object(),
            "{method} {path}: no 200"
        );
    }
    let schemas = &document["components"]["schemas"];
    for name in [
        "InferenceRequest",
        "InferenceResponse",
        "ErrorResponse",
        "HealthResponse",
    ] {
        assert!(schemas[name].is_object(), "no schema {name}");
    }
    let predict = &document["paths"]["/predict/{model}"]["post"];
    assert_eq!(
        predict["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PredictRequest"
    );
    assert_eq!(
        predict["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorResponse"
    );
}

/// The values of `attribute="…"` in an HTML text.
fn attribute_values<'t>(html: &'t str, attribute: &str) -> Vec<&'t str> {
    let marker = format!(" {attribute}=\"");
    html.match_indices(&marker)
        .filter_map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

fn assert_no_other_host(name: &str, text: &str) {
    for scheme in ["http://", "https://"] {
        let line = text.lines().find(|l| l.contains(scheme));
        assert!(line.is_none(), "{name} refers to another host: {line:?}");
    }
}

#[tokio::test]
async fn the_docs_page_is_html_that_loads_only_its_own_files() {
    let app = TestApp::spawn().await;
    let response = app.get("/docs").await;
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().expect("ASCII");
    assert!(
        policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
        "{policy}"
    );
    let page = response.text().await.expect("body");
    assert!(
        page.starts_with("<!doctype html>"),
        "{}",
        &page[..page.len().min(200)]
    );
    assert_no_other_host("/docs", &page);

    let files: Vec<&str> = attribute_values(&page, "src")
        .into_iter()
        .chain(attribute_values(&page, "href"))
        .filter(|v| !v.starts_with('#') && !v.starts_with("data:"))
        .collect();
    assert!(
        files.contains(&"docs/docs.js") && files.contains(&"docs/docs.css"),
        "{files:?}"
    );
    for file in files {
        assert!(
            !file.starts_with('/') && !file.contains(':'),
            "not a file of this server: {file}"
        );
        // Relative to /docs, as the browser resolves it.
        let response = app.get(&format!("/{file}")).await;
        assert_eq!(response.status().as_u16(), 200, "{file}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ASCII")
            .to_string();
        let text = response.text().await.expect("body");
        assert!(!text.is_empty(), "{file} is empty");
        let expected = match file.rsplit('.').next() {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            _ => "application/json",
        };
        assert!(content_type.starts_with(expected), "{file}: {content_type}");
        assert_no_other_host(file, &text);
    }
}

#[tokio::test]
async fn an_unknown_docs_file_is_a_json_404() {
    let app = TestApp::spawn().await;
    let body = json_with_status(app.get("/docs/nothing.js").await, 404).await;
    assert_eq!(body["code"], "not_found");
}
