//! The simulated path of one packet through one bridge, and its text form (laid out like
//! `ofproto/trace`: a block per pass, ` N. match, priority P` per table visit, the actions
//! indented under it with their effects).

use super::packet::Packet;
use serde::Serialize;
use std::fmt::{self, Write};
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;

/// Text made once when the pipeline is built (a flow's match, an action, a table name) and shared
/// by every trace that shows it: cloning does not copy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Text(Arc<str>);

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(s.into())
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(s.into())
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// One action as executed, with what it changed.
#[derive(Clone, Debug, Serialize)]
pub struct ActionRecord {
    /// The action as flow text.
    pub action: Text,
    /// The field it wrote and the field's value after it (`set_field`, `load`, `mod_*`),
    /// printed as `reg0=0x3`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_set")]
    pub set: Option<(crate::ovs::field::Field, u128)>,
    /// Steps `[from, to)` this action led to (`resubmit`, a group bucket's resubmit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nested: Option<(usize, usize)>,
    /// Effects and remarks (`reg0=0x3`, `-> output to port 2`, `select bucket 0 of 2 (hint)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<String>,
}

/// `field=value` as flow text writes it.
pub fn set_text(field: crate::ovs::field::Field, value: u128) -> String {
    let mut s = format!("{}=", field.match_name());
    let v = crate::ovs::value::Value::masked(value, field.full_mask());
    let _ = crate::ovs::value::write_value(&mut s, field, &v);
    s
}

fn ser_set<S: serde::Serializer>(v: &Option<(crate::ovs::field::Field, u128)>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some((f, x)) => s.serialize_str(&set_text(*f, *x)),
        None => s.serialize_none(),
    }
}

/// One table visit.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// Pass number: 0 = the packet as received, 1.. = conntrack recirculations in order.
    pub pass: u32,
    /// Resubmit nesting depth (0 = top level of the pass).
    pub depth: u32,
    /// Table id.
    pub table: u8,
    /// Table name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<Text>,
    /// Index (0-based, in the pipeline's flow list) of the flow hit; `None` = no match (drop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<usize>,
    /// Priority of the flow hit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
    /// The flow's match as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<Text>,
    /// The flow's cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// Other flows matching at the same priority (OVS would pick one of them arbitrarily).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ties: Vec<usize>,
    /// The conjunction that selected the flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conj_id: Option<u32>,
    /// The clause flows (`conjunction(id,k/n)`) that completed that conjunction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conj_clauses: Vec<usize>,
    /// Actions executed, in order.
    pub actions: Vec<ActionRecord>,
    /// Fields after the step's actions (non-zero metadata and the headers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Packet>,
}

/// Something the packet did that leaves the pipeline.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Sent out of a port.
    Output {
        /// OpenFlow port.
        port: u32,
        /// Port name, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The port is a tunnel: the packet leaves the node, encapsulated to `tun_dst`.
        tunnel: bool,
        /// Tunnel destination (tunnel ports only).
        #[serde(skip_serializing_if = "Option::is_none")]
        tun_dst: Option<IpAddr>,
        /// Table where the output happened.
        table: u8,
        /// The packet at that point.
        packet: Packet,
    },
    /// Sent to the controller (Antrea's packet-in: a terminal observation point).
    Controller {
        /// Table of the `controller` action.
        table: u8,
        /// Table name.
        #[serde(skip_serializing_if = "Option::is_none")]
        table_name: Option<Text>,
        /// `reason`.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// `userdata`.
        #[serde(skip_serializing_if = "Option::is_none")]
        userdata: Option<String>,
        /// The packet and metadata the packet-in would carry.
        packet: Packet,
    },
    /// `NORMAL`, `FLOOD` or `ALL`: L2 switching, not simulated.
    NotSimulated {
        /// The action.
        action: String,
        /// Table.
        table: u8,
    },
}

/// How the trace ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// At least one output (or packet-in) and no error.
    Forwarded,
    /// Sent only to the controller.
    Controller,
    /// No output: dropped (explicit `drop`, table miss, or empty action list at the end).
    Dropped,
    /// The simulation stopped: resubmit depth or step limit, or an action not modelled that
    /// decides the outcome (NORMAL).
    Incomplete,
}

/// The path of one packet through one bridge.
#[derive(Clone, Debug, Serialize)]
pub struct Trace {
    /// The packet as received.
    pub input: Packet,
    /// Table visits, in execution order (recirculation passes after the pass that forked them).
    pub steps: Vec<Step>,
    /// Outputs, packet-ins and unsimulated actions, in order.
    pub events: Vec<Event>,
    /// Outcome.
    pub outcome: Outcome,
    /// The packet at the end of the last pass.
    pub final_packet: Packet,
    /// Assumptions and remarks (conntrack state used, bucket choices, actions not modelled).
    pub notes: Vec<String>,
}

