//! `analyze --match`: following real traffic through the captures. Two passes over every
//! capture: the first finds the seeds (packets matching the SPEC as the source Pod sent them)
//! and their identity keys, the second every sighting with one of those keys, wherever NAT and
//! tunnels took the packet. Seeds group into connections, whose packets the analyser gives a
//! fate (the first packet reconstructed exactly as a probe is, as a liveTraffic Traceflow reports
//! it); then the replies, the summary and, with `--dropped-only`, the drop flows that dropped.

use super::analyser::{Analyser, MAX_RECONSTRUCTED_PACKETS};
use super::connection::{group, Sent, Tuple};
use super::packets::{assemble, Candidate, RealPacket};
use super::report::{ConnectionResult, DropFlowReport, DropGroup, Fate, LiveResult, Summary, LIVE_SCHEMA};
use super::spec::LiveMatch;
use crate::antrea::drops::drop_flows_used;
use crate::antrea::observation::Component;
use crate::antrea::observe::{NoPolicies, PolicyLookup};
use crate::bundle::inputs::AnalysisInputs;
use crate::decode::evidence::CaptureReport;
use crate::decode::identity::Key;
use crate::decode::scan::{scan_files, ScanTarget, Want};
use crate::decode::sighting::Sighting;
use crate::decode::{IpInfo, TransportInfo};
use crate::ovs::delta::deltas;
use crate::trace::analyze::{
    damage_finding, input_findings, model, name_interfaces, worker_pool, AnalyzeError, AnalyzeOptions,
};
use crate::trace::model::NodeModel;
use crate::trace::result::EvidenceKind;
use crate::trace::result::{Finding, FindingKind};
use indicatif::ProgressBar;
use std::collections::{HashMap, HashSet};

/// Which connections to report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Which {
    /// The first connection, as Antrea's liveTraffic Traceflow reports it.
    #[default]
    First,
    /// Every connection.
    All,
    /// The first N connections.
    Count(usize),
}

/// What to follow and how.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// The packets, as the source Pod sent them.
    pub spec: LiveMatch,
    /// Only packets sent at or after this time (ns since the epoch).
    pub from_ns: Option<i64>,
    /// Only packets sent at or before this time.
    pub to_ns: Option<i64>,
    /// Which connections.
    pub which: Which,
    /// Only connections with a dropped packet.
    pub dropped_only: bool,
    /// Also follow each connection's replies, from the server back to the client.
    pub replies: bool,
    /// Scan threads, reconstruction and simulation options.
    pub analyze: AnalyzeOptions,
}

/// A packet a keyed scan kept: its identity key and where it was seen.
struct KeyedSighting {
    key: Key,
    sighting: Sighting,
}

/// Scans a node's captures for the real packets `select` accepts, with each one's key.
fn scan_keyed(
    node: &str,
    captures: &[std::path::PathBuf],
    progress: Option<&ProgressBar>,
    select: &crate::decode::scan::KeySelector<'_>,
) -> Vec<(CaptureReport, Vec<KeyedSighting>)> {
    let target = ScanTarget { node, want: Want::Keyed(select) };
    scan_files(&target, captures, progress)
        .into_iter()
        .map(|f| {
            let kept =
                f.keys.into_iter().zip(f.sightings).map(|(key, sighting)| KeyedSighting { key, sighting }).collect();
            (f.report, kept)
        })
        .collect()
}

/// What the two passes found: candidates of the followed packets and (with `--replies`) of
/// their replies, and the capture reports.
struct Found {
    forward: Vec<Candidate>,
    replies: Vec<Candidate>,
    reports: Vec<Vec<CaptureReport>>,
}

/// A connection's client port as its seeds show it (protocol, port): replies go back to it,
/// from whatever address NAT gave them.
type ClientPort = (u8, u16);

fn client_port(ip: &IpInfo, t: Option<&TransportInfo>) -> ClientPort {
    let tuple = Tuple::of(ip, t);
    (tuple.protocol, tuple.src_port)
}

fn bound_for(ip: &IpInfo, t: Option<&TransportInfo>) -> ClientPort {
    let tuple = Tuple::of(ip, t);
    (tuple.protocol, tuple.dst_port)
}

