//! Reconstruction: from each node's evidence (flow counters that moved, sightings of the probe in
//! captures, the pipeline's ports and Pods) to Antrea's ordered observations per node, with the
//! times, interfaces and evidence Antrea cannot give, clock offsets, and findings.
//!
//! The walk starts at the sender (the node that owns the source Pod), runs each node's pass
//! ([`super::pass`]: the terminal state from the counters or the simulation, the captures to
//! fill in, Antrea's rules to make the observations), and follows the tunnel to the node whose
//! transport IP the probe was sent to. Then the roles of the nodes on the path, the findings for
//! nodes it does not reach, the clock offsets from the tunnel crossings, and the phase.

use super::clock::{estimate, ClockEstimate, Crossing};
use super::model::NodeModel;
use super::pass::{node_pass, PassContext};
use super::phase::phase;
use super::place::{place, Place};
use super::result::{Finding, FindingKind, TraceResult, RESULT_SCHEMA};
use super::simulate::{simulate, SimulatedNode};
use crate::antrea::observation::{Action, Component, NodeResult, Phase, Role};
use crate::bundle::cluster::ClusterInfo;
use crate::probe::Probe;
use crate::time::rfc3339_nanos;
use std::collections::HashMap;
use std::net::IpAddr;

/// Options of a reconstruction.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Add one observation per pipeline stage crossed (`--detail hops`).
    pub hops: bool,
    /// Simulate the probe through the dumped pipelines (for nodes without counter deltas, and as
    /// a cross-check of those with them).
    pub simulate: bool,
    /// Assumed one-way wire latency between nodes for clock estimation (ns); 0 = the smallest
    /// same-node hop latency the captures show.
    pub wire_latency_ns: i64,
}

