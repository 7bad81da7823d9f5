//! How the writer stores requests. Small requests go into chunks: rows of `request_chunks`,
//! each a JSON array of requests, one positional array per request:
//!
//! `[first_row, rows, time, request_id, model, version, route, latency_ms, status, error,
//!   layout, features, outputs]`
//!
//! One insert per chunk instead of one per request: with single-record traffic, an insert and
//! its index entries cost the writer more than the request's texts do. The features and
//! outputs are embedded as the JSON they already are (a body serde_json parsed, or serde_json's
//! own output), not as strings, so they are not escaped. A request stored as its tensors
//! (layout `v2-binary`) has references to the tensor files as its features and outputs
//! (tensor_files.rs). A request whose texts are longer than [`OWN_ROW_BYTES`] (a batch in
//! JSON) gets its own row of `request_rows` instead: its texts are then bound as they are, not
//! copied into a chunk, and SQL readers find them in a column rather than parsing them out of
//! a chunk. The `requests` view (schema.rs) reads both; [`ChunkRequest`] is the Rust side of a
//! chunk.
//!
//! Record numbers are contiguous within a chunk: a request that goes to its own row closes
//! the chunk before it, so a chunk's `first_row` and `rows` cover exactly its requests.

use rusqlite::types::{ToSqlOutput, ValueRef};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::rows::Row;

/// A chunk closes once its text is this long: about 150 single-record requests share one
/// insert, which makes the insert's own cost negligible, while the chunk (and SQLite's copies
/// of it) stays small enough to leave the request threads' caches alone. Measured against
/// 1 MiB chunks: the writer's CPU per request about the same, the request threads' about 5%
/// lower.
const CHUNK_BYTES: usize = 64 * 1024;

/// A request with more bytes of texts than this is stored in its own row: the insert's
/// overhead is small next to its texts, and a chunk would copy them once more.
pub const OWN_ROW_BYTES: usize = 8 * 1024;

const INSERT_CHUNK: &str = "INSERT INTO request_chunks (first_row, rows, first_time, last_time, \
     requests) VALUES (?1, ?2, ?3, ?4, ?5)";

const INSERT_ROW: &str = "INSERT INTO request_rows (first_row, rows, time, request_id, model, \
     version, route, features, outputs, latency_ms, status, error, layout) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

/// Whether a request goes to its own row rather than into a chunk: one with long texts. A
/// request stored as tensors is in a chunk too, its texts being references to the tensor
/// files (tensor_files.rs).
pub fn wants_own_row(row: &Row<'_>) -> bool {
    let texts = |t: Option<&[u8]>| t.map_or(0, <[u8]>::len);
    texts(row.features) + texts(row.outputs) > OWN_ROW_BYTES
}

/// The chunk being filled; reused across chunks so its buffer is allocated once.
pub struct Chunk {
    text: Vec<u8>,
    first_row: i64,
    rows: i64,
    first_time: String,
    last_time: String,
}

impl Chunk {
    /// An empty chunk whose first request continues after `first_row` stored records.
    pub fn new(first_row: i64) -> Chunk {
        Chunk {
            text: Vec::new(),
            first_row,
            rows: 0,
            first_time: String::new(),
            last_time: String::new(),
        }
    }

    /// The records stored before the next request: its `first_row`.
    pub fn next_row(&self) -> i64 {
        self.first_row + self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.text.len() >= CHUNK_BYTES
    }

    /// Appends one request.
    pub fn push(&mut self, row: &Row<'_>) {
        let text = &mut self.text;
        text.push(if text.is_empty() { b'[' } else { b',' });
        text.push(b'[');
        number(text, self.first_row + self.rows);
        text.push(b',');
        number(text, row.rows);
        text.push(b',');
        plain(text, row.time);
        text.push(b',');
        string(text, row.request_id);
        text.push(b',');
        string(text, row.model);
        text.push(b',');
        match row.version {
            Some(version) => number(text, version),
            None => text.extend_from_slice(b"null"),
        }
        text.push(b',');
        plain(text, row.route);
        text.push(b',');
        latency(text, row.latency);
        text.push(b',');
        number(text, row.status);
        text.push(b',');
        match row.error {
            Some(error) => string(text, error),
            None => text.extend_from_slice(b"null"),
        }
        text.push(b',');
        match row.layout {
            Some(layout) => plain(text, layout),
            None => text.extend_from_slice(b"null"),
        }
        for embedded in [&row.features, &row.outputs] {
            text.push(b',');
            match embedded {
                Some(json) => text.extend_from_slice(json),
                None => text.extend_from_slice(b"null"),
            }
        }
        text.push(b']');
        self.rows += row.rows;
        if self.first_time.is_empty() || row.time < self.first_time.as_str() {
            row.time.clone_into(&mut self.first_time);
        }
        if row.time > self.last_time.as_str() {
            row.time.clone_into(&mut self.last_time);
        }
    }

