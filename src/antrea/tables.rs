//! Antrea's OVS tables: names and order (antrea-traceflow.md §4.1), legacy fixed ids (pre-v1.6),
//! and the mapping of table names to the numbers a numeric dump (e.g. the `groups` file, which
//! Antrea dumps without `--names`) uses.

use crate::ovs::{Action, FlowDump, Group, TableRef};
use serde::Serialize;

/// Every table Antrea can create, in the order the agent allocates ids (root, ARP, IP,
/// multicast, non-IP pipelines; stage order within the IP pipeline). Only tables required by
/// the enabled features exist on a node, so real ids are the positions among existing tables.
pub const PIPELINE: &[&str] = &[
    "PipelineRootClassifier",
    "ARPSpoofGuard",
    "ARPResponder",
    "Classifier",
    "SpoofGuard",
    "IPv6",
    "PipelineIPClassifier",
    "UnSNAT",
    "ConntrackZone",
    "ConntrackState",
    "PreRoutingClassifier",
    "NodePortMark",
    "SessionAffinity",
    "ServiceLB",
    "DSRServiceMark",
    "EndpointDNAT",
    "DNAT",
    "EgressSecurityClassifier",
    "AntreaPolicyEgressRule",
    "EgressRule",
    "EgressDefaultRule",
    "EgressMetric",
    "L3Forwarding",
    "EgressMark",
    "EgressQoS",
    "L3DecTTL",
    "SNATMark",
    "SNAT",
    "L2ForwardingCalc",
    "TrafficControl",
    "IngressSecurityClassifier",
    "AntreaPolicyIngressRule",
    "IngressRule",
    "IngressDefaultRule",
    "IngressMetric",
    "ConntrackCommit",
    "VLAN",
    "Output",
    "MulticastEgressRule",
    "MulticastEgressMetric",
    "MulticastEgressPodMetric",
    "MulticastRouting",
    "MulticastIngressRule",
    "MulticastIngressMetric",
    "MulticastIngressPodMetric",
    "MulticastOutput",
    "NonIP",
];

/// Fixed table ids of Antrea before v1.6 (v1.4/v1.5 names).
pub const LEGACY: &[(u8, &str)] = &[
    (0, "Classification"),
    (5, "Uplink"),
    (10, "SpoofGuard"),
    (20, "ARPResponder"),
    (21, "IPv6"),
    (23, "ServiceHairpin"),
    (24, "ServiceConntrack"),
    (30, "ConntrackZone"),
    (31, "ConntrackState"),
    (35, "ServiceClassifier"),
    (40, "SessionAffinity"),
    (41, "ServiceLB"),
    (42, "EndpointDNAT"),
    (45, "AntreaPolicyEgressRule"),
    (49, "DefaultTierEgressRule"),
    (50, "EgressRule"),
    (60, "EgressDefaultRule"),
    (61, "EgressMetric"),
    (70, "L3Forwarding"),
    (71, "SNAT"),
    (72, "IPTTLDec"),
    (80, "L2Forwarding"),
    (85, "AntreaPolicyIngressRule"),
    (89, "DefaultTierIngressRule"),
    (90, "IngressRule"),
    (100, "IngressDefaultRule"),
    (101, "IngressMetric"),
    (105, "ConntrackCommit"),
    (106, "ServiceConntrackCommit"),
    (108, "HairpinSNAT"),
    (110, "Output"),
];

/// Legacy names that correspond to a current table (for the knowledge that looks tables up by
/// their current name).
const LEGACY_ALIASES: &[(&str, &str)] =
    &[("Classification", "Classifier"), ("L2Forwarding", "L2ForwardingCalc"), ("IPTTLDec", "L3DecTTL")];

/// The position of a table in [`PIPELINE`].
pub fn pipeline_index(name: &str) -> Option<usize> {
    PIPELINE.iter().position(|n| *n == name)
}

/// Where a table numbering came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableMapSource {
    /// Pre-v1.6 fixed ids.
    Legacy,
    /// The tables named in the flows (or listed in agentinfo), numbered in Antrea's pipeline
    /// order. This is an inference: a table with no flow and not in agentinfo would shift ids.
    Inferred,
}

/// Table names ↔ numbers for one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableMap {
    /// `(id, name)` in id order.
    pub tables: Vec<(u8, String)>,
    /// How the numbering was obtained.
    pub source: TableMapSource,
    /// Remarks about the inference (unknown names, checks against the groups file).
    pub notes: Vec<String>,
}

impl TableMap {
    /// The legacy fixed numbering.
    pub fn legacy() -> TableMap {
        TableMap {
            tables: LEGACY.iter().map(|(i, n)| (*i, n.to_string())).collect(),
            source: TableMapSource::Legacy,
            notes: vec![],
        }
    }

