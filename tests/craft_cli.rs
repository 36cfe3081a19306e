//! `hoptrace craft` end to end: every variant parses back with etherparse and is decoded the same
//! way by the real tcpdump (and tshark for SCTP's CRC32c), checksums correct.

mod support;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use hoptrace::probe::{Probe, Transport};
use support::{hoptrace, require, run_tool, Need};

struct Case {
    v6: bool,
    proto: &'static str,
}

fn craft(dir: &std::path::Path, case: &Case) -> (Probe, std::path::PathBuf) {
    let json = dir.join(format!("{}-{}.json", case.proto, if case.v6 { 6 } else { 4 }));
    let pcap = json.with_extension("pcap");
    let (src, dst) = if case.v6 { ("fd00:10:10::5", "fd00:10:10:1::7") } else { ("10.10.0.5", "10.10.1.7") };
    let mut cmd = hoptrace();
    cmd.args(["craft", "--src-ip", src, "--dst-ip", dst, "--proto", case.proto, "--seed", "7", "--tag", "11"])
        .args(["--src-mac", "02:00:0a:0a:00:05", "--dst-mac", "aa:bb:cc:dd:ee:ff", "--ttl", "61"])
        .arg("-o")
        .arg(&json)
        .arg("--pcap")
        .arg(&pcap);
    match case.proto {
        "icmp" => {
            cmd.args(["--icmp-id", "4660", "--icmp-seq", "7"]);
        }
        "tcp" => {
            cmd.args(["--src-port", "40000", "--dst-port", "8080", "--tcp-flags", "syn"]);
        }
        _ => {
            cmd.args(["--src-port", "40000", "--dst-port", "53"]);
        }
    }
    if !case.v6 {
        cmd.args(["--ip-flags", "2"]);
    }
    cmd.assert().success();
    (Probe::load(&json).unwrap(), pcap)
}

#[test]
fn every_variant_parses_back_and_tcpdump_agrees() {
    require!(Need::Tool("tcpdump"), Need::Tool("tshark"));
    let dir = tempfile::tempdir().unwrap();
    for v6 in [false, true] {
        for proto in ["icmp", "tcp", "udp", "sctp"] {
            let case = Case { v6, proto };
            let (probe, pcap) = craft(dir.path(), &case);
            let frame = probe.frame_bytes().unwrap();
            let p = SlicedPacket::from_ethernet(&frame).unwrap_or_else(|e| panic!("{proto} v6={v6}: {e}"));
            // IP fields as asked.
            match p.net.as_ref().unwrap() {
                NetSlice::Ipv4(ip) => {
                    assert!(!v6);
                    let h = ip.header();
                    assert_eq!(h.dcp().value(), 11);
                    assert_eq!(h.ecn().value(), 0);
                    assert_eq!(h.ttl(), 61);
                    assert!(h.dont_fragment() && !h.more_fragments());
                    assert_eq!(h.identification(), probe.ip.identification.unwrap());
                    assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
                    assert_eq!(h.source_addr().to_string(), "10.10.0.5");
                }
                NetSlice::Ipv6(ip) => {
                    assert!(v6);
                    let h = ip.header();
                    assert_eq!(h.traffic_class(), 11 << 2);
                    assert_eq!(h.hop_limit(), 61);
                    assert_eq!(h.flow_label().value(), probe.ip.flow_label.unwrap());
                    assert_ne!(h.flow_label().value(), 0);
                }
                other => panic!("unexpected {other:?}"),
            }
            // Transport as asked; tcpdump's reading of the pcap.
            let tcpdump = run_tool("tcpdump", &["-r", pcap.to_str().unwrap(), "-vv", "-n"]);
            let (tos, ttl) = if v6 { ("class 0x2c", "hlim 61") } else { ("tos 0x2c", "ttl 61") };
            assert!(tcpdump.contains(tos) && tcpdump.contains(ttl), "{tcpdump}");
            if !v6 {
                assert!(tcpdump.contains(&format!("id {},", probe.ip.identification.unwrap())), "{tcpdump}");
                assert!(tcpdump.contains("flags [DF]"), "{tcpdump}");
            } else {
                assert!(tcpdump.contains(&format!("flowlabel {:#x}", probe.ip.flow_label.unwrap())), "{tcpdump}");
            }
            match (&probe.transport, &p.transport) {
                (Transport::Icmp { id, sequence }, Some(TransportSlice::Icmpv4(_) | TransportSlice::Icmpv6(_))) => {
                    assert_eq!((*id, *sequence), (4660, 7));
                    assert!(tcpdump.contains("echo request, id 4660, seq 7"), "{tcpdump}");
                    let ok = if v6 { "[icmp6 sum ok]" } else { "" };
                    assert!(tcpdump.contains(ok) && !tcpdump.contains("wrong icmp cksum"), "{tcpdump}");
                }
                (Transport::Tcp { seq, flags, .. }, Some(TransportSlice::Tcp(t))) => {
                    assert_eq!((t.source_port(), t.destination_port(), t.sequence_number()), (40000, 8080, *seq));
                    assert!(t.syn() && !t.ack() && *flags == 2);
                    assert!(tcpdump.contains(".40000 > ") && tcpdump.contains(".8080: Flags [S]"), "{tcpdump}");
                    assert!(tcpdump.contains("(correct)"), "{tcpdump}");
                }
                (Transport::Udp { .. }, Some(TransportSlice::Udp(u))) => {
                    assert_eq!((u.source_port(), u.destination_port(), u.length()), (40000, 53, 8));
                    assert!(tcpdump.contains(".40000 > ") && tcpdump.contains(".53:"), "{tcpdump}");
                    assert!(!tcpdump.contains("bad udp cksum"), "{tcpdump}");
                    if !v6 {
                        assert!(tcpdump.contains("[udp sum ok]"), "{tcpdump}");
                    }
                }
                (Transport::Sctp { initiate_tag, .. }, None) => {
                    assert!(tcpdump.contains(".40000 > ") && tcpdump.contains(".53: sctp"), "{tcpdump}");
                    assert!(tcpdump.contains(&format!("[init tag: {initiate_tag}]")), "{tcpdump}");
                    let tshark =
                        run_tool("tshark", &["-r", pcap.to_str().unwrap(), "-o", "sctp.checksum:CRC-32C", "-V"]);
                    assert!(tshark.contains("[Checksum Status: Good]"), "{tshark}");
                }
                (t, s) => panic!("{proto} v6={v6}: {t:?} vs {s:?}"),
            }
            if !v6 && proto != "sctp" {
                // tshark agrees that every checksum is good.
                let tshark = run_tool(
                    "tshark",
                    &[
                        "-r",
                        pcap.to_str().unwrap(),
                        "-o",
                        "ip.check_checksum:TRUE",
                        "-o",
                        "tcp.check_checksum:TRUE",
                        "-o",
                        "udp.check_checksum:TRUE",
                        "-V",
                    ],
                );
                assert!(!tshark.contains("Bad"), "{tshark}");
                assert!(tshark.contains("[Header checksum status: Good]"), "{tshark}");
            }
        }
    }
}

