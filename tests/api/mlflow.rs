//! End-to-end tests of the mlflow routes.
