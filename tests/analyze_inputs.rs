//! `analyze` gives the same result from every way the inputs can arrive (scenario directory,
//! support bundle with agent tarballs plus NODE=capture pairs, evidence files from `extract`), and
//! degrades without failing when a node's captures or flows are missing, when clocks are skewed,
//! or when a file is damaged.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{hoptrace, require, sample, Need};

const SCENARIO: &str = "pod-to-service-remote";
const NODES: [&str; 2] = ["k8s-node1", "k8s-node2"];

fn is_capture(p: &Path) -> bool {
    let n = p.file_name().unwrap().to_string_lossy();
    n.ends_with(".pcap") || n.ends_with(".pcapng")
}

/// Copies the scenario, keeping the files `keep` accepts.
fn copy_scenario(to: &Path, keep: &dyn Fn(&Path) -> bool) -> PathBuf {
    fn walk(from: &Path, to: &Path, keep: &dyn Fn(&Path) -> bool) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let dst = to.join(p.file_name().unwrap());
            if p.is_dir() {
                walk(&p, &dst, keep);
            } else if keep(&p) {
                std::fs::copy(&p, &dst).unwrap();
            }
        }
    }
    let dst = to.join(SCENARIO);
    walk(&sample(SCENARIO), &dst, keep);
    dst
}

fn analyze(args: &[&str]) -> (Value, i32) {
    let out = hoptrace().args(["analyze", "--format", "json", "-q"]).args(args).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (v, out.status.code().unwrap())
}

/// (node, [(component, componentInfo, action)]) per node.
fn shape(v: &Value) -> Vec<(String, Vec<String>)> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let obs = r["observations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    format!(
                        "{}/{}/{}{}",
                        o["component"].as_str().unwrap(),
                        o["componentInfo"].as_str().unwrap_or("-"),
                        o["action"].as_str().unwrap(),
                        o.get("networkPolicy").map(|p| format!(" {}", p.as_str().unwrap())).unwrap_or_default()
                    )
                })
                .collect();
            (r["node"].as_str().unwrap().to_string(), obs)
        })
        .collect()
}

fn times(v: &Value) -> Vec<Option<String>> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["observations"].as_array().unwrap().iter().map(|o| o["time"].as_str().map(str::to_string)))
        .collect()
}

fn reference() -> Value {
    analyze(&[sample(SCENARIO).to_str().unwrap()]).0
}

fn tar_gz(dir: &Path, out: &Path) {
    let f = std::fs::File::create(out).unwrap();
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && !is_capture(&p) {
            b.append_path_with_name(&p, p.file_name().unwrap()).unwrap();
        }
    }
    b.into_inner().unwrap().finish().unwrap();
}

