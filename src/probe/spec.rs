//! The probe's headers, fully resolved: every field has its final value (defaults and random
//! choices applied), so that crafting is a pure function of a `ProbeSpec`.

use super::tag::Tag;
use crate::addr::MacAddr;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// IANA protocol numbers used by probes.
pub use crate::ether::ip_proto;

/// TCP flag bits as in the header (and in antctl's `tcp_flags=`).
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN (Antrea's default probe flags).
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;
}

/// The transport header of the probe, in the shape Antrea's spec uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum Transport {
    /// ICMP / ICMPv6 echo request (type 8 / 128, code 0) with no payload.
    Icmp {
        /// Echo identifier.
        id: u16,
        /// Echo sequence number.
        sequence: u16,
    },
    /// TCP segment without options or payload.
    Tcp {
        #[serde(rename = "srcPort")]
        /// Source port.
        src_port: u16,
        #[serde(rename = "dstPort")]
        /// Destination port.
        dst_port: u16,
        /// TCP flags byte (SYN = 2).
        flags: u8,
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
    },
    /// UDP datagram without payload.
    Udp {
        #[serde(rename = "srcPort")]
        /// Source port.
        src_port: u16,
        #[serde(rename = "dstPort")]
        /// Destination port.
        dst_port: u16,
    },
    /// SCTP packet carrying one INIT chunk (verification tag 0, as RFC 9260 requires).
    Sctp {
        #[serde(rename = "srcPort")]
        /// Source port.
        src_port: u16,
        #[serde(rename = "dstPort")]
        /// Destination port.
        dst_port: u16,
        #[serde(rename = "initiateTag")]
        /// The INIT chunk's Initiate Tag (non-zero).
        initiate_tag: u32,
        #[serde(rename = "initialTsn")]
        /// The INIT chunk's Initial TSN.
        initial_tsn: u32,
    },
}

impl Transport {
    /// The short protocol name used in summaries and filters.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Icmp { .. } => "icmp",
            Transport::Tcp { .. } => "tcp",
            Transport::Udp { .. } => "udp",
            Transport::Sctp { .. } => "sctp",
        }
    }

    /// The IP protocol / next-header number for this transport in the given family.
    pub fn ip_protocol(&self, ipv6: bool) -> u8 {
        match self {
            Transport::Icmp { .. } if ipv6 => ip_proto::ICMPV6,
            Transport::Icmp { .. } => ip_proto::ICMP,
            Transport::Tcp { .. } => ip_proto::TCP,
            Transport::Udp { .. } => ip_proto::UDP,
            Transport::Sctp { .. } => ip_proto::SCTP,
        }
    }

    /// Source and destination ports, when the protocol has them.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match *self {
            Transport::Icmp { .. } => None,
            Transport::Tcp { src_port, dst_port, .. }
            | Transport::Udp { src_port, dst_port }
            | Transport::Sctp { src_port, dst_port, .. } => Some((src_port, dst_port)),
        }
    }

    /// Length of the transport header plus payload as crafted.
    pub fn wire_len(&self) -> usize {
        match self {
            Transport::Icmp { .. } => 8,
            Transport::Tcp { .. } => 20,
            Transport::Udp { .. } => 8,
            Transport::Sctp { .. } => super::sctp::INIT_PACKET_LEN,
        }
    }
}

/// Every header field of the probe frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeSpec {
    /// Ethernet source (the source Pod's MAC).
    pub src_mac: MacAddr,
    /// Ethernet destination (destination Pod MAC on the same Node, else the gateway MAC).
    pub dst_mac: MacAddr,
    /// IP source; the family of both addresses decides IPv4 vs IPv6.
    pub src_ip: IpAddr,
    /// IP destination.
    pub dst_ip: IpAddr,
    /// The DSCP tag.
    pub tag: Tag,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 flags, 3 bits (0x2 = DF, 0x1 = MF, 0x4 = reserved); ignored for IPv6.
    pub ipv4_flags: u8,
    /// IPv4 identification; part of the fingerprint for IPv4.
    pub ipv4_id: u16,
    /// IPv6 flow label (20 bits, non-zero); part of the fingerprint for IPv6.
    pub flow_label: u32,
    /// The transport header.
    pub transport: Transport,
}

impl ProbeSpec {
    /// Whether this is an IPv6 probe.
    pub fn is_ipv6(&self) -> bool {
        self.src_ip.is_ipv6()
    }

    /// The IP protocol / next-header number.
    pub fn ip_protocol(&self) -> u8 {
        self.transport.ip_protocol(self.is_ipv6())
    }

    /// The fields that identify this probe wherever it is seen (after NAT, TTL decrement, encapsulation).
    pub fn fingerprint(&self) -> super::Fingerprint {
        super::Fingerprint::of(self)
    }
}
