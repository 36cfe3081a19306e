//! One node's pass of the probe: which of its sightings show the probe entering and leaving,
//! what its flows say (counter deltas, else the simulation), the terminal state Antrea's
//! packet-in would carry, the observations Antrea's rules make of it, with times and evidence
//! attached, and the findings where the sources disagree.

use super::model::NodeModel;
use super::place::{place, Place};
use super::result::{EvidenceKind, Finding, FindingKind};
use super::simulate::SimulatedNode;
use crate::antrea::hits::{facts_from_path, ip_bits, probe_hits, simulated_facts, PathFacts, ProbeHeaders};
use crate::antrea::node::cidr_contains;
use crate::antrea::observation::{Action, Component, Evidence, NodeResult, Observation};
use crate::antrea::observe::{observations, NoPolicies, ObservingNode, TerminalState};
use crate::antrea::tables::Table;
use crate::antrea::PortRole;
use crate::bundle::cluster::ClusterInfo;
use crate::decode::sighting::Sighting;
use crate::ether::ether_type;
use crate::probe::Probe;
use std::net::IpAddr;

/// What every node's pass shares.
pub struct PassContext<'a> {
    /// The probe.
    pub probe: &'a Probe,
    /// The cluster inventory (Pod names of endpoints).
    pub cluster: Option<&'a ClusterInfo>,
    /// Add one observation per pipeline stage crossed.
    pub detail_hops: bool,
}

/// The next node: the tunnel destination, and the addresses the probe carries there.
pub type NextHop = Option<(IpAddr, (IpAddr, IpAddr))>;

/// What one node's pass gives the walk.
pub struct PassResult {
    /// The node's observations.
    pub result: NodeResult,
    /// Where the probe goes next.
    pub next: NextHop,
    /// When it left the node (raw capture time).
    pub exit_time: Option<i64>,
}

/// The sightings that show the probe entering and leaving the node.
#[derive(Default)]
struct Seen<'s> {
    /// Where it entered: the source Pod's port (sender), or the underlay / tunnel port.
    entry: Option<&'s Sighting>,
    /// Leaving encapsulated towards another node.
    tunnel_out: Option<&'s Sighting>,
    /// Delivered to a Pod's port.
    pod_out: Option<(Place, &'s Sighting)>,
    /// On the gateway.
    gw_out: Option<&'s Sighting>,
    /// Bare, after the entry, on an interface nothing names (`-i any` without the node's
    /// `link` file, a capture's placeholder name): maybe the delivery.
    unknown_out: Option<&'s Sighting>,
}

impl<'s> Seen<'s> {
    /// The last place the probe was seen leaving.
    fn last(&self) -> Option<&'s Sighting> {
        self.tunnel_out.or(self.pod_out.as_ref().map(|(_, s)| *s)).or(self.gw_out).or(self.unknown_out)
    }

    /// The role of the port the probe was seen leaving on, and its number if known.
    fn exit(&self) -> Option<(PortRole, Option<u32>)> {
        if self.tunnel_out.is_some() {
            Some((PortRole::Tunnel, None))
        } else if let Some((Place::Pod(_, port), _)) = &self.pod_out {
            Some((PortRole::Pod, *port))
        } else if self.gw_out.is_some() {
            Some((PortRole::Gateway, None))
        } else {
            None
        }
    }
}

/// What a node's flow facts rest on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Basis {
    /// The flows whose counters moved between the two dumps, read as the probe's.
    Counters,
    /// The simulation of the dumped pipeline.
    Simulation,
    /// No flow facts: the captures alone.
    Captures,
}

impl Basis {
    /// The evidence kind of the flow lines the facts cite.
    fn evidence(self) -> EvidenceKind {
        match self {
            Basis::Counters => EvidenceKind::Counter,
            Basis::Simulation => EvidenceKind::Simulation,
            Basis::Captures => EvidenceKind::Flow,
        }
    }

    /// What an observation nothing else supports was inferred from.
    fn inferred_from(self) -> &'static str {
        match self {
            Basis::Counters => "the flows whose counters moved",
            Basis::Simulation => "the simulation of the dumped pipeline",
            Basis::Captures => "the captures of this node",
        }
    }
}

/// One node's pass.
struct Pass<'c, 'n, 'a> {
    ctx: &'c PassContext<'c>,
    node: &'n NodeModel<'a>,
    is_sender: bool,
    /// The probe's addresses where it enters this node.
    orig: (IpAddr, IpAddr),
    /// Whether it arrived from another node.
    arrived: bool,
}

