//! Conformance suites (feature `testkit`).
pub mod provider;
pub mod store;
