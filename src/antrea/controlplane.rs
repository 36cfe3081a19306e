//! The Antrea objects an agent support bundle carries, as hoptrace models them: the agent's
//! `AntreaAgentInfo` and its controlplane/v1beta2 NetworkPolicies, AddressGroups and
//! AppliedToGroups (antrea-traceflow.md §5.1). [`crate::bundle`] reads them from the bundle's
//! files; the reconstruction attributes conj ids to their rules.

use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Which way a NetworkPolicy rule applies (controlplane `direction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RuleDirection {
    /// Ingress: traffic to the applied-to Pods.
    In,
    /// Egress: traffic from the applied-to Pods.
    Out,
}

impl RuleDirection {
    /// Parses `In` / `Out` (any case).
    pub fn from_name(s: &str) -> Option<RuleDirection> {
        if s.eq_ignore_ascii_case("in") {
            Some(RuleDirection::In)
        } else if s.eq_ignore_ascii_case("out") {
            Some(RuleDirection::Out)
        } else {
            None
        }
    }
}

/// What a rule does with the traffic it matches (controlplane `action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RuleAction {
    /// Allow.
    Allow,
    /// Drop silently.
    Drop,
    /// Drop and answer with a TCP RST / ICMP unreachable.
    Reject,
    /// Skip the remaining Antrea-native tiers (to K8s NetworkPolicy).
    Pass,
}

impl RuleAction {
    /// Parses `Allow`, `Drop`, `Reject`, `Pass` (any case).
    pub fn from_name(s: &str) -> Option<RuleAction> {
        [RuleAction::Allow, RuleAction::Drop, RuleAction::Reject, RuleAction::Pass]
            .into_iter()
            .find(|a| format!("{a:?}").eq_ignore_ascii_case(s))
    }
}

/// The agent's `AntreaAgentInfo`, the parts the reconstruction uses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AgentInfo {
    /// `nodeRef.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Agent version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `nodeSubnets`: the node's Pod CIDRs.
    pub node_subnets: Vec<String>,
    /// `ovsInfo.version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ovs_version: Option<String>,
    /// `ovsInfo.bridgeName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// `ovsInfo.flowTable`: table name → flow count.
    pub flow_tables: BTreeMap<String, u64>,
    /// `networkInfo.transportInterface`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_interface: Option<String>,
    /// Transport IPs found under `networkInfo` (any key naming IPs).
    pub transport_ips: Vec<IpAddr>,
    /// `localPodNum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_pod_num: Option<u64>,
    /// The latest `agentConditions[].lastHeartbeatTime` (ns since the Unix epoch): taken while
    /// the bundle was dumped, so it says when the bundle was collected (in a controller's
    /// fallback bundle it is the CR's last update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_ns: Option<i64>,
}

/// A member of an address or applied-to group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupMember {
    /// `pod.namespace/pod.name`, if a Pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// Node name, if a Node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// IPs.
    pub ips: Vec<IpAddr>,
    /// Named ports of the member (`ports[]`: the Pod's container ports that have a name).
    pub ports: Vec<NamedPort>,
}

/// A named port of a group member (controlplane `NamedPort`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NamedPort {
    /// The name.
    pub name: String,
    /// The number.
    pub port: u16,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
}

/// A port as Kubernetes' `IntOrString` holds it: a number, or the name of a container port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PortRef {
    /// A port number.
    Number(u16),
    /// A port name, resolved per endpoint.
    Name(String),
}

/// The traffic one rule matches (controlplane `Service`): protocol and destination ports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleService {
    /// `TCP`, `UDP`, `SCTP`, `ICMP`, ... (`TCP` when the file says none, as Antrea defaults).
    pub protocol: String,
    /// The port or its name; `None` matches every port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<PortRef>,
    /// The last port of a range starting at `port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_port: Option<u16>,
    /// For a named port: the numbers the rule's endpoints give that name (the applied-to Pods
    /// for an ingress rule, the peer Pods for an egress rule); empty when none of the groups
    /// read names it (unresolved).
    pub resolved: Vec<u16>,
}

impl std::fmt::Display for RuleService {
    /// `TCP/3306`, `TCP/8000-8080`, `TCP/*`, `TCP/http=8080`, `TCP/http (unresolved)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/", self.protocol)?;
        match &self.port {
            None => f.write_str("*"),
            Some(PortRef::Number(p)) => match self.end_port {
                Some(e) => write!(f, "{p}-{e}"),
                None => write!(f, "{p}"),
            },
            Some(PortRef::Name(n)) if self.resolved.is_empty() => write!(f, "{n} (unresolved)"),
            Some(PortRef::Name(n)) => {
                let nums: Vec<String> = self.resolved.iter().map(u16::to_string).collect();
                write!(f, "{n}={}", nums.join(","))
            }
        }
    }
}

/// An `AddressGroup` or `AppliedToGroup`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemberGroup {
    /// Name.
    pub name: String,
    /// Members.
    pub members: Vec<GroupMember>,
}

/// One rule of a NetworkPolicy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PolicyRule {
    /// `In` or `Out` (absent when the file does not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<RuleDirection>,
    /// Rule name (Antrea-native policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Allow`, `Drop`, `Reject`, `Pass` (absent for K8s NetworkPolicy = allow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    /// Priority within the policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Peer address groups (`from` for In, `to` for Out).
    pub peer_groups: Vec<String>,
    /// Peer IP blocks (CIDR strings).
    pub peer_ip_blocks: Vec<String>,
    /// The traffic the rule matches (empty: all).
    pub services: Vec<RuleService>,
    /// Rule-level applied-to groups.
    pub applied_to: Vec<String>,
}

/// An agent-side NetworkPolicy (controlplane v1beta2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NetworkPolicy {
    /// Internal name (a UID).
    pub name: String,
    /// `sourceRef.type` (`K8sNetworkPolicy`, `AntreaClusterNetworkPolicy`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// `sourceRef.namespace/sourceRef.name` (or just the name for cluster-scoped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Rules.
    pub rules: Vec<PolicyRule>,
    /// Policy-level applied-to groups.
    pub applied_to: Vec<String>,
}
