//! The linear regression graph: scaling and one-hot encoding inside the graph, then `MatMul + Add`.
//!
//! ```text
//! numeric inputs  ─ Concat ─ Sub(mean) ─ Div(scale) ─┐
//! categorical c_j ─ Equal([1,K_j] categories) ─ Cast ─┼─ Concat ─ MatMul(coef) ─ Add(intercept) ─ [Exp] ─ variable
//! ```
//!
//! Only standard operators are used, so the graph runs anywhere ONNX does. Everything inside is
//! `float` (f32): the parameters are rounded from f64 once, here.

use std::collections::HashSet;

use super::OnnxExportError;
use super::builder::{
    Dim, attr_int, check_graph, dim, encode, float_tensor, model, node, string_tensor, tensor_value,
};
use super::proto::{DataType, GraphProto, NodeProto, TensorProto, ValueInfoProto};

/// The name of the graph's single output: the prediction, `[N, 1]` float.
pub const LINEAR_OUTPUT: &str = "variable";

/// A numeric feature, standardised in the graph as `x' = (x - mean) / scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericInput {
    pub name: String,
    pub mean: f64,
    pub scale: f64,
}

/// A categorical feature, one-hot encoded in the graph: one column per listed category. The
/// reference category is not listed; it and any value never seen in training encode as all
/// zeros, i.e. they get the intercept's baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalInput {
    pub name: String,
    pub categories: Vec<String>,
}

/// How the linear part maps to the predicted value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetTransform {
    /// The model was fitted on the target itself.
    Identity,
    /// The model was fitted on `ln(target)`: the output is `exp(linear part)`.
    Exp,
}

/// Everything the linear regression graph is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearGraphSpec {
    pub graph_name: String,
    pub doc: String,
    pub numeric: Vec<NumericInput>,
    pub categorical: Vec<CategoricalInput>,
    /// One per column: the numeric columns first, then each categorical's columns in order.
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    pub target_transform: TargetTransform,
    /// Written to the model's `metadata_props`, in this order.
    pub metadata_props: Vec<(String, String)>,
}

/// Builds the linear regression model and returns its ONNX bytes.
///
/// Inputs: one `[N, 1]` tensor per feature in spec order, numeric ones `float`, categorical
/// ones `string`. Output: [`LINEAR_OUTPUT`], `[N, 1]` float.
pub fn linear_regression_graph(spec: &LinearGraphSpec) -> Result<Vec<u8>, OnnxExportError> {
    validate(spec)?;
    let graph = graph(spec);
    check_graph(&graph, &spec.metadata_props)?;
    Ok(encode(&model(graph, &spec.doc, &spec.metadata_props)))
}

fn graph(spec: &LinearGraphSpec) -> GraphProto {
    let mut parts = Parts::default();
    // The [N, k] blocks concatenated into the design matrix, in coefficient order.
    let mut blocks: Vec<String> = Vec::new();
    if !spec.numeric.is_empty() {
        blocks.push(parts.standardised(&spec.numeric));
    }
    for categorical in &spec.categorical {
        blocks.push(parts.one_hot(categorical));
    }
    parts.linear(spec, &blocks);
    GraphProto {
        node: parts.node,
        name: Some(spec.graph_name.clone()),
        initializer: parts.initializer,
        doc_string: Some(spec.doc.clone()),
        input: parts.input,
        output: vec![tensor_value(LINEAR_OUTPUT, DataType::Float, &COLUMN)],
        value_info: vec![],
        sparse_initializer: vec![],
    }
}

/// The shape of every input column and of the output.
const COLUMN: [Dim; 2] = [Dim::Batch, Dim::Fixed(1)];

/// The graph under construction, in the order its pieces are added.
#[derive(Default)]
struct Parts {
    input: Vec<ValueInfoProto>,
    initializer: Vec<TensorProto>,
    node: Vec<NodeProto>,
}

impl Parts {
    /// A standard operator without attributes.
    fn op(&mut self, op_type: &str, name: &str, inputs: &[&str], output: &str) {
        self.node
            .push(node(op_type, "", name, inputs, &[output], vec![]));
    }

