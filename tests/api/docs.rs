//! End-to-end tests of the docs routes.
