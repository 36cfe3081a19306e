//! The result as a Traceflow custom resource (`--format yaml`), shaped like
//! `antctl get traceflow -o yaml` prints one: `apiVersion: crd.antrea.io/v1beta1`, `kind:
//! Traceflow`, a `spec` built from the probe and a `status` holding only what Antrea itself fills
//! in, so that a tool reading Antrea's Traceflows reads ours. Everything hoptrace adds (times,
//! interfaces, evidence, roles, TTLs, pipeline stages, clock offsets, findings) sits in one
//! top-level `hoptrace` section beside `spec` and `status`, never inside them: Kubernetes would
//! prune unknown fields there. [`TraceflowDoc::to_result`] puts the two halves back together, so
//! nothing is lost between the JSON and the YAML.

use crate::antrea::observation::{Action, Component, Evidence, NodeResult, Observation, Phase, Role};
use crate::probe::{EndpointKind, Probe, Transport};
use crate::trace::clock::ClockEstimate;
use crate::trace::result::RESULT_SCHEMA;
use crate::trace::{Finding, TraceResult};
use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// The `apiVersion` of Antrea's Traceflow CRD.
pub const API_VERSION: &str = "crd.antrea.io/v1beta1";
/// The `kind`.
pub const KIND: &str = "Traceflow";

/// A Traceflow resource plus hoptrace's section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceflowDoc {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// The resource's name.
    pub metadata: Metadata,
    /// What was traced, from the probe.
    pub spec: Spec,
    /// What Antrea's status would hold.
    pub status: Status,
    /// What hoptrace adds, aligned with `status.results` node by node and observation by
    /// observation.
    pub hoptrace: Additions,
}

/// `metadata`: only the name (a DNS-1123 subdomain, as Kubernetes requires).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// `<source pod>-to-<destination>-<tag>-<probe identification>`.
    pub name: String,
}

/// `spec` of a Traceflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// Where the probe starts.
    pub source: Place,
    /// Where it goes.
    pub destination: Place,
    /// The headers Antrea lets a user set.
    pub packet: Packet,
}

/// `spec.source` / `spec.destination`: a Pod or Service by namespace and name, or an address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The namespace of the Pod or Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The Pod's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The Service's name (destination only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// An address, when the place is not a named Pod or Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// `spec.packet`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Packet {
    /// IPv4 probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_header: Option<IpHeader>,
    /// IPv6 probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_header: Option<Ipv6Header>,
    /// ICMP, TCP or UDP (Antrea has no SCTP: an SCTP probe has none, its protocol is in the IP
    /// header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_header: Option<TransportHeader>,
}

/// `spec.packet.ipHeader`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpHeader {
    /// IP protocol number.
    pub protocol: u8,
    /// TTL.
    pub ttl: u8,
    /// The three IPv4 flag bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<u8>,
}

/// `spec.packet.ipv6Header`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ipv6Header {
    /// Next header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
}

/// `spec.packet.transportHeader`: exactly one member set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportHeader {
    /// ICMP echo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp: Option<IcmpHeader>,
    /// UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<Ports>,
    /// TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpHeader>,
}

/// ICMP echo id and sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcmpHeader {
    /// Echo identifier.
    pub id: u16,
    /// Echo sequence.
    pub sequence: u16,
}

/// UDP ports (Antrea's schema wants 1..=65535: a port 0 is left out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ports {
    /// Source port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
}

/// TCP ports and flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpHeader {
    /// Source port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    /// The flags byte.
    pub flags: u8,
}

/// `status`, holding only the fields Antrea fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `phase`.
    pub phase: Phase,
    /// `reason` (Failed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `dataplaneTag`.
    pub dataplane_tag: u8,
    /// `startTime`: the first corrected observation time, to the second (a Kubernetes
    /// `metav1.Time`); absent when no observation has a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// `results`, one per node in path order.
    pub results: Vec<StatusNode>,
}

/// `status.results[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusNode {
    /// `node`.
    pub node: String,
    /// `timestamp`, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// `observations`, Antrea's fields only.
    pub observations: Vec<StatusObservation>,
}