    /// All numeric inputs as one `[N, n]` block, standardised with one broadcast `Sub` and `Div`.
    fn standardised(&mut self, numeric: &[NumericInput]) -> String {
        let names: Vec<&str> = numeric.iter().map(|n| n.name.as_str()).collect();
        for name in &names {
            self.input
                .push(tensor_value(name, DataType::Float, &COLUMN));
        }
        let width = [1, dim(names.len())];
        let means = numeric.iter().map(|n| n.mean as f32).collect();
        let scales = numeric.iter().map(|n| n.scale as f32).collect();
        self.initializer
            .push(float_tensor("numeric_mean", &width, means));
        self.initializer
            .push(float_tensor("numeric_scale", &width, scales));
        self.node
            .push(concat("numeric_concat", &names, "numeric_raw"));
        self.op(
            "Sub",
            "numeric_center",
            &["numeric_raw", "numeric_mean"],
            "numeric_centered",
        );
        self.op(
            "Div",
            "numeric_standardise",
            &["numeric_centered", "numeric_scale"],
            "numeric_scaled",
        );
        "numeric_scaled".into()
    }

    /// One categorical input as an `[N, K]` block of 0/1 columns.
    fn one_hot(&mut self, categorical: &CategoricalInput) -> String {
        let name = categorical.name.as_str();
        self.input
            .push(tensor_value(name, DataType::String, &COLUMN));
        let categories = format!("{name}_categories");
        let equal = format!("{name}_equal");
        let onehot = format!("{name}_onehot");
        let width = [1, dim(categorical.categories.len())];
        self.initializer
            .push(string_tensor(&categories, &width, &categorical.categories));
        // [N, 1] == [1, K] broadcasts to [N, K]: one boolean column per listed category, all
        // false for the reference category and for values never seen in training.
        self.op("Equal", &equal, &[name, &categories], &equal);
        let to_float = attr_int("to", i64::from(DataType::Float as i32));
        self.node.push(node(
            "Cast",
            "",
            &onehot,
            &[&equal],
            &[&onehot],
            vec![to_float],
        ));
        onehot
    }

    /// The design matrix times the coefficients plus the intercept, then the target transform.
    fn linear(&mut self, spec: &LinearGraphSpec, blocks: &[String]) {
        let blocks: Vec<&str> = blocks.iter().map(String::as_str).collect();
        self.node.push(concat("design_concat", &blocks, "design"));
        let coefficients: Vec<f32> = spec.coefficients.iter().map(|c| *c as f32).collect();
        let shape = [dim(coefficients.len()), 1];
        self.initializer
            .push(float_tensor("coefficients", &shape, coefficients));
        self.initializer
            .push(float_tensor("intercept", &[1], vec![spec.intercept as f32]));
        self.op(
            "MatMul",
            "linear_matmul",
            &["design", "coefficients"],
            "linear_product",
        );
        match spec.target_transform {
            TargetTransform::Identity => {
                self.op(
                    "Add",
                    "linear_add",
                    &["linear_product", "intercept"],
                    LINEAR_OUTPUT,
                );
            }
            TargetTransform::Exp => {
                self.op(
                    "Add",
                    "linear_add",
                    &["linear_product", "intercept"],
                    "linear_log",
                );
                self.op("Exp", "target_exp", &["linear_log"], LINEAR_OUTPUT);
            }
        }
    }
}

fn concat(name: &str, inputs: &[&str], output: &str) -> NodeProto {
    node(
        "Concat",
        "",
        name,
        inputs,
        &[output],
        vec![attr_int("axis", 1)],
    )
}

