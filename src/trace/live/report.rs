//! The result of `analyze --match` (schema `hoptrace.live/v1`, docs/evidence-schema.md): a
//! summary across connections first, then per connection its first packet as a liveTraffic
//! Traceflow would report it and every packet's sightings and fate.

use crate::antrea::observation::{Action, Component};
use crate::trace::result::{EvidenceKind, Finding, TraceResult};
use serde::{Deserialize, Serialize};

/// The value of `schema` in a live result.
pub const LIVE_SCHEMA: &str = "hoptrace.live/v1";

/// What happened to a packet, or a connection (the fate of its last packet with a known fate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// It reached its destination Pod (or the gateway / node it was sent to).
    Delivered,
    /// It left the cluster network.
    ForwardedOut,
    /// Dropped or rejected.
    Dropped,
    /// The evidence does not say (see the packet's result and the findings).
    Unknown,
}

impl Fate {
    /// The name as serialised.
    pub fn name(self) -> &'static str {
        match self {
            Fate::Delivered => "delivered",
            Fate::ForwardedOut => "forwarded-out",
            Fate::Dropped => "dropped",
            Fate::Unknown => "unknown",
        }
    }
}

/// Where a packet was dropped, as its reconstruction's terminal observation says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DropPoint {
    /// The node.
    pub node: String,
    /// Antrea's component.
    pub component: Component,
    /// Dropped or Rejected.
    pub action: Action,
    /// Antrea's `componentInfo` (the table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_info: Option<String>,
    /// Antrea's `networkPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<String>,
    /// Antrea's `networkPolicyRule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy_rule: Option<String>,
    /// What supports the observation (captures, counters, simulation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceKind>,
    /// The drop flow (`FILE:LINE: flow`), when the drop was found from counters rather than
    /// from a reconstruction (whose observations name their flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
}

/// One sighting of a packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeenAt {
    /// Node.
    pub node: String,
    /// Interface, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Capture file.
    pub file: String,
    /// Packet number in it.
    pub packet: u64,
    /// Capture time (the node's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The same time in nanoseconds since the epoch (for `--pcap-out`; the JSON has `time`).
    #[serde(skip)]
    pub time_ns: Option<i64>,
    /// The innermost 5-tuple as seen there (after any NAT).
    pub tuple: String,
    /// TTL or hop limit there.
    pub ttl: u8,
}

/// One packet of a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PacketResult {
    /// 1-based, in the order the source Pod sent them.
    pub number: usize,
    /// When it was first seen (the seed's capture time).
    pub time: String,
    /// Its IPv4 ID (absent for IPv6 and ID 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_id: Option<u16>,
    /// The conntrack state its reconstruction assumed.
    pub ct_state: String,
    /// TCP: the same sequence number, flags and length as an earlier packet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retransmission: bool,
    /// Extra sightings on one capture point (duplicates, or packets the key cannot separate).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicates: u32,
    /// Its fate.
    pub fate: Fate,
    /// Where it was dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<DropPoint>,
    /// Its last sighting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<SeenAt>,
    /// Every sighting, in time order.
    pub sightings: Vec<SeenAt>,
    /// Its own reconstruction, when it did not get as far as its connection's first packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<TraceResult>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}

/// Antrea's `capturedPacket` (liveTraffic Traceflow): the first packet's headers at its
/// terminal point, after NAT and TTL decrement. Antrea takes them from the packet-in; hoptrace
/// from the packet's last sighting, which `capturedAt` names (for a drop, that capture point is
/// before the dropping node's pipeline, so its TTL may be one higher than Antrea's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapturedPacket {
    /// `srcIP`.
    #[serde(rename = "srcIP")]
    pub src_ip: String,
    /// `dstIP`.
    #[serde(rename = "dstIP")]
    pub dst_ip: String,
    /// IPv4 total length / IPv6 payload length.
    pub length: u16,
    /// IPv4: `{protocol, ttl, flags}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_header: Option<serde_json::Value>,
    /// IPv6: `{nextHeader, hopLimit}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_header: Option<serde_json::Value>,
    /// `{tcp: {srcPort, dstPort, flags}}`, `{udp: {srcPort, dstPort}}` or `{icmp: {id, sequence}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_header: Option<serde_json::Value>,
    /// hoptrace: the sighting the headers come from (`node/interface`).
    pub captured_at: String,
}

