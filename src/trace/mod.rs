//! Reconstruction: the probe's path from what was gathered on every node. [`analyze`] is the
//! entry point (scan the captures, assemble each node, reconstruct); [`reconstruct`] walks the
//! nodes ([`pass`] is one node's pass); [`simulate`] runs the probe through the dumped
//! pipelines; [`clock`] estimates clock offsets; [`phase`] decides the outcome as Antrea does.

pub mod analyze;
pub mod clock;
pub mod copies;
pub mod live;
pub mod model;
pub mod pass;
pub mod phase;
pub mod place;
pub mod reconstruct;
pub mod result;
pub mod sender;
pub mod simulate;

pub use crate::antrea::observation::{Action, Component, Evidence, NodeResult, Observation, Phase, Role};
pub use analyze::{analyze, Analysis, AnalyzeOptions, InputUse};
pub use result::{EvidenceKind, Finding, FindingKind, TraceResult};
