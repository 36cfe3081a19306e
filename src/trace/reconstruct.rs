//! Reconstruction: from each node's evidence (flow counters that moved, sightings of the probe in
//! captures, the pipeline's ports and Pods) to Antrea's ordered observations per node, with the
//! times, interfaces and evidence Antrea cannot give, clock offsets, and findings.
//!
//! Per node the state at the terminal point ([`TerminalState`]) is assembled from the flows the
//! probe hit (counter deltas between the `before/` dump and the bundle's dump: the conjunction
//! flows that load reg5/reg6/reg3, the drop flows of the DefaultRule/Metric tables, the
//! EndpointDNAT flow, the L2ForwardingCalc/L3Forwarding flows that set reg1 and tun_dst) and from
//! where the captures saw it (the tunnel destination, the translated addresses, the output port).
//! Antrea's own rules ([`crate::antrea::observe`]) then turn that state into observations, so the
//! list is the one Antrea would report. With captures only, coarse observations are inferred from
//! the sightings; a node with no usable input is said plainly.

use super::clock::{estimate, Crossing};
use super::phase::phase;
use super::result::{Finding, TraceResult, RESULT_SCHEMA};
use super::simulate::{simulate, SimulatedNode};
use crate::antrea::node::{cidr_contains, NodeView, PortRole};
use crate::antrea::observation::{Action, Component, Evidence, NodeResult, Observation, Role};
use crate::antrea::observe::{observations, ObservingNode, PolicyLookup, PolicyRule, TerminalState};
use crate::antrea::tables::TableMap;
use crate::bundle::agent::{NetworkPolicy, NodeArtifacts};
use crate::bundle::cluster::ClusterInfo;
use crate::decode::sighting::Sighting;
use crate::ovs::action::{Action as OfAction, NatKind};
use crate::ovs::field::Field;
use crate::ovs::value::Value;
use crate::ovs::Flow;
use crate::probe::Probe;
use crate::time::rfc3339_nanos;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// One node as the reconstruction sees it.
#[derive(Debug, Default)]
pub struct NodeModel<'a> {
    /// Node name.
    pub name: String,
    /// Its artifacts (flows, groups, ports, agent info, policies), when given.
    pub artifacts: Option<&'a NodeArtifacts>,
    /// Ports, Pods, peer CIDRs and Services from its flows.
    pub view: Option<NodeView>,
    /// Its table numbering.
    pub tables: Option<TableMap>,
    /// Indexes (in `artifacts.flows`) of the flows whose counters moved; `None` without a
    /// `before` dump.
    pub hit: Option<Vec<usize>>,
    /// Sightings of the probe on this node, in time order.
    pub sightings: Vec<Sighting>,
    /// Whether any capture was scanned for this node.
    pub has_captures: bool,
}

impl NodeModel<'_> {
    fn transport_ips(&self) -> Vec<IpAddr> {
        self.artifacts.map(|a| a.transport_ips()).unwrap_or_default()
    }

    fn flow(&self, i: usize) -> Option<&Flow> {
        self.artifacts?.flows.as_ref()?.flows.get(i)
    }

    fn flow_evidence(&self, i: usize) -> Evidence {
        let dump = self.artifacts.and_then(|a| a.flows.as_ref());
        Evidence {
            kind: "counter".into(),
            file: dump.map(|d| d.origin.clone()),
            line: dump.and_then(|d| d.lines.get(i)).map(|&l| l as u64),
            text: self.flow(i).map(|f| f.flow_mod().to_string()),
            ..Evidence::default()
        }
    }

    fn table_of(&self, f: &Flow) -> Option<String> {
        let t = f.table_or_zero();
        match &self.tables {
            Some(m) => m.canonical_name(&t).map(str::to_string),
            None => Some(t.to_string()),
        }
    }
}

/// Where on a node a sighting was made.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Place {
    /// A Pod's port (interface name, OpenFlow port).
    Pod(String, Option<u32>),
    /// The gateway (`antrea-gw0`).
    Gateway,
    /// The tunnel port (`antrea-tun0`, `genev_sys_6081`): the probe bare, about to be / just
    /// decapsulated.
    TunnelPort,
    /// The underlay (uplink): encapsulated (`Some` outer destination) or bare.
    Underlay(Option<(IpAddr, IpAddr)>),
    /// Not known (`any`, or an interface nothing describes).
    Unknown,
}

