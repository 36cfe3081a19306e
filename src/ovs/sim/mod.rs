//! An offline OpenFlow pipeline simulator: `ofproto/trace` without a switch. Given one bridge's
//! parsed flows, groups and ports ([`Pipeline`]) and a packet ([`Packet`]), [`Pipeline::trace`]
//! returns the table-by-table path ([`Trace`]): every flow hit, every action's effect, the fields
//! after each step, conntrack passes, and the final outputs / packet-ins / drop. [`multinode`]
//! continues a trace on the peer node when the packet leaves through the tunnel.
//!
//! What is modelled, and every assumption the model makes (conntrack state of a new connection,
//! select-group bucket choice, NORMAL not simulated), is written into the trace itself; see
//! docs/simulator.md for the comparison with the real `ofproto/trace`.

use crate::ovs::error::ParseError;
pub mod ct;
pub mod exec;
pub mod lookup;
pub mod multinode;
pub mod packet;
pub mod trace;

pub use ct::CtOptions;
pub use packet::Packet;
pub use trace::{Event, Outcome, Step, Trace};

use crate::ovs::{Flow, FlowDump, Group, PortTable, TableRef};
use lookup::{Compiled, Table};
use std::collections::HashMap;

/// Options for one simulation.
#[derive(Clone, Debug, Default)]
pub struct SimOptions {
    /// Conntrack model options.
    pub ct: CtOptions,
    /// Select-group hints: group id → bucket index to take.
    pub bucket_hints: HashMap<u32, usize>,
    /// The tunnel ports of this bridge (outputs there are "leaving through the tunnel").
    pub tunnel_ports: Vec<u32>,
}

/// One bridge's pipeline, compiled for lookups.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// The flows, with their compiled match (or why they cannot be evaluated).
    pub(crate) flows: Vec<(Flow, Result<Compiled, ParseError>)>,
    /// Flow tables by id.
    tables: HashMap<u8, Table>,
    /// Groups by id.
    pub groups: HashMap<u32, Group>,
    /// Ports.
    pub ports: PortTable,
    /// Table names by id (from the caller's numbering or the order names first appear).
    pub table_names: HashMap<u8, String>,
    table_ids: HashMap<String, u8>,
    /// Remarks made while building (flows that cannot be evaluated, inferred numbering).
    pub notes: Vec<String>,
    /// Each flow's match as text (made once here rather than on every visit).
    pub(crate) match_text: Vec<trace::Text>,
    /// Each flow's actions as text, one per action.
    pub(crate) action_text: Vec<Vec<trace::Text>>,
    /// Table names as shared text.
    pub(crate) table_text: HashMap<u8, trace::Text>,
    /// The dump the flows came from and each flow's line in it, when built from a dump.
    place: Option<(String, Vec<usize>)>,
    /// Flows the simulator cannot evaluate, by table, highest priority first: they are not in
    /// the lookup tables, and a lookup they could change stops the trace.
    unusable: HashMap<u8, Vec<Unusable>>,
    /// Why the groups are not known, when no group dump was given with the flows (a group the
    /// flows use exists on the switch, since OVS refuses flows naming a missing group, but its
    /// buckets are unknown): a group action then stops the simulation as unresolved instead of
    /// dropping.
    pub groups_unknown: Option<String>,
    /// Damaged flow lines whose table is unknown: they could be in any table.
    unusable_anywhere: Vec<Unusable>,
}

/// A flow the simulator cannot evaluate: an item of its match names no known field, or its line
/// in the dump did not parse.
#[derive(Clone, Debug)]
pub(crate) struct Unusable {
    /// Where it is (`FILE:LINE`).
    pub(crate) place: String,
    /// Its priority, when known (none: any).
    pub(crate) priority: Option<u16>,
    /// Why it cannot be evaluated (``its match item `w_dst=1` names no known field``).
    pub(crate) why: String,
    /// The part of its match that is known, when that compiles: a packet this does not match,
    /// the flow cannot match whatever the rest meant.
    known: Option<Compiled>,
}

impl Pipeline {
    /// Builds a pipeline. `tables` numbers named tables (e.g. Antrea's numbering); names it does
    /// not cover are numbered after the highest known id in the order they first appear.
    pub fn build(flows: Vec<Flow>, groups: Vec<Group>, ports: PortTable, tables: &[(u8, String)]) -> Pipeline {
        Pipeline::build_placed(flows, None, groups, ports, tables)
    }

    /// [`Pipeline::build`] from a whole dump, so that notes name each flow by `FILE:LINE`.
    /// The lines of the dump that look like damaged flows ([`FlowDump::damaged`]) are flows the
    /// simulator cannot evaluate, in their table (any table when it cannot be read).
    pub fn from_dump(dump: FlowDump, groups: Vec<Group>, ports: PortTable, tables: &[(u8, String)]) -> Pipeline {
        let place = (dump.origin.clone(), dump.lines.clone());
        let (origin, damaged) = (dump.origin.clone(), dump.damaged.clone());
        let mut out = Pipeline::build_placed(dump.into_flows(), Some(place), groups, ports, tables);
        for d in damaged {
            let u = Unusable {
                place: format!("{origin}:{}", d.line),
                priority: d.priority,
                why: "its line in the dump does not parse".into(),
                known: None,
            };
            match d.table.as_ref().and_then(|t| out.resolve_table(t)) {
                Some(t) => out.unusable.entry(t).or_default().push(u),
                None => out.unusable_anywhere.push(u),
            }
        }
        out.sort_unusable();
        out
    }

