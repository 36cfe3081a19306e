//! The capture filter `craft` prints, compiled and run by the real tcpdump: it matches the probe
//! bare, inside Geneve and inside VXLAN (4789 and 8472), and not the same packet with another DSCP.

mod support;

use hoptrace::addr::MacAddr;
use hoptrace::probe::filter::capture_filter;
use hoptrace::probe::{craft_frame, ProbeSpec, Tag, Transport};
use std::net::IpAddr;
use support::frames::write_pcap;
use support::{require, run_tool, Need};

fn spec(v6: bool, dscp: u8) -> ProbeSpec {
    let (src, dst): (IpAddr, IpAddr) = if v6 {
        ("fd00::5".parse().unwrap(), "fd00::6".parse().unwrap())
    } else {
        ("10.10.0.5".parse().unwrap(), "10.10.1.7".parse().unwrap())
    };
    ProbeSpec {
        src_mac: MacAddr([2, 0, 0, 0, 0, 5]),
        dst_mac: MacAddr([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]),
        src_ip: src,
        dst_ip: dst,
        tag: Tag::new(u32::from(dscp)).unwrap(),
        ttl: 63,
        ipv4_flags: 0,
        ipv4_id: 0x1234,
        flow_label: 0x12345,
        transport: Transport::Tcp { src_port: 40000, dst_port: 80, flags: 2, seq: 1, ack: 0 },
    }
}

/// Wraps an inner Ethernet frame in outer Ethernet/IPv4/UDP and a Geneve or VXLAN header, the way
/// OVS encapsulates it (outer ToS 0).
fn encapsulate(inner: &[u8], dst_port: u16) -> Vec<u8> {
    let tunnel_header: Vec<u8> = match dst_port {
        // Geneve: version 0, no options, protocol 0x6558 (Ethernet), VNI 0.
        6081 => vec![0x00, 0x00, 0x65, 0x58, 0, 0, 0, 0],
        // VXLAN: flags I, VNI 100.
        _ => vec![0x08, 0, 0, 0, 0, 0, 100, 0],
    };
    let mut payload = tunnel_header;
    payload.extend_from_slice(inner);
    let builder = etherparse::PacketBuilder::ethernet2([2, 0x77, 0, 0, 0, 1], [2, 0x77, 0, 0, 0, 2])
        .ipv4([192, 168, 77, 101], [192, 168, 77, 102], 64)
        .udp(51195, dst_port);
    let mut out = Vec::new();
    builder.write(&mut out, &payload).unwrap();
    out
}

fn matches(filter: &str, frame: Vec<u8>) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("f.pcap");
    write_pcap(&pcap, &[frame]);
    let selected = dir.path().join("selected.pcap");
    run_tool("tcpdump", &["-r", pcap.to_str().unwrap(), "-w", selected.to_str().unwrap(), filter]);
    // A pcap holding only its 24-byte file header selected nothing.
    std::fs::metadata(&selected).unwrap().len() > 24
}

#[test]
fn filter_matches_bare_and_tunnelled_probe_only() {
    require!(Need::Tool("tcpdump"));
    for v6 in [false, true] {
        let tag = Tag::new(7).unwrap();
        let filter = capture_filter(tag, v6);
        let probe = craft_frame(&spec(v6, 7)).unwrap();
        let other = craft_frame(&spec(v6, 46)).unwrap();
        assert!(matches(&filter, probe.clone()), "bare v6={v6}");
        assert!(!matches(&filter, other.clone()), "other DSCP bare v6={v6}");
        for port in [6081, 4789, 8472] {
            assert!(matches(&filter, encapsulate(&probe, port)), "port {port} v6={v6}");
            assert!(!matches(&filter, encapsulate(&other, port)), "other DSCP in port {port} v6={v6}");
        }
    }
}

#[test]
fn filter_for_every_pool_tag_compiles() {
    require!(Need::Tool("tcpdump"));
    for t in hoptrace::probe::tag::ANTREA_TAG_POOL {
        for v6 in [false, true] {
            let f = capture_filter(Tag::new(u32::from(t)).unwrap(), v6);
            run_tool("tcpdump", &["-d", "-y", "LINUX_SLL2", &f]);
        }
    }
}
