//! Reconstruction: from each node's evidence (flow counters that moved, sightings of the probe in
//! captures, the pipeline's ports and Pods) to Antrea's ordered observations per node, with the
//! times, interfaces and evidence Antrea cannot give, clock offsets, and findings.
//!
//! The walk starts at the sender (the node that owns the source Pod), runs each node's pass
//! ([`super::pass`]: the terminal state from the counters or the simulation, the captures to
//! fill in, Antrea's rules to make the observations), and follows the tunnel to the node whose
//! transport IP the probe was sent to. Then the roles of the nodes on the path, the findings for
//! nodes it does not reach, the clock offsets from the tunnel crossings, and the phase.

use super::clock::{estimate, ClockEstimate, Crossing, MAX_CORRECTED_OFFSET_NS};
use super::model::NodeModel;
use super::pass::{node_pass, PassContext};
use super::phase::phase;
use super::result::{Finding, FindingKind, TraceResult, RESULT_SCHEMA};
use super::sender::{self, Start};
use super::simulate::{simulate, SimulatedNode};
use crate::antrea::observation::{Action, Component, NodeResult, Phase, Role};
use crate::bundle::cluster::ClusterInfo;
use crate::ovs::sim::SimOptions;
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
    /// The simulator's conntrack state and select-group buckets chosen by the user.
    pub sim: SimOptions,
    /// Service endpoints the user says the load balancer chose.
    pub endpoints: Vec<IpAddr>,
}

/// The path walked across nodes.
struct Walk {
    results: Vec<NodeResult>,
    crossings: Vec<Crossing>,
    visited: Vec<bool>,
}

/// Where a walk starts: the node, whether it is the sender, and (when it is not) the
/// addresses the probe carried when it arrived there.
type WalkStart = (usize, Option<usize>, Option<(IpAddr, IpAddr)>);

