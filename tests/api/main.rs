//! End-to-end tests: the real server on 127.0.0.1:0 with the committed models, spoken to over
//! HTTP. One binary, one module per API family.

mod helpers;

mod audit;
mod batching;
mod connections;
mod docs;
mod drift;
mod errors;
mod metrics;
mod mlflow;
mod predict;
mod process;
mod repository;
mod server;
mod v1;
mod v2;