/// `status.results[].observations[]`: the fields of Antrea's CRD that Antrea fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusObservation {
    /// `component`.
    pub component: Component,
    /// `componentInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_info: Option<String>,
    /// `action`.
    pub action: Action,
    /// `pod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// `dstMAC`.
    #[serde(default, rename = "dstMAC", skip_serializing_if = "Option::is_none")]
    pub dst_mac: Option<String>,
    /// `networkPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<String>,
    /// `networkPolicyRule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy_rule: Option<String>,
    /// `translatedSrcIP`.
    #[serde(default, rename = "translatedSrcIP", skip_serializing_if = "Option::is_none")]
    pub translated_src_ip: Option<String>,
    /// `translatedDstIP`.
    #[serde(default, rename = "translatedDstIP", skip_serializing_if = "Option::is_none")]
    pub translated_dst_ip: Option<String>,
    /// `tunnelDstIP`.
    #[serde(default, rename = "tunnelDstIP", skip_serializing_if = "Option::is_none")]
    pub tunnel_dst_ip: Option<String>,
    /// `egressIP`.
    #[serde(default, rename = "egressIP", skip_serializing_if = "Option::is_none")]
    pub egress_ip: Option<String>,
    /// `egress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<String>,
    /// `egressNode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_node: Option<String>,
    /// `srcPodIP`.
    #[serde(default, rename = "srcPodIP", skip_serializing_if = "Option::is_none")]
    pub src_pod_ip: Option<String>,
}

/// The `hoptrace` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Additions {
    /// The schema of the JSON result this section completes ([`RESULT_SCHEMA`]).
    pub schema: String,
    /// antctl's `source` string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// antctl's `destination` string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// One per `status.results` entry, same order.
    pub results: Vec<NodeAdditions>,
    /// Clock offsets per node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clocks: Vec<ClockEstimate>,
    /// Findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// What hoptrace adds to one node's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAdditions {
    /// The node (the same as `status.results[i].node`).
    pub node: String,
    /// Its role on the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// One per `status.results[i].observations` entry, same order (`{}` when nothing is added).
    pub observations: Vec<ObservationAdditions>,
    /// `--detail hops`: every pipeline stage crossed, whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hops: Vec<Observation>,
}

/// What hoptrace adds to one observation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationAdditions {
    /// The TTL seen here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i32>,
    /// Corrected time, RFC 3339 with nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Raw capture time, ns since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_time_ns: Option<i64>,
    /// The interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The deciding OVS table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// What supports the observation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// Why a document cannot be turned back into a result.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// `apiVersion` or `kind` is not a Traceflow's.
    #[error("not a Traceflow document: apiVersion {0:?}, kind {1:?}")]
    NotTraceflow(String, String),
    /// The `hoptrace` section does not line up with `status`.
    #[error("the hoptrace section does not match status: {0}")]
    Misaligned(String),
}

impl TraceflowDoc {
    /// The document for `result`, with the spec taken from `probe`.
    pub fn new(result: &TraceResult, probe: &Probe) -> TraceflowDoc {
        let mut status_nodes = Vec::new();
        let mut added = Vec::new();
        for r in &result.results {
            status_nodes.push(StatusNode {
                node: r.node.clone(),
                timestamp: r.timestamp,
                observations: r.observations.iter().map(status_observation).collect(),
            });
            added.push(NodeAdditions {
                node: r.node.clone(),
                role: r.role,
                observations: r.observations.iter().map(observation_additions).collect(),
                hops: r.hops.clone(),
            });
        }
        let start = result
            .results
            .iter()
            .flat_map(|r| r.observations.iter().filter_map(move |o| o.raw_time_ns.map(|t| t + offset(result, &r.node))))
            .min()
            .map(|ns| {
                let s = crate::time::rfc3339_nanos(ns);
                format!("{}Z", s.get(..19).unwrap_or(&s))
            });
        TraceflowDoc {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            metadata: Metadata { name: name(probe) },
            spec: spec(probe),
            status: Status {
                phase: result.phase,
                reason: result.reason.clone(),
                dataplane_tag: result.dataplane_tag,
                start_time: start,
                results: status_nodes,
            },
            hoptrace: Additions {
                schema: RESULT_SCHEMA.into(),
                source: result.source.clone(),
                destination: result.destination.clone(),
                results: added,
                clocks: result.clocks.clone(),
                findings: result.findings.clone(),
            },
        }
    }

