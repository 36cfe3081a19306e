//! Hostile and damaged inputs for the capture, decode, file-walk and output classes of
//! issue 20, each generated here (small), run through every command it reaches (`extract`,
//! `analyze`) in a child process under a 512 MiB address-space limit, a CPU-time limit and a
//! wall-clock limit. Each run must end by itself with exit 0 or 2 (never a panic, an abort or a
//! limit; exit codes 0-3 only), name the file and the position of the damage, keep every good packet before it
//! (counted against tshark where tshark reads the file) and never write an error line longer
//! than a short excerpt allows.

mod support;

use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::frames::*;
use support::*;

/// Address-space limit of every child.
const MEMORY_LIMIT: u64 = 512 << 20;
/// CPU seconds of every child.
const CPU_LIMIT: u64 = 60;
/// Wall-clock limit of every child.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// The longest stderr line accepted (a message quotes a short excerpt, never the input).
const MAX_LINE: usize = 1000;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("hoptrace")
}

/// The limits, set in the child before it runs hoptrace; `as_nobody` also drops root (to see
/// unreadable files as a user would).
fn limited(args: &[&str], dir: &Path, as_nobody: bool) -> Command {
    limited_to(args, dir, as_nobody, MEMORY_LIMIT)
}

/// [`limited`] with another address-space limit; the data segment (what is really written to)
/// stays limited to [`MEMORY_LIMIT`].
fn limited_to(args: &[&str], dir: &Path, as_nobody: bool, address_space: u64) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls (setrlimit, setgid, setuid) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limits =
                [(libc::RLIMIT_AS, address_space), (libc::RLIMIT_DATA, MEMORY_LIMIT), (libc::RLIMIT_CPU, CPU_LIMIT)];
            for (resource, value) in limits {
                let lim = libc::rlimit { rlim_cur: value, rlim_max: value };
                if libc::setrlimit(resource, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if as_nobody && (libc::setgid(65534) != 0 || libc::setuid(65534) != 0) {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Runs a command to its end within [`TIME_LIMIT`]; checks that it ended by itself, cleanly.
fn finish(mut cmd: Command, what: &str) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn hoptrace");
    let started = Instant::now();
    // Drain stdout/stderr on threads so a large output cannot block the child.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out_pipe, &mut v).ok();
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err_pipe, &mut v).ok();
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            panic!("{what}: still running after {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = Output { status, stdout: out_t.join().unwrap(), stderr: err_t.join().unwrap() };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        status.signal().is_none(),
        "{what}: killed by signal {:?} (a limit or an abort)\n{stderr}",
        status.signal()
    );
    // 0-3 are hoptrace's exit codes (docs/analyze.md); a panic exits 101.
    assert!(matches!(status.code(), Some(0..=3)), "{what}: exit {:?}\n{stderr}", status.code());
    assert!(!stderr.contains("panicked") && !stderr.contains("memory allocation"), "{what}:\n{stderr}");
    for line in stderr.lines() {
        assert!(line.len() <= MAX_LINE, "{what}: a {}-byte error line", line.len());
    }
    out
}

fn run(args: &[&str], dir: &Path, what: &str) -> Output {
    finish(limited(args, dir, false), what)
}

/// The probe, crafted by the real CLI in `dir`; returns its frame.
fn craft(dir: &Path) -> Vec<u8> {
    let out = run(
        &[
            "-q",
            "craft",
            "--src-ip",
            "10.10.1.5",
            "--dst-ip",
            "10.96.0.10",
            "--src-mac",
            "02:00:00:00:00:01",
            "--dst-mac",
            "02:00:00:00:01:01",
            "--proto",
            "tcp",
            "--dst-port",
            "80",
            "--seed",
            "7",
            "-o",
            "probe.json",
        ],
        dir,
        "craft",
    );
    assert!(out.status.success());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("probe.json")).unwrap()).unwrap();
    from_hex(doc["frame"]["hex"].as_str().unwrap())
}

