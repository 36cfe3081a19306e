//! Compressed captures (src/capture/codec.rs, gzip.rs, source.rs): gzip with several members and
//! pigz's output, zstd and xz, detected by content whatever the name, give the evidence of the
//! uncompressed file; a cut stream keeps the packets before the cut and says where, naming the
//! file. The committed fixtures were made from the pod-to-service-remote sample with the real
//! tools (`xz -9`, `zstd -19`, and two `zstd` frames of the file cut at byte 300, concatenated);
//! the other tests run gzip, pigz, zstd and xz themselves and say SKIPPED when one is missing.

mod support;

use hoptrace::decode::scan::{scan_file, FileScan, ScanTarget};
use hoptrace::probe::Probe;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::frames::*;
use support::{require, Need};

fn sample_probe() -> Probe {
    Probe::load(&support::sample("pod-to-service-remote/probe.json")).unwrap()
}

fn scan(probe: &Probe, path: &Path) -> FileScan {
    let target = ScanTarget::probe("n", &probe.fingerprint, Some(probe.ends()), &[]);
    scan_file(&target, path, None)
}

/// The report and sightings as JSON, without what names the file or its compression.
fn evidence(s: &FileScan) -> (serde_json::Value, serde_json::Value) {
    let mut report = serde_json::to_value(&s.report).unwrap();
    let r = report.as_object_mut().unwrap();
    r.remove("file");
    r.remove("compression");
    let mut sightings = serde_json::to_value(&s.sightings).unwrap();
    for s in sightings.as_array_mut().unwrap() {
        s.as_object_mut().unwrap().remove("file");
    }
    (report, sightings)
}

/// Sightings as JSON without the file name.
fn without_file<T: serde::Serialize>(sightings: &[T]) -> serde_json::Value {
    let mut v = serde_json::to_value(sightings).unwrap();
    for s in v.as_array_mut().unwrap() {
        s.as_object_mut().unwrap().remove("file");
    }
    v
}

#[test]
fn committed_xz_and_zstd_fixtures_read_as_their_originals() {
    let probe = sample_probe();
    let fixtures = support::root().join("tests/fixtures/captures");
    for (fixture, original, codec) in [
        ("k8s-node2_any.pcapng.xz", "pod-to-service-remote/k8s-node2/k8s-node2_any.pcapng", "xz"),
        ("k8s-node1_any.pcapng.zst", "pod-to-service-remote/k8s-node1/k8s-node1_any.pcapng", "zstd"),
        ("k8s-node1_any-two-frames.pcapng.zst", "pod-to-service-remote/k8s-node1/k8s-node1_any.pcapng", "zstd"),
    ] {
        let got = scan(&probe, &fixtures.join(fixture));
        let want = scan(&probe, &support::sample(original));
        assert!(!want.sightings.is_empty(), "{original}: the sample has sightings");
        assert_eq!(got.report.compression.as_deref(), Some(codec), "{fixture}");
        assert!(got.report.error.is_none(), "{fixture}: {:?}", got.report.error);
        assert_eq!(evidence(&got), evidence(&want), "{fixture}");
    }
}

/// A capture of about `mb` MB with a tagged probe every 500 packets and payloads that compress
/// about 3-5x (random bytes in part of each packet), written to `dir/name`.
fn capture(dir: &Path, name: &str, mb: usize) -> (PathBuf, Probe) {
    let probe_path = dir.join("probe.json");
    support::craft(&probe_path, &[]);
    let probe = Probe::load(&probe_path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&probe_path).unwrap()).unwrap();
    let probe_frame = from_hex(doc["frame"]["hex"].as_str().unwrap());
    let mut out = pcap_header(1);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut n = 0u64;
    while out.len() < mb * 1_000_000 {
        n += 1;
        let f = if n % 500 == 0 {
            geneve(&probe_frame, 0, [192, 168, 77, 1], [192, 168, 77, 2])
        } else {
            let len = 64 + (n * 131 % 1200) as usize;
            let mut payload = vec![0u8; len];
            for b in payload.iter_mut().take(len / 3) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            geneve(
                &udp_frame([10, 10, 1, n as u8], [10, 10, 2, 9], 5, 8080, &payload),
                0,
                [192, 168, 77, 1],
                [192, 168, 77, 2],
            )
        };
        pcap_record(&mut out, 1_700_000_000_000_000 + n * 7, &f);
    }
    let path = dir.join(name);
    std::fs::write(&path, &out).unwrap();
    (path, probe)
}

