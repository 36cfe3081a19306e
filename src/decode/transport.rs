//! The transport header fields the probe fingerprint and the sightings need, read from an IP
//! payload. Parsed here rather than through etherparse so a first fragment (whose payload is
//! incomplete) still shows its header.

use super::bytes::{u16_at, u32_at, u8_at};
use serde::{Deserialize, Serialize};

/// The transport header of a packet, as far as it was captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum TransportInfo {
    /// ICMP or ICMPv6 (echo id/sequence for echo request/reply).
    Icmp {
        /// Message type.
        #[serde(rename = "type")]
        icmp_type: u8,
        /// Message code.
        code: u8,
        /// Echo identifier.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u16>,
        /// Echo sequence number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sequence: Option<u16>,
    },
    /// TCP.
    Tcp {
        /// Source port.
        #[serde(rename = "srcPort")]
        src_port: u16,
        /// Destination port.
        #[serde(rename = "dstPort")]
        dst_port: u16,
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
        /// Flags byte (SYN = 2, ACK = 16).
        flags: u8,
    },
    /// UDP.
    Udp {
        /// Source port.
        #[serde(rename = "srcPort")]
        src_port: u16,
        /// Destination port.
        #[serde(rename = "dstPort")]
        dst_port: u16,
        /// Length field (header + payload).
        length: u16,
    },
    /// SCTP.
    Sctp {
        /// Source port.
        #[serde(rename = "srcPort")]
        src_port: u16,
        /// Destination port.
        #[serde(rename = "dstPort")]
        dst_port: u16,
        /// Verification tag.
        #[serde(rename = "verificationTag")]
        verification_tag: u32,
        /// Initiate Tag, when the first chunk is INIT.
        #[serde(rename = "initiateTag", default, skip_serializing_if = "Option::is_none")]
        initiate_tag: Option<u32>,
    },
}

/// IP protocol numbers.
pub use super::numbers::ip_proto as proto;

impl TransportInfo {
    /// Source and destination ports, for the protocols that have them.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match *self {
            TransportInfo::Tcp { src_port, dst_port, .. }
            | TransportInfo::Udp { src_port, dst_port, .. }
            | TransportInfo::Sctp { src_port, dst_port, .. } => Some((src_port, dst_port)),
            TransportInfo::Icmp { .. } => None,
        }
    }

    /// Reads the transport header of `protocol` at the start of `b`; `None` if the protocol is
    /// another one or the header was not captured.
    pub fn parse(protocol: u8, b: &[u8]) -> Option<TransportInfo> {
        match protocol {
            proto::ICMP | proto::ICMPV6 => {
                let icmp_type = u8_at(b, 0)?;
                let echo = matches!((protocol, icmp_type), (proto::ICMP, 0 | 8) | (proto::ICMPV6, 128 | 129));
                Some(TransportInfo::Icmp {
                    icmp_type,
                    code: u8_at(b, 1)?,
                    id: if echo { u16_at(b, 4) } else { None },
                    sequence: if echo { u16_at(b, 6) } else { None },
                })
            }
            proto::TCP => Some(TransportInfo::Tcp {
                src_port: u16_at(b, 0)?,
                dst_port: u16_at(b, 2)?,
                seq: u32_at(b, 4)?,
                ack: u32_at(b, 8)?,
                flags: u8_at(b, 13)?,
            }),
            proto::UDP => {
                Some(TransportInfo::Udp { src_port: u16_at(b, 0)?, dst_port: u16_at(b, 2)?, length: u16_at(b, 4)? })
            }
            proto::SCTP => Some(TransportInfo::Sctp {
                src_port: u16_at(b, 0)?,
                dst_port: u16_at(b, 2)?,
                verification_tag: u32_at(b, 4)?,
                initiate_tag: if u8_at(b, 12) == Some(1) { u32_at(b, 16) } else { None },
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let icmp = [8, 0, 0, 0, 0, 5, 0, 6];
        assert_eq!(
            TransportInfo::parse(1, &icmp),
            Some(TransportInfo::Icmp { icmp_type: 8, code: 0, id: Some(5), sequence: Some(6) })
        );
        assert_eq!(
            TransportInfo::parse(1, &[3, 1, 0, 0]),
            Some(TransportInfo::Icmp { icmp_type: 3, code: 1, id: None, sequence: None })
        );
        let tcp = [0, 1, 0, 80, 0, 0, 0, 9, 0, 0, 0, 0, 0x50, 0x02];
        assert!(matches!(TransportInfo::parse(6, &tcp), Some(TransportInfo::Tcp { seq: 9, flags: 2, .. })));
        assert_eq!(TransportInfo::parse(6, &tcp[..13]), None);
        let sctp = [0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 20, 0xde, 0xad, 0xbe, 0xef];
        assert!(matches!(
            TransportInfo::parse(132, &sctp),
            Some(TransportInfo::Sctp { initiate_tag: Some(0xdeadbeef), verification_tag: 0, .. })
        ));
        assert_eq!(TransportInfo::parse(47, &tcp), None);
    }
}
