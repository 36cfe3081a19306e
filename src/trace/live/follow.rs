//! `analyze --match`: following real traffic through the captures. Two passes over every
//! capture: the first finds the seeds (packets matching the SPEC as the source Pod sent them)
//! and their identity keys, the second every sighting with one of those keys, wherever NAT and
//! tunnels took the packet. Seeds group into connections; each connection's first packet is
//! reconstructed exactly as a probe is (the Antrea observations of a liveTraffic Traceflow),
//! and every later packet that did not get as far as a delivered first packet is reconstructed
//! on its own, in the conntrack state it had (`+est` for an established TCP packet, which skips
//! the policy tables).

use super::connection::{group, Sent, Tuple};
use super::packets::{assemble, Candidate, RealPacket};
use super::report::{
    ConnectionResult, Counts, DropGroup, DropPoint, Fate, LiveResult, PacketResult, SeenAt, Summary, LIVE_SCHEMA,
};
use super::spec::LiveMatch;
use crate::antrea::observation::{Action, Component};
use crate::bundle::inputs::AnalysisInputs;
use crate::decode::identity::Key;
use crate::decode::scan::{scan_files_keyed, KeyedSighting};
use crate::decode::{IpInfo, TransportInfo};
use crate::probe::schema::{EthernetFields, Frame, IpFields};
use crate::probe::{Fingerprint, Probe, Transport, PROBE_SCHEMA};
use crate::trace::analyze::{model, name_findings, name_interfaces, AnalyzeError, AnalyzeOptions};
use crate::trace::model::NodeModel;
use crate::trace::reconstruct::reconstruct;
use crate::trace::result::{Finding, FindingKind, TraceResult};
use indicatif::ProgressBar;
use std::collections::{HashMap, HashSet};

/// The most packets reconstructed one by one in one analysis (first packets of connections
/// included); packets beyond it keep the fate their sightings alone give ("unknown" unless they
/// reached the delivery point of their connection), and a finding says how many.
pub const MAX_RECONSTRUCTED_PACKETS: usize = 2000;

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
    /// Scan threads, reconstruction and simulation options.
    pub analyze: AnalyzeOptions,
}

/// Pass 1 and 2: every candidate sighting on every node (seed or carrying a seed's key), and the
/// capture reports of pass 2.
fn candidates(
    opts: &FollowOptions,
    inputs: &AnalysisInputs,
    pool: &rayon::ThreadPool,
    progress: Option<&ProgressBar>,
    findings: &mut Vec<Finding>,
) -> (Vec<Candidate>, Vec<Vec<crate::decode::evidence::CaptureReport>>) {
    let in_window = |s: &KeyedSighting| {
        let t = s.sighting.timestamp_ns;
        opts.from_ns.is_none_or(|f| t.is_some_and(|t| t >= f)) && opts.to_ns.is_none_or(|to| t.is_some_and(|t| t <= to))
    };
    let is_seed = |ip: &IpInfo, t: Option<&TransportInfo>| opts.spec.admits(ip, t);
    let seed_select = |ip: &IpInfo, t: Option<&TransportInfo>, _: &Key| is_seed(ip, t);
    let mut keys: HashSet<Key> = HashSet::new();
    for n in &inputs.nodes {
        for (_, kept) in pool.install(|| scan_files_keyed(&n.name, &n.captures, None, &seed_select)) {
            keys.extend(kept.iter().filter(|k| in_window(k)).map(|k| k.key));
        }
    }
    let follow_select = |_: &IpInfo, _: Option<&TransportInfo>, k: &Key| keys.contains(k);
    let mut out = Vec::new();
    let mut reports = Vec::new();
    for n in &inputs.nodes {
        let mut node_reports = Vec::new();
        for (report, kept) in pool.install(|| scan_files_keyed(&n.name, &n.captures, progress, &follow_select)) {
            if let Some(e) = &report.error {
                findings.push(Finding::new(
                    FindingKind::BadInput,
                    Some(&n.name),
                    format!("{}: packet {} (byte {}): {}", report.file, e.packet, e.offset, e.message),
                ));
            }
            let mut sightings: Vec<KeyedSighting> = kept;
            let mut plain: Vec<_> = sightings.iter().map(|k| k.sighting.clone()).collect();
            name_interfaces(n, &mut plain);
            for (k, named) in sightings.iter_mut().zip(plain) {
                k.sighting = named;
            }
            out.extend(sightings.into_iter().map(|k| Candidate {
                seed: in_window(&k) && is_seed(&k.sighting.ip, k.sighting.transport.as_ref()),
                key: k.key,
                sighting: k.sighting,
            }));
            node_reports.push(report);
        }
        reports.push(node_reports);
    }
    (out, reports)
}

