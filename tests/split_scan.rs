//! One file on every core (src/capture/split.rs, src/decode/scan.rs): a capture read in chunks
//! in parallel gives the same capture report (counts, link types, interfaces, near misses,
//! damage with packet numbers and offsets) and the same sightings in the same order as reading
//! it from start to end, whatever the file holds: several interfaces, interface and section
//! blocks in the middle, damaged blocks and records, a cut end, many damaged places.

mod support;

use hoptrace::decode::scan::{scan_files_with, FileScan, ScanMode, ScanTarget, SplitOptions};
use hoptrace::probe::Fingerprint;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use support::frames::*;

fn fingerprint() -> Fingerprint {
    Fingerprint {
        dscp: 7,
        ip_version: 4,
        protocol: 17,
        ipv4_id: Some(0x4242),
        flow_label: None,
        icmp_type: None,
        icmp_id: None,
        icmp_seq: None,
        tcp_seq: None,
        udp_length: Some(8),
        sctp_initiate_tag: None,
    }
}

/// What one packet of a generated capture is.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// The probe (DSCP 7, IP ID 0x4242, empty UDP payload), bare or inside Geneve.
    Probe { geneve: bool },
    /// DSCP 7 but another IP ID: a near miss.
    NearMiss,
    /// Untagged traffic with `len` bytes of payload.
    Other { len: u16 },
}

fn frame(kind: Kind, n: u32) -> Vec<u8> {
    let tagged = |id: u16| {
        let mut f = udp_frame([10, 10, 1, 5], [10, 10, 2, 7], 1000 + (n % 7) as u16, 8080, &[]);
        f[15] = 7 << 2;
        f[18..20].copy_from_slice(&id.to_be_bytes());
        f
    };
    match kind {
        Kind::Probe { geneve: false } => tagged(0x4242),
        Kind::Probe { geneve: true } => geneve(&tagged(0x4242), 5, [192, 168, 77, 1], [192, 168, 77, 2]),
        Kind::NearMiss => tagged(0x1234),
        Kind::Other { len } => geneve(
            &udp_frame([10, 10, 1, n as u8], [10, 10, 2, 9], 5, 8080, &vec![0x5a; len as usize]),
            0,
            [192, 168, 77, 1],
            [192, 168, 77, 2],
        ),
    }
}

/// One step of a generated capture.
#[derive(Clone, Debug)]
enum Step {
    /// A packet on interface `iface` (pcapng; taken modulo the interfaces described, or one
    /// past them for a block on an unknown interface when `unknown`).
    Packet { kind: Kind, iface: u8, unknown: bool, dt_us: u32 },
    /// pcapng: another interface description block here.
    Interface { tsresol: u8 },
    /// pcapng: a new section (its interfaces follow).
    Section,
    /// pcapng: a block whose trailing length is wrong (costs the rest of the section).
    BrokenFraming,
}

fn step() -> impl Strategy<Value = Step> {
    let kind = prop_oneof![
        3 => any::<bool>().prop_map(|geneve| Kind::Probe { geneve }),
        2 => Just(Kind::NearMiss),
        12 => (0u16..600).prop_map(|len| Kind::Other { len }),
    ];
    prop_oneof![
        30 => (kind, 0u8..4, prop::bool::weighted(0.05), 0u32..2_000_000)
            .prop_map(|(kind, iface, unknown, dt_us)| Step::Packet { kind, iface, unknown, dt_us }),
        1 => prop_oneof![Just(6u8), Just(9u8)].prop_map(|tsresol| Step::Interface { tsresol }),
        1 => Just(Step::Section),
        1 => Just(Step::BrokenFraming),
    ]
}

/// A generated capture: pcap or pcapng, the steps, then damage.
#[derive(Clone, Debug)]
struct Capture {
    pcapng: bool,
    interfaces: u8,
    steps: Vec<Step>,
    /// Bytes overwritten with 0xff at (fraction of the file, count).
    smash: Option<(f64, u8)>,
    /// Cut the file at this fraction of its length.
    cut: Option<f64>,
}

