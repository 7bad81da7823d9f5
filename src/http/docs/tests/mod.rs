//! The OpenAPI document is well formed, its examples fit its schemas, and it documents exactly
//! the routes the router serves.

mod routes;
mod schema_check;

use std::collections::BTreeSet;

use serde_json::Value;

use super::openapi::{self, path_parameter_names};
use super::{ASSETS, OPERATIONS, PAGE, openapi_document};
use crate::http::ApiError;

fn document() -> Value {
    let (document, conflicts) = openapi::build();
    assert!(
        conflicts.is_empty(),
        "schemas defined differently for requests and responses (give one side its own type): {conflicts:?}"
    );
    document
}

/// Every operation of the document as (method, path, operation).
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

#[test]
fn document_is_openapi_3_1_in_shape() {
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "prediction-api");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let tags: BTreeSet<&str> = document["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let mut ids = BTreeSet::new();
    let ops = operations(&document);
    assert_eq!(
        ops.len(),
        OPERATIONS.len(),
        "two operations share a method and path"
    );
    for (method, path, op) in &ops {
        let at = format!("{method} {path}");
        assert!(["get", "post"].contains(&method.as_str()), "{at}");
        assert!(path.starts_with('/'), "{at}");
        for field in ["summary", "description", "operationId"] {
            assert!(
                op[field].as_str().is_some_and(|s| !s.is_empty()),
                "{at}: no {field}"
            );
        }
        assert!(
            ids.insert(op["operationId"].to_string()),
            "{at}: operationId reused"
        );
        let tag = op["tags"][0].as_str().expect("tag");
        assert!(tags.contains(tag), "{at}: undeclared tag {tag}");
        let responses = op["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{at}: no responses");
        for (status, response) in responses {
            assert!(
                status.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)),
                "{at}: {status}"
            );
            assert!(
                response["description"].is_string(),
                "{at} {status}: no description"
            );
        }
        if let Some(body) = op.get("requestBody") {
            let json = &body["content"]["application/json"];
            assert!(
                json["schema"].is_object(),
                "{at}: request body without a schema"
            );
            assert!(
                json["examples"].as_object().is_some_and(|e| !e.is_empty()),
                "{at}: no example"
            );
        }
    }
}

/// Every `$ref` in the document, with where it is.
fn refs(value: &Value, at: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    out.push((at.clone(), v.as_str().unwrap_or_default().to_string()));
                }
                refs(v, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn lookup<'d>(document: &'d Value, reference: &str) -> Option<&'d Value> {
    document.pointer(reference.strip_prefix('#')?)
}

#[test]
fn every_ref_resolves_inside_the_document() {
    let document = document();
    let mut found = Vec::new();
    refs(&document, String::new(), &mut found);
    assert!(
        found.len() > 20,
        "expected the schemas to refer to each other"
    );
    for (at, reference) in found {
        assert!(
            reference.starts_with("#/components/schemas/"),
            "{at}: {reference}"
        );
        assert!(
            lookup(&document, &reference).is_some(),
            "{at}: {reference} does not resolve"
        );
    }
    assert!(
        document.to_string().find("$defs").is_none(),
        "a $defs was left in place"
    );
}

#[test]
fn every_path_parameter_is_declared() {
    let document = document();
    for (method, path, op) in operations(&document) {
        let templated: BTreeSet<&str> = path_parameter_names(&path).into_iter().collect();
        let declared: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|p| p.iter().filter(|p| p["in"] == "path").collect())
            .unwrap_or_default();
        let names: BTreeSet<&str> = declared.iter().filter_map(|p| p["name"].as_str()).collect();
        assert_eq!(names, templated, "{method} {path}");
        for p in declared {
            assert_eq!(p["required"], true, "{method} {path}: {p}");
            assert!(
                p["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{method} {path}: {p}"
            );
            assert!(
                p["example"].as_str().is_some_and(|d| !d.is_empty()),
                "{method} {path}: {p}"
            );
        }
    }
}

