//! prediction-api: an ML prediction service on ONNX Runtime.
//!
//! Reading order (the codemap in ARCHITECTURE.md says more):
//! - [`config`]: every setting, parsed once from flags and environment.
//! - [`contract`]: what a served model is: metadata, tensor signatures, datatypes. The trainer
//!   produces to these types.
//! - [`runtime`]: the only module that speaks to ONNX Runtime: library loading and sessions.
//! - [`audit`]: the SQLite audit trail of predictions; [`drift`]: feature drift (PSI).
//! - [`app`]: wiring: builds the HTTP application from a [`config::Config`].

pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod contract;
pub mod drift;
pub mod events;
pub mod graph;
pub mod http;
pub mod inference;
pub mod metrics;
pub mod repository;
pub mod runtime;
pub mod serve;
pub mod telemetry;
pub mod tensor;
