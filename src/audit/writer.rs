//! The writer thread: takes entries off the queue, writes many requests' rows in one
//! transaction, acknowledges durable requests once it committed, and enforces retention.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{Connection, params};

use super::rows::{Row, for_each_row};
use super::{Ack, Counters, Message, Retention};

/// How long an `async` batch stays open for more rows after its first one: fewer, larger
/// transactions cost the writer (and the cores it shares with the requests) much less.
pub const ASYNC_LINGER: Duration = Duration::from_millis(20);
/// A batch closes at this many rows (it also closes when the queue is empty).
const MAX_BATCH_ROWS: u64 = 2_048;
/// How often an idle writer wakes up to check retention.
const TICK: Duration = Duration::from_secs(1);
/// Time between retention passes while rows keep coming.
const RETENTION_EVERY: Duration = Duration::from_secs(10);
/// The most rows one retention pass deletes, so a pass never stalls the writes for long.
const RETENTION_BUDGET: i64 = 10_000;

const INSERT: &str = "INSERT INTO predictions (time, request_id, model, version, route, \
     row_index, features, outputs, latency_ms, status, error) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// Runs until a [`Message::Stop`] (after writing everything queued before it) or until every
/// sender is gone.
pub fn run(
    mut conn: Connection,
    queue: Receiver<Message>,
    counters: Arc<Counters>,
    keep: Retention,
    linger: Duration,
) {
    let mut next_retention = Instant::now();
    let mut stopping = false;
    while !stopping {
        let first = match queue.recv_timeout(TICK) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => {
                retention_pass(&conn, &keep, &mut next_retention);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut batch: Vec<(super::AuditEntry, Option<Ack>)> = Vec::new();
        let mut rows = 0;
        let take = |message: Message, batch: &mut Vec<_>, rows: &mut u64| match message {
            Message::Entry(entry, ack) => {
                counters.queue_depth.fetch_sub(1, Ordering::Relaxed);
                *rows += entry.rows();
                batch.push((entry, ack));
                false
            }
            Message::Stop => true,
        };
        stopping = take(first, &mut batch, &mut rows);
        // Everything already queued joins this transaction (group commit), and so does what
        // arrives within `linger`; when stopping, everything queued is written before the
        // thread ends.
        if !stopping && !linger.is_zero() {
            // Sleep rather than wait on the queue: a sleeping writer costs the requests no
            // wake-up per entry.
            std::thread::sleep(linger);
        }
        while stopping || rows < MAX_BATCH_ROWS {
            match queue.try_recv() {
                Ok(message) => stopping |= take(message, &mut batch, &mut rows),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            write_batch(&mut conn, batch, rows, &counters);
        }
        if Instant::now() >= next_retention {
            retention_pass(&conn, &keep, &mut next_retention);
        }
    }
    if let Err(e) = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
        tracing::warn!(error = %e, "audit: final WAL checkpoint failed");
    }
}

/// Writes one batch in one transaction, then tells each waiting request how it went. Rows
/// that could not be written are counted as dropped and logged, never ignored.
fn write_batch(
    conn: &mut Connection,
    batch: Vec<(super::AuditEntry, Option<Ack>)>,
    rows: u64,
    counters: &Counters,
) {
    let result = insert_all(conn, &batch);
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
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(INSERT)?;
        for (entry, _) in batch {
            let time = humantime::format_rfc3339_millis(entry.time).to_string();
            for_each_row(entry, &time, |row: Row<'_>| {
                insert
                    .execute(params![
                        row.time,
                        row.request_id,
                        row.model,
                        row.version,
                        row.route,
                        row.row_index,
                        row.features,
                        row.outputs,
                        row.latency_ms,
                        row.status,
                        row.error,
                    ])
                    .map(drop)
            })?;
        }
    }
    tx.commit()
}

/// Deletes rows older than the age limit and the oldest rows beyond the row limit, at most
/// [`RETENTION_BUDGET`] of each per pass; when a pass used its whole budget the next one comes
/// soon, otherwise after [`RETENTION_EVERY`].
fn retention_pass(conn: &Connection, keep: &Retention, next: &mut Instant) {
    if keep.max_age.is_none() && keep.max_rows.is_none() {
        *next = Instant::now() + Duration::from_secs(3600);
        return;
    }
    match enforce(conn, keep) {
        Ok(deleted) if deleted >= RETENTION_BUDGET => *next = Instant::now(),
        Ok(_) => *next = Instant::now() + RETENTION_EVERY,
        Err(e) => {
            tracing::warn!(error = %e, "audit: retention pass failed");
            *next = Instant::now() + RETENTION_EVERY;
        }
    }
}

/// One retention pass; returns the largest number of rows one rule deleted.
pub fn enforce(conn: &Connection, keep: &Retention) -> rusqlite::Result<i64> {
    let mut most = 0;
    if let Some(age) = keep.max_age {
        let cutoff = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let cutoff = humantime::format_rfc3339_millis(cutoff).to_string();
        let n = conn.execute(
            "DELETE FROM predictions WHERE id IN \
             (SELECT id FROM predictions WHERE time < ?1 ORDER BY time LIMIT ?2)",
            params![cutoff, RETENTION_BUDGET],
        )?;
        most = most.max(n as i64);
    }
    if let Some(max_rows) = keep.max_rows {
        // Rows are only ever deleted oldest first, so ids are contiguous and the row count is
        // max(id) - min(id) + 1: two index look-ups instead of a count over the whole table.
        let (low, high): (Option<i64>, Option<i64>) =
            conn.query_row("SELECT min(id), max(id) FROM predictions", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if let (Some(low), Some(high)) = (low, high) {
            let excess = (high - low + 1 - max_rows as i64).clamp(0, RETENTION_BUDGET);
            if excess > 0 {
                let n = conn.execute("DELETE FROM predictions WHERE id < ?1", [low + excess])?;
                most = most.max(n as i64);
            }
        }
    }
    Ok(most)
}
