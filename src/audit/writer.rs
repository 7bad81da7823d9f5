//! The writer thread: takes entries off the queue, writes many requests' rows in one
//! transaction, acknowledges durable requests once it committed, and enforces retention.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{Connection, params};

use super::rows::Row;
use super::{Ack, Counters, Message, Retention};

/// How long an `async` batch stays open for more rows after its first one: fewer, larger
/// transactions cost the writer (and the cores it shares with the requests) much less. Only
/// a writer that is keeping up lingers: one behind starts the next batch at once.
pub const ASYNC_LINGER: Duration = Duration::from_millis(20);
/// A batch closes at this many requests or this many bytes of texts, whichever comes first
/// (it also closes when the queue is empty). Each request is one insert whatever its rows.
const MAX_BATCH_REQUESTS: usize = 4_096;
const MAX_BATCH_BYTES: u64 = 32 << 20;
/// How often an idle writer wakes up to check retention.
const TICK: Duration = Duration::from_secs(1);
/// Time between retention passes while rows keep coming.
const RETENTION_EVERY: Duration = Duration::from_secs(10);
/// The most rows one retention pass deletes, so a pass never stalls the writes for long.
const RETENTION_BUDGET: i64 = 10_000;

const INSERT: &str = "INSERT INTO requests (first_row, rows, time, request_id, model, version, \
     route, features, outputs, latency_ms, status, error, layout) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

/// Runs until a [`Message::Stop`] (after writing everything queued before it) or until every
/// sender is gone.
pub fn run(
    mut conn: Connection,
    queue: Receiver<Message>,
    counters: Arc<Counters>,
    keep: Retention,
    linger: Duration,
    mut next_row: i64,
) {
    let mut next_retention = Instant::now();
    let mut stopping = false;
    // Whether the last batch was closed by its size with more still queued.
    let mut behind = false;
    while !stopping {
        let first = match queue.recv_timeout(TICK) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => {
                retention_pass(&conn, &keep, next_row, &mut next_retention);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut batch = Batch::default();
        stopping = batch.take(first, &counters);
        // Everything already queued joins this transaction (group commit), and so does what
        // arrives within `linger`; when stopping, everything queued is written before the
        // thread ends.
        if !stopping && !behind && !linger.is_zero() {
            // Sleep rather than wait on the queue: a sleeping writer costs the requests no
            // wake-up per entry.
            std::thread::sleep(linger);
        }
        behind = false;
        loop {
            if !stopping && batch.is_full() {
                behind = true;
                break;
            }
            match queue.try_recv() {
                Ok(message) => stopping |= batch.take(message, &counters),
                Err(_) => break,
            }
        }
        if !batch.entries.is_empty() {
            write_batch(
                &mut conn,
                batch.entries,
                batch.rows,
                &counters,
                &mut next_row,
            );
        }
        if Instant::now() >= next_retention {
            retention_pass(&conn, &keep, next_row, &mut next_retention);
        }
    }
    if let Err(e) = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
        tracing::warn!(error = %e, "audit: final WAL checkpoint failed");
    }
}

/// The entries of one transaction.
#[derive(Default)]
pub(super) struct Batch {
    entries: Vec<(super::AuditEntry, Option<Ack>)>,
    rows: u64,
    bytes: u64,
}

impl Batch {
    /// Adds a dequeued message; true when it asks the writer to stop.
    pub(super) fn take(&mut self, message: Message, counters: &Counters) -> bool {
        let Message::Entry(entry, ack) = message else {
            return true;
        };
        let bytes = entry.bytes();
        counters.queue_depth.fetch_sub(1, Ordering::Relaxed);
        counters.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.rows += entry.rows();
        self.bytes += bytes;
        self.entries.push((entry, ack));
        false
    }

    fn is_full(&self) -> bool {
        self.entries.len() >= MAX_BATCH_REQUESTS || self.bytes >= MAX_BATCH_BYTES
    }
}