fn validate(spec: &LinearGraphSpec) -> Result<(), OnnxExportError> {
    let invalid = |reason: String| OnnxExportError::InvalidSpec {
        graph: spec.graph_name.clone(),
        reason,
    };
    if spec.numeric.is_empty() && spec.categorical.is_empty() {
        return Err(invalid("the model has no input features".into()));
    }
    let names = spec
        .numeric
        .iter()
        .map(|n| &n.name)
        .chain(spec.categorical.iter().map(|c| &c.name));
    let mut seen = HashSet::new();
    for name in names {
        if name.is_empty() {
            return Err(invalid("an input name is empty".into()));
        }
        if !seen.insert(name) {
            return Err(invalid(format!("input {name:?} appears twice")));
        }
    }
    for n in &spec.numeric {
        finite_f32(n.mean, || format!("the mean of {:?}", n.name)).map_err(invalid)?;
        finite_f32(n.scale, || format!("the scale of {:?}", n.name)).map_err(invalid)?;
        if n.scale as f32 == 0.0 {
            return Err(invalid(format!("the scale of {:?} is zero", n.name)));
        }
    }
    for c in &spec.categorical {
        if c.categories.is_empty() {
            return Err(invalid(format!(
                "categorical input {:?} lists no category",
                c.name
            )));
        }
        let mut categories = HashSet::new();
        if let Some(dup) = c.categories.iter().find(|cat| !categories.insert(*cat)) {
            return Err(invalid(format!(
                "categorical input {:?} lists {dup:?} twice",
                c.name
            )));
        }
    }
    let columns = spec.numeric.len()
        + spec
            .categorical
            .iter()
            .map(|c| c.categories.len())
            .sum::<usize>();
    if spec.coefficients.len() != columns {
        return Err(invalid(format!(
            "{} coefficients for {columns} columns ({} numeric + the listed categories)",
            spec.coefficients.len(),
            spec.numeric.len()
        )));
    }
    for (i, c) in spec.coefficients.iter().enumerate() {
        finite_f32(*c, || format!("coefficient {i}")).map_err(invalid)?;
    }
    finite_f32(spec.intercept, || "the intercept".into()).map_err(invalid)?;
    Ok(())
}

