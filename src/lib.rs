//! hoptrace: an offline Traceflow for Antrea / Open vSwitch Kubernetes clusters.
//!
//! The modules follow the data flow (DESIGN.md): [`probe`] crafts the tagged probe, [`bundle`]
//! discovers what was gathered from the cluster, [`export`] writes results; [`cli`] wires them
//! to the command line. Later stages use earlier ones, never the reverse.

pub mod addr;
pub mod antrea;
pub mod bundle;
pub mod cli;
pub mod export;
pub mod ovs;
pub mod probe;