fn place(node: &NodeModel<'_>, s: &Sighting) -> Place {
    if let Some(t) = s.tunnels.first() {
        return Place::Underlay(Some((t.src, t.dst)));
    }
    let Some(iface) = s.interface.as_deref() else { return Place::Unknown };
    if let Some(p) = node.view.as_ref().and_then(|v| v.ports.iter().find(|p| p.name.as_deref() == Some(iface))) {
        return match p.role {
            PortRole::Pod => Place::Pod(iface.to_string(), p.ofport),
            PortRole::Gateway => Place::Gateway,
            PortRole::Tunnel => Place::TunnelPort,
            PortRole::Uplink => Place::Underlay(None),
            _ => Place::Unknown,
        };
    }
    let transport = node.artifacts.and_then(|a| a.agent_info.as_ref()).and_then(|i| i.transport_interface.as_deref());
    match iface {
        "antrea-gw0" => Place::Gateway,
        "antrea-tun0" | "genev_sys_6081" | "vxlan_sys_4789" | "gre_sys" | "stt_sys_7471" => Place::TunnelPort,
        i if Some(i) == transport => Place::Underlay(None),
        "any" => Place::Unknown,
        // Without a port table, an interface named after a Pod (`<pod>-<hash>`) is a Pod port.
        i if node.view.is_none() && i.contains('-') => Place::Pod(i.to_string(), None),
        _ => Place::Unknown,
    }
}

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

/// Attributes conj ids to NetworkPolicy rules from the bundle's policies and the conjunction
/// clauses in the flows (Antrea does not dump conj ids): the rule of the same direction whose
/// applied-to members' addresses appear in the conjunction's clauses; ambiguity is not guessed.
struct Attribution<'a> {
    node: &'a NodeModel<'a>,
}

impl Attribution<'_> {
    fn clause_addresses(&self, conj: u32) -> (BTreeSet<IpAddr>, Option<&'static str>) {
        let mut ips = BTreeSet::new();
        let mut direction = None;
        let Some(dump) = self.node.artifacts.and_then(|a| a.flows.as_ref()) else { return (ips, None) };
        for f in &dump.flows {
            let is_clause = f.actions.iter().any(|a| matches!(a, OfAction::Conjunction { id, .. } if *id == conj));
            let is_action = f.matches.bits(Field::ConjId).is_some_and(|(v, _)| v == u128::from(conj));
            if !(is_clause || is_action) {
                continue;
            }
            if let Some(t) = self.node.table_of(f) {
                if t.contains("Egress") {
                    direction = Some("Out");
                } else if t.contains("Ingress") {
                    direction = Some("In");
                }
            }
            // Ingress rules name their Pods by output port (reg1), egress rules by in_port.
            for field in [Field::Reg(1), Field::InPort] {
                let port = match (field, f.matches.get(field)) {
                    (Field::Reg(1), Some(Value::Bits { value, .. })) => Some(value.get() as u32),
                    (Field::InPort, Some(Value::Port(p))) => {
                        p.number().or_else(|| self.node.artifacts?.ports.as_ref()?.number_of(p))
                    }
                    _ => None,
                };
                if let Some(port) = port {
                    let pod = self.node.view.as_ref().and_then(|v| v.ports.iter().find(|p| p.ofport == Some(port)));
                    ips.extend(pod.map(|p| p.ips.clone()).unwrap_or_default());
                }
            }
            for field in [Field::IpSrc, Field::IpDst] {
                if let Some((v, m)) = f.matches.bits(field) {
                    if m == u128::from(u32::MAX) {
                        ips.insert(IpAddr::V4(std::net::Ipv4Addr::from(v as u32)));
                    }
                }
            }
            for field in [Field::Ipv6Src, Field::Ipv6Dst] {
                if let Some((v, m)) = f.matches.bits(field) {
                    if m == u128::MAX {
                        ips.insert(IpAddr::V6(std::net::Ipv6Addr::from(v)));
                    }
                }
            }
        }
        (ips, direction)
    }
}

fn reference(p: &NetworkPolicy) -> Option<String> {
    Some(format!("{}:{}", p.source_type.as_deref()?, p.source.as_deref()?))
}

impl PolicyLookup for Attribution<'_> {
    fn rule(&self, conj: u32) -> Option<PolicyRule> {
        let a = self.node.artifacts?;
        let (ips, direction) = self.clause_addresses(conj);
        let direction = direction?;
        let members = |groups: &[String]| -> BTreeSet<IpAddr> {
            a.applied_to_groups
                .iter()
                .chain(a.address_groups.iter())
                .filter(|g| groups.contains(&g.name))
                .flat_map(|g| g.members.iter().flat_map(|m| m.ips.iter().copied()))
                .collect()
        };
        let mut best: Vec<(usize, PolicyRule)> = Vec::new();
        for p in &a.network_policies {
            for r in p.rules.iter().filter(|r| r.direction == direction) {
                let applied = if r.applied_to.is_empty() { members(&p.applied_to) } else { members(&r.applied_to) };
                let peers = members(&r.peer_groups);
                let score = ips.iter().filter(|ip| applied.contains(ip)).count() * 2
                    + ips.iter().filter(|ip| peers.contains(ip)).count();
                if score == 0 && !ips.is_empty() {
                    continue;
                }
                let rule = PolicyRule {
                    policy: reference(p)?,
                    rule: r.name.clone().filter(|n| !n.is_empty()),
                    reject: r.action.as_deref() == Some("Reject"),
                };
                best.push((score, rule));
            }
        }
        best.sort_by_key(|b| std::cmp::Reverse(b.0));
        match best.as_slice() {
            [(top, rule)] => (*top > 0 || ips.is_empty()).then(|| rule.clone()),
            [(top, rule), (second, _), ..] if top > second => Some(rule.clone()),
            _ => None,
        }
    }
}

