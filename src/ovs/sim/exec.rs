//! Executes actions with Open vSwitch's semantics: `goto_table` continues after the action list,
//! `resubmit` looks up a table and returns to the next action, `set_field`/`load`/`move` over bit
//! ranges, groups on a copy of the packet, `ct` forks a recirculation that runs after the current
//! pass, output to the input port is skipped unless written `IN_PORT`, `dec_ttl` stops the action
//! list when the TTL expires, and so on.

use super::ct::{self, Conn, Conntrack, Tuple};
use super::packet::Packet;
use super::trace::{ActionRecord, Event, Outcome, Step, Trace};
use super::{Pipeline, SimOptions};
use crate::ether::ether_type;
use crate::ovs::action::{Controller, CtZone, SubField};
use crate::ovs::field::Field;
use crate::ovs::group::GroupType;
use crate::ovs::value::{reserved_port, PortRef, Value};
use crate::ovs::{Action, Ct, TableRef};
use std::collections::VecDeque;

/// OVS's limit on nested resubmits.
const MAX_DEPTH: u32 = 64;
/// Table visits allowed in one trace (OVS: 4096 resubmits).
const MAX_STEPS: usize = 4096;
/// Recirculations allowed in one trace.
const MAX_PASSES: u32 = 32;
/// Actions executed in one trace (bounds the fan-out of `type=all` groups chained into each
/// other, which doubles at every level).
pub const MAX_ACTIONS: usize = 100_000;

/// How an action ended.
enum Done {
    /// It ran; record these effects.
    Effects(Vec<String>),
    /// It recorded itself (it runs nested actions); go on or stop.
    Recorded(Flow),
    /// `exit`.
    Exit,
}

/// Every table an action list can lead to (for numbering named tables).
pub fn table_refs(actions: &[Action]) -> Vec<&TableRef> {
    let mut out = Vec::new();
    for a in actions {
        match a {
            Action::GotoTable { table } => out.push(table),
            Action::Resubmit { table: Some(t), .. } => out.push(t),
            Action::Ct(c) => {
                if let Some(t) = &c.table {
                    out.push(t);
                }
                out.extend(table_refs(&c.exec));
            }
            Action::Clone { actions } => out.extend(table_refs(actions)),
            _ => {}
        }
    }
    out
}

/// Whether the rest of the pass goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    /// `exit`, or a limit hit: stop the pass.
    Stop,
}

struct Exec<'a> {
    pl: &'a Pipeline,
    opts: &'a SimOptions,
    steps: Vec<Step>,
    events: Vec<Event>,
    notes: Vec<String>,
    ct: Conntrack,
    queue: VecDeque<(Packet, u8, u32)>,
    pass: u32,
    passes: u32,
    incomplete: bool,
    /// The `push`/`pop` register stack.
    stack: Vec<u128>,
    /// Actions executed so far ([`MAX_ACTIONS`]).
    executed: usize,
    /// The groups being executed, outermost first (a group met again is a loop).
    groups: Vec<u32>,
    /// Precomputed text of the action about to be recorded.
    text: Option<super::trace::Text>,
    /// The field the action about to be recorded wrote, and its new value.
    set: Option<(Field, u128)>,
}

/// Runs `packet` from `table` and every recirculation it forks.
pub(crate) fn run(pl: &Pipeline, packet: Packet, table: u8, opts: &SimOptions) -> Trace {
    let mut x = Exec {
        pl,
        opts,
        steps: Vec::new(),
        events: Vec::new(),
        notes: Vec::new(),
        ct: Conntrack::default(),
        queue: VecDeque::new(),
        pass: 0,
        passes: 0,
        incomplete: false,
        stack: Vec::new(),
        executed: 0,
        groups: Vec::new(),
        text: None,
        set: None,
    };
    let input = packet.clone();
    let mut last = packet.clone();
    x.queue.push_back((packet, table, 0));
    while let Some((mut p, t, pass)) = x.queue.pop_front() {
        x.pass = pass;
        x.table(&mut p, t, 0, None);
        last = p;
    }
    let outcome = if x.incomplete || x.events.iter().any(|e| matches!(e, Event::NotSimulated { .. })) {
        Outcome::Incomplete
    } else if x.events.iter().any(|e| matches!(e, Event::Output { .. })) {
        Outcome::Forwarded
    } else if x.events.iter().any(|e| matches!(e, Event::Controller { .. })) {
        Outcome::Controller
    } else {
        Outcome::Dropped
    };
    Trace { input, steps: x.steps, events: x.events, outcome, final_packet: last, notes: x.notes }
}

