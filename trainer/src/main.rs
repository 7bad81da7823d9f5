//! `trainer`: one subcommand per pipeline stage (dvc.yaml calls them), plus `all`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use trainer::layout::{DATASETS, Layout};
use trainer::params::Params;
use trainer::{evaluate, features, housing, iris, prepare, publish, validate};

/// Trains the Housing and Iris models with linfa and exports them as ONNX graphs.
#[derive(Debug, Parser)]
#[command(name = "trainer", version, about)]
struct Cli {
    /// Project root: params.yaml, data/, artifacts/ and models/ are resolved from here.
    #[arg(long, default_value = ".", global = true)]
    root: PathBuf,
    #[command(subcommand)]
    stage: Stage,
}

#[derive(Debug, Subcommand)]
enum Stage {
    /// Validate the raw CSVs against params.yaml, split them, write the splits and a profile.
    Prepare { datasets: Vec<Dataset> },
    /// Fit the preprocessing (scaling, vocabularies, drift references) on the training split.
    Features { datasets: Vec<Dataset> },
    /// Fit a model and export its ONNX graph to artifacts/<name>/.
    Train { dataset: Dataset },
    /// Measure the models on the test split: models/<name>/metrics.json and a chart.
    Evaluate { datasets: Vec<Dataset> },
    /// Run every test row through ONNX Runtime and compare with linfa; fail on any difference.
    Validate { datasets: Vec<Dataset> },
    /// Place validated models in models/<name>/<version>/ (a new version only if changed).
    Publish { datasets: Vec<Dataset> },
    /// Every stage, in order.
    All,
    /// Write the JSON Schema of metadata.json to schemas/model-metadata.schema.json.
    Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Dataset {
    Housing,
    Iris,
}

impl Dataset {
    fn name(self) -> &'static str {
        match self {
            Dataset::Housing => housing::NAME,
            Dataset::Iris => iris::NAME,
        }
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("trainer: {e:#}");
        std::process::exit(1);
    }
}

fn selected(datasets: Vec<Dataset>) -> Vec<Dataset> {
    if datasets.is_empty() {
        vec![Dataset::Housing, Dataset::Iris]
    } else {
        datasets
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let layout = Layout::new(cli.root);
    if let Stage::Schema = cli.stage {
        let path = layout
            .root()
            .join(prediction_api::contract::schema::METADATA_SCHEMA_PATH);
        return trainer::fsutil::write_atomic(
            &path,
            prediction_api::contract::schema::metadata_schema_json().as_bytes(),
        );
    }
    let params = Params::load(&layout.params())?;
    match cli.stage {
        Stage::Prepare { datasets } => selected(datasets)
            .into_iter()
            .try_for_each(|d| prepare::run(&layout, &params, d.name())),
        Stage::Features { datasets } => selected(datasets)
            .into_iter()
            .try_for_each(|d| features::run(&layout, &params, d.name())),
        Stage::Train { dataset } => train(&layout, &params, dataset),
        Stage::Evaluate { datasets } => selected(datasets)
            .into_iter()
            .try_for_each(|d| evaluate(&layout, &params, d)),
        Stage::Validate { datasets } => selected(datasets)
            .into_iter()
            .try_for_each(|d| validate(&layout, &params, d)),
        Stage::Publish { datasets } => selected(datasets)
            .into_iter()
            .try_for_each(|d| publish::run(&layout, d.name())),
        Stage::All => {
            for name in DATASETS {
                prepare::run(&layout, &params, name)?;
                features::run(&layout, &params, name)?;
            }
            for d in [Dataset::Housing, Dataset::Iris] {
                train(&layout, &params, d)?;
                evaluate(&layout, &params, d)?;
                validate(&layout, &params, d)?;
                publish::run(&layout, d.name())?;
            }
            Ok(())
        }
        Stage::Schema => Ok(()),
    }
}

fn train(layout: &Layout, params: &Params, dataset: Dataset) -> anyhow::Result<()> {
    match dataset {
        Dataset::Housing => housing::run(layout, params),
        Dataset::Iris => iris::run(layout, params),
    }
}

fn evaluate(layout: &Layout, params: &Params, dataset: Dataset) -> anyhow::Result<()> {
    match dataset {
        Dataset::Housing => evaluate::run_housing(layout, params),
        Dataset::Iris => evaluate::run_iris(layout, params),
    }
}

fn validate(layout: &Layout, params: &Params, dataset: Dataset) -> anyhow::Result<()> {
    match dataset {
        Dataset::Housing => validate::run_housing(layout, params),
        Dataset::Iris => validate::run_iris(layout, params),
    }
}
