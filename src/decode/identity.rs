//! Recognising one real packet at several capture points by the fields an Antrea path does
//! not rewrite (docs/live-traffic-and-bundles.md §B.6): never addresses, ports, TTL,
//! checksums or DSCP (NAT, routing, offload and Traceflow change them), but the IPv4 ID and,
//! per protocol, TCP sequence, acknowledgement, flags, payload length and timestamp value; UDP
//! length and a hash of the first payload bytes; ICMP type, code, sequence and a payload hash.
//! Equal keys still need a time window: a 16-bit ID comes round again.

use super::{IpInfo, TransportInfo};

/// How many payload bytes the hash covers (a capture's snapshot length can cut more).
pub const HASHED_PAYLOAD: usize = 64;

/// What identifies a packet along its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// IP protocol.
    pub protocol: u8,
    /// IPv4 Identification; `None` for IPv6 and for ID 0 (which means "no ID").
    pub ip_id: Option<u16>,
    /// TCP sequence number, UDP length, ICMP type/code/sequence packed.
    pub a: u64,
    /// TCP acknowledgement number and flags packed.
    pub b: u64,
    /// Transport payload length.
    pub payload_len: u32,
    /// TCP timestamp value (TSval), when the segment carries one.
    pub tsval: Option<u32>,
    /// FNV-1a of the first [`HASHED_PAYLOAD`] payload bytes captured (0 when none).
    pub payload_hash: u64,
}

fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| (h ^ u64::from(*x)).wrapping_mul(0x0100_0000_01b3))
}

/// The TSval of a TCP header's options, if it has a timestamp option.
fn tsval(tcp: &[u8]) -> Option<u32> {
    let hlen = usize::from(*tcp.get(12)? >> 4) * 4;
    let mut opts = tcp.get(20..hlen.min(tcp.len()))?;
    while let Some(&kind) = opts.first() {
        match kind {
            0 => return None,
            1 => opts = &opts[1..],
            _ => {
                let len = usize::from(*opts.get(1)?);
                if len < 2 || len > opts.len() {
                    return None;
                }
                if kind == 8 && len == 10 {
                    return Some(u32::from_be_bytes([opts[2], opts[3], opts[4], opts[5]]));
                }
                opts = &opts[len..];
            }
        }
    }
    None
}

/// The key of a packet: its innermost IP header and transport header, and the captured bytes
/// of its IP payload (transport header first).
pub fn key(ip: &IpInfo, transport: Option<&TransportInfo>, ip_payload: &[u8]) -> Option<Key> {
    let ip_id = ip.identification.filter(|id| *id != 0);
    let hash = |data: &[u8]| if data.is_empty() { 0 } else { fnv1a(&data[..data.len().min(HASHED_PAYLOAD)]) };
    Some(match transport? {
        TransportInfo::Tcp { seq, ack, flags, .. } => {
            let hlen = usize::from(*ip_payload.get(12)? >> 4) * 4;
            let payload = ip_payload.get(hlen..).unwrap_or_default();
            Key {
                protocol: ip.protocol,
                ip_id,
                a: u64::from(*seq),
                b: (u64::from(*ack) << 8) | u64::from(*flags),
                payload_len: payload.len() as u32,
                tsval: tsval(ip_payload),
                payload_hash: hash(payload),
            }
        }
        TransportInfo::Udp { length, .. } => {
            let payload = ip_payload.get(8..).unwrap_or_default();
            Key {
                protocol: ip.protocol,
                ip_id,
                a: u64::from(*length),
                b: 0,
                payload_len: u32::from(length.saturating_sub(8)),
                tsval: None,
                payload_hash: hash(payload),
            }
        }
        TransportInfo::Icmp { icmp_type, code, sequence, .. } => {
            let payload = ip_payload.get(8..).unwrap_or_default();
            Key {
                protocol: ip.protocol,
                ip_id,
                a: (u64::from(*icmp_type) << 24) | (u64::from(*code) << 16) | u64::from(sequence.unwrap_or(0)),
                b: 0,
                payload_len: payload.len() as u32,
                tsval: None,
                payload_hash: hash(payload),
            }
        }
        TransportInfo::Sctp { verification_tag, .. } => {
            let payload = ip_payload.get(12..).unwrap_or_default();
            Key {
                protocol: ip.protocol,
                ip_id,
                a: u64::from(*verification_tag),
                b: 0,
                payload_len: payload.len() as u32,
                tsval: None,
                payload_hash: hash(payload),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(id: u16, src: &str, dst: &str, ttl: u8) -> IpInfo {
        IpInfo {
            version: 4,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            dscp: 0,
            ecn: 0,
            ttl,
            protocol: 6,
            identification: Some(id),
            flow_label: None,
            length: 60,
            fragment_offset: 0,
            more_fragments: false,
            dont_fragment: false,
        }
    }

    fn tcp_header(sport: u16, dport: u16, seq: u32, tsval: u32) -> Vec<u8> {
        let mut h = vec![0u8; 32];
        h[0..2].copy_from_slice(&sport.to_be_bytes());
        h[2..4].copy_from_slice(&dport.to_be_bytes());
        h[4..8].copy_from_slice(&seq.to_be_bytes());
        h[12] = 8 << 4; // 32-byte header: NOP, NOP, timestamp
        h[13] = 0x02;
        h[20] = 1;
        h[21] = 1;
        h[22] = 8;
        h[23] = 10;
        h[24..28].copy_from_slice(&tsval.to_be_bytes());
        h
    }

    #[test]
    fn nat_and_ttl_do_not_change_the_key() {
        let t = |dport| TransportInfo::Tcp { src_port: 40000, dst_port: dport, seq: 77, ack: 0, flags: 2 };
        let before =
            key(&ip(9, "10.10.1.5", "10.96.0.20", 64), Some(&t(80)), &tcp_header(40000, 80, 77, 1234)).unwrap();
        let after =
            key(&ip(9, "10.10.1.5", "10.10.2.6", 62), Some(&t(8080)), &tcp_header(40000, 8080, 77, 1234)).unwrap();
        assert_eq!(before, after);
        assert_eq!(before.tsval, Some(1234));
        // A retransmission differs by its TSval (and usually its IP ID).
        let retry = key(&ip(9, "10.10.1.5", "10.96.0.20", 64), Some(&t(80)), &tcp_header(40000, 80, 77, 2234)).unwrap();
        assert_ne!(before, retry);
        // IP ID 0 is "no ID".
        assert_eq!(key(&ip(0, "1.1.1.1", "2.2.2.2", 64), Some(&t(80)), &tcp_header(1, 80, 77, 1)).unwrap().ip_id, None);
    }
}
