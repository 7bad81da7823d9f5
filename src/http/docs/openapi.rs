//! The OpenAPI 3.1 document: the types an operation is described with, and the paths built
//! from [`OPERATIONS`](super::operations::OPERATIONS). Schemas are generated into
//! `components.schemas` (see [`components`]).

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use super::components;
use super::operations::{OPERATIONS, Tag};
use super::shapes::ErrorResponse;

/// Produces the schema of one type, registering the types it refers to.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The [`SchemaFn`] of `T`.
pub fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    /// The key of the operation in an OpenAPI path item.
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
        }
    }

    pub fn http(self) -> axum::http::Method {
        match self {
            Method::Get => axum::http::Method::GET,
            Method::Post => axum::http::Method::POST,
        }
    }
}

/// One route of the server, as documented.
pub struct Operation {
    pub method: Method,
    /// The OpenAPI path template; `{name}` parameters are declared from it.
    pub path: &'static str,
    pub id: &'static str,
    pub tag: Tag,
    pub summary: &'static str,
    pub description: &'static str,
    pub body: Option<Body>,
    pub replies: &'static [Reply],
    /// Needs `Authorization: Bearer <ADMIN_TOKEN>`.
    pub admin: bool,
}

pub struct Body {
    pub schema: SchemaFn,
    pub description: &'static str,
    pub required: bool,
    /// Also takes Triton's binary tensor data: the JSON header, then raw tensor bytes.
    pub binary: bool,
    pub examples: fn() -> Vec<Example>,
}

/// A named request example. `path` gives path parameter values that go with it (the page's
/// "Try it" form fills them in), published as the `x-path-parameters` extension.
pub struct Example {
    pub name: &'static str,
    pub summary: &'static str,
    pub value: Value,
    pub path: &'static [(&'static str, &'static str)],
}

/// One documented answer of an operation.
pub enum Reply {
    Json {
        status: u16,
        description: &'static str,
        schema: SchemaFn,
        example: fn() -> Value,
    },
    Text {
        status: u16,
        description: &'static str,
        media_types: &'static [&'static str],
        example: &'static str,
    },
    Empty {
        status: u16,
        description: &'static str,
    },
    /// An `{"error", "code"}` answer; the code follows from the status.
    Error {
        status: u16,
        description: &'static str,
    },
}

impl Reply {
    pub fn status(&self) -> u16 {
        match self {
            Reply::Json { status, .. }
            | Reply::Text { status, .. }
            | Reply::Empty { status, .. }
            | Reply::Error { status, .. } => *status,
        }
    }
}

/// The whole document. Schema names defined differently for requests and responses are
/// reported in the second value (a unit test keeps it empty).
pub fn build() -> (Value, Vec<String>) {
    let mut requests = components::generator(SchemaSettings::draft2020_12().for_deserialize());
    let mut responses = components::generator(SchemaSettings::draft2020_12().for_serialize());
    let error = responses.subschema_for::<ErrorResponse>().to_value();
    let mut paths = Map::new();
    for op in OPERATIONS {
        let item = paths
            .entry(op.path)
            .or_insert_with(|| Value::Object(Map::new()));
        item[op.method.key()] = operation(op, &mut requests, &mut responses, &error);
    }
    let (schemas, conflicts) = components::finish(responses, requests);
    let document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "prediction-api",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "Predictions from ONNX models over REST, KServe V2, TF-Serving V1 and MLflow.",
            "description": INFO_DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": Tag::ALL.iter().map(|t| json!({"name": t.name(), "description": t.description()})).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The server's `ADMIN_TOKEN`, sent as `Authorization: Bearer <token>`.",
                },
            },
        },
    });
    (document, conflicts)
}

const INFO_DESCRIPTION: &str = "\
Serves the ONNX models of a model repository (`<name>/<version>/model.onnx`) through several \
protocols, so that existing clients work unchanged: JSON records (`/predict`), KServe V2 / Open \
Inference Protocol tensors (`/v2`, including Triton's binary tensor extension), TF-Serving V1 \
(`/v1`) and MLflow scoring (`/invocations`).

Without a version in the path, the highest loaded version of a model answers.

Every error is JSON: `{\"error\": \"…\", \"code\": \"…\"}`, where `error` says what went wrong (naming \
the field at fault) and `code` is stable for programs: 400 malformed body, 404 unknown model, \
version or route, 405 a method the route does not take (with `Allow`), 408 the body did not \
arrive in time, 413 body too large, 415 a body type the route does not read, 422 a body that does not fit the model, 503 model not ready (with \
`Retry-After`), 504 time limit exceeded, 500 a fault of the server's own (a bug to report).";

fn operation(
    op: &Operation,
    requests: &mut SchemaGenerator,
    responses: &mut SchemaGenerator,
    error: &Value,
) -> Value {
    let mut parameters: Vec<Value> = path_parameter_names(op.path)
        .into_iter()
        .map(path_parameter)
        .collect();
    let mut out = json!({
        "tags": [op.tag.name()],
        "summary": op.summary,
        "description": op.description,
        "operationId": op.id,
    });
    if let Some(body) = &op.body {
        out["requestBody"] = request_body(body, requests);
        if body.binary {
            parameters.push(json!({
                "name": "Inference-Header-Content-Length",
                "in": "header",
                "required": false,
                "description": "With binary tensor data: the length in bytes of the JSON header at the start of the body.",
                "schema": {"type": "integer", "minimum": 0},
            }));
        }
    }
    if !parameters.is_empty() {
        out["parameters"] = Value::Array(parameters);
    }
    let mut replies = Map::new();
    for reply in op.replies {
        replies.insert(
            reply.status().to_string(),
            response(
                reply,
                responses,
                error,
                op.body.as_ref().is_some_and(|b| b.binary),
            ),
        );
    }
    out["responses"] = Value::Object(replies);
    if op.admin {
        out["security"] = json!([{"adminToken": []}]);
    }
    out
}