/// Writes one batch in one transaction, then tells each waiting request how it went. Rows
/// that could not be written are counted as dropped and logged, never ignored.
fn write_batch(
    conn: &mut Connection,
    batch: Vec<(super::AuditEntry, Option<Ack>)>,
    rows: u64,
    counters: &Counters,
    next_row: &mut i64,
) {
    let result = insert_all(conn, &batch, next_row);
    let ok = result.is_ok();
    match result {
        Ok(()) => {
            counters.rows_written.fetch_add(rows, Ordering::Relaxed);
            counters.write_batches.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            counters.rows_dropped.fetch_add(rows, Ordering::Relaxed);
            tracing::error!(error = %e, rows, "audit: a batch could not be written; its rows are lost");
        }
    }
    for (_, ack) in batch {
        if let Some(ack) = ack {
            // The request may have timed out and stopped waiting: nothing to tell then.
            let _ = ack.send(ok);
        }
    }
}

fn insert_all(
    conn: &mut Connection,
    batch: &[(super::AuditEntry, Option<Ack>)],
    next_row: &mut i64,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let mut first_row = *next_row;
    {
        let mut insert = tx.prepare_cached(INSERT)?;
        for (entry, _) in batch {
            let time = humantime::format_rfc3339_millis(entry.time).to_string();
            let row = Row::of(entry, &time);
            insert.execute(params![
                first_row,
                row.rows,
                row.time,
                row.request_id,
                row.model,
                row.version,
                row.route,
                row.features,
                row.outputs,
                row.latency_ms,
                row.status,
                row.error,
                row.layout,
            ])?;
            first_row += row.rows;
        }
    }
    tx.commit()?;
    *next_row = first_row;
    Ok(())
}

/// The number of records stored so far, counting deleted ones: the next request's
/// `first_row`. The newest request by id holds it, found through the primary key.
pub fn stored_rows(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT coalesce((SELECT first_row + rows FROM requests ORDER BY id DESC LIMIT 1), 0)",
        [],
        |r| r.get(0),
    )
}

/// Deletes requests older than the age limit and the oldest requests beyond the row limit,
/// at most [`RETENTION_BUDGET`] requests per rule and pass; when a pass used its whole budget
/// the next one comes soon, otherwise after [`RETENTION_EVERY`].
fn retention_pass(conn: &Connection, keep: &Retention, stored: i64, next: &mut Instant) {
    if keep.max_age.is_none() && keep.max_rows.is_none() {
        *next = Instant::now() + Duration::from_secs(3600);
        return;
    }
    match enforce(conn, keep, stored) {
        Ok(deleted) if deleted >= RETENTION_BUDGET => *next = Instant::now(),
        Ok(_) => *next = Instant::now() + RETENTION_EVERY,
        Err(e) => {
            tracing::warn!(error = %e, "audit: retention pass failed");
            *next = Instant::now() + RETENTION_EVERY;
        }
    }
}

/// One retention pass, `stored` being [`stored_rows`]; returns the largest number of
/// requests one rule deleted. A request is kept or deleted whole, so the row limit keeps at
/// most `max_rows` records.
pub fn enforce(conn: &Connection, keep: &Retention, stored: i64) -> rusqlite::Result<i64> {
    let mut most = 0;
    if let Some(age) = keep.max_age {
        let cutoff = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let cutoff = humantime::format_rfc3339_millis(cutoff).to_string();
        let n = conn.execute(
            "DELETE FROM requests WHERE id IN \
             (SELECT id FROM requests WHERE time < ?1 ORDER BY time LIMIT ?2)",
            params![cutoff, RETENTION_BUDGET],
        )?;
        most = most.max(n as i64);
    }
    if let Some(max_rows) = keep.max_rows {
        // Requests are stored in id order with growing first_row, so the ones to delete are
        // a prefix by id: read from the oldest and stop at the first one to keep.
        let keep_from = stored.saturating_sub(i64::try_from(max_rows).unwrap_or(i64::MAX));
        let mut oldest =
            conn.prepare_cached("SELECT id, first_row FROM requests ORDER BY id LIMIT ?1")?;
        let mut requests = oldest.query([RETENTION_BUDGET])?;
        let mut last = None;
        while let Some(request) = requests.next()? {
            let (id, first_row): (i64, i64) = (request.get(0)?, request.get(1)?);
            if first_row >= keep_from {
                break;
            }
            last = Some(id);
        }
        drop(requests);
        let n = match last {
            Some(id) => conn.execute("DELETE FROM requests WHERE id <= ?1", [id])?,
            None => 0,
        };
        most = most.max(n as i64);
    }
    Ok(most)
}
