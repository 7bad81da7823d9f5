//! Reading the trail back: `prediction-api audit --db … [--model …] [--since …] [--limit …]`
//! prints the matching rows as JSON lines, oldest first.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;
use serde_json::{Map, Value};

use rusqlite::types::ValueRef;

use super::store::{self, ChunkRequest};
use super::tensor_files::{self, Reference};
use super::{binary, schema};

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
    let wanted = |model: &str, time: &str| {
        query.model.as_deref().is_none_or(|m| m == model)
            && since.as_deref().is_none_or(|s| time >= s)
    };
    // Newest requests first, from the chunks and from the request rows merged by record
    // number, split into their records until `limit` records are found; printed oldest first.
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let mut newest = Newest {
        records: Vec::new(),
        limit,
        tensors: tensor_files::folder_of(&query.db),
        unreadable: HashSet::new(),
    };
    let mut chunks = conn
        .prepare(
            "SELECT id, requests FROM request_chunks WHERE (?1 IS NULL OR last_time >= ?1) \
             ORDER BY id DESC",
        )
        .context("cannot query the audit database")?;
    let mut chunk_rows = chunks.query([&since])?;
    // The current chunk's wanted requests, oldest first: `pop` gives the newest.
    let mut unread: Vec<Stored> = Vec::new();
    let mut next_chunked = || -> anyhow::Result<Option<Stored>> {
        loop {
            if let Some(request) = unread.pop() {
                return Ok(Some(request));
            }
            let Some(row) = chunk_rows.next()? else {
                return Ok(None);
            };
            let id: i64 = row.get(0)?;
            let text = row.get_ref(1)?.as_str()?;
            let requests = store::requests(text)
                .with_context(|| format!("request chunk {id} is not readable"))?;
            unread = requests
                .iter()
                .filter(|r| wanted(&r.model, &r.time))
                .map(Stored::of_chunk)
                .collect();
        }
    };
    let mut own = conn.prepare(
        "SELECT first_row, first_index, rows, time, request_id, model, version, route, \
         features, outputs, latency_ms, status, error, layout FROM request_rows \
         WHERE (?1 IS NULL OR model = ?1) AND (?2 IS NULL OR time >= ?2) ORDER BY id DESC",
    )?;
    let mut own_rows = own.query(rusqlite::params![query.model, since])?;
    let mut next_own = || -> anyhow::Result<Option<Stored>> {
        match own_rows.next()? {
            Some(row) => Ok(Some(Stored::of_row(row)?)),
            None => Ok(None),
        }
    };
    let (mut chunked, mut own) = (next_chunked()?, next_own()?);
    while !newest.is_full() {
        let chunked_is_newer = match (&chunked, &own) {
            (Some(c), Some(o)) => c.first_row > o.first_row,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if chunked_is_newer {
            newest.take(chunked.take());
            chunked = next_chunked()?;
        } else {
            newest.take(own.take());
            own = next_own()?;
        }
    }
    for record in newest.records.iter().rev() {
        writeln!(out, "{record}")?;
    }
    Ok(())
}

/// The most recent records found so far, newest first.
struct Newest {
    records: Vec<Value>,
    limit: usize,
    /// The tensor folder, for requests stored as references to it.
    tensors: PathBuf,
    /// The tensor files already reported unreadable.
    unreadable: HashSet<String>,
}

impl Newest {
    fn is_full(&self) -> bool {
        self.records.len() >= self.limit
    }

    /// Adds a request's records, newest first, as many as there is room for.
    fn take(&mut self, request: Option<Stored>) {
        let Some(request) = request else {
            return;
        };
        let room = self.limit.saturating_sub(self.records.len());
        let records = records_of(request, &self.tensors, &mut self.unreadable);
        self.records.extend(records.into_iter().rev().take(room));
    }
}

/// One stored request, from a chunk or from `request_rows`.
struct Stored {
    first_row: i64,
    first_index: i64,
    rows: i64,
    time: String,
    request_id: String,
    model: String,
    version: Option<i64>,
    route: String,
    latency_ms: Option<f64>,
    status: i64,
    error: Option<String>,
    layout: Option<String>,
    /// JSON text; in layout `v2-binary`, binary tensors (a row of `request_rows` written by
    /// schema 5) or a reference to them in the tensor files (a chunk's request).
    features: Option<Vec<u8>>,
    outputs: Option<Vec<u8>>,
    /// Whether binary tensors are references.
    referenced: bool,
}