/// The graph computes in f32: a value must stay finite after rounding to it.
fn finite_f32(value: f64, what: impl FnOnce() -> String) -> Result<(), String> {
    if (value as f32).is_finite() {
        Ok(())
    } else {
        Err(format!("{} is {value}, not a finite f32", what()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::{ModelProto, TensorProto};
    use crate::onnx::test_support::{
        assert_close, floats, run_floats, session, signature, strings,
    };
    use prediction_api::runtime::ort::value::TensorElementType;
    use prost::Message;

    fn initializers(bytes: &[u8]) -> Vec<TensorProto> {
        let model = ModelProto::decode(bytes).expect("our own bytes decode");
        model.graph.expect("a graph").initializer
    }

    fn housing() -> LinearGraphSpec {
        LinearGraphSpec {
            graph_name: "housing".into(),
            doc: "Price from area, rooms and city.".into(),
            numeric: vec![
                NumericInput {
                    name: "area".into(),
                    mean: 100.0,
                    scale: 50.0,
                },
                NumericInput {
                    name: "rooms".into(),
                    mean: 3.0,
                    scale: 1.0,
                },
            ],
            categorical: vec![CategoricalInput {
                name: "city".into(),
                // "nice" is the reference category.
                categories: vec!["paris".into(), "lyon".into()],
            }],
            coefficients: vec![2.0, -1.0, 10.0, 5.0],
            intercept: 100.0,
            target_transform: TargetTransform::Identity,
            metadata_props: vec![
                ("target".into(), "price".into()),
                ("model".into(), "ols".into()),
            ],
        }
    }

    /// The same computation in f64, written independently of the graph.
    fn expected(spec: &LinearGraphSpec, area: f64, rooms: f64, city: &str) -> f64 {
        let numeric = [(area - 100.0) / 50.0, rooms - 3.0];
        let onehot = [f64::from(city == "paris"), f64::from(city == "lyon")];
        let linear: f64 = numeric
            .iter()
            .chain(&onehot)
            .zip(&spec.coefficients)
            .map(|(x, c)| x * c)
            .sum::<f64>()
            + spec.intercept;
        match spec.target_transform {
            TargetTransform::Identity => linear,
            TargetTransform::Exp => linear.exp(),
        }
    }

    const AREAS: [f32; 4] = [150.0, 100.0, 50.0, 200.0];
    const ROOMS: [f32; 4] = [4.0, 3.0, 2.0, 5.0];
    // A known category, the reference one, one never seen, and the other known one.
    const CITIES: [&str; 4] = ["paris", "nice", "tokyo", "lyon"];

    fn predict(spec: &LinearGraphSpec) -> (Vec<i64>, Vec<f32>) {
        let bytes = linear_regression_graph(spec).expect("a valid spec");
        let mut session = session(&bytes);
        let inputs = vec![
            ("area", floats(&AREAS)),
            ("rooms", floats(&ROOMS)),
            ("city", strings(&CITIES)),
        ];
        run_floats(&mut session, inputs, LINEAR_OUTPUT)
    }

    #[test]
    fn predictions_match_the_hand_computed_values() {
        let spec = housing();
        let (shape, values) = predict(&spec);
        assert_eq!(shape, vec![4, 1]);
        // By hand: paris 2 - 1 + 10 + 100; nice is the baseline; tokyo scores like nice;
        // lyon 4 - 2 + 5 + 100.
        assert_close(&values, &[111.0, 100.0, 99.0, 107.0], 1e-6);
        let independent: Vec<f64> = (0..4)
            .map(|i| expected(&spec, f64::from(AREAS[i]), f64::from(ROOMS[i]), CITIES[i]))
            .collect();
        assert_close(&values, &independent, 1e-6);
    }

    #[test]
    fn the_exp_transform_exponentiates_the_linear_part() {
        let spec = LinearGraphSpec {
            coefficients: vec![0.2, -0.1, 0.5, 0.25],
            intercept: 11.0,
            target_transform: TargetTransform::Exp,
            ..housing()
        };
        let (shape, values) = predict(&spec);
        assert_eq!(shape, vec![4, 1]);
        let expected: Vec<f64> = (0..4)
            .map(|i| expected(&spec, f64::from(AREAS[i]), f64::from(ROOMS[i]), CITIES[i]))
            .collect();
        assert!(
            (expected[1] - 11f64.exp()).abs() < 1e-6,
            "the reference row is exp(intercept)"
        );
        assert_close(&values, &expected, 1e-5);
    }

    #[test]
    fn the_signature_is_one_column_per_feature_and_one_float_output() {
        let bytes = linear_regression_graph(&housing()).expect("a valid spec");
        let session = session(&bytes);
        let batch = || vec!["N".to_string(), String::new()];
        assert_eq!(
            signature(session.inputs()),
            vec![
                (
                    "area".into(),
                    TensorElementType::Float32,
                    vec![-1, 1],
                    batch()
                ),
                (
                    "rooms".into(),
                    TensorElementType::Float32,
                    vec![-1, 1],
                    batch()
                ),
                (
                    "city".into(),
                    TensorElementType::String,
                    vec![-1, 1],
                    batch()
                ),
            ]
        );
        assert_eq!(
            signature(session.outputs()),
            vec![(
                LINEAR_OUTPUT.into(),
                TensorElementType::Float32,
                vec![-1, 1],
                batch()
            )]
        );
        let metadata = session.metadata().expect("metadata");
        assert_eq!(metadata.custom("target").as_deref(), Some("price"));
        assert_eq!(metadata.custom("model").as_deref(), Some("ols"));
        assert_eq!(
            metadata.description().as_deref(),
            Some("Price from area, rooms and city.")
        );
    }

    #[test]
    fn numeric_only_and_categorical_only_graphs_run() {
        let numeric_only = LinearGraphSpec {
            categorical: vec![],
            coefficients: vec![2.0, -1.0],
            ..housing()
        };
        let mut s = session(&linear_regression_graph(&numeric_only).expect("valid"));
        let (_, values) = run_floats(
            &mut s,
            vec![("area", floats(&AREAS)), ("rooms", floats(&ROOMS))],
            LINEAR_OUTPUT,
        );
        assert_close(&values, &[101.0, 100.0, 99.0, 102.0], 1e-6);

        let categorical_only = LinearGraphSpec {
            numeric: vec![],
            coefficients: vec![10.0, 5.0],
            ..housing()
        };
        let mut s = session(&linear_regression_graph(&categorical_only).expect("valid"));
        let (_, values) = run_floats(&mut s, vec![("city", strings(&CITIES))], LINEAR_OUTPUT);
        assert_close(&values, &[110.0, 100.0, 100.0, 105.0], 1e-6);
    }

    #[test]
    fn the_same_spec_encodes_to_the_same_bytes() {
        let first = linear_regression_graph(&housing()).expect("valid");
        let second = linear_regression_graph(&housing().clone()).expect("valid");
        assert_eq!(first, second);
        let other = LinearGraphSpec {
            intercept: 101.0,
            ..housing()
        };
        assert_ne!(first, linear_regression_graph(&other).expect("valid"));
    }

    #[test]
    fn parameters_are_stored_as_f32_in_column_order() {
        let bytes = linear_regression_graph(&housing()).expect("valid");
        let by_name = |name: &str| {
            initializers(&bytes)
                .into_iter()
                .find(|t| t.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("initializer {name}"))
        };
        let coefficients = by_name("coefficients");
        assert_eq!(coefficients.dims, vec![4, 1]);
        assert_eq!(coefficients.float_data, vec![2.0, -1.0, 10.0, 5.0]);
        let categories = by_name("city_categories");
        assert_eq!(categories.dims, vec![1, 2]);
        assert_eq!(
            categories.string_data,
            vec![b"paris".to_vec(), b"lyon".to_vec()]
        );
    }

    fn error_of(spec: &LinearGraphSpec) -> String {
        linear_regression_graph(spec)
            .expect_err("an invalid spec")
            .to_string()
    }

    #[test]
    fn invalid_specs_are_refused_with_a_reason() {
        let wrong_count = LinearGraphSpec {
            coefficients: vec![1.0; 3],
            ..housing()
        };
        assert!(
            error_of(&wrong_count).contains("3 coefficients for 4 columns"),
            "{}",
            error_of(&wrong_count)
        );

        let mut nan_mean = housing();
        nan_mean.numeric[0].mean = f64::NAN;
        assert!(error_of(&nan_mean).contains("mean of \"area\""));

        let mut zero_scale = housing();
        zero_scale.numeric[1].scale = 0.0;
        assert!(error_of(&zero_scale).contains("scale of \"rooms\" is zero"));

        let huge = LinearGraphSpec {
            intercept: 1e300,
            ..housing()
        };
        assert!(error_of(&huge).contains("intercept"));

        let mut inf_coefficient = housing();
        inf_coefficient.coefficients[2] = f64::INFINITY;
        assert!(error_of(&inf_coefficient).contains("coefficient 2"));

        let mut empty_name = housing();
        empty_name.categorical[0].name.clear();
        assert!(error_of(&empty_name).contains("empty"));

        let mut duplicate = housing();
        duplicate.categorical[0].name = "area".into();
        assert!(error_of(&duplicate).contains("\"area\" appears twice"));

        let mut duplicate_category = housing();
        duplicate_category.categorical[0].categories = vec!["paris".into(), "paris".into()];
        assert!(error_of(&duplicate_category).contains("\"paris\" twice"));

        let mut no_category = housing();
        no_category.categorical[0].categories.clear();
        no_category.coefficients.truncate(2);
        assert!(error_of(&no_category).contains("no category"));

        let none = LinearGraphSpec {
            numeric: vec![],
            categorical: vec![],
            coefficients: vec![],
            ..housing()
        };
        assert!(error_of(&none).contains("no input features"));

        let unnamed = LinearGraphSpec {
            graph_name: String::new(),
            ..housing()
        };
        assert!(error_of(&unnamed).contains("graph name is empty"));

        let mut collides = housing();
        collides.numeric[0].name = LINEAR_OUTPUT.into();
        assert!(error_of(&collides).contains("defined twice"));

        let mut repeated_key = housing();
        repeated_key
            .metadata_props
            .push(("target".into(), "again".into()));
        assert!(error_of(&repeated_key).contains("\"target\" appears twice"));
    }
}
