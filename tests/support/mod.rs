//! What the integration tests share, in one place: the binary under test, paths into the
//! repository (samples, fixtures, the third-party corpus under `tests/data`), the requirement
//! checks of system tests ([`need`]), capture writers and frame builders ([`frames`]), network
//! namespaces with veth pairs and raw-socket captures ([`netns`]), and a private Open vSwitch
//! ([`ovs`]).
//!
//! Every test file mounts it with `mod support;`. Nothing here reads outside the repository.

#![allow(dead_code)]

pub mod corpus;
pub mod frames;
pub mod need;
pub mod netns;
pub mod ovs;

#[allow(unused_imports)]
pub(crate) use need::require;
#[allow(unused_imports)]
pub use need::Need;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The CSV columns of `analyze --format csv` before any were appended (scripts read these).
pub const CSV_COLUMNS_V1: [&str; 22] = [
    "node",
    "role",
    "seq",
    "time",
    "rawTimeNs",
    "deltaNs",
    "action",
    "component",
    "componentInfo",
    "pod",
    "networkPolicy",
    "networkPolicyRule",
    "translatedSrcIP",
    "translatedDstIP",
    "tunnelDstIP",
    "srcPodIP",
    "egress",
    "egressIP",
    "egressNode",
    "interface",
    "table",
    "evidence",
];

/// The `hoptrace` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_hoptrace");

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// A file or directory under `samples/`.
pub fn sample(name: &str) -> PathBuf {
    root().join("samples").join(name)
}

/// The binary under test, ready for arguments and assertions.
pub fn hoptrace() -> assert_cmd::Command {
    assert_cmd::Command::new(BIN)
}

/// Runs the binary under test with `args` and returns what it did.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run hoptrace")
}

/// Runs a real tool (tcpdump, tshark, ip, ...) and returns its stdout; panics with its stderr
/// when it cannot be started or fails. Tests that call it declare the tool with [`require!`].
pub fn run_tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Crafts a reproducible probe into `path` with the real binary: 10.10.1.5 → 10.10.2.5 UDP 53
/// from 02:00:00:00:01:05 to 02:00:00:00:01:01, seed 7; `extra` adds flags or, with `--src-ip`,
/// replaces the addresses and transport.
pub fn craft(path: &Path, extra: &[&str]) {
    let mut args = vec![
        "craft",
        "-q",
        "--src-mac",
        "02:00:00:00:01:05",
        "--dst-mac",
        "02:00:00:00:01:01",
        "--seed",
        "7",
        "-o",
        path.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    if !extra.contains(&"--src-ip") {
        args.extend_from_slice(&[
            "--src-ip",
            "10.10.1.5",
            "--dst-ip",
            "10.10.2.5",
            "--proto",
            "udp",
            "--dst-port",
            "53",
        ]);
    }
    let out = run(&args);
    assert!(out.status.success(), "craft: {}", String::from_utf8_lossy(&out.stderr));
}

/// The fields Antrea's e2e comparison checks, plus tunnelDstIP and translatedSrcIP.
pub const ANTREA_FIELDS: [&str; 13] = [
    "component",
    "componentInfo",
    "action",
    "pod",
    "srcPodIP",
    "translatedDstIP",
    "translatedSrcIP",
    "tunnelDstIP",
    "egressIP",
    "egress",
    "egressNode",
    "networkPolicy",
    "networkPolicyRule",
];

/// An observation reduced to the compared fields.
pub type Fields = Vec<(String, String)>;

/// Each node of a result's `results` with its observations reduced to [`ANTREA_FIELDS`], in order.
pub fn antrea_essentials(results: &serde_json::Value) -> Vec<(String, Vec<Fields>)> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let obs = r["observations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    ANTREA_FIELDS
                        .iter()
                        .filter_map(|f| {
                            o.get(*f).and_then(serde_json::Value::as_str).map(|v| (f.to_string(), v.to_string()))
                        })
                        .collect()
                })
                .collect();
            (r["node"].as_str().unwrap().to_string(), obs)
        })
        .collect()
}

/// Whether an expected result (`expected.json`) ends in a drop or a reject.
pub fn expects_drop(want: &serde_json::Value) -> bool {
    want["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["observations"].as_array().unwrap())
        .any(|o| o["action"] == "Dropped" || o["action"] == "Rejected")
}
