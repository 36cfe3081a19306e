//! Property test (build → decode): a probe-like packet with random header fields, wrapped in a
//! random stack of tunnels (Geneve, VXLAN, GRE/TEB with key, up to 4 deep), decodes back to the
//! same tunnels (kind, VNI/key, outer addresses) and the same innermost IP and transport fields;
//! and the fingerprint built from those fields matches it while the prefilter lets it through.

use etherparse::{IpDscp, IpHeaders, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, PacketBuilder};
use hoptrace::capture::LinkType;
use hoptrace::decode::{
    decode, match_fingerprint, may_carry_tag, FlowTuple, Match, Prefilter, TransportInfo, TunnelKind,
};
use hoptrace::probe::Fingerprint;
use proptest::prelude::*;
use std::net::IpAddr;

#[derive(Clone, Debug)]
struct Inner {
    v6: bool,
    dscp: u8,
    id: u16,
    flow_label: u32,
    ttl: u8,
    proto: u8, // 0 icmp, 1 tcp, 2 udp
    ports: (u16, u16),
    seq: u32,
    src: [u8; 4],
    dst: [u8; 4],
}

fn inner() -> impl Strategy<Value = Inner> {
    (any::<bool>(), 1u8..64, any::<u16>(), 1u32..0x100000, 1u8.., 0u8..3, any::<(u16, u16)>(), any::<u32>())
        .prop_flat_map(|(v6, dscp, id, flow_label, ttl, proto, ports, seq)| {
            (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(move |(src, dst)| Inner {
                v6,
                dscp,
                id,
                flow_label,
                ttl,
                proto,
                ports,
                seq,
                src,
                dst,
            })
        })
}

fn v6_addr(a: [u8; 4]) -> [u8; 16] {
    let mut x = [0u8; 16];
    x[0] = 0xfd;
    x[12..].copy_from_slice(&a);
    x
}

fn build(p: &Inner) -> Vec<u8> {
    let ip = if p.v6 {
        IpHeaders::Ipv6(
            Ipv6Header {
                traffic_class: p.dscp << 2,
                flow_label: Ipv6FlowLabel::try_new(p.flow_label).unwrap(),
                payload_length: 0,
                next_header: IpNumber::UDP,
                hop_limit: p.ttl,
                source: v6_addr(p.src),
                destination: v6_addr(p.dst),
            },
            Default::default(),
        )
    } else {
        let mut h = Ipv4Header::new(0, p.ttl, IpNumber::UDP, p.src, p.dst).unwrap();
        h.dscp = IpDscp::try_new(p.dscp).unwrap();
        h.identification = p.id;
        IpHeaders::Ipv4(h, Default::default())
    };
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]).ip(ip);
    let mut out = Vec::new();
    match (p.proto, p.v6) {
        (0, false) => b.icmpv4_echo_request(p.ports.0, p.ports.1).write(&mut out, &[]).unwrap(),
        (0, true) => b.icmpv6_echo_request(p.ports.0, p.ports.1).write(&mut out, &[]).unwrap(),
        (1, _) => b.tcp(p.ports.0, p.ports.1, p.seq, 1024).syn().write(&mut out, &[]).unwrap(),
        _ => b.udp(p.ports.0, p.ports.1).write(&mut out, &[]).unwrap(),
    }
    out
}

