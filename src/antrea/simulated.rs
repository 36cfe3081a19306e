//! Antrea's reading of a simulated path: a node's pipeline assembled from its artifacts (table
//! numbering, port roles, transport address), and the [`TerminalState`] Antrea's packet-in would
//! carry at the end of a simulated path, which the observation rules turn into observations.

use super::node::{NodeView, PortRole};
use super::observe::TerminalState;
use super::registers::{RegField, AP_CONJ_ID, MARKS_REGISTER, TARGET_OFPORT, TF_EGRESS_CONJ_ID, TF_INGRESS_CONJ_ID};
use super::tables::TableMap;
use super::version::AntreaVersion;
use crate::ether::ether_type;
use crate::ovs::field::Field;
use crate::ovs::sim::multinode::Node;
use crate::ovs::sim::trace::{Event, Trace};
use crate::ovs::sim::{Packet, Pipeline};
use crate::ovs::{FlowDump, Group, Port, PortTable};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A node's pipeline with what Antrea knowledge says about it.
#[derive(Clone, Debug)]
pub struct SimNode {
    /// Node name.
    pub name: String,
    /// Compiled pipeline.
    pub pipeline: Pipeline,
    /// Ports, Pods, peer CIDRs, Services.
    pub view: NodeView,
    /// Table numbering.
    pub tables: TableMap,
    /// Transport IPs known from the artifacts (agentinfo); more are inferred by [`cluster`].
    pub transport_ips: Vec<IpAddr>,
}

impl SimNode {
    /// Assembles a node from its flows, groups and (optional) port table. Without a port table,
    /// the ports the flows reveal (name ↔ ofport from Classifier / L2ForwardingCalc) are used.
    pub fn new(name: &str, flows: FlowDump, groups: Vec<Group>, ports: Option<PortTable>) -> SimNode {
        SimNode::with_tables(name, flows, groups, ports, &[])
    }

    /// [`SimNode::new`] with the table names agentinfo declares (tables without flows keep their
    /// place in the numbering).
    pub fn with_tables(
        name: &str,
        flows: FlowDump,
        groups: Vec<Group>,
        ports: Option<PortTable>,
        declared: &[String],
    ) -> SimNode {
        SimNode::for_agent(name, flows, groups, ports, declared, None)
    }

    /// [`SimNode::with_tables`] knowing the agent's release, which decides the table numbering
    /// where releases differ ([`TableMap::for_node`]).
    pub fn for_agent(
        name: &str,
        flows: FlowDump,
        groups: Vec<Group>,
        ports: Option<PortTable>,
        declared: &[String],
        version: Option<AntreaVersion>,
    ) -> SimNode {
        let tables = TableMap::for_node(&flows, declared, version);
        let view = NodeView::build(&flows, &groups, ports.as_ref(), &tables);
        let ports = ports.unwrap_or_else(|| PortTable {
            ports: view
                .ports
                .iter()
                .filter_map(|p| {
                    Some(Port { ofport: Some(p.ofport?), name: p.name.clone()?, mac: p.mac, config: None, state: None })
                })
                .collect(),
        });
        let pipeline = Pipeline::from_dump(flows, groups, ports, &tables.tables);
        SimNode { name: name.to_string(), pipeline, view, tables, transport_ips: Vec::new() }
    }

    /// The tunnel ports.
    pub fn tunnel_ports(&self) -> Vec<u32> {
        self.view.ports.iter().filter(|p| p.role == PortRole::Tunnel).filter_map(|p| p.ofport).collect()
    }
}

/// The transport IP of each node, inferred from the others' L3Forwarding flows: the peer
/// address a node tunnels a remote Pod CIDR to belongs to the node whose local Pod CIDR that is.
pub fn transport_ips(nodes: &[&SimNode]) -> Vec<Vec<IpAddr>> {
    let mut out: Vec<Vec<IpAddr>> = vec![Vec::new(); nodes.len()];
    for a in nodes {
        for r in &a.view.remote_pod_cidrs {
            for (i, b) in nodes.iter().enumerate() {
                if b.view.local_pod_cidrs.iter().any(|(n, p)| *n == r.network && *p == r.prefix)
                    && !out[i].contains(&r.peer)
                {
                    out[i].push(r.peer);
                }
            }
        }
    }
    out
}