impl Exec<'_> {
    fn note(&mut self, n: String) {
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    /// Looks up `table` and runs the flow hit, following `goto_table`. `lookup_port` replaces
    /// `in_port` for the first lookup only (`resubmit(port,table)`: OVS restores the input port
    /// before running the flow found).
    fn table(&mut self, p: &mut Packet, mut table: u8, depth: u32, mut lookup_port: Option<u32>) -> Flow {
        loop {
            if self.steps.len() >= MAX_STEPS {
                self.incomplete = true;
                self.note(format!("stopped after {MAX_STEPS} table visits"));
                return Flow::Stop;
            }
            let moved = lookup_port.take().map(|port| {
                let mut q = p.clone();
                q.set(Field::InPort, u128::from(port), u128::MAX);
                q
            });
            let looked_up = moved.as_ref().unwrap_or(p);
            let hit = self.pl.lookup(table, looked_up);
            if let Some(u) = self.pl.unusable_in(table, looked_up, hit.as_ref().map(|h| h.priority)) {
                // A flow the simulator cannot evaluate may win this lookup: what happens from
                // here is not known, and a path through a lower flow would be a guess.
                self.incomplete = true;
                let priority = u.priority.map_or("priority unknown".to_string(), |p| format!("priority {p}"));
                self.note(format!(
                    "table {table}: flow {} ({priority}) may match this packet, but {}: the simulation stops there",
                    u.place, u.why
                ));
                return Flow::Stop;
            }
            let idx = self.steps.len();
            let table_name = self.pl.table_text.get(&table).cloned();
            let Some(hit) = hit else {
                self.steps.push(Step {
                    pass: self.pass,
                    depth,
                    table,
                    table_name,
                    flow: None,
                    priority: None,
                    matched: None,
                    cookie: None,
                    ties: vec![],
                    conj_id: None,
                    conj_clauses: vec![],
                    actions: vec![],
                    after: None,
                });
                return Flow::Continue;
            };
            let flow = &self.pl.flows[hit.flow].0;
            if !hit.ties.is_empty() {
                self.note(format!(
                    "table {table}: flows {} tie at priority {} (OVS picks one arbitrarily; the first listed was taken)",
                    std::iter::once(hit.flow).chain(hit.ties.iter().copied()).map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(", "),
                    hit.priority
                ));
            }
            if !hit.conj_ties.is_empty() {
                self.note(format!(
                    "table {table}: conjunctions {:?} also complete at the same priority",
                    hit.conj_ties
                ));
            }
            self.steps.push(Step {
                pass: self.pass,
                depth,
                table,
                table_name,
                flow: Some(hit.flow),
                priority: Some(hit.priority),
                matched: self.pl.match_text.get(hit.flow).cloned(),
                cookie: flow.cookie.map(|c| format!("{c:#x}")),
                ties: hit.ties.clone(),
                conj_id: hit.conj_id,
                conj_clauses: hit.conj_clauses.clone(),
                actions: vec![],
                after: None,
            });
            let (next, stop) = self.actions_of(p, &flow.actions, table, depth, idx, Some(hit.flow));
            self.steps[idx].after = Some(p.clone());
            if stop == Flow::Stop {
                return Flow::Stop;
            }
            match next {
                Some(t) => table = t,
                None => return Flow::Continue,
            }
        }
    }

    fn record(&mut self, step: usize, a: &Action, effects: Vec<String>) {
        let text = match self.text.take() {
            Some(t) => t,
            None => crate::ovs::action::ActionList(std::slice::from_ref(a)).to_string().into(),
        };
        if let Some(s) = self.steps.get_mut(step) {
            s.actions.push(ActionRecord { action: text, set: self.set.take(), nested: None, effects });
        }
    }

    /// Runs an action list; returns the `goto_table` target and whether to stop.
    fn actions(
        &mut self,
        p: &mut Packet,
        actions: &[Action],
        table: u8,
        depth: u32,
        step: usize,
    ) -> (Option<u8>, Flow) {
        self.actions_of(p, actions, table, depth, step, None)
    }

    /// [`Exec::actions`] for the action list of flow `flow` (whose action texts are precomputed).
    fn actions_of(
        &mut self,
        p: &mut Packet,
        actions: &[Action],
        table: u8,
        depth: u32,
        step: usize,
        flow: Option<usize>,
    ) -> (Option<u8>, Flow) {
        let mut next = None;
        for (i, a) in actions.iter().enumerate() {
            if self.executed >= MAX_ACTIONS {
                self.incomplete = true;
                self.note(format!("stopped after {MAX_ACTIONS} actions (group fan-out or nested lists)"));
                return (None, Flow::Stop);
            }
            self.executed += 1;
            self.text = flow.and_then(|f| self.pl.action_text.get(f)?.get(i).cloned());
            let done = match a {
                Action::GotoTable { table: t } => {
                    let fx = match self.pl.resolve_table(t) {
                        Some(id) => {
                            next = Some(id);
                            vec![]
                        }
                        None => {
                            self.incomplete = true;
                            vec![format!("table {t} unknown: drop")]
                        }
                    };
                    Done::Effects(fx)
                }
                Action::Resubmit { port, table: t, ct } => {
                    self.resubmit(p, a, port.as_ref(), t.as_ref(), *ct, table, depth, step)
                }
                Action::Group { id } => {
                    self.record(step, a, vec![]);
                    Done::Recorded(self.group(p, *id, table, depth, step))
                }
                Action::Clone { actions } => {
                    self.record(step, a, vec![]);
                    let mut q = p.clone();
                    Done::Recorded(self.actions(&mut q, actions, table, depth, step).1)
                }
                Action::Ct(c) => {
                    // The exec actions record themselves: keep this action's text for after.
                    let text = self.text.take();
                    let fx = self.ct(p, c, table, depth, step);
                    self.text = text;
                    Done::Effects(fx)
                }
                Action::DecTtl { .. } => match self.dec_ttl(p, table) {
                    Some(Err(fx)) => {
                        self.record(step, a, fx);
                        return (None, Flow::Continue);
                    }
                    Some(Ok(fx)) => Done::Effects(fx),
                    None => Done::Effects(vec![]),
                },
                Action::Exit => Done::Exit,
                Action::CheckPktLarger { len, .. } if p.frame_len().is_none() => {
                    // What follows depends on a bit the simulator cannot compute: stop here
                    // rather than guess a branch.
                    self.incomplete = true;
                    self.note(format!(
                        "check_pkt_larger({len}) not simulated: the packet's length is not known, so the pass stops there"
                    ));
                    self.record(step, a, vec!["packet length unknown: the pass stops here".into()]);
                    return (None, Flow::Stop);
                }
                other => Done::Effects(self.simple(p, other, table)),
            };
            match done {
                Done::Effects(fx) => self.record(step, a, fx),
                Done::Recorded(Flow::Continue) => {}
                Done::Recorded(Flow::Stop) => return (None, Flow::Stop),
                Done::Exit => {
                    self.record(step, a, vec![]);
                    return (None, Flow::Stop);
                }
            }
        }
        (next, Flow::Continue)
    }

    /// `resubmit([port],[table][,ct])`: looks up the table and returns to the next action.
    #[allow(clippy::too_many_arguments)]
    fn resubmit(
        &mut self,
        p: &mut Packet,
        a: &Action,
        port: Option<&PortRef>,
        t: Option<&TableRef>,
        ct: bool,
        table: u8,
        depth: u32,
        step: usize,
    ) -> Done {
        let target = match t {
            Some(t) => self.pl.resolve_table(t),
            None => Some(table),
        };
        if ct {
            self.note("resubmit(...,ct) looks up with the packet's fields, not the conntrack tuple".into());
        }
        let Some(target) = target else { return Done::Effects(vec!["table unknown: skipped".into()]) };
        self.record(step, a, vec![]);
        if depth + 1 > MAX_DEPTH {
            self.incomplete = true;
            self.note(format!("resubmit depth over {MAX_DEPTH}"));
            return Done::Recorded(Flow::Stop);
        }
        let lookup_port = match port {
            Some(PortRef::InPort) | None => None,
            Some(pr) => self.port_number(pr),
        };
        let from = self.steps.len();
        let r = self.table(p, target, depth + 1, lookup_port);
        let to = self.steps.len();
        if let Some(rec) = self.steps.get_mut(step).and_then(|s| s.actions.last_mut()) {
            rec.nested = Some((from, to));
        }
        Done::Recorded(r)
    }

    /// `dec_ttl`: decrements the TTL of an IP packet (`Ok` effects); when it expires, the
    /// packet goes to the controller (reason `invalid_ttl`) and the rest of the actions are
    /// skipped (`Err` effects). `None` for a packet that is not IP.
    #[allow(clippy::type_complexity)]
    fn dec_ttl(&mut self, p: &mut Packet, table: u8) -> Option<Result<Vec<String>, Vec<String>>> {
        if !matches!(p.eth_type(), ether_type::IPV4 | ether_type::IPV6) {
            return None;
        }
        let ttl = p.get(Field::NwTtl);
        if ttl > 1 {
            p.set(Field::NwTtl, ttl - 1, u128::MAX);
            return Some(Ok(vec![format!("nw_ttl={}", ttl - 1)]));
        }
        self.events.push(Event::Controller {
            table,
            table_name: self.pl.table_text.get(&table).cloned(),
            reason: Some("invalid_ttl".into()),
            userdata: None,
            packet: p.clone(),
        });
        Some(Err(vec![format!("TTL {ttl} expired: packet-in reason invalid_ttl, rest of the actions skipped")]))
    }

    /// The actions that only change the packet or emit it: their effects.
    fn simple(&mut self, p: &mut Packet, a: &Action, table: u8) -> Vec<String> {
        let mut fx: Vec<String> = Vec::new();
        match a {
            Action::SetField { field, value } => match value {
                Value::Bits { value, mask } => {
                    p.set(*field, value.get(), mask.get());
                    self.set = Some((*field, p.get(*field)));
                }
                Value::Port(pr) => {
                    if let Some(n) = self.port_number(pr) {
                        p.set(*field, u128::from(n), u128::MAX);
                    }
                }
                Value::Text(_) => fx.push("not modelled".into()),
            },
            Action::Load { value, dst } => {
                p.set(dst.field, value.get() << dst.start, dst.mask());
                self.set = Some((dst.field, p.get(dst.field)));
            }
            Action::Move { src, dst } => {
                let v = read_sub(p, src);
                p.set(dst.field, v << dst.start, dst.mask());
                fx.push(format!("{dst} is now {:#x}", v));
            }
            Action::Mod { field, value } => {
                p.set(*field, value.get(), u128::MAX);
                self.set = Some((*field, p.get(*field)));
            }
            Action::PopVlan => p.set(Field::VlanTci, 0, u128::MAX),
            Action::PushVlan { .. } => {
                let tci = p.get(Field::VlanTci);
                p.set(Field::VlanTci, tci | 0x1000, u128::MAX);
            }
            Action::PushMpls { ethertype } | Action::PopMpls { ethertype } => {
                p.set(Field::EthType, u128::from(*ethertype), u128::MAX);
                self.note("MPLS push/pop: only the Ethertype is modelled".into());
            }
            Action::CtClear => p.clear_conntrack(),
            Action::Output { port, .. } => fx = self.output_ref(p, port, table),
            Action::OutputField { src, .. } => {
                let n = read_sub(p, src) as u32;
                fx = self.output_number(p, n, false, table);
            }
            Action::Controller(c) => fx = self.controller(p, c, table),
            Action::Meter { id } => self.note(format!("meter {id} ignored (rate limits not simulated)")),
            Action::CheckPktLarger { len, dst } => match p.frame_len() {
                Some(n) => {
                    let larger = u128::from(n > u32::from(*len));
                    p.set(dst.field, larger << dst.start, dst.mask());
                    fx.push(format!(
                        "{n}-byte frame {} {len} bytes: {dst} is now {larger}",
                        if larger == 1 { ">" } else { "<=" }
                    ));
                }
                // Stopped before it gets here (see `actions_of`).
                None => self.incomplete = true,
            },
            Action::Learn { .. } => {
                fx.push("learn not simulated (no flow is added)".into());
                self.note("learn actions are not simulated".into());
            }
            Action::Other { text } => {
                if let Some(e) = self.stack_op(p, text) {
                    fx.push(e);
                } else {
                    fx.push("not modelled: ignored".into());
                    self.note(format!("action {text:?} not modelled"));
                }
            }
            _ => {}
        }
        fx
    }

    /// `push:SRC[range]` / `pop:DST[range]` on the register stack; `None` if `text` is neither.
    fn stack_op(&mut self, p: &mut Packet, text: &str) -> Option<String> {
        if let Some(src) = text.strip_prefix("push:") {
            let sf = SubField::parse(src).ok()?;
            self.stack.push(read_sub(p, &sf));
            return Some(format!("pushed {:#x}", read_sub(p, &sf)));
        }
        let dst = text.strip_prefix("pop:")?;
        let sf = SubField::parse(dst).ok()?;
        match self.stack.pop() {
            Some(v) => {
                p.set(sf.field, v << sf.start, sf.mask());
                Some(format!("{sf} is now {v:#x}"))
            }
            None => Some("stack empty: nothing popped".into()),
        }
    }

    fn port_number(&self, pr: &PortRef) -> Option<u32> {
        self.pl.ports.number_of(pr)
    }

    fn output_ref(&mut self, p: &Packet, port: &PortRef, table: u8) -> Vec<String> {
        match port {
            PortRef::InPort => {
                let n = p.get(Field::InPort) as u32;
                self.output_number(p, n, true, table)
            }
            PortRef::Normal | PortRef::Flood | PortRef::All => {
                self.events.push(Event::NotSimulated { action: port.to_string(), table });
                vec![format!("{port}: L2 switching is not simulated")]
            }
            PortRef::Controller => self.controller(p, &Controller::default(), table),
            PortRef::None => vec!["output to no port".into()],
            PortRef::Table => {
                self.note("output:TABLE (packet-out only) not simulated".into());
                vec!["not simulated".into()]
            }
            other => match self.port_number(other) {
                Some(n) => self.output_number(p, n, false, table),
                None => vec![format!("port {other} is not in the port table: nothing sent")],
            },
        }
    }

    fn output_number(&mut self, p: &Packet, n: u32, in_port_ok: bool, table: u8) -> Vec<String> {
        if n == reserved_port::CONTROLLER {
            return self.controller(p, &Controller::default(), table);
        }
        if n == p.get(Field::InPort) as u32 && !in_port_ok {
            return vec![format!("skipping output to input port {n}")];
        }
        if !self.pl.ports.ports.is_empty() && n != reserved_port::LOCAL && self.pl.ports.by_number(n).is_none() {
            return vec![format!("port {n} does not exist: nothing sent")];
        }
        let name = self.pl.ports.by_number(n).map(|x| x.name.clone());
        let tunnel = self.opts.tunnel_ports.contains(&n);
        let tun_dst = if tunnel {
            let v = p.get(Field::TunDst);
            (v != 0).then(|| std::net::IpAddr::V4(std::net::Ipv4Addr::from(v as u32)))
        } else {
            None
        };
        if tunnel && tun_dst.is_none() {
            return vec![format!("tunnel port {n} without tun_dst: nothing sent")];
        }
        let fx = match tun_dst {
            Some(t) => vec![format!("output to tunnel port {n}, tun_dst={t}")],
            None => vec![format!("output to port {n}")],
        };
        self.events.push(Event::Output { port: n, name, tunnel, tun_dst, table, packet: p.clone() });
        fx
    }

    fn controller(&mut self, p: &Packet, c: &Controller, table: u8) -> Vec<String> {
        self.events.push(Event::Controller {
            table,
            table_name: self.pl.table_text.get(&table).cloned(),
            reason: c.reason.clone(),
            userdata: c.userdata.clone(),
            packet: p.clone(),
        });
        vec!["packet-in to the controller (terminal observation point)".into()]
    }

    /// A group: its chosen buckets run on copies of the packet. A group met again inside
    /// itself is a loop (OVS refuses such groups); group nesting counts towards the resubmit
    /// depth.
    fn group(&mut self, p: &mut Packet, id: u32, table: u8, depth: u32, step: usize) -> Flow {
        let pl = self.pl;
        let Some(g) = pl.groups.get(&id) else {
            if let Some(why) = &pl.groups_unknown {
                self.incomplete = true;
                self.record_effect(step, format!("group {id}: buckets unknown ({why}): stopped"));
                self.note(format!("group {id} is unresolved: {why}"));
                return Flow::Stop;
            }
            self.record_effect(step, format!("group {id} does not exist: drop"));
            self.note(format!("group {id} is not in the groups file"));
            return Flow::Continue;
        };
        if self.groups.contains(&id) {
            let chain: Vec<String> = self.groups.iter().chain([&id]).map(|g| g.to_string()).collect();
            self.incomplete = true;
            self.record_effect(step, format!("group {id} loops back into itself: stopped"));
            self.note(format!("group loop {} (OVS rejects looping groups): stopped", chain.join(" -> ")));
            return Flow::Stop;
        }
        if depth + 1 > MAX_DEPTH {
            self.incomplete = true;
            self.note(format!("resubmit and group depth over {MAX_DEPTH}"));
            return Flow::Stop;
        }
        let chosen = self.buckets(g, id, p);
        if chosen.is_empty() {
            self.record_effect(step, format!("group {id} has no bucket: drop"));
            return Flow::Continue;
        }
        self.groups.push(id);
        let mut flow = Flow::Continue;
        for b in chosen {
            self.record_effect(step, format!("group {id} bucket {b}"));
            let mut q = p.clone();
            if self.actions(&mut q, &g.buckets[b].actions, table, depth + 1, step).1 == Flow::Stop {
                flow = Flow::Stop;
                break;
            }
        }
        self.groups.pop();
        flow
    }

    /// The buckets of group `g` (id `id`) the packet takes.
    fn buckets(&mut self, g: &crate::ovs::Group, id: u32, p: &Packet) -> Vec<usize> {
        if g.buckets.is_empty() {
            return vec![];
        }
        match g.kind {
            GroupType::All => (0..g.buckets.len()).collect(),
            GroupType::Indirect | GroupType::FastFailover => vec![0],
            GroupType::Select => {
                if let Some(&h) = self.opts.bucket_hints.get(&id) {
                    let b = h.min(g.buckets.len() - 1);
                    self.note(format!("group {id}: bucket {b} of {} taken (hint)", g.buckets.len()));
                    return vec![b];
                }
                let b = dp_hash_bucket(g, p.get(Field::DpHash) as u32);
                let n = g.buckets.len();
                let candidates = if n <= 16 {
                    (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
                } else {
                    format!("0..{}", n - 1)
                };
                self.note(format!(
                    "group {id}: select bucket {b} of {n} by dp_hash={} (candidates: {candidates}; give --bucket {id}=N to choose)",
                    p.get(Field::DpHash),
                ));
                vec![b]
            }
        }
    }

    fn record_effect(&mut self, step: usize, e: String) {
        if let Some(a) = self.steps.get_mut(step).and_then(|s| s.actions.last_mut()) {
            a.effects.push(e);
        }
    }

    fn ct(&mut self, p: &mut Packet, c: &Ct, _table: u8, _depth: u32, step: usize) -> Vec<String> {
        let mut fx = Vec::new();
        let zone = match &c.zone {
            Some(CtZone::Imm(z)) => *z,
            Some(CtZone::Field(sf)) => read_sub(p, sf) as u16,
            None => 0,
        };
        let existing = self.ct.conns.get(&zone).cloned();
        let orig = existing.as_ref().map_or_else(|| Tuple::of(p), |c| c.orig);
        let mut q = p.clone();
        if let Some(conn) = &existing {
            q.set(Field::CtMark, conn.mark, u128::MAX);
            q.set(Field::CtLabel, conn.label, u128::MAX);
        }
        if !c.exec.is_empty() {
            // Run the exec actions on the copy; their records become effects of the ct action.
            let before = self.steps.get(step).map_or(0, |s| s.actions.len());
            let _ = self.actions(&mut q, &c.exec, 0, _depth, step);
            if let Some(s) = self.steps.get_mut(step) {
                for r in s.actions.drain(before.min(s.actions.len())..) {
                    fx.push(format!("exec {}", r.action));
                    if let Some((f, v)) = r.set {
                        fx.push(format!("  {}", super::trace::set_text(f, v)));
                    }
                    fx.extend(r.effects.into_iter().map(|e| format!("  {e}")));
                }
            }
        }
        let mut nat = existing.as_ref().and_then(|c| c.nat.clone());
        if let Some(n) = &c.nat {
            if n.kind.is_some() && n.addrs.is_some() {
                if let Some(d) = ct::apply_nat(&mut q, n) {
                    fx.push(d);
                }
                nat = Some(n.clone());
            }
        }
        if c.commit {
            self.ct.conns.insert(zone, Conn { orig, nat, mark: q.get(Field::CtMark), label: q.get(Field::CtLabel) });
            fx.push(format!("committed in zone {zone}"));
        }
        if let Some(t) = &c.table {
            match self.pl.resolve_table(t) {
                Some(tid) if self.passes < MAX_PASSES => {
                    self.passes += 1;
                    let state = self.opts.ct.state_for(zone);
                    q.set(Field::CtState, u128::from(state), u128::MAX);
                    q.set(Field::CtZone, u128::from(zone), u128::MAX);
                    ct::set_ct_tuple(&mut q, &orig);
                    fx.push(format!(
                        "recirculates to table {tid} with ct_state={} ct_zone={zone} (pass {})",
                        ct::state_text(state),
                        self.passes
                    ));
                    self.note(format!(
                        "conntrack: recirculations resume with ct_state={} (assumed; --ct-state to change)",
                        ct::state_text(self.opts.ct.default_state)
                    ));
                    self.queue.push_back((q, tid, self.passes));
                }
                Some(_) => {
                    self.incomplete = true;
                    self.note(format!("more than {MAX_PASSES} recirculations"));
                }
                None => fx.push(format!("table {t} unknown: no recirculation")),
            }
        }
        p.clear_conntrack();
        fx
    }
}

/// The value of a sub-field, right-aligned.
fn read_sub(p: &Packet, sf: &SubField) -> u128 {
    (p.get(sf.field) & sf.mask()) >> sf.start
}

/// The bucket OVS's default (`dp_hash`) selection method picks for `hash`: OVS fills a table
/// of 2^k hash values (at least 16) with buckets by Webster's method in proportion to their
/// weights, then takes `table[hash & (2^k - 1)]` (ofproto-dpif.c, `group_setup_dp_hash_table`).
pub fn dp_hash_bucket(g: &crate::ovs::Group, hash: u32) -> usize {
    let live: Vec<(usize, u64)> = g
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| (i, u64::from(b.weight.unwrap_or(1))))
        .filter(|(_, w)| *w > 0)
        .collect();
    if live.len() <= 1 {
        return live.first().map_or(0, |(i, _)| *i);
    }
    let total: u64 = live.iter().map(|(_, w)| w).sum();
    let min = live.iter().map(|(_, w)| *w).min().unwrap_or(1).max(1);
    let min_slots = total.div_ceil(min);
    let n_hash = min_slots.next_power_of_two().clamp(16, 1 << 16);
    let target = u64::from(hash) & (n_hash - 1);
    // Webster's method: each slot goes to the bucket with the highest weight / divisor (the
    // first bucket on ties), whose divisor then grows by 2. A heap keeps this O(slots log n)
    // for groups with many buckets.
    let mut heap: std::collections::BinaryHeap<Quota> =
        live.iter().enumerate().map(|(k, (_, w))| Quota { weight: *w, divisor: 1, index: k }).collect();
    let mut chosen = live[0].0;
    for _ in 0..=target {
        let Some(mut best) = heap.pop() else { break };
        chosen = live[best.index].0;
        best.divisor += 2;
        heap.push(best);
    }
    chosen
}

