//! Input discovery: what was gathered from the cluster and its nodes (support bundles, node
//! directories, cluster inventories).

pub mod agent;
pub mod cluster;
pub mod inputs;
pub mod lenient;
pub mod support;
pub mod yaml;

pub use agent::{AgentInfo, BundleError, NodeArtifacts};
pub use cluster::ClusterInfo;
pub use support::SupportBundle;
