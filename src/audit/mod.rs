//! The audit trail: one row per predicted record in SQLite's `predictions` view, written by
//! one dedicated thread.
//!
//! Handlers hand an [`AuditEntry`] to [`AuditWriter::submit`]: the request's records already
//! as JSON texts, or a large request's tensors in binary form ([`RowTexts`]). The writer
//! thread writes every queued request in one transaction (small requests many to a stored
//! row, large JSON ones a row each: store.rs; tensors appended to the tensor files beside the
//! database, referenced from the transaction: tensor_files.rs), and commits. In `async` mode
//! the request does not wait; when the queue is full its rows are counted as dropped and
//! logged. In `durable` mode the request waits for the commit of the transaction holding its
//! rows (group commit: one commit acknowledges every request of the batch).

mod binary;
pub mod query;
mod retention;
mod rows;
mod schema;
mod store;
mod tensor_files;
mod timestamp;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::tensor::Tensor;

pub use rows::{MAX_ROW_BYTES, MAX_ROW_ELEMENTS, RowTexts, Sent};
pub use schema::{SCHEMA_VERSION, SchemaError};

/// Whether a request with these inputs is stored as its tensors rather than as JSON text
/// (binary.rs): a handler whose inputs go on to the runtime keeps a copy for the trail.
pub fn stored_as_tensors(inputs: &[Tensor]) -> bool {
    binary::wanted(inputs)
}

/// When a request's rows count as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditMode {
    /// The response does not wait for the audit rows.
    Async,
    /// The response is sent only after its audit rows are committed.
    Durable,
}

/// Where and how to keep the audit trail.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    pub path: PathBuf,
    pub mode: AuditMode,
    /// Requests that may wait for the writer.
    pub queue_capacity: usize,
    /// The most bytes of row texts the queue may hold: a count alone does not bound memory
    /// when one request can carry thousands of records.
    pub queue_bytes: u64,
    pub retention: Retention,
}

/// How much history to keep; `None` keeps everything.
#[derive(Debug, Clone, Default)]
pub struct Retention {
    pub max_age: Option<Duration>,
    pub max_rows: Option<u64>,
}

/// What a prediction request read, as the handler had it.
pub enum AuditInputs {
    /// JSON records, one per row (the record routes).
    Records(Vec<Value>),
    /// Tensors with the batch as first dimension (V2, and the column formats).
    Tensors(Arc<[Tensor]>),
}

/// One request's contribution to the trail.
pub struct AuditEntry {
    pub time: SystemTime,
    pub request_id: String,
    /// The route template, e.g. `/predict/{model}`.
    pub route: &'static str,
    pub model: String,
    /// The version that ran, or the one the request named when it failed before running.
    pub version: Option<u64>,
    pub latency: Duration,
    /// The HTTP status of the response.
    pub status: u16,
    pub outcome: Outcome,
}

pub enum Outcome {
    /// One row per record, written as text on the request's thread.
    Predicted { rows: RowTexts },
    /// One row with the error message.
    Failed { error: String },
}

impl AuditEntry {
    /// The number of rows this entry writes.
    pub fn rows(&self) -> u64 {
        match &self.outcome {
            Outcome::Failed { .. } => 1,
            Outcome::Predicted { rows } => rows.len() as u64,
        }
    }

    /// The block of a request kept in the tensor files, with its sides' JSON header
    /// lengths when they are bodies as sent (tensor_files.rs).
    fn tensor_block(&self) -> Option<(&tensor_files::Block, [Option<usize>; 2])> {
        match &self.outcome {
            Outcome::Predicted { rows } => rows.tensor_block(),
            Outcome::Failed { .. } => None,
        }
    }

    /// About what the entry holds in memory while it waits: its texts and identifiers.
    pub fn bytes(&self) -> u64 {
        let texts = match &self.outcome {
            Outcome::Failed { error } => error.len(),
            Outcome::Predicted { rows } => rows.bytes(),
        };
        (texts + self.request_id.len() + self.model.len() + size_of::<AuditEntry>()) as u64
    }
}