/// A bucket's claim on the next dp_hash slot: `weight / divisor`, the lower index first on ties.
#[derive(PartialEq, Eq)]
struct Quota {
    weight: u64,
    divisor: u64,
    index: usize,
}

impl Ord for Quota {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let a = u128::from(self.weight) * u128::from(other.divisor);
        let b = u128::from(other.weight) * u128::from(self.divisor);
        a.cmp(&b).then(other.index.cmp(&self.index))
    }
}

impl PartialOrd for Quota {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward Webster allocation, to check the heap against.
    fn webster_scan(weights: &[u64], target: u64) -> usize {
        let mut divisor = vec![1u64; weights.len()];
        let mut chosen = 0;
        for _ in 0..=target {
            let mut best = 0;
            for k in 1..weights.len() {
                if weights[k] * divisor[best] > weights[best] * divisor[k] {
                    best = k;
                }
            }
            divisor[best] += 2;
            chosen = best;
        }
        chosen
    }

    fn pipeline(text: &str) -> Pipeline {
        let ports = " 1(p1): addr:02:00:00:00:00:01\n 2(p2): addr:02:00:00:00:00:02\n 3(p3): addr:02:00:00:00:00:03\n";
        let dump = crate::ovs::FlowDump::parse(text, "t").unwrap();
        Pipeline::build(dump.into_flows(), vec![], crate::ovs::PortTable::parse(ports), &[])
    }

