//! The output model: Antrea's Traceflow status shape (antrea-traceflow.md §1.2–1.3), field names
//! identical, with hoptrace's additions (times, interfaces, evidence, roles, clock offsets)
//! alongside. Everything optional is omitted when empty, as Antrea's `omitempty` does.

use serde::{Deserialize, Serialize};

/// The component that made an observation (Antrea's `component` enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Component {
    /// The source Pod's SpoofGuard check (the sender node's first observation).
    SpoofGuard,
    /// Service load balancing (DNAT / hairpin SNAT).
    LB,
    /// Routing (declared by Antrea, emitted by hoptrace only in `--detail hops`).
    Routing,
    /// A NetworkPolicy rule or default drop.
    NetworkPolicy,
    /// Forwarding: received from a tunnel, or the Output decision.
    Forwarding,
    /// Egress SNAT.
    Egress,
    /// hoptrace `--detail hops`: Classifier stage.
    Classification,
    /// hoptrace `--detail hops`: conntrack passes.
    Conntrack,
}

/// What happened to the probe (Antrea's `action` enum, plus the legacy `ForwardedOutOfOverlay`
/// accepted on input).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Delivered to a Pod (or to the local gateway IP).
    Delivered,
    /// Received from a tunnel on a non-sender node.
    Received,
    /// Passed on.
    Forwarded,
    /// Dropped.
    Dropped,
    /// Rejected by an Antrea-native Reject rule.
    Rejected,
    /// Left the cluster network through the gateway/uplink.
    ForwardedOutOfNetwork,
    /// Antrea ≤ v2.4's name for `ForwardedOutOfNetwork`; read, never written.
    ForwardedOutOfOverlay,
    /// Marked for Egress SNAT on this node.
    MarkedForSNAT,
    /// Sent to the remote Egress node.
    ForwardedToEgressNode,
}

impl Action {
    /// Whether Antrea's controller counts this action as the end of the path (§1.6).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Action::Delivered
                | Action::Dropped
                | Action::Rejected
                | Action::ForwardedOutOfNetwork
                | Action::ForwardedOutOfOverlay
        )
    }
}

/// What a piece of evidence is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceKind {
    /// A sighting of the probe in a capture.
    #[default]
    Capture,
    /// A flow line that decided it (read from the dump, no counter or simulation behind it).
    Flow,
    /// A flow whose counter moved between two dumps.
    Counter,
    /// A flow the offline simulation of the dumped pipeline went through.
    Simulation,
    /// Nothing shows it directly: it follows from other facts, which `text` names.
    Inferred,
}

impl EvidenceKind {
    /// The name as serialised.
    pub fn name(self) -> &'static str {
        match self {
            EvidenceKind::Capture => "capture",
            EvidenceKind::Flow => "flow",
            EvidenceKind::Counter => "counter",
            EvidenceKind::Simulation => "simulation",
            EvidenceKind::Inferred => "inferred",
        }
    }
}

impl std::fmt::Display for EvidenceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a piece of evidence comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// What it is.
    pub kind: EvidenceKind,
    /// The file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based packet number in a capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet: Option<u64>,
    /// 1-based line in a flow dump.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The interface a capture saw it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Capture time in ns since the epoch (raw, not skew-corrected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ns: Option<i64>,
    /// The flow text or a short note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One observation, Antrea's fields first (same JSON names), hoptrace's after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// Antrea `component`.
    pub component: Component,
    /// Antrea `componentInfo`: the OVS table name of the observation point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_info: Option<String>,
    /// Antrea `action`.
    pub action: Action,
    /// Antrea `pod`: `ns/name` of the Service endpoint on an LB observation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// Antrea `dstMAC` (legacy).
    #[serde(default, rename = "dstMAC", skip_serializing_if = "Option::is_none")]
    pub dst_mac: Option<String>,
    /// Antrea `networkPolicy`: `<Type>:<ns>/<name>` or `<Type>:<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<String>,
    /// Antrea `networkPolicyRule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy_rule: Option<String>,
    /// Antrea `egress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<String>,
    /// Antrea `ttl` (legacy in Antrea; hoptrace fills it with the TTL seen here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i32>,
    /// Antrea `translatedSrcIP`.
    #[serde(default, rename = "translatedSrcIP", skip_serializing_if = "Option::is_none")]
    pub translated_src_ip: Option<String>,
    /// Antrea `translatedDstIP`.
    #[serde(default, rename = "translatedDstIP", skip_serializing_if = "Option::is_none")]
    pub translated_dst_ip: Option<String>,
    /// Antrea `tunnelDstIP`.
    #[serde(default, rename = "tunnelDstIP", skip_serializing_if = "Option::is_none")]
    pub tunnel_dst_ip: Option<String>,
    /// Antrea `egressIP`.
    #[serde(default, rename = "egressIP", skip_serializing_if = "Option::is_none")]
    pub egress_ip: Option<String>,
    /// Antrea `egressNode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_node: Option<String>,
    /// Antrea `srcPodIP`.
    #[serde(default, rename = "srcPodIP", skip_serializing_if = "Option::is_none")]
    pub src_pod_ip: Option<String>,
    /// hoptrace: when it happened, RFC 3339 with nanoseconds, skew-corrected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// hoptrace: the raw capture time in ns since the epoch, before skew correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_time_ns: Option<i64>,
    /// hoptrace: the interface where it was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// hoptrace: the OVS table that decided it (`--detail hops`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// hoptrace: what supports this observation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

impl Observation {
    /// An observation with only component and action set.
    pub fn new(component: Component, action: Action) -> Observation {
        Observation {
            component,
            component_info: None,
            action,
            pod: None,
            dst_mac: None,
            network_policy: None,
            network_policy_rule: None,
            egress: None,
            ttl: None,
            translated_src_ip: None,
            translated_dst_ip: None,
            tunnel_dst_ip: None,
            egress_ip: None,
            egress_node: None,
            src_pod_ip: None,
            time: None,
            raw_time_ns: None,
            interface: None,
            table: None,
            evidence: Vec::new(),
        }
    }

    /// The same with `componentInfo` set.
    pub fn with_info(mut self, info: &str) -> Observation {
        self.component_info = Some(info.to_string());
        self
    }
}

/// The role of a node on the path (Antrea declares `role` but never fills it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Owns the source Pod.
    Sender,
    /// Where the probe ends (delivered or dropped) after a tunnel.
    Receiver,
    /// Crossed without ending there.
    Transit,
    /// The Egress node that SNATs the probe out of the cluster.
    Egress,
}

/// What one node reported (Antrea's `NodeResult`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeResult {
    /// Node name.
    pub node: String,
    /// hoptrace fills Antrea's empty `role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Unix seconds of the node's first observation (Antrea: when the agent parsed the packet-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// The ordered observations.
    pub observations: Vec<Observation>,
    /// hoptrace `--detail hops`: one observation per pipeline stage crossed, each naming the
    /// table and flow that decided it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hops: Vec<Observation>,
}

/// Antrea's `status.phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Not yet decided (Antrea: still waiting).
    Running,
    /// A SpoofGuard and a terminal observation were found (§1.6).
    Succeeded,
    /// No complete path could be established.
    Failed,
}