/// A real packet as the reconstruction's "probe": its headers as sent, its length, no tag.
fn as_probe(p: &RealPacket) -> Probe {
    let s = p.sent();
    let l2 = s.inner_l2.as_ref().or(s.outer_l2.as_ref());
    let ip = &s.ip;
    let transport = match s.transport {
        Some(TransportInfo::Tcp { src_port, dst_port, seq, ack, flags }) => {
            Transport::Tcp { src_port, dst_port, flags, seq, ack }
        }
        Some(TransportInfo::Udp { src_port, dst_port, .. }) => Transport::Udp { src_port, dst_port },
        Some(TransportInfo::Sctp { src_port, dst_port, verification_tag, .. }) => {
            Transport::Sctp { src_port, dst_port, initiate_tag: verification_tag, initial_tsn: 0 }
        }
        Some(TransportInfo::Icmp { id, sequence, .. }) => {
            Transport::Icmp { id: id.unwrap_or(0), sequence: sequence.unwrap_or(0) }
        }
        None => Transport::Icmp { id: 0, sequence: 0 },
    };
    Probe {
        schema: PROBE_SCHEMA.to_string(),
        dataplane_tag: ip.dscp,
        ethernet: EthernetFields {
            src: l2.map(|l| l.src).or(s.cooked_src_mac).unwrap_or_default(),
            dst: l2.map(|l| l.dst).unwrap_or_default(),
        },
        ip: IpFields {
            version: ip.version,
            src: ip.src,
            dst: ip.dst,
            dscp: ip.dscp,
            ecn: ip.ecn,
            ttl: ip.ttl,
            protocol: ip.protocol,
            length: ip.length,
            identification: ip.identification,
            flags: None,
            flow_label: ip.flow_label,
        },
        transport,
        fingerprint: Fingerprint {
            dscp: ip.dscp,
            ip_version: ip.version,
            protocol: ip.protocol,
            ipv4_id: ip.identification,
            flow_label: ip.flow_label,
            icmp_type: None,
            icmp_id: None,
            icmp_seq: None,
            tcp_seq: None,
            udp_length: None,
            sctp_initiate_tag: None,
        },
        frame: Frame { length: s.original_length as usize, hex: String::new() },
        capture_filter: String::new(),
        source: None,
        destination: None,
        seed: None,
        created_by: "hoptrace analyze --match".to_string(),
        sends: Vec::new(),
    }
}

/// The conntrack state a packet of a connection meets after recirculation: `+new` for a
/// connection's first packet, a retransmitted SYN (a dropped SYN is never committed) and UDP or
/// ICMP (no replies are followed: conntrack keeps such a flow `+new` until one is seen);
/// `+est` for a later TCP packet, which Antrea's policy tables let pass.
fn ct_state(p: &RealPacket, first: bool) -> Option<&'static str> {
    match p.sent().transport {
        Some(TransportInfo::Tcp { flags, .. }) if !first && !(flags & 0x02 != 0 && flags & 0x10 == 0) => {
            Some("+est+trk")
        }
        _ => None,
    }
}