    /// Inserts `row` into `request_rows` (in the caller's transaction), numbered after the
    /// chunk's requests; the chunk must be empty (inserted first), and its next request is
    /// numbered after this one.
    pub fn insert_own_row(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        row: &Row<'_>,
    ) -> rusqlite::Result<()> {
        debug_assert!(self.is_empty(), "a chunk's records stay contiguous");
        debug_assert!(!row.is_binary(), "tensors go to the tensor files");
        let latency_ms = row.latency.as_micros() as f64 / 1e3;
        tx.prepare_cached(INSERT_ROW)?.execute(rusqlite::params![
            self.first_row,
            row.rows,
            row.time,
            row.request_id,
            row.model,
            row.version,
            row.route,
            row.features.map(json_text),
            row.outputs.map(json_text),
            latency_ms,
            row.status,
            row.error,
            row.layout,
        ])?;
        self.first_row += row.rows;
        Ok(())
    }

    /// Empties the chunk and numbers its next request after `first_row` records (after a
    /// transaction that was rolled back).
    pub fn restart(&mut self, first_row: i64) {
        self.text.clear();
        self.first_row = first_row;
        self.rows = 0;
        self.first_time.clear();
        self.last_time.clear();
    }

    /// Inserts the chunk (in the caller's transaction) and empties it for the requests after.
    pub fn insert(&mut self, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        self.text.push(b']');
        // Every piece is a `&str`, ASCII written here or a UTF-8 JSON text (RowTexts), so the
        // text is UTF-8. Bound as text: the JSON functions read a blob as SQLite's binary JSON.
        tx.prepare_cached(INSERT_CHUNK)?.execute((
            self.first_row,
            self.rows,
            &self.first_time,
            &self.last_time,
            json_text(&self.text),
        ))?;
        self.restart(self.next_row());
        Ok(())
    }
}

/// Milliseconds with three decimals (microseconds): an integer's formatting, a fraction of
/// a float's.
fn latency(text: &mut Vec<u8>, latency: std::time::Duration) {
    let micros = latency.as_micros();
    json(text, &(micros / 1000));
    let fraction = (micros % 1000) as u16;
    text.extend_from_slice(&[
        b'.',
        b'0' + (fraction / 100) as u8,
        b'0' + (fraction / 10 % 10) as u8,
        b'0' + (fraction % 10) as u8,
    ]);
}

/// A JSON text bound as SQL text (RowTexts' texts are UTF-8), without a check or a copy here.
fn json_text(text: &[u8]) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(text))
}

fn number(text: &mut Vec<u8>, n: i64) {
    json(text, &n);
}

fn string(text: &mut Vec<u8>, s: &str) {
    json(text, s);
}

/// A string the server made (a time, a route template, a layout), which needs no escaping:
/// quoted as it is, without serde's scan for characters to escape.
fn plain(text: &mut Vec<u8>, s: &str) {
    debug_assert!(
        s.bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'),
        "{s:?} needs escaping"
    );
    text.push(b'"');
    text.extend_from_slice(s.as_bytes());
    text.push(b'"');
}

/// Writes `value` as JSON: writing a string or a number into a `Vec` cannot fail.
fn json<T: serde::Serialize + ?Sized>(text: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(text, value);
}

/// One request of a chunk as `prediction-api audit` reads it back: the fields in their
/// positions (serde reads a struct from an array in field order).
#[derive(Debug, Deserialize)]
pub struct ChunkRequest<'a> {
    pub first_row: i64,
    pub rows: i64,
    pub time: String,
    pub request_id: String,
    pub model: String,
    pub version: Option<i64>,
    pub route: String,
    pub latency_ms: Option<f64>,
    pub status: i64,
    pub error: Option<String>,
    pub layout: Option<String>,
    #[serde(borrow)]
    pub features: Option<&'a RawValue>,
    #[serde(borrow)]
    pub outputs: Option<&'a RawValue>,
}