/// Pass 1 finds the seeds (packets matching the SPEC as sent, in the time window) and their
/// keys; pass 2 every sighting carrying one of those keys and, with `replies`, every packet
/// addressed to a seed's source port (a reply, if one of them turns out to leave the server
/// with a connection's reply tuple; the others are dropped when packets are assembled).
fn candidates(
    opts: &FollowOptions,
    inputs: &AnalysisInputs,
    pool: &rayon::ThreadPool,
    progress: Option<&ProgressBar>,
    findings: &mut Vec<Finding>,
) -> Found {
    let in_window = |t: Option<i64>| {
        opts.from_ns.is_none_or(|f| t.is_some_and(|t| t >= f)) && opts.to_ns.is_none_or(|to| t.is_some_and(|t| t <= to))
    };
    let seed_select = |ip: &IpInfo, t: Option<&TransportInfo>, _: &Key| opts.spec.admits(ip, t);
    let mut keys: HashSet<Key> = HashSet::new();
    let mut clients: HashSet<ClientPort> = HashSet::new();
    for n in &inputs.nodes {
        for (_, kept) in pool.install(|| scan_keyed(&n.name, &n.captures, None, &seed_select)) {
            for k in kept.iter().filter(|k| in_window(k.sighting.timestamp_ns)) {
                keys.insert(k.key);
                if opts.replies {
                    clients.insert(client_port(&k.sighting.ip, k.sighting.transport.as_ref()));
                }
            }
        }
    }
    let follow_select = |ip: &IpInfo, t: Option<&TransportInfo>, k: &Key| {
        keys.contains(k) || (!clients.is_empty() && clients.contains(&bound_for(ip, t)))
    };
    let mut found = Found { forward: Vec::new(), replies: Vec::new(), reports: Vec::new() };
    for n in &inputs.nodes {
        let mut node_reports = Vec::new();
        for (report, mut kept) in pool.install(|| scan_keyed(&n.name, &n.captures, progress, &follow_select)) {
            findings.extend(damage_finding(&n.name, &report));
            name_interfaces(n, kept.iter_mut().map(|k| &mut k.sighting));
            for k in kept {
                let (ip, t) = (&k.sighting.ip, k.sighting.transport.as_ref());
                let reply = clients.contains(&bound_for(ip, t)) && !keys.contains(&k.key);
                let candidate = Candidate {
                    seed: in_window(k.sighting.timestamp_ns) && opts.spec.admits(ip, t),
                    key: k.key,
                    sighting: k.sighting,
                };
                if reply {
                    found.replies.push(candidate);
                } else if keys.contains(&candidate.key) {
                    found.forward.push(candidate);
                }
            }
            node_reports.push(report);
        }
        found.reports.push(node_reports);
    }
    found
}

/// The tuple a connection's replies leave the server with: the reverse of the tuple its first
/// delivered packet arrived with.
fn reply_tuple(c: &super::connection::Connection, packets: &[RealPacket], result: &ConnectionResult) -> Option<Tuple> {
    let i = result.packets.iter().position(|r| r.fate == Fate::Delivered)?;
    let last = packets[*c.packets.get(i)?].sightings.last()?;
    Some(Tuple::of(&last.ip, last.transport.as_ref()).reversed())
}

/// Follows the real packets `opts.spec` selects through every node's captures.
pub fn follow(
    opts: &FollowOptions,
    inputs: &AnalysisInputs,
    progress: Option<&ProgressBar>,
) -> Result<LiveResult, AnalyzeError> {
    let mut findings = input_findings(inputs);
    let pool = worker_pool(opts.analyze.threads)?;
    let found = candidates(opts, inputs, &pool, progress, &mut findings);
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let (packets, untimed) = assemble(found.forward);
    if untimed > 0 {
        findings.push(Finding::new(
            FindingKind::BadInput,
            None,
            format!("{untimed} matching packets carry no capture time (pcapng Simple Packet Blocks): not followed"),
        ));
    }
    let mut models: Vec<NodeModel<'_>> = Vec::new();
    for (n, r) in inputs.nodes.iter().zip(found.reports) {
        let mut m = model(n, &mut findings);
        m.reports = r;
        models.push(m);
    }
    let moved = models
        .iter_mut()
        .map(|m| {
            let hit = m.hit.take();
            if hit.is_some() {
                m.no_counters =
                    Some("the flow counters moved for all traffic between the dumps, not for one packet".into());
            }
            hit.unwrap_or_default()
        })
        .collect();
    let mut analyser =
        Analyser { models, inputs, opts: &opts.analyze, reconstructed: 0, skipped: 0, findings: Vec::new(), moved };
    let all = group(&sent(&packets));
    let wanted = match opts.which {
        Which::First => 1,
        Which::All => usize::MAX,
        Which::Count(n) => n,
    };
    let mut connections = Vec::new();
    let mut reported = Vec::new();
    for c in all.iter() {
        if connections.len() >= wanted {
            break;
        }
        let result = analyser.connection(c, &packets, false);
        if opts.dropped_only && result.counts.dropped == 0 {
            continue;
        }
        reported.push(c);
        connections.push(result);
    }
    if opts.replies {
        let wanted: Vec<Option<Tuple>> =
            reported.iter().zip(&connections).map(|(c, r)| reply_tuple(c, &packets, r)).collect();
        let mut replies = found.replies;
        for r in &mut replies {
            r.seed = wanted.contains(&Some(Tuple::of(&r.sighting.ip, r.sighting.transport.as_ref())));
        }
        let (reply_packets, _) = assemble(replies);
        let reply_connections = group(&sent(&reply_packets));
        for (conn, want) in connections.iter_mut().zip(&wanted) {
            let Some(want) = want else { continue };
            if let Some(rc) = reply_connections.iter().find(|rc| rc.tuple == *want) {
                conn.replies = Some(Box::new(analyser.connection(rc, &reply_packets, true)));
            }
        }
    }
    if analyser.skipped > 0 {
        findings.push(Finding::new(
            FindingKind::Assumption,
            None,
            format!(
                "{} packets were not reconstructed one by one (at most {MAX_RECONSTRUCTED_PACKETS} per analysis): \
                 their fate is unknown unless they reached where their connection's first packet was delivered",
                analyser.skipped
            ),
        ));
    }
    findings.append(&mut analyser.findings);
    if packets.is_empty() {
        findings.push(nothing_matched(opts, &analyser.models));
    }
    let summary = Summary::of(all.len(), &connections, &drops(&connections));
    let drop_flows = if opts.dropped_only { drop_flows(inputs, &analyser.models) } else { Vec::new() };
    Ok(LiveResult {
        drop_flows,
        schema: LIVE_SCHEMA.to_string(),
        spec: opts.spec.text.clone(),
        seeds: packets.len() as u64,
        summary,
        connections,
        findings,
    })
}