impl CapturedPacket {
    /// The headers of `s`, as Antrea's `parseCapturedPacket` keeps them.
    pub fn of(s: &crate::decode::sighting::Sighting) -> CapturedPacket {
        use crate::decode::TransportInfo;
        use serde_json::json;
        let ip = &s.ip;
        let v6 = ip.version == 6;
        let transport = s.transport.as_ref().map(|t| match *t {
            TransportInfo::Tcp { src_port, dst_port, flags, .. } => {
                json!({"tcp": {"srcPort": src_port, "dstPort": dst_port, "flags": flags}})
            }
            TransportInfo::Udp { src_port, dst_port, .. } => json!({"udp": {"srcPort": src_port, "dstPort": dst_port}}),
            TransportInfo::Sctp { src_port, dst_port, .. } => {
                json!({"sctp": {"srcPort": src_port, "dstPort": dst_port}})
            }
            TransportInfo::Icmp { id, sequence, .. } => json!({"icmp": {"id": id, "sequence": sequence}}),
        });
        let flags = u8::from(ip.dont_fragment) << 1 | u8::from(ip.more_fragments);
        CapturedPacket {
            src_ip: ip.src.to_string(),
            dst_ip: ip.dst.to_string(),
            length: ip.length,
            ip_header: (!v6).then(|| json!({"protocol": ip.protocol, "ttl": ip.ttl, "flags": flags})),
            ipv6_header: v6.then(|| json!({"nextHeader": ip.protocol, "hopLimit": ip.ttl})),
            transport_header: transport,
            captured_at: format!("{}/{}", s.node, s.interface.as_deref().unwrap_or("?")),
        }
    }
}

/// Packet counts of a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Packets followed.
    pub packets: usize,
    /// Delivered.
    pub delivered: usize,
    /// Forwarded out of the network.
    pub forwarded_out: usize,
    /// Dropped.
    pub dropped: usize,
    /// Fate unknown.
    pub unknown: usize,
    /// TCP retransmissions.
    pub retransmissions: usize,
    /// Packets seen twice on one capture point.
    pub duplicates: usize,
}

impl Counts {
    /// Counts the packets of one connection.
    pub fn of(packets: &[PacketResult]) -> Counts {
        let fate = |f: Fate| packets.iter().filter(|p| p.fate == f).count();
        Counts {
            packets: packets.len(),
            delivered: fate(Fate::Delivered),
            forwarded_out: fate(Fate::ForwardedOut),
            dropped: fate(Fate::Dropped),
            unknown: fate(Fate::Unknown),
            retransmissions: packets.iter().filter(|p| p.retransmission).count(),
            duplicates: packets.iter().filter(|p| p.duplicates > 0).count(),
        }
    }
}

/// One followed connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionResult {
    /// Its 5-tuple as the source Pod sent it (`tcp 10.10.1.5:40001 > 10.96.0.20:80`).
    pub tuple: String,
    /// TCP: its first packet in the captures is not a SYN (the capture began mid-connection).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mid_connection: bool,
    /// The fate of its last packet with a known fate.
    pub fate: Fate,
    /// Where it was delivered: the post-NAT destination (`ns/pod IP:PORT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Where its last dropped packet was dropped, when the connection's fate is `dropped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<DropPoint>,
    /// Packet counts.
    pub counts: Counts,
    /// Its first packet, reconstructed as a liveTraffic Traceflow reports it.
    pub first_packet: TraceResult,
    /// The first packet's headers at its terminal point, as Antrea's `capturedPacket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_packet: Option<CapturedPacket>,
    /// Every packet.
    pub packets: Vec<PacketResult>,
    /// With `--replies`: the replies, from the server back to the client, analysed the same way
    /// (their tuple as the server sent them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<Box<ConnectionResult>>,
}

