//! Antrea's OVS tables (antrea-traceflow.md §4.1): every table as a typed [`Table`] with its
//! name, legacy names, pipeline stage, policy direction and whether Traceflow reports a drop
//! there; the pre-v1.6 fixed ids; and [`TableMap`], a node's numbering of table names (the
//! `groups` file, which Antrea dumps without `--names`, and numeric dumps use numbers).

use super::observation::Component;
use super::version::AntreaVersion;
use crate::ovs::{Action, Flow, FlowDump, Group, TableRef};
use serde::Serialize;

/// A stage of Antrea's pipeline (antrea-traceflow.md §4.1): which tables run in which order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Stage {
    /// `PipelineRootClassifier`: dispatches to the ARP, IP, multicast or non-IP pipelines.
    Root,
    /// The ARP pipeline.
    Arp,
    /// Classifies the packet's source (Pod, gateway, tunnel, ...).
    Classifier,
    /// Source validation (SpoofGuard).
    Validation,
    /// Conntrack lookups (UnSNAT, zone, state).
    ConntrackState,
    /// Service load balancing (DNAT).
    PreRouting,
    /// Egress NetworkPolicy.
    EgressSecurity,
    /// L3 routing, Egress marking, TTL.
    Routing,
    /// SNAT.
    PostRouting,
    /// L2 forwarding (choosing the output port).
    Switching,
    /// Ingress NetworkPolicy.
    IngressSecurity,
    /// Conntrack commit.
    Conntrack,
    /// Output.
    Output,
    /// The multicast pipeline.
    Multicast,
    /// The non-IP pipeline (ExternalNode).
    NonIp,
    /// Tables of Antrea before v1.6 that have no current counterpart.
    Legacy,
}

/// Which way the NetworkPolicy rules of a table apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Direction {
    /// Traffic leaving a Pod (Antrea's `Out`).
    Egress,
    /// Traffic arriving at a Pod (Antrea's `In`).
    Ingress,
}

/// What a table does for NetworkPolicy, where it does anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PolicyRole {
    /// Not a policy table.
    None,
    /// A stage classifier of a security stage (no rules).
    Classifier(Direction),
    /// Holds rules (conjunctions, conj_id action flows) or their metrics and drops.
    Rules(Direction),
}

macro_rules! antrea_tables {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $stage:ident, $hop:ident, $policy:expr; )*) => {
        /// One of Antrea's OVS tables, current or legacy (pre-v1.6).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum Table {
            $( $(#[$doc])* $variant, )*
        }

        impl Table {
            /// Every table, current ones in the order the agent allocates ids (root, ARP, IP,
            /// multicast, non-IP pipelines; stage order within the IP pipeline), then the legacy
            /// ones.
            pub const ALL: &'static [Table] = &[$(Table::$variant,)*];

            /// Antrea's name of the table (`ovs-ofctl dump-flows --names`).
            pub fn name(self) -> &'static str {
                match self { $(Table::$variant => $name,)* }
            }

            /// The pipeline stage.
            pub fn stage(self) -> Stage {
                match self { $(Table::$variant => Stage::$stage,)* }
            }

            /// The component a `--detail hops` observation of this table has.
            pub fn hop_component(self) -> Component {
                match self { $(Table::$variant => Component::$hop,)* }
            }

            fn policy_role(self) -> PolicyRole {
                use Direction::*;
                use PolicyRole::*;
                let _ = (Egress, Ingress);
                match self { $(Table::$variant => $policy,)* }
            }
        }
    };
}