    fn outputs(t: &Trace) -> Vec<u32> {
        t.events.iter().filter_map(|e| if let Event::Output { port, .. } = e { Some(*port) } else { None }).collect()
    }

    #[test]
    fn a_flow_with_an_unknown_match_field_stops_the_lookups_it_could_decide() {
        let text = "table=0, priority=100,ip actions=resubmit(,1)\n\
                    table=1, priority=300,ip,w_dst=10.0.0.9 actions=output:2\n\
                    table=1, priority=200,ip,nw_dst=10.0.0.5 actions=output:3\n\
                    table=1, priority=50,arp,w_dst=10.0.0.9 actions=output:2\n\
                    table=1, priority=0 actions=drop\n";
        let dump = crate::ovs::FlowDump::parse(text, "node/flows").unwrap();
        let ports = crate::ovs::PortTable::parse(" 1(p1): addr:02:00:00:00:00:01\n 2(p2): addr:02:00:00:00:00:02\n");
        let pl = Pipeline::from_dump(dump, vec![], ports, &[]);
        // An IP packet: the unusable priority-300 flow could win over priority 200 or the drop.
        let t = pl.trace(&Packet::parse("in_port=1,ip,nw_dst=10.0.0.5", None).unwrap(), &SimOptions::default());
        assert_eq!((t.outcome, outputs(&t)), (Outcome::Incomplete, vec![]), "{:?}", t.notes);
        assert!(
            t.notes.iter().any(|n| n.contains("flow node/flows:2 (priority 300)") && n.contains("`w_dst=10.0.0.9`")),
            "{:?}",
            t.notes
        );
        assert_eq!(t.steps.len(), 1, "the lookup in table 1 is not claimed");
        // An ARP packet meets neither unusable flow's known part... except the ARP one, which is
        // below nothing but the drop: it could decide the lookup too.
        let t = pl.trace(&Packet::parse("in_port=1,arp", None).unwrap(), &SimOptions::default());
        assert_eq!(t.outcome, Outcome::Dropped, "table 0 has no ARP flow: {:?}", t.notes);
        let pl2 = {
            let text =
                "table=0, priority=100 actions=resubmit(,1)\n".to_string() + &text[text.find('\n').unwrap() + 1..];
            let dump = crate::ovs::FlowDump::parse(&text, "f").unwrap();
            Pipeline::from_dump(dump, vec![], crate::ovs::PortTable::parse(" 1(p1): addr:02:00:00:00:00:01\n"), &[])
        };
        let t = pl2.trace(&Packet::parse("in_port=1,arp", None).unwrap(), &SimOptions::default());
        assert_eq!(t.outcome, Outcome::Incomplete, "{:?}", t.notes);
        assert!(t.notes.iter().any(|n| n.contains("flow f:4 (priority 50)")), "{:?}", t.notes);
        // A known flow above every unusable one decides on its own.
        let pl3 = {
            let text = format!("{text}table=1, priority=400,ip,nw_dst=10.0.0.5 actions=output:2\n");
            Pipeline::from_dump(
                crate::ovs::FlowDump::parse(&text, "g").unwrap(),
                vec![],
                crate::ovs::PortTable::parse(" 2(p2): addr:02:00:00:00:00:02\n"),
                &[],
            )
        };
        let t = pl3.trace(&Packet::parse("in_port=1,ip,nw_dst=10.0.0.5", None).unwrap(), &SimOptions::default());
        assert_eq!((t.outcome, outputs(&t)), (Outcome::Forwarded, vec![2]), "{:?}", t.notes);
    }