fn capture() -> impl Strategy<Value = Capture> {
    (
        any::<bool>(),
        1u8..4,
        prop::collection::vec(step(), 1..160),
        prop::option::weighted(0.3, (0.0f64..1.0, 1u8..16)),
        prop::option::weighted(0.2, 0.0f64..1.0),
    )
        .prop_map(|(pcapng, interfaces, steps, smash, cut)| Capture { pcapng, interfaces, steps, smash, cut })
}

fn build(c: &Capture) -> Vec<u8> {
    let mut out;
    let mut ifaces = c.interfaces as u32;
    let mut ts_us: u64 = 1_700_000_000_000_000;
    let mut resol: Vec<u8> = Vec::new();
    if c.pcapng {
        out = pcapng_section();
        for i in 0..ifaces {
            let r = if i % 2 == 0 { 6 } else { 9 };
            pcapng_interface(&mut out, 1, &format!("if{i}"), r);
            resol.push(r);
        }
    } else {
        out = pcap_header(1);
    }
    for (n, s) in c.steps.iter().enumerate() {
        match *s {
            Step::Packet { kind, iface, unknown, dt_us } => {
                ts_us += dt_us as u64;
                let f = frame(kind, n as u32);
                if c.pcapng {
                    let id = if unknown || ifaces == 0 { ifaces } else { iface as u32 % ifaces };
                    let ticks = match resol.get(id as usize) {
                        Some(9) => ts_us * 1000,
                        _ => ts_us,
                    };
                    pcapng_packet(&mut out, id, ticks, &f, Some(1 + n as u32 % 2));
                } else {
                    pcap_record(&mut out, ts_us, &f);
                }
            }
            Step::Interface { tsresol } if c.pcapng => {
                pcapng_interface(&mut out, 1, &format!("if{ifaces}"), tsresol);
                resol.push(tsresol);
                ifaces += 1;
            }
            Step::Section if c.pcapng => {
                out.extend(pcapng_section());
                ifaces = 0;
                resol.clear();
            }
            Step::BrokenFraming if c.pcapng => {
                pcapng_packet(&mut out, 0, ts_us, &frame(Kind::Other { len: 40 }, 0), None);
                let n = out.len();
                out[n - 1] ^= 0x40;
            }
            _ => {}
        }
    }
    let header = if c.pcapng { 28 } else { 24 };
    if let Some((at, count)) = c.smash {
        let from = header + ((out.len() - header) as f64 * at) as usize;
        for b in out.iter_mut().skip(from).take(count as usize) {
            *b = 0xff;
        }
    }
    if let Some(at) = c.cut {
        let keep = header + ((out.len() - header) as f64 * at) as usize;
        out.truncate(keep);
    }
    out
}

fn scan(path: &Path, threads: usize, options: SplitOptions) -> FileScan {
    let fp = fingerprint();
    let target = ScanTarget::probe("n", &fp, None, &[]);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let files = [path.to_path_buf()];
    pool.install(|| scan_files_with(&target, &files, None, options)).remove(0)
}

fn sequential(path: &Path) -> FileScan {
    scan(path, 1, SplitOptions { chunk_bytes: None, enabled: false })
}

fn split(path: &Path, chunk: u64) -> FileScan {
    scan(path, 2, SplitOptions { chunk_bytes: Some(chunk), enabled: true })
}

fn same(a: &FileScan, b: &FileScan) -> Result<(), String> {
    let ra = serde_json::to_string_pretty(&a.report).unwrap();
    let rb = serde_json::to_string_pretty(&b.report).unwrap();
    if ra != rb {
        return Err(format!("reports differ:\nsequential {ra}\nsplit {rb}\n({:?})", b.mode));
    }
    let sa = serde_json::to_string(&a.sightings).unwrap();
    let sb = serde_json::to_string(&b.sightings).unwrap();
    if sa != sb {
        return Err(format!("sightings differ:\nsequential {sa}\nsplit {sb}\n({:?})", b.mode));
    }
    Ok(())
}

