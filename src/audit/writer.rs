//! The writer thread: takes entries off the queue, writes many requests' rows in one
//! transaction, acknowledges durable requests once it committed, and enforces retention.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::retention;
use super::rows::Row;
use super::store::{self, Chunk};
use super::tensor_files::{self, TensorFiles};
use super::timestamp::Timestamps;
use super::{Ack, Counters, Message, Retention};

/// How long an `async` batch stays open for more rows after its first one: fewer, larger
/// transactions cost the writer (and the cores it shares with the requests) much less. Only
/// a writer that is keeping up lingers: one behind starts the next batch at once. Each
/// transaction costs about 0.2 ms besides its rows; at 3,000 100-row requests a second,
/// 60 ms instead of 20 ms took the writer's CPU per request from 7.3 µs to 5.0 µs
/// (BENCHMARKS.md). Rows show in the database up to this much later.
pub const ASYNC_LINGER: Duration = Duration::from_millis(50);
/// A batch closes at this many requests or this many bytes of texts, whichever comes first
/// (it also closes when the queue is empty), and is written as chunks of about 64 KiB.
const MAX_BATCH_REQUESTS: usize = 4_096;
const MAX_BATCH_BYTES: u64 = 32 << 20;
/// How often an idle writer wakes up to check retention.
const TICK: Duration = Duration::from_secs(1);
/// Time between retention passes while rows keep coming.
const RETENTION_EVERY: Duration = Duration::from_secs(10);

