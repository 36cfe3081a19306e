//! `hoptrace analyze` on every testbed scenario in samples/ gives exactly the observations Antrea
//! would report (expected.json, written from antrea-traceflow.md §3.4–3.6, not by hoptrace), per
//! node and in order, with the exit code of the outcome.

mod support;

use serde_json::Value;
use support::{antrea_essentials as essentials, expects_drop, hoptrace, sample};

pub fn scenarios() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(sample(""))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn every_scenario_matches_antrea() {
    let all = scenarios();
    assert!(all.len() >= 9, "expected the testbed scenarios in samples/, found {all:?}");
    for name in all {
        let dir = sample(&name);
        let out = hoptrace().args(["analyze", "--format", "json", "-q"]).arg(&dir).output().unwrap();
        let got: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        let want: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        assert_eq!(got["phase"], want["phase"], "{name}");
        assert_eq!(essentials(&got["results"]), essentials(&want["results"]), "{name}");
        let dropped = expects_drop(&want);
        assert_eq!(out.status.code(), Some(if dropped { 1 } else { 0 }), "{name}");
        // No finding on these complete, consistent inputs.
        assert!(got.get("findings").is_none(), "{name}: {}", got["findings"]);
        // Every observation that a capture supports carries its time and evidence.
        for r in got["results"].as_array().unwrap() {
            for o in r["observations"].as_array().unwrap() {
                if o["component"] == "SpoofGuard" || o["action"] == "Received" {
                    assert!(o["time"].is_string() && o["evidence"][0]["packet"].is_u64(), "{name}: {o}");
                }
            }
        }
    }
}

/// The table and CSV views of a real inter-node Service trace (times come from the captures,
/// so the output is deterministic).
#[test]
fn table_and_csv_snapshots() {
    let dir = sample("pod-to-service-remote");
    let root = dir.display().to_string();
    for (format, name) in [("table", "pod_to_service_remote_table"), ("csv", "pod_to_service_remote_csv")] {
        let out = hoptrace().args(["analyze", "--format", format, "-q"]).arg(&dir).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap().replace(&root, "samples/pod-to-service-remote");
        insta::assert_snapshot!(name, text);
    }
}

fn hop_tables(v: &Value, node: usize) -> Vec<(String, String)> {
    v["results"][node]["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["table"].as_str().unwrap().to_string(), h["action"].as_str().unwrap().to_string()))
        .collect()
}

/// `--detail hops`: every stage the probe crossed, in pipeline order, each with its flow line.
#[test]
fn detail_hops_lists_every_stage() {
    let out = hoptrace()
        .args(["analyze", "--format", "json", "--detail", "hops", "-q"])
        .arg(sample("pod-to-service-remote"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let n1 = hop_tables(&v, 0);
    let pos = |t: &str| n1.iter().position(|(x, _)| x == t).unwrap_or_else(|| panic!("{t} missing in {n1:?}"));
    assert!(pos("SpoofGuard") < pos("EndpointDNAT"));
    assert!(pos("EndpointDNAT") < pos("EgressRule"));
    assert!(pos("EgressRule") < pos("L3Forwarding"));
    assert!(pos("L3Forwarding") < pos("L3DecTTL"));
    assert_eq!(n1.last().unwrap(), &("Output".to_string(), "Forwarded".to_string()));
    assert_eq!(hop_tables(&v, 1).last().unwrap(), &("Output".to_string(), "Delivered".to_string()));
    for h in v["results"][0]["hops"].as_array().unwrap() {
        assert!(h["evidence"][0]["line"].is_u64() && h["component"].is_string(), "{h}");
    }
    let out = hoptrace()
        .args(["analyze", "--format", "json", "--detail", "hops", "-q"])
        .arg(sample("annp-ingress-drop"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hop_tables(&v, 0).last().unwrap(), &("IngressMetric".to_string(), "Dropped".to_string()));
    // Without --detail hops, no hops.
    let out = hoptrace().args(["analyze", "--format", "json", "-q"]).arg(sample("annp-ingress-drop")).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["results"][0].get("hops").is_none());
}

/// Copies a scenario without its earlier flow dumps and captures: only the support-bundle files.
fn flows_only(name: &str, to: &std::path::Path) -> std::path::PathBuf {
    fn walk(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if file != "before" {
                    walk(&p, &to.join(&file));
                }
            } else if !file.ends_with(".pcap") && !file.ends_with(".pcapng") {
                std::fs::copy(&p, to.join(&file)).unwrap();
            }
        }
    }
    let dst = to.join(name);
    walk(&sample(name), &dst);
    dst
}

/// With flows alone (no earlier dump, no captures), the simulator decides each node's path and
/// the observations are still Antrea's; the result says it is a simulation.
#[test]
fn flows_only_every_scenario_matches_antrea_through_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    for name in scenarios() {
        let dir = flows_only(&name, tmp.path());
        let out = hoptrace().args(["analyze", "--format", "json", "-q"]).arg(&dir).output().unwrap();
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        let want: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        assert_eq!(got["phase"], want["phase"], "{name}");
        assert_eq!(essentials(&got["results"]), essentials(&want["results"]), "{name}");
        let findings = got["findings"].to_string();
        assert!(findings.contains("simulation of its dumped pipeline"), "{name}: {findings}");
        assert!(!findings.contains("disagreement"), "{name}: {findings}");
        // No capture, no time.
        assert!(!got.to_string().contains("rawTimeNs"), "{name}");
    }
    // And without the simulator, the same inputs say nothing was decided.
    let dir = flows_only("pod-to-pod-intra-node", &tmp.path().join("nosim"));
    let out = hoptrace().args(["analyze", "--format", "json", "-q", "--no-simulate"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(got["findings"].to_string().contains("no flow counters moved"), "{got}");
}
