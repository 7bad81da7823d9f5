//! Descriptive statistics shared by the data profile, the preprocessing fit and the metrics.

use prediction_api::contract::ReferenceDistribution;
use serde::{Deserialize, Serialize};

/// Summary of one numeric column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericSummary {
    pub count: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1).
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

pub fn summarize(values: &[f64]) -> NumericSummary {
    let mean = mean(values);
    let n = values.len();
    let var = if n > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    NumericSummary {
        count: n,
        mean,
        std: var.sqrt(),
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// The `q` quantile (0..=1) of already sorted values, linearly interpolated.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        }
    }
}

pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// Reference distribution of a numeric column: inner edges at the training quantiles i/bins
/// (duplicates removed, so a discrete feature gets fewer, meaningful bins) and the share of
/// rows in each bin, bin i holding `edges[i-1] <= x < edges[i]`.
pub fn numeric_reference(values: &[f64], bins: usize) -> ReferenceDistribution {
    let sorted = sorted(values);
    // Edges are observed values (not interpolated), so a discrete feature's bins fall between
    // the values it takes.
    let n = sorted.len();
    let mut edges: Vec<f64> = (1..bins)
        .filter_map(|i| sorted.get((i * n / bins).min(n.saturating_sub(1))).copied())
        .collect();
    edges.dedup();
    edges.retain(|&e| e > sorted.first().copied().unwrap_or(e));
    let mut counts = vec![0usize; edges.len() + 1];
    for v in values {
        counts[edges.partition_point(|&e| e <= *v)] += 1;
    }
    ReferenceDistribution::Numeric {
        edges,
        fractions: fractions(&counts),
    }
}

/// Reference distribution of a categorical column over `categories`, plus an "other" bin.
pub fn categorical_reference(values: &[String], categories: &[String]) -> ReferenceDistribution {
    let mut counts = vec![0usize; categories.len() + 1];
    for v in values {
        let bin = categories
            .iter()
            .position(|c| c == v)
            .unwrap_or(categories.len());
        counts[bin] += 1;
    }
    ReferenceDistribution::Categorical {
        categories: categories.to_vec(),
        fractions: fractions(&counts),
    }
}

fn fractions(counts: &[usize]) -> Vec<f64> {
    let total = counts.iter().sum::<usize>().max(1) as f64;
    counts.iter().map(|&c| c as f64 / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_quantiles() {
        let s = summarize(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!((s.count, s.mean, s.min, s.max), (4, 2.5, 1.0, 4.0));
        assert!((s.std - 1.2909944).abs() < 1e-6);
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
    }

    #[test]
    fn numeric_reference_bins_cover_every_row() {
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        let ReferenceDistribution::Numeric { edges, fractions } = numeric_reference(&values, 10)
        else {
            panic!("numeric");
        };
        assert_eq!(edges.len(), 9);
        assert_eq!(fractions.len(), 10);
        assert!((fractions.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // A discrete feature gets only the edges it needs.
        let ReferenceDistribution::Numeric { edges, .. } =
            numeric_reference(&[1.0, 1.0, 2.0, 2.0, 3.0], 10)
        else {
            panic!("numeric");
        };
        assert_eq!(edges, vec![2.0, 3.0]);
    }
}
