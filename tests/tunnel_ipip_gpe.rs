//! IP-in-IP (4in4, 6in4, 4in6, 6in6, nested) and VXLAN-GPE with the P flag clear, checked
//! against tcpdump's decode of the same crafted packets: the innermost address pair tcpdump
//! prints must be the innermost IP header we find, and the number of address pairs it prints
//! must be our tunnel depth plus one. The cases tcpdump does not decapsulate (a GPE next
//! protocol of 0, an IPv6 packet behind protocol 4) must stay undecapsulated here too.

mod support;

use hoptrace::capture::{open_capture, read_capture};
use hoptrace::decode::{decode, TunnelKind};
use std::net::IpAddr;
use support::frames::{pcap_header, pcap_record};
use support::{require, run_tool, Need};

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32).sum();
    while s > 0xffff {
        s = (s >> 16) + (s & 0xffff);
    }
    !(s as u16)
}

fn ip4(src: [u8; 4], dst: [u8; 4], proto: u8, tos: u8, payload: &[u8]) -> Vec<u8> {
    let len = (20 + payload.len()) as u16;
    let mut h = vec![0x45, tos];
    h.extend(len.to_be_bytes());
    h.extend([0, 0x77, 0, 0, 64, proto, 0, 0]);
    h.extend(src);
    h.extend(dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend(payload);
    h
}

fn ip6(src: [u8; 16], dst: [u8; 16], next: u8, tclass: u8, payload: &[u8]) -> Vec<u8> {
    let first: u32 = (6 << 28) | ((tclass as u32) << 20) | 0x12345;
    let mut h = first.to_be_bytes().to_vec();
    h.extend((payload.len() as u16).to_be_bytes());
    h.extend([next, 64]);
    h.extend(src);
    h.extend(dst);
    h.extend(payload);
    h
}

fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = src_port.to_be_bytes().to_vec();
    u.extend(dst_port.to_be_bytes());
    u.extend(((8 + payload.len()) as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend(payload);
    u
}

fn eth(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    f.extend(ether_type.to_be_bytes());
    f.extend(payload);
    f
}

fn v6(last: u8, prefix: [u8; 2]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..2].copy_from_slice(&prefix);
    a[15] = last;
    a
}

/// (name, frame, expected tunnel kinds outermost first)
fn cases() -> Vec<(&'static str, Vec<u8>, Vec<TunnelKind>)> {
    let echo = [8, 0, 0, 0, 0, 0x42, 0, 1, b'h', b'e', b'l', b'l', b'o'];
    let inner4 = ip4([10, 0, 0, 1], [10, 0, 0, 2], 1, 7 << 2, &echo);
    let inner6 = ip6(v6(1, [0xfd, 0]), v6(2, [0xfd, 0]), 58, 7 << 2, &[128, 0, 0, 0, 0, 0x42, 0, 1]);
    let (o1, o2) = ([192, 168, 0, 1], [192, 168, 0, 2]);
    let (p1, p2) = (v6(1, [0x20, 0x01]), v6(2, [0x20, 0x01]));
    let gpe = |next: u8, flags: u8, payload: &[u8]| {
        let mut g = vec![flags, 0, 0, next, 0, 0, 5, 0];
        g.extend(payload);
        eth(0x0800, &ip4(o1, o2, 17, 0, &udp(1000, 4790, &g)))
    };
    use TunnelKind::*;
    vec![
        ("4in4", eth(0x0800, &ip4(o1, o2, 4, 0, &inner4)), vec![IpInIp]),
        ("6in4", eth(0x0800, &ip4(o1, o2, 41, 0, &inner6)), vec![IpInIp]),
        ("4in6", eth(0x86dd, &ip6(p1, p2, 4, 0, &inner4)), vec![IpInIp]),
        ("6in6", eth(0x86dd, &ip6(p1, p2, 41, 0, &inner6)), vec![IpInIp]),
        (
            "4in4in4",
            eth(0x0800, &ip4([1, 1, 1, 1], [2, 2, 2, 2], 4, 0, &ip4(o1, o2, 4, 0, &inner4))),
            vec![IpInIp, IpInIp],
        ),
        ("6 behind protocol 4", eth(0x0800, &ip4(o1, o2, 4, 0, &inner6)), vec![]),
        ("gpe P clear, IPv4", gpe(1, 0x08, &inner4), vec![VxlanGpe]),
        ("gpe P clear, IPv6", gpe(2, 0x08, &inner6), vec![VxlanGpe]),
        ("gpe P clear, Ethernet", gpe(3, 0x08, &eth(0x0800, &inner4)), vec![VxlanGpe]),
        ("gpe P set, IPv4", gpe(1, 0x0c, &inner4), vec![VxlanGpe]),
        ("gpe next protocol 0", gpe(0, 0x08, &eth(0x0800, &inner4)), vec![]),
    ]
}

/// The address pairs of tcpdump's verbose lines, ports stripped.
fn tcpdump_pairs(text: &str) -> Vec<(IpAddr, IpAddr)> {
    let addr = |w: &str| -> Option<IpAddr> {
        let w = w.trim_end_matches(':');
        w.parse().ok().or_else(|| w.rsplit_once('.').and_then(|(a, _port)| a.parse().ok()))
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(3).filter(|w| w[1] == ">").filter_map(|w| Some((addr(w[0])?, addr(w[2])?))).collect()
}

#[test]
fn ip_in_ip_and_gpe_decode_as_tcpdump_does() {
    require!(Need::Tool("tcpdump"));
    let dir = tempfile::tempdir().unwrap();
    for (name, frame, kinds) in cases() {
        let path = dir.path().join("case.pcap");
        let mut f = pcap_header(1);
        pcap_record(&mut f, 1_000_000, &frame);
        std::fs::write(&path, f).unwrap();
        let text = run_tool("tcpdump", &["-nn", "-v", "-r", path.to_str().unwrap()]);
        let pairs = tcpdump_pairs(&text);
        assert!(!pairs.is_empty(), "{name}: tcpdump printed no addresses:\n{text}");

        let mut decoded = Vec::new();
        let s = read_capture(&path, open_capture(&path).unwrap(), |p| decoded.push(decode(p.link_type, p.data)));
        assert!(s.error.is_none());
        let d = &decoded[0];
        let ip = d.ip.unwrap_or_else(|| panic!("{name}: no IP header decoded"));
        assert_eq!(d.tunnels().map(|t| t.kind).collect::<Vec<_>>(), kinds, "{name}");
        assert_eq!(pairs.len(), d.depth + 1, "{name}: tcpdump shows {pairs:?}\n{text}");
        assert_eq!(*pairs.last().unwrap(), (ip.src, ip.dst), "{name}:\n{text}");
        for (t, pair) in d.tunnels().zip(&pairs) {
            assert_eq!((t.src, t.dst), *pair, "{name}: outer header");
        }
        // The tag of the innermost header, as tcpdump shows it.
        if !kinds.is_empty() {
            assert_eq!(ip.dscp, 7, "{name}");
            assert!(text.contains("tos 0x1c") || text.contains("class 0x1c"), "{name}:\n{text}");
        }
    }
}