    #[test]
    fn a_damaged_flow_line_stops_the_lookups_it_could_decide() {
        let ports = " 1(p1): addr:02:00:00:00:00:01\n 2(p2): addr:02:00:00:00:00:02\n";
        let build = |text: &str| {
            let dump = crate::ovs::FlowDump::parse(text, "d").unwrap();
            Pipeline::from_dump(dump, vec![], crate::ovs::PortTable::parse(ports), &[])
        };
        let ip = Packet::parse("in_port=1,ip", None).unwrap();
        // Table and priority readable: only lookups in table 1 below priority 300 are affected.
        let pl = build(
            "table=0, priority=100,ip actions=resubmit(,1),output:2\n\
             table=1, priority=300,ct_state=+bogus actions=drop\n\
             table=1, priority=0 actions=resubmit(,2)\n\
             table=2, priority=0 actions=drop\n",
        );
        let t = pl.trace(&ip, &SimOptions::default());
        assert_eq!((t.outcome, outputs(&t)), (Outcome::Incomplete, vec![]), "{:?}", t.notes);
        assert!(
            t.notes.iter().any(|n| n
                == "table 1: flow d:2 (priority 300) may match this packet, but its line in the dump \
                                         does not parse: the simulation stops there"),
            "{:?}",
            t.notes
        );
        let pl =
            build("table=0, priority=100,ip actions=output:2\ntable=1, priority=300,ct_state=+bogus actions=drop\n");
        assert_eq!(pl.trace(&ip, &SimOptions::default()).outcome, Outcome::Forwarded);
        // Table unreadable: any table.
        let pl = build(
            "table=0, priority=100,ip actions=output:2\n\x01table=0, priority=200,ip,ct_state=+bogus actions=drop\n",
        );
        let t = pl.trace(&ip, &SimOptions::default());
        assert_eq!(t.outcome, Outcome::Incomplete, "{:?}", t.notes);
        assert!(t.notes.iter().any(|n| n.starts_with("table 0: flow d:2 (priority 200)")), "{:?}", t.notes);
    }

