//! Helpers shared by the integration tests (`mod common;` in each test file).
//! Each test file uses only some of them.

#![allow(dead_code)]

pub mod redis_cluster;
pub mod redis_server;
pub mod store_cases;
