//! Input discovery: what was gathered from the cluster and its nodes (support bundles, node
//! directories, cluster inventories).

pub mod cluster;

pub use cluster::ClusterInfo;