fn request_body(body: &Body, requests: &mut SchemaGenerator) -> Value {
    let examples: Map<String, Value> = (body.examples)()
        .into_iter()
        .map(|e| {
            let mut example = json!({"summary": e.summary, "value": e.value});
            if !e.path.is_empty() {
                example["x-path-parameters"] = Value::Object(
                    e.path
                        .iter()
                        .map(|(k, v)| (k.to_string(), json!(v)))
                        .collect(),
                );
            }
            (e.name.to_string(), example)
        })
        .collect();
    let mut content = json!({
        "application/json": {"schema": (body.schema)(requests).to_value(), "examples": examples},
    });
    if body.binary {
        content["application/octet-stream"] = json!({"schema": {
            "type": "string",
            "contentMediaType": "application/octet-stream",
            "description": "The JSON request (its length in `Inference-Header-Content-Length`), then the raw bytes of each input whose `parameters.binary_data_size` is set, in order: little-endian, row-major; BYTES elements as a 4-byte length and the bytes.",
        }});
    }
    json!({"description": body.description, "required": body.required, "content": content})
}

fn response(reply: &Reply, responses: &mut SchemaGenerator, error: &Value, binary: bool) -> Value {
    match reply {
        Reply::Json {
            status,
            description,
            schema,
            example,
        } => {
            let mut out = json!({"description": description, "content": {"application/json": {
                "schema": schema(responses).to_value(),
                "example": example(),
            }}});
            if binary && *status == 200 {
                out["content"]["application/octet-stream"] = json!({"schema": {
                    "type": "string",
                    "contentMediaType": "application/octet-stream",
                    "description": "When some output is asked in binary form: the JSON response, then each binary output's bytes in order.",
                }});
                out["headers"] = json!({"Inference-Header-Content-Length": {
                    "description": "Present when binary outputs follow: the length of the JSON part.",
                    "schema": {"type": "integer", "minimum": 0},
                }});
            }
            out
        }
        Reply::Text {
            description,
            media_types,
            example,
            ..
        } => {
            let content: Map<String, Value> = media_types
                .iter()
                .map(|m| {
                    let media = json!({"schema": {"type": "string"}, "example": example});
                    (m.to_string(), media)
                })
                .collect();
            json!({"description": description, "content": content})
        }
        Reply::Empty { description, .. } => json!({"description": description}),
        Reply::Error {
            status,
            description,
        } => {
            let (code, message) = error_example(*status);
            let mut out = json!({"description": description, "content": {"application/json": {
                "schema": error,
                "example": {"error": message, "code": code},
            }}});
            if *status == 503 {
                out["headers"] = json!({"Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer", "minimum": 0},
                }});
            }
            out
        }
    }
}

/// The error code the server sends with `status` (one of [`super::shapes::ErrorCode`]), and a
/// typical message.
pub fn error_example(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => (
            "bad_request",
            "malformed JSON: expected value at line 1 column 1",
        ),
        401 => (
            "unauthorized",
            "this route needs `Authorization: Bearer <token>`",
        ),
        403 => ("forbidden", "the admin token is not valid"),
        404 => ("not_found", "model `irsi` not found"),
        405 => (
            "method_not_allowed",
            "method GET is not allowed on /predict/iris",
        ),
        408 => (
            "body_timeout",
            "the request body did not arrive within 30.0 s",
        ),
        413 => (
            "payload_too_large",
            "request body is larger than the limit of 67108864 bytes",
        ),
        415 => (
            "unsupported_media_type",
            "unsupported Content-Type \"text/csv\": send application/json",
        ),
        422 => ("invalid_input", "feature `petal_width`: missing"),
        503 => (
            "unavailable",
            "model `iris` version 2 is not available: model.onnx is not a valid graph",
        ),
        504 => ("timeout", "the request took longer than 30.0 s"),
        _ => ("internal", "internal error"),
    }
}

/// The `{name}` parameters of a path template, in order.
pub fn path_parameter_names(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

/// A path parameter with its description and an example value (the "Try it" default).
fn path_parameter(name: &str) -> Value {
    let (description, schema, example) = match name {
        "model" | "name" => (
            "Model name: a folder of the model repository.",
            json!({"type": "string"}),
            "iris",
        ),
        "version" => (
            "Model version: a positive integer (a folder under the model).",
            json!({"type": "string", "pattern": "^[1-9][0-9]*$"}),
            "1",
        ),
        "file" => (
            "A file of the documentation page.",
            json!({"type": "string", "enum": super::ASSETS.iter().map(|(n, _, _)| n).collect::<Vec<_>>()}),
            "docs.css",
        ),
        _ => ("", json!({"type": "string"}), ""),
    };
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": schema, "example": example})
}
