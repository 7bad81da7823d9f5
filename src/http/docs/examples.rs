//! Example bodies of the OpenAPI document, written for the committed `iris` and `housing`
//! models so that "Try it" works on a server that serves them. Unit tests check each one
//! against its schema.
//!
//! The document's maps are sorted by key, so example names are chosen to sort in the order
//! the page should offer them: its first example is the one "Try it" starts with.

use serde_json::{Value, json};

use super::openapi::Example;

const IRIS_FEATURES: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

pub fn iris_record() -> Value {
    json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2})
}

fn iris_virginica() -> Value {
    json!({"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3})
}

/// The first row of the housing data.
pub fn housing_record() -> Value {
    json!({
        "lotSize": 0.09, "age": 42, "landValue": 50000, "livingArea": 906, "pctCollege": 35,
        "bedrooms": 2, "fireplaces": 1, "bathrooms": 1.0, "rooms": 5, "heating": "electric",
        "fuel": "electric", "sewer": "septic", "waterfront": "No", "newConstruction": "No",
        "centralAir": "No"
    })
}

fn example(name: &'static str, summary: &'static str, value: Value) -> Example {
    Example {
        name,
        summary,
        value,
        path: &[],
    }
}

fn for_housing(mut e: Example, parameter: &'static str) -> Example {
    e.path = match parameter {
        "model" => &[("model", "housing")],
        _ => &[("name", "housing")],
    };
    e
}

pub fn predict() -> Vec<Example> {
    vec![
        example("flower", "One iris flower", iris_record()),
        example(
            "flowers",
            "Two iris flowers in one batch",
            json!([iris_record(), iris_virginica()]),
        ),
        for_housing(
            example("house", "One house (model housing)", housing_record()),
            "model",
        ),
    ]
}

fn iris_prediction() -> Value {
    json!({
        "prediction": "setosa",
        "probabilities": {"setosa": 1.0, "versicolor": 0.0, "virginica": 0.0},
        "model": "iris",
        "version": 1
    })
}

pub fn predict_response() -> Value {
    iris_prediction()
}

/// A V2 tensor per feature, shape [rows, 1], as our models take them.
fn v2_inputs(records: &[Value]) -> Vec<Value> {
    let Some(Value::Object(first)) = records.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|(name, value)| {
            let datatype = if value.is_string() { "BYTES" } else { "FP32" };
            let data: Vec<Value> = records.iter().map(|r| r[name].clone()).collect();
            json!({"name": name, "shape": [records.len(), 1], "datatype": datatype, "data": data})
        })
        .collect()
}

pub fn v2_infer() -> Vec<Example> {
    vec![
        example(
            "flowers",
            "Two iris flowers, one FP32 [2, 1] tensor per feature",
            json!({
                "id": "request-1",
                "inputs": v2_inputs(&[iris_record(), iris_virginica()]),
                "outputs": [{"name": "label"}, {"name": "probabilities"}]
            }),
        ),
        for_housing(
            example(
                "house",
                "One house (model housing): BYTES tensors for categories",
                json!({"inputs": v2_inputs(&[housing_record()])}),
            ),
            "name",
        ),
    ]
}

pub fn v2_infer_response() -> Value {
    json!({
        "model_name": "iris",
        "model_version": "1",
        "id": "request-1",
        "outputs": [
            {"name": "label", "shape": [2], "datatype": "BYTES", "data": ["setosa", "virginica"]},
            {"name": "probabilities", "shape": [2, 3], "datatype": "FP32",
             "data": [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]}
        ]
    })
}

pub fn v2_model_metadata() -> Value {
    let inputs: Vec<Value> = IRIS_FEATURES
        .iter()
        .map(|name| json!({"name": name, "datatype": "FP32", "shape": [-1, 1]}))
        .collect();
    json!({
        "name": "iris",
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": inputs,
        "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}
        ]
    })
}

pub fn v2_model_config() -> Value {
    let inputs: Vec<Value> = IRIS_FEATURES
        .iter()
        .map(|name| json!({"name": name, "data_type": "TYPE_FP32", "dims": [1]}))
        .collect();
    json!({
        "name": "iris",
        "platform": "onnxruntime_onnx",
        "backend": "onnxruntime",
        "max_batch_size": 1024,
        "input": inputs,
        "output": [
            {"name": "label", "data_type": "TYPE_STRING", "dims": []},
            {"name": "probabilities", "data_type": "TYPE_FP32", "dims": [3]}
        ],
        "dynamic_batching": {"max_queue_delay_microseconds": 0},
        "instance_group": [{"count": 2, "kind": "KIND_CPU"}]
    })
}

pub fn v2_model_stats() -> Value {
    let tally = |count: u64, ns: u64| json!({"count": count, "ns": ns});
    json!({"model_stats": [{
        "name": "iris",
        "version": "1",
        "last_inference": 1_764_806_400_000u64,
        "inference_count": 120,
        "execution_count": 31,
        "inference_stats": {
            "success": tally(40, 2_400_000),
            "fail": tally(1, 20_000),
            "queue": tally(40, 300_000),
            "compute_input": tally(0, 0),
            "compute_infer": tally(31, 1_100_000),
            "compute_output": tally(0, 0),
            "cache_hit": tally(0, 0),
            "cache_miss": tally(0, 0)
        },
        "batch_stats": []
    }]})
}

