//! The probe's fingerprint: the fields that survive NAT, TTL decrement and encapsulation, so a
//! packet seen anywhere on the path can be recognised as the probe (DESIGN.md, "The probe and its
//! fingerprint").

use super::spec::{ProbeSpec, Transport};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What identifies the probe on the wire. Addresses and ports are deliberately absent: DNAT and
/// SNAT change them. Replies never match: they carry another IP ID / flow label, another ICMP type,
/// or another TCP sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fingerprint {
    /// The DSCP tag in the innermost IP header.
    pub dscp: u8,
    /// 4 or 6.
    pub ip_version: u8,
    /// IP protocol / next header of the transport.
    pub protocol: u8,
    /// IPv4 identification (IPv4 probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_id: Option<u16>,
    /// IPv6 flow label (IPv6 probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_label: Option<u32>,
    /// ICMP type of the request (8 for ICMP, 128 for ICMPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// ICMP echo identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_id: Option<u16>,
    /// ICMP echo sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_seq: Option<u16>,
    /// TCP sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_seq: Option<u32>,
    /// UDP length field (header + payload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_length: Option<u16>,
    /// SCTP INIT chunk Initiate Tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sctp_initiate_tag: Option<u32>,
}

impl Fingerprint {
    /// The fingerprint of a resolved probe.
    pub fn of(spec: &ProbeSpec) -> Fingerprint {
        let v6 = spec.is_ipv6();
        let mut fp = Fingerprint {
            dscp: spec.tag.dscp(),
            ip_version: if v6 { 6 } else { 4 },
            protocol: spec.ip_protocol(),
            ipv4_id: (!v6).then_some(spec.ipv4_id),
            flow_label: v6.then_some(spec.flow_label),
            icmp_type: None,
            icmp_id: None,
            icmp_seq: None,
            tcp_seq: None,
            udp_length: None,
            sctp_initiate_tag: None,
        };
        match spec.transport {
            Transport::Icmp { id, sequence } => {
                fp.icmp_type = Some(if v6 { 128 } else { 8 });
                fp.icmp_id = Some(id);
                fp.icmp_seq = Some(sequence);
            }
            Transport::Tcp { seq, .. } => fp.tcp_seq = Some(seq),
            Transport::Udp { .. } => fp.udp_length = Some(8),
            Transport::Sctp { initiate_tag, .. } => fp.sctp_initiate_tag = Some(initiate_tag),
        }
        fp
    }
}

/// The probe's two ends as crafted: what a reply mirrors. The fingerprint alone cannot tell a
/// reply from the probe when the peer's stack reflects the IPv6 flow label and echoes the traffic
/// class (or a UDP echo keeps the length); the direction can.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeEnds {
    /// The probe's source address.
    pub src: IpAddr,
    /// The probe's destination address (before any DNAT).
    pub dst: IpAddr,
    /// Source and destination ports, for TCP, UDP and SCTP.
    pub ports: Option<(u16, u16)>,
}