/// Runs until a [`Message::Stop`] (after writing everything queued before it) or until every
/// sender is gone.
pub fn run(
    mut conn: Connection,
    mut files: TensorFiles,
    queue: Receiver<Message>,
    counters: Arc<Counters>,
    keep: Retention,
    linger: Duration,
    stored_rows: i64,
) {
    // One chunk buffer for the writer's life: it grows to a chunk's size once, instead of
    // being allocated (and its fresh pages faulted in) again for every transaction.
    let mut chunk = Chunk::new(stored_rows);
    let mut stamps = Timestamps::default();
    // Reused too: growing a fresh vector of entries to a busy batch's thousands copied each
    // entry several times over (about 2% of the writer's time on single-record requests).
    let mut batch = Batch::default();
    let mut next_retention = Instant::now();
    let mut stopping = false;
    // Whether the last batch was closed by its size with more still queued.
    let mut behind = false;
    while !stopping {
        let first = match queue.recv_timeout(TICK) {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // An idle writer enforces retention at once.
        let idle = first.is_none();
        if let Some(first) = first {
            stopping = batch.take(first, &counters);
            // Everything already queued joins this transaction (group commit), and so does
            // what arrives within `linger`; when stopping, everything queued is written
            // before the thread ends.
            if !stopping && !behind && !linger.is_zero() {
                // Sleep rather than wait on the queue: a sleeping writer costs the requests
                // no wake-up per entry.
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
                let store = Store {
                    chunk: &mut chunk,
                    stamps: &mut stamps,
                    files: &mut files,
                };
                write_batch(&mut conn, &mut batch, &counters, store);
            }
        }
        if idle || Instant::now() >= next_retention {
            let stored = chunk.next_row();
            retention_pass(&conn, &mut files, &keep, stored, &mut next_retention);
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

/// What the writer keeps between batches to store them.
pub(super) struct Store<'a> {
    pub chunk: &'a mut Chunk,
    pub stamps: &'a mut Timestamps,
    pub files: &'a mut TensorFiles,
}

/// Why a batch was not written.
#[derive(Debug, thiserror::Error)]
pub(super) enum WriteError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot write the tensor files: {0}")]
    TensorFiles(#[from] std::io::Error),
}

/// Writes one batch in one transaction, then tells each waiting request how it went, and
/// empties the batch. Rows that could not be written are counted as dropped and logged,
/// never ignored.
fn write_batch(conn: &mut Connection, batch: &mut Batch, counters: &Counters, store: Store<'_>) {
    let rows = std::mem::take(&mut batch.rows);
    batch.bytes = 0;
    let result = insert_all(conn, &batch.entries, store);
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
    for (_, ack) in batch.entries.drain(..) {
        if let Some(ack) = ack {
            // The request may have timed out and stopped waiting: nothing to tell then.
            let _ = ack.send(ok);
        }
    }
}

/// Writes the batch in one transaction: small requests in chunks, large ones in their own
/// rows (store.rs), tensors to the tensor files, flushed before the commit. The chunk is
/// empty and numbered after the stored records before and after, whether the transaction
/// committed or not.
fn insert_all(
    conn: &mut Connection,
    batch: &[(super::AuditEntry, Option<Ack>)],
    store: Store<'_>,
) -> Result<(), WriteError> {
    let Store {
        chunk,
        stamps,
        files,
    } = store;
    let before = chunk.next_row();
    let written = (|| {
        let tx = conn.transaction()?;
        for (entry, _) in batch {
            let row = Row::of(entry, stamps.format(entry.time));
            let references;
            let row = if let Some((block, header_lengths)) = entry.tensor_block() {
                references = append_tensors(files, chunk.next_row(), block, header_lengths)?;
                Row {
                    features: Some(&references.0),
                    outputs: Some(&references.1),
                    ..row
                }
            } else {
                row
            };
            if store::wants_own_row(&row) {
                if !chunk.is_empty() {
                    chunk.insert(&tx)?;
                }
                chunk.insert_own_row(&tx, &row)?;
                continue;
            }
            chunk.push(&row);
            if chunk.is_full() {
                chunk.insert(&tx)?;
            }
        }
        if !chunk.is_empty() {
            chunk.insert(&tx)?;
        }
        files.flush()?;
        tx.commit()?;
        Ok(())
    })();
    if written.is_err() {
        // Rolled back: the next batch takes the same record numbers.
        chunk.restart(before);
    }
    written
}

/// Appends a request's block to the tensor files: the references to its two sides, as JSON
/// texts.
fn append_tensors(
    files: &mut TensorFiles,
    first_row: i64,
    block: &tensor_files::Block,
    header_lengths: [Option<usize>; 2],
) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let [features, outputs] = files.append_block(first_row, block)?;
    let text = |mut reference: tensor_files::Reference, header_length: Option<usize>| {
        reference.header_length = header_length.map(|n| n as u64);
        let mut text = Vec::with_capacity(100);
        reference.write_json(&mut text);
        text
    };
    Ok((
        text(features, header_lengths[0]),
        text(outputs, header_lengths[1]),
    ))
}

/// The number of records stored so far, counting deleted ones: the next request's
/// `first_row`. The newest chunk or the newest request row holds it, whichever is later;
/// both are found through their primary keys.
pub fn stored_rows(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT max(coalesce((SELECT first_row + rows FROM request_chunks
                              ORDER BY id DESC LIMIT 1), 0),
                    coalesce((SELECT first_row + rows FROM request_rows
                              ORDER BY id DESC LIMIT 1), 0))",
        [],
        |r| r.get(0),
    )
}

/// Enforces retention (retention.rs); when a pass left more to delete the next one comes
/// soon, otherwise after [`RETENTION_EVERY`].
fn retention_pass(
    conn: &Connection,
    files: &mut TensorFiles,
    keep: &Retention,
    stored: i64,
    next: &mut Instant,
) {
    if keep.max_age.is_none() && keep.max_rows.is_none() {
        *next = Instant::now() + Duration::from_secs(3600);
        return;
    }
    let result = retention::enforce(conn, keep, stored);
    // The tensor files go once no kept request refers to them.
    match retention::oldest_kept(conn, stored) {
        Ok(oldest) => {
            if let Err(e) = files.delete_before(oldest) {
                tracing::warn!(error = %e, "audit: old tensor files could not be deleted");
            }
        }
        Err(e) => tracing::warn!(error = %e, "audit: retention pass failed"),
    }
    match result {
        Ok(true) => *next = Instant::now(),
        Ok(false) => *next = Instant::now() + RETENTION_EVERY,
        Err(e) => {
            tracing::warn!(error = %e, "audit: retention pass failed");
            *next = Instant::now() + RETENTION_EVERY;
        }
    }
}
