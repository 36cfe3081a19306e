//! Antrea's reading of the flows a probe hit on one node: from a path of flows (those whose
//! counters moved between two dumps, or those a simulation went through) to the state
//! Antrea's packet-in would carry at the terminal point ([`TerminalState`]) and the flow lines
//! that support each part of it (the rule flows behind reg5/reg6/reg3, the DNAT flow, the drop
//! or Output flow, the flow that chose the output port).
//!
//! Counters move for all traffic, not only the probe's: [`probe_hits`] keeps only the moved
//! flows whose exact matches agree with the probe's headers at that point of the pipeline.

use super::observe::TerminalState;
use super::registers::{AP_CONJ_ID, MARKS_REGISTER, TARGET_OFPORT, TF_EGRESS_CONJ_ID, TF_INGRESS_CONJ_ID};
use super::tables::{Table, TableMap};
use crate::ovs::{Action, Field, Flow, NatKind, PortTable, TableRef, Value};
use std::net::{IpAddr, Ipv4Addr};

/// What a path of flows says about one node's pass of the probe.
#[derive(Clone, Debug, Default)]
pub struct PathFacts {
    /// The registers and addresses at the terminal point, as far as the path's writes say.
    pub state: TerminalState,
    /// The flows of the path (indexes into the node's flows), in pipeline order.
    pub path: Vec<usize>,
    /// The terminal point: its table's name and the flow there (a policy drop or Output).
    pub terminal: Option<(String, usize)>,
    /// The DNAT the path applied and the flow that did it.
    pub dnat: Option<(IpAddr, usize)>,
    /// `(conj id, flow)` of every flow that loaded a rule's conj id (reg3/reg5/reg6).
    pub rule_flows: Vec<(u32, usize)>,
    /// The flow that chose the output port (wrote reg1).
    pub reg1_flow: Option<usize>,
}

impl PathFacts {
    /// The flow that loaded conj id `conj`.
    pub fn rule_flow(&self, conj: u32) -> Option<usize> {
        self.rule_flows.iter().find(|(c, _)| *c == conj).map(|(_, i)| *i)
    }
}

/// The probe's headers where it enters a node's pipeline, as the flows match them.
#[derive(Clone, Debug)]
pub struct ProbeHeaders {
    /// EtherType (IPv4 or IPv6).
    pub eth_type: u16,
    /// The OpenFlow port it enters on, when known.
    pub in_port: Option<u32>,
    /// Its destination MAC, when known (the sender's copy; a tunnelled copy is rewritten).
    pub eth_dst: Option<u128>,
    /// Source address.
    pub nw_src: u128,
    /// Destination address.
    pub nw_dst: u128,
    /// Transport destination port, when known (not after a DNAT the path does not show).
    pub tp_dst: Option<u128>,
}

/// An address as the bits a flow match compares.
pub fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

fn is_drop(f: &Flow) -> bool {
    f.actions.is_empty() || f.actions.iter().all(|a| matches!(a, Action::Drop))
}

/// Whether `f`'s exact matches agree with the probe's headers `h`.
fn consistent(f: &Flow, h: &ProbeHeaders, ports: Option<&PortTable>) -> bool {
    if f.matches.eth_type().is_some_and(|t| t != h.eth_type) {
        return false;
    }
    f.matches.fields.iter().all(|m| {
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
    })
}