    /// The result this document was made from: `status` and the `hoptrace` section merged
    /// observation by observation.
    pub fn to_result(&self) -> Result<TraceResult, DocError> {
        if self.api_version != API_VERSION || self.kind != KIND {
            return Err(DocError::NotTraceflow(self.api_version.clone(), self.kind.clone()));
        }
        let status = &self.status.results;
        let added = &self.hoptrace.results;
        if status.len() != added.len() {
            return Err(DocError::Misaligned(format!("{} nodes in status, {} in hoptrace", status.len(), added.len())));
        }
        let mut results = Vec::new();
        for (s, a) in status.iter().zip(added) {
            if s.node != a.node || s.observations.len() != a.observations.len() {
                return Err(DocError::Misaligned(format!(
                    "node {} has {} observations in status, node {} has {} in hoptrace",
                    s.node,
                    s.observations.len(),
                    a.node,
                    a.observations.len()
                )));
            }
            results.push(NodeResult {
                node: s.node.clone(),
                role: a.role,
                timestamp: s.timestamp,
                observations: s.observations.iter().zip(&a.observations).map(|(o, x)| merge(o, x)).collect(),
                hops: a.hops.clone(),
            });
        }
        Ok(TraceResult {
            schema: self.hoptrace.schema.clone(),
            phase: self.status.phase,
            reason: self.status.reason.clone(),
            dataplane_tag: self.status.dataplane_tag,
            source: self.hoptrace.source.clone(),
            destination: self.hoptrace.destination.clone(),
            results,
            clocks: self.hoptrace.clocks.clone(),
            findings: self.hoptrace.findings.clone(),
        })
    }
}

fn offset(result: &TraceResult, node: &str) -> i64 {
    result.clocks.iter().find(|c| c.node == node).map_or(0, |c| c.offset_ns)
}

fn status_observation(o: &Observation) -> StatusObservation {
    StatusObservation {
        component: o.component,
        component_info: o.component_info.clone(),
        action: o.action,
        pod: o.pod.clone(),
        dst_mac: o.dst_mac.clone(),
        network_policy: o.network_policy.clone(),
        network_policy_rule: o.network_policy_rule.clone(),
        translated_src_ip: o.translated_src_ip.clone(),
        translated_dst_ip: o.translated_dst_ip.clone(),
        tunnel_dst_ip: o.tunnel_dst_ip.clone(),
        egress_ip: o.egress_ip.clone(),
        egress: o.egress.clone(),
        egress_node: o.egress_node.clone(),
        src_pod_ip: o.src_pod_ip.clone(),
    }
}

fn observation_additions(o: &Observation) -> ObservationAdditions {
    ObservationAdditions {
        ttl: o.ttl,
        time: o.time.clone(),
        raw_time_ns: o.raw_time_ns,
        interface: o.interface.clone(),
        table: o.table.clone(),
        evidence: o.evidence.clone(),
    }
}

fn merge(s: &StatusObservation, a: &ObservationAdditions) -> Observation {
    Observation {
        component: s.component,
        component_info: s.component_info.clone(),
        action: s.action,
        pod: s.pod.clone(),
        dst_mac: s.dst_mac.clone(),
        network_policy: s.network_policy.clone(),
        network_policy_rule: s.network_policy_rule.clone(),
        egress: s.egress.clone(),
        ttl: a.ttl,
        translated_src_ip: s.translated_src_ip.clone(),
        translated_dst_ip: s.translated_dst_ip.clone(),
        tunnel_dst_ip: s.tunnel_dst_ip.clone(),
        egress_ip: s.egress_ip.clone(),
        egress_node: s.egress_node.clone(),
        src_pod_ip: s.src_pod_ip.clone(),
        time: a.time.clone(),
        raw_time_ns: a.raw_time_ns,
        interface: a.interface.clone(),
        table: a.table.clone(),
        evidence: a.evidence.clone(),
    }
}

