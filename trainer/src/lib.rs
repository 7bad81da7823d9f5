//! The trainer: raw CSV → validated data → linfa models → ONNX graphs → model repository.
//!
//! Stages, in pipeline order (each is a subcommand and a DVC stage):
//! [`prepare`] → [`features`] → [`housing`] / [`iris`] (train) → [`evaluate`] → [`validate`]
//! → [`publish`]. Support: [`params`], [`dataset`], [`split`], [`stats`], [`metrics`],
//! [`metadata`], [`onnx`] (graph export), [`plot`], [`layout`], [`fsutil`].

pub mod dataset;
pub mod evaluate;
pub mod features;
pub mod fsutil;
pub mod housing;
pub mod iris;
pub mod layout;
pub mod metadata;
pub mod metrics;
pub mod onnx;
pub mod params;
pub mod plot;
pub mod prepare;
pub mod publish;
pub mod split;
pub mod stats;
pub mod validate;
