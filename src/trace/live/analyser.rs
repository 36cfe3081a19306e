//! One connection's packets, each given a fate: the reconstruction of a real packet as if it
//! were a probe (in the conntrack state it had), what the captures prove against it (a delivery
//! seen, a delivery a covering capture does not show), and the moved drop flow that names the
//! drop of a packet nothing else places.

use super::connection::{Connection, Tuple};
use super::packets::RealPacket;
use super::report::{CapturedPacket, ConnectionResult, Counts, DropPoint, Fate, PacketResult, SeenAt};
use crate::antrea::hits::{drop_candidates, ip_bits, table_label, ProbeHeaders};
use crate::antrea::observation::{Action, Component};
use crate::bundle::inputs::AnalysisInputs;
use crate::decode::identity::Key;
use crate::decode::sighting::Sighting;
use crate::decode::TransportInfo;
use crate::ether::ether_type;
use crate::probe::schema::{EthernetFields, Frame, IpFields};
use crate::probe::{Fingerprint, Probe, Transport, PROBE_SCHEMA};
use crate::trace::analyze::AnalyzeOptions;
use crate::trace::model::NodeModel;
use crate::trace::reconstruct::reconstruct;
use crate::trace::result::{EvidenceKind, Finding, FindingKind, TraceResult};

/// The most packets reconstructed one by one in one analysis (first packets of connections
/// included); packets beyond it keep the fate their sightings alone give ("unknown" unless they
/// reached the delivery point of their connection), and a finding says how many.
pub const MAX_RECONSTRUCTED_PACKETS: usize = 2000;

/// A real packet as the reconstruction's "probe": its headers as sent, its length, no tag.
fn as_probe(p: &RealPacket) -> Probe {
    let s = p.sent();
    // The Ethernet header as sent: from a sighting of the packet as sent with one (the seed may
    // be from a `tcpdump -i any` capture, which has none).
    let as_sent = |x: &&Sighting| x.ip.src == s.ip.src && x.ip.dst == s.ip.dst && x.tunnels.is_empty();
    let l2 = p.sightings.iter().filter(as_sent).find_map(|x| x.outer_l2.as_ref());
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

/// A TCP SYN without ACK: what opens a connection (and its retransmissions).
fn is_syn(flags: u8) -> bool {
    flags & 0x02 != 0 && flags & 0x10 == 0
}

/// The conntrack state of a later TCP packet of a connection.
const ESTABLISHED: &str = "+est+trk";

/// The conntrack state a packet of a connection meets after recirculation: `+new` for a
/// connection's first packet, a retransmitted SYN (a dropped SYN is never committed) and UDP or
/// ICMP (no replies are followed: conntrack keeps such a flow `+new` until one is seen);
/// `+est` for a later TCP packet, which Antrea's policy tables let pass; `+est+rpl` for a
/// reply.
fn ct_state(p: &RealPacket, first: bool, reply: bool) -> Option<&'static str> {
    if reply {
        return Some("+est+rpl+trk");
    }
    match p.sent().transport {
        Some(TransportInfo::Tcp { flags, .. }) if !(first || is_syn(flags)) => Some(ESTABLISHED),
        _ => None,
    }
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
                    flow: None,
                }),
            ),
            Action::ForwardedOutOfNetwork | Action::ForwardedOutOfOverlay => (Fate::ForwardedOut, None),
            _ if r.phase == crate::antrea::observation::Phase::Succeeded => (Fate::Delivered, None),
            _ => (Fate::Unknown, None),
        },
        None => (Fate::Unknown, None),
    }
}

