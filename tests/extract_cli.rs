//! `hoptrace extract` end to end: craft a probe with the real CLI, write captures in which it
//! appears bare, translated inside Geneve (pcapng.gz with interface names and direction
//! flags), and under Linux cooked v2, plus its reply, unrelated traffic and a damaged file; the
//! evidence document must list exactly the probe's sightings with what was seen there.

mod support;

use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use support::frames::*;
use support::hoptrace;

fn craft(dir: &Path) -> (Value, Vec<u8>) {
    let probe = dir.join("probe.json");
    hoptrace()
        .args(["-q", "craft", "--src-ip", "10.10.1.5", "--dst-ip", "10.96.0.10", "--src-mac", "02:00:00:00:00:01"])
        .args(["--dst-mac", "02:00:00:00:01:01", "--proto", "tcp", "--dst-port", "80", "--seed", "7", "-o"])
        .arg(&probe)
        .assert()
        .success();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&probe).unwrap()).unwrap();
    let frame = from_hex(doc["frame"]["hex"].as_str().unwrap());
    (doc, frame)
}

/// The reply a server would send: addresses swapped, ToS echoed, its own IP ID and sequence.
fn reply(probe: &[u8]) -> Vec<u8> {
    let mut r = probe.to_vec();
    let (src, dst) = (r[26..30].to_vec(), r[30..34].to_vec());
    r[26..30].copy_from_slice(&dst);
    r[30..34].copy_from_slice(&src);
    r[18] ^= 0x55; // IP ID
    r[38] ^= 0x33; // TCP sequence
    r[47] = 0x12; // SYN+ACK
    r
}

fn sll2(frame: &[u8], ifindex: u32, packet_type: u8) -> Vec<u8> {
    let mut v = vec![0x08, 0x00, 0, 0];
    v.extend(ifindex.to_be_bytes());
    v.extend([0, 1, packet_type, 6]);
    v.extend(&frame[6..12]);
    v.extend([0, 0]);
    v.extend(&frame[14..]);
    v
}