antrea_tables! {
    /// Table 0: dispatches to the pipelines.
    PipelineRootClassifier = "PipelineRootClassifier", Root, Classification, None;
    /// ARP source validation.
    ArpSpoofGuard = "ARPSpoofGuard", Arp, SpoofGuard, None;
    /// ARP responses for remote gateways.
    ArpResponder = "ARPResponder", Arp, Forwarding, None;
    /// Classifies the packet's source.
    Classifier = "Classifier", Classifier, Classification, None;
    /// IP source validation of local Pods.
    SpoofGuard = "SpoofGuard", Validation, SpoofGuard, None;
    /// IPv6 neighbour discovery and multicast.
    Ipv6 = "IPv6", Validation, SpoofGuard, None;
    /// Multicast classification.
    PipelineIpClassifier = "PipelineIPClassifier", Validation, Forwarding, None;
    /// Reverses SNAT of replies.
    UnSnat = "UnSNAT", ConntrackState, Conntrack, None;
    /// The conntrack lookup.
    ConntrackZone = "ConntrackZone", ConntrackState, Conntrack, None;
    /// Conntrack state checks.
    ConntrackState = "ConntrackState", ConntrackState, Conntrack, None;
    /// PreRouting stage classifier.
    PreRoutingClassifier = "PreRoutingClassifier", PreRouting, LB, None;
    /// NodePort marking (proxyAll).
    NodePortMark = "NodePortMark", PreRouting, LB, None;
    /// Service session affinity.
    SessionAffinity = "SessionAffinity", PreRouting, LB, None;
    /// Service load balancing (select groups).
    ServiceLb = "ServiceLB", PreRouting, LB, None;
    /// Direct Server Return marking.
    DsrServiceMark = "DSRServiceMark", PreRouting, LB, None;
    /// DNAT to the chosen endpoint.
    EndpointDnat = "EndpointDNAT", PreRouting, LB, None;
    /// DNAT without AntreaProxy.
    Dnat = "DNAT", PreRouting, LB, None;
    /// EgressSecurity stage classifier (ExternalNode).
    EgressSecurityClassifier = "EgressSecurityClassifier", EgressSecurity, NetworkPolicy, Classifier(Egress);
    /// Antrea-native egress rules.
    AntreaPolicyEgressRule = "AntreaPolicyEgressRule", EgressSecurity, NetworkPolicy, Rules(Egress);
    /// K8s NetworkPolicy egress rules.
    EgressRule = "EgressRule", EgressSecurity, NetworkPolicy, Rules(Egress);
    /// K8s isolation and Baseline-tier egress drops.
    EgressDefaultRule = "EgressDefaultRule", EgressSecurity, NetworkPolicy, Rules(Egress);
    /// Egress rule metrics and Antrea-native egress drops.
    EgressMetric = "EgressMetric", EgressSecurity, NetworkPolicy, Rules(Egress);
    /// L3 routing (tunnel destination, gateway, local Pods).
    L3Forwarding = "L3Forwarding", Routing, Routing, None;
    /// Egress SNAT marking.
    EgressMark = "EgressMark", Routing, Egress, None;
    /// Egress traffic shaping.
    EgressQos = "EgressQoS", Routing, Routing, None;
    /// TTL decrement.
    L3DecTtl = "L3DecTTL", Routing, Routing, None;
    /// SNAT marking.
    SnatMark = "SNATMark", PostRouting, Conntrack, None;
    /// SNAT.
    Snat = "SNAT", PostRouting, Conntrack, None;
    /// L2 forwarding: the output port into reg1.
    L2ForwardingCalc = "L2ForwardingCalc", Switching, Forwarding, None;
    /// TrafficControl mirror/redirect.
    TrafficControl = "TrafficControl", Switching, Forwarding, None;
    /// IngressSecurity stage classifier.
    IngressSecurityClassifier = "IngressSecurityClassifier", IngressSecurity, NetworkPolicy, Classifier(Ingress);
    /// Antrea-native ingress rules.
    AntreaPolicyIngressRule = "AntreaPolicyIngressRule", IngressSecurity, NetworkPolicy, Rules(Ingress);
    /// K8s NetworkPolicy ingress rules.
    IngressRule = "IngressRule", IngressSecurity, NetworkPolicy, Rules(Ingress);
    /// K8s isolation and Baseline-tier ingress drops.
    IngressDefaultRule = "IngressDefaultRule", IngressSecurity, NetworkPolicy, Rules(Ingress);
    /// Ingress rule metrics and Antrea-native ingress drops.
    IngressMetric = "IngressMetric", IngressSecurity, NetworkPolicy, Rules(Ingress);
    /// Conntrack commit.
    ConntrackCommit = "ConntrackCommit", Conntrack, Conntrack, None;
    /// VLAN tagging (secondary networks, flexible IPAM).
    Vlan = "VLAN", Output, Forwarding, None;
    /// Output: where Traceflow's packet-in for a forwarded probe happens.
    Output = "Output", Output, Forwarding, None;
    /// Multicast egress rules.
    MulticastEgressRule = "MulticastEgressRule", Multicast, NetworkPolicy, Rules(Egress);
    /// Multicast egress metrics.
    MulticastEgressMetric = "MulticastEgressMetric", Multicast, NetworkPolicy, Rules(Egress);
    /// Multicast egress per-Pod metrics.
    MulticastEgressPodMetric = "MulticastEgressPodMetric", Multicast, NetworkPolicy, Rules(Egress);
    /// Multicast routing.
    MulticastRouting = "MulticastRouting", Multicast, Forwarding, None;
    /// Multicast ingress rules.
    MulticastIngressRule = "MulticastIngressRule", Multicast, NetworkPolicy, Rules(Ingress);
    /// Multicast ingress metrics.
    MulticastIngressMetric = "MulticastIngressMetric", Multicast, NetworkPolicy, Rules(Ingress);
    /// Multicast ingress per-Pod metrics.
    MulticastIngressPodMetric = "MulticastIngressPodMetric", Multicast, NetworkPolicy, Rules(Ingress);
    /// Multicast output.
    MulticastOutput = "MulticastOutput", Multicast, Forwarding, None;
    /// The non-IP pipeline.
    NonIp = "NonIP", NonIp, Forwarding, None;
    /// Legacy: uplink handling (bridging mode).
    Uplink = "Uplink", Legacy, Forwarding, None;
    /// Legacy: Service hairpin.
    ServiceHairpin = "ServiceHairpin", Legacy, Forwarding, None;
    /// Legacy: Service conntrack.
    ServiceConntrack = "ServiceConntrack", Legacy, Forwarding, None;
    /// Legacy: Service classification.
    ServiceClassifier = "ServiceClassifier", Legacy, Forwarding, None;
    /// Legacy: default-tier egress rules.
    DefaultTierEgressRule = "DefaultTierEgressRule", Legacy, NetworkPolicy, Rules(Egress);
    /// Legacy: default-tier ingress rules.
    DefaultTierIngressRule = "DefaultTierIngressRule", Legacy, NetworkPolicy, Rules(Ingress);
    /// Legacy: Service conntrack commit.
    ServiceConntrackCommit = "ServiceConntrackCommit", Legacy, Forwarding, None;
    /// Legacy: hairpin SNAT.
    HairpinSnat = "HairpinSNAT", Legacy, Forwarding, None;
}

