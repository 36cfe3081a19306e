//! Reconstruction: how the outcome of a traced path is decided (and, with the simulator and the
//! captures, the path itself).

pub mod phase;

pub use crate::antrea::observation::{Action, Component, Evidence, NodeResult, Observation, Phase, Role};
