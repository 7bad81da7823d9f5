//! MLflow's CSV scoring input: `Content-Type: text/csv`, a header line of feature names and
//! one line per row, as `mlflow models serve` reads with pandas. The table becomes the
//! `dataframe_split` request it stands for, each cell typed by the model input it feeds: a
//! number for numeric inputs, true or false for boolean ones, the text itself for strings. A
//! cell that does not read as its input's type stays text, so the usual feature check names
//! it and says what was expected.

use serde_json::{Value, json};

use crate::contract::DataType;
use crate::http::error::ApiError;
use crate::repository::LoadedModel;

/// The `{"dataframe_split": {"columns": …, "data": …}}` body a CSV table stands for.
pub fn as_dataframe_split(model: &LoadedModel, text: &[u8]) -> Result<Value, ApiError> {
    let bad = |m: String| ApiError::BadRequest(format!("CSV body: {m}"));
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(str::to_owned)
        .collect();
    if columns.iter().all(String::is_empty) {
        return Err(bad("the first line must name the columns".into()));
    }
    let types: Vec<Option<DataType>> = columns
        .iter()
        .map(|c| model.input(c).map(|spec| spec.datatype))
        .collect();
    let mut data = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad(e.to_string()))?;
        let row: Vec<Value> = record
            .iter()
            .zip(&types)
            .map(|(cell, datatype)| typed(cell, *datatype))
            .collect();
        data.push(Value::Array(row));
    }
    Ok(json!({"dataframe_split": {"columns": columns, "data": data}}))
}

/// A cell as the JSON value its input takes, or as text when it does not read as one.
fn typed(cell: &str, datatype: Option<DataType>) -> Value {
    let text = || Value::String(cell.to_owned());
    let trimmed = cell.trim();
    match datatype {
        Some(DataType::Fp16 | DataType::Bf16 | DataType::Fp32 | DataType::Fp64) => trimmed
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(text, Value::Number),
        Some(DataType::Bool) => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => text(),
        },
        Some(DataType::Bytes) | None => text(),
        Some(_) => trimmed
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| trimmed.parse::<u64>().map(Value::from))
            .unwrap_or_else(|_| text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_take_the_type_of_their_input() {
        assert_eq!(typed(" 5.1", Some(DataType::Fp32)), json!(5.1));
        assert_eq!(typed("3", Some(DataType::Int64)), json!(3));
        assert_eq!(
            typed("18446744073709551615", Some(DataType::Uint64)),
            json!(u64::MAX)
        );
        assert_eq!(typed("True", Some(DataType::Bool)), json!(true));
        assert_eq!(typed("007", Some(DataType::Bytes)), json!("007"));
        // What does not read as its type stays text for the feature check to name.
        assert_eq!(typed("abc", Some(DataType::Fp32)), json!("abc"));
        assert_eq!(typed("nan", Some(DataType::Fp64)), json!("nan"));
        assert_eq!(typed("2.5", Some(DataType::Int32)), json!("2.5"));
        assert_eq!(typed("x", None), json!("x"));
    }
}
