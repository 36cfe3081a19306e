//! A quick, conservative look at a frame before the full decode: it follows only the common
//! path of a node capture (Ethernet or Linux cooked, 802.1Q, IPv4, Geneve/VXLAN with Ethernet
//! inside) to the innermost IPv4 header, and says "certainly not wanted" when that header's DSCP
//! is not the probe's tag and (with [`Prefilter`]) its addresses and protocol are not those of
//! one of the probe's 5-tuples. Anything unusual answers "maybe", and the full decoder decides.
//! Scanning large captures spends most of its time here, so it reads a few bytes and builds
//! nothing.

use super::bytes::{u16_at, u8_at};
use super::numbers::{ether_type, ip_proto};
use super::tuple::{FlowTuple, MAX_TUPLES};
use super::{geneve, vxlan, MAX_TUNNEL_DEPTH};
use crate::capture::LinkType;
use std::net::IpAddr;

/// `false` only when the innermost IP header of the frame (as [`super::decode`] would find it)
/// certainly does not carry DSCP `tag`.
pub fn may_carry_tag(tag: u8, link: LinkType, frame: &[u8]) -> bool {
    check(tag, &[], link, frame)
}

/// What the scan wants the full decoder to see: packets that may carry the probe's tag, and
/// IPv4 packets whose innermost addresses and protocol are those of one of the probe's 5-tuples
/// (the ports are left to the decoder). IPv6 and anything unusual always go to the decoder.
#[derive(Clone, Debug)]
pub struct Prefilter {
    tag: u8,
    /// IPv4 source and destination address (the 8 bytes as on the wire, read as one native
    /// word) and protocol, per tuple.
    v4: Vec<(u64, u8)>,
}

impl Prefilter {
    /// A prefilter for `tag` and the IPv4 ones among (the first [`MAX_TUPLES`] of) `tuples`.
    pub fn new(tag: u8, tuples: &[FlowTuple]) -> Prefilter {
        let v4 = tuples
            .iter()
            .take(MAX_TUPLES)
            .filter_map(|t| match (t.src, t.dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    let mut a = [0u8; 8];
                    a[..4].copy_from_slice(&s.octets());
                    a[4..].copy_from_slice(&d.octets());
                    Some((u64::from_ne_bytes(a), t.protocol))
                }
                _ => None,
            })
            .collect();
        Prefilter { tag, v4 }
    }

    /// `false` only when the frame's innermost IP header certainly carries neither the tag nor
    /// one of the tuples' addresses and protocol.
    pub fn may_match(&self, link: LinkType, frame: &[u8]) -> bool {
        check(self.tag, &self.v4, link, frame)
    }
}

fn check(tag: u8, v4: &[(u64, u8)], link: LinkType, frame: &[u8]) -> bool {
    if !matches!(link, LinkType::ETHERNET | LinkType::LINUX_SLL | LinkType::LINUX_SLL2) {
        return true;
    }
    let Some(ip) = innermost_ipv4(frame, link) else { return true };
    // `innermost_ipv4` returns the 20 bytes of the fixed header.
    if ip.len() < 20 || ip[1] >> 2 == tag {
        return true;
    }
    if v4.is_empty() {
        return false;
    }
    let mut addrs = [0u8; 8];
    addrs.copy_from_slice(&ip[12..20]);
    let addrs = u64::from_ne_bytes(addrs);
    v4.iter().any(|&(a, protocol)| a == addrs && ip[9] == protocol)
}

