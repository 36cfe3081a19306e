//! Tunnel decoding agrees with tcpdump: for every packet of the corpus's tunnel captures, the
//! IP address pairs (each tunnel's outer header, then the innermost IP header), the VNIs and the
//! DSCP of each IP header that we decode equal what tcpdump printed in the expected `.out` files
//! of its own test suite (tests/data/corpus/tcpdump, options per TESTLIST-excerpt.txt), and the
//! SLL2 direction equals what tcpdump prints (tests/corpus/sll2/*.out, made by
//! tests/corpus/make-expectations.py).

use hoptrace::capture::{open_capture, read_capture, Direction};
use hoptrace::decode::decode;
use std::net::IpAddr;
use std::path::Path;
use support::corpus::corpus;

mod support;

/// What tcpdump printed for one packet.
#[derive(Debug, Default, PartialEq)]
struct Printed {
    pairs: Vec<(IpAddr, IpAddr)>,
    vnis: Vec<u32>,
    dscps: Vec<u8>,
    direction: Option<Direction>,
}

fn parse_addr(token: &str) -> Option<IpAddr> {
    let t = token.trim_end_matches([':', ',']);
    t.parse().ok().or_else(|| t.rsplit_once('.').and_then(|(a, _port)| a.parse().ok()))
}

fn parse_number(token: &str) -> Option<u32> {
    let t = token.trim_end_matches([',', ':', ')']);
    match t.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// Splits tcpdump `-#` output into packets and extracts what we compare.
fn parse_out(text: &str) -> Vec<Printed> {
    let mut packets: Vec<String> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let numbered = t.split_once("  ").is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if numbered && !line.starts_with('\t') {
            packets.push(String::new());
        }
        if let Some(p) = packets.last_mut() {
            p.push_str(line);
            p.push('\n');
        }
    }
    packets.iter().map(|p| parse_packet(p)).collect()
}

fn parse_packet(p: &str) -> Printed {
    let tokens: Vec<&str> = p.split_whitespace().collect();
    let mut out = Printed::default();
    for (i, t) in tokens.iter().enumerate() {
        if *t == ">" && i > 0 && i + 1 < tokens.len() && tokens[i + 1].ends_with(':') {
            if let (Some(a), Some(b)) = (parse_addr(tokens[i - 1]), parse_addr(tokens[i + 1])) {
                out.pairs.push((a, b));
            }
        }
        if *t == "vni" {
            if let Some(v) = tokens.get(i + 1).and_then(|v| parse_number(v)) {
                out.vnis.push(v);
            }
        }
        if *t == "In" || *t == "Out" {
            out.direction.get_or_insert(if *t == "In" { Direction::Inbound } else { Direction::Outbound });
        }
    }
    // IP header descriptions in verbose output: `IP (tos 0xNN, ...` and `IP6 (class 0xNN, ...`
    // (tcpdump leaves out a zero traffic class).
    let mut rest = p;
    while let Some(pos) = rest.find("IP") {
        let after = &rest[pos..];
        if let Some(v4) = after.strip_prefix("IP (tos ") {
            if let Some(tos) = v4.split([',', ')']).next().and_then(parse_number) {
                out.dscps.push((tos >> 2) as u8);
            }
        } else if let Some(v6) = after.strip_prefix("IP6 (") {
            let header = v6.split(')').next().unwrap_or("");
            let class = header.strip_prefix("class ").and_then(|c| c.split(',').next()).and_then(parse_number);
            out.dscps.push((class.unwrap_or(0) >> 2) as u8);
        }
        rest = &after[2..];
    }
    out
}

/// What we decode for one packet, in the same shape.
fn ours(path: &Path) -> Vec<Printed> {
    let mut out = Vec::new();
    let src = open_capture(path).unwrap();
    let summary = read_capture(path, src, |pkt| {
        let d = decode(pkt.link_type, pkt.data);
        let mut p = Printed::default();
        for t in d.tunnels() {
            p.pairs.push((t.src, t.dst));
            p.dscps.push(t.dscp);
            p.vnis.extend(t.vni);
        }
        if let Some(ip) = d.ip {
            p.pairs.push((ip.src, ip.dst));
            p.dscps.push(ip.dscp);
        }
        p.direction = d.cooked.and_then(|c| c.direction());
        out.push(p);
    });
    assert!(summary.error.is_none(), "{:?}", summary.error);
    out
}

