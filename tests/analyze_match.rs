//! `hoptrace analyze --match SPEC`: real packets followed through the captures by the fields no
//! hop rewrites. A probe is a real packet too: followed by its headers as sent (SPEC) instead of
//! its tag, every sample's packet must give the observations Antrea would report (expected.json,
//! written by hand from Antrea's rules) — what a liveTraffic Traceflow reports for the first
//! packet of a connection — and the fate the scenario says.

mod support;

use serde_json::Value;
use support::{antrea_essentials, expects_drop, hoptrace, sample};

fn scenarios() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(sample(""))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").is_file() && e.path().join("probe.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The SPEC of a sample's probe as its source Pod sent it: protocol, addresses, destination port.
fn spec_of(probe: &Value) -> String {
    let ip = &probe["ip"];
    let t = &probe["transport"];
    let v6 = ip["version"] == 6;
    let proto = t["protocol"].as_str().unwrap();
    let proto = match (proto, v6) {
        ("icmp", true) => "icmp6".to_string(),
        (p, true) => format!("{p}6"),
        (p, false) => p.to_string(),
    };
    let (src, dst) = if v6 { ("ipv6_src", "ipv6_dst") } else { ("nw_src", "nw_dst") };
    let mut spec = format!("{proto},{src}={},{dst}={}", ip["src"].as_str().unwrap(), ip["dst"].as_str().unwrap());
    if let Some(p) = t.get("dstPort").and_then(Value::as_u64) {
        spec.push_str(&format!(",tp_dst={p}"));
    }
    spec
}

fn json(out: &std::process::Output, what: &str) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn every_sample_probe_followed_as_real_traffic_reads_like_antrea() {
    let all = scenarios();
    assert!(all.len() >= 9, "{all:?}");
    for name in all {
        let dir = sample(&name);
        let probe: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("probe.json")).unwrap()).unwrap();
        let spec = spec_of(&probe);
        let out = hoptrace().args(["analyze", "--format", "json", "-q", "--match", &spec]).arg(&dir).output().unwrap();
        let got = json(&out, &name);
        let want: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        assert_eq!(got["schema"], "hoptrace.live/v1", "{name}");
        let conns = got["connections"].as_array().unwrap();
        assert_eq!(conns.len(), 1, "{name} ({spec}): {}", got["summary"]);
        let first = &conns[0]["firstPacket"];
        assert_eq!(first["phase"], want["phase"], "{name}");
        assert_eq!(antrea_essentials(&first["results"]), antrea_essentials(&want["results"]), "{name}");
        let dropped = expects_drop(&want);
        let fate = conns[0]["fate"].as_str().unwrap();
        if dropped {
            assert_eq!(fate, "dropped", "{name}");
            assert_eq!(out.status.code(), Some(1), "{name}");
            assert_eq!(got["summary"]["drops"][0]["connections"], 1, "{name}");
        } else {
            assert!(fate == "delivered" || fate == "forwarded-out", "{name}: {fate}");
            assert_eq!(out.status.code(), Some(0), "{name}");
        }
        // The packet's sightings start where the source Pod sent it, as sent.
        let p = &conns[0]["packets"][0];
        let seen = p["sightings"].as_array().unwrap();
        assert!(!seen.is_empty(), "{name}");
        assert_eq!(p["ipId"], probe["ip"]["identification"], "{name}");
    }
}

