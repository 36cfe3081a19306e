//! Probe matching: a packet is a sighting of the probe when its innermost IP header carries the
//! probe's fingerprint (DESIGN.md, "The probe and its fingerprint"). Addresses, ports and TTL are
//! not part of it — NAT and routing change them — so they are recorded as seen, never compared.

use super::layers::{Decoded, IpInfo, TunnelInfo};
use super::transport::TransportInfo;
use crate::addr::MacAddr;
use crate::capture::Direction;
use crate::probe::{Fingerprint, ProbeEnds};
use serde::{Deserialize, Serialize};

/// How a packet relates to the probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// Not the probe (another packet, or a reply).
    No,
    /// The probe: IP and transport invariants all agree.
    Probe,
    /// A non-first fragment of the probe, associated by tag + IPv4 ID / IPv6 flow label +
    /// protocol (it has no transport header to check).
    LaterFragment,
}

/// Compares the innermost IP and transport headers of a packet with the probe's fingerprint.
/// Replies mostly fail here (another IP ID, ICMP type, TCP sequence number or SCTP tag); the
/// ones that do not (a reflected IPv6 flow label, a UDP echo) are set aside by [`is_reply`].
pub fn match_fingerprint(fp: &Fingerprint, ip: &IpInfo, transport: Option<&TransportInfo>) -> Match {
    if ip.version != fp.ip_version || ip.dscp != fp.dscp || ip.protocol != fp.protocol {
        return Match::No;
    }
    let id_ok = match ip.version {
        4 => fp.ipv4_id.is_some() && ip.identification == fp.ipv4_id,
        _ => fp.flow_label.is_some() && ip.flow_label == fp.flow_label,
    };
    if !id_ok {
        return Match::No;
    }
    if ip.fragment_offset != 0 {
        return Match::LaterFragment;
    }
    let transport_ok = match transport {
        Some(TransportInfo::Icmp { icmp_type, id, sequence, .. }) => {
            Some(*icmp_type) == fp.icmp_type && *id == fp.icmp_id && *sequence == fp.icmp_seq
        }
        Some(TransportInfo::Tcp { seq, .. }) => Some(*seq) == fp.tcp_seq,
        Some(TransportInfo::Udp { length, .. }) => Some(*length) == fp.udp_length,
        Some(TransportInfo::Sctp { initiate_tag, .. }) => {
            fp.sctp_initiate_tag.is_some() && *initiate_tag == fp.sctp_initiate_tag
        }
        None => false,
    };
    if transport_ok {
        Match::Probe
    } else {
        Match::No
    }
}

/// Whether a packet that carries the probe's fingerprint travels the other way: a reply from a
/// stack that reflects the IPv6 flow label and echoes the traffic class, or a UDP echo that
/// keeps the length. Ports decide where the probe has them: a reply goes back to the probe's
/// source port from another one (NAT may rewrite the addresses, and a hairpinned probe is sent
/// to its own source Pod, so addresses alone cannot decide). When the probe's two ports are
/// equal, or it has none, the addresses decide: a reply's mirror the probe's exactly (a reply
/// whose addresses were translated then goes unrecognised, and stays a sighting).
pub fn is_reply(ends: &ProbeEnds, ip: &IpInfo, transport: Option<&TransportInfo>) -> bool {
    let mirrored_addresses = ip.src == ends.dst && ip.dst == ends.src && ends.src != ends.dst;
    match (ends.ports, transport.and_then(TransportInfo::ports)) {
        (Some((probe_src, probe_dst)), Some((src, dst))) if probe_src != probe_dst => {
            dst == probe_src && src != probe_src
        }
        (Some(_), Some((src, dst))) => mirrored_addresses && src == dst,
        _ => mirrored_addresses,
    }
}

/// Ethernet addresses of one layer, as recorded in a sighting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L2Info {
    /// Source MAC.
    pub src: MacAddr,
    /// Destination MAC (Antrea's `dstMAC` for the innermost layer).
    pub dst: MacAddr,
    /// 802.1Q VLAN ids, outer first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vlans: Vec<u16>,
}