/// The requests of a chunk's text, in order.
pub fn requests(text: &str) -> serde_json::Result<Vec<ChunkRequest<'_>>> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::audit::schema;

    fn row<'a>(time: &'a str, request_id: &'a str, rows: i64) -> Row<'a> {
        Row {
            time,
            request_id,
            model: "iris",
            version: Some(3),
            route: "/predict/{model}",
            rows,
            features: Some(br#"[{"x":1.5},{"x":2}]"#),
            outputs: Some(br#"[{"y":"a"},{"y":"b"}]"#),
            latency: Duration::from_nanos(1_234_567),
            status: 200,
            error: None,
            layout: None,
        }
    }

    #[test]
    fn a_chunk_reads_back_through_the_views_and_as_chunk_requests() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conn = schema::open_for_writing(&dir.path().join("a.db"), false).expect("opens");
        let tx = conn.transaction().expect("transaction");
        let mut chunk = Chunk::new(40);
        chunk.push(&row("2026-11-28T10:00:00.002Z", "a", 2));
        // Whatever a client put in its request id or a failure's message stays one string.
        let failed = Row {
            model: "no \"such\" model",
            version: None,
            rows: 1,
            features: None,
            outputs: None,
            latency: Duration::from_micros(5),
            status: 404,
            error: Some("model `no \"such\" model` \\ not found\n"),
            ..row("2026-11-28T10:00:00.001Z", "b\u{7f}\u{1}é", 1)
        };
        chunk.push(&failed);
        assert_eq!(chunk.next_row(), 43);
        chunk.insert(&tx).expect("inserts");
        assert!(chunk.is_empty());
        assert_eq!(chunk.next_row(), 43, "the next chunk continues the numbers");
        tx.commit().expect("commits");

        let (first, last, rows, text): (String, String, i64, String) = conn
            .query_row(
                "SELECT first_time, last_time, rows, requests FROM request_chunks",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("a chunk");
        assert_eq!(
            (first.as_str(), last.as_str(), rows),
            ("2026-11-28T10:00:00.001Z", "2026-11-28T10:00:00.002Z", 3)
        );
        let requests = requests(&text).expect("readable");
        assert_eq!(requests.len(), 2);
        assert_eq!(
            (requests[0].first_row, requests[1].first_row),
            (40, 42),
            "each request starts after the records before it"
        );
        assert_eq!(requests[0].latency_ms, Some(1.234));
        assert_eq!(requests[1].request_id, "b\u{7f}\u{1}é");
        assert_eq!(requests[1].error.as_deref(), failed.error);
        assert!(requests[1].features.is_none());
        assert_eq!(
            requests[0].outputs.map(RawValue::get),
            Some(r#"[{"y":"a"},{"y":"b"}]"#)
        );

        type Viewed = (
            i64,
            String,
            String,
            Option<i64>,
            f64,
            Option<String>,
            Option<String>,
        );
        let viewed: Vec<Viewed> = conn
            .prepare(
                "SELECT id, request_id, model, version, latency_ms, features, error \
                 FROM predictions ORDER BY id",
            )
            .expect("view")
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .expect("reads")
            .collect::<Result<_, _>>()
            .expect("rows");
        let ids: Vec<i64> = viewed.iter().map(|v| v.0).collect();
        assert_eq!(ids, [41, 42, 43]);
        assert_eq!(viewed[1].5.as_deref(), Some(r#"{"x":2}"#));
        assert_eq!((viewed[0].3, viewed[0].4), (Some(3), 1.234));
        let failure = &viewed[2];
        assert_eq!(
            (failure.1.as_str(), failure.2.as_str(), failure.3),
            ("b\u{7f}\u{1}é", "no \"such\" model", None)
        );
        assert_eq!(failure.6.as_deref(), failed.error);
        assert_eq!(failure.5, None);
    }

    #[test]
    fn a_chunk_is_full_after_its_byte_limit() {
        let mut chunk = Chunk::new(0);
        let mut pushed = 0;
        while !chunk.is_full() {
            chunk.push(&row("2026-11-28T10:00:00.000Z", "r", 2));
            pushed += 1;
        }
        let per_request = CHUNK_BYTES / pushed;
        assert!((100..200).contains(&per_request), "{per_request} bytes");
    }

    #[test]
    fn latency_is_written_in_milliseconds_to_the_microsecond() {
        for (latency, text) in [
            (Duration::ZERO, "0.000"),
            (Duration::from_nanos(999), "0.000"),
            (Duration::from_micros(7), "0.007"),
            (Duration::from_micros(12_345), "12.345"),
            (Duration::from_secs(90), "90000.000"),
        ] {
            let mut written = Vec::new();
            super::latency(&mut written, latency);
            assert_eq!(String::from_utf8_lossy(&written), text);
        }
    }
}
