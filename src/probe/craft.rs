//! Crafting: a resolved [`ProbeSpec`] becomes the exact Ethernet frame, checksums filled in.

use super::sctp;
use super::spec::{ProbeSpec, Transport};
use etherparse::{
    EtherType, Ethernet2Header, IcmpEchoHeader, Icmpv4Header, Icmpv4Type, Icmpv6Header, Icmpv6Type, IpDscp, IpNumber,
    Ipv4Header, Ipv6FlowLabel, Ipv6Header, TcpHeader, UdpHeader,
};
use std::net::IpAddr;

/// Why a spec cannot be turned into a frame.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CraftError {
    /// Source and destination are of different IP families.
    #[error("source {src} and destination {dst} are of different IP families")]
    FamilyMismatch {
        /// Source address.
        src: IpAddr,
        /// Destination address.
        dst: IpAddr,
    },
    /// The IPv6 flow label does not fit 20 bits.
    #[error("IPv6 flow label {0:#x} does not fit in 20 bits")]
    FlowLabel(u32),
    /// IPv4 flags are three bits.
    #[error("IPv4 flags {0} out of range 0..=7")]
    Ipv4Flags(u8),
}

/// Builds the probe frame: Ethernet II + IPv4/IPv6 (DSCP = tag, ECN 0) + transport.
pub fn craft_frame(spec: &ProbeSpec) -> Result<Vec<u8>, CraftError> {
    let mut out = Vec::with_capacity(14 + 40 + spec.transport.wire_len());
    let ether_type = if spec.is_ipv6() { EtherType::IPV6 } else { EtherType::IPV4 };
    let eth = Ethernet2Header { source: spec.src_mac.octets(), destination: spec.dst_mac.octets(), ether_type };
    out.extend_from_slice(&eth.to_bytes());
    let payload_len = spec.transport.wire_len() as u16;
    match (spec.src_ip, spec.dst_ip) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            if spec.ipv4_flags > 7 {
                return Err(CraftError::Ipv4Flags(spec.ipv4_flags));
            }
            let mut ip =
                Ipv4Header::new(payload_len, spec.ttl, IpNumber(spec.ip_protocol()), src.octets(), dst.octets())
                    .expect("probe payload is far below the IPv4 maximum");
            ip.dscp = IpDscp::try_new(spec.tag.dscp()).expect("Tag guarantees 0..=63");
            ip.identification = spec.ipv4_id;
            ip.dont_fragment = spec.ipv4_flags & 0x2 != 0;
            ip.more_fragments = spec.ipv4_flags & 0x1 != 0;
            ip.header_checksum = ip.calc_header_checksum();
            let mut bytes = ip.to_bytes().to_vec();
            if spec.ipv4_flags & 0x4 != 0 {
                // The reserved ("evil") bit, which etherparse does not model: set it and redo the sum.
                bytes[6] |= 0x80;
                bytes[10..12].fill(0);
                let sum = internet_checksum(&bytes);
                bytes[10..12].copy_from_slice(&sum.to_be_bytes());
            }
            out.extend_from_slice(&bytes);
            out.extend_from_slice(&transport_bytes(spec, Pseudo::V4(&ip)));
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let flow_label =
                Ipv6FlowLabel::try_new(spec.flow_label).map_err(|_| CraftError::FlowLabel(spec.flow_label))?;
            let ip = Ipv6Header {
                traffic_class: spec.tag.tos(),
                flow_label,
                payload_length: payload_len,
                next_header: IpNumber(spec.ip_protocol()),
                hop_limit: spec.ttl,
                source: src.octets(),
                destination: dst.octets(),
            };
            out.extend_from_slice(&ip.to_bytes());
            out.extend_from_slice(&transport_bytes(spec, Pseudo::V6(&ip)));
        }
        (src, dst) => return Err(CraftError::FamilyMismatch { src, dst }),
    }
    Ok(out)
}

/// The IP header the transport checksum covers.
enum Pseudo<'a> {
    V4(&'a Ipv4Header),
    V6(&'a Ipv6Header),
}

/// The transport header with its checksum.
fn transport_bytes(spec: &ProbeSpec, ip: Pseudo<'_>) -> Vec<u8> {
    const NO_PAYLOAD: &[u8] = &[];
    const SMALL: &str = "an empty payload always fits";
    match spec.transport {
        Transport::Icmp { id, sequence } => {
            let echo = IcmpEchoHeader { id, seq: sequence };
            match ip {
                Pseudo::V4(_) => {
                    Icmpv4Header::with_checksum(Icmpv4Type::EchoRequest(echo), NO_PAYLOAD).to_bytes().to_vec()
                }
                Pseudo::V6(h) => {
                    Icmpv6Header::with_checksum(Icmpv6Type::EchoRequest(echo), h.source, h.destination, NO_PAYLOAD)
                        .expect(SMALL)
                        .to_bytes()
                        .to_vec()
                }
            }
        }
        Transport::Tcp { src_port, dst_port, flags, seq, ack } => {
            let mut tcp = TcpHeader::new(src_port, dst_port, seq, 64240);
            tcp.acknowledgment_number = ack;
            set_tcp_flags(&mut tcp, flags);
            tcp.checksum = match ip {
                Pseudo::V4(h) => tcp.calc_checksum_ipv4(h, NO_PAYLOAD).expect(SMALL),
                Pseudo::V6(h) => tcp.calc_checksum_ipv6(h, NO_PAYLOAD).expect(SMALL),
            };
            tcp.to_bytes().to_vec()
        }
        Transport::Udp { src_port, dst_port } => match ip {
            Pseudo::V4(h) => UdpHeader::with_ipv4_checksum(src_port, dst_port, h, NO_PAYLOAD),
            Pseudo::V6(h) => UdpHeader::with_ipv6_checksum(src_port, dst_port, h, NO_PAYLOAD),
        }
        .expect(SMALL)
        .to_bytes()
        .to_vec(),
        Transport::Sctp { src_port, dst_port, initiate_tag, initial_tsn } => {
            sctp::init_packet(src_port, dst_port, initiate_tag, initial_tsn).to_vec()
        }
    }
}

fn set_tcp_flags(tcp: &mut TcpHeader, flags: u8) {
    use super::spec::tcp_flags as f;
    tcp.fin = flags & f::FIN != 0;
    tcp.syn = flags & f::SYN != 0;
    tcp.rst = flags & f::RST != 0;
    tcp.psh = flags & f::PSH != 0;
    tcp.ack = flags & f::ACK != 0;
    tcp.urg = flags & f::URG != 0;
    tcp.ece = flags & f::ECE != 0;
    tcp.cwr = flags & f::CWR != 0;
}

/// RFC 1071 ones' complement sum of 16-bit big-endian words.
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in bytes.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
