//! One node as the reconstruction sees it: its inputs, its pipeline assembled once (table
//! numbering → node view → simulator pipeline, the same assembly `hoptrace trace` uses), the
//! flows whose counters moved, and the sightings of the probe in its captures.

use super::result::{Evidence, EvidenceKind};
use crate::antrea::node::TUNNEL_INTERFACES;
use crate::antrea::policy::PolicyAttribution;
use crate::antrea::simulated::SimNode;
use crate::antrea::{NodeView, TableMap};
use crate::bundle::agent::NodeArtifacts;
use crate::capture::LinkType;
use crate::decode::evidence::CaptureReport;
use crate::decode::sighting::Sighting;
use crate::ovs::Flow;
use std::net::IpAddr;

/// Assembles a node's pipeline from its artifacts: `None` without a flow dump.
pub fn assemble(name: &str, artifacts: &NodeArtifacts) -> Option<SimNode> {
    let flows = artifacts.flows.clone()?;
    let mut node = SimNode::for_agent(
        name,
        flows,
        artifacts.groups.clone(),
        artifacts.ports.clone(),
        &artifacts.declared_tables(),
        artifacts.antrea_version(),
    );
    node.transport_ips = artifacts.transport_ips();
    if artifacts.groups_missing {
        let origin = &artifacts.origin;
        node.pipeline.groups_unknown = Some(match artifacts.antrea_version() {
            Some(v) if !v.dumps_groups() => {
                format!("{origin} has no groups file: Antrea {v} does not dump groups (v2.0 and later do)")
            }
            _ => format!("{origin} has no groups file (Antrea dumps groups only since v2.0)"),
        });
    } else if let Some(note) = &artifacts.groups_note {
        node.pipeline.groups_unknown = Some(note.clone());
    }
    Some(node)
}

/// One node of the analysis.
#[derive(Debug, Default)]
pub struct NodeModel<'a> {
    /// Node name.
    pub name: String,
    /// Its artifacts (flows, groups, ports, agent info, policies), when given.
    pub artifacts: Option<&'a NodeArtifacts>,
    /// Its pipeline, assembled once from the artifacts' flows.
    pub pipeline: Option<SimNode>,
    /// Indexes (in the flow dump) of the flows whose counters moved; `None` without an earlier
    /// dump.
    pub hit: Option<Vec<usize>>,
    /// Why `hit` is `None` when there was an earlier dump (said in the finding that the path
    /// here is simulated); `None` means there was no earlier dump.
    pub no_counters: Option<String>,
    /// Sightings of the probe on this node, in time order.
    pub sightings: Vec<Sighting>,
    /// Whether any capture was scanned for this node.
    pub has_captures: bool,
    /// What scanning each of its captures gave (interfaces, link types, damage).
    pub reports: Vec<CaptureReport>,
}

impl<'a> NodeModel<'a> {
    /// A node from its inputs; the pipeline is assembled when there are flows.
    pub fn new(name: &str, artifacts: Option<&'a NodeArtifacts>) -> NodeModel<'a> {
        NodeModel {
            name: name.to_string(),
            pipeline: artifacts.and_then(|a| assemble(name, a)),
            artifacts,
            ..NodeModel::default()
        }
    }

    /// Ports, Pods, peer CIDRs and Services from its flows.
    pub fn view(&self) -> Option<&NodeView> {
        self.pipeline.as_ref().map(|p| &p.view)
    }

    /// Its table numbering.
    pub fn tables(&self) -> Option<&TableMap> {
        self.pipeline.as_ref().map(|p| &p.tables)
    }

    /// The dumped flows (empty without a dump).
    pub fn flows(&self) -> &[Flow] {
        self.artifacts.and_then(|a| a.flows.as_ref()).map_or(&[], |d| d.flows.as_slice())
    }

    /// The node's transport IPs for naming the node of an address (agentinfo, `address`, else
    /// the inventory's InternalIP).
    pub fn transport_ips(&self) -> Vec<IpAddr> {
        self.artifacts.map(|a| a.transport_ips()).unwrap_or_default()
    }

    /// The transport IPs the node's own files give (agentinfo, `address`), not the inventory's.
    pub fn reported_transport_ips(&self) -> Vec<IpAddr> {
        self.artifacts.map(|a| a.reported_transport_ips()).unwrap_or_default()
    }

    /// The transport interface agentinfo names.
    pub fn transport_interface(&self) -> Option<&str> {
        self.artifacts?.agent_info.as_ref()?.transport_interface.as_deref()
    }

    /// Evidence for flow `i` of the dump: its file, line and text, and what its basis is.
    pub fn flow_evidence(&self, i: usize, kind: EvidenceKind) -> Evidence {
        let dump = self.artifacts.and_then(|a| a.flows.as_ref());
        Evidence {
            kind,
            file: dump.map(|d| d.origin.clone()),
            line: dump.and_then(|d| d.lines.get(i)).map(|&l| l as u64),
            text: self.flows().get(i).map(|f| f.flow_mod().to_string()),
            ..Evidence::default()
        }
    }

    /// Whether a capture of this node saw every interface (`tcpdump -i any`: Linux cooked
    /// link types, or an interface named `any`).
    pub fn captures_every_interface(&self) -> bool {
        let cooked = [LinkType::LINUX_SLL.name(), LinkType::LINUX_SLL2.name()];
        self.reports
            .iter()
            .any(|r| r.interfaces.iter().any(|i| i == "any") || r.link_types.iter().any(|l| cooked.contains(l)))
    }

    /// Whether this node's captures would have shown the probe entering OVS here: on the
    /// source Pod's port (the sender), or on the uplink or a tunnel device (a node the probe
    /// was tunnelled to). `false` means absence of sightings proves nothing.
    pub fn covers_entry(&self, is_sender: bool, src: IpAddr) -> bool {
        if self.captures_every_interface() {
            return true;
        }
        let names: Vec<&str> = self.reports.iter().flat_map(|r| r.interfaces.iter().map(String::as_str)).collect();
        if is_sender {
            let port = self.view().and_then(|v| v.pod_by_ip(src)).and_then(|p| p.name.as_deref());
            return port.is_some_and(|p| names.contains(&p));
        }
        let uplink = self.transport_interface();
        names.iter().any(|n| Some(*n) == uplink || TUNNEL_INTERFACES.contains(n))
    }

    /// Conj id → rule attribution from the node's policies and flows.
    pub fn policies(&self) -> Option<PolicyAttribution<'_>> {
        let a = self.artifacts?;
        let p = self.pipeline.as_ref()?;
        Some(PolicyAttribution {
            flows: self.flows(),
            tables: &p.tables,
            view: &p.view,
            ports: a.ports.as_ref(),
            policies: &a.network_policies,
            groups: a.applied_to_groups.iter().chain(a.address_groups.iter()).collect(),
        })
    }
}
