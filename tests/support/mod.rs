//! Helpers shared by integration tests.

#![allow(dead_code)]

pub mod corpus;
pub mod ovs_sandbox;