#[test]
fn examples_fit_their_schemas() {
    let document = document();
    let mut checked = 0;
    for (method, path, op) in operations(&document) {
        let mut cases = Vec::new();
        let request = &op["requestBody"]["content"]["application/json"];
        for (name, example) in request["examples"].as_object().into_iter().flatten() {
            cases.push((
                format!("request example {name}"),
                &request["schema"],
                &example["value"],
            ));
        }
        for (status, response) in op["responses"].as_object().expect("responses") {
            let json = &response["content"]["application/json"];
            if json.get("example").is_some() {
                cases.push((
                    format!("{status} example"),
                    &json["schema"],
                    &json["example"],
                ));
            }
        }
        for (what, schema, value) in cases {
            let mut errors = Vec::new();
            schema_check::validate(&document, schema, value, "", &mut errors);
            assert!(errors.is_empty(), "{method} {path}, {what}: {errors:#?}");
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} examples checked");
}

/// The documented error code of each status is the one the server sends.
#[test]
fn error_codes_are_the_servers() {
    let document = document();
    let codes = document["components"]["schemas"]["ErrorCode"].to_string();
    let samples = [
        ApiError::BadRequest(String::new()),
        ApiError::NotFound(String::new()),
        ApiError::MethodNotAllowed {
            method: String::new(),
            path: String::new(),
            allow: None,
        },
        ApiError::PayloadTooLarge { limit: 1 },
        ApiError::UnsupportedMediaType(String::new(), "application/json"),
        ApiError::Unprocessable(String::new()),
        ApiError::Unavailable(String::new()),
        ApiError::Timeout(1.0),
        ApiError::BodyTimeout(1.0),
        ApiError::Internal(String::new()),
    ];
    for error in samples {
        let (code, _) = openapi::error_example(error.status().as_u16());
        assert_eq!(code, error.code(), "{error:?}");
        assert!(
            codes.contains(&format!("\"{code}\"")),
            "ErrorCode lacks {code}"
        );
        let status = error.status().as_u16().to_string();
        assert!(
            document["info"]["description"]
                .as_str()
                .is_some_and(|d| d.contains(&status)),
            "the description does not explain {status}"
        );
    }
}

#[test]
fn schema_descriptions_do_not_repeat_the_route() {
    let document = document();
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    for (name, schema) in schemas {
        if let Some(description) = schema["description"].as_str() {
            assert!(
                !description.starts_with("`GET") && !description.starts_with("`POST"),
                "{name}: {description}"
            );
        }
    }
    assert_eq!(
        schemas["PredictRequest"]["description"],
        "One record, or an array of records scored in one batch."
    );
    assert!(schemas["HealthResponse"].get("description").is_none());
}

#[test]
fn v2_request_inputs_name_the_datatypes() {
    let document = document();
    let datatype = &document["components"]["schemas"]["RequestInput"]["properties"]["datatype"];
    assert_eq!(
        datatype["$ref"], "#/components/schemas/DataType",
        "{datatype}"
    );
    for (schema, field, description) in super::components::WIRE_DESCRIPTIONS {
        let property = &document["components"]["schemas"][schema]["properties"][field];
        assert_eq!(property["description"], *description, "{schema}.{field}");
    }
}

#[test]
fn the_page_loads_nothing_from_other_hosts() {
    let files = std::iter::once(("docs.html", PAGE)).chain(ASSETS.iter().map(|(n, _, t)| (*n, *t)));
    for (name, text) in files {
        // Absolute URLs, and scheme-relative ones in attributes, strings and `url(…)`.
        for needle in ["http://", "https://", "\"//", "'//", "(//", "`//"] {
            let hit = text.lines().find(|l| l.contains(needle));
            assert!(hit.is_none(), "{name} refers to another host: {hit:?}");
        }
    }
}

#[test]
fn the_served_document_is_the_built_one() {
    let served: Value = serde_json::from_slice(&super::document_bytes()).expect("JSON");
    assert_eq!(served, openapi_document());
}