#[test]
fn extract_finds_the_probe_everywhere_it_went() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (doc, probe) = craft(d);
    let noise = udp_frame([10, 10, 1, 9], [10, 10, 2, 9], 1234, 53, b"hello");

    // 1. The source node's Pod-side interface, named by the file.
    let mut f = pcap_header(1);
    pcap_record(&mut f, 1_700_000_000_000_001, &noise);
    pcap_record(&mut f, 1_700_000_000_000_002, &probe);
    pcap_record(&mut f, 1_700_000_000_000_003, &reply(&probe));
    std::fs::write(d.join("node-a_eth0.pcap"), f).unwrap();

    // 2. The tunnel interface: pcapng.gz, ns timestamps, the probe DNAT'ed and one hop older inside Geneve.
    let translated = translate(&probe, [10, 10, 2, 7], 63);
    let mut ng = pcapng_section();
    pcapng_interface(&mut ng, 1, "lo", 6);
    pcapng_interface(&mut ng, 1, "genev_sys_6081", 9);
    pcapng_packet(&mut ng, 0, 5, &noise, None);
    pcapng_packet(
        &mut ng,
        1,
        1_700_000_000_123_456_789,
        &geneve(&translated, 0, [192, 168, 77, 1], [192, 168, 77, 2]),
        Some(2),
    );
    pcapng_packet(
        &mut ng,
        1,
        1_700_000_000_123_456_999,
        &geneve(&reply(&translated), 0, [192, 168, 77, 2], [192, 168, 77, 1]),
        Some(1),
    );
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&ng).unwrap();
    std::fs::write(d.join("tunnel.pcapng.gz"), gz.finish().unwrap()).unwrap();

    // 3. `tcpdump -i any` (SLL2): the probe leaving through ifindex 7.
    let mut s = pcap_header(276);
    pcap_record(&mut s, 1_700_000_000_500_000, &sll2(&probe, 7, 4));
    std::fs::write(d.join("any.pcap"), s).unwrap();

    // 4. A damaged capture: truncated inside its second record.
    let mut t = pcap_header(1);
    pcap_record(&mut t, 1, &noise);
    pcap_record(&mut t, 2, &probe);
    t.truncate(t.len() - 10);
    std::fs::write(d.join("cut.pcap"), t).unwrap();

    let out = d.join("node-a.evidence.json");
    let assert = hoptrace()
        .current_dir(d)
        .args(["extract", "--node", "node-a", "--probe", "probe.json"])
        .args(["node-a_eth0.pcap", "tunnel.pcapng.gz", "any.pcap", "cut.pcap", "-o"])
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let damaged_at = 24 + 16 + noise.len();
    assert!(stderr.contains(&format!("cut.pcap: packet 2 (byte offset {damaged_at})")), "{stderr}");
    assert!(stderr.contains("3 sighting(s) in 4 file(s)"), "{stderr}");

    let ev: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(ev["schema"], "hoptrace.evidence/v1");
    assert_eq!(ev["node"], "node-a");
    assert_eq!(ev["probe"]["fingerprint"], doc["fingerprint"]);
    let caps = ev["captures"].as_array().unwrap();
    assert_eq!(caps.len(), 4);
    assert_eq!(caps[0]["packets"], 3);
    assert_eq!(caps[1]["compression"], "gzip");
    assert_eq!(caps[1]["format"], "pcapng");
    assert_eq!(caps[1]["interfaces"], serde_json::json!(["lo", "genev_sys_6081"]));
    assert_eq!(caps[3]["packets"], 1);
    assert_eq!(caps[3]["error"]["packet"], 2);

    let s = ev["sightings"].as_array().unwrap();
    assert_eq!(s.len(), 3, "{s:#?}");
    let bare = &s[0];
    assert_eq!((bare["file"].as_str(), bare["packet"].as_u64()), (Some("node-a_eth0.pcap"), Some(2)));
    assert_eq!(bare["interface"], "eth0");
    assert_eq!(bare["ip"]["dst"], "10.96.0.10");
    assert_eq!(bare["ip"]["ttl"], 64);
    assert_eq!(bare["timestampNs"], 1_700_000_000_000_002_000i64);
    assert_eq!(bare["outerL2"]["dst"], "02:00:00:00:01:01");

    let tun = &s[1];
    assert_eq!(tun["packet"], 2);
    assert_eq!(tun["interface"], "genev_sys_6081");
    assert_eq!(tun["direction"], "outbound");
    assert_eq!(tun["timestampNs"], 1_700_000_000_123_456_789i64);
    assert_eq!(tun["tunnels"][0]["kind"], "geneve");
    assert_eq!(tun["tunnels"][0]["dst"], "192.168.77.2");
    assert_eq!(tun["tunnels"][0]["vni"], 0);
    assert_eq!(tun["ip"]["dst"], "10.10.2.7", "the translated address is recorded");
    assert_eq!(tun["ip"]["ttl"], 63, "the decremented TTL is recorded");
    assert_eq!(tun["innerL2"]["src"], "02:00:00:00:00:01");
    assert_eq!(tun["transport"]["protocol"], "tcp");
    assert_eq!(tun["transport"]["seq"], doc["fingerprint"]["tcpSeq"]);

    // The directory holds the same captures (and probe.json, evidence, which are not captures).
    let by_dir = hoptrace()
        .args(["-q", "extract", "--node", "node-a", "--probe"])
        .arg(d.join("probe.json"))
        .arg(d)
        .args(["-o", "-"])
        .assert()
        .success();
    let ev2: Value = serde_json::from_slice(&by_dir.get_output().stdout).unwrap();
    let files: Vec<&str> = ev2["captures"].as_array().unwrap().iter().map(|c| c["file"].as_str().unwrap()).collect();
    let names: Vec<&str> = files.iter().map(|f| f.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["any.pcap", "cut.pcap", "node-a_eth0.pcap", "tunnel.pcapng.gz"]);
    assert_eq!(ev2["sightings"].as_array().unwrap().len(), 3);

    // The document loads back through the typed reader `analyze` uses; another schema is refused.
    let loaded = hoptrace::decode::evidence::Evidence::load(&out).unwrap();
    assert_eq!((loaded.sightings.len(), loaded.captures.len()), (3, 4));
    assert_eq!(loaded.sightings[1].tunnels[0].vni, Some(0));
    let other = d.join("other.json");
    std::fs::write(
        &other,
        std::fs::read_to_string(&out).unwrap().replace("hoptrace.evidence/v1", "hoptrace.evidence/v9"),
    )
    .unwrap();
    let e = hoptrace::decode::evidence::Evidence::load(&other).unwrap_err().to_string();
    assert!(e.contains("hoptrace.evidence/v9"), "{e}");

    let cooked = &s[2];
    assert_eq!(cooked["ifindex"], 7);
    assert_eq!(cooked["direction"], "outbound");
    assert_eq!(cooked["cookedSrcMac"], "02:00:00:00:00:01");
}

#[test]
fn extract_rejects_bad_inputs_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    craft(d);
    std::fs::write(d.join("notes.txt"), "not a capture").unwrap();
    let stderr = |a: assert_cmd::assert::Assert| String::from_utf8_lossy(&a.get_output().stderr).to_string();
    let a = hoptrace()
        .current_dir(d)
        .args(["-q", "extract", "--node", "n", "--probe", "probe.json", "notes.txt", "-o", "-"])
        .assert()
        .code(2);
    let e = stderr(a);
    assert!(e.contains("notes.txt: packet 1 (byte offset 0): not a pcap or pcapng file"), "{e}");
    let a = hoptrace()
        .current_dir(d)
        .args(["extract", "--node", "n", "--probe", "missing.json", "notes.txt"])
        .assert()
        .code(2);
    let e = stderr(a);
    assert!(e.contains("missing.json"), "{e}");
}
