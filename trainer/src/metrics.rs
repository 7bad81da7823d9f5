//! Evaluation metrics: RMSE, MAE and R² for regression; accuracy, macro-F1 and the confusion
//! matrix for classification.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    pub rmse: f64,
    pub mae: f64,
    pub r2: f64,
}

pub fn regression_metrics(actual: &[f64], predicted: &[f64]) -> RegressionMetrics {
    let n = actual.len().max(1) as f64;
    let mean = actual.iter().sum::<f64>() / n;
    let (mut sse, mut sae, mut sst) = (0.0, 0.0, 0.0);
    for (a, p) in actual.iter().zip(predicted) {
        sse += (a - p).powi(2);
        sae += (a - p).abs();
        sst += (a - mean).powi(2);
    }
    RegressionMetrics {
        rmse: (sse / n).sqrt(),
        mae: sae / n,
        r2: if sst > 0.0 { 1.0 - sse / sst } else { 0.0 },
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    pub accuracy: f64,
    pub macro_f1: f64,
    /// `confusion[actual][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

pub fn classification_metrics(
    actual: &[usize],
    predicted: &[usize],
    classes: usize,
) -> ClassificationMetrics {
    let mut confusion = vec![vec![0usize; classes]; classes];
    for (&a, &p) in actual.iter().zip(predicted) {
        if a < classes && p < classes {
            confusion[a][p] += 1;
        }
    }
    let correct: usize = (0..classes).map(|c| confusion[c][c]).sum();
    let f1: f64 = (0..classes)
        .map(|c| {
            let tp = confusion[c][c] as f64;
            let predicted_c: usize = (0..classes).map(|a| confusion[a][c]).sum();
            let actual_c: usize = confusion[c].iter().sum();
            let denominator = (predicted_c + actual_c) as f64;
            if denominator > 0.0 {
                2.0 * tp / denominator
            } else {
                0.0
            }
        })
        .sum();
    ClassificationMetrics {
        accuracy: correct as f64 / actual.len().max(1) as f64,
        macro_f1: f1 / classes.max(1) as f64,
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_metrics_on_a_known_case() {
        let m = regression_metrics(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]);
        assert!((m.rmse - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((m.mae - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.r2 - 0.5).abs() < 1e-12);
    }

    #[test]
    fn classification_metrics_on_a_known_case() {
        let m = classification_metrics(&[0, 0, 1, 1], &[0, 1, 1, 1], 2);
        assert_eq!(m.confusion, vec![vec![1, 1], vec![0, 2]]);
        assert_eq!(m.accuracy, 0.75);
        // F1(class 0) = 2/3, F1(class 1) = 0.8
        assert!((m.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-12);
    }
}