/// The writer's counters, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Requests waiting in the queue.
    pub queue_depth: u64,
    /// What they hold ([`AuditEntry::bytes`]).
    pub queue_bytes: u64,
    pub rows_written: u64,
    /// Committed transactions.
    pub write_batches: u64,
    /// Rows lost: queue full (async mode), writer stopped, or a failed transaction.
    pub rows_dropped: u64,
}

/// Why a durable request could not be acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit trail could not record this prediction")]
    NotWritten,
    #[error("cannot open the audit database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: SchemaError,
    },
    #[error("cannot create the folder of the audit database {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the audit writer thread: {0}")]
    Thread(std::io::Error),
}

type Ack = tokio::sync::oneshot::Sender<bool>;

// Entries are nearly every message: boxing them would cost an allocation per request to save
// queue slots' space.
#[allow(clippy::large_enum_variant)]
pub(super) enum Message {
    Entry(AuditEntry, Option<Ack>),
    Stop,
}

#[derive(Default)]
struct Counters {
    queue_depth: AtomicU64,
    /// [`AuditEntry::bytes`] of the queued entries.
    queued_bytes: AtomicU64,
    rows_written: AtomicU64,
    write_batches: AtomicU64,
    rows_dropped: AtomicU64,
}

/// The handle handlers hold; cheap to clone. A disabled writer accepts entries and does nothing.
#[derive(Clone)]
pub struct AuditWriter {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    queue: SyncSender<Message>,
    mode: AuditMode,
    max_queued_bytes: u64,
    counters: Arc<Counters>,
    drops: DropLog,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl AuditWriter {
    /// A writer that records nothing (`--audit-db off`).
    pub fn disabled() -> AuditWriter {
        AuditWriter { shared: None }
    }

    /// Opens the database (creating it and its folder as needed) and starts the writer
    /// thread. Blocking: call it off the async workers.
    pub fn start(config: &AuditConfig) -> Result<AuditWriter, AuditError> {
        if let Some(folder) = config.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| AuditError::Folder {
                path: folder.to_path_buf(),
                source,
            })?;
        }
        let durable = config.mode == AuditMode::Durable;
        let conn =
            schema::open_for_writing(&config.path, durable).map_err(|source| AuditError::Open {
                path: config.path.clone(),
                source,
            })?;
        let stored = writer::stored_rows(&conn).map_err(|e| AuditError::Open {
            path: config.path.clone(),
            source: SchemaError::Sqlite(e),
        })?;
        let files = tensor_files::TensorFiles::new(&config.path, durable);
        let (queue, received) = sync_channel(config.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let for_thread = counters.clone();
        let retention = config.retention.clone();
        // Durable requests wait for the commit: their batch closes as soon as the queue is empty.
        let linger = match config.mode {
            AuditMode::Async => writer::ASYNC_LINGER,
            AuditMode::Durable => Duration::ZERO,
        };
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                writer::run(conn, files, received, for_thread, retention, linger, stored)
            })
            .map_err(AuditError::Thread)?;
        Ok(AuditWriter {
            shared: Some(Arc::new(Shared {
                queue,
                mode: config.mode,
                max_queued_bytes: config.queue_bytes,
                counters,
                drops: DropLog::default(),
                thread: Mutex::new(Some(thread)),
            })),
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// Records a prediction. In durable mode this waits until its rows are committed (or
    /// fails); in async mode it returns at once.
    pub async fn submit(&self, entry: AuditEntry) -> Result<(), AuditError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        if shared.mode == AuditMode::Async {
            shared.enqueue(entry);
            return Ok(());
        }
        let rows = entry.rows();
        let bytes = entry.bytes();
        let (ack, acked) = tokio::sync::oneshot::channel();
        // A durable request holds its own texts while it waits, so only the count bounds it;
        // its bytes are still counted for the async requests' budget.
        shared.counters.queue_depth.fetch_add(1, Ordering::Relaxed);
        shared
            .counters
            .queued_bytes
            .fetch_add(bytes, Ordering::Relaxed);
        let sent = match shared.queue.try_send(Message::Entry(entry, Some(ack))) {
            Ok(()) => true,
            // A full queue makes a durable request wait for room, on a blocking thread.
            Err(TrySendError::Full(message)) => {
                let queue = shared.queue.clone();
                tokio::task::spawn_blocking(move || queue.send(message).is_ok())
                    .await
                    .unwrap_or(false)
            }
            Err(TrySendError::Disconnected(_)) => false,
        };
        if !sent {
            shared.counters.queue_depth.fetch_sub(1, Ordering::Relaxed);
            shared
                .counters
                .queued_bytes
                .fetch_sub(bytes, Ordering::Relaxed);
            shared.dropped(rows);
            return Err(AuditError::NotWritten);
        }
        match acked.await {
            Ok(true) => Ok(()),
            _ => Err(AuditError::NotWritten),
        }
    }

    /// Records an entry without ever waiting (failed requests, whatever the mode).
    pub fn record(&self, entry: AuditEntry) {
        if let Some(shared) = &self.shared {
            shared.enqueue(entry);
        }
    }

    pub fn stats(&self) -> AuditStats {
        let Some(shared) = &self.shared else {
            return AuditStats::default();
        };
        let c = &shared.counters;
        AuditStats {
            queue_depth: c.queue_depth.load(Ordering::Relaxed),
            queue_bytes: c.queued_bytes.load(Ordering::Relaxed),
            rows_written: c.rows_written.load(Ordering::Relaxed),
            write_batches: c.write_batches.load(Ordering::Relaxed),
            rows_dropped: c.rows_dropped.load(Ordering::Relaxed),
        }
    }

    /// Stops the writer after it wrote everything queued so far. Blocking: call it off the
    /// async workers. Entries submitted afterwards are counted as dropped.
    pub fn stop(&self) {
        let Some(shared) = &self.shared else {
            return;
        };
        let thread = shared.thread.lock().ok().and_then(|mut t| t.take());
        let Some(thread) = thread else {
            return;
        };
        if shared.queue.send(Message::Stop).is_err() {
            tracing::warn!("audit: the writer thread had already stopped");
        }
        if thread.join().is_err() {
            tracing::error!("audit: the writer thread panicked");
        }
    }
}

