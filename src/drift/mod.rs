//! Feature drift: for each model version with a training distribution in its metadata, the
//! distribution of the last N predicted rows per feature, compared with the training one by
//! the population stability index (PSI).
//!
//! Buckets are the reference's own: numeric features use the trainer's bin edges (bin i holds
//! `edges[i-1] <= x < edges[i]`, the outer bins open-ended); categorical features have one bin
//! per training category plus one for anything else. Each row is kept as its bucket indices in
//! a ring of N rows, so the window slides exactly: the oldest row's buckets are decremented
//! when a new row arrives. PSI = Σ (aᵢ − eᵢ)·ln(aᵢ/eᵢ) over buckets, with aᵢ the window's
//! fraction and eᵢ the training fraction, each floored at [`EPSILON`] so an empty bucket
//! counts as rare rather than infinitely surprising.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::audit::AuditInputs;
use crate::contract::ReferenceDistribution;
use crate::repository::LoadedModel;
use crate::tensor::TensorData;

/// The floor of a bucket fraction in the PSI sum.
pub const EPSILON: f64 = 1e-4;
/// PSI is reported once the window holds this many rows (or is full, if smaller): below
/// that, a handful of rows would look like drift.
pub const MIN_ROWS: usize = 100;

/// One feature's current PSI, as exported to metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftValue {
    pub model: String,
    pub version: u64,
    pub feature: String,
    pub psi: f64,
}

/// A model version's drift, as shown in `/models/info`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DriftReport {
    /// Window size: the last N predicted rows.
    pub window: usize,
    /// Rows in the window now.
    pub rows: usize,
    /// PSI per feature; null until the window holds enough rows.
    pub features: Vec<FeatureDrift>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FeatureDrift {
    pub feature: String,
    pub psi: Option<f64>,
}

/// Drift windows of every model version seen; cheap to clone.
#[derive(Clone)]
pub struct DriftMonitor {
    window: usize,
    versions: Arc<RwLock<HashMap<(String, u64), Tracked>>>,
}

/// `None` for a version without a reference distribution, so it is looked at only once.
struct Tracked {
    model: Weak<LoadedModel>,
    window: Option<Arc<Window>>,
}

impl Tracked {
    fn new(model: &Arc<LoadedModel>, capacity: usize) -> Tracked {
        Tracked {
            model: Arc::downgrade(model),
            window: Window::for_model(model, capacity).map(Arc::new),
        }
    }
}

impl DriftMonitor {
    pub fn new(window: usize) -> DriftMonitor {
        DriftMonitor {
            window: window.max(1),
            versions: Arc::default(),
        }
    }

    /// Adds the rows of a successful prediction to the model version's window. Rows whose
    /// features cannot be read (a shape the trainer's models do not have) are skipped.
    pub fn observe(&self, model: &Arc<LoadedModel>, inputs: &AuditInputs) {
        let Some(window) = self.window_of(model) else {
            return;
        };
        // The rows' buckets are worked out before the window's lock is taken, which then
        // holds only for the counts: concurrent requests for one model do not wait on each
        // other's bucketing, and a worker that finds the lock taken sleeps on it.
        let rows = match inputs {
            AuditInputs::Records(records) => window.buckets(records.len(), |r, feature| {
                records
                    .get(r)?
                    .get(&feature.name)
                    .and_then(|v| feature.bucket_of_json(v))
            }),
            AuditInputs::Tensors(tensors) => {
                let columns: Option<Vec<&TensorData>> = window
                    .features
                    .iter()
                    .map(|f| {
                        tensors
                            .iter()
                            .find(|t| {
                                t.name() == f.name && t.shape().iter().skip(1).all(|&d| d == 1)
                            })
                            .map(|t| t.data())
                    })
                    .collect();
                let Some(columns) = columns else {
                    return;
                };
                let rows = columns.first().map_or(0, |c| c.len());
                window.buckets(rows, |r, feature| {
                    let column = columns.get(feature.index)?;
                    feature.bucket_of_element(column, r)
                })
            }
        };
        window.add(&rows);
    }

    /// The PSI of every feature of every loaded version whose window is full enough.
    pub fn snapshot(&self) -> Vec<DriftValue> {
        let Ok(mut versions) = self.versions.write() else {
            return Vec::new();
        };
        // Versions that were unloaded (and drained) leave with their last request.
        versions.retain(|_, tracked| tracked.model.strong_count() > 0);
        let mut values = Vec::new();
        for ((model, version), tracked) in versions.iter() {
            let Some(window) = &tracked.window else {
                continue;
            };
            for (feature, psi) in window.psi() {
                if let Some(psi) = psi {
                    values.push(DriftValue {
                        model: model.clone(),
                        version: *version,
                        feature: feature.to_string(),
                        psi,
                    });
                }
            }
        }
        values.sort_by(|a, b| {
            (&a.model, a.version, &a.feature).cmp(&(&b.model, b.version, &b.feature))
        });
        values
    }

