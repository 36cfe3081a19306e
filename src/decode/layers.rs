//! Taking one captured frame apart: the link layer (Ethernet with 802.1Q/QinQ, Linux cooked
//! SLL/SLL2, raw IP, loopback), the outer IP headers and the tunnels they carry (Geneve, VXLAN,
//! VXLAN-GPE/NSH, GRE, STT, IP-in-IP, nested up to [`MAX_TUNNEL_DEPTH`]), and the innermost IP and
//! transport headers. Standard headers go through etherparse's lax slicer, which accepts frames
//! cut at the snapshot length; the tunnel headers through our own views. Never panics, never
//! allocates.

use super::geneve::{self, GeneveHeader};
use super::gre::GreHeader;
use super::numbers::{ether_type, ip_proto, loopback_family};
use super::sll::CookedHeader;
use super::stt::{self, SttHeader};
use super::transport::TransportInfo;
use super::vxlan::{self, Next};
use crate::addr::MacAddr;
use crate::capture::LinkType;
use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, LinkSlice};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// How many tunnels deep we decapsulate (VXLAN in Geneve is 2); deeper layers stay undecoded.
pub const MAX_TUNNEL_DEPTH: usize = 4;

/// The tunnel protocols we decapsulate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TunnelKind {
    /// Geneve, UDP 6081.
    Geneve,
    /// VXLAN, UDP 4789 or 8472.
    Vxlan,
    /// VXLAN-GPE, UDP 4790 (possibly with NSH).
    VxlanGpe,
    /// GRE (including transparent Ethernet bridging and ERSPAN).
    Gre,
    /// STT, TCP 7471.
    Stt,
    /// IP in IP: IPv4 or IPv6 carried directly as the IP payload (protocol 4 or 41), as IPIP,
    /// SIT and ip6tnl devices and cloud underlays send it.
    IpInIp,
}

/// One tunnel layer: the outer IP header that carried it and the tunnel's own id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TunnelInfo {
    /// Tunnel protocol.
    pub kind: TunnelKind,
    /// Outer source IP (the sending node's tunnel endpoint).
    pub src: IpAddr,
    /// Outer destination IP (Antrea's `tunnelDstIP`).
    pub dst: IpAddr,
    /// DSCP of the outer IP header.
    pub dscp: u8,
    /// TTL / hop limit of the outer IP header.
    pub ttl: u8,
    /// VNI (Geneve, VXLAN, VXLAN-GPE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
    /// GRE key or STT context id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<u64>,
    /// Outer UDP source port (the flow entropy of UDP tunnels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Length of the Geneve options in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options_length: Option<u16>,
}

/// An IP header as seen at one layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpInfo {
    /// 4 or 6.
    pub version: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// DSCP (ToS / Traffic Class >> 2).
    pub dscp: u8,
    /// ECN bits.
    pub ecn: u8,
    /// TTL / hop limit.
    pub ttl: u8,
    /// Transport protocol (after IPv6 extension headers).
    pub protocol: u8,
    /// IPv4 identification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identification: Option<u16>,
    /// IPv6 flow label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_label: Option<u32>,
    /// IPv4 total length / IPv6 payload length, as the header says.
    pub length: u16,
    /// Fragment offset in bytes (0 for unfragmented packets and first fragments).
    pub fragment_offset: u16,
    /// More-fragments flag.
    pub more_fragments: bool,
    /// IPv4 Don't-Fragment flag (Antrea's `capturedPacket.ipHeader.flags` has it as 2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dont_fragment: bool,
}

impl IpInfo {
    /// Whether this header belongs to a fragment (first or later).
    pub fn is_fragment(&self) -> bool {
        self.more_fragments || self.fragment_offset != 0
    }
}

/// Ethernet addresses and VLAN tags of one layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EthInfo {
    /// Source MAC.
    pub src: MacAddr,
    /// Destination MAC.
    pub dst: MacAddr,
    /// VLAN ids, outer first.
    pub vlans: [u16; 3],
    /// How many entries of `vlans` are used.
    pub vlan_count: u8,
}

impl EthInfo {
    /// The VLAN ids, outer first.
    pub fn vlan_ids(&self) -> &[u16] {
        &self.vlans[..self.vlan_count as usize]
    }
}

/// Why decoding stopped before reaching an IP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The capture's link type is not one we decode.
    UnsupportedLinkType,
    /// The frame is too short for its link-layer header.
    ShortFrame,
    /// The (innermost) payload is not IP (ARP, LLDP, ...).
    NotIp,
    /// More tunnels than [`MAX_TUNNEL_DEPTH`].
    TooDeep,
}