#[test]
fn support_bundle_with_capture_pairs_and_before_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let src = sample(SCENARIO);
    let after = tmp.path().join("support-bundles_after");
    let before = tmp.path().join("support-bundles_before");
    std::fs::create_dir_all(&after).unwrap();
    std::fs::create_dir_all(&before).unwrap();
    std::fs::copy(src.join("clusterinfo"), after.join("clusterinfo")).unwrap();
    let mut args: Vec<String> = vec![after.display().to_string()];
    for n in NODES {
        tar_gz(&src.join(n), &after.join(format!("agent_{n}.tar.gz")));
        // The earlier bundle: the same node with its earlier dumps.
        let earlier = tmp.path().join(format!("earlier-{n}"));
        std::fs::create_dir_all(&earlier).unwrap();
        for f in ["flows", "groups", "ovsports"] {
            std::fs::copy(src.join(n).join("before").join(f), earlier.join(f)).unwrap();
        }
        std::fs::copy(src.join(n).join("agentinfo"), earlier.join("agentinfo")).unwrap();
        tar_gz(&earlier, &before.join(format!("agent_{n}.tar.gz")));
        for e in std::fs::read_dir(src.join(n)).unwrap() {
            let p = e.unwrap().path();
            if is_capture(&p) {
                args.push(format!("{n}={}", p.display()));
            }
        }
    }
    args.extend(["--before".to_string(), before.display().to_string()]);
    args.extend(["--probe".to_string(), src.join("probe.json").display().to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (got, code) = analyze(&refs);
    let want = reference();
    assert_eq!(shape(&got), shape(&want));
    assert_eq!(times(&got), times(&want));
    assert_eq!(code, 0);
    assert!(got.get("findings").is_none(), "{}", got["findings"]);
}

#[test]
fn evidence_files_from_extract() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_scenario(tmp.path(), &|p| !is_capture(p));
    let src = sample(SCENARIO);
    let mut args = vec![dir.display().to_string()];
    for n in NODES {
        let captures: Vec<PathBuf> =
            std::fs::read_dir(src.join(n)).unwrap().map(|e| e.unwrap().path()).filter(|p| is_capture(p)).collect();
        let ev = tmp.path().join(format!("{n}.evidence.json"));
        hoptrace()
            .args(["extract", "-q", "--node", n, "--probe"])
            .arg(src.join("probe.json"))
            .args(&captures)
            .arg("-o")
            .arg(&ev)
            .assert()
            .success();
        args.push(ev.display().to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (got, code) = analyze(&refs);
    let want = reference();
    assert_eq!(shape(&got), shape(&want));
    assert_eq!(times(&got), times(&want));
    assert_eq!(code, 0);
}

#[test]
fn missing_captures_keep_the_observations_without_times() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_scenario(tmp.path(), &|p| !(is_capture(p) && p.to_string_lossy().contains("k8s-node2")));
    let (got, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(shape(&got), shape(&reference()));
    assert_eq!(code, 0);
    let node2 = &got["results"][1]["observations"];
    assert!(node2.as_array().unwrap().iter().all(|o| o.get("time").is_none()), "{node2}");
}

#[test]
fn missing_flows_give_coarse_observations_from_captures() {
    let tmp = tempfile::tempdir().unwrap();
    // Node 2 keeps only its captures.
    let dir = copy_scenario(tmp.path(), &|p| !p.to_string_lossy().contains("k8s-node2/") || is_capture(p));
    let (got, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(shape(&got), shape(&reference()), "{got}");
    assert_eq!(code, 0);
    // Node 1 keeps only its captures: SpoofGuard, LB (the address changed) and the tunnel output
    // remain; the policy rule needs the flows.
    let dir2 = copy_scenario(&tmp.path().join("b"), &|p| !p.to_string_lossy().contains("k8s-node1/") || is_capture(p));
    let (got, code) = analyze(&[dir2.to_str().unwrap()]);
    let s = shape(&got);
    assert_eq!(s[0].1, ["SpoofGuard/-/Forwarded", "LB/-/Forwarded", "Forwarding/Output/Forwarded"], "{got}");
    assert_eq!(s[1], shape(&reference())[1]);
    assert_eq!(got["results"][0]["observations"][2]["tunnelDstIP"], "192.168.77.102");
    assert_eq!(code, 0);
}

#[test]
fn no_input_at_all_for_a_node_is_said_plainly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_scenario(tmp.path(), &|p| !p.to_string_lossy().contains("k8s-node2/"));
    let (got, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 3, "{got}");
    assert_eq!(got["phase"], "Failed");
    let findings = got["findings"].to_string();
    assert!(
        findings.contains("transport IP 192.168.77.102") && findings.contains("no input names that node"),
        "{findings}"
    );
}

fn shift(dir: &Path, node: &str, seconds: &str) {
    for e in std::fs::read_dir(dir.join(node)).unwrap() {
        let p = e.unwrap().path();
        if is_capture(&p) {
            let tmp = p.with_extension("shifted");
            let st = std::process::Command::new("editcap").args(["-t", seconds]).arg(&p).arg(&tmp).status().unwrap();
            assert!(st.success(), "editcap -t {seconds} {}", p.display());
            std::fs::rename(&tmp, &p).unwrap();
        }
    }
}

#[test]
fn clock_skew_is_corrected_within_the_bound() {
    require!(Need::Tool("editcap"));
    let want = reference();
    let t0: Vec<i64> = raw_corrected(&want);
    for skew in ["5", "-5"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = copy_scenario(tmp.path(), &|_| true);
        shift(&dir, "k8s-node2", skew);
        let (got, code) = analyze(&[dir.to_str().unwrap()]);
        assert_eq!(code, 0);
        assert_eq!(shape(&got), shape(&want));
        // Same per-hop order: corrected times never go backwards along the path.
        let t = raw_corrected(&got);
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "{skew}: {t:?}");
        assert_eq!(t.len(), t0.len());
        let clock = &got["clocks"][1];
        let offset = clock["offsetNs"].as_i64().unwrap();
        let bound = clock["boundNs"].as_i64().unwrap();
        let truth = -skew.parse::<i64>().unwrap() * 1_000_000_000;
        assert!((offset - truth).abs() <= bound, "{skew}: offset {offset} bound {bound}");
        // Raw times are kept.
        let raw = got["results"][1]["observations"][0]["rawTimeNs"].as_i64().unwrap();
        let raw0 = want["results"][1]["observations"][0]["rawTimeNs"].as_i64().unwrap();
        assert_eq!(raw - raw0, -truth);
    }
}

fn raw_corrected(v: &Value) -> Vec<i64> {
    let offsets: Vec<(String, i64)> = v["clocks"]
        .as_array()
        .map(|a| a.iter().map(|c| (c["node"].as_str().unwrap().to_string(), c["offsetNs"].as_i64().unwrap())).collect())
        .unwrap_or_default();
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let off = offsets.iter().find(|(n, _)| n == r["node"].as_str().unwrap()).map_or(0, |(_, o)| *o);
            r["observations"].as_array().unwrap().iter().filter_map(move |o| o["rawTimeNs"].as_i64().map(|t| t + off))
        })
        .collect()
}

#[test]
fn a_damaged_capture_is_reported_and_the_analysis_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_scenario(tmp.path(), &|_| true);
    // A pcap whose second record claims an absurd length.
    let mut bad = std::fs::read(dir.join("k8s-node1/k8s-node1_eth0.pcap")).unwrap();
    let first_len = u32::from_le_bytes(bad[32..36].try_into().unwrap()) as usize;
    let second = 24 + 16 + first_len;
    bad.truncate(second + 16);
    bad[second + 8..second + 12].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    std::fs::write(dir.join("k8s-node1/k8s-node1_broken.pcap"), &bad).unwrap();
    std::fs::write(dir.join("k8s-node1/flows.extra"), b"not a flow\n").unwrap();
    let (got, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(shape(&got), shape(&reference()));
    let findings = got["findings"].to_string();
    assert!(findings.contains("k8s-node1_broken.pcap: packet 2"), "{findings}");
}
