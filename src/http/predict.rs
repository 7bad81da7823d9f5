//! The seed's prediction routes: `POST /predict/{model}` with one JSON record (one answer) or
//! an array of records (an array of answers in the same order, one graph execution).

use std::sync::Arc;

use axum::extract::State;

use super::path::ApiPath;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::body::SentJson;
use super::error::{ApiError, unprocessable};
use super::state::AppState;
use super::trail::{Scored, Trail};
use crate::audit::{self, AuditInputs, RowTexts};
use crate::inference::answers::RecordAnswers;
use crate::inference::{self, records};
use crate::tensor::Tensor;

pub async fn predict(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    SentJson { value, raw }: SentJson<Value>,
) -> Result<Response, ApiError> {
    let trail = Trail::begin("/predict/{model}", &raw.headers);
    let result = score(&state, &name, value, raw.bytes).await;
    let answer = trail.finish(&state, &name, None, result).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], answer).into_response())
}

/// Predicts, and writes the answer's JSON before the outputs move on to the audit trail. The
/// trail keeps `sent` (the body) and the answer as they are when it can.
async fn score(
    state: &AppState,
    name: &str,
    body: Value,
    sent: Bytes,
) -> Result<Scored<Bytes>, ApiError> {
    let model = state.repository.get(name, None)?;
    let (rows, single) = match body {
        Value::Array(items) => (items, false),
        record @ Value::Object(_) => (vec![record], true),
        _ => {
            return Err(ApiError::BadRequest(
                "send a JSON object of features, or an array of them".into(),
            ));
        }
    };
    let (outputs, elements, kept) = if rows.is_empty() {
        (Vec::new(), 0, None)
    } else {
        let inputs = records::tensors_from_records(&model, &rows)?;
        // Records that became tensors hold exactly this many elements each.
        let elements = inputs
            .iter()
            .map(|t| t.shape().iter().skip(1).product::<usize>())
            .sum();
        // A large request is stored as its tensors: a copy of them is far cheaper for the
        // trail than the body's and answer's text.
        let inputs: Arc<[Tensor]> = inputs.into();
        let kept = (state.audit.is_enabled()
            && model.rows_everywhere()
            && audit::stored_as_tensors(&inputs))
        .then(|| inputs.clone());
        let outputs = inference::infer(model.clone(), inputs, None)
            .await
            .map_err(unprocessable)?;
        (outputs, elements, kept)
    };
    let answer = serde_json::to_vec(&RecordAnswers::new(&model, &outputs, rows.len(), single))
        .map_err(|e| ApiError::Internal(format!("cannot write the answer: {e}")))?;
    let answer = Bytes::from(answer);
    let as_sent = state.audit.is_enabled().then(|| {
        kept.and_then(|inputs| RowTexts::tensors(&inputs, &outputs))
            .unwrap_or_else(|| {
                RowTexts::as_sent(&rows, Some(elements), sent, answer.clone(), single)
            })
    });
    Ok(Scored {
        model,
        inputs: AuditInputs::Records(rows),
        outputs,
        answer,
        as_sent,
    })
}