/// A Service connection is reported as sent (ClusterIP), delivered to the endpoint the
/// captures show, with the table and CSV views naming both.
#[test]
fn a_service_connection_names_its_endpoint() {
    let dir = sample("pod-to-service-remote");
    let spec = "tcp,nw_src=10.10.1.5,nw_dst=10.96.0.20,tp_dst=80";
    let out = hoptrace().args(["analyze", "--format", "json", "-q", "--match", spec]).arg(&dir).output().unwrap();
    let got = json(&out, "json");
    let c = &got["connections"][0];
    assert_eq!(c["tuple"], "tcp 10.10.1.5:10004 > 10.96.0.20:80");
    assert_eq!(c["endpoint"], "default/web-b 10.10.2.6:8080");
    assert_eq!(got["summary"]["endpoints"][0][0], "default/web-b 10.10.2.6:8080");
    let last = &c["packets"][0]["lastSeen"];
    assert_eq!((last["node"].as_str(), last["ttl"].as_u64()), (Some("k8s-node2"), Some(62)));
    let table = hoptrace().args(["analyze", "--format", "table", "-q", "--match", spec]).arg(&dir).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains("connection 1: tcp 10.10.1.5:10004 > 10.96.0.20:80  delivered -> default/web-b 10.10.2.6:8080"),
        "{text}"
    );
    let csv = hoptrace().args(["analyze", "--format", "csv", "-q", "--match", spec]).arg(&dir).output().unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("connection,tuple,packet,time,ipId"));
    let row = lines.next().unwrap();
    assert!(row.contains(",delivered,k8s-node2,web-b-5dacae,tcp 10.10.1.5:10004 > 10.10.2.6:8080,62,"), "{row}");
}