    #[test]
    fn check_pkt_larger_compares_the_frame_length() {
        let pl = pipeline(
            "table=0, priority=100,ip actions=check_pkt_larger(1000)->NXM_NX_REG0[0],resubmit(,1)\n\
             table=1, priority=200,reg0=0x1/0x1 actions=output:2\n\
             table=1, priority=100 actions=output:3\n",
        );
        let mut p = Packet::parse("in_port=1,ip", None).unwrap();
        for (len, port) in [(1500, 2), (1001, 2), (1000, 3), (64, 3)] {
            p.set_frame_len(Some(len));
            let t = pl.trace(&p, &SimOptions::default());
            assert_eq!((t.outcome, outputs(&t)), (Outcome::Forwarded, vec![port]), "{len}: {:?}", t.notes);
        }
        // Without the length, the branch is unknown: no output is claimed.
        p.set_frame_len(None);
        let t = pl.trace(&p, &SimOptions::default());
        assert_eq!((t.outcome, outputs(&t)), (Outcome::Incomplete, vec![]));
        assert!(t.notes.iter().any(|n| n.contains("check_pkt_larger(1000) not simulated")), "{:?}", t.notes);
    }

    #[test]
    fn dp_hash_heap_agrees_with_the_scan() {
        for weights in [vec![100, 100], vec![300, 100], vec![7, 5, 5, 3, 1], vec![1; 37], vec![50, 20, 20, 10, 90]] {
            let text: Vec<String> = weights.iter().map(|w| format!("bucket=weight:{w},actions=drop")).collect();
            let g = crate::ovs::Group::parse(&format!("group_id=1,type=select,{}", text.join(","))).unwrap();
            for h in 0..300 {
                let total: u64 = weights.iter().sum();
                let min = *weights.iter().min().unwrap();
                let n_hash = total.div_ceil(min).next_power_of_two().clamp(16, 1 << 16);
                assert_eq!(
                    dp_hash_bucket(&g, h),
                    webster_scan(&weights, u64::from(h) & (n_hash - 1)),
                    "{weights:?} {h}"
                );
            }
        }
    }

    #[test]
    fn dp_hash_buckets_follow_webster() {
        let g = crate::ovs::Group::parse(
            "group_id=10,type=select,bucket=bucket_id:0,weight:100,actions=drop,bucket=bucket_id:1,weight:100,actions=drop",
        )
        .unwrap();
        let picks: Vec<usize> = (0..6).map(|h| dp_hash_bucket(&g, h)).collect();
        assert_eq!(picks, vec![0, 1, 0, 1, 0, 1]);
        let g = crate::ovs::Group::parse(
            "group_id=1,type=select,bucket=weight:300,actions=drop,bucket=weight:100,actions=drop",
        )
        .unwrap();
        let ones = (0..16).filter(|h| dp_hash_bucket(&g, *h) == 1).count();
        assert_eq!(ones, 4, "a quarter of the hash space for a quarter of the weight");
    }
}