/// A classic pcap of `n` packets where packet `probe_at` (1-based) is the probe.
fn pcap_with_probe(probe: &[u8], n: usize, probe_at: usize) -> Vec<u8> {
    let noise = udp_frame([10, 10, 1, 9], [10, 10, 2, 9], 1234, 53, b"hello");
    let mut f = pcap_header(1);
    for i in 1..=n {
        pcap_record(&mut f, 1_700_000_000_000_000 + i as u64, if i == probe_at { probe } else { &noise });
    }
    f
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// Runs extract on one file; returns (evidence document, stderr).
fn extract(dir: &Path, file: &str) -> (Value, String) {
    let out = run(
        &["extract", "--node", "n1", "--probe", "probe.json", file, "-o", "n1.evidence.json"],
        dir,
        &format!("extract {file}"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = std::fs::read_to_string(dir.join("n1.evidence.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (doc, stderr)
}

/// How many packets tshark reads from a file (it reports damage on stderr and exits 2 then).
fn tshark_count(path: &Path) -> usize {
    let out = Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark is needed by this test (.ci/run installs it)");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// The analyze run over a node directory holding `files`; returns (result, stderr).
fn analyze_dir(dir: &Path, node_dir: &str) -> (Value, String) {
    let out = run(
        &["analyze", "--probe", "probe.json", &format!("k8s-node-1={node_dir}"), "--format", "json", "-o", "-"],
        dir,
        "analyze",
    );
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (v, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn damaged_gzip_keeps_every_packet_before_the_damage() {
    require!(Need::Tool("tshark"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let probe = craft(d);
    let plain = pcap_with_probe(&probe, 40, 12);
    let full = gz(&plain);
    let mut crc = full.clone();
    let n = crc.len();
    crc[n - 8] ^= 0x5a;
    // pigz-style: one member per chunk, the first with a bad CRC.
    let split = plain.len() / 2;
    let mut first = gz(&plain[..split]);
    let m = first.len();
    first[m - 6] ^= 0x01;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("trailer-cut.pcap.gz", full[..full.len() - 5].to_vec(), "is cut short"),
        ("mid-cut.pcap.gz", full[..full.len() * 2 / 3].to_vec(), "is cut short"),
        (
            "junk.pcap.gz",
            [full.clone(), b"\x00garbage after the member".repeat(100)].concat(),
            "after the last gzip member",
        ),
        ("crc.pcap.gz", crc, "CRC-32 does not match"),
        ("members-bad-crc.pcap.gz", [first, gz(&plain[split..])].concat(), "CRC-32 does not match"),
        ("members.pcap.gz", [gz(&plain[..split]), gz(&plain[split..])].concat(), ""),
    ];
    for (name, bytes, words) in cases {
        std::fs::write(d.join(name), &bytes).unwrap();
        let (doc, stderr) = extract(d, name);
        let report = &doc["captures"][0];
        let ours = report["packets"].as_u64().unwrap() as usize;
        let theirs = tshark_count(&d.join(name));
        assert!(ours >= theirs, "{name}: we read {ours} packets, tshark {theirs}\n{stderr}");
        if name != "mid-cut.pcap.gz" {
            assert_eq!(ours, 40, "{name}: {stderr}");
        }
        if ours >= 12 {
            assert_eq!(doc["sightings"].as_array().unwrap().len(), 1, "{name}: the probe is packet 12");
        }
        if words.is_empty() {
            assert!(report.get("error").is_none(), "{name}: {report}");
            continue;
        }
        let msg = report["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(words) && msg.starts_with(name) && msg.contains("packet ") && msg.contains("byte offset"),
            "{name}: {msg}"
        );
        assert!(stderr.contains(msg), "{name}: the warning is printed");
        // analyze reads the same file the same way: no false disagreement, the damage named.
        std::fs::create_dir_all(d.join("node")).unwrap();
        std::fs::copy(d.join(name), d.join("node").join(name)).unwrap();
        let (result, astderr) = analyze_dir(d, "node");
        let text = result.to_string();
        assert!(text.contains(words), "{name}: analyze does not name the damage: {text}\n{astderr}");
        std::fs::remove_dir_all(d.join("node")).unwrap();
    }
}

/// A pcapng section header (LE, version 1.0) and one Ethernet interface with `tsresol`.
fn ng_section(out: &mut Vec<u8>, tsresol: u8) {
    let shb = [0x1a2b3c4du32.to_le_bytes().to_vec(), vec![1, 0, 0, 0], (-1i64).to_le_bytes().to_vec()].concat();
    ng_block(out, 0x0a0d0d0a, &shb);
    let idb = [vec![1, 0, 0, 0], 262144u32.to_le_bytes().to_vec(), vec![9, 0, 1, 0, tsresol, 0, 0, 0]].concat();
    ng_block(out, 1, &idb);
}

fn ng_block(out: &mut Vec<u8>, t: u32, body: &[u8]) {
    let len = 12 + body.len() as u32;
    out.extend(t.to_le_bytes());
    out.extend(len.to_le_bytes());
    out.extend(body);
    out.extend(len.to_le_bytes());
}

fn ng_packet(out: &mut Vec<u8>, ticks: u64, frame: &[u8]) {
    let mut body = [0u32, (ticks >> 32) as u32, ticks as u32, frame.len() as u32, frame.len() as u32]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect::<Vec<u8>>();
    body.extend(frame);
    body.resize(body.len().div_ceil(4) * 4, 0);
    ng_block(out, 6, &body);
}

#[test]
fn capture_formats_tcpdump_and_tshark_read_are_read_the_same() {
    require!(Need::Tool("tshark"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let probe = craft(d);
    let noise = udp_frame([10, 10, 1, 9], [10, 10, 2, 9], 1234, 53, b"hello");

    // Format 2.2: the length fields the other way round (libpcap swaps them back).
    let mut old = pcap_with_probe(&probe, 6, 3);
    old[6] = 2;
    let mut at = 24;
    while at < old.len() {
        let (a, b) = (old[at + 8..at + 12].to_vec(), old[at + 12..at + 16].to_vec());
        old[at + 8..at + 12].copy_from_slice(&b);
        old[at + 12..at + 16].copy_from_slice(&a);
        let caplen = u32::from_le_bytes(a.try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    std::fs::write(d.join("v22.pcap"), &old).unwrap();
    let (doc, stderr) = extract(d, "v22.pcap");
    assert_eq!(doc["captures"][0]["packets"], 6, "{stderr}");
    assert_eq!(tshark_count(&d.join("v22.pcap")), 6);
    assert_eq!(doc["sightings"].as_array().unwrap().len(), 1);

    // if_tsresol 2^-20: the probe's time as tshark shows it.
    let mut ng = Vec::new();
    ng_section(&mut ng, 0x80 | 20);
    let ticks = (1_700_000_000u64 << 20) | (3 << 18); // .75 s
    ng_packet(&mut ng, ticks, &noise);
    ng_packet(&mut ng, ticks + (1 << 19), &probe); // 1.25 s later
    std::fs::write(d.join("binres.pcapng"), &ng).unwrap();
    let (doc, stderr) = extract(d, "binres.pcapng");
    assert_eq!(doc["sightings"][0]["timestampNs"], 1_700_000_001_250_000_000i64, "{stderr}");
    let t = run_tool(
        "tshark",
        &["-r", d.join("binres.pcapng").to_str().unwrap(), "-T", "fields", "-e", "frame.time_epoch"],
    );
    assert!(t.lines().nth(1).unwrap().starts_with("1700000001.25"), "tshark: {t}");

    // A bad first section header, then a good section: the good one is read, the bad named.
    let mut bad = Vec::new();
    ng_section(&mut bad, 6);
    bad[8..12].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    ng_packet(&mut bad, 1, &noise);
    let second = bad.len();
    ng_section(&mut bad, 6);
    ng_packet(&mut bad, 2, &noise);
    ng_packet(&mut bad, 3, &probe);
    std::fs::write(d.join("badshb.pcapng"), &bad).unwrap();
    let (doc, stderr) = extract(d, "badshb.pcapng");
    let c = &doc["captures"][0];
    assert_eq!((c["packets"].as_u64(), c["resumedSections"].as_u64()), (Some(2), Some(1)), "{stderr}");
    let msg = c["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(
            "badshb.pcapng: packet 1 (byte offset 0): pcapng section header block: byte-order magic is de ad be ef"
        ),
        "{msg}"
    );
    assert_eq!(doc["sightings"][0]["packet"], 2);
    assert!(second > 0);

    // A name-resolution block whose record overruns it, in an otherwise intact file.
    let mut nrb = Vec::new();
    ng_section(&mut nrb, 6);
    ng_packet(&mut nrb, 1, &noise);
    let nrb_at = nrb.len();
    ng_block(&mut nrb, 4, &[1, 0, 0xff, 0, 10, 0, 0, 1, b'x', 0, 0, 0]);
    ng_packet(&mut nrb, 2, &probe);
    ng_packet(&mut nrb, 3, &noise);
    std::fs::write(d.join("nrb.pcapng"), &nrb).unwrap();
    let (doc, stderr) = extract(d, "nrb.pcapng");
    let c = &doc["captures"][0];
    assert_eq!(c["packets"], 3, "{stderr}");
    let msg = c["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!(
            "packet 2 (byte offset {nrb_at}): pcapng name resolution block: the name record at byte 8"
        )) && msg.contains("claims 255 bytes"),
        "{msg}"
    );
    assert_eq!(doc["sightings"].as_array().unwrap().len(), 1);

    // A reserved link-type field is a pcap header error, said as such.
    let mut lt = pcap_header(0x0002_0001);
    pcap_record(&mut lt, 1, &noise);
    std::fs::write(d.join("reserved.pcap"), &lt).unwrap();
    let (_, stderr) = run_extract_failing(d, "reserved.pcap");
    assert!(
        stderr.contains(
            "reserved.pcap: packet 1 (byte offset 0): pcap file header: link-type field 0x00020001 has reserved bits"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("pcapng"), "{stderr}");

    // A megabyte of text named like a capture: the message quotes four bytes, not the file.
    std::fs::write(d.join("text.pcap"), "A".repeat(1 << 20)).unwrap();
    let (_, stderr) = run_extract_failing(d, "text.pcap");
    assert!(stderr.contains("it starts with 41 41 41 41"), "{stderr}");
}

/// Runs extract where it must fail (exit 2): returns (exit code, stderr).
fn run_extract_failing(dir: &Path, file: &str) -> (i32, String) {
    let out = run(&["extract", "--node", "n1", "--probe", "probe.json", file, "-o", "failed.json"], dir, file);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("failed.json").exists());
    (2, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn directory_walks_stay_inside_and_read_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let probe = craft(d);
    let node = d.join("caps");
    std::fs::create_dir_all(node.join("sub")).unwrap();
    std::fs::write(node.join("k8s-node-1_eth0.pcap"), pcap_with_probe(&probe, 5, 2)).unwrap();
    std::fs::write(node.join("sub/rotated.pcap1"), gz(&pcap_with_probe(&probe, 3, 1))).unwrap();
    // Outside the input: must not be read.
    std::fs::write(d.join("outside.pcap"), pcap_with_probe(&probe, 2, 1)).unwrap();
    symlink(".", node.join("loop")).unwrap();
    symlink("..", node.join("sub/up")).unwrap();
    symlink("../outside.pcap", node.join("escape.pcap")).unwrap();
    symlink("k8s-node-1_eth0.pcap", node.join("alias.pcap")).unwrap();

    let out =
        run(&["extract", "--node", "k8s-node-1", "--probe", "probe.json", "caps", "-o", "ev.json"], d, "extract walk");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(d.join("ev.json")).unwrap()).unwrap();
    let files: Vec<&str> = doc["captures"].as_array().unwrap().iter().map(|c| c["file"].as_str().unwrap()).collect();
    assert_eq!(files, vec!["caps/alias.pcap", "caps/sub/rotated.pcap1"], "{stderr}");
    assert_eq!(doc["sightings"].as_array().unwrap().len(), 2);
    let unread: Vec<String> =
        doc["unread"].as_array().unwrap().iter().map(|u| format!("{} {}", u["path"], u["why"])).collect();
    for (path, words) in [
        ("caps/loop", "a loop"),
        ("caps/sub/up", "a loop"),
        ("caps/escape.pcap", "outside the input directory"),
        ("caps/k8s-node-1_eth0.pcap", "the same file as caps/alias.pcap"),
    ] {
        assert!(unread.iter().any(|u| u.contains(path) && u.contains(words)), "{path}: {unread:?}");
        assert!(stderr.contains(path), "{path} not warned about:\n{stderr}");
    }

    // analyze over the same directory as a node: one sighting per packet, the loop named.
    let (result, astderr) = analyze_dir(d, "caps");
    let text = result.to_string();
    assert!(text.contains("caps/loop"), "{text}\n{astderr}");

    // Files the user cannot read are reported, not skipped in silence.
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(d.join("probe.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let secret = node.join("secret.pcap");
    std::fs::write(&secret, pcap_with_probe(&probe, 1, 1)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let locked = node.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = finish(
        limited(&["extract", "--node", "k8s-node-1", "--probe", "probe.json", "caps", "-o", "-"], d, true),
        "extract as nobody",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("caps/secret.pcap: cannot read: Permission denied"), "{stderr}");
    assert!(stderr.contains("caps/locked: cannot list the directory: Permission denied"), "{stderr}");
    let out = finish(
        limited(&["analyze", "--probe", "probe.json", "k8s-node-1=caps", "--format", "json", "-o", "-"], d, true),
        "analyze as nobody",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("caps/secret.pcap") && text.contains("Permission denied"), "{text}");

    // -j far above the cores on ten files: lowered (to 4 per core), and done at once. The
    // allocator (mimalloc) reserves address space per thread (about 1 GiB for 8 threads, of
    // which a few MB are used), so this run is limited by its data segment, at 512 MiB, and
    // its address space at 2 GiB.
    for i in 0..10 {
        std::fs::write(d.join(format!("many{i}.pcap")), pcap_with_probe(&probe, 3, 2)).unwrap();
    }
    let many: Vec<String> = (0..10).map(|i| format!("many{i}.pcap")).collect();
    let mut args = vec!["extract", "--node", "n", "--probe", "probe.json", "-j", "10000", "-o", "-"];
    args.extend(many.iter().map(String::as_str));
    let started = Instant::now();
    let out = finish(limited_to(&args, d, false, 2 << 30), "-j 10000");
    assert!(out.status.success() && started.elapsed() < Duration::from_secs(20));
}

#[test]
fn outputs_are_never_replaced_by_a_failed_run_nor_littered() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let probe = craft(d);
    std::fs::write(d.join("good.pcap"), pcap_with_probe(&probe, 3, 2)).unwrap();
    std::fs::write(d.join("junk.pcap"), b"not a capture").unwrap();

    // A failed run leaves the old output as it was, with its permissions.
    std::fs::write(d.join("out.json"), b"previous").unwrap();
    std::fs::set_permissions(d.join("out.json"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = run(&["extract", "--node", "n", "--probe", "probe.json", "junk.pcap", "-o", "out.json"], d, "failing");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(d.join("out.json")).unwrap(), b"previous");
    // A good run replaces it and keeps its permissions.
    run(&["extract", "--node", "n", "--probe", "probe.json", "good.pcap", "-o", "out.json"], d, "good");
    let m = std::fs::metadata(d.join("out.json")).unwrap();
    assert_eq!(m.permissions().mode() & 0o777, 0o640);
    assert!(std::fs::read_to_string(d.join("out.json")).unwrap().contains("hoptrace.evidence/v1"));

    // --node that would put the default output elsewhere is refused before anything is written.
    for node in ["../escape", "/tmp/abs", ".hidden", "-o", "a\nb"] {
        let arg = format!("--node={node}");
        let out = run(&["extract", &arg, "--probe", "probe.json", "good.pcap"], d, "bad --node");
        assert_eq!(out.status.code(), Some(2), "{node:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot name the output file"), "{node:?}");
    }
    assert!(!d.parent().unwrap().join("escape.evidence.json").exists());

    // Many sightings make a large output: -o - into a pipe closed at once exits quietly, 0.
    let mut big = pcap_header(1);
    for i in 0..150_000u64 {
        pcap_record(&mut big, i, &probe);
    }
    std::fs::write(d.join("big.pcap"), &big).unwrap();
    let mut child = limited(&["extract", "--node", "n", "--probe", "probe.json", "big.pcap", "-o", "-"], d, false)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");

    // SIGINT and SIGTERM while the large output is being written: the run ends by the signal
    // and no temporary file is left beside the output.
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let mut child =
            limited(&["extract", "--node", "n", "--probe", "probe.json", "big.pcap", "-o", "sig.json"], d, false)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
        let tmp = d.join(format!(".sig.json.tmp{}", child.id()));
        let started = Instant::now();
        while !tmp.exists() {
            assert!(started.elapsed() < TIME_LIMIT, "the temporary file never appeared");
            if child.try_wait().unwrap().is_some() {
                panic!("the run ended before the signal could be sent; make the output larger");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(sig), "{status:?}");
        assert!(!tmp.exists(), "temporary file left after signal {sig}");
        assert!(!d.join("sig.json").exists());
    }
}
