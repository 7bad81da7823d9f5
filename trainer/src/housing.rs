//! Stage `train housing`: linear regressions of price on the 15 features, compared on a
//! validation split; the winner is refitted on the whole training split and exported.

use linfa::prelude::*;
use linfa_elasticnet::ElasticNet;
use linfa_linear::{FittedLinearRegression, LinearRegression};
use ndarray16::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::dataset::{self, Table, Target};
use crate::features::Preprocessing;
use crate::fsutil::{read_json, write_atomic, write_json};
use crate::layout::Layout;
use crate::metadata;
use crate::metrics::regression_metrics;
use crate::onnx::{
    CategoricalInput, LinearGraphSpec, NumericInput, TargetTransform, linear_regression_graph,
};
use crate::params::{LinearCandidate, LinearKind, Params};
use crate::split::split_indices;

pub const NAME: &str = "housing";

/// The fitted linfa model and how it was configured (`artifacts/housing/model.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct HousingModel {
    pub candidate: LinearCandidate,
    pub fit: LinearFit,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum LinearFit {
    Ols(FittedLinearRegression<f64>),
    ElasticNet(ElasticNet<f64>),
}

impl HousingModel {
    /// Fits `candidate` on `table` encoded by `pre`.
    pub fn fit(
        candidate: &LinearCandidate,
        pre: &Preprocessing,
        table: &Table,
    ) -> anyhow::Result<HousingModel> {
        let records = design(pre, table)?;
        let Target::Numeric(y) = &table.target else {
            anyhow::bail!("the housing target must be numeric");
        };
        let y: Array1<f64> = y
            .iter()
            .map(|&v| if candidate.log_target { v.ln() } else { v })
            .collect();
        let data = Dataset::new(records, y);
        let fit = match candidate.kind {
            LinearKind::Ols => LinearFit::Ols(LinearRegression::new().fit(&data)?),
            LinearKind::ElasticNet => LinearFit::ElasticNet(
                ElasticNet::params()
                    .penalty(candidate.penalty.unwrap_or(1.0))
                    .l1_ratio(candidate.l1_ratio.unwrap_or(0.5))
                    .fit(&data)?,
            ),
        };
        Ok(HousingModel {
            candidate: candidate.clone(),
            fit,
        })
    }

    /// Predictions in USD by the linfa model itself.
    pub fn predict(&self, pre: &Preprocessing, table: &Table) -> anyhow::Result<Vec<f64>> {
        let records = design(pre, table)?;
        let raw: Array1<f64> = match &self.fit {
            LinearFit::Ols(m) => m.predict(&records),
            LinearFit::ElasticNet(m) => m.predict(&records),
        };
        Ok(raw
            .iter()
            .map(|&v| {
                if self.candidate.log_target {
                    v.exp()
                } else {
                    v
                }
            })
            .collect())
    }

    /// (coefficients, intercept) in design-matrix column order.
    pub fn linear_terms(&self) -> (Vec<f64>, f64) {
        match &self.fit {
            LinearFit::Ols(m) => (m.params().to_vec(), m.intercept()),
            LinearFit::ElasticNet(m) => (m.hyperplane().to_vec(), m.intercept()),
        }
    }

    /// The exported graph: preprocessing, the linear model and the inverse target transform.
    pub fn graph(
        &self,
        pre: &Preprocessing,
        props: Vec<(String, String)>,
    ) -> anyhow::Result<Vec<u8>> {
        let (coefficients, intercept) = self.linear_terms();
        let spec = LinearGraphSpec {
            graph_name: NAME.to_string(),
            doc: format!("Saratoga house price (USD), {}", self.algorithm()),
            numeric: pre
                .numeric
                .iter()
                .map(|f| NumericInput {
                    name: f.name.clone(),
                    mean: f.stats.mean,
                    scale: f.scale,
                })
                .collect(),
            categorical: pre
                .categorical
                .iter()
                .map(|f| CategoricalInput {
                    name: f.name.clone(),
                    categories: f.encoded().to_vec(),
                })
                .collect(),
            coefficients,
            intercept,
            target_transform: if self.candidate.log_target {
                TargetTransform::Exp
            } else {
                TargetTransform::Identity
            },
            metadata_props: props,
        };
        Ok(linear_regression_graph(&spec)?)
    }

    pub fn algorithm(&self) -> String {
        let base = match self.candidate.kind {
            LinearKind::Ols => "linfa-linear LinearRegression (ordinary least squares)".to_string(),
            LinearKind::ElasticNet => format!(
                "linfa-elasticnet ElasticNet (penalty {}, l1_ratio {})",
                self.candidate.penalty.unwrap_or(1.0),
                self.candidate.l1_ratio.unwrap_or(0.5)
            ),
        };
        if self.candidate.log_target {
            format!("{base} on ln(price)")
        } else {
            base
        }
    }
}

fn design(pre: &Preprocessing, table: &Table) -> anyhow::Result<Array2<f64>> {
    Ok(Array2::from_shape_vec(
        (table.rows(), pre.width()),
        pre.design_matrix(table),
    )?)
}

/// One candidate's score on the validation split.
#[derive(Debug, Serialize, Deserialize)]
pub struct CandidateScore {
    pub name: String,
    pub algorithm: String,
    pub validation_rmse: f64,
    pub validation_r2: f64,
}

/// Runs the stage: compare, refit the best, export.
pub fn run(layout: &Layout, params: &Params) -> anyhow::Result<()> {
    let schema = params.dataset(NAME)?;
    let train = dataset::load(&layout.processed(NAME, "train.csv"), schema)?;
    let pre = Preprocessing::load(layout, NAME)?;
    let (fit_rows, validation_rows) = split_indices(
        &train,
        params.split.validation_fraction,
        params.seed ^ 0x5EED,
    );
    let (fit_part, validation) = (train.select(&fit_rows), train.select(&validation_rows));
    let Target::Numeric(actual) = &validation.target else {
        anyhow::bail!("the housing target must be numeric");
    };
    let mut scores = Vec::new();
    for candidate in &params.housing.candidates {
        let model = HousingModel::fit(candidate, &pre, &fit_part)?;
        let m = regression_metrics(actual, &model.predict(&pre, &validation)?);
        eprintln!(
            "train housing: {:<16} validation RMSE {:>10.1}  R² {:.4}",
            candidate.name, m.rmse, m.r2
        );
        scores.push(CandidateScore {
            name: candidate.name.clone(),
            algorithm: model.algorithm(),
            validation_rmse: m.rmse,
            validation_r2: m.r2,
        });
    }
    let best = scores
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.validation_rmse.total_cmp(&b.1.validation_rmse))
        .map(|(i, _)| i)
        .ok_or_else(|| anyhow::anyhow!("no housing candidates"))?;
    let model = HousingModel::fit(&params.housing.candidates[best], &pre, &train)?;
    eprintln!(
        "train housing: selected {} ({})",
        scores[best].name,
        model.algorithm()
    );
    let mut meta = metadata::draft(layout, params, NAME, &pre, &train, model.algorithm())?;
    let graph = model.graph(&pre, metadata::graph_props(&meta))?;
    meta.model_sha256 = metadata::sha256_hex(&graph);
    write_json(&layout.trained(NAME, "candidates.json"), &scores)?;
    write_json(&layout.trained(NAME, "model.json"), &model)?;
    write_json(&layout.trained(NAME, "metadata.json"), &meta)?;
    write_atomic(&layout.trained(NAME, "model.onnx"), &graph)?;
    Ok(())
}

pub fn load_model(layout: &Layout) -> anyhow::Result<HousingModel> {
    read_json(&layout.trained(NAME, "model.json"))
}
