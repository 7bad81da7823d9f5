//! Tensors on the wire: KServe V2 JSON and Triton binary tensor data, decoded and encoded.
