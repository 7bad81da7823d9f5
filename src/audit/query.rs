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
    // The newest `limit` matching rows, printed oldest first.
    let sql = "SELECT * FROM (SELECT id, time, request_id, model, version, route, row_index, \
               features, outputs, latency_ms, status, error FROM predictions \
               WHERE (?1 IS NULL OR model = ?1) AND (?2 IS NULL OR time >= ?2) \
               ORDER BY id DESC LIMIT ?3) ORDER BY id";
    let mut statement = conn
        .prepare(sql)
        .context("cannot query the audit database")?;
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let mut rows = statement.query(rusqlite::params![query.model, since, limit])?;
    let names = [
        "id",
        "time",
        "request_id",
        "model",
        "version",
        "route",
        "row",
        "features",
        "outputs",
        "latency_ms",
        "status",
        "error",
    ];
    while let Some(row) = rows.next()? {
        let mut object = Map::new();
        for (i, name) in names.iter().enumerate() {
            let value = match row.get::<_, SqlValue>(i)? {
                SqlValue::Null => Value::Null,
                SqlValue::Integer(n) => n.into(),
                SqlValue::Real(x) => {
                    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
                }
                // The JSON columns go out as JSON, the others as strings.
                SqlValue::Text(t) if matches!(*name, "features" | "outputs") => {
                    serde_json::from_str(&t).unwrap_or(Value::String(t))
                }
                SqlValue::Text(t) => Value::String(t),
                SqlValue::Blob(_) => Value::Null,
            };
            object.insert((*name).to_string(), value);
        }
        writeln!(out, "{}", Value::Object(object))?;
    }
    Ok(())
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