/// Walks from the first node by node across tunnels.
fn walk(
    ctx: &PassContext<'_>,
    nodes: &[NodeModel<'_>],
    (first, sender, arrived): WalkStart,
    simulated: &HashMap<String, SimulatedNode>,
    findings: &mut Vec<Finding>,
) -> Walk {
    let mut w = Walk { results: Vec::new(), crossings: Vec::new(), visited: vec![false; nodes.len()] };
    let mut current = Some((first, None::<i64>));
    let mut arriving: Option<(IpAddr, IpAddr)> = arrived; // addresses as they arrive on the next node
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
        let is_sender = Some(idx) == sender;
        if idx != first && node.has_captures && node.sightings.is_empty() && node.covers_entry(false, ctx.probe.ip.src)
        {
            let from = w.results.last().map(|r| r.node.clone()).unwrap_or_default();
            findings.push(Finding::new(
                FindingKind::Lost,
                Some(&node.name),
                format!(
                    "{from} tunnelled the probe to {}, but its captures, which cover where the probe would arrive, show no sighting: it was lost on the way, or the captures did not run at that time",
                    node.name
                ),
            ));
            break;
        }
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
        match sender::tunnel_peer(nodes, ctx.cluster, &w.visited, tun_dst) {
            Ok(j) => current = Some((j, pass.exit_time)),
            Err(name) => findings.push(Finding::new(
                FindingKind::MissingInput,
                name.as_deref(),
                format!(
                    "the probe was forwarded to the node with transport IP {tun_dst}{}, but no input names that node (add its directory, bundle or evidence)",
                    name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
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
fn apply_clocks(
    results: &mut [NodeResult],
    crossings: &[Crossing],
    opts: &Options,
    findings: &mut Vec<Finding>,
) -> Vec<ClockEstimate> {
    let names: Vec<String> = results.iter().map(|r| r.node.clone()).collect();
    let latency = if opts.wire_latency_ns > 0 { opts.wire_latency_ns } else { smallest_hop(results).unwrap_or(0) };
    let mut clocks = if crossings.is_empty() { Vec::new() } else { estimate(&names[0], &names, crossings, latency) };
    for c in clocks.iter_mut().filter(|c| c.offset_ns.abs() > MAX_CORRECTED_OFFSET_NS) {
        findings.push(Finding::new(
            FindingKind::Disagreement,
            Some(&c.node),
            format!(
                "the tunnel crossing puts this node's clock {:.1} s {} the sender's, more than the {} s hoptrace corrects: times are left as captured (check the node's NTP, or whether its captures are of another run)",
                c.offset_ns.unsigned_abs() as f64 / 1e9,
                if c.offset_ns > 0 { "behind" } else { "ahead of" },
                MAX_CORRECTED_OFFSET_NS / 1_000_000_000
            ),
        ));
        c.offset_ns = 0;
        c.bound_ns = None;
    }
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
    let failed = |reason: String, findings: Vec<Finding>| TraceResult {
        schema: RESULT_SCHEMA.into(),
        phase: Phase::Failed,
        reason: Some(reason),
        dataplane_tag: probe.dataplane_tag,
        source: source.clone(),
        destination: destination.clone(),
        results: vec![],
        clocks: vec![],
        findings,
    };
    let start: WalkStart = match sender::choose(probe, nodes, cluster) {
        Start::Sender(i, _) => (i, Some(i), None),
        Start::Missing { name, why, first } => {
            findings.push(Finding::new(
                FindingKind::MissingInput,
                Some(&name),
                format!("{why}, but no input is from {name}: its flows and captures (directory, bundle or evidence) are needed for the sender's observations"),
            ));
            match first {
                Some((i, addrs)) => (i, None, Some(addrs)),
                None => return failed(format!("the sender {name} has no inputs"), findings),
            }
        }
        Start::Unknown => {
            return failed(
                format!(
                    "no node owns the source {} and no capture shows the probe (tag {})",
                    probe.ip.src, probe.dataplane_tag
                ),
                nodes.iter().map(no_input_finding).collect(),
            )
        }
    };
    let sender = start.1;
    if let Some(i) = sender {
        if nodes.iter().all(|n| n.sightings.is_empty())
            && nodes[i].has_captures
            && nodes[i].covers_entry(true, probe.ip.src)
        {
            findings.push(not_found(probe, nodes));
            return failed(format!("the probe ({}) is not in the captures", describe(probe)), findings);
        }
    }
    let simulated = match sender.filter(|_| opts.simulate) {
        Some(i) => simulate(probe, nodes, i, opts, &mut findings),
        None => HashMap::new(),
    };
    let ctx = PassContext { probe, cluster, detail_hops: opts.hops };
    let mut w = walk(&ctx, nodes, start, &simulated, &mut findings);
    assign_roles(&mut w.results);
    unreached(nodes, &w, &mut findings);
    let clocks = apply_clocks(&mut w.results, &w.crossings, opts, &mut findings);
    let has_source_pod = probe.source.as_ref().is_some_and(|s| s.kind == crate::probe::EndpointKind::Pod)
        || sender.is_some_and(|i| nodes[i].view().is_some_and(|v| v.pod_by_ip(probe.ip.src).is_some()));
    let phase = phase(&w.results, has_source_pod);
    let reason = (phase != Phase::Succeeded).then(|| {
        let last = w.results.last().map(|r| r.node.clone()).unwrap_or_default();
        let terminal = w.results.iter().flat_map(|r| &r.observations).any(|o| o.action.is_terminal());
        if terminal && sender.is_none() {
            format!(
                "incomplete: no observation from the sender (the node of the source Pod); last node reached: {last}"
            )
        } else {
            format!("incomplete: no terminal observation (last node reached: {last})")
        }
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

/// The probe as a user would recognise it: tag, protocol, addresses and ports, IP identity.
pub fn describe(probe: &Probe) -> String {
    let ports = probe.transport.ports();
    let ep = |ip: IpAddr, port: Option<u16>| match (ip, port) {
        (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
        (a, Some(p)) => format!("{a}:{p}"),
        (a, None) => a.to_string(),
    };
    let ident = match (probe.ip.identification, probe.ip.flow_label) {
        (Some(id), _) => format!(", IPv4 ID {id}"),
        (None, Some(l)) => format!(", flow label {l:#x}"),
        _ => String::new(),
    };
    format!(
        "tag {}, {} {} > {}{ident}",
        probe.dataplane_tag,
        probe.transport.name().to_uppercase(),
        ep(probe.ip.src, ports.map(|p| p.0)),
        ep(probe.ip.dst, ports.map(|p| p.1)),
    )
}

/// The probe is in none of the captures although the sender's would have shown it: what was
/// searched (per node, and per capture the span of time it covers), when probe.json says the
/// probe was sent, and the nearest misses.
fn not_found(probe: &Probe, nodes: &[NodeModel<'_>]) -> Finding {
    let sends: Vec<i64> = probe.sends.iter().filter_map(|s| i64::try_from(s.time_ns).ok()).collect();
    let searched: Vec<String> = nodes
        .iter()
        .filter(|n| n.has_captures)
        .map(|n| {
            let packets: u64 = n.reports.iter().map(|r| r.packets).sum();
            let mut ifaces: Vec<&str> =
                n.reports.iter().flat_map(|r| r.interfaces.iter().map(String::as_str)).collect();
            ifaces.sort_unstable();
            ifaces.dedup();
            let (full, empty): (Vec<_>, Vec<_>) = n.reports.iter().partition(|r| r.packets > 0);
            let mut spans: Vec<String> = full.iter().take(MAX_LISTED_SPANS).map(|r| span(r, &sends)).collect();
            if full.len() > MAX_LISTED_SPANS {
                spans.push(format!("{} more", full.len() - MAX_LISTED_SPANS));
            }
            if !empty.is_empty() {
                spans.push(format!("{} without packets", empty.len()));
            }
            format!(
                "{} ({} capture(s), {packets} packets{}: {})",
                n.name,
                n.reports.len(),
                if ifaces.is_empty() { String::new() } else { format!(", interfaces {}", ifaces.join(" ")) },
                spans.join(", ")
            )
        })
        .collect();
    let sent = match (sends.iter().min(), sends.iter().max()) {
        (Some(a), Some(b)) if a == b => format!(" probe.json records it sent at {}.", seconds(*a)),
        (Some(a), Some(b)) => format!(" probe.json records it sent from {} to {}.", seconds(*a), seconds(*b)),
        _ => String::new(),
    };
    Finding::new(
        FindingKind::MissingInput,
        None,
        format!(
            "no capture holds a sighting of the probe ({}); searched {}.{sent}{}{} Check that probe.json is the one that was injected and that the captures ran while it was sent; no path is built from other traffic",
            describe(probe),
            searched.join("; "),
            near_misses(nodes),
            tuple_near_misses(probe, nodes),
        ),
    )
}

/// The most captures per node whose time span the not-found finding lists.
const MAX_LISTED_SPANS: usize = 8;

/// A time to the second, as the user reads it beside a capture's span.
fn seconds(ns: i64) -> String {
    let t = rfc3339_nanos(ns - ns.rem_euclid(1_000_000_000));
    t.replace(".000000000Z", "Z")
}

/// One capture's name and the span of time it covers; marked when probe.json's send times
/// are known and none falls in it (give or take the clock offset hoptrace corrects).
fn span(r: &crate::decode::evidence::CaptureReport, sends: &[i64]) -> String {
    let name = std::path::Path::new(&r.file).file_name().map_or(r.file.clone(), |f| f.to_string_lossy().into_owned());
    match (r.first_ns, r.last_ns) {
        (Some(a), Some(b)) => {
            let slack = MAX_CORRECTED_OFFSET_NS;
            let outside =
                !sends.is_empty() && sends.iter().all(|&t| t < a.saturating_sub(slack) || t > b.saturating_add(slack));
            format!(
                "{name} {}..{}{}",
                seconds(a),
                seconds(b),
                if outside { " (not while the probe was sent)" } else { "" }
            )
        }
        _ => format!("{name} without packet times"),
    }
}

/// What the captures held with the probe's tag but not its fingerprint, said in a sentence
/// (empty when nothing): the nearest misses, e.g. a probe from another run.
fn near_misses(nodes: &[NodeModel<'_>]) -> String {
    let count: u64 = nodes.iter().flat_map(|n| &n.reports).map(|r| r.near_misses).sum();
    let Some((file, first)) =
        nodes.iter().flat_map(|n| &n.reports).find_map(|r| r.listed_near_misses.first().map(|m| (&r.file, m)))
    else {
        return String::new();
    };
    let ident = first.ident.map(|i| format!(", IP ID / flow label {i:#x}")).unwrap_or_default();
    let time = first.timestamp_ns.map(|t| format!(" at {}", crate::time::rfc3339_nanos(t))).unwrap_or_default();
    format!(
        " {count} packet(s) carry the probe's tag without the rest of its fingerprint (another probe or run?), the first {file} packet {}{time}: {} > {}, protocol {}{ident}.",
        first.packet, first.src, first.dst, first.protocol
    )
}

/// What the captures held with the probe's 5-tuple (as sent or after a predicted DNAT) but
/// another DSCP, said in a sentence (empty when nothing): the probe with its tag cleared or
/// rewritten on the way (when the IP identity is the probe's too), or the same connection's
/// other packets.
fn tuple_near_misses(probe: &Probe, nodes: &[NodeModel<'_>]) -> String {
    let count: u64 = nodes.iter().flat_map(|n| &n.reports).map(|r| r.tuple_near_misses).sum();
    let Some((file, first)) =
        nodes.iter().flat_map(|n| &n.reports).find_map(|r| r.listed_tuple_near_misses.first().map(|m| (&r.file, m)))
    else {
        return String::new();
    };
    let probe_ident = probe.ip.identification.map(u32::from).or(probe.ip.flow_label);
    let ident = match first.ident {
        Some(i) if Some(i) == probe_ident => format!(
            ", the probe's own IP ID / flow label {i:#x} (likely the probe itself, its tag cleared or rewritten on the way)"
        ),
        Some(i) => format!(", IP ID / flow label {i:#x} (not the probe's: other packets of the same connection?)"),
        None => String::new(),
    };
    let ep = |ip: IpAddr, port: Option<u16>| match (ip, port) {
        (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
        (a, Some(p)) => format!("{a}:{p}"),
        (a, None) => a.to_string(),
    };
    let time = first.timestamp_ns.map(|t| format!(" at {}", crate::time::rfc3339_nanos(t))).unwrap_or_default();
    let dscp = first.dscp.map(|d| format!("DSCP {d}")).unwrap_or_else(|| "another DSCP".into());
    format!(
        " {count} packet(s) have the probe's addresses, protocol and ports (as sent, or after the DNAT its Service's flows predict) but not its tag {}, the first {file} packet {}{time}: {} > {}, {dscp}{ident}.",
        probe.dataplane_tag,
        first.packet,
        ep(first.src, first.ports.map(|p| p.0)),
        ep(first.dst, first.ports.map(|p| p.1)),
    )
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