pub fn v1_predict() -> Vec<Example> {
    let mut columns = serde_json::Map::new();
    for name in IRIS_FEATURES {
        columns.insert(
            name.to_string(),
            json!([iris_record()[name], iris_virginica()[name]]),
        );
    }
    vec![
        example(
            "instances",
            "Row format: one record per instance",
            json!({"instances": [iris_record(), iris_virginica()]}),
        ),
        example(
            "inputs",
            "Column format: feature → one value per row",
            json!({"inputs": columns}),
        ),
    ]
}

pub fn v1_predict_response() -> Value {
    json!({"predictions": [
        {"label": "setosa", "probabilities": {"setosa": 1.0, "versicolor": 0.0, "virginica": 0.0}},
        {"label": "virginica", "probabilities": {"setosa": 0.0, "versicolor": 0.0, "virginica": 1.0}}
    ]})
}

pub fn v1_status() -> Value {
    json!({"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    ]})
}

pub fn v1_metadata() -> Value {
    let tensor = |name: &str, dtype: &str, dims: &[&str]| {
        let dim: Vec<Value> = dims
            .iter()
            .map(|size| json!({"size": size, "name": ""}))
            .collect();
        json!({"name": name, "dtype": dtype, "tensor_shape": {"dim": dim, "unknown_rank": false}})
    };
    let inputs: serde_json::Map<String, Value> = IRIS_FEATURES
        .iter()
        .map(|name| (name.to_string(), tensor(name, "DT_FLOAT", &["-1", "1"])))
        .collect();
    json!({
        "model_spec": {"name": "iris", "signature_name": "", "version": "1"},
        "metadata": {"signature_def": {"signature_def": {"serving_default": {
            "inputs": inputs,
            "outputs": {
                "label": tensor("label", "DT_STRING", &["-1"]),
                "probabilities": tensor("probabilities", "DT_FLOAT", &["-1", "3"])
            },
            "method_name": "tensorflow/serving/predict"
        }}}}
    })
}

pub fn mlflow() -> Vec<Example> {
    vec![
        example(
            "dataframe_split",
            "pandas split orientation",
            json!({"dataframe_split": {
                "columns": IRIS_FEATURES,
                "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
            }}),
        ),
        example(
            "dataframe_records",
            "pandas records orientation",
            json!({"dataframe_records": [iris_record(), iris_virginica()]}),
        ),
    ]
}

pub fn mlflow_response() -> Value {
    json!({"predictions": v1_predict_response()["predictions"]})
}

pub fn health() -> Value {
    json!({
        "status": "healthy",
        "models": [{"name": "housing", "versions": [1]}, {"name": "iris", "versions": [1]}],
        "uptime_seconds": 3600.5
    })
}

pub fn models_info() -> Value {
    let inputs: Vec<Value> = IRIS_FEATURES
        .iter()
        .map(|name| json!({"name": name, "datatype": "FP32", "shape": [-1, 1]}))
        .collect();
    json!({"models": [{
        "name": "iris",
        "default_version": 1,
        "versions": [{
            "version": 1,
            "state": "READY",
            "inputs": inputs,
            "outputs": [
                {"name": "label", "datatype": "BYTES", "shape": [-1]},
                {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}
            ],
            "classes": ["setosa", "versicolor", "virginica"]
        }]
    }]})
}

pub fn server_metadata() -> Value {
    json!({"name": "prediction-api", "version": env!("CARGO_PKG_VERSION"),
           "extensions": ["binary_tensor_data"]})
}

pub fn repository_index() -> Vec<Example> {
    vec![
        example("all", "Every model and version", json!({})),
        example("ready", "Only the ready ones", json!({"ready": true})),
    ]
}

pub fn repository_index_response() -> Value {
    json!([
        {"name": "housing", "version": "1", "state": "READY", "reason": ""},
        {"name": "iris", "version": "1", "state": "READY", "reason": ""},
        {"name": "uploaded", "version": "1", "state": "UNAVAILABLE", "reason": "unloaded"}
    ])
}

pub fn repository_load() -> Vec<Example> {
    vec![
        example(
            "disk",
            "Load or reload from the repository folder",
            json!({}),
        ),
        example(
            "upload",
            "Upload a model: config.json as a string, files as base64",
            json!({"parameters": {
                "config": "{\"allow_non_finite\": false}",
                "file:1/model.onnx": "CAoSB3NrbDJvbm54"
            }}),
        ),
    ]
}

pub fn repository_unload() -> Vec<Example> {
    vec![example(
        "unload",
        "What tritonclient sends",
        json!({"parameters": {"unload_dependents": false}}),
    )]
}
