//! Continues a trace across nodes: when the packet leaves a node through its tunnel port, the
//! node whose transport IP is the `tun_dst` receives it on its own tunnel port with `tun_src` /
//! `tun_dst` / `tun_id` set from the outer header and registers, metadata, marks and conntrack
//! reset (nothing else survives encapsulation), and its pipeline runs from table 0.

use super::packet::Packet;
use super::trace::{Event, Trace};
use super::{Pipeline, SimOptions};
use crate::ovs::field::Field;
use serde::Serialize;
use std::net::IpAddr;

/// One node of the cluster.
#[derive(Clone, Debug)]
pub struct Node<'a> {
    /// Node name.
    pub name: &'a str,
    /// Its bridge pipeline.
    pub pipeline: &'a Pipeline,
    /// Its transport (tunnel endpoint) addresses.
    pub transport_ips: Vec<IpAddr>,
    /// Its tunnel ports.
    pub tunnel_ports: Vec<u32>,
}

/// The trace on one node.
#[derive(Clone, Debug, Serialize)]
pub struct Hop {
    /// Node name.
    pub node: String,
    /// The path through its pipeline.
    pub trace: Trace,
}

/// Why the multi-node trace ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Stop {
    /// The last node did not send the packet into the tunnel (delivered, out of the network,
    /// dropped or sent to the controller).
    Ended,
    /// The tunnel destination is not one of the given nodes.
    UnknownPeer {
        /// The tunnel destination.
        tun_dst: IpAddr,
    },
    /// The hop limit was reached.
    HopLimit,
}

/// The path across nodes.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterTrace {
    /// Per node, in order.
    pub hops: Vec<Hop>,
    /// Why it ended.
    pub stop: Stop,
}

/// Traces `packet` from node `start`, following tunnel outputs to their peers.
pub fn trace_across(
    nodes: &[Node<'_>],
    start: usize,
    packet: Packet,
    opts: &SimOptions,
    max_hops: usize,
) -> ClusterTrace {
    let mut hops = Vec::new();
    let mut cur = start;
    let mut pkt = packet;
    loop {
        let Some(node) = nodes.get(cur) else { return ClusterTrace { hops, stop: Stop::Ended } };
        let node_opts = SimOptions { tunnel_ports: node.tunnel_ports.clone(), ..opts.clone() };
        let mut trace = node.pipeline.trace(&pkt, &node_opts);
        let tunnel_out = trace.events.iter().find_map(|e| match e {
            Event::Output { tunnel: true, tun_dst: Some(t), packet, .. } => Some((*t, packet.clone())),
            _ => None,
        });
        let Some((tun_dst, sent)) = tunnel_out else {
            hops.push(Hop { node: node.name.to_string(), trace });
            return ClusterTrace { hops, stop: Stop::Ended };
        };
        if trace.events.iter().filter(|e| matches!(e, Event::Output { tunnel: true, .. })).count() > 1 {
            trace.notes.push("several tunnel outputs: only the first is followed".into());
        }
        let src_ip = node.transport_ips.first().copied();
        hops.push(Hop { node: node.name.to_string(), trace });
        if hops.len() >= max_hops {
            return ClusterTrace { hops, stop: Stop::HopLimit };
        }
        let Some(next) = nodes.iter().position(|n| n.transport_ips.contains(&tun_dst)) else {
            return ClusterTrace { hops, stop: Stop::UnknownPeer { tun_dst } };
        };
        let mut p = sent.clone();
        let tun_id = p.get(Field::TunId);
        p.reset_for_tunnel();
        p.set(Field::TunId, tun_id, u128::MAX);
        p.set(Field::TunDst, ip_bits(tun_dst), u128::MAX);
        if let Some(s) = src_ip {
            p.set(Field::TunSrc, ip_bits(s), u128::MAX);
        }
        let in_port = nodes[next].tunnel_ports.first().copied().unwrap_or(0);
        p.set(Field::InPort, u128::from(in_port), u128::MAX);
        pkt = p;
        cur = next;
    }
}

fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}