impl Stored {
    fn of_chunk(r: &ChunkRequest<'_>) -> Stored {
        Stored {
            first_row: r.first_row,
            first_index: 0,
            rows: r.rows,
            time: r.time.clone(),
            request_id: r.request_id.clone(),
            model: r.model.clone(),
            version: r.version,
            route: r.route.clone(),
            latency_ms: r.latency_ms,
            status: r.status,
            error: r.error.clone(),
            layout: r.layout.clone(),
            features: r.features.map(|raw| raw.get().as_bytes().to_vec()),
            outputs: r.outputs.map(|raw| raw.get().as_bytes().to_vec()),
            referenced: true,
        }
    }

    fn of_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
        Ok(Stored {
            first_row: row.get(0)?,
            first_index: row.get(1)?,
            rows: row.get(2)?,
            time: row.get(3)?,
            request_id: row.get(4)?,
            model: row.get(5)?,
            version: row.get(6)?,
            route: row.get(7)?,
            features: stored_bytes(row, 8)?,
            outputs: stored_bytes(row, 9)?,
            latency_ms: row.get(10)?,
            status: row.get(11)?,
            error: row.get(12)?,
            layout: row.get(13)?,
            referenced: false,
        })
    }
}

/// One stored request as its records, in order: one JSON object per record. `tensors` is the
/// tensor folder; `unreadable`, the files in it already reported unreadable.
fn records_of(request: Stored, tensors: &Path, unreadable: &mut HashSet<String>) -> Vec<Value> {
    let rows = request.rows;
    let mut binary = |stored: Option<&[u8]>, key: &str| match request.referenced {
        true => referenced_document(stored, tensors, key, unreadable),
        false => binary_document(stored, key),
    };
    let (features, outputs) = match request.layout.as_deref() {
        Some("v2") => (
            v2_rows(json_document(request.features.as_deref()), "inputs", rows),
            v2_rows(json_document(request.outputs.as_deref()), "outputs", rows),
        ),
        Some(binary::LAYOUT) => (
            v2_rows(
                binary(request.features.as_deref(), "inputs"),
                "inputs",
                rows,
            ),
            v2_rows(
                binary(request.outputs.as_deref(), "outputs"),
                "outputs",
                rows,
            ),
        ),
        _ => (
            json_array(request.features.as_deref()),
            json_array(request.outputs.as_deref()),
        ),
    };
    let number = |x: Option<f64>| {
        x.and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number)
    };
    let text = |s: Option<&str>| s.map_or(Value::Null, |s| Value::String(s.to_string()));
    // The request's own columns, read once and repeated on each of its records.
    let shared = [
        ("time", text(Some(&request.time))),
        ("request_id", text(Some(&request.request_id))),
        ("model", text(Some(&request.model))),
        ("version", request.version.map_or(Value::Null, Value::from)),
        ("route", text(Some(&request.route))),
        ("latency_ms", number(request.latency_ms)),
        ("status", request.status.into()),
        ("error", text(request.error.as_deref())),
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
        object.insert("id".into(), (request.first_row + k + 1).into());
        object.insert("row".into(), (request.first_index + k).into());
        object.insert("features".into(), element(&features));
        object.insert("outputs".into(), element(&outputs));
        records.push(Value::Object(object));
    }
    records
}

/// A stored column as bytes, whether SQLite holds it as text or as a blob.
fn stored_bytes(row: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<Option<Vec<u8>>> {
    Ok(match row.get_ref(column)? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(bytes.to_vec()),
        _ => None,
    })
}

/// A stored binary document (binary.rs) as its V2 JSON document, `None` when absent or
/// unreadable.
fn binary_document(stored: Option<&[u8]>, key: &str) -> Option<Value> {
    binary::decode(stored?, None, key)
}

