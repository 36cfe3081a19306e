//! hoptrace: an offline Traceflow for Antrea / Open vSwitch Kubernetes clusters.
//!
//! The modules follow the data flow (DESIGN.md): [`probe`] crafts the tagged probe, [`antrea`]
//! holds what is specific to Antrea (its observation vocabulary and rules), [`bundle`] discovers
//! what was gathered from the cluster, [`trace`] decides the outcome of a path, [`export`] writes
//! results; [`cli`] wires them to the command line. Later stages use earlier ones, never the
//! reverse ([`addr`] holds the MAC type every stage shares).

pub mod addr;
pub mod antrea;
pub mod bundle;
pub mod cli;
pub mod export;
pub mod ovs;
pub mod probe;
pub mod time;
pub mod trace;
