//! The contract between the trainer, the model repository and the server: model metadata,
//! tensor signatures and datatypes. Only plain data lives here; no I/O, no ONNX Runtime.

mod config;
mod datatype;
mod metadata;
pub mod schema;

pub use config::{BatchingConfig, ModelConfig};
pub use datatype::DataType;
pub use metadata::{
    FeatureSpec, FeatureType, METADATA_SCHEMA_VERSION, ModelMetadata, ReferenceDistribution, Task,
    TensorSpec, TrainingData,
};
