//! A model version's running totals, as Triton's statistics extension reports them
//! (`GET /v2/models[/{name}[/versions/{version}]]/stats`): requests that succeeded and failed
//! with their time, the time requests waited for a session, graph executions and their time,
//! and rows predicted. Prometheus has the same facts as histograms (`metrics/serving.rs`);
//! these are the totals that Triton's clients (`perf_analyzer`, tritonclient's
//! `get_inference_statistics`) read, kept per loaded version and gone with it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A count and the nanoseconds it took in all.
#[derive(Debug, Default)]
pub struct Tally {
    count: AtomicU64,
    ns: AtomicU64,
}

impl Tally {
    fn add(&self, took: Duration) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.ns.fetch_add(nanos(took), Ordering::Relaxed);
    }

    /// `(count, ns)` now.
    pub fn read(&self) -> (u64, u64) {
        (
            self.count.load(Ordering::Relaxed),
            self.ns.load(Ordering::Relaxed),
        )
    }
}

#[derive(Debug, Default)]
pub struct ModelStats {
    /// Requests answered, from the inference's start to its outputs.
    pub success: Tally,
    /// Requests whose inference failed (refused inputs included).
    pub fail: Tally,
    /// Nanoseconds successful requests waited for a session (and for their batch); every
    /// success waited once, so its count is `success`'s.
    queue_ns: AtomicU64,
    /// Graph executions and their time (a coalesced batch is one).
    pub executions: Tally,
    /// Rows predicted by successful requests.
    rows: AtomicU64,
    /// When the last request was answered, in milliseconds since the Unix epoch (0: never).
    last_inference_ms: AtomicU64,
}

impl ModelStats {
    pub fn succeeded(&self, rows: usize, took: Duration, queued: Duration) {
        self.success.add(took);
        self.queue_ns.fetch_add(nanos(queued), Ordering::Relaxed);
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
        self.touch();
    }

    pub fn failed(&self, took: Duration) {
        self.fail.add(took);
        self.touch();
    }

    pub fn executed(&self, ran: Duration) {
        self.executions.add(ran);
    }

    /// `(count, ns)` of the successful requests' waits.
    pub fn queue(&self) -> (u64, u64) {
        (self.success.read().0, self.queue_ns.load(Ordering::Relaxed))
    }

    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    pub fn last_inference_ms(&self) -> u64 {
        self.last_inference_ms.load(Ordering::Relaxed)
    }

    fn touch(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.last_inference_ms.store(now, Ordering::Relaxed);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up() {
        let stats = ModelStats::default();
        assert_eq!(stats.last_inference_ms(), 0);
        stats.succeeded(3, Duration::from_micros(5), Duration::from_micros(1));
        stats.succeeded(2, Duration::from_micros(7), Duration::ZERO);
        stats.failed(Duration::from_micros(2));
        stats.executed(Duration::from_micros(4));
        assert_eq!(stats.success.read(), (2, 12_000));
        assert_eq!(stats.queue(), (2, 1_000));
        assert_eq!(stats.fail.read(), (1, 2_000));
        assert_eq!(stats.executions.read(), (1, 4_000));
        assert_eq!(stats.rows(), 5);
        assert!(stats.last_inference_ms() > 0);
    }
}