    /// The drift of one version, `None` when it has no reference distribution.
    pub fn report(&self, model: &Arc<LoadedModel>) -> Option<DriftReport> {
        let window = self.window_of(model)?;
        Some(DriftReport {
            window: window.capacity,
            rows: window.len(),
            features: window
                .psi()
                .into_iter()
                .map(|(feature, psi)| FeatureDrift {
                    feature: feature.to_string(),
                    psi,
                })
                .collect(),
        })
    }

    fn window_of(&self, model: &Arc<LoadedModel>) -> Option<Arc<Window>> {
        let key = (model.name.clone(), model.version);
        let same = |tracked: &Tracked| std::ptr::eq(tracked.model.as_ptr(), Arc::as_ptr(model));
        if let Ok(versions) = self.versions.read()
            && let Some(tracked) = versions.get(&key).filter(|t| same(t))
        {
            return tracked.window.clone();
        }
        // First sight of this version (or a reload under the same number): start afresh,
        // unless another request got there first.
        let mut versions = self.versions.write().ok()?;
        let tracked = versions
            .entry(key)
            .and_modify(|tracked| {
                if !same(tracked) {
                    *tracked = Tracked::new(model, self.window);
                }
            })
            .or_insert_with(|| Tracked::new(model, self.window));
        tracked.window.clone()
    }
}

/// The last `capacity` rows of one model version, as bucket indices per feature: the
/// features' buckets, fixed for the version's life, and behind a lock the rows and counts.
struct Window {
    capacity: usize,
    features: Vec<Feature>,
    rows: Mutex<Rows>,
}

/// Up to this many edges a feature's bucket is found by counting, above it by binary search.
const LINEAR_EDGES: usize = 32;

struct Rows {
    /// `capacity` rows × features, row-major; row `(head + i) % capacity` is the i-th oldest.
    ring: Vec<u16>,
    head: usize,
    len: usize,
    /// Per feature, the rows in the window in each of its buckets.
    counts: Vec<Vec<u32>>,
}

struct Feature {
    name: String,
    /// Its place among the window's features.
    index: usize,
    buckets: Buckets,
    expected: Vec<f64>,
}

enum Buckets {
    Numeric(Vec<f64>),
    Categorical(HashMap<String, usize>),
}

impl Window {
    /// `None` unless the model has metadata with a usable reference for every feature.
    fn for_model(model: &LoadedModel, capacity: usize) -> Option<Window> {
        let metadata = model.metadata.as_ref()?;
        let features = metadata
            .features
            .iter()
            .enumerate()
            .map(|(i, spec)| Feature::new(&spec.name, i, &spec.reference))
            .collect::<Option<Vec<_>>>()?;
        Window::new(features, capacity)
    }

    fn new(features: Vec<Feature>, capacity: usize) -> Option<Window> {
        if features.is_empty() {
            return None;
        }
        let rows = Rows {
            ring: vec![0; capacity * features.len()],
            head: 0,
            len: 0,
            counts: features.iter().map(|f| vec![0; f.expected.len()]).collect(),
        };
        Some(Window {
            capacity,
            features,
            rows: Mutex::new(rows),
        })
    }

    /// The buckets of `rows` rows, row-major, one per feature; `bucket(r, feature)` gives row
    /// r's bucket of a feature, and a row with a feature it cannot read is left out.
    fn buckets(&self, rows: usize, bucket: impl Fn(usize, &Feature) -> Option<usize>) -> Vec<u16> {
        let width = self.features.len();
        let mut out = Vec::with_capacity(rows.min(self.capacity) * width);
        for r in 0..rows {
            let start = out.len();
            for feature in &self.features {
                // Buckets fit a u16: Feature::new refuses references with more.
                match bucket(r, feature).and_then(|b| u16::try_from(b).ok()) {
                    Some(b) => out.push(b),
                    None => {
                        out.truncate(start);
                        break;
                    }
                }
            }
        }
        out
    }