    /// Orders the unusable flows highest priority first (unknown priorities first of all).
    fn sort_unusable(&mut self) {
        let key = |u: &Unusable| std::cmp::Reverse(u.priority.unwrap_or(u16::MAX));
        for u in self.unusable.values_mut() {
            u.sort_by_key(key);
        }
        self.unusable_anywhere.sort_by_key(key);
    }

    fn build_placed(
        flows: Vec<Flow>,
        place: Option<(String, Vec<usize>)>,
        groups: Vec<Group>,
        ports: PortTable,
        tables: &[(u8, String)],
    ) -> Pipeline {
        let mut table_names: HashMap<u8, String> = tables.iter().map(|(i, n)| (*i, n.clone())).collect();
        let mut table_ids: HashMap<String, u8> = tables.iter().map(|(i, n)| (n.clone(), *i)).collect();
        let mut notes = Vec::new();
        let mut next = tables.iter().map(|(i, _)| u16::from(*i) + 1).max().unwrap_or(0);
        let mut name_ref = |n: &str, notes: &mut Vec<String>| {
            if !table_ids.contains_key(n) && next <= 255 {
                table_ids.insert(n.to_string(), next as u8);
                table_names.insert(next as u8, n.to_string());
                notes.push(format!("table {n} numbered {next} (order of first appearance)"));
                next += 1;
            }
        };
        for f in &flows {
            if let Some(TableRef::Name(n)) = &f.table {
                name_ref(n, &mut notes);
            }
        }
        for f in &flows {
            for t in exec::table_refs(&f.actions) {
                if let TableRef::Name(n) = t {
                    name_ref(n, &mut notes);
                }
            }
        }
        let mut out = Pipeline {
            flows: Vec::with_capacity(flows.len()),
            tables: HashMap::new(),
            groups: groups.into_iter().map(|g| (g.id, g)).collect(),
            ports,
            table_names,
            table_ids,
            notes,
            match_text: Vec::new(),
            action_text: Vec::new(),
            table_text: HashMap::new(),
            place,
            unusable: HashMap::new(),
            groups_unknown: None,
            unusable_anywhere: Vec::new(),
        };
        for (idx, flow) in flows.into_iter().enumerate() {
            let compiled = lookup::compile(&flow, &out.ports);
            let table = out.resolve_table(&flow.table_or_zero());
            match (&compiled, table) {
                (Ok(c), Some(t)) => {
                    let soft = !lookup::conjunctions(&flow).is_empty();
                    out.tables.entry(t).or_default().insert(idx, flow.priority(), c, soft);
                }
                (Err(e), _) => out.notes.push(format!("flow {} ignored: {e}", out.flow_place(idx))),
                (_, None) => out.notes.push(format!("flow {} ignored: unknown table", out.flow_place(idx))),
            }
            if let (Some(item), Some(t)) = (flow.matches.other.first(), table) {
                let u = Unusable {
                    place: out.flow_place(idx),
                    priority: Some(flow.priority()),
                    why: format!("its match item `{}` names no known field", crate::textfile::excerpt(item)),
                    known: lookup::compile_known(&flow, &out.ports).ok(),
                };
                out.unusable.entry(t).or_default().push(u);
            }
            out.match_text.push(flow.matches.to_string().into());
            out.action_text.push(
                flow.actions
                    .iter()
                    .map(|a| crate::ovs::action::ActionList(std::slice::from_ref(a)).to_string().into())
                    .collect(),
            );
            out.flows.push((flow, compiled));
        }
        for t in out.tables.values_mut() {
            t.finish();
        }
        out.sort_unusable();
        out.table_text = out.table_names.iter().map(|(i, n)| (*i, trace::Text::from(n.as_str()))).collect();
        out
    }

    /// The id of a table reference.
    pub fn resolve_table(&self, t: &TableRef) -> Option<u8> {
        match t {
            TableRef::Id(i) => Some(*i),
            TableRef::Name(n) => self.table_ids.get(n).copied(),
        }
    }

    /// The name of a table id, if known.
    pub fn table_name(&self, id: u8) -> Option<&str> {
        self.table_names.get(&id).map(String::as_str)
    }

    /// Where flow `idx` came from: `FILE:LINE` when the pipeline was built from a dump, else
    /// its 1-based position (`#N`).
    pub fn flow_place(&self, idx: usize) -> String {
        match &self.place {
            Some((origin, lines)) if idx < lines.len() => format!("{origin}:{}", lines[idx]),
            _ => format!("#{}", idx + 1),
        }
    }

    /// The highest-priority flow with an unknown match item in `table` that `packet` could hit
    /// instead of the flow found at priority `floor` (or of a table miss): one whose known items
    /// match the packet, at `floor` or above.
    pub(crate) fn unusable_in(&self, table: u8, packet: &Packet, floor: Option<u16>) -> Option<&Unusable> {
        let matters = |u: &&Unusable| {
            floor.is_none_or(|f| u.priority.is_none_or(|p| p >= f))
                && u.known.as_ref().is_none_or(|c| c.matches(packet))
        };
        let here = self.unusable.get(&table).and_then(|list| list.iter().find(matters));
        here.or_else(|| self.unusable_anywhere.iter().find(matters))
    }

    /// The flow at `idx`.
    pub fn flow(&self, idx: usize) -> Option<&Flow> {
        self.flows.get(idx).map(|(f, _)| f)
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether there are no flows.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// The flow `packet` hits in `table` (no side effects).
    pub fn lookup(&self, table: u8, packet: &Packet) -> Option<lookup::Hit> {
        self.tables.get(&table)?.lookup(packet, &self.flows)
    }

    /// Simulates `packet` entering the pipeline at table 0.
    pub fn trace(&self, packet: &Packet, opts: &SimOptions) -> Trace {
        exec::run(self, packet.clone(), 0, opts)
    }
}