/// `spec` from the probe: a named Pod or Service by namespace and name, otherwise the address.
fn spec(probe: &Probe) -> Spec {
    let place = |e: Option<&crate::probe::Endpoint>, fallback: std::net::IpAddr| {
        let mut p = Place::default();
        match e {
            Some(e) if e.kind != EndpointKind::Ip && e.name.is_some() => {
                let full = e.name.as_deref().unwrap_or_default();
                let (ns, name) = full.split_once('/').unwrap_or(("default", full));
                p.namespace = Some(ns.to_string());
                if e.kind == EndpointKind::Service {
                    p.service = Some(name.to_string());
                } else {
                    p.pod = Some(name.to_string());
                }
            }
            Some(e) => p.ip = Some(e.ip.to_string()),
            None => p.ip = Some(fallback.to_string()),
        }
        p
    };
    let port = |p: u16| (p != 0).then_some(p);
    let mut packet = Packet::default();
    if probe.ip.version == 6 {
        packet.ipv6_header = Some(Ipv6Header { next_header: probe.ip.protocol, hop_limit: probe.ip.ttl });
    } else {
        packet.ip_header =
            Some(IpHeader { protocol: probe.ip.protocol, ttl: probe.ip.ttl, flags: probe.ip.flags.map(|f| f & 7) });
    }
    packet.transport_header = match &probe.transport {
        Transport::Icmp { id, sequence } => {
            Some(TransportHeader { icmp: Some(IcmpHeader { id: *id, sequence: *sequence }), ..Default::default() })
        }
        Transport::Tcp { src_port, dst_port, flags, .. } => Some(TransportHeader {
            tcp: Some(TcpHeader { src_port: port(*src_port), dst_port: port(*dst_port), flags: *flags }),
            ..Default::default()
        }),
        Transport::Udp { src_port, dst_port } => Some(TransportHeader {
            udp: Some(Ports { src_port: port(*src_port), dst_port: port(*dst_port) }),
            ..Default::default()
        }),
        Transport::Sctp { .. } => None,
    };
    Spec {
        source: place(probe.source.as_ref(), probe.ip.src),
        destination: place(probe.destination.as_ref(), probe.ip.dst),
        packet,
    }
}

/// A name the way antctl makes one (`<source pod>-to-<destination>-<suffix>`), with the probe's
/// tag and IPv4 identification (or IPv6 flow label) as the suffix so the same probe always gets
/// the same name; reduced to a DNS-1123 subdomain.
fn name(probe: &Probe) -> String {
    let short = |e: Option<&crate::probe::Endpoint>, ip: std::net::IpAddr| match e.and_then(|e| e.name.as_deref()) {
        Some(n) => n.rsplit('/').next().unwrap_or(n).to_string(),
        None => ip.to_string(),
    };
    let ident = probe.ip.identification.map(u32::from).or(probe.ip.flow_label).unwrap_or(0);
    let raw = format!(
        "{}-to-{}-tag{}-{ident:x}",
        short(probe.source.as_ref(), probe.ip.src),
        short(probe.destination.as_ref(), probe.ip.dst),
        probe.dataplane_tag
    );
    let mut s: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' })
        .collect();
    s.truncate(253);
    let s = s.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    if s.is_empty() {
        "hoptrace".into()
    } else {
        s
    }
}

/// Writes the Traceflow document as YAML.
pub fn write_yaml(out: &mut dyn Write, result: &TraceResult, probe: &Probe) -> io::Result<()> {
    let doc = TraceflowDoc::new(result, probe);
    let text = serde_yaml_ng::to_string(&doc).map_err(io::Error::other)?;
    out.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_subdomains() {
        let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/hairpin-service/probe.json"))
            .unwrap();
        let mut probe = Probe::from_json(&json, "probe.json").unwrap();
        assert_eq!(
            name(&probe),
            format!("web-a-to-web-local-tag{}-{:x}", probe.dataplane_tag, probe.ip.identification.unwrap())
        );
        probe.source = None;
        probe.destination = None;
        let n = name(&probe);
        assert!(n.starts_with("10.10.1.6-to-10.96.0.10-"), "{n}");
        assert!(n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'));
    }
}
