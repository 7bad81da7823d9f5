//! End-to-end tests of the v2 routes.
