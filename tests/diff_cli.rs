//! `hoptrace diff`: the same path twice exits 0; a NetworkPolicy drop against the same probe
//! allowed exits 1 and names the observation that changed; field changes, latency beyond the
//! threshold and usage errors.

mod support;

use serde_json::Value;
use support::{hoptrace, sample};

fn diff(args: &[&std::ffi::OsStr]) -> (Option<i32>, Value, String) {
    let out = hoptrace().args(["diff", "-q", "--format", "json"]).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), v, stderr)
}

fn result_json(name: &str) -> Value {
    let out = hoptrace().args(["analyze", "-q", "--format", "json"]).arg(sample(name)).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn save(dir: &std::path::Path, file: &str, v: &Value) -> std::path::PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
    p
}

#[test]
fn two_samples_of_the_same_path_are_the_same() {
    // Geneve and VXLAN: another tunnel, the same observations.
    let (a, b) = (sample("pod-to-pod-inter-node"), sample("pod-to-pod-inter-node-vxlan"));
    let (code, v, err) = diff(&[a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, Some(0), "{err} {v}");
    assert_eq!(v["same"], true);
    assert_eq!(v["changes"], serde_json::json!([]));
    // A saved result against the collection it came from.
    let tmp = tempfile::tempdir().unwrap();
    let saved = save(tmp.path(), "a.json", &result_json("pod-to-pod-inter-node"));
    let (code, _, err) = diff(&[saved.as_os_str(), b.as_os_str()]);
    assert_eq!(code, Some(0), "{err}");
    let out = hoptrace().args(["diff", "--format", "table"]).arg(&saved).arg(&b).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("same path"));
}

#[test]
fn a_policy_drop_and_the_same_probe_allowed_differ() {
    // client → server on k8s-node2: dropped by the isolation of k8s-np-ingress-drop, allowed by
    // allow-client-to-server in pod-to-pod-inter-node.
    let (a, b) = (sample("k8s-np-ingress-drop"), sample("pod-to-pod-inter-node"));
    let (code, v, err) = diff(&[a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, Some(1), "{err} {v}");
    assert_eq!(v["same"], false);
    let changes = v["changes"].as_array().unwrap();
    let has = |kind: &str, stage: &str| {
        changes.iter().any(|c| c["kind"] == kind && c["node"] == "k8s-node2" && c["stage"] == stage)
    };
    assert!(has("observation-removed", "NetworkPolicy/IngressDefaultRule"), "{v:#}");
    assert!(has("observation-added", "NetworkPolicy/IngressRule"), "{v:#}");
    assert!(has("observation-added", "Forwarding/Output"), "{v:#}");
    let terminal = changes.iter().find(|c| c["kind"] == "terminal").unwrap();
    assert_eq!(terminal["a"], "Dropped on k8s-node2");
    assert!(terminal["b"].as_str().unwrap().starts_with("Delivered on k8s-node2"));
    // The sender's observations did not change.
    assert!(!changes.iter().any(|c| c["node"] == "k8s-node1"), "{v:#}");
    let out = hoptrace().args(["diff", "--format", "table"]).arg(&a).arg(&b).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("- #2 NetworkPolicy/IngressDefaultRule: Dropped"), "{text}");
    assert!(text.contains("terminal point: Dropped on k8s-node2 → Delivered on k8s-node2"), "{text}");
}

#[test]
fn a_changed_rule_and_latency_beyond_the_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let base = result_json("pod-to-pod-inter-node");
    let a = save(tmp.path(), "a.json", &base);
    let mut changed = base.clone();
    changed["results"][1]["observations"][1]["networkPolicyRule"] = "rule-2".into();
    let b = save(tmp.path(), "b.json", &changed);
    let (code, v, _) = diff(&[a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, Some(1));
    let c = &v["changes"][0];
    assert_eq!(c["kind"], "observation-changed");
    assert_eq!(c["field"], "networkPolicyRule");
    assert_eq!(c["stage"], "NetworkPolicy/IngressRule");
    assert!(c.get("a").is_none() && c["b"] == "rule-2", "{c}");
    // The receiver's delivery 2 ms later: only a difference with a threshold below that.
    let mut slow = base.clone();
    let t = slow["results"][1]["observations"][2]["rawTimeNs"].as_i64().unwrap();
    slow["results"][1]["observations"][2]["rawTimeNs"] = (t + 2_000_000).into();
    let b = save(tmp.path(), "slow.json", &slow);
    let (code, _, _) = diff(&[a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, Some(0), "latency is not compared without a threshold");
    let th = std::ffi::OsStr::new("--latency-threshold");
    let (code, _, _) = diff(&[a.as_os_str(), b.as_os_str(), th, std::ffi::OsStr::new("5ms")]);
    assert_eq!(code, Some(0));
    let (code, v, _) = diff(&[a.as_os_str(), b.as_os_str(), th, std::ffi::OsStr::new("1ms")]);
    assert_eq!(code, Some(1));
    assert_eq!(v["changes"][0]["kind"], "latency", "{v}");
    assert_eq!(v["changes"][0]["stage"], "Forwarding/Output");
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let a = save(tmp.path(), "a.json", &result_json("pod-to-pod-inter-node"));
    let other = save(tmp.path(), "other.json", &serde_json::json!({"schema": "hoptrace.evidence/v1"}));
    let missing = tmp.path().join("missing.json");
    for args in [
        vec![a.as_os_str()],
        vec![a.as_os_str(), other.as_os_str()],
        vec![a.as_os_str(), missing.as_os_str()],
        vec![a.as_os_str(), a.as_os_str(), std::ffi::OsStr::new("--latency-threshold"), std::ffi::OsStr::new("5")],
    ] {
        let (code, _, err) = diff(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(!err.is_empty());
    }
    let (_, _, err) = diff(&[a.as_os_str(), other.as_os_str()]);
    assert!(err.contains("other.json") && err.contains("not a hoptrace result"), "{err}");
}
