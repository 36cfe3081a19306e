//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// The `hoptrace` binary under test.
pub fn hoptrace() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("hoptrace").expect("binary built")
}

/// Runs a real tool (tcpdump, tshark) and returns its stdout; panics with its stderr on failure.
pub fn run_tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed by this test (.ci/run installs it): {e}"));
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes frames as an Ethernet pcap.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut f = std::fs::File::create(path).unwrap();
    let refs: Vec<(std::time::Duration, &[u8])> =
        frames.iter().enumerate().map(|(i, fr)| (std::time::Duration::from_secs(i as u64), fr.as_slice())).collect();
    hoptrace::export::pcap::write_pcap(&mut f, &refs).unwrap();
}

/// A file under samples/.
pub fn sample(name: &str) -> PathBuf {
    root().join("samples").join(name)
}