/// Dropped connections sharing a drop point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DropGroup {
    /// Node.
    pub node: String,
    /// Component.
    pub component: Component,
    /// Antrea's `componentInfo` (the table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_info: Option<String>,
    /// Policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<String>,
    /// Rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy_rule: Option<String>,
    /// How many connections.
    pub connections: usize,
}

/// Across connections.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Connections found in the captures.
    pub found: usize,
    /// Connections reported (after `--connections` and `--dropped-only`).
    pub reported: usize,
    /// Reported connections delivered.
    pub delivered: usize,
    /// Forwarded out of the network.
    pub forwarded_out: usize,
    /// Dropped.
    pub dropped: usize,
    /// Unknown.
    pub unknown: usize,
    /// With `--replies`: reported connections whose replies were dropped.
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    pub replies_dropped: usize,
    /// Where connections were delivered, with counts (`ns/pod IP:PORT`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<(String, usize)>,
    /// Drop points, most connections first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drops: Vec<DropGroup>,
}

impl Summary {
    /// The summary of the reported connections.
    pub fn of(found: usize, connections: &[ConnectionResult], drops: &[DropGroup]) -> Summary {
        let fate = |f: Fate| connections.iter().filter(|c| c.fate == f).count();
        let mut endpoints: Vec<(String, usize)> = Vec::new();
        for e in connections.iter().filter_map(|c| c.endpoint.as_ref()) {
            match endpoints.iter_mut().find(|(n, _)| n == e) {
                Some((_, count)) => *count += 1,
                None => endpoints.push((e.clone(), 1)),
            }
        }
        endpoints.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Summary {
            found,
            reported: connections.len(),
            delivered: fate(Fate::Delivered),
            forwarded_out: fate(Fate::ForwardedOut),
            dropped: fate(Fate::Dropped),
            unknown: fate(Fate::Unknown),
            replies_dropped: connections
                .iter()
                .filter(|c| c.replies.as_ref().is_some_and(|r| r.fate == Fate::Dropped))
                .count(),
            endpoints,
            drops: drops.to_vec(),
        }
    }
}

/// A drop flow that dropped packets (`--dropped-only`): what the flow dumps alone say was
/// dropped on a node, whatever the captures hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DropFlowReport {
    /// Node.
    pub node: String,
    /// Table.
    pub table: String,
    /// The component a drop there is reported as.
    pub component: Component,
    /// The policy its conj id names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<String>,
    /// The rule's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy_rule: Option<String>,
    /// For a K8s isolation drop: the Pod port it isolates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolates: Option<String>,
    /// Packets dropped: between the two dumps when `betweenDumps`, else since it was installed.
    pub packets: u64,
    /// Whether `packets` is the delta between two dumps.
    pub between_dumps: bool,
    /// The flow's age at the dump (`duration`), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_for_ms: Option<u64>,
    /// Seconds since it last dropped something (`idle_age`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_age_s: Option<u32>,
    /// The flow as `FILE:LINE: flow`.
    pub flow: String,
}

/// The whole live result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveResult {
    /// Always [`LIVE_SCHEMA`].
    pub schema: String,
    /// The SPEC as given.
    pub spec: String,
    /// Packets found matching the SPEC as sent.
    pub seeds: u64,
    /// Across connections.
    pub summary: Summary,
    /// The reported connections, in order of their first packet.
    pub connections: Vec<ConnectionResult>,
    /// With `--dropped-only`: every drop flow of every node that dropped packets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_flows: Vec<DropFlowReport>,
    /// Findings (bad inputs, what was searched when nothing matched, limits reached).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}
