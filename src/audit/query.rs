//! Reading the trail back: `prediction-api audit --db … [--model …] [--since …] [--limit …]`
//! prints the matching rows as JSON lines, oldest first.

use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context;
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

use super::schema;

/// Print audit rows as JSON lines.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditQuery {
    /// The audit database to read.
    #[arg(long, env = "AUDIT_DB", default_value = "logs/predictions.db")]
    pub db: PathBuf,
    /// Only rows of this model.
    #[arg(long)]
    pub model: Option<String>,
    /// Only rows at or after this time: an RFC 3339 time (2026-11-27T17:00:00Z) or an age
    /// (90s, 15m, 2h, 7d).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many rows: the most recent ones.
    #[arg(long, default_value_t = 100)]
    pub limit: u64,
}

/// Runs the query and writes one JSON object per row to `out`.
pub fn run(query: &AuditQuery, out: &mut impl Write) -> anyhow::Result<()> {
    if !query.db.is_file() {
        anyhow::bail!("no audit database at {}", query.db.display());
    }
    let conn = schema::open_for_reading(&query.db)
        .with_context(|| format!("cannot open {}", query.db.display()))?;
    let since = query.since.as_deref().map(parse_since).transpose()?;
    // Newest requests first, split into their records until `limit` records are found;
    // printed oldest first.
    let sql = "SELECT id, first_row, first_index, rows, time, request_id, model, version, route, \
               features, outputs, latency_ms, status, error, layout FROM requests \
               WHERE (?1 IS NULL OR model = ?1) AND (?2 IS NULL OR time >= ?2) \
               ORDER BY id DESC";
    let mut statement = conn
        .prepare(sql)
        .context("cannot query the audit database")?;
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let mut requests = statement.query(rusqlite::params![query.model, since])?;
    let mut newest_first: Vec<Value> = Vec::new();
    while newest_first.len() < limit {
        let Some(request) = requests.next()? else {
            break;
        };
        let mut records = records_of(request)?;
        records.reverse();
        let room = limit - newest_first.len();
        newest_first.extend(records.into_iter().take(room));
    }
    for record in newest_first.iter().rev() {
        writeln!(out, "{record}")?;
    }
    Ok(())
}

/// One stored request as its records, in order: one JSON object per record.
fn records_of(request: &rusqlite::Row<'_>) -> anyhow::Result<Vec<Value>> {
    let first_row: i64 = request.get(1)?;
    let first_index: i64 = request.get(2)?;
    let rows: i64 = request.get(3)?;
    let layout: Option<String> = request.get(14)?;
    let (features, outputs) = match layout.as_deref() {
        Some("v2") => (
            v2_rows(request.get(9)?, "inputs", rows),
            v2_rows(request.get(10)?, "outputs", rows),
        ),
        _ => (json_array(request.get(9)?), json_array(request.get(10)?)),
    };
    // The request's own columns, read once and repeated on each of its records.
    let shared = [
        ("time", text(request.get(4)?)),
        ("request_id", text(request.get(5)?)),
        ("model", text(request.get(6)?)),
        ("version", number(request.get(7)?)),
        ("route", text(request.get(8)?)),
        ("latency_ms", number(request.get(11)?)),
        ("status", number(request.get(12)?)),
        ("error", text(request.get(13)?)),
    ];
    let mut records = Vec::with_capacity(rows.max(1) as usize);
    for k in 0..rows.max(1) {
        let element = |array: &Option<Vec<Value>>| {
            array
                .as_ref()
                .and_then(|a| a.get(k as usize).cloned())
                .unwrap_or(Value::Null)
        };
        let mut object: Map<String, Value> = shared
            .iter()
            .map(|(name, value)| ((*name).to_string(), value.clone()))
            .collect();
        object.insert("id".into(), (first_row + k + 1).into());
        object.insert("row".into(), (first_index + k).into());
        object.insert("features".into(), element(&features));
        object.insert("outputs".into(), element(&outputs));
        records.push(Value::Object(object));
    }
    Ok(records)
}

/// A V2 request or answer document split into one `{name: row}` object per record, sliced
/// the way the `predictions` view slices it.
fn v2_rows(text: Option<String>, key: &str, rows: i64) -> Option<Vec<Value>> {
    let document: Value = serde_json::from_str(text.as_deref()?).ok()?;
    let tensors = document.get(key)?.as_array()?;
    let rows = usize::try_from(rows).ok()?;
    let records = (0..rows)
        .map(|k| {
            let fields = tensors.iter().filter_map(|t| {
                let name = t.get("name")?.as_str()?.to_string();
                Some((name, v2_row(t, k)))
            });
            Value::Object(fields.collect())
        })
        .collect();
    Some(records)
}

/// Row `k` of one V2 tensor: `data[k]` when the data is nested or the shape has one
/// dimension, else the `k`-th run of `len(data) / shape[0]` elements.
fn v2_row(tensor: &Value, k: usize) -> Value {
    let Some(data) = tensor.get("data").and_then(Value::as_array) else {
        return Value::Null;
    };
    let shape: Vec<u64> = tensor
        .get("shape")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let nested = data.first().is_some_and(Value::is_array);
    match shape.first() {
        Some(&n) if !nested && shape.len() > 1 && n > 0 => {
            let width = data.len() / n as usize;
            data.get(k * width..(k + 1) * width)
                .map_or(Value::Null, |run| Value::Array(run.to_vec()))
        }
        _ => data.get(k).cloned().unwrap_or(Value::Null),
    }
}

/// A stored JSON array (features or outputs), `None` when absent or unreadable.
fn json_array(text: Option<String>) -> Option<Vec<Value>> {
    serde_json::from_str(text.as_deref()?).ok()
}

fn text(value: Option<String>) -> Value {
    value.map_or(Value::Null, Value::String)
}

fn number(value: SqlValue) -> Value {
    match value {
        SqlValue::Integer(n) => n.into(),
        SqlValue::Real(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        _ => Value::Null,
    }
}

/// `--since` as the stored time format: RFC 3339 with milliseconds, UTC.
fn parse_since(text: &str) -> anyhow::Result<String> {
    let time = match humantime::parse_rfc3339_weak(text) {
        Ok(time) => time,
        Err(_) => {
            let age = humantime::parse_duration(text).with_context(|| {
                format!("--since {text:?}: expected an RFC 3339 time or an age like 15m or 2h")
            })?;
            SystemTime::now()
                .checked_sub(age)
                .unwrap_or(SystemTime::UNIX_EPOCH)
        }
    };
    Ok(humantime::format_rfc3339_millis(time).to_string())
}
