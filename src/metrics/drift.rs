//! Drift series, read from the drift monitor at scrape time: the population stability index of
//! every feature, by model and version.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};

use super::PREFIX;

pub use crate::drift::DriftValue;

type Source = Box<dyn Fn() -> Vec<DriftValue> + Send + Sync>;

const NAME: &str = "feature_drift_psi";
const LABELS: [&str; 3] = ["model", "version", "feature"];

#[derive(Clone)]
pub(super) struct DriftCollector {
    desc: Desc,
    source: Arc<RwLock<Option<Source>>>,
}

impl DriftCollector {
    pub(super) fn new() -> prometheus::Result<DriftCollector> {
        let desc = Desc::new(
            format!("{PREFIX}_{NAME}"),
            "Population stability index of a feature's recent inputs against its training distribution.".into(),
            LABELS.iter().map(|l| (*l).to_string()).collect(),
            HashMap::new(),
        )?;
        Ok(DriftCollector {
            desc,
            source: Arc::default(),
        })
    }

    pub(super) fn set_source(&self, source: Source) {
        *self.source.write().unwrap_or_else(|e| e.into_inner()) = Some(source);
    }
}

impl Collector for DriftCollector {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let values = {
            let source = self.source.read().unwrap_or_else(|e| e.into_inner());
            source.as_ref().map(|f| f()).unwrap_or_default()
        };
        // One sample per label set: a source that repeats one keeps its last value.
        let unique: BTreeMap<(String, u64, String), f64> = values
            .into_iter()
            .map(|v| ((v.model, v.version, v.feature), v.psi))
            .collect();
        let metrics = unique
            .into_iter()
            .map(|((model, version, feature), psi)| {
                let mut gauge = Gauge::default();
                gauge.set_value(psi);
                let mut metric = Metric::from_gauge(gauge);
                metric.set_label(
                    LABELS
                        .iter()
                        .zip([model, version.to_string(), feature])
                        .map(|(name, value)| {
                            let mut pair = LabelPair::default();
                            pair.set_name((*name).to_string());
                            pair.set_value(value);
                            pair
                        })
                        .collect(),
                );
                metric
            })
            .collect();
        let mut family = MetricFamily::default();
        family.set_name(self.desc.fq_name.clone());
        family.set_help(self.desc.help.clone());
        family.set_field_type(MetricType::GAUGE);
        family.set_metric(metrics);
        vec![family]
    }
}