/// One packet of a capture that is the probe, with everything seen about it there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sighting {
    /// The node whose captures were scanned.
    pub node: String,
    /// The capture file, as given on the command line.
    pub file: String,
    /// 1-based packet number in the file (tcpdump `-#`, Wireshark frame number).
    pub packet: u64,
    /// Interface: the pcapng `if_name`, else the `NODE_IFACE.pcap` file name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Interface index from a Linux cooked v2 (SLL2) header (`tcpdump -i any`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ifindex: Option<u32>,
    /// Direction, when the capture records it (pcapng flags or SLL packet type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Capture time, nanoseconds since the Unix epoch (absent for pcapng Simple Packet Blocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_ns: Option<i64>,
    /// Bytes captured.
    pub captured_length: u32,
    /// Bytes on the wire.
    pub original_length: u32,
    /// Tunnels the probe was inside, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tunnels: Vec<TunnelInfo>,
    /// The outermost Ethernet header (absent for cooked and raw captures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outer_l2: Option<L2Info>,
    /// The Ethernet header around the probe's IP header inside the innermost tunnel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner_l2: Option<L2Info>,
    /// Source MAC from a Linux cooked header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooked_src_mac: Option<MacAddr>,
    /// The probe's IP header as seen here (translated addresses, decremented TTL).
    pub ip: IpInfo,
    /// The probe's transport header as seen here (absent for a later fragment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportInfo>,
    /// This is a non-first fragment, associated by IP ID / flow label.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub later_fragment: bool,
    /// Some header was cut at the snapshot length.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// Where a packet was seen: the parts of a sighting that come from the capture, not the bytes.
#[derive(Clone, Debug, Default)]
pub struct PacketContext<'a> {
    /// Node name.
    pub node: &'a str,
    /// File name as given.
    pub file: &'a str,
    /// Packet number.
    pub packet: u64,
    /// Interface name, when known.
    pub interface: Option<&'a str>,
    /// Direction from the capture format.
    pub direction: Option<Direction>,
    /// Timestamp.
    pub timestamp_ns: Option<i64>,
    /// Captured length.
    pub captured_length: u32,
    /// Original length.
    pub original_length: u32,
}

fn l2(e: &super::layers::EthInfo) -> L2Info {
    L2Info { src: e.src, dst: e.dst, vlans: e.vlan_ids().to_vec() }
}