    /// Numbers the given table names in Antrea's pipeline order (PipelineRootClassifier = 0).
    /// Names Antrea does not define are numbered after the known ones and noted.
    pub fn infer<'a>(names: impl IntoIterator<Item = &'a str>) -> TableMap {
        let mut known: Vec<&str> = Vec::new();
        let mut unknown: Vec<&str> = Vec::new();
        for n in names {
            if pipeline_index(n).is_some() {
                if !known.contains(&n) {
                    known.push(n);
                }
            } else if !unknown.contains(&n) {
                unknown.push(n);
            }
        }
        known.sort_by_key(|n| pipeline_index(n));
        let mut notes = vec![format!(
            "table ids inferred from {} table names in Antrea's pipeline order; a table with no flow shifts later ids",
            known.len() + unknown.len()
        )];
        if !unknown.is_empty() {
            notes.push(format!("tables unknown to this Antrea knowledge, numbered last: {}", unknown.join(", ")));
        }
        let tables = known.into_iter().chain(unknown).enumerate().map(|(i, n)| (i as u8, n.to_string())).collect();
        TableMap { tables, source: TableMapSource::Inferred, notes }
    }

    /// The numbering for a node's flows: legacy ids when the dump is numeric and uses them,
    /// otherwise inferred from the table names present (plus `declared`, e.g. agentinfo's
    /// `ovsInfo.flowTable` keys, which also lists tables without flows).
    pub fn for_dump(dump: &FlowDump, declared: &[String]) -> TableMap {
        let names: Vec<&str> = dump
            .flows
            .iter()
            .filter_map(|f| match &f.table {
                Some(TableRef::Name(n)) => Some(n.as_str()),
                _ => None,
            })
            .chain(declared.iter().map(String::as_str))
            .collect();
        if names.is_empty() {
            return TableMap::legacy();
        }
        TableMap::infer(names)
    }

    /// The id of a table name.
    pub fn id(&self, name: &str) -> Option<u8> {
        self.tables.iter().find(|(_, n)| n == name).map(|(i, _)| *i)
    }

    /// The name of a table id.
    pub fn name(&self, id: u8) -> Option<&str> {
        self.tables.iter().find(|(i, _)| *i == id).map(|(_, n)| n.as_str())
    }

    /// The current Antrea name of a table reference (legacy names mapped to current ones).
    pub fn canonical_name<'a>(&'a self, t: &'a TableRef) -> Option<&'a str> {
        let n = match t {
            TableRef::Name(n) => n.as_str(),
            TableRef::Id(i) => self.name(*i)?,
        };
        Some(LEGACY_ALIASES.iter().find(|(l, _)| *l == n).map_or(n, |(_, c)| c))
    }

    /// The id of a table reference.
    pub fn resolve(&self, t: &TableRef) -> Option<u8> {
        match t {
            TableRef::Id(i) => Some(*i),
            TableRef::Name(n) => self.id(n),
        }
    }

    /// Checks the numbering against a numeric groups file: Antrea's Service groups resubmit to
    /// `EndpointDNAT` (or back to `ServiceLB`). Records the result in [`TableMap::notes`] and
    /// returns whether every numeric resubmit target is one of those.
    pub fn check_groups(&mut self, groups: &[Group]) -> bool {
        let mut ok = true;
        let mut seen = 0;
        for g in groups {
            for b in &g.buckets {
                for a in &b.actions {
                    if let Action::Resubmit { table: Some(TableRef::Id(id)), .. } = a {
                        seen += 1;
                        let name = self.name(*id);
                        if !matches!(name, Some("EndpointDNAT" | "ServiceLB" | "DNAT")) {
                            ok = false;
                            self.notes.push(format!(
                                "group {} resubmits to table {id} = {}, expected EndpointDNAT or ServiceLB",
                                g.id,
                                name.unwrap_or("unknown")
                            ));
                        }
                    }
                }
            }
        }
        if seen > 0 && ok {
            self.notes
                .push(format!("{seen} numeric group resubmits land on EndpointDNAT/ServiceLB: numbering consistent"));
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inference_and_legacy() {
        let m = TableMap::infer(["Output", "Classifier", "PipelineRootClassifier", "Custom"]);
        assert_eq!(m.id("PipelineRootClassifier"), Some(0));
        assert_eq!(m.id("Classifier"), Some(1));
        assert_eq!(m.id("Output"), Some(2));
        assert_eq!(m.id("Custom"), Some(3));
        assert!(m.notes[1].contains("Custom"));
        let l = TableMap::legacy();
        assert_eq!(l.name(70), Some("L3Forwarding"));
        assert_eq!(l.canonical_name(&TableRef::Id(80)), Some("L2ForwardingCalc"));
    }
}
