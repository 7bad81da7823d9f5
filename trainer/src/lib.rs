//! The trainer: raw CSV → validated data → linfa models → ONNX graphs → model repository.
//!
//! One module per pipeline concern; `main.rs` maps each DVC stage to one subcommand.

pub mod onnx;
pub mod plot;