/// Runs the probe's pass of `node`; `arriving` holds its addresses when it came from another
/// node, `sim` the simulated path when there is one.
pub fn node_pass(
    ctx: &PassContext<'_>,
    node: &NodeModel<'_>,
    is_sender: bool,
    arriving: Option<(IpAddr, IpAddr)>,
    sim: Option<&SimulatedNode>,
    findings: &mut Vec<Finding>,
) -> PassResult {
    let pass = Pass {
        ctx,
        node,
        is_sender,
        orig: arriving.unwrap_or((ctx.probe.ip.src, ctx.probe.ip.dst)),
        arrived: arriving.is_some(),
    };
    let (facts, basis) = pass.facts(sim, findings);
    let from_sim = basis == Basis::Simulation;
    let seen = pass.seen();
    let (mut state, table) = pass.terminal_state(facts.as_ref(), from_sim, &seen);
    let obs = match table {
        Some(t) => {
            state.table = t;
            pass.observe(&state)
        }
        None => pass.unknown_end(&seen, findings),
    };
    let mut obs = pass.attach(obs, facts.as_ref(), basis, &state, &seen);
    pass.ensure_basis(&mut obs, basis);
    pass.disagreements(&obs, facts.as_ref(), &seen, findings);
    let next = next_hop(&obs, &seen, &state, pass.orig);
    let hops = if ctx.detail_hops { pass.hop_observations(facts.as_ref(), basis, &obs) } else { Vec::new() };
    PassResult {
        result: NodeResult { node: node.name.clone(), role: None, timestamp: None, observations: obs, hops },
        next,
        exit_time: seen.tunnel_out.and_then(|s| s.timestamp_ns),
    }
}