/// Compares one capture with its tcpdump output; returns (packets, tunnel VNIs, IP headers with
/// a DSCP, packets with a direction) as tcpdump printed them, so callers can check the
/// comparison covered something.
fn check(pcap: &str, expected: &Path, verbose: bool) -> (usize, usize, usize, usize) {
    let path = corpus(pcap);
    let text = std::fs::read_to_string(expected).unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
    let printed = parse_out(&text);
    let decoded = ours(&path);
    assert_eq!(printed.len(), decoded.len(), "{pcap}: packet count");
    for (i, (want, got)) in printed.iter().zip(&decoded).enumerate() {
        let n = i + 1;
        assert_eq!(got.pairs, want.pairs, "{pcap} packet {n}: address pairs (outer..inner)");
        assert_eq!(got.vnis, want.vnis, "{pcap} packet {n}: VNIs");
        if verbose {
            assert_eq!(got.dscps, want.dscps, "{pcap} packet {n}: DSCP per IP header");
        }
        if want.direction.is_some() {
            assert_eq!(got.direction, want.direction, "{pcap} packet {n}: direction");
        }
    }
    let sum = |f: fn(&Printed) -> usize| printed.iter().map(f).sum::<usize>();
    (printed.len(), sum(|p| p.vnis.len()), sum(|p| p.dscps.len()), sum(|p| p.direction.is_some() as usize))
}

#[test]
fn geneve_agrees_with_tcpdump() {
    let dir = corpus("tcpdump");
    // 39 packets, each one Geneve VNI, outer + inner IP header.
    assert_eq!(check("tcpdump/geneve.pcap", &dir.join("geneve-vv.out"), true), (39, 39, 78, 0));
    assert_eq!(check("tcpdump/geneve-gcp.pcap", &dir.join("geneve-gcp.out"), true), (1, 1, 2, 0));
}

#[test]
fn vxlan_agrees_with_tcpdump() {
    let dir = corpus("tcpdump");
    assert_eq!(check("tcpdump/vxlan.pcap", &dir.join("vxlan.out"), false), (10, 10, 0, 0));
    assert_eq!(check("tcpdump/vxlan_port_8472.pcap", &dir.join("vxlan_port_8472.out"), false), (10, 10, 0, 0));
    assert_eq!(check("tcpdump/nsh-over-vxlan-gpe.pcap", &dir.join("nsh-over-vxlan-gpe-vv.out"), true), (1, 1, 2, 0));
}

#[test]
fn gre_and_erspan_agree_with_tcpdump() {
    let dir = corpus("tcpdump");
    let mut headers = 0;
    for name in ["erspan-type-ii-1", "erspan-type-iii-pb-1", "gre-heapoverflow-1", "gre-heapoverflow-2", "various_gre"]
    {
        let (packets, _, dscps, _) = check(&format!("tcpdump/{name}.pcap"), &dir.join(format!("{name}.out")), true);
        assert!(packets > 0);
        headers += dscps;
    }
    eprintln!("GRE IP headers compared: {headers}");
    assert!(headers > 20, "only {headers} IP headers compared");
}

#[test]
fn offloaded_super_packets_agree_with_tcpdump() {
    let dir = corpus("tcpdump");
    for kind in ["gso", "bigtcp"] {
        for outer in ["ipv4", "ipv6"] {
            for tunnel in ["geneve", "vxlan"] {
                for inner in ["ipv4", "ipv6"] {
                    let name = format!("{kind}-{outer}-{tunnel}-{inner}");
                    assert_eq!(
                        check(&format!("tcpdump/{name}.pcap"), &dir.join(format!("{name}.out")), true),
                        (1, 1, 2, 0)
                    );
                }
            }
        }
    }
}

#[test]
fn sll2_direction_and_addresses_agree_with_tcpdump() {
    let dir = support::root().join("tests/corpus/sll2");
    let mut directions = 0;
    for (pcap, out) in [
        ("zeek/linux_dlt_sll2.pcap", "zeek__linux_dlt_sll2.out"),
        ("suricata-verify/decode-sll2-01__input.pcap", "suricata-verify__decode-sll2-01__input.out"),
        ("suricata-verify/decode-sll2-02__input.pcap", "suricata-verify__decode-sll2-02__input.out"),
    ] {
        let (packets, _, dscps, dirs) = check(pcap, &dir.join(out), true);
        assert!(packets > 0 && dscps > 0, "{pcap}");
        directions += dirs;
    }
    assert!(directions > 100, "only {directions} directions compared");
}

/// The prefilter that skips the full decode never rejects a packet whose innermost IP header
/// carries the tag: checked for every packet of the whole corpus and every DSCP value.
#[test]
fn prefilter_never_rejects_a_tagged_packet() {
    use hoptrace::decode::may_carry_tag;
    use hoptrace::decode::scan::expand_inputs;
    let files = expand_inputs(&[corpus("")]).files;
    let (mut packets, mut rejected) = (0u64, 0u64);
    for file in files {
        let Ok(src) = open_capture(&file) else { continue };
        read_capture(&file, src, |pkt| {
            packets += 1;
            let innermost = decode(pkt.link_type, pkt.data).ip.map(|ip| ip.dscp);
            for tag in 0..64u8 {
                if !may_carry_tag(tag, pkt.link_type, pkt.data) {
                    rejected += 1;
                    assert_ne!(innermost, Some(tag), "{} packet {}: tag {tag} rejected", file.display(), pkt.index);
                }
            }
        });
    }
    // About half the corpus is Ethernet + IPv4, where 63 of the 64 tags are rejected.
    assert!(packets > 5_000 && rejected > packets * 25, "{packets} packets, {rejected} rejections");
}