/// Names older Antrea versions gave to a current table.
const LEGACY_NAMES: &[(&str, Table)] =
    &[("Classification", Table::Classifier), ("L2Forwarding", Table::L2ForwardingCalc), ("IPTTLDec", Table::L3DecTtl)];

impl Table {
    /// The table with this name, current or legacy (`Classification` is [`Table::Classifier`]).
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL
            .iter()
            .copied()
            .find(|t| t.name() == name)
            .or_else(|| LEGACY_NAMES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t))
    }

    /// Whether the table exists in current Antrea (v1.6 and later).
    pub fn is_current(self) -> bool {
        self.stage() != Stage::Legacy
    }

    /// The NetworkPolicy direction of a security table.
    pub fn direction(self) -> Option<Direction> {
        match self.policy_role() {
            PolicyRole::Classifier(d) | PolicyRole::Rules(d) => Some(d),
            PolicyRole::None => None,
        }
    }

    /// Whether the table holds NetworkPolicy rules, their metrics or drops (where reg3 carries
    /// a deny rule's conj id).
    pub fn holds_policy_rules(self) -> bool {
        matches!(self.policy_role(), PolicyRole::Rules(_))
    }

    /// Whether Traceflow reports a NetworkPolicy drop here (it copies the table's drop flows
    /// with a `controller` action): the DefaultRule tables (K8s isolation) and the Metric
    /// tables (Antrea-native deny rules).
    pub fn is_policy_drop_point(self) -> bool {
        matches!(
            self,
            Table::EgressDefaultRule | Table::EgressMetric | Table::IngressDefaultRule | Table::IngressMetric
        )
    }

    /// Whether a drop here carries the deny rule's conj id in reg3 (the Metric tables).
    pub fn is_metric(self) -> bool {
        matches!(self, Table::EgressMetric | Table::IngressMetric)
    }

    /// The rule table whose allow observation a conj id in reg5 (egress) or reg6 (ingress)
    /// stands for.
    pub fn rule_table(direction: Direction) -> Table {
        match direction {
            Direction::Egress => Table::EgressRule,
            Direction::Ingress => Table::IngressRule,
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Fixed table ids of Antrea before v1.6 (v1.4/v1.5 names).
pub const LEGACY: &[(u8, Table)] = &[
    (0, Table::Classifier),
    (5, Table::Uplink),
    (10, Table::SpoofGuard),
    (20, Table::ArpResponder),
    (21, Table::Ipv6),
    (23, Table::ServiceHairpin),
    (24, Table::ServiceConntrack),
    (30, Table::ConntrackZone),
    (31, Table::ConntrackState),
    (35, Table::ServiceClassifier),
    (40, Table::SessionAffinity),
    (41, Table::ServiceLb),
    (42, Table::EndpointDnat),
    (45, Table::AntreaPolicyEgressRule),
    (49, Table::DefaultTierEgressRule),
    (50, Table::EgressRule),
    (60, Table::EgressDefaultRule),
    (61, Table::EgressMetric),
    (70, Table::L3Forwarding),
    (71, Table::Snat),
    (72, Table::L3DecTtl),
    (80, Table::L2ForwardingCalc),
    (85, Table::AntreaPolicyIngressRule),
    (89, Table::DefaultTierIngressRule),
    (90, Table::IngressRule),
    (100, Table::IngressDefaultRule),
    (101, Table::IngressMetric),
    (105, Table::ConntrackCommit),
    (106, Table::ServiceConntrackCommit),
    (108, Table::HairpinSnat),
    (110, Table::Output),
];

/// The names legacy dumps print for the [`LEGACY`] ids (v1.4/v1.5 names).
fn legacy_name(t: Table) -> &'static str {
    match t {
        Table::Classifier => "Classification",
        Table::L3DecTtl => "IPTTLDec",
        Table::L2ForwardingCalc => "L2Forwarding",
        t => t.name(),
    }
}

/// The position of a current table in Antrea's allocation order.
pub fn pipeline_index(name: &str) -> Option<usize> {
    Table::ALL.iter().filter(|t| t.is_current()).position(|t| t.name() == name)
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
            tables: LEGACY.iter().map(|(i, t)| (*i, legacy_name(*t).to_string())).collect(),
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
        TableMap::for_node(dump, declared, None)
    }

    /// [`TableMap::for_dump`] knowing the agent's release: before v1.6 table ids were fixed,
    /// so the legacy numbering is used whatever the names say. A numeric dump whose declared
    /// names are not those of a v1.6+ pipeline (no `PipelineRootClassifier`: v1.4/v1.5
    /// agentinfo lists `Classification`, ...) also gets the legacy numbering, since inferring
    /// an allocation order from legacy names would number them wrongly.
    pub fn for_node(dump: &FlowDump, declared: &[String], version: Option<AntreaVersion>) -> TableMap {
        if let Some(v) = version.filter(|v| v.fixed_table_ids()) {
            let mut map = TableMap::legacy();
            map.notes.push(format!("Antrea {v}: the fixed table ids of releases before v1.6"));
            return map;
        }
        let named: Vec<&str> = dump
            .flows
            .iter()
            .filter_map(|f| match &f.table {
                Some(TableRef::Name(n)) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        let current = declared.iter().any(|d| d == Table::PipelineRootClassifier.name());
        if named.is_empty() && !current {
            return TableMap::legacy();
        }
        TableMap::infer(named.into_iter().chain(declared.iter().map(String::as_str)))
    }

    /// The id of a table name.
    pub fn id(&self, name: &str) -> Option<u8> {
        self.tables.iter().find(|(_, n)| n == name).map(|(i, _)| *i)
    }

    /// The name of a table id.
    pub fn name(&self, id: u8) -> Option<&str> {
        self.tables.iter().find(|(i, _)| *i == id).map(|(_, n)| n.as_str())
    }

    /// The Antrea table a reference names (legacy names map to the current table).
    pub fn table(&self, t: &TableRef) -> Option<Table> {
        match t {
            TableRef::Name(n) => Table::from_name(n),
            TableRef::Id(i) => Table::from_name(self.name(*i)?),
        }
    }

    /// The Antrea table a flow is in.
    pub fn table_of(&self, flow: &Flow) -> Option<Table> {
        self.table(&flow.table_or_zero())
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
                        let table = name.and_then(Table::from_name);
                        if !matches!(table, Some(Table::EndpointDnat | Table::ServiceLb | Table::Dnat)) {
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
        assert_eq!(l.table(&TableRef::Id(80)), Some(Table::L2ForwardingCalc));
        assert_eq!(Table::from_name("Classification"), Some(Table::Classifier));
        assert_eq!(pipeline_index("Output"), Some(37));
        assert!(Table::IngressMetric.is_policy_drop_point() && Table::IngressMetric.is_metric());
        assert_eq!(Table::EgressMark.direction(), None);
        assert_eq!(Table::AntreaPolicyIngressRule.direction(), Some(Direction::Ingress));
    }
}
