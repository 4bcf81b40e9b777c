//! Helpers shared by the integration tests (`mod common;` in each test file).
//! Each test file uses only some of them.

#![allow(dead_code)]

#[allow(unused_imports)]
pub use bitmapist_test_support::{redis_cluster, redis_server};
pub mod store_cases;