fn temp_file(bytes: &[u8], ext: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("node_eth0.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn split_and_sequential_scans_agree(c in capture(), chunk in 48u64..3000) {
        let bytes = build(&c);
        let (_dir, path) = temp_file(&bytes, if c.pcapng { "pcapng" } else { "pcap" });
        let seq = sequential(&path);
        let par = split(&path, chunk);
        if let Err(e) = same(&seq, &par) {
            return Err(TestCaseError::fail(e));
        }
    }
}

/// A clean classic pcap with probes spread through it.
fn clean_pcap(packets: u32) -> Vec<u8> {
    let mut out = pcap_header(1);
    for n in 0..packets {
        let kind =
            if n % 97 == 5 { Kind::Probe { geneve: n % 2 == 0 } } else { Kind::Other { len: (n * 37 % 900) as u16 } };
        pcap_record(&mut out, 1_700_000_000_000_000 + n as u64 * 11, &frame(kind, n));
    }
    out
}

#[test]
fn a_clean_pcap_is_split_without_rereading() {
    let (_dir, path) = temp_file(&clean_pcap(3000), "pcap");
    let seq = sequential(&path);
    assert_eq!(seq.sightings.len(), 31, "the probes are found");
    let par = split(&path, 64 * 1024);
    same(&seq, &par).unwrap();
    match &par.mode {
        ScanMode::Split { chunks, replanned_at, sequential_from: None } => {
            assert!(*chunks >= 20, "{:?}", par.mode);
            assert!(replanned_at.is_empty(), "{:?}", par.mode);
        }
        m => panic!("not split: {m:?}"),
    }
    // Packet numbers go on across chunks, as tcpdump -# counts.
    let numbers: Vec<u64> = par.sightings.iter().map(|s| s.packet).collect();
    let expected: Vec<u64> = (0..3000u64).filter(|n| n % 97 == 5).map(|n| n + 1).collect();
    assert_eq!(numbers, expected);
}

#[test]
fn interface_and_section_blocks_mid_file_are_read_again_from_there() {
    let mut out = pcapng_section();
    pcapng_interface(&mut out, 1, "eth0", 6);
    let mut n = 0u32;
    let mut packets = |out: &mut Vec<u8>, count: u32, ifaces: u32| {
        for _ in 0..count {
            n += 1;
            let kind = if n % 50 == 0 { Kind::Probe { geneve: true } } else { Kind::Other { len: 300 } };
            pcapng_packet(out, n % ifaces, 1_700_000_000_000_000 + n as u64, &frame(kind, n), Some(1));
        }
    };
    packets(&mut out, 400, 1);
    pcapng_interface(&mut out, 1, "genev_sys_6081", 6); // a second interface, mid-file
    packets(&mut out, 400, 2);
    out.extend(pcapng_section()); // cat a.pcapng b.pcapng
    pcapng_interface(&mut out, 1, "antrea-gw0", 6);
    packets(&mut out, 400, 1);
    let (_dir, path) = temp_file(&out, "pcapng");
    let seq = sequential(&path);
    assert_eq!(seq.sightings.len(), 24);
    assert_eq!(seq.report.interfaces, vec!["eth0", "genev_sys_6081", "antrea-gw0"]);
    let par = split(&path, 32 * 1024);
    same(&seq, &par).unwrap();
    match &par.mode {
        ScanMode::Split { replanned_at, .. } => assert_eq!(replanned_at.len(), 2, "{:?}", par.mode),
        m => panic!("not split: {m:?}"),
    }
}