/// Everything decoded from one frame.
#[derive(Clone, Debug, Default)]
pub struct Decoded {
    /// Outermost Ethernet header (absent for cooked, raw and loopback link types).
    pub outer_eth: Option<EthInfo>,
    /// Linux cooked header, for SLL/SLL2 captures.
    pub cooked: Option<CookedHeader>,
    /// Tunnels, outermost first.
    pub tunnels: [Option<TunnelInfo>; MAX_TUNNEL_DEPTH],
    /// Number of tunnels decoded.
    pub depth: usize,
    /// Ethernet header inside the innermost tunnel, if it carried Ethernet.
    pub inner_eth: Option<EthInfo>,
    /// Innermost IP header.
    pub ip: Option<IpInfo>,
    /// Transport header of the innermost IP packet (absent for later fragments).
    pub transport: Option<TransportInfo>,
    /// Where the innermost IP packet's payload (its transport header) starts in the frame, and
    /// how many of its bytes were captured (the IP length bounds it, so Ethernet padding is not
    /// counted): what identifies a real packet at several capture points.
    pub ip_payload: Option<(usize, usize)>,
    /// Some header was cut short (snapshot length).
    pub truncated: bool,
    /// Why decoding stopped early, if it did.
    pub stop: Option<Stop>,
}

impl Decoded {
    /// The tunnels, outermost first.
    pub fn tunnels(&self) -> impl Iterator<Item = &TunnelInfo> {
        self.tunnels.iter().take(self.depth).flatten()
    }
}

