//! Reconstruction: how the outcome of a traced path is decided (and, with the simulator and the
//! captures, the path itself).

pub mod clock;
pub mod phase;
pub mod reconstruct;
pub mod result;
pub mod simulate;

pub use crate::antrea::observation::{Action, Component, Evidence, NodeResult, Observation, Phase, Role};
pub use result::{Finding, TraceResult};
