//! Stage `features`: fit the preprocessing on the training split only — scaling of numeric
//! features, category vocabularies — and the reference distributions used for drift.

use prediction_api::contract::ReferenceDistribution;
use serde::{Deserialize, Serialize};

use crate::dataset::{self, Table};
use crate::fsutil::{read_json, write_json};
use crate::layout::Layout;
use crate::params::{DatasetSchema, Params};
use crate::stats::{NumericSummary, categorical_reference, numeric_reference, summarize};

/// The fitted preprocessing of one dataset (`artifacts/features/<name>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    pub dataset: String,
    pub numeric: Vec<NumericFeature>,
    pub categorical: Vec<CategoricalFeature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericFeature {
    pub name: String,
    /// Training statistics; the graph standardises with `(x - mean) / scale`.
    pub stats: NumericSummary,
    /// The divisor: the training std, or 1 for a constant column.
    pub scale: f64,
    pub reference: ReferenceDistribution,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalFeature {
    pub name: String,
    /// Categories seen in training, in schema order. The first is the reference level: it
    /// gets no column, so a linear model with an intercept is not collinear.
    pub vocabulary: Vec<String>,
    pub reference: ReferenceDistribution,
}

impl CategoricalFeature {
    /// The categories that get a one-hot column (all but the reference level).
    pub fn encoded(&self) -> &[String] {
        self.vocabulary.get(1..).unwrap_or_default()
    }
}

impl Preprocessing {
    /// Fits on `train`.
    pub fn fit(
        name: &str,
        schema: &DatasetSchema,
        train: &Table,
        numeric_bins: usize,
    ) -> Preprocessing {
        let numeric = schema
            .numeric_features
            .iter()
            .zip(&train.numeric)
            .map(|(n, col)| {
                let stats = summarize(col);
                let scale = if stats.std > 0.0 { stats.std } else { 1.0 };
                NumericFeature {
                    name: n.clone(),
                    stats,
                    scale,
                    reference: numeric_reference(col, numeric_bins),
                }
            })
            .collect();
        let categorical = schema
            .categorical_features
            .iter()
            .zip(&train.categorical)
            .map(|((n, allowed), col)| {
                let vocabulary: Vec<String> = allowed
                    .iter()
                    .filter(|a| col.contains(a))
                    .cloned()
                    .collect();
                CategoricalFeature {
                    name: n.clone(),
                    reference: categorical_reference(col, &vocabulary),
                    vocabulary,
                }
            })
            .collect();
        Preprocessing {
            dataset: name.to_string(),
            numeric,
            categorical,
        }
    }

    /// Width of the encoded design matrix.
    pub fn width(&self) -> usize {
        self.numeric.len()
            + self
                .categorical
                .iter()
                .map(|c| c.encoded().len())
                .sum::<usize>()
    }

    /// The design matrix (row-major, `rows × width`) the linear models are fitted on: the same
    /// arithmetic the exported graph performs.
    pub fn design_matrix(&self, table: &Table) -> Vec<f64> {
        let rows = table.rows();
        let mut out = Vec::with_capacity(rows * self.width());
        for r in 0..rows {
            for (f, col) in self.numeric.iter().zip(&table.numeric) {
                out.push((col[r] - f.stats.mean) / f.scale);
            }
            for (f, col) in self.categorical.iter().zip(&table.categorical) {
                out.extend(
                    f.encoded()
                        .iter()
                        .map(|c| if *c == col[r] { 1.0 } else { 0.0 }),
                );
            }
        }
        out
    }

    pub fn load(layout: &Layout, name: &str) -> anyhow::Result<Preprocessing> {
        read_json(&layout.features(name))
    }
}

/// Runs the stage for dataset `name`.
pub fn run(layout: &Layout, params: &Params, name: &str) -> anyhow::Result<()> {
    let schema = params.dataset(name)?;
    let train = dataset::load(&layout.processed(name, "train.csv"), schema)?;
    let fitted = Preprocessing::fit(name, schema, &train, params.drift.numeric_bins);
    write_json(&layout.features(name), &fitted)?;
    eprintln!(
        "features {name}: {} numeric, {} categorical → {} model columns",
        fitted.numeric.len(),
        fitted.categorical.len(),
        fitted.width()
    );
    Ok(())
}