/// The binary document a reference points at in the tensor folder, as its V2 JSON document;
/// `None` when absent or unreadable. A file that is missing or short (a database copied
/// without its tensor folder, say) is reported on stderr once, so that the `null`s it leaves
/// in the output are explained.
fn referenced_document(
    reference: Option<&[u8]>,
    folder: &Path,
    key: &str,
    unreadable: &mut HashSet<String>,
) -> Option<Value> {
    let reference: Reference = serde_json::from_slice(reference?).ok()?;
    match tensor_files::read(folder, &reference) {
        Ok(stored) => binary::decode(&stored, reference.header_length(), key),
        Err(e) => {
            if unreadable.insert(reference.file.clone()) {
                eprintln!(
                    "warning: cannot read tensors from {}: {e}; their records are printed \
                     without features and outputs",
                    folder.join(&reference.file).display()
                );
            }
            None
        }
    }
}

/// A stored JSON document, `None` when absent or unreadable.
fn json_document(text: Option<&[u8]>) -> Option<Value> {
    serde_json::from_slice(text?).ok()
}

/// A V2 request or answer document split into one `{name: row}` object per record, sliced
/// the way the `predictions` view slices it.
fn v2_rows(document: Option<Value>, key: &str, rows: i64) -> Option<Vec<Value>> {
    let document = document?;
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
fn json_array(text: Option<&[u8]>) -> Option<Vec<Value>> {
    serde_json::from_slice(text?).ok()
}

/// `--since` as the stored time format: RFC 3339 with milliseconds, UTC.
fn parse_since(text: &str) -> anyhow::Result<String> {
    let time = match parse_rfc3339(text) {
        Some(time) => time,
        None => {
            let age = humantime::parse_duration(text).with_context(|| {
                format!("--since {text:?}: expected an RFC 3339 time or an age like 15m or 2h")
            })?;
            SystemTime::now()
                .checked_sub(age)
                .unwrap_or(SystemTime::UNIX_EPOCH)
        }
    };
    // The trail holds no time before 1970 (and the formatter takes none).
    let time = time.max(SystemTime::UNIX_EPOCH);
    Ok(humantime::format_rfc3339_millis(time).to_string())
}

/// An RFC 3339 time ending in `Z`, `z`, a numeric offset (`+02:00`) or nothing (UTC); the
/// parser used takes only the UTC forms, so an offset is applied here.
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if let Some(utc) = text.strip_suffix(['Z', 'z']) {
        return humantime::parse_rfc3339_weak(utc).ok();
    }
    let bytes = text.as_bytes();
    let n = bytes.len();
    let has_offset = n > 16
        && matches!(bytes[n - 6], b'+' | b'-')
        && bytes[n - 3] == b':'
        && text.contains(['T', 't', ' ']);
    if !has_offset {
        return humantime::parse_rfc3339_weak(text).ok();
    }
    let (local, offset) = text.split_at(n - 6);
    let hours: u64 = offset.get(1..3)?.parse().ok()?;
    let minutes: u64 = offset.get(4..6)?.parse().ok()?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let shift = std::time::Duration::from_secs(hours * 3600 + minutes * 60);
    let local = humantime::parse_rfc3339_weak(local).ok()?;
    // Local time is UTC plus the offset.
    match offset.starts_with('+') {
        true => local.checked_sub(shift),
        false => local.checked_add(shift),
    }
}

#[cfg(test)]
mod since_tests {
    use super::*;

    #[test]
    fn since_takes_rfc3339_times_with_any_offset() {
        let utc = "2026-12-07T10:00:00.000Z";
        for text in [
            "2026-12-07T10:00:00Z",
            "2026-12-07T10:00:00z",
            "2026-12-07T10:00:00",
            "2026-12-07T12:00:00+02:00",
            "2026-12-07T06:30:00-03:30",
        ] {
            assert_eq!(parse_since(text).expect(text), utc, "{text}");
        }
        assert!(parse_since("2026-12-07T12:00:00+25:00").is_err());
    }

    #[test]
    fn an_age_reaching_before_1970_starts_at_1970() {
        for age in ["21000d", "99999999999d", "600000h"] {
            assert_eq!(
                parse_since(age).expect(age),
                "1970-01-01T00:00:00.000Z",
                "{age}"
            );
        }
    }
}