/// The innermost IPv4 header (at least its 20 fixed bytes) the decoder would stop at, when the
/// frame follows the common path; `None` means "could not tell".
fn innermost_ipv4(frame: &[u8], link: LinkType) -> Option<&[u8]> {
    let mut b = frame;
    let mut outermost = true;
    for _ in 0..=MAX_TUNNEL_DEPTH {
        let ip = if outermost && link == LinkType::LINUX_SLL2 {
            // SLL2: protocol at 0, payload at 20 (a VLAN tag there is left to the decoder).
            if u16_at(b, 0)? != ether_type::IPV4 {
                return None;
            }
            20
        } else {
            // Ethernet: EtherType at 12; SLL: protocol at 14, payload at 16. 802.1Q tags follow
            // the same layout in both.
            let mut off = if outermost && link == LinkType::LINUX_SLL { 14 } else { 12 };
            let mut et = u16_at(b, off)?;
            let mut tags = 0;
            while et == ether_type::VLAN || et == ether_type::QINQ {
                tags += 1;
                if tags > 2 {
                    return None;
                }
                off += 4;
                et = u16_at(b, off)?;
            }
            if et != ether_type::IPV4 {
                return None;
            }
            off + 2
        };
        outermost = false;
        let first = u8_at(b, ip)?;
        let ihl = (first & 0x0f) as usize * 4;
        if first >> 4 != 4 || ihl < 20 {
            return None;
        }
        let header = b.get(ip..ip + 20)?;
        let protocol = header[9];
        let fragment_offset = u16_at(header, 6)? & 0x1fff;
        let total_len = u16_at(header, 2)? as usize;
        if fragment_offset != 0 {
            return Some(header);
        }
        if protocol != ip_proto::UDP {
            // GRE, STT and IP-in-IP tunnels are left to the full decoder; other protocols end here.
            let tunnel = matches!(protocol, ip_proto::GRE | ip_proto::TCP | ip_proto::IPV4 | ip_proto::IPV6);
            return if tunnel { None } else { Some(header) };
        }
        // Like the decoder, look no further than the IP total length (0 means a segmentation
        // offload super-packet: left to the decoder).
        if total_len < ihl + 8 {
            return None;
        }
        b = b.get(..(ip + total_len).min(b.len()))?;
        if b.len() < ip + ihl + 8 {
            return None;
        }
        let udp = ip + ihl;
        let dst = u16_at(b, udp + 2)?;
        let is = |p: u16| dst == p;
        let payload = udp + 8;
        if is(geneve::PORT) {
            let first = u8_at(b, payload)?;
            if first >> 6 != 0 || u16_at(b, payload + 2)? != ether_type::TEB {
                return None;
            }
            b = b.get(payload + 8 + (first & 0x3f) as usize * 4..)?;
        } else if is(vxlan::PORT) || is(vxlan::LINUX_PORT) {
            if u8_at(b, payload)? & 0x08 == 0 {
                return None;
            }
            b = b.get(payload + 8..)?;
        } else if is(vxlan::GPE_PORT) {
            return None;
        } else {
            return b.get(ip..ip + 20);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4(dscp: u8) -> Vec<u8> {
        let mut ip = vec![0x45, dscp << 2, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        ip.extend([8, 0, 0, 0, 0, 0, 0, 0]);
        ip
    }

    #[test]
    fn cooked_headers_are_followed() {
        for dscp in [0u8, 7] {
            let mut sll = vec![0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
            sll.extend(ipv4(dscp));
            let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0];
            sll2.extend(ipv4(dscp));
            assert_eq!(may_carry_tag(7, LinkType::LINUX_SLL, &sll), dscp == 7);
            assert_eq!(may_carry_tag(7, LinkType::LINUX_SLL2, &sll2), dscp == 7);
        }
        // Other link types are always left to the decoder.
        assert!(may_carry_tag(7, LinkType::RAW, &ipv4(0)));
    }

    #[test]
    fn untagged_packets_of_a_tuple_pass() {
        let mut eth = vec![0u8; 12];
        eth.extend([0x08, 0x00]);
        eth.extend(ipv4(0));
        let tuple = |src: [u8; 4], protocol| FlowTuple {
            src: src.into(),
            dst: [10, 0, 0, 2].into(),
            protocol,
            src_port: None,
            dst_port: None,
        };
        assert!(!Prefilter::new(7, &[]).may_match(LinkType::ETHERNET, &eth));
        assert!(Prefilter::new(7, &[tuple([10, 0, 0, 1], 1)]).may_match(LinkType::ETHERNET, &eth));
        assert!(!Prefilter::new(7, &[tuple([10, 0, 0, 9], 1)]).may_match(LinkType::ETHERNET, &eth));
        assert!(!Prefilter::new(7, &[tuple([10, 0, 0, 1], 17)]).may_match(LinkType::ETHERNET, &eth));
    }
}
