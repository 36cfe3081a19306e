//! Triage from flow dumps alone: the drop flows of a node that show traffic, named the way
//! Antrea's Traceflow would name a drop there (a NetworkPolicy rule by its conj id, a K8s
//! isolation drop by the Pod it isolates, a conntrack `+inv` drop by its table), with their packet
//! counts — the delta between two dumps when there are two, else the count since the flow was
//! installed and its age (`duration`) and idle time (`idle_age`).

use super::node::NodeView;
use super::observe::PolicyLookup;
use super::registers::{AP_CONJ_ID, TARGET_OFPORT};
use super::tables::{Table, TableMap};
use crate::antrea::observation::Component;
use crate::ovs::{Action, Field, Flow, Value};

/// One drop flow that dropped something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropFlowUse {
    /// Index of the flow in the node's dump.
    pub index: usize,
    /// The table's name (Antrea's current name when the numbering knows it).
    pub table: String,
    /// The component a drop there is reported as.
    pub component: Component,
    /// The policy (`<Type>:<ns>/<name>`), when a conj id names one.
    pub policy: Option<String>,
    /// The rule's name, when it has one.
    pub rule: Option<String>,
    /// For a K8s isolation drop: the Pod port it isolates (`reg1` ingress, `in_port` egress).
    pub isolates: Option<String>,
    /// Packets it dropped: between the two dumps (`counted_between_dumps`), else since installed.
    pub packets: u64,
    /// Whether `packets` is a delta between two dumps.
    pub counted_between_dumps: bool,
    /// The flow's age at the (later) dump, in ms.
    pub duration_ms: Option<u64>,
    /// Seconds since it last matched, at the (later) dump.
    pub idle_age: Option<u32>,
}

fn is_drop(f: &Flow) -> bool {
    f.actions.is_empty() || f.actions.iter().all(|a| matches!(a, Action::Drop))
}

/// The drop flows of `flows` that counted packets: with `deltas` (flow index → packets moved
/// between two dumps) those that moved, else those whose counter is not zero; most packets
/// first. Policy names come from `policies` by the conj id a metric drop matches in reg3.
pub fn drop_flows_used(
    flows: &[Flow],
    tables: &TableMap,
    view: &NodeView,
    policies: &dyn PolicyLookup,
    deltas: Option<&[(usize, u64)]>,
) -> Vec<DropFlowUse> {
    let counted: Vec<(usize, u64)> = match deltas {
        Some(d) => d.to_vec(),
        None => flows.iter().enumerate().filter_map(|(i, f)| f.n_packets.filter(|n| *n > 0).map(|n| (i, n))).collect(),
    };
    let mut out: Vec<DropFlowUse> = counted
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .filter_map(|(i, packets)| {
            let f = flows.get(i).filter(|f| is_drop(f))?;
            let table = tables.table_of(f);
            let conj = table.filter(|t| t.is_metric()).and_then(|_| exact(f, AP_CONJ_ID.field));
            let rule = conj.and_then(|c| policies.rule(c as u32));
            let isolates = match table {
                Some(Table::IngressDefaultRule) => {
                    exact(f, TARGET_OFPORT.field).and_then(|p| port_name(view, p as u32))
                }
                Some(Table::EgressDefaultRule) => match f.matches.get(Field::InPort) {
                    Some(Value::Port(p)) => p.number().and_then(|n| port_name(view, n)).or_else(|| Some(p.to_string())),
                    _ => None,
                },
                _ => None,
            };
            Some(DropFlowUse {
                index: i,
                table: super::hits::table_label(tables, f).unwrap_or_else(|| "?".to_string()),
                component: table.map_or(Component::Forwarding, |t| t.hop_component()),
                policy: rule.as_ref().map(|r| r.policy.clone()),
                rule: rule.and_then(|r| r.rule),
                isolates,
                packets,
                counted_between_dumps: deltas.is_some(),
                duration_ms: f.duration_ms,
                idle_age: f.idle_age,
            })
        })
        .collect();
    out.sort_by(|a, b| b.packets.cmp(&a.packets).then(a.index.cmp(&b.index)));
    out
}

/// The value a flow matches exactly in `field`.
fn exact(f: &Flow, field: Field) -> Option<u128> {
    f.matches.bits(field).filter(|(_, m)| *m == u128::from(u32::MAX)).map(|(v, _)| v)
}

fn port_name(view: &NodeView, ofport: u32) -> Option<String> {
    view.ports.iter().find(|p| p.ofport == Some(ofport)).and_then(|p| p.name.clone())
}
