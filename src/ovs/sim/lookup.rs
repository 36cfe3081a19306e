//! Flow tables indexed for lookup with OpenFlow semantics: the highest-priority matching flow
//! wins (equal-priority matches are reported as a tie), masks and prefixes, prerequisites, and
//! `conjunction` (all clauses k/n of a conjunction at one priority, then the `conj_id` flow).
//!
//! Flows are grouped into subtables by their match shape (the set of fields and masks, as OVS's
//! classifier does); each subtable is a hash of the masked key, so a lookup costs one hash probe
//! per shape rather than a scan of every flow.

use super::packet::Packet;
use crate::ovs::error::ParseError;
use crate::ovs::field::Field;
use crate::ovs::value::Value;
use crate::ovs::{Action, Flow, PortTable, Proto};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small multiply-rotate hasher for the masked keys (integers only; no DoS concern here:
/// the keys come from the flows being simulated).
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

type KeyMap<V> = HashMap<Vec<u128>, V, BuildHasherDefault<KeyHasher>>;

/// Longest match shape whose key is built on the stack.
const STACK_KEY: usize = 24;

/// One compiled match item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Item {
    field: Field,
    mask: u128,
}

/// A flow's match, compiled to (field, value, mask) with ports resolved.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    shape: Vec<Item>,
    key: Vec<u128>,
    /// Prerequisites the packet must meet (`tcp_dst` needs TCP).
    prereqs: Vec<crate::ovs::field::Prereq>,
}

impl Compiled {
    /// Whether `p` meets this match (every item, and the prerequisites).
    pub(crate) fn matches(&self, p: &Packet) -> bool {
        self.shape.iter().zip(&self.key).all(|(i, k)| p.get(i.field) & i.mask == *k)
            && self.prereqs.iter().all(|pr| p.meets(*pr))
    }
}

/// Compiles a flow's match. `Err` explains why the flow cannot be evaluated.
pub(crate) fn compile(flow: &Flow, ports: &PortTable) -> Result<Compiled, ParseError> {
    if let Some(o) = flow.matches.other.first() {
        return Err(ParseError::unknown_field(format!("match item {o:?} names no known field")));
    }
    compile_known(flow, ports)
}

/// Compiles the items of a flow's match that name known fields, leaving out the others
/// ([`crate::ovs::Match::other`]): a packet this does not match, the whole flow cannot match.
pub(crate) fn compile_known(flow: &Flow, ports: &PortTable) -> Result<Compiled, ParseError> {
    let m = &flow.matches;
    let mut items: Vec<(Field, u128, u128)> = Vec::new();
    if let Some(et) = m.eth_type() {
        items.push((Field::EthType, u128::from(et), Field::EthType.full_mask()));
    }
    if let Some(p) = m.proto.and_then(Proto::ip_proto) {
        items.push((Field::NwProto, u128::from(p), Field::NwProto.full_mask()));
    }
    let mut prereqs = Vec::new();
    for fm in &m.fields {
        let (v, mask) = match &fm.value {
            Value::Bits { value, mask } => (value.get(), mask.get()),
            Value::Port(p) => {
                let n = ports
                    .number_of(p)
                    .ok_or_else(|| ParseError::missing(format!("port {p} is not in the port table")))?;
                (u128::from(n), fm.field.full_mask())
            }
            Value::Text(_) => return Err(ParseError::invalid(format!("{} is not modelled", fm.field))),
        };
        if matches!(fm.field, Field::EthType | Field::NwProto) {
            items.retain(|(f, _, _)| *f != fm.field);
        }
        if mask == 0 {
            continue;
        }
        prereqs.push(fm.field.prereq());
        items.push((fm.field, v & mask, mask));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
    items.dedup_by(|a, b| a.0 == b.0);
    prereqs.sort_by_key(|p| *p as u8);
    prereqs.dedup();
    Ok(Compiled {
        shape: items.iter().map(|(f, _, m)| Item { field: *f, mask: *m }).collect(),
        key: items.iter().map(|(_, v, _)| *v).collect(),
        prereqs,
    })
}

/// One subtable: flows of one match shape.
#[derive(Clone, Debug, Default)]
struct Subtable {
    shape: Vec<Item>,
    max_priority: u16,
    /// Masked key → flow indexes, highest priority first.
    buckets: KeyMap<Vec<(u16, usize)>>,
}

impl Subtable {
    /// The flows whose masked key equals the packet's.
    fn probe(&self, p: &Packet) -> Option<&Vec<(u16, usize)>> {
        if self.shape.len() <= STACK_KEY {
            let mut buf = [0u128; STACK_KEY];
            for (b, i) in buf.iter_mut().zip(&self.shape) {
                *b = p.get(i.field) & i.mask;
            }
            self.buckets.get(&buf[..self.shape.len()])
        } else {
            let key: Vec<u128> = self.shape.iter().map(|i| p.get(i.field) & i.mask).collect();
            self.buckets.get(&key)
        }
    }
}

/// A flow found by a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Index of the flow in the pipeline.
    pub flow: usize,
    /// Its priority.
    pub priority: u16,
    /// Other flows that matched at the same priority (an ambiguity OVS resolves arbitrarily).
    pub ties: Vec<usize>,
    /// The conjunction that led to this flow (`conj_id` set for the lookup).
    pub conj_id: Option<u32>,
    /// Conjunctions complete at the same priority that were not taken.
    pub conj_ties: Vec<u32>,
    /// The clause flows that completed the conjunction.
    pub conj_clauses: Vec<usize>,
}

