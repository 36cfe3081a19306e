//! The probe through the nodes' dumped pipelines, with the offline simulator: what decides a node's
//! observations when its flow counters cannot (no earlier dump), and a cross-check when they can.

use super::reconstruct::NodeModel;
use crate::antrea::observe::TerminalState;
use crate::antrea::simulated::{cluster, terminal_state, SimNode};
use crate::ovs::action::Action as OfAction;
use crate::ovs::field::Field;
use crate::ovs::sim::multinode::trace_across;
use crate::ovs::sim::{Packet, SimOptions};
use crate::ovs::value::Value;
use crate::ovs::Group;
use crate::probe::{Probe, Transport};
use std::collections::HashMap;
use std::net::IpAddr;

/// The most nodes a simulated path may cross.
pub const MAX_NODES: usize = 8;

/// What the simulation says about one node.
#[derive(Clone, Debug)]
pub struct SimulatedNode {
    /// The state Antrea's packet-in would carry at the terminal point.
    pub state: TerminalState,
    /// The flows hit, as indexes into the node's flow dump, in execution order (first visit).
    pub path: Vec<usize>,
    /// The simulator's assumptions (conntrack state, bucket choice, actions not modelled).
    pub notes: Vec<String>,
}

/// The probe's headers (addresses, ports, DSCP tag, TTL) in `ovs-ofctl` flow syntax.
pub fn probe_flow_spec(probe: &Probe) -> String {
    let v6 = probe.ip.src.is_ipv6();
    let (l4, ports) = match &probe.transport {
        Transport::Tcp { src_port, dst_port, .. } => ("tcp", Some((*src_port, *dst_port))),
        Transport::Udp { src_port, dst_port } => ("udp", Some((*src_port, *dst_port))),
        Transport::Sctp { src_port, dst_port, .. } => ("sctp", Some((*src_port, *dst_port))),
        Transport::Icmp { .. } => (if v6 { "icmp6" } else { "icmp" }, None),
    };
    let l4 = if v6 && l4 != "icmp6" { format!("{l4}6") } else { l4.to_string() };
    let (sk, dk) = if v6 { ("ipv6_src", "ipv6_dst") } else { ("nw_src", "nw_dst") };
    let mut f = format!(
        "{l4},dl_src={},dl_dst={},{sk}={},{dk}={},nw_tos={},nw_ttl={}",
        probe.ethernet.src,
        probe.ethernet.dst,
        probe.ip.src,
        probe.ip.dst,
        u16::from(probe.ip.dscp) << 2,
        probe.ip.ttl
    );
    if let Some((s, d)) = ports {
        f += &format!(",tp_src={s},tp_dst={d}");
    }
    if matches!(probe.transport, Transport::Icmp { .. }) {
        f += if v6 { ",icmpv6_type=128,icmpv6_code=0" } else { ",icmp_type=8,icmp_code=0" };
    }
    f
}

/// The bucket of `g` that selects endpoint `ip` (reg3 / xxreg3 loaded with it).
fn bucket_of(g: &Group, ip: IpAddr) -> Option<usize> {
    let want = match ip {
        IpAddr::V4(v) => (Field::Reg(3), u128::from(u32::from(v))),
        IpAddr::V6(v) => (Field::Xxreg(3), u128::from(v)),
    };
    g.buckets.iter().position(|b| {
        b.actions.iter().any(|a| match a {
            OfAction::SetField { field, value: Value::Bits { value, .. } } => (*field, value.get()) == want,
            OfAction::Load { value, dst } => dst.field == want.0 && dst.start == 0 && value.get() == want.1,
            _ => false,
        })
    })
}

/// Simulates the probe from the sender's source Pod port across the nodes that have flows. A
/// Service's endpoint is the one the captures show the probe translated to, when they show it.
pub fn simulate(probe: &Probe, nodes: &[NodeModel<'_>], sender: usize) -> HashMap<String, SimulatedNode> {
    let mut out = HashMap::new();
    let mut sims: Vec<SimNode> = Vec::new();
    let mut extra: Vec<(String, IpAddr)> = Vec::new();
    let mut sender_idx = None;
    for (i, n) in nodes.iter().enumerate() {
        let Some(a) = n.artifacts else { continue };
        let Some(flows) = &a.flows else { continue };
        if i == sender {
            sender_idx = Some(sims.len());
        }
        sims.push(SimNode::new(&n.name, flows.clone(), a.groups.clone(), a.ports.clone()));
        extra.extend(a.transport_ips().into_iter().map(|ip| (n.name.clone(), ip)));
    }
    let Some(start) = sender_idx else { return out };
    let Some(in_port) = sims[start].view.pod_by_ip(probe.ip.src).and_then(|p| p.ofport) else { return out };
    let Ok(packet) =
        Packet::parse(&format!("in_port={in_port},{}", probe_flow_spec(probe)), Some(&sims[start].pipeline.ports))
    else {
        return out;
    };
    // Bucket hints: the endpoint the probe was seen translated to.
    let mut opts = SimOptions::default();
    let translated: Option<IpAddr> = nodes
        .iter()
        .flat_map(|n| n.sightings.iter())
        .find(|s| s.ip.src == probe.ip.src && s.ip.dst != probe.ip.dst)
        .map(|s| s.ip.dst);
    if let Some(ep) = translated {
        for s in &sims {
            for (id, g) in &s.pipeline.groups {
                if let Some(b) = bucket_of(g, ep) {
                    opts.bucket_hints.insert(*id, b);
                }
            }
        }
    }
    let nodes_for_sim = cluster(&sims, &extra);
    let ct = trace_across(&nodes_for_sim, start, packet, &opts, MAX_NODES);
    for hop in &ct.hops {
        let Some(sim) = sims.iter().find(|s| s.name == hop.node) else { continue };
        let Some(state) = terminal_state(&hop.trace, &sim.pipeline) else { continue };
        let mut path: Vec<usize> = Vec::new();
        for step in &hop.trace.steps {
            if let Some(f) = step.flow {
                if !path.contains(&f) {
                    path.push(f);
                }
            }
        }
        out.insert(hop.node.clone(), SimulatedNode { state, path, notes: hop.trace.notes.clone() });
    }
    out
}