#[test]
fn bad_specs_exit_2_and_say_why() {
    let dir = sample("pod-to-pod-intra-node");
    for (spec, want) in [
        ("tcp,nw_src=10.10.1.5,frobnicate=1", "cannot be matched"),
        ("ipv6,nw_src=10.10.1.5", "prerequisites"),
        ("tp_dst=80,nw_dst=10.10.1.6", "prerequisites"),
        ("tcp,nw_src=10.10.1.5,ct_state=+new", "cannot be matched on real traffic"),
    ] {
        let out = hoptrace().args(["analyze", "-q", "--match", spec]).arg(&dir).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{spec}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{spec}: {err}");
    }
    let out = hoptrace()
        .args(["analyze", "-q", "--match", "tcp,nw_src=10.10.1.5", "--connections", "0"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = hoptrace().args(["analyze", "-q", "--dropped-only"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--dropped-only needs --match");
}

/// `-S`/`-D`/`-f` name the SPEC as `craft` does: through the inputs' cluster inventory, to the
/// same connections as the SPEC written out; a name that is not there, a side given twice and a
/// name without an inventory exit 2 and say so.
#[test]
fn names_resolve_through_the_inventory_like_craft() {
    let dir = sample("live-service-spread");
    let run =
        |args: &[&str]| hoptrace().args(["analyze", "--format", "json", "-q"]).args(args).arg(&dir).output().unwrap();
    let mut by_spec =
        json(&run(&["--connections", "all", "--match", "tcp,nw_src=10.10.1.5,nw_dst=10.96.0.30,tp_dst=80"]), "spec");
    let mut by_name = json(
        &run(&["--connections", "all", "-S", "default/client", "-D", "default/web", "-f", "tcp,tcp_dst=80"]),
        "names",
    );
    assert_eq!(by_name["spec"], "tcp,tcp_dst=80,nw_src=10.10.1.5,nw_dst=10.96.0.30");
    by_spec["spec"] = Value::Null;
    by_name["spec"] = Value::Null;
    assert_eq!(by_spec, by_name);
    assert_eq!(by_name["summary"]["found"], 6);
    for (args, want) in [
        (&["-S", "default/clinet"][..], "source Pod default/clinet not found in"),
        (
            &["-S", "default/client", "--match", "tcp,nw_src=10.10.1.5"][..],
            "-S/--source and nw_src both give the source",
        ),
        (&["-D", "default/web", "-f", "ipv6"][..], "does not have a ClusterIP of the probe's family"),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let no_inventory =
        hoptrace().args(["analyze", "-q", "-S", "default/client"]).arg(dir.join("k8s-node1")).output().unwrap();
    assert_eq!(no_inventory.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_inventory.stderr).contains("needs a cluster inventory among the inputs"));
}

/// Nothing matches: exit 3, and the finding lists every capture searched with its time span, so
/// a capture of the wrong day or the wrong Pod shows.
#[test]
fn a_spec_that_matches_nothing_says_where_it_looked() {
    let dir = sample("pod-to-pod-intra-node");
    let out = hoptrace()
        .args(["analyze", "--format", "json", "-q", "--match", "udp,nw_src=10.10.1.5,nw_dst=10.10.1.6,tp_dst=53"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let got = json(&out, "nothing");
    assert_eq!(got["summary"]["found"], 0);
    let f = got["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "missing-input").expect("a finding");
    let m = f["message"].as_str().unwrap();
    assert!(m.contains("no packet in the captures matches it") && m.contains("k8s-node1_client-05da76.pcap"), "{m}");
    assert!(m.contains("2026-11-26T20:47:12"), "the searched span: {m}");
    // A window that excludes the packet finds nothing either.
    let out = hoptrace()
        .args([
            "analyze",
            "--format",
            "json",
            "-q",
            "--match",
            "tcp,nw_src=10.10.1.5,nw_dst=10.10.1.6",
            "--to",
            "2026-11-26T20:00:00Z",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(json(&out, "window")["summary"]["found"], 0);
}

/// The live samples (real kernel traffic recorded by the testbed, no tag): every connection's
/// fate, endpoint, drop point and rule, and its replies' fate, as `expected-connections.json`
/// says (written by hand from the topology, the policies and the servers' own logs).
#[test]
fn every_live_sample_connection_gets_its_expected_fate() {
    let mut dirs: Vec<_> = std::fs::read_dir(sample(""))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("expected-connections.json").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 7, "{dirs:?}");
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let want: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected-connections.json")).unwrap()).unwrap();
        let expected = want["connections"].as_array().unwrap();
        let replies = expected.iter().any(|c| !c["reply"].is_null());
        let mut args = vec![
            "analyze",
            "--format",
            "json",
            "-q",
            "--connections",
            "all",
            "--match",
            want["match"].as_str().unwrap(),
        ];
        if replies {
            args.push("--replies");
        }
        let out = hoptrace().args(&args).arg(&dir).output().unwrap();
        let got = json(&out, &name);
        assert_eq!(got["summary"]["found"].as_u64(), Some(expected.len() as u64), "{name}: {}", got["summary"]);
        let mut any_drop = false;
        for w in expected {
            let tuple = format!(
                "{} {} > {}",
                w["protocol"].as_str().unwrap().to_lowercase(),
                w["client"].as_str().unwrap(),
                w["server"].as_str().unwrap()
            );
            let c = got["connections"].as_array().unwrap().iter().find(|c| c["tuple"] == tuple.as_str());
            let c = c.unwrap_or_else(|| panic!("{name}: no connection {tuple}"));
            assert_eq!(c["fate"], w["fate"], "{name} {tuple}");
            if !w["endpoint"].is_null() {
                assert_eq!(c["endpoint"], w["endpoint"], "{name} {tuple}");
            }
            if let Some(d) = w["drop"].as_object() {
                any_drop = true;
                let g = &c["drop"];
                assert_eq!((&g["node"], &g["component"]), (&d["node"], &d["component"]), "{name} {tuple}: {g}");
                let rule = d["rule"].as_str();
                assert!(
                    g["networkPolicyRule"].as_str() == rule || g["componentInfo"].as_str() == rule,
                    "{name} {tuple}: {g}"
                );
                assert_eq!(g["networkPolicy"].as_str(), d["policy"].as_str(), "{name} {tuple}: {g}");
            }
            if let Some(r) = w["reply"].as_object() {
                let gr = &c["replies"];
                assert_eq!(gr["fate"], r["fate"], "{name} {tuple} replies");
                if let Some(d) = r["drop"].as_object() {
                    any_drop = true;
                    let g = &gr["drop"];
                    assert_eq!(
                        (&g["node"], &g["component"]),
                        (&d["node"], &d["component"]),
                        "{name} {tuple} replies: {g}"
                    );
                    let rule = d["rule"].as_str();
                    assert!(
                        g["networkPolicyRule"].as_str() == rule || g["componentInfo"].as_str() == rule,
                        "{name}: {g}"
                    );
                }
            }
            // Every packet the client sent is followed.
            assert_eq!(c["counts"]["packets"], w["packets"]["client_sent"], "{name} {tuple}");
        }
        assert_eq!(out.status.code(), Some(if any_drop { 1 } else { 0 }), "{name}");
    }
}

/// Copies a sample's node files without its captures and earlier dumps: a bundle with flow
/// dumps only.
fn flows_only(name: &str, to: &std::path::Path) {
    let src = sample(name);
    for entry in std::fs::read_dir(&src).unwrap().filter_map(|e| e.ok()) {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let node = to.join(entry.file_name());
        std::fs::create_dir_all(&node).unwrap();
        for f in std::fs::read_dir(&path).unwrap().filter_map(|e| e.ok()) {
            let file = f.file_name().to_string_lossy().to_string();
            let capture = file.ends_with(".pcap") || file.ends_with(".pcapng");
            if f.path().is_file() && !capture {
                std::fs::copy(f.path(), node.join(&file)).unwrap();
            }
        }
    }
    std::fs::copy(src.join("clusterinfo"), to.join("clusterinfo")).unwrap();
}

/// "What was dropped in this bundle?": with `--dropped-only`, every drop flow that dropped
/// packets, named as Antrea would name the drop (the Antrea-native policy and rule by the conj
/// id, a K8s isolation drop by the Pod it isolates), counted between the dumps when there are two,
/// else since the flow was installed — also from flow dumps alone.
#[test]
fn dropped_only_lists_the_drop_flows_that_dropped() {
    let got = json(
        &hoptrace()
            .args(["analyze", "--format", "json", "-q", "--match", "tcp", "--dropped-only"])
            .arg(sample("live-policy-drop-syn-retrans"))
            .output()
            .unwrap(),
        "syn",
    );
    let d = &got["dropFlows"][0];
    assert_eq!(
        (d["node"].as_str(), d["table"].as_str(), d["isolates"].as_str()),
        (Some("k8s-node2"), Some("IngressDefaultRule"), Some("server-760d62")),
        "{d}"
    );
    assert_eq!(
        (d["packets"].as_u64(), d["betweenDumps"].as_bool()),
        (Some(3), Some(true)),
        "the SYN and its 2 retransmissions"
    );
    let tmp = tempfile::tempdir().unwrap();
    flows_only("live-antrea-policy-drops", tmp.path());
    let out = hoptrace()
        .args(["analyze", "--format", "json", "-q", "--match", "tcp", "--dropped-only"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let got = json(&out, "flows only");
    let flows = got["dropFlows"].as_array().unwrap();
    let named: Vec<(String, String, u64, bool)> = flows
        .iter()
        .map(|f| {
            (
                f["networkPolicy"].as_str().unwrap_or("-").to_string(),
                f["networkPolicyRule"].as_str().unwrap_or("-").to_string(),
                f["packets"].as_u64().unwrap(),
                f["betweenDumps"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        named.contains(&("AntreaNetworkPolicy:default/deny-ingress-secure".into(), "ingress-drop".into(), 2, false)),
        "{named:?}"
    );
    assert!(
        named.contains(&("AntreaClusterNetworkPolicy:deny-web-a-to-server".into(), "egress-drop".into(), 2, false)),
        "{named:?}"
    );
    assert!(flows.iter().all(|f| f["installedForMs"].is_u64()));
    // No captures: nothing to follow, and the result says so.
    assert_eq!(out.status.code(), Some(3));
    assert!(got["findings"].as_array().unwrap().iter().any(|f| f["message"].as_str().unwrap().contains("no captures")));
}
