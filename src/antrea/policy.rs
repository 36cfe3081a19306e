//! Attribution of conj ids to NetworkPolicy rules (antrea-traceflow.md §4.3). Antrea does not
//! dump conj ids: the agent keeps the id → rule map in memory. Offline, a conj id is attributed
//! to the rule of the same direction whose applied-to members' addresses (and peers') appear in
//! the conjunction's clause flows, from the bundle's `networkpolicies`, `appliedtogroups` and
//! `addressgroups`. Ambiguity is never guessed: the rule is then unattributed.

use super::controlplane::{MemberGroup, NetworkPolicy, RuleAction, RuleDirection};
use super::node::NodeView;
use super::observe::{PolicyLookup, PolicyRule};
use super::tables::{Direction, TableMap};
use crate::ovs::{Action, Field, Flow, PortTable, Value};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What one node's bundle says about its policies, and the flows realising them.
pub struct PolicyAttribution<'a> {
    /// The node's flows.
    pub flows: &'a [Flow],
    /// Its table numbering.
    pub tables: &'a TableMap,
    /// Its ports and Pods.
    pub view: &'a NodeView,
    /// Its port table, when dumped (port names → numbers).
    pub ports: Option<&'a PortTable>,
    /// Its NetworkPolicies.
    pub policies: &'a [NetworkPolicy],
    /// Its AppliedToGroups and AddressGroups.
    pub groups: Vec<&'a MemberGroup>,
}

/// `<Type>:<ns>/<name>` or `<Type>:<name>` (antrea-traceflow.md §1.5).
fn reference(p: &NetworkPolicy) -> Option<String> {
    Some(format!("{}:{}", p.source_type.as_deref()?, p.source.as_deref()?))
}

impl PolicyAttribution<'_> {
    /// The addresses the conjunction's clause and action flows name, and the rule direction of
    /// the table they are in.
    fn clause_addresses(&self, conj: u32) -> (BTreeSet<IpAddr>, Option<RuleDirection>) {
        let mut ips = BTreeSet::new();
        let mut direction = None;
        for f in self.flows {
            let is_clause = f.actions.iter().any(|a| matches!(a, Action::Conjunction { id, .. } if *id == conj));
            let is_action = f.matches.bits(Field::ConjId).is_some_and(|(v, _)| v == u128::from(conj));
            if !(is_clause || is_action) {
                continue;
            }
            match self.tables.table_of(f).and_then(|t| t.direction()) {
                Some(Direction::Egress) => direction = Some(RuleDirection::Out),
                Some(Direction::Ingress) => direction = Some(RuleDirection::In),
                None => {}
            }
            ips.extend(self.clause_pod_ips(f));
            for field in [Field::IpSrc, Field::IpDst] {
                if let Some((v, m)) = f.matches.bits(field) {
                    if m == u128::from(u32::MAX) {
                        ips.insert(IpAddr::V4(Ipv4Addr::from(v as u32)));
                    }
                }
            }
            for field in [Field::Ipv6Src, Field::Ipv6Dst] {
                if let Some((v, m)) = f.matches.bits(field) {
                    if m == u128::MAX {
                        ips.insert(IpAddr::V6(Ipv6Addr::from(v)));
                    }
                }
            }
        }
        (ips, direction)
    }

    /// The IPs of the Pods a clause names by port: ingress rules by output port (reg1),
    /// egress rules by `in_port`.
    fn clause_pod_ips(&self, f: &Flow) -> Vec<IpAddr> {
        let mut out = Vec::new();
        for field in [Field::Reg(1), Field::InPort] {
            let port = match (field, f.matches.get(field)) {
                (Field::Reg(1), Some(Value::Bits { value, .. })) => Some(value.get() as u32),
                (Field::InPort, Some(Value::Port(p))) => p.number().or_else(|| self.ports?.number_of(p)),
                _ => None,
            };
            if let Some(pod) = port.and_then(|port| self.view.ports.iter().find(|p| p.ofport == Some(port))) {
                out.extend(pod.ips.iter().copied());
            }
        }
        out
    }

    fn members(&self, groups: &[String]) -> BTreeSet<IpAddr> {
        self.groups
            .iter()
            .filter(|g| groups.contains(&g.name))
            .flat_map(|g| g.members.iter().flat_map(|m| m.ips.iter().copied()))
            .collect()
    }
}

impl PolicyLookup for PolicyAttribution<'_> {
    fn rule(&self, conj: u32) -> Option<PolicyRule> {
        let (ips, direction) = self.clause_addresses(conj);
        let direction = direction?;
        let mut best: Vec<(usize, PolicyRule)> = Vec::new();
        for p in self.policies {
            // A policy without its source reference cannot be named (Antrea names it by it).
            let Some(policy) = reference(p) else { continue };
            for r in p.rules.iter().filter(|r| r.direction == Some(direction)) {
                let applied =
                    if r.applied_to.is_empty() { self.members(&p.applied_to) } else { self.members(&r.applied_to) };
                let peers = self.members(&r.peer_groups);
                let score = ips.iter().filter(|ip| applied.contains(ip)).count() * 2
                    + ips.iter().filter(|ip| peers.contains(ip)).count();
                if score == 0 && !ips.is_empty() {
                    continue;
                }
                let rule = PolicyRule {
                    policy: policy.clone(),
                    rule: r.name.clone().filter(|n| !n.is_empty()),
                    reject: r.action == Some(RuleAction::Reject),
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