/// Where the next layer starts.
#[derive(Clone, Copy)]
enum Start<'a> {
    Ethernet(&'a [u8]),
    EtherType(u16, &'a [u8]),
    Ip(&'a [u8]),
}

/// Decodes one captured frame of the given link type.
pub fn decode(link: LinkType, data: &[u8]) -> Decoded {
    let mut d = Decoded::default();
    let mut start = match link {
        LinkType::ETHERNET => Start::Ethernet(data),
        LinkType::LINUX_SLL | LinkType::LINUX_SLL2 => {
            let h = if link == LinkType::LINUX_SLL {
                CookedHeader::parse_sll(data)
            } else {
                CookedHeader::parse_sll2(data)
            };
            let Some(h) = h else {
                d.stop = Some(Stop::ShortFrame);
                return d;
            };
            d.cooked = Some(h);
            Start::EtherType(h.protocol, data.get(h.header_len..).unwrap_or_default())
        }
        LinkType::NULL | LinkType::LOOP => {
            let Some(af) = data.get(..4) else {
                d.stop = Some(Stop::ShortFrame);
                return d;
            };
            // NULL is in the writer's byte order, LOOP in network order: a family is small.
            let le = u32::from_le_bytes([af[0], af[1], af[2], af[3]]);
            let family = if le < 256 { le } else { u32::from_be_bytes([af[0], af[1], af[2], af[3]]) };
            match family {
                loopback_family::INET
                | loopback_family::INET6_BSD
                | loopback_family::INET6_FREEBSD
                | loopback_family::INET6_DARWIN => Start::Ip(&data[4..]),
                _ => {
                    d.stop = Some(Stop::NotIp);
                    return d;
                }
            }
        }
        LinkType::RAW_BSD | LinkType::RAW_OPENBSD | LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => Start::Ip(data),
        _ => {
            d.stop = Some(Stop::UnsupportedLinkType);
            return d;
        }
    };
    loop {
        let sliced = match start {
            Start::Ethernet(b) => match LaxSlicedPacket::from_ethernet(b) {
                Ok(s) => s,
                Err(_) => {
                    d.stop = Some(Stop::ShortFrame);
                    d.truncated = true;
                    return d;
                }
            },
            Start::EtherType(t, b) => LaxSlicedPacket::from_ether_type(EtherType(t), b),
            Start::Ip(b) => match LaxSlicedPacket::from_ip(b) {
                Ok(s) => s,
                Err(_) => {
                    d.stop = Some(Stop::NotIp);
                    return d;
                }
            },
        };
        let eth = eth_info(&sliced);
        if d.depth == 0 {
            d.outer_eth = eth;
        } else {
            d.inner_eth = eth;
        }
        if sliced.stop_err.is_some() {
            d.truncated = true;
        }
        let Some((ip, payload, incomplete)) = ip_info(&sliced) else {
            d.stop = Some(Stop::NotIp);
            return d;
        };
        d.truncated |= incomplete;
        d.ip = Some(ip);
        if ip.fragment_offset != 0 {
            return d;
        }
        d.transport = TransportInfo::parse(ip.protocol, payload);
        let offset = (payload.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
        d.ip_payload = (offset <= data.len()).then_some((offset, payload.len()));
        let Some((tunnel, next)) = tunnel(&ip, d.transport.as_ref(), payload) else { return d };
        if d.depth == MAX_TUNNEL_DEPTH {
            // The innermost IP header is deeper than we look: report none rather than a middle one.
            d.stop = Some(Stop::TooDeep);
            d.ip = None;
            d.transport = None;
            d.ip_payload = None;
            return d;
        }
        d.tunnels[d.depth] = Some(tunnel);
        d.depth += 1;
        d.ip = None;
        d.transport = None;
        d.ip_payload = None;
        start = next;
    }
}

fn eth_info(s: &LaxSlicedPacket<'_>) -> Option<EthInfo> {
    let Some(LinkSlice::Ethernet2(e)) = &s.link else { return None };
    let mut info = EthInfo { src: MacAddr(e.source()), dst: MacAddr(e.destination()), ..EthInfo::default() };
    for id in s.vlan_ids().iter().take(3) {
        info.vlans[info.vlan_count as usize] = id.value();
        info.vlan_count += 1;
    }
    Some(info)
}

/// The IP header fields, the IP payload and whether it was cut short.
fn ip_info<'a>(s: &LaxSlicedPacket<'a>) -> Option<(IpInfo, &'a [u8], bool)> {
    match s.net.as_ref()? {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let p = v4.payload();
            let info = IpInfo {
                version: 4,
                src: IpAddr::V4(h.source_addr()),
                dst: IpAddr::V4(h.destination_addr()),
                dscp: h.dcp().value(),
                ecn: h.ecn().value(),
                ttl: h.ttl(),
                protocol: h.protocol().0,
                identification: Some(h.identification()),
                flow_label: None,
                length: h.total_len(),
                fragment_offset: h.fragments_offset().value().saturating_mul(8),
                more_fragments: h.more_fragments(),
                dont_fragment: h.dont_fragment(),
            };
            Some((info, p.payload, p.incomplete))
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let p = v6.payload();
            let mut info = IpInfo {
                version: 6,
                src: IpAddr::V6(h.source_addr()),
                dst: IpAddr::V6(h.destination_addr()),
                dscp: h.traffic_class() >> 2,
                ecn: h.traffic_class() & 3,
                ttl: h.hop_limit(),
                protocol: p.ip_number.0,
                identification: None,
                flow_label: Some(h.flow_label().value()),
                length: h.payload_length(),
                fragment_offset: 0,
                more_fragments: false,
                dont_fragment: false,
            };
            // Walked by hand: etherparse's extension iterator reads out of bounds (undefined
            // behaviour) when the lax parse stopped at a truncated extension header.
            if let Some((offset, more)) = ipv6_fragment(h.next_header().0, v6.extensions().slice()) {
                info.fragment_offset = offset;
                info.more_fragments = more;
            }
            Some((info, p.payload, p.incomplete))
        }
        LaxNetSlice::Arp(_) => None,
    }
}

/// The fragment offset (bytes) and more-fragments flag of an IPv6 Fragment header found in the
/// extension header chain `exts` that starts with `next`.
fn ipv6_fragment(mut next: u8, mut exts: &[u8]) -> Option<(u16, bool)> {
    for _ in 0..16 {
        let len = match next {
            ip_proto::IPV6_FRAG => {
                let word = super::bytes::u16_at(exts, 2)?;
                return Some((word & 0xfff8, word & 1 == 1));
            }
            ip_proto::HOPOPT | ip_proto::IPV6_ROUTE | ip_proto::IPV6_OPTS => (*exts.get(1)? as usize + 1) * 8,
            ip_proto::AH => (*exts.get(1)? as usize + 2) * 4,
            _ => return None,
        };
        next = *exts.first()?;
        exts = exts.get(len..)?;
    }
    None
}

/// Recognises a tunnel header in the transport payload; returns the tunnel layer and where its
/// payload starts.
fn tunnel<'a>(ip: &IpInfo, transport: Option<&TransportInfo>, payload: &'a [u8]) -> Option<(TunnelInfo, Start<'a>)> {
    let mut t = TunnelInfo {
        kind: TunnelKind::Geneve,
        src: ip.src,
        dst: ip.dst,
        dscp: ip.dscp,
        ttl: ip.ttl,
        vni: None,
        key: None,
        src_port: None,
        options_length: None,
    };
    if ip.protocol == ip_proto::GRE {
        let (h, inner) = GreHeader::parse(payload)?;
        t.kind = TunnelKind::Gre;
        t.key = h.key.map(u64::from);
        let start = match h.protocol {
            ether_type::TEB | ether_type::ERSPAN_II | ether_type::ERSPAN_III => Start::Ethernet(inner),
            ether_type::IPV4 | ether_type::IPV6 => Start::Ip(inner),
            _ => return None,
        };
        return Some((t, start));
    }
    if ip.protocol == ip_proto::IPV4 || ip.protocol == ip_proto::IPV6 {
        // The protocol says which version is inside; a payload of the other version is not
        // this tunnel (tcpdump calls it a wrong encapsulation and decodes no further).
        let want = if ip.protocol == ip_proto::IPV4 { 4 } else { 6 };
        if payload.first()? >> 4 != want {
            return None;
        }
        t.kind = TunnelKind::IpInIp;
        return Some((t, Start::Ip(payload)));
    }
    match *transport? {
        TransportInfo::Udp { src_port, dst_port, .. } => {
            let udp_payload = payload.get(8..)?;
            // The well-known port is the destination in both directions (RFC 7348, RFC 8926); the
            // source port is flow entropy and may be anything, including a tunnel port.
            let is = |p: u16| dst_port == p;
            t.src_port = Some(src_port);
            if is(geneve::PORT) {
                let (h, inner) = GeneveHeader::parse(udp_payload)?;
                t.vni = Some(h.vni);
                t.options_length = Some(h.options_len as u16);
                let start = match h.protocol {
                    ether_type::TEB => Start::Ethernet(inner),
                    p => Start::EtherType(p, inner),
                };
                Some((t, start))
            } else if is(vxlan::PORT) || is(vxlan::LINUX_PORT) {
                let (vni, inner) = vxlan::parse(udp_payload)?;
                t.kind = TunnelKind::Vxlan;
                t.vni = Some(vni);
                Some((t, Start::Ethernet(inner)))
            } else if is(vxlan::GPE_PORT) {
                let (vni, mut next, mut inner) = vxlan::parse_gpe(udp_payload)?;
                t.kind = TunnelKind::VxlanGpe;
                t.vni = Some(vni);
                if next == Next::Nsh {
                    (next, inner) = vxlan::parse_nsh(inner)?;
                }
                let start = match next {
                    Next::Ethernet => Start::Ethernet(inner),
                    Next::Ipv4 | Next::Ipv6 => Start::Ip(inner),
                    Next::Nsh => return None,
                };
                Some((t, start))
            } else {
                None
            }
        }
        TransportInfo::Tcp { dst_port, seq, .. } if dst_port == stt::PORT && ip.protocol == ip_proto::TCP => {
            let data_offset = (*payload.get(12)? >> 4) as usize * 4;
            let (h, inner) = SttHeader::parse(payload.get(data_offset..)?, (seq & 0xffff) as u16)?;
            t.kind = TunnelKind::Stt;
            t.key = Some(h.context_id);
            Some((t, Start::Ethernet(inner)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn udp_frame(dscp: u8, src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
        let mut h =
            etherparse::Ipv4Header::new(0, 64, etherparse::IpNumber::UDP, [10, 0, 0, 1], [10, 0, 0, 2]).unwrap();
        h.dscp = etherparse::IpDscp::try_new(dscp).unwrap();
        h.identification = 0x1234;
        let b = PacketBuilder::ethernet2([1; 6], [2; 6]).ip(etherparse::IpHeaders::Ipv4(h, Default::default()));
        let mut out = Vec::new();
        b.udp(src_port, dst_port).write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn plain_udp() {
        let f = udp_frame(7, 1000, 53, &[]);
        let d = decode(LinkType::ETHERNET, &f);
        let ip = d.ip.unwrap();
        assert_eq!((ip.dscp, ip.identification, ip.protocol, d.depth), (7, Some(0x1234), 17, 0));
        assert_eq!(d.transport, Some(TransportInfo::Udp { src_port: 1000, dst_port: 53, length: 8 }));
        assert_eq!(d.outer_eth.unwrap().src, MacAddr([1; 6]));
    }

    #[test]
    fn vxlan_in_geneve() {
        let inner = udp_frame(11, 5, 6, &[]);
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        vx.extend(&inner);
        let mid = udp_frame(0, 777, 4789, &vx);
        let mut gen = vec![0x01, 0, 0x65, 0x58, 0, 0, 9, 0, 1, 2, 3, 4];
        gen.extend(&mid);
        let outer = udp_frame(0, 555, 6081, &gen);
        let d = decode(LinkType::ETHERNET, &outer);
        let kinds: Vec<_> = d.tunnels().map(|t| (t.kind, t.vni)).collect();
        assert_eq!(kinds, vec![(TunnelKind::Geneve, Some(9)), (TunnelKind::Vxlan, Some(42))]);
        assert_eq!(d.ip.unwrap().dscp, 11);
        assert_eq!(d.tunnels[0].unwrap().options_length, Some(4));
        // Every prefix decodes without panicking.
        for n in 0..outer.len() {
            let _ = decode(LinkType::ETHERNET, &outer[..n]);
        }
    }

    /// Found by the decode_packet fuzz target: the outer IP total length ends inside the VXLAN
    /// payload, so the decoder must not look at the bytes after it (and the prefilter agrees).
    #[test]
    fn tunnel_payload_ends_at_the_ip_length() {
        let hex = "7a8a20f63cb5c889f3ada33308004500007a0901000040117612010101010101010912b512b500bb91070c000003000001007a8a20f63cb5c889f3ada33308004500009d0001000040117241020202020202020912b512b5008990390c000003000002007a8a20f63cb5c889f3ada33308004505006b0001000040116e70030303030303030912b512b500578f6b0c000003000003007a8a20f63cb5c889f3ada3370800450000cf000100003f117612010101010101010912b529b500bb91070c000003000001007a01000040116e70030303030101";
        let f: Vec<u8> = (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
        let d = decode(LinkType::ETHERNET, &f);
        let dscp = d.ip.map(|ip| ip.dscp).unwrap_or(0);
        assert!(super::super::prefilter::may_carry_tag(dscp, LinkType::ETHERNET, &f));
    }

    #[test]
    fn tunnel_port_as_source_is_not_a_tunnel() {
        let f = udp_frame(7, 4789, 5353, &[0x5a; 40]);
        let d = decode(LinkType::ETHERNET, &f);
        assert_eq!((d.depth, d.ip.map(|i| i.dscp)), (0, Some(7)));
    }

    #[test]
    fn depth_is_bounded() {
        let mut f = udp_frame(11, 5, 6, &[]);
        for _ in 0..6 {
            let mut vx = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
            vx.extend(&f);
            f = udp_frame(0, 1, 4789, &vx);
        }
        let d = decode(LinkType::ETHERNET, &f);
        assert_eq!((d.depth, d.stop), (MAX_TUNNEL_DEPTH, Some(Stop::TooDeep)));
        assert!(d.ip.is_none());
    }

    #[test]
    fn ip_in_ip_is_a_tunnel() {
        let inner = udp_frame(11, 5, 6, &[]);
        let mut outer =
            etherparse::Ipv4Header::new(0, 64, etherparse::IpNumber(4), [192, 168, 0, 1], [192, 168, 0, 2]).unwrap();
        outer.set_payload_len(inner.len() - 14).unwrap();
        let mut f = vec![0u8; 12];
        f.extend([0x08, 0x00]);
        outer.write(&mut f).unwrap();
        f.extend(&inner[14..]);
        let d = decode(LinkType::ETHERNET, &f);
        assert_eq!(d.tunnels().map(|t| t.kind).collect::<Vec<_>>(), vec![TunnelKind::IpInIp]);
        assert_eq!(d.ip.map(|i| i.dscp), Some(11));
        // The prefilter leaves it to the decoder.
        assert!(super::super::prefilter::may_carry_tag(11, LinkType::ETHERNET, &f));
    }

    #[test]
    fn unsupported_and_short() {
        assert_eq!(decode(LinkType(104), &[1, 2, 3]).stop, Some(Stop::UnsupportedLinkType));
        assert_eq!(decode(LinkType::ETHERNET, &[1, 2, 3]).stop, Some(Stop::ShortFrame));
        assert_eq!(decode(LinkType::LINUX_SLL2, &[0; 10]).stop, Some(Stop::ShortFrame));
        assert_eq!(decode(LinkType::NULL, &[2, 0, 0, 0]).stop, Some(Stop::NotIp));
    }
}
