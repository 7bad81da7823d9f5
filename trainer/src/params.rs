//! `params.yaml`: the data contract of each dataset and every hyperparameter of the pipeline.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The whole `params.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub seed: u64,
    pub split: SplitParams,
    pub datasets: BTreeMap<String, DatasetSchema>,
    pub profile: ProfileParams,
    pub drift: DriftParams,
    pub housing: HousingParams,
    pub iris: IrisParams,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitParams {
    pub test_fraction: f64,
    pub validation_fraction: f64,
}

/// What a raw CSV must contain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSchema {
    /// Path of the raw CSV, relative to the project root.
    pub raw: String,
    pub target: String,
    pub task: TaskKind,
    pub numeric_features: Vec<String>,
    /// Categorical feature → allowed values. Kept in file order (graph input order).
    #[serde(with = "ordered_map")]
    pub categorical_features: Vec<(String, Vec<String>)>,
    /// Allowed target values (classification), in probability-column order.
    #[serde(default)]
    pub classes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    Regression,
    Classification,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileParams {
    pub quantiles: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftParams {
    pub numeric_bins: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HousingParams {
    pub candidates: Vec<LinearCandidate>,
}

/// One regression model to try.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearCandidate {
    pub name: String,
    pub kind: LinearKind,
    /// Fit on ln(target) and predict exp(·).
    pub log_target: bool,
    #[serde(default)]
    pub penalty: Option<f64>,
    #[serde(default)]
    pub l1_ratio: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearKind {
    Ols,
    ElasticNet,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrisParams {
    pub split_quality: SplitQualityParam,
    pub max_depth: usize,
    pub min_weight_split: f32,
    pub min_weight_leaf: f32,
    pub min_impurity_decrease: f64,
    pub fits: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitQualityParam {
    Gini,
    Entropy,
}

impl Params {
    /// Reads and checks `params.yaml`.
    pub fn load(path: &Path) -> anyhow::Result<Params> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let params: Params = serde_yaml::from_str(&text)
            .with_context(|| format!("{} is not valid", path.display()))?;
        params
            .check()
            .with_context(|| format!("{} is not valid", path.display()))?;
        Ok(params)
    }

    fn check(&self) -> anyhow::Result<()> {
        let fraction_ok = |f: f64| f > 0.0 && f < 1.0;
        if !fraction_ok(self.split.test_fraction) || !fraction_ok(self.split.validation_fraction) {
            bail!("split fractions must be between 0 and 1 (exclusive)");
        }
        for (name, schema) in &self.datasets {
            if schema.task == TaskKind::Classification
                && schema.classes.as_ref().is_none_or(Vec::is_empty)
            {
                bail!("datasets.{name}: a classification dataset lists its classes");
            }
            if schema.numeric_features.is_empty() && schema.categorical_features.is_empty() {
                bail!("datasets.{name}: no features");
            }
        }
        if self.housing.candidates.is_empty() {
            bail!("housing.candidates is empty");
        }
        if self.iris.fits == 0 {
            bail!("iris.fits must be at least 1");
        }
        if self.drift.numeric_bins < 2 {
            bail!("drift.numeric_bins must be at least 2");
        }
        Ok(())
    }

    /// The schema of dataset `name`.
    pub fn dataset(&self, name: &str) -> anyhow::Result<&DatasetSchema> {
        self.datasets
            .get(name)
            .with_context(|| format!("params.yaml declares no dataset `{name}`"))
    }
}

impl DatasetSchema {
    /// Every feature name in graph-input order: numeric first, then categorical.
    pub fn feature_names(&self) -> impl Iterator<Item = &str> {
        self.numeric_features
            .iter()
            .map(String::as_str)
            .chain(self.categorical_features.iter().map(|(n, _)| n.as_str()))
    }
}

/// A YAML mapping kept in file order (serde_yaml gives maps in order; a `BTreeMap` would sort).
mod ordered_map {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    type Entries = Vec<(String, Vec<String>)>;

    pub fn serialize<S: Serializer>(entries: &Entries, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(entries.len()))?;
        for (k, v) in entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Entries, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping of feature name to allowed values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = access.next_entry::<String, Vec<String>>()? {
                    entries.push((k, v));
                }
                Ok(entries)
            }
        }
        d.deserialize_map(OrderedVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_params_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../params.yaml");
        let params = Params::load(&path).expect("params.yaml is valid");
        let housing = params.dataset("housing").expect("housing");
        assert_eq!(
            housing.numeric_features.len() + housing.categorical_features.len(),
            15
        );
        assert_eq!(
            housing.categorical_features[0].0, "heating",
            "file order is kept"
        );
        assert_eq!(
            params
                .dataset("iris")
                .expect("iris")
                .feature_names()
                .count(),
            4
        );
    }
}
