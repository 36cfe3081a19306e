//! Property tests: any spec crafts to a frame that parses back to the same fields with valid
//! checksums, and the probe document round-trips through JSON.

use etherparse::{Icmpv4Header, Icmpv6Header, NetSlice, SlicedPacket, TransportSlice};
use hoptrace::addr::MacAddr;
use hoptrace::probe::filter::capture_filter;
use hoptrace::probe::{craft_frame, Probe, ProbeSpec, Tag, Transport};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        (any::<u16>(), any::<u16>()).prop_map(|(id, sequence)| Transport::Icmp { id, sequence }),
        (1..=u16::MAX, 1..=u16::MAX, any::<u8>(), any::<u32>(), any::<u32>())
            .prop_map(|(src_port, dst_port, flags, seq, ack)| Transport::Tcp { src_port, dst_port, flags, seq, ack }),
        (1..=u16::MAX, 1..=u16::MAX).prop_map(|(src_port, dst_port)| Transport::Udp { src_port, dst_port }),
        (1..=u16::MAX, 1..=u16::MAX, 1..=u32::MAX, any::<u32>()).prop_map(
            |(src_port, dst_port, initiate_tag, initial_tsn)| {
                Transport::Sctp { src_port, dst_port, initiate_tag, initial_tsn }
            }
        ),
    ]
}

fn spec() -> impl Strategy<Value = ProbeSpec> {
    (
        any::<bool>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        (any::<[u8; 6]>(), any::<[u8; 6]>()),
        1u32..=63,
        any::<u8>(),
        0u8..=7,
        any::<u16>(),
        1u32..=0xf_ffff,
        transport(),
    )
        .prop_map(|(v6, a, b, (m1, m2), tag, ttl, flags, id, label, transport)| {
            let (src_ip, dst_ip): (IpAddr, IpAddr) = if v6 {
                (Ipv6Addr::from(a).into(), Ipv6Addr::from(b).into())
            } else {
                (Ipv4Addr::new(a[0], a[1], a[2], a[3]).into(), Ipv4Addr::new(b[0], b[1], b[2], b[3]).into())
            };
            ProbeSpec {
                src_mac: MacAddr(m1),
                dst_mac: MacAddr(m2),
                src_ip,
                dst_ip,
                tag: Tag::new(tag).unwrap(),
                ttl,
                ipv4_flags: if v6 { 0 } else { flags },
                ipv4_id: if v6 { 0 } else { id },
                flow_label: if v6 { label } else { 0 },
                transport,
            }
        })
}