/// Runs `sh -c script` in `dir`.
fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh").arg("-c").arg(script).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn gzip_members_pigz_zstd_and_xz_read_as_the_plain_file() {
    require!(Need::Tool("gzip"), Need::Tool("pigz"), Need::Tool("zstd"), Need::Tool("xz"));
    let dir = tempfile::tempdir().unwrap();
    let (plain, probe) = capture(dir.path(), "c.pcap", 4);
    let want = scan(&probe, &plain);
    assert_eq!(want.sightings.len(), want.report.packets as usize / 500);
    sh(
        dir.path(),
        "gzip -6 -c c.pcap > c.pcap.gz && pigz -c -p 2 c.pcap > pigz.pcap.gz \
         && head -c 1234567 c.pcap | gzip -1 > two.gz && tail -c +1234568 c.pcap | gzip -9 >> two.gz \
         && zstd -q -c c.pcap > c.pcap.zst && head -c 777777 c.pcap | zstd -q -c > frames.zst \
         && tail -c +777778 c.pcap | zstd -q -c >> frames.zst && xz -T2 -c c.pcap > c.pcapng.xz \
         && head -c 2000000 c.pcap | xz -c > streams.xz && tail -c +2000001 c.pcap | xz -c >> streams.xz",
    );
    let ratio = std::fs::metadata(&plain).unwrap().len() as f64
        / std::fs::metadata(dir.path().join("c.pcap.gz")).unwrap().len() as f64;
    assert!((2.0..8.0).contains(&ratio), "the capture compresses {ratio:.1}x");
    for (name, codec) in [
        ("c.pcap.gz", "gzip"),
        ("pigz.pcap.gz", "gzip"),
        ("two.gz", "gzip"),
        ("c.pcap.zst", "zstd"),
        ("frames.zst", "zstd"),
        // Named like pcapng, holding a pcap: the content decides.
        ("c.pcapng.xz", "xz"),
        ("streams.xz", "xz"),
    ] {
        let got = scan(&probe, &dir.path().join(name));
        assert_eq!(got.report.compression.as_deref(), Some(codec), "{name}");
        assert!(got.report.error.is_none(), "{name}: {:?}", got.report.error);
        assert_eq!(evidence(&got), evidence(&want), "{name}");
    }
}

#[test]
fn a_cut_zstd_or_xz_file_keeps_the_packets_before_the_cut_and_names_the_file() {
    require!(Need::Tool("zstd"), Need::Tool("xz"));
    let dir = tempfile::tempdir().unwrap();
    let (plain, probe) = capture(dir.path(), "c.pcap", 3);
    let want = scan(&probe, &plain);
    sh(dir.path(), "zstd -q -c c.pcap > c.zst && xz -c c.pcap > c.xz");
    for (name, codec) in [("c.zst", "zstd"), ("c.xz", "xz")] {
        let full = std::fs::read(dir.path().join(name)).unwrap();
        let cut = dir.path().join(format!("cut-{name}"));
        std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
        let got = scan(&probe, &cut);
        let e = got.report.error.as_ref().expect("the cut is reported");
        assert!(e.message.starts_with(&cut.display().to_string()), "{}", e.message);
        assert!(e.message.contains(&format!("{codec} stream is cut short")), "{}", e.message);
        assert!(got.report.packets > want.report.packets / 4 && got.report.packets < want.report.packets);
        assert_eq!(e.packet, got.report.packets + 1);
        // The sightings are those of the packets before the cut.
        let before: Vec<_> = want.sightings.iter().filter(|s| s.packet <= got.report.packets).collect();
        assert!(!before.is_empty());
        assert_eq!(without_file(&got.sightings), without_file(&before));
    }
}

#[test]
fn extract_finds_compressed_captures_by_content_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = support::root().join("tests/fixtures/captures");
    // Names that say nothing about the content.
    std::fs::copy(fixtures.join("k8s-node2_any.pcapng.xz"), dir.path().join("rotated.1")).unwrap();
    std::fs::copy(fixtures.join("k8s-node1_any.pcapng.zst"), dir.path().join("rotated.2")).unwrap();
    std::fs::write(dir.path().join("notes.zst"), zstd::stream::encode_all(&b"not a capture"[..], 3).unwrap()).unwrap();
    let out = dir.path().join("e.json");
    let probe = support::sample("pod-to-service-remote/probe.json");
    let r = support::run(&[
        "extract",
        "--node",
        "n",
        "--probe",
        probe.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let comp: Vec<&str> =
        doc["captures"].as_array().unwrap().iter().map(|c| c["compression"].as_str().unwrap()).collect();
    assert_eq!(comp, vec!["xz", "zstd"]);
    assert!(!doc["sightings"].as_array().unwrap().is_empty());
}
