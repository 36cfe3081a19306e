//! Criterion benchmarks of the capture stage: the full scan of a generated node capture
//! (read + prefilter + decap + fingerprint), and the decoding of one Geneve-encapsulated frame.
//! The comparison with tcpdump on a 1 GB capture is benches/compare.sh (docs/capture.md).

#[path = "../tests/support/frames.rs"]
mod frames;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use frames::*;
use hoptrace::capture::LinkType;
use hoptrace::decode::scan::{scan_file, ScanTarget};
use hoptrace::decode::FlowTuple;
use hoptrace::decode::{decode, may_carry_tag, Prefilter};
use hoptrace::probe::Fingerprint;
use std::hint::black_box;
use std::path::PathBuf;

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

/// A ~64 MB capture of Geneve traffic (inner UDP of 20..1420 bytes) in the temp directory.
fn capture() -> (PathBuf, u64) {
    let path = std::env::temp_dir().join(format!("hoptrace-scan-bench-{}.pcap", std::process::id()));
    let mut f = pcap_header(1);
    let payload = vec![0x5au8; 1500];
    let mut seed = 0x9e3779b97f4a7c15u64;
    while f.len() < 64_000_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let inner = udp_frame([10, 10, 1, 5], [10, 10, 2, 7], 1000, 8080, &payload[..20 + (seed % 1400) as usize]);
        pcap_record(&mut f, 1_700_000_000_000_000, &geneve(&inner, 0, [192, 168, 77, 1], [192, 168, 77, 2]));
    }
    std::fs::write(&path, &f).expect("write bench capture");
    (path, f.len() as u64)
}

fn bench(c: &mut Criterion) {
    let (path, size) = capture();
    let fp = fingerprint();
    // As analyze scans: the probe's 5-tuple as sent and after a DNAT, neither that of the
    // capture's traffic (10.10.1.5:1000 > 10.10.2.7:8080), so every untagged packet is compared
    // with both (same source, other destinations: the addresses differ in their last byte).
    let tuple = |dst: [u8; 4], port| FlowTuple {
        src: [10, 10, 1, 5].into(),
        dst: dst.into(),
        protocol: 17,
        src_port: Some(1000),
        dst_port: Some(port),
    };
    let tuples = [tuple([10, 96, 0, 20], 80), tuple([10, 10, 2, 9], 8080)];
    let target = ScanTarget::probe("bench", &fp, None, &tuples);
    // The named baseline, in the same run: the tag alone (the scan before 5-tuple near misses).
    let tag_only = ScanTarget::probe("bench", &fp, None, &[]);
    let mut g = c.benchmark_group("scan");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(size));
    g.bench_function("scan_file 64MB geneve", |b| b.iter(|| black_box(scan_file(&target, &path, None))));
    g.bench_function("scan_file 64MB geneve, baseline: tag only", |b| {
        b.iter(|| black_box(scan_file(&tag_only, &path, None)))
    });
    g.finish();

    let frame =
        geneve(&udp_frame([10, 10, 1, 5], [10, 10, 2, 7], 1000, 8080, &[0; 100]), 0, [1, 1, 1, 1], [2, 2, 2, 2]);
    let mut g = c.benchmark_group("frame");
    g.bench_function("decode geneve frame", |b| b.iter(|| black_box(decode(LinkType::ETHERNET, black_box(&frame)))));
    g.bench_function("prefilter geneve frame, baseline: tag only", |b| {
        b.iter(|| black_box(may_carry_tag(7, LinkType::ETHERNET, black_box(&frame))))
    });
    let prefilter = Prefilter::new(7, &tuples);
    g.bench_function("prefilter geneve frame", |b| {
        b.iter(|| black_box(prefilter.may_match(LinkType::ETHERNET, black_box(&frame))))
    });
    g.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, bench);
criterion_main!(benches);
