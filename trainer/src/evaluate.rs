//! Stage `evaluate`: metrics of the linfa models on the held-out test split, written as DVC
//! metrics files, and a chart per model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dataset::{self, Target};
use crate::features::Preprocessing;
use crate::fsutil::{read_json, write_json};
use crate::layout::Layout;
use crate::metrics::{classification_metrics, regression_metrics};
use crate::params::Params;
use crate::{housing, iris, plot};

/// `models/<name>/metrics.json`: name → value, plus the confusion matrix for classifiers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricsFile {
    pub test_rows: usize,
    #[serde(flatten)]
    pub values: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confusion_matrix: Option<Vec<Vec<usize>>>,
}

impl MetricsFile {
    pub fn load(layout: &Layout, name: &str) -> anyhow::Result<MetricsFile> {
        read_json(&layout.repository(name).join("metrics.json"))
    }
}

pub fn run_housing(layout: &Layout, params: &Params) -> anyhow::Result<()> {
    let name = housing::NAME;
    let test = dataset::load(&layout.processed(name, "test.csv"), params.dataset(name)?)?;
    let pre = Preprocessing::load(layout, name)?;
    let predicted = housing::load_model(layout)?.predict(&pre, &test)?;
    let Target::Numeric(actual) = &test.target else {
        anyhow::bail!("the housing target must be numeric");
    };
    let m = regression_metrics(actual, &predicted);
    let dir = layout.repository(name);
    std::fs::create_dir_all(&dir)?;
    plot::predicted_vs_actual(
        &dir.join("predicted_vs_actual.png"),
        &format!(
            "Housing price, test split: R² {:.3}, RMSE ${:.0}",
            m.r2, m.rmse
        ),
        "price (USD)",
        actual,
        &predicted,
    )?;
    let values = BTreeMap::from([
        ("rmse".to_string(), m.rmse),
        ("mae".to_string(), m.mae),
        ("r2".to_string(), m.r2),
    ]);
    write_json(
        &dir.join("metrics.json"),
        &MetricsFile {
            test_rows: test.rows(),
            values,
            confusion_matrix: None,
        },
    )?;
    eprintln!(
        "evaluate housing: RMSE {:.1}, MAE {:.1}, R² {:.4} on {} test rows",
        m.rmse,
        m.mae,
        m.r2,
        test.rows()
    );
    Ok(())
}

pub fn run_iris(layout: &Layout, params: &Params) -> anyhow::Result<()> {
    let name = iris::NAME;
    let schema = params.dataset(name)?;
    let classes = schema.classes.clone().unwrap_or_default();
    let test = dataset::load(&layout.processed(name, "test.csv"), schema)?;
    let predicted = iris::load_model(layout)?.predict(&test)?;
    let Target::Class(actual) = &test.target else {
        anyhow::bail!("the iris target must be a class");
    };
    let m = classification_metrics(actual, &predicted, classes.len());
    let dir = layout.repository(name);
    std::fs::create_dir_all(&dir)?;
    plot::confusion_matrix(
        &dir.join("confusion_matrix.png"),
        &format!(
            "Iris species, test split: accuracy {:.3}, macro-F1 {:.3}",
            m.accuracy, m.macro_f1
        ),
        &classes,
        &m.confusion,
    )?;
    let values = BTreeMap::from([
        ("accuracy".to_string(), m.accuracy),
        ("macro_f1".to_string(), m.macro_f1),
    ]);
    write_json(
        &dir.join("metrics.json"),
        &MetricsFile {
            test_rows: test.rows(),
            values,
            confusion_matrix: Some(m.confusion.clone()),
        },
    )?;
    eprintln!(
        "evaluate iris: accuracy {:.4}, macro-F1 {:.4} on {} test rows",
        m.accuracy,
        m.macro_f1,
        test.rows()
    );
    Ok(())
}