impl Pass<'_, '_, '_> {
    /// The probe's headers as this node's pipeline first matches them.
    fn headers(&self) -> ProbeHeaders {
        let probe = self.ctx.probe;
        let (src, dst) = self.orig;
        let view = self.node.view();
        let in_port = if self.is_sender {
            view.and_then(|v| v.pod_by_ip(src)).and_then(|p| p.ofport)
        } else {
            view.and_then(|v| v.tunnel()).and_then(|p| p.ofport)
        };
        ProbeHeaders {
            eth_type: if src.is_ipv6() { ether_type::IPV6 } else { ether_type::IPV4 },
            in_port,
            eth_dst: self.is_sender.then(|| {
                let o = probe.ethernet.dst.octets();
                o.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
            }),
            nw_src: ip_bits(src),
            nw_dst: ip_bits(dst),
            tp_dst: probe.transport.ports().map(|(_, d)| u128::from(d)).filter(|_| !self.arrived),
        }
    }

    /// What the flows say: the probe's moved counters, else the simulation (said as an
    /// assumption); a disagreement between the two is a finding. Counters that moved on a
    /// node whose captures would have shown the probe, and do not, are other traffic's.
    fn facts(&self, sim: Option<&SimulatedNode>, findings: &mut Vec<Finding>) -> (Option<PathFacts>, Basis) {
        let node = self.node;
        let covered = node.covers_entry(self.is_sender, self.orig.0);
        if node.has_captures && node.sightings.is_empty() && !covered {
            let names: Vec<&str> = node.reports.iter().flat_map(|r| r.interfaces.iter().map(String::as_str)).collect();
            findings.push(Finding::new(
                FindingKind::Assumption,
                Some(&node.name),
                format!(
                    "no capture of this node covers where the probe enters (captured interfaces: {}); its observations rest on its flows",
                    if names.is_empty() { "unknown".to_string() } else { names.join(", ") }
                ),
            ));
        }
        let counters_usable = !(covered && node.sightings.is_empty());
        let counted = match (node.hit.as_ref().filter(|_| counters_usable), node.tables()) {
            (Some(hit), Some(tables)) => {
                let ports = node.artifacts.and_then(|a| a.ports.as_ref());
                let path = probe_hits(node.flows(), tables, ports, hit, self.headers());
                Some(facts_from_path(node.flows(), tables, &path))
            }
            _ => None,
        };
        if let (Some(c), Some(sim)) = (&counted, sim) {
            let counted_end = c.terminal.as_ref().map(|(t, _)| t.as_str()).unwrap_or("");
            if !counted_end.is_empty()
                && (counted_end != sim.state.table
                    || (Table::from_name(counted_end) == Some(Table::Output) && c.state.reg1 != sim.state.reg1))
            {
                findings.push(Finding::new(
                    FindingKind::Disagreement,
                    Some(&node.name),
                    format!(
                        "the flow counters end the probe in {counted_end} (reg1={:#x}), the simulation of the dumped pipeline in {} (reg1={:#x})",
                        c.state.reg1, sim.state.table, sim.state.reg1
                    ),
                ));
            }
        }
        if counted.is_some() {
            return (counted, Basis::Counters);
        }
        let Some(sim) = sim else { return (None, Basis::Captures) };
        let notes = sim.notes.join("; ");
        findings.push(Finding::new(
            FindingKind::Assumption,
            Some(&node.name),
            format!(
                "{}: the path on this node is the simulation of its dumped pipeline{}",
                node.no_counters.as_deref().unwrap_or("no earlier flow dump"),
                if notes.is_empty() { String::new() } else { format!(" ({notes})") }
            ),
        ));
        let facts = node.tables().map(|t| simulated_facts(node.flows(), t, &sim.state, &sim.path));
        (facts.or_else(|| Some(PathFacts { state: sim.state.clone(), ..PathFacts::default() })), Basis::Simulation)
    }

    /// The sightings that show where the probe entered and left.
    fn seen(&self) -> Seen<'_> {
        let node = self.node;
        let (src, dst) = self.orig;
        // Sightings on a named interface first (an `-i any` capture says less about where it was).
        let mut places: Vec<(Place, &Sighting)> = node.sightings.iter().map(|s| (place(node, s), s)).collect();
        places.sort_by_key(|(_, s)| matches!(s.interface.as_deref(), None | Some("any")));
        let bare_unknown = |p: &Place, s: &Sighting| *p == Place::Unknown && s.tunnels.is_empty();
        let entry = if self.is_sender {
            places.iter().find(|(p, s)| matches!(p, Place::Pod(..)) && s.ip.src == src && s.ip.dst == dst).or_else(
                || {
                    // On an interface nothing names: the probe as it left the Pod (original TTL).
                    places.iter().find(|(p, s)| {
                        bare_unknown(p, s) && s.ip.src == src && s.ip.dst == dst && s.ip.ttl == self.ctx.probe.ip.ttl
                    })
                },
            )
        } else {
            places
                .iter()
                .find(|(p, _)| matches!(p, Place::Underlay(Some(_))))
                .or_else(|| places.iter().find(|(p, _)| *p == Place::TunnelPort))
        }
        .map(|(_, s)| *s);
        // This node's tunnel endpoint: agentinfo's transport IPs, else where the probe arrived.
        // (Not the inventory's InternalIP: with several interfaces the transport IP differs.)
        let mut local_ips = node.reported_transport_ips();
        if local_ips.is_empty() && !self.is_sender {
            local_ips.extend(entry.and_then(|e| e.tunnels.first().map(|t| t.dst)));
        }
        let from_here = |src: &IpAddr| local_ips.is_empty() || local_ips.contains(src);
        let tunnel_out = places
            .iter()
            .filter(|(p, _)| matches!(p, Place::Underlay(Some((src, _))) if from_here(src)))
            .filter(|(_, s)| {
                self.is_sender
                    || entry
                        .is_none_or(|e| s.timestamp_ns >= e.timestamp_ns && s.packet != e.packet || s.file != e.file)
            })
            .find(|(p, _)| match p {
                Place::Underlay(Some((src, _))) => self.is_sender || !local_ips.is_empty() && local_ips.contains(src),
                _ => false,
            })
            .map(|(_, s)| *s);
        // Delivery: a Pod port other than the one the probe came from.
        let entry_iface = entry.and_then(|e| e.interface.clone());
        let is_entry =
            |s: &Sighting| entry.is_some_and(|e| e.ip.src == s.ip.src && e.ip.dst == s.ip.dst && e.ip.ttl == s.ip.ttl);
        let pod_out = places
            .iter()
            .filter(|(p, s)| match p {
                // Another Pod's port, or the source Pod's own port for a hairpinned probe (which
                // comes back translated).
                Place::Pod(name, _) => !self.is_sender || entry_iface.as_deref() != Some(name.as_str()) || !is_entry(s),
                _ => false,
            })
            .map(|(p, s)| (p.clone(), *s))
            .next();
        let gw_out = places.iter().find(|(p, _)| *p == Place::Gateway).map(|(_, s)| *s);
        let same_record = |a: &Sighting, b: &Sighting| a.file == b.file && a.packet == b.packet;
        let unknown_out = places
            .iter()
            .filter(|(p, s)| bare_unknown(p, s))
            .filter(|(_, s)| entry.is_none_or(|e| !same_record(e, s) && s.timestamp_ns >= e.timestamp_ns))
            .map(|(_, s)| *s)
            .next_back()
            .filter(|_| tunnel_out.is_none() && pod_out.is_none() && gw_out.is_none());
        Seen { entry, tunnel_out, pod_out, gw_out, unknown_out }
    }

    /// The terminal state: the flows' facts first, the captures to fill in; and the terminal
    /// table, when anything says where the pass ended.
    fn terminal_state(
        &self,
        facts: Option<&PathFacts>,
        from_sim: bool,
        seen: &Seen<'_>,
    ) -> (TerminalState, Option<String>) {
        let (src, dst) = self.orig;
        let mut state = facts.map(|f| f.state.clone()).unwrap_or_default();
        let last_seen = seen.last();
        // The conntrack original tuple: the simulator's when it decided, else the probe as it entered.
        if !from_sim || state.ct_nw_src.is_none() {
            state.ct_nw_src = Some(src);
        }
        if !from_sim || state.ct_nw_dst.is_none() {
            state.ct_nw_dst = Some(dst);
        }
        // The addresses at the end: as captured, else as simulated, else as translated by the
        // DNAT flow the counters show.
        let dnat = facts.and_then(|f| f.dnat.map(|(ip, _)| ip));
        let (sim_src, sim_dst) = if from_sim { (state.packet_src, state.packet_dst) } else { (None, None) };
        state.packet_src = last_seen.map(|s| s.ip.src).or(sim_src).or(Some(src));
        state.packet_dst = last_seen.map(|s| s.ip.dst).or(sim_dst).or(dnat).or(Some(dst));
        if state.tun_dst.is_none() {
            state.tun_dst = seen.tunnel_out.and_then(|s| s.tunnels.first().map(|t| t.dst));
        }
        let table = match facts.and_then(|f| f.terminal.as_ref()) {
            Some((t, _)) => Some(t.clone()),
            None => last_seen.map(|_| Table::Output.name().to_string()),
        };
        let output_port_known = facts.is_some_and(|f| f.reg1_flow.is_some());
        if table.as_deref().and_then(Table::from_name) == Some(Table::Output) && !output_port_known {
            // The output port from where a capture saw it leave.
            let view = self.node.view();
            state.reg1 = 0;
            state.exit_seen = None;
            if let Some((role, port)) = seen.exit() {
                let known = match role {
                    PortRole::Tunnel => view.and_then(|v| v.tunnel()).and_then(|p| p.ofport),
                    PortRole::Gateway => view.and_then(|v| v.gateway()).and_then(|p| p.ofport),
                    _ => port,
                };
                state.reg1 = known.unwrap_or(0);
                state.exit_seen = Some(role);
            }
        }
        (state, table)
    }

    /// Antrea's observations of the terminal state.
    fn observe(&self, state: &TerminalState) -> Vec<Observation> {
        let view = self.node.view();
        let node = ObservingNode {
            is_sender: self.is_sender,
            tunnel_port: view.and_then(|v| v.tunnel()).and_then(|p| p.ofport),
            gateway_port: view.and_then(|v| v.gateway()).and_then(|p| p.ofport),
            gateway_ips: view.map(|v| v.gateway_ips.clone()).unwrap_or_default(),
            dst_in_pod_subnet: view.is_some_and(|v| {
                state.packet_dst.is_some_and(|d| {
                    v.peer_for(d).is_some() || v.local_pod_cidrs.iter().any(|&(n, p)| cidr_contains(n, p, d))
                })
            }),
            version: self.node.artifacts.and_then(|a| a.antrea_version()),
            ..ObservingNode::default()
        };
        match self.node.policies() {
            Some(policies) => observations(&node, state, &policies),
            None => observations(&node, state, &NoPolicies),
        }
    }

    /// Nothing says where the pass ended: the first observation alone, and a finding naming
    /// the last place the probe was seen.
    fn unknown_end(&self, seen: &Seen<'_>, findings: &mut Vec<Finding>) -> Vec<Observation> {
        let first = if self.is_sender {
            let mut sg = Observation::new(Component::SpoofGuard, Action::Forwarded);
            sg.src_pod_ip = Some(self.orig.0.to_string());
            sg
        } else {
            Observation::new(Component::Forwarding, Action::Received)
        };
        let where_ = seen.last().or(seen.entry).map(|s| format!("{} packet {}", s.file, s.packet));
        let message = match where_ {
            Some(w) => format!("last seen at {w}; no flow counter or capture shows where it went next"),
            None if self.node.artifacts.is_some() => {
                "no capture shows the probe and no flow counters moved (add a `before/` flow dump or captures)".into()
            }
            None => "no capture shows the probe on this node".into(),
        };
        findings.push(Finding::new(FindingKind::Lost, Some(&self.node.name), message));
        vec![first]
    }

    /// Attaches times, interfaces and evidence to the observations.
    fn attach(
        &self,
        mut obs: Vec<Observation>,
        facts: Option<&PathFacts>,
        basis: Basis,
        state: &TerminalState,
        seen: &Seen<'_>,
    ) -> Vec<Observation> {
        let flow_evidence = |i: usize| self.node.flow_evidence(i, basis.evidence());
        let pod_out = seen.pod_out.as_ref().map(|(_, s)| *s);
        for o in obs.iter_mut() {
            let info = o.component_info.as_deref().and_then(Table::from_name);
            match (o.component, o.action, info) {
                (Component::SpoofGuard, ..) | (Component::Forwarding, Action::Received, _) => attach(o, seen.entry),
                (Component::Forwarding, Action::Forwarded, Some(Table::Output)) => {
                    attach(o, seen.tunnel_out.or(seen.gw_out))
                }
                (Component::Forwarding, Action::Delivered, Some(Table::Output)) => {
                    attach(o, pod_out.or(seen.gw_out).or(seen.unknown_out))
                }
                (Component::Forwarding, Action::ForwardedOutOfNetwork | Action::ForwardedOutOfOverlay, _) => {
                    attach(o, seen.gw_out.or(seen.tunnel_out))
                }
                (Component::LB, ..) => {
                    if let Some(ip) = &o.translated_dst_ip {
                        o.pod = self
                            .ctx
                            .cluster
                            .and_then(|c| c.pod_by_ip(ip.parse().ok()?))
                            .map(|p| format!("{}/{}", p.namespace, p.name));
                    }
                    if let Some((_, i)) = facts.and_then(|f| f.dnat) {
                        o.evidence.push(flow_evidence(i));
                    }
                }
                (Component::NetworkPolicy, ..) => {
                    if let Some(f) = facts {
                        let conj = match info {
                            Some(Table::EgressRule) => Some(state.reg5),
                            Some(Table::IngressRule) => Some(state.reg6),
                            Some(t) if t.is_metric() => Some(state.reg3),
                            _ => None,
                        };
                        if let Some(i) = conj.and_then(|c| f.rule_flow(c)) {
                            o.evidence.push(flow_evidence(i));
                        }
                        if matches!(o.action, Action::Dropped | Action::Rejected) {
                            if let Some((_, i)) = &f.terminal {
                                o.evidence.push(flow_evidence(*i));
                            }
                        }
                    }
                }
                _ => {}
            }
            if let (Some(f), Some(Table::Output)) = (facts, info) {
                if let Some((_, i)) = &f.terminal {
                    o.evidence.push(flow_evidence(*i));
                }
            }
        }
        obs
    }

    /// Gives every observation that no sighting or flow line supports an explicit inferred
    /// basis: what it follows from.
    fn ensure_basis(&self, obs: &mut [Observation], basis: Basis) {
        for o in obs.iter_mut().filter(|o| o.evidence.is_empty()) {
            let text = match (o.component, o.action) {
                (Component::SpoofGuard, _) => match self.source_port() {
                    Some(port) => format!("the source Pod's port {port} is on this node (its flows)"),
                    None => format!("the probe left the source Pod on this node ({})", basis.inferred_from()),
                },
                (Component::Forwarding, Action::Received) => {
                    "the previous node tunnelled the probe to this node (no capture shows it arriving)".to_string()
                }
                (Component::LB, _) => format!("the destination was translated ({})", basis.inferred_from()),
                _ => format!("Antrea's rules for the terminal state read from {}", basis.inferred_from()),
            };
            o.evidence.push(Evidence { kind: EvidenceKind::Inferred, text: Some(text), ..Evidence::default() });
        }
    }

    /// The name of the source Pod's port on this node, from its flows.
    fn source_port(&self) -> Option<String> {
        self.node.view()?.pod_by_ip(self.orig.0)?.name.clone()
    }

    /// Findings where the counters and the captures disagree.
    fn disagreements(
        &self,
        obs: &[Observation],
        facts: Option<&PathFacts>,
        seen: &Seen<'_>,
        findings: &mut Vec<Finding>,
    ) {
        let node = self.node;
        let pod_out = seen.pod_out.as_ref().map(|(_, s)| *s);
        if let Some(last) = obs.last() {
            let dropped = matches!(last.action, Action::Dropped | Action::Rejected);
            if let Some(s) = seen.tunnel_out.or(pod_out).filter(|_| dropped && facts.is_some()) {
                findings.push(Finding::new(
                    FindingKind::Disagreement,
                    Some(&node.name),
                    format!(
                        "flow counters say the probe was dropped, but {} packet {} shows it after the drop point",
                        s.file, s.packet
                    ),
                ));
            }
            let at_destination = pod_out.is_some() || seen.gw_out.is_some();
            if last.action == Action::Delivered && node.has_captures && !at_destination {
                match seen.unknown_out {
                    Some(s) => findings.push(Finding::new(
                        FindingKind::Assumption,
                        Some(&node.name),
                        format!(
                            "the delivery is taken from {} packet {}, whose interface is unknown (the capture does not name it: give the node's `link` file, or the file as NODE:IFACE=FILE)",
                            s.file, s.packet
                        ),
                    )),
                    None => findings.push(Finding::new(
                        FindingKind::Disagreement,
                        Some(&node.name),
                        "the flows deliver the probe, but no capture of this node shows it at the destination",
                    )),
                }
            }
        }
    }

    /// `--detail hops`: one observation per table the probe's flows went through.
    fn hop_observations(&self, facts: Option<&PathFacts>, basis: Basis, antrea: &[Observation]) -> Vec<Observation> {
        let (Some(facts), Some(tables)) = (facts, self.node.tables()) else { return Vec::new() };
        let terminal = antrea.last().map(|o| o.action);
        facts
            .path
            .iter()
            .filter_map(|&i| {
                let f = self.node.flows().get(i)?;
                let label = crate::antrea::hits::table_label(tables, f)?;
                let table = tables.table_of(f);
                let is_drop = f.actions.is_empty() || f.actions.iter().all(|a| matches!(a, crate::ovs::Action::Drop));
                let action = if is_drop {
                    Action::Dropped
                } else if table == Some(Table::Output) {
                    terminal.unwrap_or(Action::Forwarded)
                } else {
                    Action::Forwarded
                };
                let mut o = Observation::new(table.map_or(Component::Forwarding, Table::hop_component), action);
                o.table = Some(label);
                o.evidence.push(self.node.flow_evidence(i, basis.evidence()));
                Some(o)
            })
            .collect()
    }
}