    /// Adds rows of buckets made by [`Window::buckets`]; the oldest rows leave a full window.
    fn add(&self, buckets: &[u16]) {
        let width = self.features.len();
        if buckets.is_empty() {
            return;
        }
        let Ok(mut rows) = self.rows.lock() else {
            return;
        };
        let Rows {
            ring,
            head,
            len,
            counts,
        } = &mut *rows;
        for row in buckets.chunks_exact(width) {
            let slot = if *len < self.capacity {
                *len += 1;
                (*head + *len - 1) % self.capacity
            } else {
                // Full: the oldest row leaves the window and its slot takes the new row.
                let oldest = *head;
                for (f, count) in counts.iter_mut().enumerate() {
                    let b = usize::from(ring[oldest * width + f]);
                    count[b] = count[b].saturating_sub(1);
                }
                *head = (*head + 1) % self.capacity;
                oldest
            };
            for (f, &b) in row.iter().enumerate() {
                counts[f][usize::from(b)] += 1;
                ring[slot * width + f] = b;
            }
        }
    }

    /// Adds one row; `bucket(feature)` gives its bucket of each feature (tests).
    #[cfg(test)]
    fn push(&self, bucket: impl Fn(&Feature) -> Option<usize>) {
        self.add(&self.buckets(1, |_, feature| bucket(feature)));
    }

    fn len(&self) -> usize {
        self.rows.lock().map_or(0, |rows| rows.len)
    }

    fn psi(&self) -> Vec<(&str, Option<f64>)> {
        let Ok(rows) = self.rows.lock() else {
            return Vec::new();
        };
        let enough = rows.len >= MIN_ROWS.min(self.capacity);
        self.features
            .iter()
            .zip(&rows.counts)
            .map(|(f, counts)| (f.name.as_str(), enough.then(|| f.psi(counts, rows.len))))
            .collect()
    }
}

impl Feature {
    fn new(name: &str, index: usize, reference: &ReferenceDistribution) -> Option<Feature> {
        let (buckets, expected) = match reference {
            ReferenceDistribution::Numeric { edges, fractions } => {
                (Buckets::Numeric(edges.clone()), fractions.clone())
            }
            ReferenceDistribution::Categorical {
                categories,
                fractions,
            } => (
                Buckets::Categorical(
                    categories
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.clone(), i))
                        .collect(),
                ),
                fractions.clone(),
            ),
        };
        let bins = match &buckets {
            Buckets::Numeric(edges) => edges.len() + 1,
            Buckets::Categorical(categories) => categories.len() + 1,
        };
        // A reference that does not match its own bins (or has more bins than a ring cell
        // holds) is not used.
        if expected.len() != bins || bins > usize::from(u16::MAX) {
            return None;
        }
        Some(Feature {
            name: name.to_string(),
            index,
            buckets,
            expected,
        })
    }

    fn bucket_of_number(&self, x: f64) -> Option<usize> {
        match &self.buckets {
            // The edges are sorted, so the bucket is how many are at most `x`. Counting them
            // all compares without branches (vectorised); a binary search's dependent steps
            // were about half of drift's time on a 100-row request. Long edge lists still
            // search.
            Buckets::Numeric(edges) if !x.is_nan() && edges.len() <= LINEAR_EDGES => {
                Some(edges.iter().map(|&e| usize::from(e <= x)).sum())
            }
            Buckets::Numeric(edges) if !x.is_nan() => Some(edges.partition_point(|&e| e <= x)),
            _ => None,
        }
    }

    fn bucket_of_text(&self, s: &str) -> Option<usize> {
        match &self.buckets {
            Buckets::Categorical(categories) => {
                Some(categories.get(s).copied().unwrap_or(categories.len()))
            }
            Buckets::Numeric(_) => None,
        }
    }

    fn bucket_of_json(&self, v: &Value) -> Option<usize> {
        // `[x]` and `[[x]]` are accepted for one-value rows, as the record reader does.
        let mut v = v;
        while let Value::Array(items) = v {
            v = items.first()?;
        }
        match v {
            Value::Number(n) => self.bucket_of_number(n.as_f64()?),
            Value::String(s) => self.bucket_of_text(s),
            _ => None,
        }
    }

    fn bucket_of_element(&self, data: &TensorData, r: usize) -> Option<usize> {
        match data {
            TensorData::F32(v) => self.bucket_of_number(f64::from(*v.get(r)?)),
            TensorData::F64(v) => self.bucket_of_number(*v.get(r)?),
            TensorData::Bytes(v) => self.bucket_of_text(&String::from_utf8_lossy(v.get(r)?)),
            _ => None,
        }
    }

    /// The PSI of `counts` (rows per bucket) out of `rows` rows.
    fn psi(&self, counts: &[u32], rows: usize) -> f64 {
        let n = rows.max(1) as f64;
        counts
            .iter()
            .zip(&self.expected)
            .map(|(&count, &e)| {
                let a = (f64::from(count) / n).max(EPSILON);
                let e = e.max(EPSILON);
                (a - e) * (a / e).ln()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests;