impl Trace {
    /// Output ports in order (tunnel outputs included).
    pub fn output_ports(&self) -> Vec<u32> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Output { port, .. } => Some(*port),
                _ => None,
            })
            .collect()
    }

    /// Packet-ins in order.
    pub fn controller_events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(|e| matches!(e, Event::Controller { .. }))
    }

    /// One table visit, with the visits its resubmits made printed under the resubmit.
    fn write_step(&self, s: &mut String, i: usize, printed: &mut [bool]) -> fmt::Result {
        let Some(st) = self.steps.get(i) else { return Ok(()) };
        printed[i] = true;
        let pad = "    ".repeat(st.depth as usize);
        let name = st.table_name.as_deref().map(|n| format!(" {n}")).unwrap_or_default();
        match (&st.matched, st.priority) {
            (Some(m), Some(p)) => {
                let m = if m.is_empty() { String::new() } else { format!("{m}, ") };
                writeln!(s, "{pad}{:>2}.{name} {m}priority {p}", st.table)?;
            }
            _ => {
                writeln!(s, "{pad}{:>2}.{name} No match.", st.table)?;
                writeln!(s, "{pad}    drop")?;
            }
        }
        if let Some(c) = st.conj_id {
            let flows: Vec<String> = st.conj_clauses.iter().map(|i| (i + 1).to_string()).collect();
            writeln!(s, "{pad}    (conjunction {c} complete: clause flows {})", flows.join(", "))?;
        }
        if !st.ties.is_empty() {
            let flows: Vec<String> = st.ties.iter().map(|i| (i + 1).to_string()).collect();
            writeln!(s, "{pad}    !! tie: flows {} match at the same priority", flows.join(", "))?;
        }
        for a in &st.actions {
            writeln!(s, "{pad}    {}", a.action)?;
            if let Some((f, v)) = a.set {
                writeln!(s, "{pad}     -> {}", set_text(f, v))?;
            }
            for e in &a.effects {
                writeln!(s, "{pad}     -> {e}")?;
            }
            if let Some((from, to)) = a.nested {
                for j in from..to.min(self.steps.len()) {
                    if !printed[j] && self.steps[j].depth == st.depth + 1 && self.steps[j].pass == st.pass {
                        self.write_step(s, j, printed)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `ofproto/trace`-like text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = self.write_text(&mut s);
        s
    }

    fn write_text(&self, s: &mut String) -> fmt::Result {
        writeln!(s, "Flow: {}", self.input.flow_text())?;
        let mut printed = vec![false; self.steps.len()];
        let mut pass = u32::MAX;
        for i in 0..self.steps.len() {
            if printed[i] {
                continue;
            }
            let st = &self.steps[i];
            if st.pass != pass {
                if pass != u32::MAX {
                    writeln!(s)?;
                    writeln!(s, "{}", "=".repeat(79))?;
                    writeln!(s, "recirc pass {} (conntrack)", st.pass)?;
                    writeln!(s, "{}", "=".repeat(79))?;
                }
                pass = st.pass;
                writeln!(s)?;
                writeln!(s, "bridge")?;
                writeln!(s, "------")?;
            }
            self.write_step(s, i, &mut printed)?;
        }
        writeln!(s)?;
        writeln!(s, "Final flow: {}", self.final_packet.flow_text())?;
        let mut outs = Vec::new();
        for e in &self.events {
            outs.push(match e {
                Event::Output { port, name, tun_dst, .. } => {
                    let n = name.clone().unwrap_or_else(|| port.to_string());
                    match tun_dst {
                        Some(t) => format!("{n} (tunnel to {t})"),
                        None => n,
                    }
                }
                Event::Controller { table, reason, .. } => {
                    format!(
                        "controller(table={table}{})",
                        reason.as_ref().map(|r| format!(",reason={r}")).unwrap_or_default()
                    )
                }
                Event::NotSimulated { action, .. } => format!("{action} (not simulated)"),
            });
        }
        let outcome = match self.outcome {
            Outcome::Forwarded => "forwarded",
            Outcome::Controller => "controller",
            Outcome::Dropped => "dropped",
            Outcome::Incomplete => "incomplete",
        };
        if outs.is_empty() {
            writeln!(s, "Result: {outcome}")?;
        } else {
            writeln!(s, "Result: {outcome}: {}", outs.join(", "))?;
        }
        for n in &self.notes {
            writeln!(s, "Note: {n}")?;
        }
        Ok(())
    }
}