impl Shared {
    /// Queues without waiting; a full queue (by count or by bytes) drops the entry's rows,
    /// counted and logged.
    fn enqueue(&self, entry: AuditEntry) {
        let rows = entry.rows();
        let bytes = entry.bytes();
        let c = &self.counters;
        let before = c.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        // An entry larger than the whole budget still goes when the queue is empty, so a
        // small budget cannot refuse every big request.
        let over = before > 0 && before + bytes > self.max_queued_bytes;
        c.queue_depth.fetch_add(1, Ordering::Relaxed);
        if over || self.queue.try_send(Message::Entry(entry, None)).is_err() {
            c.queue_depth.fetch_sub(1, Ordering::Relaxed);
            c.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            self.dropped(rows);
        }
    }

    fn dropped(&self, rows: u64) {
        self.counters
            .rows_dropped
            .fetch_add(rows, Ordering::Relaxed);
        self.drops.note(rows);
    }
}

/// Logs dropped rows at most once per [`DropLog::EVERY`], with the count since the last line.
#[derive(Default)]
struct DropLog {
    since_last: AtomicU64,
    last: Mutex<Option<Instant>>,
}

impl DropLog {
    const EVERY: Duration = Duration::from_secs(10);

    fn note(&self, rows: u64) {
        self.since_last.fetch_add(rows, Ordering::Relaxed);
        // Whoever holds the lock logs; the others just count.
        let Ok(mut last) = self.last.try_lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < Self::EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let rows = self.since_last.swap(0, Ordering::Relaxed);
        tracing::warn!(
            rows,
            "audit: the queue is full or the writer stopped; rows were dropped (counted in rows_dropped)"
        );
    }
}

#[cfg(test)]
mod tests;