#[test]
fn many_damaged_places_are_capped_as_in_one_pass() {
    // 300 blocks on an unknown interface: each costs its block; 100 are listed, 200 counted.
    let mut out = pcapng_section();
    pcapng_interface(&mut out, 1, "eth0", 6);
    for n in 0..1200u32 {
        let iface = if n % 4 == 3 { 9 } else { 0 };
        let kind = if n % 40 == 1 { Kind::Probe { geneve: false } } else { Kind::Other { len: 200 } };
        pcapng_packet(&mut out, iface, 1_700_000_000_000_000 + n as u64, &frame(kind, n), None);
    }
    let (_dir, path) = temp_file(&out, "pcapng");
    let seq = sequential(&path);
    assert_eq!((seq.report.more_damage.len(), seq.report.omitted_damage), (99, 200));
    let par = split(&path, 16 * 1024);
    assert!(matches!(par.mode, ScanMode::Split { .. }), "{:?}", par.mode);
    same(&seq, &par).unwrap();
}

#[test]
fn what_is_not_split_says_why() {
    let (_dir, path) = temp_file(&clean_pcap(200), "pcap");
    let small = split(&path, 1 << 30);
    assert!(
        matches!(&small.mode, ScanMode::Sequential(why) if why.contains("smaller than two chunks")),
        "{:?}",
        small.mode
    );
    let one = scan(&path, 1, SplitOptions { chunk_bytes: Some(1024), enabled: true });
    assert!(matches!(&one.mode, ScanMode::Sequential(why) if why == "one worker thread"), "{:?}", one.mode);
    // gzip: read from its start only.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &clean_pcap(2000)).unwrap();
    let (_d2, gz_path) = temp_file(&gz.finish().unwrap(), "pcap.gz");
    let g = split(&gz_path, 1024);
    assert!(matches!(&g.mode, ScanMode::Sequential(why) if why.contains("compressed")), "{:?}", g.mode);
    same(&sequential(&gz_path), &g).unwrap();
    // A damaged file header: not split, and the damage is reported as in one pass.
    let mut bad = clean_pcap(2000);
    bad[4] = 9;
    let (_d3, bad_path) = temp_file(&bad, "pcap");
    let b = split(&bad_path, 1024);
    assert!(matches!(&b.mode, ScanMode::Sequential(why) if why.contains("header")), "{:?}", b.mode);
    same(&sequential(&bad_path), &b).unwrap();
}

#[test]
fn extract_splits_a_large_file_and_says_so_with_v() {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    support::craft(&probe, &[]);
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&probe).unwrap()).unwrap();
    let probe_frame = from_hex(doc["frame"]["hex"].as_str().unwrap());
    // 40 MB: above two of the smallest chunks chosen automatically (16 MiB).
    let mut out = pcap_header(1);
    let filler = frame(Kind::Other { len: 1200 }, 1);
    let mut n = 0u64;
    while out.len() < 40_000_000 {
        n += 1;
        let f =
            if n % 5000 == 0 { geneve(&probe_frame, 0, [192, 168, 77, 1], [192, 168, 77, 2]) } else { filler.clone() };
        pcap_record(&mut out, 1_700_000_000_000_000 + n * 3, &f);
    }
    let cap = dir.path().join("big.pcap");
    std::fs::write(&cap, &out).unwrap();
    let mut evidence = Vec::new();
    for j in ["1", "2"] {
        let o = dir.path().join(format!("j{j}.json"));
        let args = [
            "-v",
            "extract",
            "--node",
            "n",
            "--probe",
            probe.to_str().unwrap(),
            "-j",
            j,
            "-o",
            o.to_str().unwrap(),
            cap.to_str().unwrap(),
        ];
        let r = support::run(&args);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(r.status.success(), "{stderr}");
        let said = if j == "1" { "read by one thread (one worker thread)" } else { "chunks in parallel" };
        assert!(stderr.contains(said), "{stderr}");
        evidence.push(std::fs::read_to_string(&o).unwrap());
    }
    assert_eq!(evidence[0], evidence[1]);
    let doc: serde_json::Value = serde_json::from_str(&evidence[1]).unwrap();
    assert_eq!(doc["sightings"].as_array().unwrap().len() as u64, n / 5000);
}