/// One flow table.
#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    hard: Vec<Subtable>,
    soft: Vec<Subtable>,
}

/// Conjunction clauses a flow contributes: (id, clause, n_clauses).
pub(crate) fn conjunctions(flow: &Flow) -> Vec<(u32, u8, u8)> {
    flow.actions
        .iter()
        .filter_map(|a| match a {
            Action::Conjunction { id, clause, n_clauses } => Some((*id, *clause, *n_clauses)),
            _ => None,
        })
        .collect()
}

impl Table {
    /// Adds flow `idx`.
    pub(crate) fn insert(&mut self, idx: usize, priority: u16, c: &Compiled, soft: bool) {
        let list = if soft { &mut self.soft } else { &mut self.hard };
        let st = match list.iter_mut().position(|s| s.shape == c.shape) {
            Some(i) => &mut list[i],
            None => {
                list.push(Subtable { shape: c.shape.clone(), ..Subtable::default() });
                let n = list.len() - 1;
                &mut list[n]
            }
        };
        st.max_priority = st.max_priority.max(priority);
        let b = st.buckets.entry(c.key.clone()).or_default();
        let at = b.iter().position(|(p, _)| *p < priority).unwrap_or(b.len());
        b.insert(at, (priority, idx));
    }

    /// Orders subtables by their best priority (so a lookup can stop early).
    pub(crate) fn finish(&mut self) {
        self.hard.sort_by_key(|s| std::cmp::Reverse(s.max_priority));
        self.soft.sort_by_key(|s| std::cmp::Reverse(s.max_priority));
    }

    fn best_hard(&self, p: &Packet, flows: &[(Flow, Result<Compiled, ParseError>)]) -> Option<Hit> {
        let mut best: Option<Hit> = None;
        for st in &self.hard {
            if best.as_ref().is_some_and(|b| b.priority > st.max_priority) {
                break;
            }
            let Some(list) = st.probe(p) else { continue };
            for &(pri, idx) in list {
                if !prereqs_met(p, &flows[idx].1) {
                    continue;
                }
                match &mut best {
                    Some(b) if b.priority > pri => {}
                    Some(b) if b.priority == pri => b.ties.push(idx),
                    _ => {
                        best = Some(Hit {
                            flow: idx,
                            priority: pri,
                            ties: vec![],
                            conj_id: None,
                            conj_ties: vec![],
                            conj_clauses: vec![],
                        })
                    }
                }
                break;
            }
        }
        best
    }

    /// The flow the packet hits in this table, if any.
    pub(crate) fn lookup(&self, p: &Packet, flows: &[(Flow, Result<Compiled, ParseError>)]) -> Option<Hit> {
        let hard = self.best_hard(p, flows);
        let floor = hard.as_ref().map(|h| h.priority);
        if self.soft.is_empty() || floor.is_some_and(|f| self.soft.first().is_none_or(|s| s.max_priority <= f)) {
            return hard;
        }
        // Soft matches above the hard match: clauses per (priority, conj id).
        let mut clauses: HashMap<(u16, u32), (u8, u64, Vec<usize>)> = HashMap::new();
        for st in &self.soft {
            if floor.is_some_and(|f| st.max_priority <= f) {
                break;
            }
            let Some(list) = st.probe(p) else { continue };
            for &(pri, idx) in list {
                if floor.is_some_and(|f| pri <= f) || !prereqs_met(p, &flows[idx].1) {
                    continue;
                }
                for (id, k, n) in conjunctions(&flows[idx].0) {
                    let e = clauses.entry((pri, id)).or_insert((n, 0, Vec::new()));
                    if (1..=64).contains(&k) {
                        e.1 |= 1 << (k - 1);
                    }
                    e.2.push(idx);
                }
            }
        }
        let mut complete: Vec<(u16, u32)> = clauses
            .iter()
            .filter(|(_, (n, bits, _))| *n >= 1 && *n <= 64 && bits.count_ones() == u32::from(*n))
            .map(|(k, _)| *k)
            .collect();
        complete.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let Some(&(pri, id)) = complete.first() else { return hard };
        let conj_ties: Vec<u32> = complete.iter().skip(1).filter(|(p2, _)| *p2 == pri).map(|(_, i)| *i).collect();
        let mut q = p.clone();
        q.set(Field::ConjId, u128::from(id), u128::MAX);
        match self.best_hard(&q, flows) {
            Some(mut h) => {
                h.conj_id = Some(id);
                h.conj_ties = conj_ties;
                h.conj_clauses = clauses.remove(&(pri, id)).map(|c| c.2).unwrap_or_default();
                Some(h)
            }
            None => hard,
        }
    }
}

fn prereqs_met(p: &Packet, c: &Result<Compiled, ParseError>) -> bool {
    match c {
        Ok(c) => c.prereqs.iter().all(|pr| p.meets(*pr)),
        Err(_) => false,
    }
}
