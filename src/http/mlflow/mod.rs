//! MLflow scoring routes: `POST /invocations` and `GET /ping` for the default model, and
//! `POST /v1/models/{name}/invocations` for any model, so clients of `mlflow models serve`
//! keep working: JSON in its four formats, or a CSV table (csv.rs).

mod csv;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Request, State};

use super::path::ApiPath;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::body::{RawBody, SentJson, media_type, without_bom};
use super::error::ApiError;
use super::state::AppState;
use super::trail::{Scored, Trail};
use super::v1;
use crate::audit::AuditInputs;
use crate::repository::LoadedModel;
use crate::tensor::Tensor;

/// The body keys MLflow accepts; exactly one must be present.
const FORMATS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invocations", post(invocations))
        .route("/ping", get(ping))
        .route("/v1/models/{name}/invocations", post(model_invocations))
}

/// `POST /invocations`: scores with the model chosen by `--default-model`.
async fn invocations(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: ScoringBody,
) -> Result<Json<Value>, ApiError> {
    let trail = Trail::begin("/invocations", &headers);
    let name = state.default_model.clone().unwrap_or_else(|| Arc::from(""));
    let result = match &state.default_model {
        Some(name) => score_named(&state, name, body).await,
        None => Err(ApiError::NotFound(
            "no default model: start the server with --default-model NAME (or DEFAULT_MODEL) \
             to serve /invocations, or post to /v1/models/{name}/invocations"
                .into(),
        )),
    };
    trail.finish(&state, &name, None, result).await.map(Json)
}

/// `POST /v1/models/{name}/invocations`: the same scoring for any model.
async fn model_invocations(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    body: ScoringBody,
) -> Result<Json<Value>, ApiError> {
    let trail = Trail::begin("/v1/models/{name}/invocations", &headers);
    let result = score_named(&state, &name, body).await;
    trail.finish(&state, &name, None, result).await.map(Json)
}

async fn score_named(
    state: &AppState,
    name: &str,
    body: ScoringBody,
) -> Result<Scored<Value>, ApiError> {
    let model = state.repository.get(name, None)?;
    score(model, body).await
}

/// A scoring request's body: JSON, or a CSV table (`Content-Type: text/csv`), which needs the
/// model to be typed.
enum ScoringBody {
    Json(Value),
    Csv(axum::body::Bytes),
}

impl FromRequest<AppState> for ScoringBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if media_type(req.headers()) == "text/csv" {
            let raw = RawBody::from_request(req, state).await?;
            return Ok(ScoringBody::Csv(without_bom(raw.bytes)));
        }
        let sent = SentJson::from_request(req, state)
            .await
            .map_err(|e| e.for_a_route_reading("application/json, or text/csv"))?;
        Ok(ScoringBody::Json(sent.value))
    }
}

/// `GET /ping`: 200 when the default model can serve, 503 otherwise.
async fn ping(State(state): State<AppState>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(name) = state.default_model.clone() else {
        return Err(ApiError::Unavailable(
            "no default model: start the server with --default-model NAME".into(),
        ));
    };
    state
        .repository
        .get(&name, None)
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok((StatusCode::OK, Json(json!({"status": "ok"}))))
}

/// Answers `{"predictions": [...]}`: one value per row for a single-output model, one object
/// `{output: value}` per row otherwise, whatever the input format.
async fn score(model: Arc<LoadedModel>, body: ScoringBody) -> Result<Scored<Value>, ApiError> {
    let body = match body {
        ScoringBody::Json(value) => value,
        ScoringBody::Csv(text) => csv::as_dataframe_split(&model, &text)?,
    };
    let (tensors, records) = tensors_from_body(&model, body)?;
    let rows = v1::request_rows(records.as_ref().map(Vec::len), &tensors);
    let tensors: Arc<[Tensor]> = tensors.into();
    // Columns have no records to keep: the trail keeps the tensors they became.
    let inputs = match records {
        Some(records) => AuditInputs::Records(records),
        None => AuditInputs::Tensors(tensors.clone()),
    };
    let outputs = v1::run(&model, tensors, rows).await?;
    let answer = json!({ "predictions": v1::per_row(&model, &outputs, rows) });
    Ok(Scored {
        model,
        inputs,
        outputs,
        answer,
        as_sent: None,
    })
}

/// The request tensors, and the records they came from when the format has records.
fn tensors_from_body(
    model: &LoadedModel,
    body: Value,
) -> Result<(Vec<Tensor>, Option<Vec<Value>>), ApiError> {
    let mut fields = match body {
        Value::Object(fields) => fields,
        other => {
            return Err(ApiError::BadRequest(format!(
                "the body must be a JSON object with exactly one of the keys {}; got {}",
                FORMATS.join(", "),
                json_kind(&other)
            )));
        }
    };
    // Other keys (MLflow's `params`) are ignored, as MLflow does.
    let present: Vec<&str> = FORMATS
        .into_iter()
        .filter(|k| fields.contains_key(*k))
        .collect();
    let [format] = present.as_slice() else {
        let got = if present.is_empty() {
            "none of them".to_string()
        } else {
            present.join(", ")
        };
        return Err(wrong_keys(&got));
    };
    let value = fields.remove(*format).unwrap_or(Value::Null);
    let records = match *format {
        "dataframe_split" => split_records(value)?,
        "inputs" => return Ok((v1::tensors_from_inputs(model, &value)?, None)),
        // `dataframe_records` and `instances` are both a list of rows.
        _ => match value {
            Value::Array(rows) => rows,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "`{format}` must be an array with one entry per row"
                )));
            }
        },
    };
    Ok((v1::tensors_from_instances(model, &records)?, Some(records)))
}

/// What a JSON value is, for messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_keys(got: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "the body must have exactly one of the keys {}; got {got}",
        FORMATS.join(", ")
    ))
}

/// pandas' `split` orientation as row records: `{"columns": [...], "data": [[...]]}` (an
/// `index` is ignored). Without `columns`, each data row is a bare row for a single-input model.
fn split_records(value: Value) -> Result<Vec<Value>, ApiError> {
    let bad = |m: &str| ApiError::BadRequest(format!("`dataframe_split` {m}"));
    let Value::Object(mut split) = value else {
        return Err(bad("must be an object with `columns` and `data`"));
    };
    let Some(Value::Array(data)) = split.remove("data") else {
        return Err(bad("needs `data`: an array of rows"));
    };
    let columns: Vec<String> = match split.remove("columns") {
        None | Some(Value::Null) => return Ok(data),
        Some(Value::Array(c)) => c
            .into_iter()
            .map(|c| match c {
                Value::String(s) => s,
                // pandas allows any column label; a number names the feature by its text.
                other => other.to_string(),
            })
            .collect(),
        Some(_) => return Err(bad("`columns` must be an array of names")),
    };
    data.into_iter()
        .enumerate()
        .map(|(r, row)| match row {
            Value::Array(values) if values.len() == columns.len() => Ok(Value::Object(
                columns.iter().cloned().zip(values).collect::<Map<_, _>>(),
            )),
            _ => Err(bad(&format!(
                "row {r} must be an array of {} values, one per column",
                columns.len()
            ))),
        })
        .collect()
}
