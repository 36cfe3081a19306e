//! Which node sent the probe, and which node a tunnel led to. The sender is the node that owns
//! the source Pod — by its flows (SpoofGuard and port flows), else by the cluster inventory,
//! else by a capture that shows the probe leaving a Pod unrouted (original TTL, not
//! encapsulated). A node that only received the probe through a tunnel is never the sender:
//! when the sender's inputs are missing, the analysis names that node and starts where the
//! probe was first seen.

use super::model::NodeModel;
use super::place::{place, Place};
use crate::bundle::cluster::ClusterInfo;
use crate::probe::Probe;
use std::net::IpAddr;

/// Where the walk starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// The sender is among the inputs; why it is the sender.
    Sender(usize, &'static str),
    /// The sender is known but none of its inputs were given: `name` (or a description when
    /// only its transport IP is known), why, and the first node that saw the probe (where
    /// the walk starts instead), with the addresses the probe carried there.
    Missing { name: String, why: String, first: Option<(usize, (IpAddr, IpAddr))> },
    /// Nothing says which node sent it.
    Unknown,
}

/// The node of the inputs called `name`.
fn by_name(nodes: &[NodeModel<'_>], name: &str) -> Option<usize> {
    nodes.iter().position(|n| n.name == name)
}

/// The sender, as strongly as the inputs say it.
pub fn choose(probe: &Probe, nodes: &[NodeModel<'_>], cluster: Option<&ClusterInfo>) -> Start {
    let src = probe.ip.src;
    if let Some(i) = nodes.iter().position(|n| n.view().is_some_and(|v| v.pod_by_ip(src).is_some())) {
        return Start::Sender(i, "its flows hold the source Pod's port");
    }
    let inventory = probe
        .source
        .as_ref()
        .and_then(|e| e.node.clone())
        .or_else(|| cluster.and_then(|c| c.pod_by_ip(src)).and_then(|p| p.node.clone()));
    if let Some(name) = inventory {
        return match by_name(nodes, &name) {
            Some(i) => Start::Sender(i, "the cluster inventory puts the source Pod there"),
            None => Start::Missing {
                why: format!("the cluster inventory puts the source Pod {src} on {name}"),
                name,
                first: first_seen(nodes),
            },
        };
    }
    let unrouted = |n: &NodeModel<'_>| {
        n.sightings.iter().filter(|s| s.tunnels.is_empty() && s.ip.src == src && s.ip.ttl == probe.ip.ttl).count()
    };
    let on_pod_port = |n: &NodeModel<'_>| {
        n.sightings.iter().any(|s| {
            s.tunnels.is_empty() && s.ip.src == src && s.ip.ttl == probe.ip.ttl && matches!(place(n, s), Place::Pod(..))
        })
    };
    if let Some(i) = nodes.iter().position(on_pod_port).or_else(|| nodes.iter().position(|n| unrouted(n) > 0)) {
        return Start::Sender(i, "a capture shows the probe leaving a Pod with its original TTL");
    }
    // Seen only after a tunnel: the outer source is the sender's transport IP.
    let arrival = nodes.iter().find_map(|n| n.sightings.iter().find_map(|s| s.tunnels.first().map(|t| t.src)));
    match arrival {
        Some(ip) => {
            let name = node_with_transport_ip(nodes, cluster, ip);
            if let Some(i) = name.as_deref().and_then(|n| by_name(nodes, n)) {
                return Start::Sender(i, "the probe arrived from its transport IP");
            }
            Start::Missing {
                why: format!("the probe arrived encapsulated from transport IP {ip}"),
                name: name.unwrap_or_else(|| format!("the node with transport IP {ip}")),
                first: first_seen(nodes),
            }
        }
        None => Start::Unknown,
    }
}

/// The node that saw the probe first (raw times), and the probe's addresses there.
fn first_seen(nodes: &[NodeModel<'_>]) -> Option<(usize, (IpAddr, IpAddr))> {
    nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.sightings.iter().map(move |s| (s.timestamp_ns.unwrap_or(i64::MAX), i, s)))
        .min_by_key(|(t, i, _)| (*t, *i))
        .map(|(_, i, s)| (i, (s.ip.src, s.ip.dst)))
}

/// The name of the node whose transport address `ip` is: its agentinfo, the node the other
/// nodes' flows tunnel its Pod CIDR to, or the inventory's Node InternalIP.
pub fn node_with_transport_ip(nodes: &[NodeModel<'_>], cluster: Option<&ClusterInfo>, ip: IpAddr) -> Option<String> {
    if let Some(n) = nodes.iter().find(|n| n.transport_ips().contains(&ip)) {
        return Some(n.name.clone());
    }
    // Another node tunnels a remote Pod CIDR to `ip`: the node whose local Pod CIDR that is.
    for a in nodes.iter().filter_map(|n| n.view()) {
        for r in a.remote_pod_cidrs.iter().filter(|r| r.peer == ip) {
            let owner =
                nodes.iter().find(|b| b.view().is_some_and(|v| v.local_pod_cidrs.contains(&(r.network, r.prefix))));
            if let Some(b) = owner {
                return Some(b.name.clone());
            }
        }
    }
    cluster?.nodes.iter().find(|n| n.internal_ips.contains(&ip)).map(|n| n.name.clone())
}

/// The node the probe was tunnelled to: the one with that transport IP (agentinfo, the other
/// nodes' flows, the inventory); without any of those, the unvisited node whose underlay
/// capture shows the probe arriving for it.
pub fn tunnel_peer(
    nodes: &[NodeModel<'_>],
    cluster: Option<&ClusterInfo>,
    visited: &[bool],
    tun_dst: IpAddr,
) -> Result<usize, Option<String>> {
    let name = node_with_transport_ip(nodes, cluster, tun_dst);
    if let Some(i) = name.as_deref().and_then(|n| by_name(nodes, n)) {
        return Ok(i);
    }
    nodes
        .iter()
        .enumerate()
        .position(|(j, n)| {
            !visited[j] && n.sightings.iter().any(|s| s.tunnels.first().is_some_and(|t| t.dst == tun_dst))
        })
        .ok_or(name)
}