fn seen_at(s: &Sighting) -> SeenAt {
    SeenAt {
        node: s.node.clone(),
        interface: s.interface.clone(),
        file: s.file.clone(),
        packet: s.packet,
        time: s.timestamp_ns.map(crate::time::rfc3339_nanos),
        time_ns: s.timestamp_ns,
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

/// The per-connection analysis: the node models (their sightings replaced for each packet
/// reconstructed) and how many packets were reconstructed.
pub(super) struct Analyser<'m, 'i> {
    pub(super) models: Vec<NodeModel<'i>>,
    pub(super) inputs: &'i AnalysisInputs,
    pub(super) opts: &'m AnalyzeOptions,
    pub(super) reconstructed: usize,
    pub(super) skipped: usize,
    pub(super) findings: Vec<Finding>,
    /// Per node (as `models`), the flows whose counters moved between the dumps. Counters move
    /// for all traffic between two dumps, so they are not one packet's path: reconstructions
    /// simulate instead, and a moved counter only corroborates a flow the simulation went
    /// through, or names the drop flow of a packet the simulation cannot place.
    pub(super) moved: Vec<Vec<usize>>,
}

impl Analyser<'_, '_> {
    /// One connection: its first packet reconstructed; each later packet that did not reach
    /// where a delivered first packet ended reconstructed on its own.
    pub(super) fn connection(&mut self, c: &Connection, packets: &[RealPacket], reply: bool) -> ConnectionResult {
        let members: Vec<&RealPacket> = c.packets.iter().map(|&i| &packets[i]).collect();
        let mut results: Vec<PacketResult> = Vec::new();
        let mut first_result = None;
        let mut reached: Option<(String, Option<String>)> = None;
        let mut first_fate = Fate::Unknown;
        for (i, p) in members.iter().enumerate() {
            let got_there = reached.as_ref().is_some_and(|(f, iface)| {
                p.sightings.iter().any(|s| &s.file == f && s.interface.as_deref() == iface.as_deref())
            });
            let state = ct_state(p, i == 0, reply);
            let seen_delivered = i > 0 && first_fate == Fate::Delivered && self.delivered_seen(p).is_some();
            let (fate, drop, result) = if got_there || seen_delivered {
                (first_fate, None, None)
            } else if i == 0 || self.reconstructed < MAX_RECONSTRUCTED_PACKETS {
                self.reconstructed += 1;
                let r = self.reconstruct(p, state);
                let contradicted = self.delivery_contradicted(c, p, &r);
                let (fate, drop) = match fate_of(&r) {
                    (Fate::Unknown, _) if i > 0 => self.lost_drop(c, p, state),
                    (Fate::Delivered, _) if contradicted => self.lost_drop(c, p, None),
                    decided => decided,
                };
                (fate, drop, Some(r))
            } else {
                self.skipped += 1;
                (Fate::Unknown, None, None)
            };
            let (fate, drop) = self.captures_decide(c, p, fate, drop);
            if i == 0 {
                first_fate = fate;
                reached = matches!(fate, Fate::Delivered | Fate::ForwardedOut)
                    .then(|| points(p).last().map(|(f, i)| (f.to_string(), i.map(str::to_string))))
                    .flatten();
            }
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
                result: if i == 0 { None } else { result.clone() },
            });
            if i == 0 {
                first_result = result;
            }
        }
        let fate = results.iter().rev().find(|r| r.fate != Fate::Unknown).map_or(Fate::Unknown, |r| r.fate);
        let drop = results.iter().rev().find_map(|r| r.drop.clone()).filter(|_| fate == Fate::Dropped);
        let delivered = results.iter().position(|r| r.fate == Fate::Delivered);
        ConnectionResult {
            tuple: c.tuple.to_string(),
            mid_connection: c.mid_connection,
            fate,
            endpoint: delivered.and_then(|i| endpoint(members[i], self.inputs)),
            drop,
            counts: Counts::of(&results),
            first_packet: first_result.unwrap_or_else(|| self.reconstruct(members[0], None)),
            captured_packet: members.first().and_then(|p| p.sightings.last()).map(CapturedPacket::of),
            packets: results,
            replies: None,
        }
    }

    /// The sighting that shows `p` delivered: on the interface of the local Pod that owns its
    /// destination address there (a hairpinned packet comes back to its own Pod translated).
    fn delivered_seen<'p>(&self, p: &'p RealPacket) -> Option<&'p Sighting> {
        p.sightings.iter().find(|s| {
            let model = self.models.iter().find(|m| m.name == s.node);
            let pod = model.and_then(|m| m.view()).and_then(|v| v.pod_by_ip(s.ip.dst));
            pod.and_then(|pod| pod.name.as_deref()).is_some_and(|name| s.interface.as_deref() == Some(name))
        })
    }

    /// Whether the reconstruction delivers `p` to a Pod interface whose capture ran at the time
    /// and does not show it: then the simulated state (e.g. `+est` after a conntrack flush) was
    /// not the packet's, which a finding says.
    fn delivery_contradicted(&mut self, c: &Connection, p: &RealPacket, r: &TraceResult) -> bool {
        let terminal = r
            .results
            .iter()
            .flat_map(|n| n.observations.iter().map(move |o| (n, o)))
            .find(|(_, o)| o.action == Action::Delivered);
        let Some((n, o)) = terminal else { return false };
        let Some(m) = self.models.iter().find(|m| m.name == n.node) else { return false };
        // The observation names the interface when a capture shows it; else the Pod port that
        // owns the packet's destination there.
        let dst = p.sightings.last().map(|s| s.ip.dst);
        let pod_port = dst.and_then(|d| m.view()?.pod_by_ip(d)?.name.clone());
        let Some(iface) = o.interface.clone().or(pod_port) else { return false };
        let iface = iface.as_str();
        if p.sightings.iter().any(|s| s.node == n.node && s.interface.as_deref() == Some(iface)) {
            return false;
        }
        let t = p.time();
        let covering = m.reports.iter().find(|rep| {
            let names_it = rep.interfaces.iter().any(|x| x == iface || x == "any")
                || rep.link_types.iter().any(|l| l.starts_with("LINUX_SLL"));
            // A packet recorded after this one shows the capture was running when it would have come.
            let spans = rep.first_ns.is_some_and(|a| a <= t) && rep.last_ns.is_some_and(|b| b > t);
            names_it && spans && rep.error.is_none()
        });
        let Some(rep) = covering else { return false };
        self.findings.push(Finding::new(
            FindingKind::Disagreement,
            Some(&n.node),
            format!(
                "{}: the simulation delivers a packet (IP ID {}) on {iface}, but {} captured there from before until after it and \
                 does not show it: its conntrack state was not the one simulated; it is taken as lost after it was last seen, on {}",
                c.tuple,
                p.key.ip_id.map_or("-".to_string(), |i| i.to_string()),
                rep.file,
                p.sightings.last().map_or("-".to_string(), |s| s.node.clone()),
            ),
        ));
        true
    }

    /// A capture of the packet on its destination Pod's interface decides: delivered, whatever
    /// the reconstruction said (a drop or an exit is then a disagreement, reported).
    fn captures_decide(
        &mut self,
        c: &Connection,
        p: &RealPacket,
        fate: Fate,
        drop: Option<DropPoint>,
    ) -> (Fate, Option<DropPoint>) {
        let Some(seen) = self.delivered_seen(p) else { return (fate, drop) };
        if matches!(fate, Fate::Dropped | Fate::ForwardedOut) {
            self.findings.push(Finding::new(
                FindingKind::Disagreement,
                Some(&seen.node),
                format!(
                    "{}: a packet (IP ID {}) the reconstruction finds {} is in {} (packet {}) on {}, its destination Pod's \
                     interface: taken as delivered",
                    c.tuple,
                    p.key.ip_id.map_or("-".to_string(), |i| i.to_string()),
                    fate.name(),
                    seen.file,
                    seen.packet,
                    seen.interface.as_deref().unwrap_or("?")
                ),
            ));
        }
        (Fate::Delivered, None)
    }

    /// Reconstructs one packet with its sightings placed on their nodes, in conntrack state
    /// `state` (else the simulator's default, `+new+trk`).
    fn reconstruct(&mut self, p: &RealPacket, state: Option<&str>) -> TraceResult {
        for m in self.models.iter_mut() {
            m.sightings = p.sightings.iter().filter(|s| s.node == m.name).cloned().collect();
        }
        let mut ro = self.opts.reconstruct.clone();
        if let Some(state) = state {
            // The packet's state wherever it recirculates; the states written here parse.
            let _ = ro.sim.ct.add_override(state);
        }
        let mut r = reconstruct(&as_probe(p), &self.models, self.inputs.cluster.as_ref(), &ro);
        self.corroborate(&mut r);
        r
    }

    /// Adds counter evidence to every observation whose simulated flow's counter moved.
    fn corroborate(&self, r: &mut TraceResult) {
        for nr in &mut r.results {
            let Some(i) = self.models.iter().position(|m| m.name == nr.node) else { continue };
            let (m, moved) = (&self.models[i], &self.moved[i]);
            let lines = m.artifacts.and_then(|a| a.flows.as_ref()).map(|d| d.lines.as_slice()).unwrap_or_default();
            for o in &mut nr.observations {
                let simulated: Vec<usize> = o
                    .evidence
                    .iter()
                    .filter(|e| e.kind == EvidenceKind::Simulation)
                    .filter_map(|e| e.line)
                    .filter_map(|l| lines.iter().position(|&x| x as u64 == l))
                    .filter(|f| moved.contains(f))
                    .collect();
                for f in simulated {
                    let mut e = m.flow_evidence(f, EvidenceKind::Counter);
                    e.text = e.text.map(|t| format!("{t} (counter moved between the dumps, for all traffic)"));
                    o.evidence.push(e);
                }
            }
        }
    }

    /// The drop flow of a packet the reconstruction cannot place: on the node it was last seen
    /// entering, the one moved drop flow that admits its headers there (for an established
    /// packet, outside the policy tables). Several candidates, or none, leave it unknown, with
    /// a finding naming them.
    fn lost_drop(&mut self, c: &Connection, p: &RealPacket, state: Option<&str>) -> (Fate, Option<DropPoint>) {
        match self.drop_flow(c, p, state) {
            Some(d) => (Fate::Dropped, Some(d)),
            None => (Fate::Unknown, None),
        }
    }

    /// See [`Self::lost_drop`].
    fn drop_flow(&mut self, c: &Connection, p: &RealPacket, state: Option<&str>) -> Option<DropPoint> {
        let last = p.sightings.last()?;
        let i = self.models.iter().position(|m| m.name == last.node)?;
        let m = &self.models[i];
        let (view, tables) = (m.view()?, m.tables()?);
        let pod = view.pod_by_ip(last.ip.src).filter(|pod| pod.name.is_some() && pod.name == last.interface);
        let in_port = match pod {
            Some(pod) => pod.ofport,
            None if !last.tunnels.is_empty() => view.tunnel().and_then(|t| t.ofport),
            None => None,
        };
        let h = ProbeHeaders {
            eth_type: if last.ip.version == 6 { ether_type::IPV6 } else { ether_type::IPV4 },
            in_port,
            eth_dst: None,
            nw_src: ip_bits(last.ip.src),
            nw_dst: ip_bits(last.ip.dst),
            tp_dst: last.transport.as_ref().and_then(TransportInfo::ports).map(|(_, d)| u128::from(d)),
        };
        let established = state == Some(ESTABLISHED);
        let ports = m.artifacts.and_then(|a| a.ports.as_ref());
        let found = drop_candidates(m.flows(), tables, ports, &self.moved[i], &h, established);
        if let [f] = found[..] {
            let flow = &m.flows()[f];
            let table = tables.table_of(flow);
            let e = m.flow_evidence(f, EvidenceKind::Counter);
            return Some(DropPoint {
                node: m.name.clone(),
                component: table.map_or(Component::Forwarding, |t| t.hop_component()),
                action: Action::Dropped,
                component_info: table_label(tables, flow),
                network_policy: None,
                network_policy_rule: None,
                evidence: vec![EvidenceKind::Counter, EvidenceKind::Inferred],
                flow: e.text.map(|t| format!("{}:{}: {t}", e.file.unwrap_or_default(), e.line.unwrap_or_default())),
            });
        }
        let listed: Vec<String> =
            found.iter().filter_map(|&f| m.flows().get(f)).map(|f| f.flow_mod().to_string()).collect();
        self.findings.push(Finding::new(
            FindingKind::Lost,
            Some(&m.name),
            format!(
                "{}: a packet (IP ID {}) was last seen in {} (packet {}){}",
                c.tuple,
                p.key.ip_id.map_or("-".to_string(), |i| i.to_string()),
                last.file,
                last.packet,
                if listed.is_empty() {
                    " and no drop flow there whose counter moved admits it: where it went is unknown".to_string()
                } else {
                    format!(
                        "; {} drop flows whose counters moved could have dropped it: {}",
                        listed.len(),
                        listed.join(" | ")
                    )
                }
            ),
        ));
        None
    }
}
