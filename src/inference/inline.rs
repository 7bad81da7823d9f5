//! Which runs stay on the async worker that took the request.
//!
//! Handing a run to a blocking thread and taking its result back costs two thread wake-ups;
//! for a small tree or linear graph that is more than the run itself (criterion puts the hop
//! at about 20 µs against an iris run of 8–12 µs, BENCHMARKS.md), and with a single client
//! it is most of the latency. So a run that the model's recent runs of that size say will be
//! short runs where it is, on the worker. Tokio asks a task not to block for more than about
//! 10–100 µs between awaits; the budget (`--inline-run-us`, 100 µs by default) keeps within
//! that. Anything larger, and every run of a model whose small runs got slower than the
//! budget, goes to the blocking pool as before; the times keep being measured there, so a
//! model that speeds up again comes back.
//!
//! Only a lone client's requests run inline. Under concurrent load the hand-off is what lets
//! requests meet in the batcher: a worker busy running a graph inline parses nothing
//! meanwhile, so when every short run went inline, the single-record workloads lost 20–38% of
//! their throughput at 64 connections where a lone client gained 30–40% (BENCHMARKS.md).
//! Asking only that the server be answering nothing else at that moment was not enough: at
//! 64 connections most requests are being parsed or written, or sit in the kernel, so about
//! one run in twenty still found itself alone, and four of five cells measured 3–8% slower.
//! A streak of eight such requests in a row tells a lone client apart: at 64 connections none
//! of about 20,000 runs went inline.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Runs of at most this many rows count as small: their times estimate a run's fixed cost;
/// larger runs' times, less that, estimate the cost of a row.
pub const SMALL_ROWS: usize = 16;

/// The default budget, in microseconds (`--inline-run-us`).
pub const DEFAULT_BUDGET_US: u64 = 100;

/// Requests in a row that must have found the server otherwise idle before one runs inline.
pub const LONE_STREAK: u32 = 8;

/// Nothing measured yet.
const UNKNOWN: u64 = u64::MAX;

/// The inline budget of one model version and its estimate of a run's time by rows.
#[derive(Debug)]
pub struct InlineRuns {
    /// Zero: never inline.
    budget: Duration,
    /// A moving average of small runs' times, in nanoseconds.
    small_ns: AtomicU64,
    /// A moving average of larger runs' time per row beyond a small run's, in picoseconds.
    row_ps: AtomicU64,
    /// How many of this model's requests in a row found the server answering nothing else.
    lone: AtomicU32,
}

impl InlineRuns {
    pub fn new(budget: Duration) -> InlineRuns {
        InlineRuns {
            budget,
            small_ns: AtomicU64::new(UNKNOWN),
            row_ps: AtomicU64::new(UNKNOWN),
            lone: AtomicU32::new(0),
        }
    }

    /// Notes how long a run of `rows` rows took.
    pub fn record(&self, rows: usize, took: Duration) {
        if rows == 0 || self.budget.is_zero() {
            return;
        }
        let took_ns = u64::try_from(took.as_nanos()).unwrap_or(UNKNOWN - 1);
        if rows <= SMALL_ROWS {
            average_into(&self.small_ns, took_ns);
            return;
        }
        let small = self.small_ns.load(Ordering::Relaxed);
        if small == UNKNOWN {
            return;
        }
        let per_row_ps = took_ns.saturating_sub(small).saturating_mul(1000) / rows as u64;
        average_into(&self.row_ps, per_row_ps.min(UNKNOWN - 1));
    }

    /// How long a run of `rows` rows should take, when the runs so far tell.
    pub fn estimate(&self, rows: usize) -> Option<Duration> {
        let small = self.small_ns.load(Ordering::Relaxed);
        if small == UNKNOWN {
            return None;
        }
        if rows <= SMALL_ROWS {
            return Some(Duration::from_nanos(small));
        }
        match self.row_ps.load(Ordering::Relaxed) {
            UNKNOWN => None,
            ps => {
                let rows_ns = ps.saturating_mul(rows as u64) / 1000;
                Some(Duration::from_nanos(small.saturating_add(rows_ns)))
            }
        }
    }

