//! The probe through the nodes' dumped pipelines, with the offline simulator: what decides a node's
//! observations when its flow counters cannot (no earlier dump), and a cross-check when they can.

use super::model::NodeModel;
use super::reconstruct::Options;
use super::result::{Finding, FindingKind};
use crate::antrea::hits::ip_bits;
use crate::antrea::node::bucket_for_endpoint;
use crate::antrea::observe::TerminalState;
use crate::antrea::simulated::{cluster, terminal_state, SimNode};
use crate::ether::ether_type;
use crate::ovs::field::Field;
use crate::ovs::sim::multinode::{trace_across, Stop};
use crate::ovs::sim::trace::{Event, Outcome, Trace};
use crate::ovs::sim::Packet;
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

fn mac_bits(octets: [u8; 6]) -> u128 {
    octets.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
}

/// The simulator's packet for `probe` entering on OpenFlow port `in_port`: its Ethernet and IP
/// headers, DSCP tag, TTL and transport ports (ICMP echo request type and code).
pub fn probe_packet(probe: &Probe, in_port: u32) -> Packet {
    let mut p = Packet::default();
    p.set_frame_len(u32::try_from(probe.frame.length).ok());
    let exact = |p: &mut Packet, f: Field, v: u128| p.set(f, v, u128::MAX);
    let v6 = probe.ip.src.is_ipv6();
    exact(&mut p, Field::EthType, u128::from(if v6 { ether_type::IPV6 } else { ether_type::IPV4 }));
    exact(&mut p, Field::NwProto, u128::from(probe.transport.ip_protocol(v6)));
    exact(&mut p, Field::InPort, u128::from(in_port));
    exact(&mut p, Field::EthSrc, mac_bits(probe.ethernet.src.octets()));
    exact(&mut p, Field::EthDst, mac_bits(probe.ethernet.dst.octets()));
    let (src, dst) = if v6 { (Field::Ipv6Src, Field::Ipv6Dst) } else { (Field::IpSrc, Field::IpDst) };
    exact(&mut p, src, ip_bits(probe.ip.src));
    exact(&mut p, dst, ip_bits(probe.ip.dst));
    exact(&mut p, Field::NwTos, u128::from(probe.ip.dscp) << 2);
    exact(&mut p, Field::NwTtl, u128::from(probe.ip.ttl));
    let ports = match &probe.transport {
        Transport::Tcp { src_port, dst_port, .. } => Some((Field::TcpSrc, Field::TcpDst, *src_port, *dst_port)),
        Transport::Udp { src_port, dst_port } => Some((Field::UdpSrc, Field::UdpDst, *src_port, *dst_port)),
        Transport::Sctp { src_port, dst_port, .. } => Some((Field::SctpSrc, Field::SctpDst, *src_port, *dst_port)),
        Transport::Icmp { .. } => None,
    };
    match ports {
        Some((fs, fd, s, d)) => {
            exact(&mut p, fs, u128::from(s));
            exact(&mut p, fd, u128::from(d));
        }
        None if v6 => {
            exact(&mut p, Field::Icmpv6Type, 128);
            exact(&mut p, Field::Icmpv6Code, 0);
        }
        None => {
            exact(&mut p, Field::IcmpType, 8);
            exact(&mut p, Field::IcmpCode, 0);
        }
    }
    p
}

/// Simulates the probe from the sender's source Pod port across the nodes that have flows. A
/// Service's endpoint is the one the user chose (`--endpoint`, `--bucket`), else the one the
/// captures show the probe translated to, when they show it.
pub fn simulate(
    probe: &Probe,
    nodes: &[NodeModel<'_>],
    sender: usize,
    choices: &Options,
    findings: &mut Vec<Finding>,
) -> HashMap<String, SimulatedNode> {
    let mut out = HashMap::new();
    let sims: Vec<&SimNode> = nodes.iter().filter_map(|n| n.pipeline.as_ref()).collect();
    let Some(start_node) = nodes[sender].pipeline.as_ref() else { return out };
    let Some(start) = sims.iter().position(|s| std::ptr::eq(*s, start_node)) else { return out };
    let Some(in_port) = start_node.view.pod_by_ip(probe.ip.src).and_then(|p| p.ofport) else { return out };
    let packet = probe_packet(probe, in_port);
    // Bucket hints: the user's, then the endpoint the probe was seen translated to.
    let mut opts = choices.sim.clone();
    let translated: Option<IpAddr> = nodes
        .iter()
        .flat_map(|n| n.sightings.iter())
        .find(|s| s.ip.src == probe.ip.src && s.ip.dst != probe.ip.dst)
        .map(|s| s.ip.dst);
    for (ep, asked) in choices.endpoints.iter().map(|e| (*e, true)).chain(translated.map(|e| (e, false))) {
        let mut found = false;
        for s in &sims {
            for (id, g) in &s.pipeline.groups {
                if let Some(b) = bucket_for_endpoint(g, ep) {
                    opts.bucket_hints.entry(*id).or_insert(b);
                    found = true;
                }
            }
        }
        if asked && !found {
            findings.push(Finding::new(
                FindingKind::BadInput,
                None,
                format!("--endpoint {ep}: no Service group bucket of the dumped pipelines loads this endpoint"),
            ));
        }
    }
    let extra: Vec<(String, IpAddr)> =
        nodes.iter().flat_map(|n| n.transport_ips().into_iter().map(|ip| (n.name.clone(), ip))).collect();
    let nodes_for_sim = cluster(&sims, &extra);
    let ct = trace_across(&nodes_for_sim, start, packet, &opts, MAX_NODES);
    if matches!(ct.stop, Stop::HopLimit) {
        findings.push(Finding::new(
            FindingKind::Assumption,
            None,
            format!("the simulation stopped after {MAX_NODES} nodes: nodes after that have no simulated path"),
        ));
    }
    for hop in &ct.hops {
        let Some(sim) = sims.iter().find(|s| s.name == hop.node) else { continue };
        if stopped_short(&hop.trace) {
            // The last table visited is where a bound or an unmodelled action stopped the
            // simulation, not where the packet ends: claiming a drop there would be a guess.
            findings.push(Finding::new(
                FindingKind::Assumption,
                Some(&hop.node),
                format!(
                    "the simulation of this node's pipeline did not finish ({}): it gives no terminal point",
                    if hop.trace.notes.is_empty() {
                        "an action it does not model".to_string()
                    } else {
                        hop.trace.notes.join("; ")
                    }
                ),
            ));
            continue;
        }
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

/// Whether a trace ended without reaching a decision: stopped by a bound (depth, table visits,
/// actions, a group loop) or by an action the simulator does not model, with no output and no
/// packet-in to say where the packet went.
fn stopped_short(trace: &Trace) -> bool {
    trace.outcome == Outcome::Incomplete
        && !trace.events.iter().any(|e| matches!(e, Event::Output { .. } | Event::Controller { .. }))
}
