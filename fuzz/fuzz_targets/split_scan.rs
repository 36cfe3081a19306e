//! Differential fuzzing of the chunked read of one file (src/capture/split.rs,
//! src/decode/scan.rs): for any bytes, reading them in chunks on two threads must give the same
//! capture report and sightings as reading them from start to end, and must not panic or hang.
//! The first input byte picks the chunk size (16 to 4096 bytes), the rest is the file; it is
//! written to one file in the temp directory per fuzzing process.
#![no_main]

use hoptrace::decode::scan::{scan_files_with, ScanTarget, SplitOptions};
use hoptrace::probe::Fingerprint;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, file)) = data.split_first() else { return };
    let chunk = 16 + first as u64 * 16;
    let path = std::env::temp_dir().join(format!("hoptrace-fuzz-split-{}.pcap", std::process::id()));
    if std::fs::write(&path, file).is_err() {
        return;
    }
    let fp = Fingerprint {
        dscp: 7,
        ip_version: 4,
        protocol: 17,
        ipv4_id: None,
        flow_label: None,
        icmp_type: None,
        icmp_id: None,
        icmp_seq: None,
        tcp_seq: None,
        udp_length: None,
        sctp_initiate_tag: None,
    };
    let target = ScanTarget::probe("n", &fp, None, &[]);
    let files = [path.clone()];
    let one = scan_files_with(&target, &files, None, SplitOptions { chunk_bytes: None, enabled: false });
    let split = pool().install(|| scan_files_with(&target, &files, None, SplitOptions { chunk_bytes: Some(chunk), enabled: true }));
    let json = |s: &hoptrace::decode::scan::FileScan| {
        (serde_json::to_string(&s.report).unwrap(), serde_json::to_string(&s.sightings).unwrap())
    };
    assert_eq!(json(&one[0]), json(&split[0]), "{:?}", split[0].mode);
});
