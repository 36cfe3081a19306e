//! The whole result of an analysis: Antrea's Traceflow status shape (`phase`, `reason`,
//! `dataplaneTag`, `results`) plus, alongside, what hoptrace adds (endpoints, clock offsets,
//! findings where the simulation and the captures disagree, inputs that were missing or bad).

use super::clock::ClockEstimate;
use crate::antrea::observation::{NodeResult, Phase};
use serde::{Deserialize, Serialize};

/// The value of `schema` in hoptrace's result documents.
pub const RESULT_SCHEMA: &str = "hoptrace.result/v1";

/// Something the user must know that is not an observation: a disagreement between simulation
/// and captures, a node with no input, a file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `disagreement`, `missing-input`, `bad-input`, `lost`, `assumption`.
    pub kind: String,
    /// The node concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The explanation, naming files and packets or lines.
    pub message: String,
}

/// The result document (`--format json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceResult {
    /// Always [`RESULT_SCHEMA`].
    pub schema: String,
    /// Antrea `phase`.
    pub phase: Phase,
    /// Antrea `reason` (set when the phase is Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Antrea `dataplaneTag`: the probe's DSCP.
    pub dataplane_tag: u8,
    /// antctl's `source` (`ns/pod` or IP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// antctl's `destination`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Antrea `results`: one per node, in path order.
    pub results: Vec<NodeResult>,
    /// hoptrace: estimated clock offsets per node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clocks: Vec<ClockEstimate>,
    /// hoptrace: findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}
