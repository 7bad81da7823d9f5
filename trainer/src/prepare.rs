//! Stage `prepare`: validate the raw CSV, split it, write the splits and a data profile.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dataset::{self, Table, Target};
use crate::fsutil::{write_atomic, write_json};
use crate::layout::Layout;
use crate::params::{DatasetSchema, Params};
use crate::split::split_indices;
use crate::stats::{NumericSummary, quantile_sorted, sorted, summarize};

/// The profile of a dataset: what a person checks before trusting a model trained on it.
#[derive(Debug, Serialize)]
pub struct Profile {
    pub dataset: String,
    pub source: String,
    pub rows: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub numeric: BTreeMap<String, NumericProfile>,
    pub categorical: BTreeMap<String, BTreeMap<String, usize>>,
    pub target: TargetProfile,
}

#[derive(Debug, Serialize)]
pub struct NumericProfile {
    #[serde(flatten)]
    pub summary: NumericSummary,
    /// Quantile (as written in params.yaml) → value.
    pub quantiles: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum TargetProfile {
    Numeric(NumericProfile),
    Classes(BTreeMap<String, usize>),
}

/// Runs the stage for dataset `name`: nothing is written unless the whole file is valid.
pub fn run(layout: &Layout, params: &Params, name: &str) -> anyhow::Result<()> {
    let schema = params.dataset(name)?;
    let raw_path = layout.raw(schema);
    eprintln!("prepare {name}: reading {}", raw_path.display());
    let table = dataset::load(&raw_path, schema)?;
    let (train, test) = split_indices(&table, params.split.test_fraction, params.seed);
    let profile = profile(
        name,
        schema,
        &table,
        train.len(),
        test.len(),
        &params.profile.quantiles,
    );
    write_atomic(
        &layout.processed(name, "train.csv"),
        table.select(&train).to_csv(schema).as_bytes(),
    )?;
    write_atomic(
        &layout.processed(name, "test.csv"),
        table.select(&test).to_csv(schema).as_bytes(),
    )?;
    write_json(&layout.processed(name, "profile.json"), &profile)?;
    eprintln!(
        "prepare {name}: {} rows → {} train, {} test",
        table.rows(),
        train.len(),
        test.len()
    );
    Ok(())
}

fn profile(
    name: &str,
    schema: &DatasetSchema,
    table: &Table,
    train_rows: usize,
    test_rows: usize,
    quantiles: &[f64],
) -> Profile {
    let numeric_profile = |values: &[f64]| {
        let s = sorted(values);
        NumericProfile {
            summary: summarize(values),
            quantiles: quantiles
                .iter()
                .map(|&q| (format!("{q}"), quantile_sorted(&s, q)))
                .collect(),
        }
    };
    let frequencies = |values: &mut dyn Iterator<Item = String>| {
        let mut counts = BTreeMap::new();
        for v in values {
            *counts.entry(v).or_insert(0) += 1;
        }
        counts
    };
    Profile {
        dataset: name.to_string(),
        source: schema.raw.clone(),
        rows: table.rows(),
        train_rows,
        test_rows,
        numeric: schema
            .numeric_features
            .iter()
            .zip(&table.numeric)
            .map(|(n, col)| (n.clone(), numeric_profile(col)))
            .collect(),
        categorical: schema
            .categorical_features
            .iter()
            .zip(&table.categorical)
            .map(|((n, _), col)| (n.clone(), frequencies(&mut col.iter().cloned())))
            .collect(),
        target: match &table.target {
            Target::Numeric(v) => TargetProfile::Numeric(numeric_profile(v)),
            Target::Class(v) => {
                let classes = schema.classes.as_deref().unwrap_or_default();
                TargetProfile::Classes(frequencies(
                    &mut v
                        .iter()
                        .map(|&c| classes.get(c).cloned().unwrap_or_default()),
                ))
            }
        },
    }
}