/// The generic multi-node inputs for [`crate::ovs::sim::multinode::trace_across`]: each node's
/// pipeline (borrowed), its transport IPs (agentinfo's, `extra_ips`, and those the other nodes'
/// flows tunnel its Pod CIDR to) and its tunnel ports.
pub fn cluster<'a>(nodes: &[&'a SimNode], extra_ips: &[(String, IpAddr)]) -> Vec<Node<'a>> {
    let ips = transport_ips(nodes);
    nodes
        .iter()
        .zip(ips)
        .map(|(n, mut ips)| {
            for ip in &n.transport_ips {
                if !ips.contains(ip) {
                    ips.push(*ip);
                }
            }
            for (name, ip) in extra_ips {
                if *name == n.name && !ips.contains(ip) {
                    ips.push(*ip);
                }
            }
            Node { name: &n.name, pipeline: &n.pipeline, transport_ips: ips, tunnel_ports: n.tunnel_ports() }
        })
        .collect()
}

fn ip_of(p: &Packet, v4: Field, v6: Field) -> Option<IpAddr> {
    match p.eth_type() {
        ether_type::IPV4 => {
            let v = p.get(v4) as u32;
            (v != 0).then(|| IpAddr::V4(Ipv4Addr::from(v)))
        }
        ether_type::IPV6 => {
            let v = p.get(v6);
            (v != 0).then(|| IpAddr::V6(Ipv6Addr::from(v)))
        }
        _ => None,
    }
}

/// The state at a terminal point, from the packet there.
fn state_at(table: String, p: &Packet) -> TerminalState {
    let reg = |f: &RegField| f.read(p.get(f.field)) as u32;
    let tun = p.get(Field::TunDst) as u32;
    TerminalState {
        table,
        reg0: p.get(MARKS_REGISTER) as u32,
        reg1: reg(&TARGET_OFPORT),
        reg3: reg(&AP_CONJ_ID),
        reg5: reg(&TF_EGRESS_CONJ_ID),
        reg6: reg(&TF_INGRESS_CONJ_ID),
        ct_nw_src: ip_of(p, Field::CtNwSrc, Field::CtIpv6Src),
        ct_nw_dst: ip_of(p, Field::CtNwDst, Field::CtIpv6Dst),
        tun_dst: (tun != 0).then(|| IpAddr::V4(Ipv4Addr::from(tun))),
        pkt_mark: p.get(Field::PktMark) as u32,
        packet_src: ip_of(p, Field::IpSrc, Field::Ipv6Src),
        packet_dst: ip_of(p, Field::IpDst, Field::Ipv6Dst),
        exit_seen: None,
    }
}

/// What Antrea's packet-in would carry at the end of a simulated path on one node: the last
/// `controller` action (Traceflow's flows send the probe there); without one, the point where
/// the path ended — the output (table `Output`) or the table where it was dropped, which is
/// where Traceflow's copies of the drop flows would have sent it.
pub fn terminal_state(trace: &Trace, pipeline: &Pipeline) -> Option<TerminalState> {
    let name = |t: u8| pipeline.table_name(t).map_or_else(|| t.to_string(), str::to_string);
    if let Some(Event::Controller { table, packet, .. }) = trace.controller_events().last() {
        return Some(state_at(name(*table), packet));
    }
    if let Some(Event::Output { table, packet, .. }) =
        trace.events.iter().rev().find(|e| matches!(e, Event::Output { .. }))
    {
        return Some(state_at(name(*table), packet));
    }
    let last = trace.steps.last()?;
    let p = last.after.as_ref().unwrap_or(&trace.final_packet);
    Some(state_at(name(last.table), p))
}