#[test]
fn antrea_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    hoptrace().args(["craft", "--src-ip", "10.0.0.1", "--dst-ip", "10.0.0.2", "-q", "-o"]).arg(&out).assert().success();
    let p = Probe::load(&out).unwrap();
    assert_eq!(p.transport, Transport::Icmp { id: 0, sequence: 0 });
    assert_eq!((p.ip.ttl, p.ip.flags, p.ip.length, p.dataplane_tag), (64, Some(0), 28, 7));
    // TCP: SYN, random source port and sequence; reproducible with --seed.
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    for f in [&a, &b] {
        hoptrace()
            .args([
                "craft",
                "--src-ip",
                "10.0.0.1",
                "--dst-ip",
                "10.0.0.2",
                "-f",
                "tcp,tcp_dst=80",
                "--seed",
                "99",
                "-q",
                "-o",
            ])
            .arg(f)
            .assert()
            .success();
    }
    let (pa, pb) = (Probe::load(&a).unwrap(), Probe::load(&b).unwrap());
    assert_eq!(pa.frame, pb.frame);
    match pa.transport {
        Transport::Tcp { flags, src_port, dst_port, .. } => {
            assert_eq!((flags, dst_port), (2, 80));
            assert!(src_port >= 10000);
        }
        t => panic!("{t:?}"),
    }
    assert_eq!(pa.ip.length, 40);
    // Without a seed, two probes differ in their random fields.
    let c = dir.path().join("c.json");
    hoptrace()
        .args(["craft", "--src-ip", "10.0.0.1", "--dst-ip", "10.0.0.2", "-f", "tcp,tcp_dst=80", "-q", "-o"])
        .arg(&c)
        .assert()
        .success();
    assert_ne!(Probe::load(&c).unwrap().fingerprint, pa.fingerprint);
    // IPv6: a non-zero flow label in the fingerprint.
    let d = dir.path().join("d.json");
    hoptrace().args(["craft", "--src-ip", "fd00::1", "--dst-ip", "fd00::2", "-q", "-o"]).arg(&d).assert().success();
    let pd = Probe::load(&d).unwrap();
    assert!(pd.fingerprint.flow_label.is_some_and(|l| l != 0 && l <= 0xfffff));
    assert_eq!(pd.fingerprint.icmp_type, Some(128));
}

#[test]
fn stdout_and_printed_commands() {
    let out = hoptrace()
        .args(["craft", "--src-ip", "10.0.0.1", "--dst-ip", "10.0.0.2", "--seed", "1", "-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Probe = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc.schema, "hoptrace.probe/v1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("probe tag 7 (tos 0x1c): ICMP 10.0.0.1 > 10.0.0.2 echo request id 0 seq 0"), "{err}");
    assert!(err.contains("tcpdump -i any -s 0 -w NODE.pcapng '(ip and ip[1] & 0xfc == 28)"), "{err}");
    assert!(err.contains("hoptrace inject probe.json --iface eth0"), "{err}");
    // -q keeps stderr to warnings only.
    let q = hoptrace()
        .args(["craft", "--src-ip", "10.0.0.1", "--dst-ip", "10.0.0.2", "--src-mac", "02:00:00:00:00:09"])
        .args(["--dst-mac", "02:00:00:00:00:0a", "-q", "-o", "-"])
        .output()
        .unwrap();
    assert!(q.stderr.is_empty(), "{}", String::from_utf8_lossy(&q.stderr));
}

#[test]
fn help_has_examples() {
    let out = hoptrace().args(["craft", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Examples:") && help.contains("--flow"), "{help}");
}
