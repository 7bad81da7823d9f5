//! ONNX graphs written from Rust: protobuf messages and graph builders for our models.