/// What the moved counters say about one node's pass.
#[derive(Debug, Default)]
struct CounterFacts {
    state: TerminalState,
    path: Vec<usize>,
    terminal: Option<(String, usize)>,
    dnat: Option<(IpAddr, usize)>,
    rule_flows: Vec<(u32, usize)>,
    reg1_flow: Option<usize>,
}

/// The probe's headers as they change along one node's pipeline, to tell its hit flows from those
/// of other traffic (replies, background) that moved counters between the two dumps.
#[derive(Clone, Debug)]
struct Headers {
    eth_type: u16,
    in_port: Option<u32>,
    eth_dst: Option<u128>,
    nw_src: u128,
    nw_dst: u128,
    tp_dst: Option<u128>,
}

fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

/// The moved flows that are the probe's, one per table, in pipeline order: a flow whose exact
/// matches contradict the probe's headers at that point (another port, MAC, address or port) is
/// someone else's traffic. Header rewrites of accepted flows (MACs, DNAT) are applied as they go.
fn probe_hits(node: &NodeModel<'_>, hit: &[usize], mut h: Headers) -> Vec<usize> {
    let Some(tables) = &node.tables else { return hit.to_vec() };
    let ports = node.artifacts.and_then(|a| a.ports.as_ref());
    let mut order: Vec<(u8, std::cmp::Reverse<u16>, usize)> = hit
        .iter()
        .filter_map(|&i| {
            let f = node.flow(i)?;
            Some((tables.resolve(&f.table_or_zero()).unwrap_or(u8::MAX), std::cmp::Reverse(f.priority()), i))
        })
        .collect();
    order.sort();
    let mut out = Vec::new();
    let mut last_table = None;
    for (table, _, i) in order {
        if last_table == Some(table) {
            continue;
        }
        let Some(f) = node.flow(i) else { continue };
        let same_family = f.matches.eth_type().is_none_or(|t| t == h.eth_type);
        let consistent = same_family
            && f.matches.fields.iter().all(|m| {
                let bits = m.value.bits();
                match m.field {
                    Field::InPort => match (&m.value, h.in_port) {
                        (Value::Port(p), Some(want)) => {
                            p.number().or_else(|| ports.and_then(|t| t.number_of(p))).is_none_or(|n| n == want)
                        }
                        _ => true,
                    },
                    Field::EthDst => match (bits, h.eth_dst) {
                        (Some((v, mask)), Some(cur)) => cur & mask == v,
                        _ => true,
                    },
                    Field::IpSrc | Field::Ipv6Src => bits.is_none_or(|(v, mask)| h.nw_src & mask == v),
                    Field::IpDst | Field::Ipv6Dst => bits.is_none_or(|(v, mask)| h.nw_dst & mask == v),
                    Field::TcpDst | Field::UdpDst | Field::SctpDst => match (bits, h.tp_dst) {
                        (Some((v, mask)), Some(cur)) => cur & mask == v,
                        _ => true,
                    },
                    _ => true,
                }
            });
        if !consistent {
            continue;
        }
        last_table = Some(table);
        out.push(i);
        for a in &f.actions {
            match a {
                OfAction::SetField { field: Field::EthDst, value: Value::Bits { value, .. } } => {
                    h.eth_dst = Some(value.get())
                }
                OfAction::Ct(ct) => {
                    if let Some(nat) = &ct.nat {
                        if let (Some(NatKind::Dst), Some((ip, _))) = (nat.kind, nat.addrs) {
                            h.nw_dst = ip_bits(ip);
                            if let Some((port, _)) = nat.ports {
                                h.tp_dst = Some(u128::from(port));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn counter_facts(node: &NodeModel<'_>, headers: Headers) -> Option<CounterFacts> {
    let hit = probe_hits(node, node.hit.as_ref()?, headers);
    Some(facts_from_path(node, &hit))
}

/// What a simulated path says, in the same shape: the registers from the simulator's terminal
/// state, the evidence (rule flows, DNAT, terminal flow) from the flows it hit.
fn simulated_facts(node: &NodeModel<'_>, sim: &SimulatedNode) -> CounterFacts {
    let mut facts = facts_from_path(node, &sim.path);
    let s = &sim.state;
    facts.state = TerminalState { table: String::new(), ..s.clone() };
    let last = sim.path.last().copied().unwrap_or(0);
    facts.terminal =
        Some((s.table.clone(), facts.terminal.as_ref().filter(|(t, _)| *t == s.table).map_or(last, |(_, i)| *i)));
    facts.reg1_flow = facts.reg1_flow.or(Some(last));
    facts
}

fn facts_from_path(node: &NodeModel<'_>, hit: &[usize]) -> CounterFacts {
    let mut facts = CounterFacts { path: hit.to_vec(), ..CounterFacts::default() };
    let terminal_tables = ["EgressDefaultRule", "EgressMetric", "IngressDefaultRule", "IngressMetric"];
    for &i in hit {
        let Some(f) = node.flow(i) else { continue };
        let table = node.table_of(f).unwrap_or_default();
        let is_drop = f.actions.is_empty() || f.actions.iter().all(|a| matches!(a, OfAction::Drop));
        if is_drop && terminal_tables.contains(&table.as_str()) && facts.terminal.is_none() {
            facts.terminal = Some((table.clone(), i));
        }
        if table == "Output" && facts.terminal.is_none() {
            facts.terminal = Some(("Output".into(), i));
        }
        let apply = |field: Field, value: u128, mask: u128, facts: &mut CounterFacts| {
            let set = |old: u32| ((u128::from(old) & !mask) | (value & mask)) as u32;
            match field {
                Field::Reg(0) => facts.state.reg0 = set(facts.state.reg0),
                Field::Reg(1) => {
                    facts.state.reg1 = set(facts.state.reg1);
                    facts.reg1_flow = Some(i);
                }
                Field::Reg(3) if table.contains("Rule") || table.contains("Metric") => {
                    facts.state.reg3 = set(facts.state.reg3);
                    facts.rule_flows.push((facts.state.reg3, i));
                }
                Field::Reg(5) => {
                    facts.state.reg5 = set(facts.state.reg5);
                    facts.rule_flows.push((facts.state.reg5, i));
                }
                Field::Reg(6) => {
                    facts.state.reg6 = set(facts.state.reg6);
                    facts.rule_flows.push((facts.state.reg6, i));
                }
                Field::TunDst => facts.state.tun_dst = Some(IpAddr::V4(std::net::Ipv4Addr::from(value as u32))),
                Field::PktMark => facts.state.pkt_mark = set(facts.state.pkt_mark),
                _ => {}
            }
        };
        for a in &f.actions {
            match a {
                OfAction::SetField { field, value: Value::Bits { value, mask } } => {
                    apply(*field, value.get(), mask.get(), &mut facts)
                }
                OfAction::Load { value, dst } => apply(dst.field, value.get() << dst.start, dst.mask(), &mut facts),
                OfAction::Ct(ct) => {
                    if let Some(nat) = &ct.nat {
                        if let (Some(NatKind::Dst), Some((ip, _))) = (nat.kind, nat.addrs) {
                            facts.dnat = Some((ip, i));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    facts
}

/// Reconstructs the probe's path.
pub fn reconstruct(
    probe: &Probe,
    nodes: &[NodeModel<'_>],
    cluster: Option<&ClusterInfo>,
    opts: &Options,
) -> TraceResult {
    let mut findings: Vec<Finding> = Vec::new();
    let src = probe.ip.src;
    let dst = probe.ip.dst;

    // 1. The sender: the node whose flows own the source IP, else the one that saw it on a Pod port.
    let sender = nodes
        .iter()
        .position(|n| n.view.as_ref().is_some_and(|v| v.pod_by_ip(src).is_some()))
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
        });
    let Some(sender) = sender else {
        return TraceResult {
            schema: RESULT_SCHEMA.into(),
            phase: crate::antrea::observation::Phase::Failed,
            reason: Some(format!(
                "no node owns the source {src} and no capture shows the probe (tag {})",
                probe.dataplane_tag
            )),
            dataplane_tag: probe.dataplane_tag,
            source: probe.source.as_ref().and_then(|e| e.name.clone()).or(Some(src.to_string())),
            destination: probe.destination.as_ref().and_then(|e| e.name.clone()).or(Some(dst.to_string())),
            results: vec![],
            clocks: vec![],
            findings: nodes.iter().map(no_input_finding).collect(),
        };
    };

    // The simulated path, for nodes whose counters cannot tell and to check those that can.
    let simulated = if opts.simulate { simulate(probe, nodes, sender) } else { Default::default() };

    // 2. Walk node by node across tunnels.
    let pass_ctx = PassContext { probe, cluster, detail_hops: opts.hops };
    let mut results: Vec<NodeResult> = Vec::new();
    let mut crossings: Vec<Crossing> = Vec::new();
    let mut visited = vec![false; nodes.len()];
    let mut current = Some((sender, None::<i64>));
    let mut arriving: Option<(IpAddr, IpAddr)> = None; // addresses as they arrive on the next node
    while let Some((idx, sent_at)) = current.take() {
        if visited[idx] {
            findings.push(Finding {
                kind: "disagreement".into(),
                node: Some(nodes[idx].name.clone()),
                message: "the path returns to a node already crossed; stopping".into(),
            });
            break;
        }
        visited[idx] = true;
        let node = &nodes[idx];
        let is_sender = idx == sender;
        let (mut result, next, exit_time) =
            node_pass(&pass_ctx, node, is_sender, arriving, simulated.get(&node.name), &mut findings);
        if let (Some(sent), Some(first)) = (sent_at, result.observations.first().and_then(|o| o.raw_time_ns)) {
            crossings.push(Crossing {
                from: results.last().map(|r| r.node.clone()).unwrap_or_default(),
                to: node.name.clone(),
                sent_ns: sent,
                received_ns: first,
            });
        }
        result.role = Some(if is_sender { Role::Sender } else { Role::Receiver });
        results.push(result);
        if let Some((tun_dst, addrs)) = next {
            arriving = Some(addrs);
            // The node with that transport IP; without agent info, the node whose underlay
            // capture shows the probe arriving for it.
            let owner = nodes.iter().position(|n| n.transport_ips().contains(&tun_dst)).or_else(|| {
                nodes.iter().enumerate().position(|(j, n)| {
                    !visited[j] && n.sightings.iter().any(|s| s.tunnels.first().is_some_and(|t| t.dst == tun_dst))
                })
            });
            match owner {
                Some(j) => current = Some((j, exit_time)),
                None => findings.push(Finding {
                    kind: "missing-input".into(),
                    node: None,
                    message: format!(
                        "the probe was forwarded to the node with transport IP {tun_dst}, but no input names that node (add its directory, bundle or evidence)"
                    ),
                }),
            }
        }
    }
    // Earlier nodes on the path are transit when a later one ends it.
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
    let left_network = results
        .last()
        .and_then(|r| r.observations.last())
        .is_some_and(|o| matches!(o.action, Action::ForwardedOutOfNetwork | Action::ForwardedOutOfOverlay));
    for (i, n) in nodes.iter().enumerate() {
        if !visited[i] && n.artifacts.is_none() && n.sightings.is_empty() && !n.has_captures {
            findings.push(no_input_finding(n));
        } else if !(visited[i]
            || n.sightings.is_empty()
            || left_network && n.sightings.iter().all(|s| s.tunnels.is_empty()))
        {
            // (A probe forwarded out of the network may well reach another node's host bare:
            // that is routing outside OVS, not a contradiction.)
            findings.push(Finding {
                kind: "disagreement".into(),
                node: Some(n.name.clone()),
                message: format!(
                    "{} sighting(s) of the probe on a node the reconstructed path does not reach (first: {} packet {})",
                    n.sightings.len(),
                    n.sightings[0].file,
                    n.sightings[0].packet
                ),
            });
        }
    }

    // 3. Clocks: offsets from the tunnel crossings; then times.
    let names: Vec<String> = results.iter().map(|r| r.node.clone()).collect();
    let latency = if opts.wire_latency_ns > 0 { opts.wire_latency_ns } else { smallest_hop(&results).unwrap_or(0) };
    let clocks = if crossings.is_empty() { Vec::new() } else { estimate(&names[0], &names, &crossings, latency) };
    for r in &mut results {
        let off = clocks.iter().find(|c| c.node == r.node).map_or(0, |c| c.offset_ns);
        for o in &mut r.observations {
            o.time = o.raw_time_ns.map(|t| rfc3339_nanos(t + off));
        }
        r.timestamp = r.observations.iter().find_map(|o| o.raw_time_ns).map(|t| (t + off).div_euclid(1_000_000_000));
    }

    let has_source_pod = probe.source.as_ref().is_some_and(|s| s.kind == "pod")
        || nodes[sender].view.as_ref().is_some_and(|v| v.pod_by_ip(src).is_some());
    let phase = phase(&results, has_source_pod);
    let reason = (phase != crate::antrea::observation::Phase::Succeeded).then(|| {
        let last = results.last().map(|r| r.node.clone()).unwrap_or_default();
        format!("incomplete: no terminal observation (last node reached: {last})")
    });
    TraceResult {
        schema: RESULT_SCHEMA.into(),
        phase,
        reason,
        dataplane_tag: probe.dataplane_tag,
        source: probe.source.as_ref().and_then(|e| e.name.clone()).or(Some(src.to_string())),
        destination: probe.destination.as_ref().and_then(|e| e.name.clone()).or(Some(dst.to_string())),
        results,
        clocks,
        findings,
    }
}

fn no_input_finding(n: &NodeModel<'_>) -> Finding {
    Finding {
        kind: "missing-input".into(),
        node: Some(n.name.clone()),
        message: "no flows, captures or evidence for this node".into(),
    }
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

fn capture_evidence(s: &Sighting) -> Evidence {
    Evidence {
        kind: "capture".into(),
        file: Some(s.file.clone()),
        packet: Some(s.packet),
        interface: s.interface.clone(),
        time_ns: s.timestamp_ns,
        line: None,
        text: None,
    }
}

fn attach(o: &mut Observation, s: Option<&Sighting>) {
    if let Some(s) = s {
        o.raw_time_ns = s.timestamp_ns;
        o.interface = s.interface.clone().or_else(|| s.ifindex.map(|i| format!("ifindex {i}")));
        o.ttl = Some(i32::from(s.ip.ttl));
        o.evidence.push(capture_evidence(s));
    }
}

type NextHop = Option<(IpAddr, (IpAddr, IpAddr))>;

/// One node's observations; the next hop (tunnel destination and the addresses the probe carries
/// there) and the time it left.
/// What every node's pass shares.
struct PassContext<'a> {
    probe: &'a Probe,
    cluster: Option<&'a ClusterInfo>,
    detail_hops: bool,
}

fn node_pass(
    ctx: &PassContext<'_>,
    node: &NodeModel<'_>,
    is_sender: bool,
    arriving: Option<(IpAddr, IpAddr)>,
    sim: Option<&SimulatedNode>,
    findings: &mut Vec<Finding>,
) -> (NodeResult, NextHop, Option<i64>) {
    let (probe, cluster, detail_hops) = (ctx.probe, ctx.cluster, ctx.detail_hops);
    // Sightings on a named interface first (an `-i any` capture says less about where it was).
    let mut places: Vec<(Place, &Sighting)> = node.sightings.iter().map(|s| (place(node, s), s)).collect();
    places.sort_by_key(|(_, s)| matches!(s.interface.as_deref(), None | Some("any")));
    let (orig_src, orig_dst) = arriving.unwrap_or((probe.ip.src, probe.ip.dst));
    let view = node.view.as_ref();
    let in_port = if is_sender {
        view.and_then(|v| v.pod_by_ip(orig_src)).and_then(|p| p.ofport)
    } else {
        view.and_then(|v| v.tunnel()).and_then(|p| p.ofport)
    };
    let headers = Headers {
        eth_type: if orig_src.is_ipv6() { 0x86dd } else { 0x0800 },
        in_port,
        eth_dst: is_sender.then(|| {
            let o = probe.ethernet.dst.octets();
            o.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
        }),
        nw_src: ip_bits(orig_src),
        nw_dst: ip_bits(orig_dst),
        tp_dst: probe.transport.ports().map(|(_, d)| u128::from(d)).filter(|_| arriving.is_none()),
    };
    let counted = counter_facts(node, headers);
    if let (Some(c), Some(sim)) = (&counted, sim) {
        // Cross-check: the counters and the simulation should end the same way.
        let counted_end = c.terminal.as_ref().map(|(t, _)| t.as_str()).unwrap_or("");
        if !counted_end.is_empty()
            && (counted_end != sim.state.table || (counted_end == "Output" && c.state.reg1 != sim.state.reg1))
        {
            findings.push(Finding {
                kind: "disagreement".into(),
                node: Some(node.name.clone()),
                message: format!(
                    "the flow counters end the probe in {counted_end} (reg1={:#x}), the simulation of the dumped pipeline in {} (reg1={:#x})",
                    c.state.reg1, sim.state.table, sim.state.reg1
                ),
            });
        }
    }
    let from_sim = counted.is_none() && sim.is_some();
    let facts = counted.or_else(|| sim.map(|s| simulated_facts(node, s)));
    if from_sim {
        let notes = sim.map(|s| s.notes.join("; ")).unwrap_or_default();
        findings.push(Finding {
            kind: "assumption".into(),
            node: Some(node.name.clone()),
            message: format!(
                "no earlier flow dump: the path on this node is the simulation of its dumped pipeline{}",
                if notes.is_empty() { String::new() } else { format!(" ({notes})") }
            ),
        });
    }

    // Entry and exit sightings.
    let entry = if is_sender {
        places.iter().find(|(p, s)| matches!(p, Place::Pod(..)) && s.ip.src == orig_src && s.ip.dst == orig_dst)
    } else {
        places
            .iter()
            .find(|(p, _)| matches!(p, Place::Underlay(Some(_))))
            .or_else(|| places.iter().find(|(p, _)| *p == Place::TunnelPort))
    }
    .map(|(_, s)| *s);
    // This node's tunnel endpoint: agentinfo's transport IPs, else where the probe arrived.
    let mut local_ips = node.transport_ips();
    if local_ips.is_empty() && !is_sender {
        local_ips.extend(entry.and_then(|e| e.tunnels.first().map(|t| t.dst)));
    }
    let tunnel_out = places
        .iter()
        .filter(
            |(p, _)| matches!(p, Place::Underlay(Some((src, _))) if local_ips.is_empty() || local_ips.contains(src)),
        )
        .filter(|(_, s)| {
            is_sender
                || entry.is_none_or(|e| s.timestamp_ns >= e.timestamp_ns && s.packet != e.packet || s.file != e.file)
        })
        .find(|(p, _)| match p {
            Place::Underlay(Some((src, _))) => is_sender || !local_ips.is_empty() && local_ips.contains(src),
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
            Place::Pod(name, _) => !is_sender || entry_iface.as_deref() != Some(name.as_str()) || !is_entry(s),
            _ => false,
        })
        .map(|(p, s)| (p.clone(), *s))
        .next();
    let gw_out = places.iter().find(|(p, _)| *p == Place::Gateway).map(|(_, s)| *s);

    // The terminal state: counters first, captures to fill in.
    let mut state = facts.as_ref().map(|f| f.state.clone()).unwrap_or_default();
    let terminal = facts.as_ref().and_then(|f| f.terminal.clone());
    let last_seen = tunnel_out.or(pod_out.as_ref().map(|(_, s)| *s)).or(gw_out);
    // The conntrack original tuple: the simulator's when it decided, else the probe as it entered.
    if !from_sim || state.ct_nw_src.is_none() {
        state.ct_nw_src = Some(orig_src);
    }
    if !from_sim || state.ct_nw_dst.is_none() {
        state.ct_nw_dst = Some(orig_dst);
    }
    // The addresses at the end: as captured, else as simulated, else as translated by the DNAT
    // flow the counters show.
    let dnat = facts.as_ref().and_then(|f| f.dnat.map(|(ip, _)| ip));
    let (sim_src, sim_dst) = if from_sim { (state.packet_src, state.packet_dst) } else { (None, None) };
    state.packet_src = last_seen.map(|s| s.ip.src).or(sim_src).or(Some(orig_src));
    state.packet_dst = last_seen.map(|s| s.ip.dst).or(sim_dst).or(dnat).or(Some(orig_dst));
    if state.tun_dst.is_none() {
        state.tun_dst = tunnel_out.and_then(|s| s.tunnels.first().map(|t| t.dst));
    }
    let tunnel_port = view.and_then(|v| v.tunnel()).and_then(|p| p.ofport);
    let gateway_port = view.and_then(|v| v.gateway()).and_then(|p| p.ofport);
    let table = match (&terminal, facts.is_some()) {
        (Some((t, _)), _) => Some(t.clone()),
        (None, _) if tunnel_out.is_some() || pod_out.is_some() || gw_out.is_some() => Some("Output".to_string()),
        _ => None,
    };
    if table.as_deref() == Some("Output") && facts.as_ref().is_none_or(|f| f.reg1_flow.is_none()) {
        // reg1 from where it left.
        state.reg1 = if tunnel_out.is_some() {
            tunnel_port.unwrap_or(u32::MAX - 1)
        } else if let Some((Place::Pod(_, port), _)) = &pod_out {
            port.unwrap_or(u32::MAX - 2)
        } else if gw_out.is_some() {
            gateway_port.unwrap_or(u32::MAX - 3)
        } else {
            0
        };
    }

    let mut obs: Vec<Observation> = Vec::new();
    match &table {
        Some(t) => {
            state.table = t.clone();
            let ctx = ObservingNode {
                is_sender,
                tunnel_port: tunnel_port.or(tunnel_out.map(|_| u32::MAX - 1)),
                gateway_port: gateway_port.or(gw_out.map(|_| u32::MAX - 3)),
                gateway_ips: view.map(|v| v.gateway_ips.clone()).unwrap_or_default(),
                dst_in_pod_subnet: view.is_some_and(|v| {
                    state.packet_dst.is_some_and(|d| {
                        v.peer_for(d).is_some() || v.local_pod_cidrs.iter().any(|&(n, p)| cidr_contains(n, p, d))
                    })
                }),
                ..ObservingNode::default()
            };
            let attribution = Attribution { node };
            obs = observations(&ctx, &state, &attribution);
        }
        None => {
            // Nothing says where it ended on this node: the first observation alone.
            obs.push(if is_sender {
                let mut sg = Observation::new(Component::SpoofGuard, Action::Forwarded);
                sg.src_pod_ip = Some(orig_src.to_string());
                sg
            } else {
                Observation::new(Component::Forwarding, Action::Received)
            });
            let where_ = last_seen.or(entry).map(|s| format!("{} packet {}", s.file, s.packet));
            findings.push(Finding {
                kind: "lost".into(),
                node: Some(node.name.clone()),
                message: match where_ {
                    Some(w) => format!("last seen at {w}; no flow counter or capture shows where it went next"),
                    None if node.artifacts.is_some() => {
                        "no capture shows the probe and no flow counters moved (add a `before/` flow dump or captures)"
                            .into()
                    }
                    None => "no capture shows the probe on this node".into(),
                },
            });
        }
    }

    // Attach times and evidence.
    for o in obs.iter_mut() {
        match (o.component, o.action, o.component_info.as_deref()) {
            (Component::SpoofGuard, ..) | (Component::Forwarding, Action::Received, _) => attach(o, entry),
            (Component::Forwarding, Action::Forwarded, Some("Output")) => attach(o, tunnel_out.or(gw_out)),
            (Component::Forwarding, Action::Delivered, Some("Output")) => {
                attach(o, pod_out.as_ref().map(|(_, s)| *s).or(gw_out))
            }
            (Component::Forwarding, Action::ForwardedOutOfNetwork, _) => attach(o, gw_out.or(tunnel_out)),
            (Component::LB, ..) => {
                if let Some(ip) = &o.translated_dst_ip {
                    o.pod = cluster
                        .and_then(|c| c.pod_by_ip(ip.parse().ok()?))
                        .map(|p| format!("{}/{}", p.namespace, p.name));
                }
                if let Some((_, i)) = facts.as_ref().and_then(|f| f.dnat) {
                    o.evidence.push(node.flow_evidence(i));
                }
            }
            (Component::NetworkPolicy, ..) => {
                if let Some(f) = &facts {
                    let want = match o.component_info.as_deref() {
                        Some("EgressRule") => Some(state.reg5),
                        Some("IngressRule") => Some(state.reg6),
                        Some("IngressMetric" | "EgressMetric") => Some(state.reg3),
                        _ => None,
                    };
                    if let Some(id) = want {
                        if let Some((_, i)) = f.rule_flows.iter().find(|(c, _)| *c == id) {
                            o.evidence.push(node.flow_evidence(*i));
                        }
                    }
                    if o.action == Action::Dropped || o.action == Action::Rejected {
                        if let Some((_, i)) = &f.terminal {
                            o.evidence.push(node.flow_evidence(*i));
                        }
                    }
                }
            }
            _ => {}
        }
        if let (Some(f), Some("Output")) = (&facts, o.component_info.as_deref()) {
            if let Some((_, i)) = &f.terminal {
                o.evidence.push(node.flow_evidence(*i));
            }
        }
    }

    // Disagreements between counters and captures.
    if let Some(last) = obs.last() {
        let dropped = matches!(last.action, Action::Dropped | Action::Rejected);
        if dropped && (tunnel_out.is_some() || pod_out.is_some()) && facts.is_some() {
            let s = tunnel_out.or(pod_out.as_ref().map(|(_, s)| *s)).expect("checked");
            findings.push(Finding {
                kind: "disagreement".into(),
                node: Some(node.name.clone()),
                message: format!(
                    "flow counters say the probe was dropped, but {} packet {} shows it after the drop point",
                    s.file, s.packet
                ),
            });
        }
        if last.action == Action::Delivered && node.has_captures && pod_out.is_none() && gw_out.is_none() {
            findings.push(Finding {
                kind: "disagreement".into(),
                node: Some(node.name.clone()),
                message: "the flows deliver the probe, but no capture of this node shows it at the destination".into(),
            });
        }
    }
    if facts.is_some() && node.sightings.is_empty() && node.has_captures && table.is_some() {
        findings.push(Finding {
            kind: "disagreement".into(),
            node: Some(node.name.clone()),
            message: "flow counters moved, but no capture of this node shows the probe".into(),
        });
    }

    let next = obs
        .iter()
        .find(|o| o.component_info.as_deref() == Some("Output") && o.action == Action::Forwarded)
        .and_then(|o| o.tunnel_dst_ip.as_ref()?.parse().ok())
        .map(|tun: IpAddr| {
            let addrs = tunnel_out
                .map(|s| (s.ip.src, s.ip.dst))
                .unwrap_or((state.packet_src.unwrap_or(orig_src), state.packet_dst.unwrap_or(orig_dst)));
            (tun, addrs)
        });
    let exit_time = tunnel_out.and_then(|s| s.timestamp_ns);
    let hops = if detail_hops { hop_observations(node, facts.as_ref(), &obs) } else { Vec::new() };
    (NodeResult { node: node.name.clone(), role: None, timestamp: None, observations: obs, hops }, next, exit_time)
}

/// The pipeline stage a table belongs to, as an observation component.
fn stage(table: &str) -> Component {
    match table {
        "PipelineRootClassifier" | "Classifier" | "Classification" => Component::Classification,
        "SpoofGuard" | "ARPSpoofGuard" | "IPv6" => Component::SpoofGuard,
        "UnSNAT" | "ConntrackZone" | "ConntrackState" | "ConntrackCommit" | "SNATMark" | "SNAT" => Component::Conntrack,
        "PreRoutingClassifier"
        | "NodePortMark"
        | "SessionAffinity"
        | "ServiceLB"
        | "DSRServiceMark"
        | "EndpointDNAT"
        | "DNAT" => Component::LB,
        "L3Forwarding" | "L3DecTTL" | "EgressQoS" => Component::Routing,
        "EgressMark" => Component::Egress,
        t if t.contains("Egress") || t.contains("Ingress") => Component::NetworkPolicy,
        _ => Component::Forwarding,
    }
}

/// `--detail hops`: one observation per table the probe's hit flows went through.
fn hop_observations(node: &NodeModel<'_>, facts: Option<&CounterFacts>, antrea: &[Observation]) -> Vec<Observation> {
    let Some(facts) = facts else { return Vec::new() };
    let terminal = antrea.last().map(|o| o.action);
    facts
        .path
        .iter()
        .filter_map(|&i| {
            let f = node.flow(i)?;
            let table = node.table_of(f)?;
            let is_drop = f.actions.is_empty() || f.actions.iter().all(|a| matches!(a, OfAction::Drop));
            let action = if is_drop {
                Action::Dropped
            } else if table == "Output" {
                terminal.unwrap_or(Action::Forwarded)
            } else {
                Action::Forwarded
            };
            let mut o = Observation::new(stage(&table), action);
            o.table = Some(table);
            o.evidence.push(node.flow_evidence(i));
            Some(o)
        })
        .collect()
}