/// Wraps an Ethernet frame in one tunnel between 192.168.(level).1 and .2.
fn wrap(frame: &[u8], kind: u8, id: u32, level: u8) -> Vec<u8> {
    let (src, dst) = ([192, 168, level, 1], [192, 168, level, 2]);
    let ip = Ipv4Header::new(0, 64, IpNumber::UDP, src, dst).unwrap();
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, level, 1], [2, 0, 0, 0, level, 2])
        .ip(IpHeaders::Ipv4(ip, Default::default()));
    let mut out = Vec::new();
    let vni = id & 0xff_ffff;
    match kind {
        0 => {
            let mut p = vec![0, 0, 0x65, 0x58, (vni >> 16) as u8, (vni >> 8) as u8, vni as u8, 0];
            p.extend(frame);
            b.udp(40000, 6081).write(&mut out, &p).unwrap();
        }
        1 => {
            let mut p = vec![0x08, 0, 0, 0, (vni >> 16) as u8, (vni >> 8) as u8, vni as u8, 0];
            p.extend(frame);
            b.udp(40000, 4789).write(&mut out, &p).unwrap();
        }
        _ => {
            let mut p = vec![0x20, 0, 0x65, 0x58];
            p.extend(id.to_be_bytes());
            p.extend(frame);
            b.write(&mut out, IpNumber(47), &p).unwrap();
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn build_then_decode(p in inner(), tunnels in proptest::collection::vec((0u8..3, any::<u32>()), 0..=4)) {
        let mut frame = build(&p);
        // Innermost first: wrap from the inside out, so tunnels[0] ends up outermost.
        for (level, (kind, id)) in tunnels.iter().enumerate().rev() {
            frame = wrap(&frame, *kind, *id, level as u8);
        }
        let d = decode(LinkType::ETHERNET, &frame);
        prop_assert_eq!(d.depth, tunnels.len());
        for (t, (kind, id)) in d.tunnels().zip(&tunnels) {
            let want = [TunnelKind::Geneve, TunnelKind::Vxlan, TunnelKind::Gre][*kind as usize];
            prop_assert_eq!(t.kind, want);
            match want {
                TunnelKind::Gre => prop_assert_eq!(t.key, Some(*id as u64)),
                _ => prop_assert_eq!(t.vni, Some(id & 0xff_ffff)),
            }
        }
        let ip = d.ip.expect("innermost IP");
        prop_assert_eq!(ip.dscp, p.dscp);
        prop_assert_eq!(ip.ttl, p.ttl);
        if p.v6 {
            prop_assert_eq!(ip.src, IpAddr::from(v6_addr(p.src)));
            prop_assert_eq!(ip.flow_label, Some(p.flow_label));
        } else {
            prop_assert_eq!(ip.src, IpAddr::from(p.src));
            prop_assert_eq!(ip.dst, IpAddr::from(p.dst));
            prop_assert_eq!(ip.identification, Some(p.id));
        }
        let t = d.transport.expect("transport");
        let mut fp = Fingerprint {
            dscp: p.dscp,
            ip_version: if p.v6 { 6 } else { 4 },
            protocol: ip.protocol,
            ipv4_id: (!p.v6).then_some(p.id),
            flow_label: p.v6.then_some(p.flow_label),
            icmp_type: None,
            icmp_id: None,
            icmp_seq: None,
            tcp_seq: None,
            udp_length: None,
            sctp_initiate_tag: None,
        };
        match t {
            TransportInfo::Icmp { icmp_type, id, sequence, .. } => {
                prop_assert_eq!((icmp_type, id, sequence), (if p.v6 { 128 } else { 8 }, Some(p.ports.0), Some(p.ports.1)));
                (fp.icmp_type, fp.icmp_id, fp.icmp_seq) = (Some(icmp_type), id, sequence);
            }
            TransportInfo::Tcp { src_port, dst_port, seq, .. } => {
                prop_assert_eq!((src_port, dst_port, seq), (p.ports.0, p.ports.1, p.seq));
                fp.tcp_seq = Some(seq);
            }
            TransportInfo::Udp { src_port, length, .. } => {
                prop_assert_eq!((src_port, length), (p.ports.0, 8));
                fp.udp_length = Some(length);
            }
            TransportInfo::Sctp { .. } => prop_assert!(false, "no SCTP built"),
        }
        prop_assert_eq!(match_fingerprint(&fp, &ip, Some(&t)), Match::Probe);
        prop_assert!(may_carry_tag(p.dscp, LinkType::ETHERNET, &frame));
        // Under another tag, the frame's own 5-tuple still takes it to the decoder, and the
        // tuple matches what the decoder found; a tuple one address off does neither.
        let tuple = FlowTuple { src: ip.src, dst: ip.dst, protocol: ip.protocol, src_port: None, dst_port: None };
        let other = p.dscp ^ 1;
        prop_assert!(Prefilter::new(other, &[tuple]).may_match(LinkType::ETHERNET, &frame));
        prop_assert!(tuple.matches(&ip, Some(&t)));
        let off = FlowTuple { src: if p.v6 { "fd00::ffff".parse().unwrap() } else { [203, 0, 113, 255].into() }, ..tuple };
        prop_assert!(!off.matches(&ip, Some(&t)));
        if !p.v6 && !may_carry_tag(other, LinkType::ETHERNET, &frame) {
            prop_assert!(!Prefilter::new(other, &[off]).may_match(LinkType::ETHERNET, &frame));
        }
    }
}