/// Reconstructs one packet with its sightings placed on their nodes.
fn reconstruct_packet(
    p: &RealPacket,
    first: bool,
    models: &mut [NodeModel<'_>],
    inputs: &AnalysisInputs,
    opts: &AnalyzeOptions,
) -> (TraceResult, Option<&'static str>) {
    for m in models.iter_mut() {
        m.sightings = p.sightings.iter().filter(|s| s.node == m.name).cloned().collect();
    }
    let state = ct_state(p, first);
    let mut ro = opts.reconstruct.clone();
    if let Some(state) = state {
        // An override for every zone: the established state holds wherever it recirculates.
        let _ = ro.sim.ct.add_override(state);
    }
    (reconstruct(&as_probe(p), models, inputs.cluster.as_ref(), &ro), state)
}

/// The fate a reconstruction gives, and where it ended when dropped.
fn fate_of(r: &TraceResult) -> (Fate, Option<DropPoint>) {
    let terminal =
        r.results.iter().flat_map(|n| n.observations.iter().map(move |o| (n, o))).find(|(_, o)| o.action.is_terminal());
    match terminal {
        Some((n, o)) => match o.action {
            Action::Dropped | Action::Rejected => (
                Fate::Dropped,
                Some(DropPoint {
                    node: n.node.clone(),
                    component: o.component,
                    action: o.action,
                    component_info: o.component_info.clone(),
                    network_policy: o.network_policy.clone(),
                    network_policy_rule: o.network_policy_rule.clone(),
                    evidence: o.evidence.iter().map(|e| e.kind).collect(),
                }),
            ),
            Action::ForwardedOutOfNetwork | Action::ForwardedOutOfOverlay => (Fate::ForwardedOut, None),
            _ if r.phase == crate::antrea::observation::Phase::Succeeded => (Fate::Delivered, None),
            _ => (Fate::Unknown, None),
        },
        None => (Fate::Unknown, None),
    }
}

fn seen_at(s: &crate::decode::sighting::Sighting) -> SeenAt {
    SeenAt {
        node: s.node.clone(),
        interface: s.interface.clone(),
        file: s.file.clone(),
        packet: s.packet,
        time: s.timestamp_ns.map(crate::time::rfc3339_nanos),
        tuple: Tuple::of(&s.ip, s.transport.as_ref()).to_string(),
        ttl: s.ip.ttl,
    }
}

/// Capture points (file, interface) in the order a packet crossed them.
fn points(p: &RealPacket) -> Vec<(&str, Option<&str>)> {
    let mut out: Vec<(&str, Option<&str>)> = Vec::new();
    for s in &p.sightings {
        let point = (s.file.as_str(), s.interface.as_deref());
        if !out.contains(&point) {
            out.push(point);
        }
    }
    out
}

/// TCP: same sequence number, flags and length as an earlier packet of the connection.
fn retransmission(earlier: &[&RealPacket], p: &RealPacket) -> bool {
    let sig = |k: &Key| (k.a, k.b & 0xff, k.payload_len);
    p.key.protocol == 6 && earlier.iter().any(|e| sig(&e.key) == sig(&p.key))
}

/// Where the first packet was delivered: the post-NAT destination as its last sighting shows it,
/// named through the inventory.
fn endpoint(p: &RealPacket, inputs: &AnalysisInputs) -> Option<String> {
    let last = p.sightings.last()?;
    let port = last.transport.as_ref().and_then(TransportInfo::ports).map(|(_, d)| d);
    let pod = inputs.cluster.as_ref().and_then(|c| c.pod_by_ip(last.ip.dst));
    let addr = match port {
        Some(port) => format!("{}:{port}", last.ip.dst),
        None => last.ip.dst.to_string(),
    };
    Some(match pod {
        Some(pod) => format!("{}/{} {addr}", pod.namespace, pod.name),
        None => addr,
    })
}

/// Follows the real packets `opts.spec` selects through every node's captures.
pub fn follow(
    opts: &FollowOptions,
    inputs: &AnalysisInputs,
    progress: Option<&ProgressBar>,
) -> Result<LiveResult, AnalyzeError> {
    let mut findings: Vec<Finding> = inputs
        .problems
        .iter()
        .map(|(file, why)| Finding::new(FindingKind::BadInput, None, format!("{file}: {why}")))
        .collect();
    findings.extend(name_findings(inputs));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.analyze.threads)
        .build()
        .map_err(|e| AnalyzeError::Threads(e.to_string()))?;
    let (candidates, reports) = candidates(opts, inputs, &pool, progress, &mut findings);
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let (packets, untimed) = assemble(candidates);
    if untimed > 0 {
        findings.push(Finding::new(
            FindingKind::BadInput,
            None,
            format!("{untimed} matching packets carry no capture time (pcapng Simple Packet Blocks): not followed"),
        ));
    }
    let mut models: Vec<NodeModel<'_>> = Vec::new();
    for (n, r) in inputs.nodes.iter().zip(reports) {
        models.push(model(n, (Vec::new(), r), &mut findings));
    }
    let sent: Vec<Sent<'_>> = packets
        .iter()
        .map(|p| Sent { time: p.time(), ip: &p.sent().ip, transport: p.sent().transport.as_ref() })
        .collect();
    let all = group(&sent);
    let total = all.len();
    let wanted = match opts.which {
        Which::First => 1,
        Which::All => usize::MAX,
        Which::Count(n) => n,
    };
    let mut reconstructed = 0usize;
    let mut skipped = 0usize;
    let mut connections = Vec::new();
    for c in all.iter() {
        if connections.len() >= wanted {
            break;
        }
        let members: Vec<&RealPacket> = c.packets.iter().map(|&i| &packets[i]).collect();
        let Some(first) = members.first() else { continue };
        let (first_result, _) = reconstruct_packet(first, true, &mut models, inputs, &opts.analyze);
        reconstructed += 1;
        let (first_fate, first_drop) = fate_of(&first_result);
        let reached = (first_fate == Fate::Delivered || first_fate == Fate::ForwardedOut)
            .then(|| points(first).last().map(|(f, i)| (f.to_string(), i.map(str::to_string))))
            .flatten();
        let mut results = Vec::new();
        for (i, p) in members.iter().enumerate() {
            let got_there = reached.as_ref().is_some_and(|(f, iface)| {
                p.sightings.iter().any(|s| &s.file == f && s.interface.as_deref() == iface.as_deref())
            });
            let (fate, drop, result, state) = if i == 0 {
                (first_fate, first_drop.clone(), None, None)
            } else if got_there {
                (first_fate, None, None, ct_state(p, false))
            } else if reconstructed < MAX_RECONSTRUCTED_PACKETS {
                reconstructed += 1;
                let (r, state) = reconstruct_packet(p, false, &mut models, inputs, &opts.analyze);
                let (fate, drop) = fate_of(&r);
                (fate, drop, Some(r), state)
            } else {
                skipped += 1;
                (Fate::Unknown, None, None, ct_state(p, false))
            };
            results.push(PacketResult {
                number: i + 1,
                time: crate::time::rfc3339_nanos(p.time()),
                ip_id: p.key.ip_id,
                ct_state: state.unwrap_or("+new+trk").to_string(),
                retransmission: retransmission(&members[..i], p),
                duplicates: p.duplicates,
                fate,
                drop,
                last_seen: p.sightings.last().map(seen_at),
                sightings: p.sightings.iter().map(seen_at).collect(),
                result,
            });
        }
        let decided: Vec<&PacketResult> = results.iter().filter(|r| r.fate != Fate::Unknown).collect();
        let fate = decided.last().map_or(Fate::Unknown, |r| r.fate);
        let drop = results.iter().rev().find_map(|r| r.drop.clone()).filter(|_| fate == Fate::Dropped);
        if opts.dropped_only && !results.iter().any(|r| r.fate == Fate::Dropped) {
            continue;
        }
        let delivered = results.iter().find(|r| r.fate == Fate::Delivered).map(|r| r.number - 1);
        connections.push(ConnectionResult {
            tuple: c.tuple.to_string(),
            mid_connection: c.mid_connection,
            fate,
            endpoint: delivered.and_then(|i| endpoint(members[i], inputs)),
            drop,
            counts: Counts::of(&results),
            first_packet: first_result,
            packets: results,
        });
    }
    if skipped > 0 {
        findings.push(Finding::new(
            FindingKind::Assumption,
            None,
            format!(
                "{skipped} packets were not reconstructed one by one (at most {MAX_RECONSTRUCTED_PACKETS} per analysis): \
                 their fate is unknown unless they reached where their connection's first packet was delivered"
            ),
        ));
    }
    if packets.is_empty() {
        findings.push(nothing_matched(opts, &models));
    }
    let summary = Summary::of(total, &connections, &drops(&connections));
    Ok(LiveResult {
        schema: LIVE_SCHEMA.to_string(),
        spec: opts.spec.text.clone(),
        seeds: packets.len() as u64,
        summary,
        connections,
        findings,
    })
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
            let span = match (r.earliest_ns, r.latest_ns) {
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