/// Applies the header rewrites of an accepted flow (destination MAC, DNAT) to `h`.
fn rewrite(f: &Flow, h: &mut ProbeHeaders) {
    for a in &f.actions {
        match a {
            Action::SetField { field: Field::EthDst, value: Value::Bits { value, .. } } => {
                h.eth_dst = Some(value.get())
            }
            Action::Ct(ct) => {
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

/// The moved flows (`hit`, indexes into `flows`) that are the probe's, one per table, in
/// pipeline order: a flow whose exact matches contradict the probe's headers at that point
/// (another port, MAC, address or port) is someone else's traffic. Header rewrites of accepted
/// flows (MACs, DNAT) are applied as they go.
pub fn probe_hits(
    flows: &[Flow],
    tables: &TableMap,
    ports: Option<&PortTable>,
    hit: &[usize],
    mut h: ProbeHeaders,
) -> Vec<usize> {
    let mut order: Vec<(u8, std::cmp::Reverse<u16>, usize)> = hit
        .iter()
        .filter_map(|&i| {
            let f = flows.get(i)?;
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
        let Some(f) = flows.get(i) else { continue };
        if !consistent(f, &h, ports) {
            continue;
        }
        last_table = Some(table);
        out.push(i);
        rewrite(f, &mut h);
    }
    out
}

/// The drop flows that may have dropped a packet last seen entering this node's pipeline with
/// headers `h`: the moved flows (`moved`) that drop, whose exact matches agree with `h`. An
/// `established` packet (TCP `+est`) never reaches the policy tables (their `-new+est` flows
/// send it on to the metric tables and past them), so their drops are left out: what remains is
/// conntrack's `+inv` drop, SpoofGuard, routing and the like.
pub fn drop_candidates(
    flows: &[Flow],
    tables: &TableMap,
    ports: Option<&PortTable>,
    moved: &[usize],
    h: &ProbeHeaders,
    established: bool,
) -> Vec<usize> {
    moved
        .iter()
        .copied()
        .filter(|&i| flows.get(i).is_some_and(|f| is_drop(f) && consistent(f, h, ports)))
        .filter(|&i| {
            !established || !flows.get(i).and_then(|f| tables.table_of(f)).is_some_and(|t| t.holds_policy_rules())
        })
        .collect()
}

/// The name of the table a flow is in: Antrea's current name, or the dump's own name; `None`
/// for a table number the node's numbering does not know.
pub fn table_label(tables: &TableMap, f: &Flow) -> Option<String> {
    match (tables.table_of(f), f.table_or_zero()) {
        (Some(t), _) => Some(t.name().to_string()),
        (None, TableRef::Name(n)) => Some(n),
        (None, TableRef::Id(i)) => tables.name(i).map(str::to_string),
    }
}

/// Reads a path of flows: its terminal point, and the registers its writes leave
/// (reg0 marks, reg1 output port, reg3/reg5/reg6 conj ids, `tun_dst`, `pkt_mark`).
pub fn facts_from_path(flows: &[Flow], tables: &TableMap, path: &[usize]) -> PathFacts {
    let mut facts = PathFacts { path: path.to_vec(), ..PathFacts::default() };
    for &i in path {
        let Some(f) = flows.get(i) else { continue };
        let table = tables.table_of(f);
        if facts.terminal.is_none() {
            let at_drop_point = is_drop(f) && table.is_some_and(Table::is_policy_drop_point);
            if at_drop_point || table == Some(Table::Output) {
                facts.terminal = Some((table_label(tables, f).unwrap_or_default(), i));
            }
        }
        for a in &f.actions {
            match a {
                Action::SetField { field, value: Value::Bits { value, mask } } => {
                    facts.write(*field, value.get(), mask.get(), table, i)
                }
                Action::Load { value, dst } => facts.write(dst.field, value.get() << dst.start, dst.mask(), table, i),
                Action::Ct(ct) => {
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

impl PathFacts {
    /// Records a write of `value`/`mask` to `field` by flow `i` in `table`.
    fn write(&mut self, field: Field, value: u128, mask: u128, table: Option<Table>, i: usize) {
        let set = |old: u32| ((u128::from(old) & !mask) | (value & mask)) as u32;
        let s = &mut self.state;
        if field == MARKS_REGISTER {
            s.reg0 = set(s.reg0);
        } else if field == TARGET_OFPORT.field {
            s.reg1 = set(s.reg1);
            self.reg1_flow = Some(i);
        } else if field == AP_CONJ_ID.field {
            // reg3 is the chosen endpoint's address until the policy tables reuse it.
            if table.is_some_and(Table::holds_policy_rules) {
                s.reg3 = set(s.reg3);
                self.rule_flows.push((s.reg3, i));
            }
        } else if field == TF_EGRESS_CONJ_ID.field {
            s.reg5 = set(s.reg5);
            self.rule_flows.push((s.reg5, i));
        } else if field == TF_INGRESS_CONJ_ID.field {
            s.reg6 = set(s.reg6);
            self.rule_flows.push((s.reg6, i));
        } else if field == Field::TunDst {
            s.tun_dst = Some(IpAddr::V4(Ipv4Addr::from(value as u32)));
        } else if field == Field::PktMark {
            s.pkt_mark = set(s.pkt_mark);
        }
    }
}

/// A simulated path read the same way: the registers come from the simulator's terminal state,
/// the supporting flows from the path.
pub fn simulated_facts(flows: &[Flow], tables: &TableMap, state: &TerminalState, path: &[usize]) -> PathFacts {
    let mut facts = facts_from_path(flows, tables, path);
    facts.state = TerminalState { table: String::new(), ..state.clone() };
    let last = path.last().copied().unwrap_or(0);
    let at_terminal = facts.terminal.as_ref().filter(|(t, _)| *t == state.table).map(|(_, i)| *i);
    facts.terminal = Some((state.table.clone(), at_terminal.unwrap_or(last)));
    facts.reg1_flow = facts.reg1_flow.or(Some(last));
    facts
}