/// The sender: the node whose flows own the source IP, else the one that saw the probe leave a
/// Pod port with its original TTL, else the one that saw it first.
fn sender(probe: &Probe, nodes: &[NodeModel<'_>]) -> Option<usize> {
    let src = probe.ip.src;
    nodes
        .iter()
        .position(|n| n.view().is_some_and(|v| v.pod_by_ip(src).is_some()))
        .or_else(|| {
            nodes.iter().position(|n| {
                n.sightings
                    .iter()
                    .any(|s| s.ip.src == src && s.ip.ttl == probe.ip.ttl && matches!(place(n, s), Place::Pod(..)))
            })
        })
        .or_else(|| {
            nodes
                .iter()
                .enumerate()
                .filter_map(|(i, n)| n.sightings.iter().filter_map(|s| s.timestamp_ns).min().map(|t| (t, i)))
                .min()
                .map(|(_, i)| i)
        })
}

/// The node the probe was tunnelled to: the one with that transport IP; without agent info,
/// the one whose underlay capture shows the probe arriving for it.
fn tunnel_peer(nodes: &[NodeModel<'_>], visited: &[bool], tun_dst: IpAddr) -> Option<usize> {
    nodes.iter().position(|n| n.transport_ips().contains(&tun_dst)).or_else(|| {
        nodes.iter().enumerate().position(|(j, n)| {
            !visited[j] && n.sightings.iter().any(|s| s.tunnels.first().is_some_and(|t| t.dst == tun_dst))
        })
    })
}

/// The path walked across nodes.
struct Walk {
    results: Vec<NodeResult>,
    crossings: Vec<Crossing>,
    visited: Vec<bool>,
}

/// Walks from the sender node by node across tunnels.
fn walk(
    ctx: &PassContext<'_>,
    nodes: &[NodeModel<'_>],
    sender: usize,
    simulated: &HashMap<String, SimulatedNode>,
    findings: &mut Vec<Finding>,
) -> Walk {
    let mut w = Walk { results: Vec::new(), crossings: Vec::new(), visited: vec![false; nodes.len()] };
    let mut current = Some((sender, None::<i64>));
    let mut arriving: Option<(IpAddr, IpAddr)> = None; // addresses as they arrive on the next node
    while let Some((idx, sent_at)) = current.take() {
        let node = &nodes[idx];
        if w.visited[idx] {
            findings.push(Finding::new(
                FindingKind::Disagreement,
                Some(&node.name),
                "the path returns to a node already crossed; stopping",
            ));
            break;
        }
        w.visited[idx] = true;
        let is_sender = idx == sender;
        let mut pass = node_pass(ctx, node, is_sender, arriving, simulated.get(&node.name), findings);
        if let (Some(sent), Some(first)) = (sent_at, pass.result.observations.first().and_then(|o| o.raw_time_ns)) {
            w.crossings.push(Crossing {
                from: w.results.last().map(|r| r.node.clone()).unwrap_or_default(),
                to: node.name.clone(),
                sent_ns: sent,
                received_ns: first,
            });
        }
        pass.result.role = Some(if is_sender { Role::Sender } else { Role::Receiver });
        w.results.push(pass.result);
        let Some((tun_dst, addrs)) = pass.next else { continue };
        arriving = Some(addrs);
        match tunnel_peer(nodes, &w.visited, tun_dst) {
            Some(j) => current = Some((j, pass.exit_time)),
            None => findings.push(Finding::new(
                FindingKind::MissingInput,
                None,
                format!(
                    "the probe was forwarded to the node with transport IP {tun_dst}, but no input names that node (add its directory, bundle or evidence)"
                ),
            )),
        }
    }
    w
}

/// Earlier nodes on the path are transit when a later one ends it; a later node that SNATs the
/// probe out is the Egress node.
fn assign_roles(results: &mut [NodeResult]) {
    let n = results.len();
    for (i, r) in results.iter_mut().enumerate() {
        let snat_here =
            r.observations.iter().any(|o| o.component == Component::Egress && o.action == Action::MarkedForSNAT);
        if i > 0 && snat_here {
            r.role = Some(Role::Egress);
        } else if i > 0 && i + 1 < n {
            r.role = Some(Role::Transit);
        }
    }
}

/// Findings for the nodes the path does not reach: no input at all, or sightings off the path.
fn unreached(nodes: &[NodeModel<'_>], w: &Walk, findings: &mut Vec<Finding>) {
    let left_network = w
        .results
        .last()
        .and_then(|r| r.observations.last())
        .is_some_and(|o| matches!(o.action, Action::ForwardedOutOfNetwork | Action::ForwardedOutOfOverlay));
    for (i, n) in nodes.iter().enumerate() {
        if !w.visited[i] && n.artifacts.is_none() && n.sightings.is_empty() && !n.has_captures {
            findings.push(no_input_finding(n));
        } else if !(w.visited[i]
            || n.sightings.is_empty()
            || left_network && n.sightings.iter().all(|s| s.tunnels.is_empty()))
        {
            // (A probe forwarded out of the network may well reach another node's host bare:
            // that is routing outside OVS, not a contradiction.)
            findings.push(Finding::new(
                FindingKind::Disagreement,
                Some(&n.name),
                format!(
                    "{} sighting(s) of the probe on a node the reconstructed path does not reach (first: {} packet {})",
                    n.sightings.len(),
                    n.sightings[0].file,
                    n.sightings[0].packet
                ),
            ));
        }
    }
}

/// Estimates the clock offsets from the tunnel crossings and gives every observation its
/// corrected time.
fn apply_clocks(results: &mut [NodeResult], crossings: &[Crossing], opts: &Options) -> Vec<ClockEstimate> {
    let names: Vec<String> = results.iter().map(|r| r.node.clone()).collect();
    let latency = if opts.wire_latency_ns > 0 { opts.wire_latency_ns } else { smallest_hop(results).unwrap_or(0) };
    let clocks = if crossings.is_empty() { Vec::new() } else { estimate(&names[0], &names, crossings, latency) };
    for r in results.iter_mut() {
        let off = clocks.iter().find(|c| c.node == r.node).map_or(0, |c| c.offset_ns);
        for o in &mut r.observations {
            o.time = o.raw_time_ns.map(|t| rfc3339_nanos(t + off));
        }
        r.timestamp = r.observations.iter().find_map(|o| o.raw_time_ns).map(|t| (t + off).div_euclid(1_000_000_000));
    }
    clocks
}

fn endpoint_names(probe: &Probe) -> (Option<String>, Option<String>) {
    (
        probe.source.as_ref().and_then(|e| e.name.clone()).or(Some(probe.ip.src.to_string())),
        probe.destination.as_ref().and_then(|e| e.name.clone()).or(Some(probe.ip.dst.to_string())),
    )
}

/// Reconstructs the probe's path.
pub fn reconstruct(
    probe: &Probe,
    nodes: &[NodeModel<'_>],
    cluster: Option<&ClusterInfo>,
    opts: &Options,
) -> TraceResult {
    let mut findings: Vec<Finding> = Vec::new();
    let (source, destination) = endpoint_names(probe);
    let Some(sender) = sender(probe, nodes) else {
        return TraceResult {
            schema: RESULT_SCHEMA.into(),
            phase: Phase::Failed,
            reason: Some(format!(
                "no node owns the source {} and no capture shows the probe (tag {})",
                probe.ip.src, probe.dataplane_tag
            )),
            dataplane_tag: probe.dataplane_tag,
            source,
            destination,
            results: vec![],
            clocks: vec![],
            findings: nodes.iter().map(no_input_finding).collect(),
        };
    };
    let simulated = if opts.simulate { simulate(probe, nodes, sender) } else { HashMap::new() };
    let ctx = PassContext { probe, cluster, detail_hops: opts.hops };
    let mut w = walk(&ctx, nodes, sender, &simulated, &mut findings);
    assign_roles(&mut w.results);
    unreached(nodes, &w, &mut findings);
    let clocks = apply_clocks(&mut w.results, &w.crossings, opts);
    let has_source_pod = probe.source.as_ref().is_some_and(|s| s.kind == crate::probe::EndpointKind::Pod)
        || nodes[sender].view().is_some_and(|v| v.pod_by_ip(probe.ip.src).is_some());
    let phase = phase(&w.results, has_source_pod);
    let reason = (phase != Phase::Succeeded).then(|| {
        let last = w.results.last().map(|r| r.node.clone()).unwrap_or_default();
        format!("incomplete: no terminal observation (last node reached: {last})")
    });
    TraceResult {
        schema: RESULT_SCHEMA.into(),
        phase,
        reason,
        dataplane_tag: probe.dataplane_tag,
        source,
        destination,
        results: w.results,
        clocks,
        findings,
    }
}

fn no_input_finding(n: &NodeModel<'_>) -> Finding {
    Finding::new(FindingKind::MissingInput, Some(&n.name), "no flows, captures or evidence for this node")
}

/// The smallest positive gap between two timed observations of one node.
fn smallest_hop(results: &[NodeResult]) -> Option<i64> {
    results
        .iter()
        .flat_map(|r| {
            let t: Vec<i64> = r.observations.iter().filter_map(|o| o.raw_time_ns).collect();
            t.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0).collect::<Vec<_>>()
        })
        .min()
}