    /// Whether a run of `rows` rows may run on the calling worker, with `in_flight` requests
    /// being answered (this one included; `None`: not counted): it is the only one, so were
    /// the model's last few, and runs of its size are known to take less than the budget.
    /// Asked once per request that found a session free (the others queue, so they were not
    /// alone): those are the requests the streak counts.
    pub fn allows(&self, rows: usize, in_flight: Option<usize>) -> bool {
        // Under concurrent load a request now and then finds itself alone for a moment (the
        // others are being parsed or written); a streak tells a lone client from that.
        let streak = match in_flight.is_none_or(|n| n <= 1) {
            true => self.lone.fetch_add(1, Ordering::Relaxed).saturating_add(1),
            false => {
                // Written only when it changes: a contended line costs more than a load.
                if self.lone.load(Ordering::Relaxed) != 0 {
                    self.lone.store(0, Ordering::Relaxed);
                }
                0
            }
        };
        rows > 0 && streak >= LONE_STREAK && self.estimate(rows).is_some_and(|t| t < self.budget)
    }
}

/// Moves the average in `slot` towards `sample`: over about the last eight samples, so one
/// slow run (a page fault, a preempted thread) does not send a model to the pool while a
/// lasting slowdown does. Two threads racing here lose one sample, which the average does not
/// miss.
fn average_into(slot: &AtomicU64, sample: u64) {
    let current = slot.load(Ordering::Relaxed);
    let next = match current {
        UNKNOWN => sample,
        _ => current - current / 8 + sample / 8,
    };
    slot.store(next, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Duration = Duration::from_micros(1);

    /// A lone client's first requests: they build the streak.
    fn alone(runs: &InlineRuns) {
        for _ in 0..LONE_STREAK {
            runs.allows(1, Some(1));
        }
    }

    #[test]
    fn nothing_runs_inline_before_runs_of_its_size_were_measured() {
        let runs = InlineRuns::new(50 * US);
        alone(&runs);
        assert!(!runs.allows(1, None));
        runs.record(100, 10 * US);
        assert!(
            !runs.allows(1, None),
            "a large run says nothing about small ones"
        );
        runs.record(1, 10 * US);
        assert!(runs.allows(1, None));
        assert!(runs.allows(SMALL_ROWS, None));
        assert!(
            !runs.allows(SMALL_ROWS + 1, None),
            "no cost per row known yet"
        );
        assert!(!runs.allows(0, None));
        // 100 rows in 30 µs: 20 µs beyond a small run, 0.2 µs a row.
        runs.record(100, 30 * US);
        assert_eq!(runs.estimate(100), Some(30 * US));
        assert_eq!(runs.estimate(200), Some(50 * US));
        assert!(runs.allows(100, None));
        assert!(!runs.allows(200, None), "at the budget is over it");
    }

    #[test]
    fn one_slow_run_is_forgiven_a_lasting_slowdown_is_not() {
        let runs = InlineRuns::new(50 * US);
        alone(&runs);
        runs.record(1, 10 * US);
        runs.record(1, 200 * US);
        assert!(runs.allows(1, None), "{:?}", runs.estimate(1));
        for _ in 0..8 {
            runs.record(1, 200 * US);
        }
        assert!(!runs.allows(1, None), "{:?}", runs.estimate(1));
        for _ in 0..32 {
            runs.record(1, 10 * US);
        }
        assert!(
            runs.allows(1, None),
            "back under the budget: {:?}",
            runs.estimate(1)
        );
    }

    #[test]
    fn only_a_lone_client_runs_inline() {
        let runs = InlineRuns::new(50 * US);
        runs.record(1, 10 * US);
        for _ in 1..LONE_STREAK {
            assert!(
                !runs.allows(1, Some(1)),
                "alone for a moment is not a lone client"
            );
        }
        assert!(runs.allows(1, Some(1)));
        assert!(runs.allows(1, None), "not counted: as good as alone");
        assert!(
            !runs.allows(1, Some(2)),
            "two requests: the batcher may join them"
        );
        assert!(!runs.allows(1, Some(1)), "the streak starts again");
    }

    #[test]
    fn a_zero_budget_never_runs_inline() {
        let runs = InlineRuns::new(Duration::ZERO);
        alone(&runs);
        runs.record(1, Duration::from_nanos(1));
        assert!(!runs.allows(1, None));
        assert_eq!(runs.estimate(1), None);
    }
}
