//! End-to-end tests of the v1 routes.