/// Where the probe goes next: the tunnel destination of a Forwarded Output, with the addresses
/// it carries there.
fn next_hop(obs: &[Observation], seen: &Seen<'_>, state: &TerminalState, orig: (IpAddr, IpAddr)) -> NextHop {
    let forwarded = obs.iter().find(|o| {
        o.component_info.as_deref().and_then(Table::from_name) == Some(Table::Output) && o.action == Action::Forwarded
    })?;
    let tun: IpAddr = forwarded.tunnel_dst_ip.as_ref()?.parse().ok()?;
    let addrs = seen
        .tunnel_out
        .map(|s| (s.ip.src, s.ip.dst))
        .unwrap_or((state.packet_src.unwrap_or(orig.0), state.packet_dst.unwrap_or(orig.1)));
    Some((tun, addrs))
}

fn capture_evidence(s: &Sighting) -> Evidence {
    Evidence {
        kind: EvidenceKind::Capture,
        file: Some(s.file.clone()),
        packet: Some(s.packet),
        interface: s.interface.clone(),
        time_ns: s.timestamp_ns,
        line: None,
        text: None,
    }
}

/// Gives an observation the time, interface, TTL and capture evidence of a sighting.
fn attach(o: &mut Observation, s: Option<&Sighting>) {
    if let Some(s) = s {
        o.raw_time_ns = s.timestamp_ns;
        o.interface = s.interface.clone().or_else(|| s.ifindex.map(|i| format!("ifindex {i}")));
        o.ttl = Some(i32::from(s.ip.ttl));
        o.evidence.push(capture_evidence(s));
    }
}