impl Sighting {
    /// Builds the sighting record of a decoded packet that matched.
    pub fn new(ctx: &PacketContext<'_>, d: &Decoded, ip: IpInfo, m: Match) -> Sighting {
        let cooked = d.cooked.as_ref();
        Sighting {
            node: ctx.node.to_string(),
            file: ctx.file.to_string(),
            packet: ctx.packet,
            interface: ctx.interface.map(str::to_string),
            ifindex: cooked.and_then(|c| c.ifindex),
            direction: ctx.direction.or_else(|| cooked.and_then(|c| c.direction())),
            timestamp_ns: ctx.timestamp_ns,
            captured_length: ctx.captured_length,
            original_length: ctx.original_length,
            tunnels: d.tunnels().copied().collect(),
            outer_l2: d.outer_eth.as_ref().map(l2),
            inner_l2: if d.depth > 0 { d.inner_eth.as_ref().map(l2) } else { None },
            cooked_src_mac: cooked.and_then(|c| c.source_mac()).map(MacAddr),
            ip,
            transport: d.transport,
            later_fragment: m == Match::LaterFragment,
            truncated: d.truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn fp() -> Fingerprint {
        Fingerprint {
            dscp: 7,
            ip_version: 4,
            protocol: 1,
            ipv4_id: Some(0x1234),
            flow_label: None,
            icmp_type: Some(8),
            icmp_id: Some(1),
            icmp_seq: Some(2),
            tcp_seq: None,
            udp_length: None,
            sctp_initiate_tag: None,
        }
    }

    fn ip() -> IpInfo {
        IpInfo {
            version: 4,
            src: IpAddr::from([10, 0, 0, 1]),
            dst: IpAddr::from([10, 0, 0, 2]),
            dscp: 7,
            ecn: 0,
            ttl: 61,
            protocol: 1,
            identification: Some(0x1234),
            flow_label: None,
            length: 28,
            fragment_offset: 0,
            more_fragments: false,
            dont_fragment: false,
        }
    }

    #[test]
    fn request_matches_reply_does_not() {
        let req = TransportInfo::Icmp { icmp_type: 8, code: 0, id: Some(1), sequence: Some(2) };
        let rep = TransportInfo::Icmp { icmp_type: 0, code: 0, id: Some(1), sequence: Some(2) };
        let mut translated = ip();
        translated.dst = IpAddr::from([192, 168, 0, 9]);
        assert_eq!(match_fingerprint(&fp(), &translated, Some(&req)), Match::Probe);
        assert_eq!(match_fingerprint(&fp(), &ip(), Some(&rep)), Match::No);
        assert_eq!(match_fingerprint(&fp(), &ip(), None), Match::No);
        let mut other = ip();
        other.identification = Some(1);
        assert_eq!(match_fingerprint(&fp(), &other, Some(&req)), Match::No);
        let mut untagged = ip();
        untagged.dscp = 0;
        assert_eq!(match_fingerprint(&fp(), &untagged, Some(&req)), Match::No);
        let mut later = ip();
        later.fragment_offset = 1480;
        assert_eq!(match_fingerprint(&fp(), &later, None), Match::LaterFragment);
    }

    fn udp(src_port: u16, dst_port: u16) -> TransportInfo {
        TransportInfo::Udp { src_port, dst_port, length: 8 }
    }

    fn v6(src: &str, dst: &str) -> IpInfo {
        IpInfo {
            version: 6,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            protocol: 17,
            identification: None,
            flow_label: Some(0xabcde),
            ..ip()
        }
    }

    fn ends(src: &str, dst: &str, ports: Option<(u16, u16)>) -> ProbeEnds {
        ProbeEnds { src: src.parse().unwrap(), dst: dst.parse().unwrap(), ports }
    }

    #[test]
    fn a_reflected_reply_is_told_by_its_ports() {
        let probe = ends("fd00::5", "fd00::99", Some((40000, 53)));
        // The probe as sent, after DNAT to a backend, and hairpinned back to its source Pod.
        assert!(!is_reply(&probe, &v6("fd00::5", "fd00::99"), Some(&udp(40000, 53))));
        assert!(!is_reply(&probe, &v6("fd00::5", "fd00::7"), Some(&udp(40000, 5353))));
        assert!(!is_reply(&probe, &v6("fd00::5", "fd00::5"), Some(&udp(40000, 5353))));
        // SNAT on the way out keeps it the probe.
        assert!(!is_reply(&probe, &v6("fd00::1", "fd00::7"), Some(&udp(61000, 5353))));
        // Replies, before and after the reverse translation.
        assert!(is_reply(&probe, &v6("fd00::99", "fd00::5"), Some(&udp(53, 40000))));
        assert!(is_reply(&probe, &v6("fd00::7", "fd00::5"), Some(&udp(5353, 40000))));
    }

    #[test]
    fn equal_ports_or_none_leave_it_to_the_addresses() {
        let probe = ends("10.0.0.1", "10.0.0.2", Some((7, 7)));
        assert!(!is_reply(&probe, &ip(), Some(&udp(7, 7))));
        let mut back = ip();
        (back.src, back.dst) = (ip().dst, ip().src);
        assert!(is_reply(&probe, &back, Some(&udp(7, 7))));
        // A later fragment has no ports.
        assert!(is_reply(&probe, &back, None));
        assert!(!is_reply(&probe, &ip(), None));
        // A probe to itself cannot be told from its reply by addresses: it stays a sighting.
        let own = ends("10.0.0.1", "10.0.0.1", None);
        let mut to_self = ip();
        to_self.dst = to_self.src;
        assert!(!is_reply(&own, &to_self, None));
    }
}