/// RFC 1071 sum over the SCTP-less transports, checked independently of the crafting code.
fn ones_complement_ok(chunks: &[&[u8]]) -> bool {
    let mut sum: u32 = 0;
    for c in chunks {
        for w in c.chunks(2) {
            sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn craft_then_parse(spec in spec()) {
        let frame = craft_frame(&spec).unwrap();
        // With MF set the packet is a first fragment and etherparse (rightly) stops at IP; clear
        // the bit in a copy to check the transport bytes too.
        let mut unfragmented = frame.clone();
        if !spec.is_ipv6() {
            prop_assert_eq!(frame[20] >> 5, spec.ipv4_flags);
            unfragmented[20] &= !0x20;
        }
        let p = SlicedPacket::from_ethernet(&unfragmented).unwrap();
        let eth = p.link.as_ref().and_then(|l| l.to_header()).unwrap();
        match eth {
            etherparse::LinkHeader::Ethernet2(e) => {
                prop_assert_eq!(e.source, spec.src_mac.0);
                prop_assert_eq!(e.destination, spec.dst_mac.0);
            }
            other => prop_assert!(false, "{:?}", other),
        }
        let ip_payload: &[u8];
        let pseudo: Vec<u8>;
        match p.net.as_ref().unwrap() {
            NetSlice::Ipv4(ip) => {
                let h = ip.header();
                prop_assert_eq!(IpAddr::from(h.source_addr()), spec.src_ip);
                prop_assert_eq!(IpAddr::from(h.destination_addr()), spec.dst_ip);
                prop_assert_eq!(h.dcp().value(), spec.tag.dscp());
                prop_assert_eq!(h.ecn().value(), 0);
                prop_assert_eq!(h.ttl(), spec.ttl);
                prop_assert_eq!(h.identification(), spec.ipv4_id);
                prop_assert!(ones_complement_ok(&[&frame[14..34]]), "IPv4 header checksum");
                prop_assert_eq!(h.protocol().0, spec.ip_protocol());
                ip_payload = &frame[34..];
                let mut ph = Vec::new();
                ph.extend_from_slice(&h.source());
                ph.extend_from_slice(&h.destination());
                ph.extend_from_slice(&[0, spec.ip_protocol()]);
                ph.extend_from_slice(&(ip_payload.len() as u16).to_be_bytes());
                pseudo = ph;
            }
            NetSlice::Ipv6(ip) => {
                let h = ip.header();
                prop_assert_eq!(IpAddr::from(h.source_addr()), spec.src_ip);
                prop_assert_eq!(IpAddr::from(h.destination_addr()), spec.dst_ip);
                prop_assert_eq!(h.traffic_class(), spec.tag.tos());
                prop_assert_eq!(h.hop_limit(), spec.ttl);
                prop_assert_eq!(h.flow_label().value(), spec.flow_label);
                ip_payload = &frame[54..];
                let mut ph = Vec::new();
                ph.extend_from_slice(&h.source());
                ph.extend_from_slice(&h.destination());
                ph.extend_from_slice(&(ip_payload.len() as u32).to_be_bytes());
                ph.extend_from_slice(&[0, 0, 0, spec.ip_protocol()]);
                pseudo = ph;
            }
            other => { prop_assert!(false, "{:?}", other); unreachable!() }
        }
        prop_assert_eq!(ip_payload.len(), spec.transport.wire_len());
        match (&spec.transport, &p.transport) {
            (Transport::Icmp { id, sequence }, Some(TransportSlice::Icmpv4(i))) => {
                prop_assert_eq!(i.icmp_type(), etherparse::Icmpv4Type::EchoRequest(etherparse::IcmpEchoHeader { id: *id, seq: *sequence }));
                prop_assert!(ones_complement_ok(&[ip_payload]));
                let _ = Icmpv4Header::MIN_LEN;
            }
            (Transport::Icmp { id, sequence }, Some(TransportSlice::Icmpv6(i))) => {
                prop_assert_eq!(i.icmp_type(), etherparse::Icmpv6Type::EchoRequest(etherparse::IcmpEchoHeader { id: *id, seq: *sequence }));
                prop_assert!(ones_complement_ok(&[&pseudo, ip_payload]));
                let _ = Icmpv6Header::MIN_LEN;
            }
            (Transport::Tcp { src_port, dst_port, flags, seq, ack }, Some(TransportSlice::Tcp(t))) => {
                prop_assert_eq!((t.source_port(), t.destination_port()), (*src_port, *dst_port));
                prop_assert_eq!((t.sequence_number(), t.acknowledgment_number()), (*seq, *ack));
                prop_assert_eq!(t.slice()[13], *flags);
                prop_assert!(ones_complement_ok(&[&pseudo, ip_payload]));
            }
            (Transport::Udp { src_port, dst_port }, Some(TransportSlice::Udp(u))) => {
                prop_assert_eq!((u.source_port(), u.destination_port(), u.length()), (*src_port, *dst_port, 8));
                prop_assert!(ones_complement_ok(&[&pseudo, ip_payload]));
                prop_assert_ne!(u.checksum(), 0);
            }
            (Transport::Sctp { src_port, dst_port, initiate_tag, .. }, None) => {
                prop_assert_eq!(&ip_payload[0..2], &src_port.to_be_bytes());
                prop_assert_eq!(&ip_payload[2..4], &dst_port.to_be_bytes());
                prop_assert_eq!(&ip_payload[16..20], &initiate_tag.to_be_bytes());
                let mut z = ip_payload.to_vec();
                z[8..12].fill(0);
                let crc = hoptrace::probe::sctp::crc32c(&z);
                prop_assert_eq!(&ip_payload[8..12], &crc.to_le_bytes());
            }
            (t, s) => prop_assert!(false, "{:?} parsed as {:?}", t, s),
        }
        // The document round-trips: JSON -> Probe -> the same spec and frame.
        let doc = Probe::new(&spec, &frame, capture_filter(spec.tag, spec.is_ipv6()));
        let text = serde_json::to_string(&doc).unwrap();
        let back = Probe::from_json(&text, "prop").unwrap();
        prop_assert_eq!(back.spec().unwrap(), spec);
        prop_assert_eq!(&back.frame_bytes().unwrap(), &frame);
    }
}
