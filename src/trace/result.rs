//! The whole result of an analysis: Antrea's Traceflow status shape (`phase`, `reason`,
//! `dataplaneTag`, `results`) plus, alongside, what hoptrace adds (endpoints, clock offsets,
//! findings where the simulation and the captures disagree, inputs that were missing or bad).

use super::clock::ClockEstimate;
pub use crate::antrea::observation::{Evidence, EvidenceKind};
use crate::antrea::observation::{NodeResult, Phase};
use serde::{Deserialize, Serialize};

/// The value of `schema` in hoptrace's result documents.
pub const RESULT_SCHEMA: &str = "hoptrace.result/v1";

/// What kind of thing a [`Finding`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// Two sources of evidence contradict each other (counters and captures, simulation and
    /// counters, sightings off the path).
    Disagreement,
    /// An input the path needs is not there (a node, its flows or captures).
    MissingInput,
    /// An input could not be read or used (damaged, for another probe, inconsistent).
    BadInput,
    /// Where the probe went after a point is not shown by anything.
    Lost,
    /// The result rests on an assumption (a simulation, a guessed numbering).
    Assumption,
}

impl FindingKind {
    /// The name as serialised.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Disagreement => "disagreement",
            FindingKind::MissingInput => "missing-input",
            FindingKind::BadInput => "bad-input",
            FindingKind::Lost => "lost",
            FindingKind::Assumption => "assumption",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Something the user must know that is not an observation: a disagreement between simulation
/// and captures, a node with no input, a file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// What kind of finding.
    pub kind: FindingKind,
    /// The node concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The explanation, naming files and packets or lines.
    pub message: String,
}

impl Finding {
    /// A finding about `node` (or the whole analysis).
    pub fn new(kind: FindingKind, node: Option<&str>, message: impl Into<String>) -> Finding {
        Finding { kind, node: node.map(str::to_string), message: message.into() }
    }
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