/// Every node's drop flows that dropped packets (`--dropped-only`): between the dumps when the
/// node has an earlier one, else since they were installed.
fn drop_flows(inputs: &AnalysisInputs, models: &[NodeModel<'_>]) -> Vec<DropFlowReport> {
    let mut out = Vec::new();
    for (n, m) in inputs.nodes.iter().zip(models) {
        let (Some(view), Some(tables), Some(dump)) =
            (m.view(), m.tables(), n.artifacts.as_ref().and_then(|a| a.flows.as_ref()))
        else {
            continue;
        };
        let moved: Option<Vec<(usize, u64)>> =
            n.before.as_ref().map(|b| deltas(b, dump).into_iter().map(|d| (d.index, d.packets)).collect());
        let lookup: Box<dyn PolicyLookup + '_> = match m.policies() {
            Some(p) => Box::new(p),
            None => Box::new(NoPolicies),
        };
        for u in drop_flows_used(m.flows(), tables, view, lookup.as_ref(), moved.as_deref()) {
            let e = m.flow_evidence(u.index, EvidenceKind::Counter);
            out.push(DropFlowReport {
                node: m.name.clone(),
                table: u.table,
                component: u.component,
                network_policy: u.policy,
                network_policy_rule: u.rule,
                isolates: u.isolates,
                packets: u.packets,
                between_dumps: u.counted_between_dumps,
                installed_for_ms: u.duration_ms,
                idle_age_s: u.idle_age,
                flow: format!(
                    "{}:{}: {}",
                    e.file.unwrap_or_default(),
                    e.line.unwrap_or_default(),
                    e.text.unwrap_or_default()
                ),
            });
        }
    }
    out
}

/// Each packet as its source sent it, for the grouping into connections.
fn sent(packets: &[RealPacket]) -> Vec<Sent<'_>> {
    packets.iter().map(|p| Sent { time: p.time(), ip: &p.sent().ip, transport: p.sent().transport.as_ref() }).collect()
}

/// The drop points of dropped connections, grouped by node, component, policy and rule.
fn drops(connections: &[ConnectionResult]) -> Vec<DropGroup> {
    type At = (String, Component, Option<String>, Option<String>, Option<String>);
    let mut groups: HashMap<At, usize> = HashMap::new();
    for d in connections.iter().filter_map(|c| c.drop.as_ref()) {
        let k = (
            d.node.clone(),
            d.component,
            d.component_info.clone(),
            d.network_policy.clone(),
            d.network_policy_rule.clone(),
        );
        *groups.entry(k).or_default() += 1;
    }
    let mut out: Vec<DropGroup> = groups
        .into_iter()
        .map(|((node, component, component_info, network_policy, network_policy_rule), connections)| DropGroup {
            node,
            component,
            component_info,
            network_policy,
            network_policy_rule,
            connections,
        })
        .collect();
    out.sort_by(|a, b| {
        b.connections
            .cmp(&a.connections)
            .then_with(|| a.node.cmp(&b.node))
            .then_with(|| format!("{:?}", a.component).cmp(&format!("{:?}", b.component)))
    });
    out
}

/// Nothing matched the SPEC: what was searched.
fn nothing_matched(opts: &FollowOptions, models: &[NodeModel<'_>]) -> Finding {
    let searched: Vec<String> = models
        .iter()
        .flat_map(|m| m.reports.iter())
        .map(|r| {
            let span = match (r.first_ns, r.last_ns) {
                (Some(a), Some(b)) => {
                    format!(", {} .. {}", crate::time::rfc3339_nanos(a), crate::time::rfc3339_nanos(b))
                }
                _ => String::new(),
            };
            format!("{} ({} packets{span})", r.file, r.packets)
        })
        .collect();
    let message = if searched.is_empty() {
        format!("--match {}: no captures among the inputs", opts.spec.text)
    } else {
        format!(
            "--match {}: no packet in the captures matches it as sent; searched {}",
            opts.spec.text,
            searched.join(", ")
        )
    };
    Finding::new(FindingKind::MissingInput, None, message)
}
