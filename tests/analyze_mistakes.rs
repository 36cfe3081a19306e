//! What ordinary users bring that is not quite right, built from the samples: each case states
//! the outcome it must have — the right observations, or an honest incomplete or failed result
//! that names what is missing — and none may yield a confident wrong path.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{hoptrace, require, sample, Need};

/// Copies sample `name` into `to`, keeping the files `keep` accepts (paths relative to the sample).
fn copy_sample(name: &str, to: &Path, keep: &dyn Fn(&Path) -> bool) -> PathBuf {
    fn walk(root: &Path, from: &Path, to: &Path, keep: &dyn Fn(&Path) -> bool) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let dst = to.join(p.file_name().unwrap());
            if p.is_dir() {
                walk(root, &p, &dst, keep);
            } else if keep(p.strip_prefix(root).unwrap()) {
                std::fs::copy(&p, &dst).unwrap();
            }
        }
    }
    let dst = to.join(name);
    let src = sample(name);
    walk(&src, &src, &dst, keep);
    dst
}

/// `analyze ARGS --format json`: the result and the exit code.
fn analyze(args: &[&str]) -> (Value, i32) {
    let out = hoptrace().args(["analyze", "--format", "json", "-q"]).args(args).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (v, out.status.code().unwrap())
}

/// `component/componentInfo/action` per node.
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
                        "{}/{}/{}",
                        o["component"].as_str().unwrap(),
                        o["componentInfo"].as_str().unwrap_or("-"),
                        o["action"].as_str().unwrap()
                    )
                })
                .collect();
            (r["node"].as_str().unwrap().to_string(), obs)
        })
        .collect()
}

fn findings(v: &Value, kind: &str) -> Vec<String> {
    v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["kind"] == kind)
        .map(|f| format!("{}: {}", f["node"].as_str().unwrap_or("-"), f["message"].as_str().unwrap()))
        .collect()
}

/// Every observation says what it rests on.
fn assert_every_observation_has_a_basis(v: &Value) {
    for r in v["results"].as_array().unwrap() {
        for o in r["observations"].as_array().unwrap().iter().chain(r["hops"].as_array().into_iter().flatten()) {
            let ev = o["evidence"].as_array().unwrap_or_else(|| panic!("no evidence: {o}"));
            assert!(!ev.is_empty(), "{o}");
            for e in ev {
                let kind = e["kind"].as_str().unwrap();
                assert!(["capture", "flow", "counter", "simulation", "inferred"].contains(&kind), "{e}");
                if kind == "inferred" {
                    assert!(e["text"].as_str().is_some_and(|t| !t.is_empty()), "an inferred basis says from what: {e}");
                }
            }
        }
    }
}

#[test]
fn a_probe_from_another_scenario_is_not_found() {
    // The inter-node Pod-to-Pod captures, with the probe of the Service scenario: same source
    // Pod and tag, another destination, port and IP ID. No capture holds it.
    let (v, code) = analyze(&[
        sample("pod-to-pod-inter-node").to_str().unwrap(),
        "--probe",
        sample("pod-to-service-remote").join("probe.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["phase"], "Failed");
    assert!(v["results"].as_array().unwrap().is_empty(), "no path built from other traffic: {v}");
    assert!(v["reason"].as_str().unwrap().contains("not in the captures"), "{v}");
    let missing = findings(&v, "missing-input").join("\n");
    assert!(missing.contains("searched k8s-node1") && missing.contains("k8s-node2"), "{missing}");
    // The nearest miss: the scenario's own probe, with the tag and another IP ID.
    assert!(missing.contains("carry the probe's tag without the rest of its fingerprint"), "{missing}");
    assert!(missing.contains("10.10.1.5 > 10.10.2.5, protocol 6, IP ID / flow label 0x532f"), "{missing}");
}

#[test]
fn only_the_receiver_node_names_the_missing_sender() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-service-remote", tmp.path(), &|p| !p.starts_with("k8s-node1"));
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["phase"], "Failed");
    // The receiver reports what it saw, and is never the sender.
    assert_eq!(
        shape(&v),
        [("k8s-node2".to_string(), vec!["Forwarding/-/Received".to_string(), "Forwarding/Output/Delivered".into()])]
    );
    assert_eq!(v["results"][0]["role"], "receiver");
    let missing = findings(&v, "missing-input").join("\n");
    assert!(
        missing.contains("k8s-node1: the cluster inventory puts the source Pod 10.10.1.5 on k8s-node1"),
        "{missing}"
    );
    assert_every_observation_has_a_basis(&v);
}

#[test]
fn only_the_receiver_node_without_inventory_names_the_sender_by_its_tunnel() {
    // No cluster inventory, and a probe.json without the source's node: the receiver's
    // underlay capture shows the probe arriving encapsulated (inner TTL 63) from 192.168.77.101.
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-service-remote", tmp.path(), &|p| {
        !p.starts_with("k8s-node1") && !p.ends_with("clusterinfo") && !p.ends_with("cluster.json")
    });
    let mut probe: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("probe.json")).unwrap()).unwrap();
    probe["source"].as_object_mut().unwrap().remove("node");
    std::fs::write(dir.join("probe.json"), serde_json::to_string(&probe).unwrap()).unwrap();
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 3, "{v}");
    assert!(shape(&v)[0].1[0] == "Forwarding/-/Received", "{v}");
    let missing = findings(&v, "missing-input").join("\n");
    assert!(missing.contains("transport IP 192.168.77.101"), "{missing}");
}

#[test]
fn only_the_sender_node_names_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-service-remote", tmp.path(), &|p| !p.starts_with("k8s-node2"));
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["phase"], "Failed");
    assert_eq!(shape(&v)[0].0, "k8s-node1");
    assert_eq!(shape(&v)[0].1.last().unwrap(), "Forwarding/Output/Forwarded");
    let missing = findings(&v, "missing-input").join("\n");
    assert!(missing.contains("192.168.77.102") && missing.contains("no input names that node"), "{missing}");
    assert_every_observation_has_a_basis(&v);
}

#[test]
fn flows_alone_say_they_are_a_simulation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-service-remote", tmp.path(), &|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        !(n.ends_with(".pcap") || n.ends_with(".pcapng") || p.to_string_lossy().contains("before"))
    });
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_every_observation_has_a_basis(&v);
    for r in v["results"].as_array().unwrap() {
        for o in r["observations"].as_array().unwrap() {
            let kinds: Vec<&str> =
                o["evidence"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
            assert!(kinds.iter().all(|k| ["simulation", "inferred", "flow"].contains(k)), "{o}");
            assert!(!kinds.contains(&"counter"), "no counter moved: {o}");
        }
    }
    assert!(!findings(&v, "assumption").is_empty());
}

#[test]
fn every_sample_gives_every_observation_a_basis() {
    for e in std::fs::read_dir(sample("")).unwrap() {
        let dir = e.unwrap().path();
        if !dir.join("probe.json").is_file() {
            continue;
        }
        let (v, _) = analyze(&[dir.to_str().unwrap(), "--detail", "hops"]);
        assert_every_observation_has_a_basis(&v);
    }
}

/// `analyze ARGS` as a user runs it (no `-q`): stdout, stderr, exit code.
fn run(args: &[&str]) -> (String, String, i32) {
    let out = hoptrace().arg("analyze").args(args).output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap(),
    )
}

#[test]
fn the_terminal_gets_a_summary_also_when_the_result_goes_to_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("result.json");
    let (stdout, stderr, code) = run(&[sample("pod-to-service-remote").to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim(), "hoptrace: Succeeded: Delivered on k8s-node2 at web-b-5dacae", "{stderr}");
    // -q silences it; -v lists every input with its node and role.
    let (_, quiet, _) = run(&[sample("pod-to-service-remote").to_str().unwrap(), "-o", out.to_str().unwrap(), "-q"]);
    assert!(quiet.is_empty(), "{quiet}");
    let (_, verbose, _) = run(&[sample("pod-to-service-remote").to_str().unwrap(), "-o", out.to_str().unwrap(), "-v"]);
    assert!(
        verbose.contains("k8s-node2_web-b-5dacae.pcap -> k8s-node2: capture: web-b-5dacae; 4 packets, 1 sightings"),
        "{verbose}"
    );
    assert!(verbose.contains("before/flows -> k8s-node1: earlier flow dump"), "{verbose}");
    // A failed analysis says why in the same line.
    let (_, stderr, code) = run(&[
        sample("pod-to-pod-inter-node").to_str().unwrap(),
        "--probe",
        sample("pod-to-service-remote").join("probe.json").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("hoptrace: Failed: the probe (tag 7,") && stderr.contains("findings: 1 missing-input"),
        "{stderr}"
    );
}

#[test]
fn a_kubectl_style_output_flag_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for f in ["json", "yaml"] {
        let out = hoptrace()
            .current_dir(tmp.path())
            .args(["analyze", sample("pod-to-service-remote").to_str().unwrap(), "-o", f])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
        assert!(!tmp.path().join(f).exists(), "no file called {f}");
    }
}

#[test]
fn a_node_name_typo_is_pointed_out() {
    // The bundle says k8s-node1; the user typed k8s-node-1 for an extra capture.
    let dir = sample("pod-to-service-remote");
    let capture = dir.join("k8s-node1").join("k8s-node1_any.pcapng");
    let (v, _) = analyze(&[dir.to_str().unwrap(), &format!("k8s-node-1={}", capture.display())]);
    let bad = findings(&v, "bad-input").join("\n");
    assert!(bad.contains("did you mean k8s-node1?"), "{bad}");
    // A file name that names another node than the one given.
    let (v, _) = analyze(&[dir.to_str().unwrap(), &format!("k8s-node2={}", capture.display())]);
    let bad = findings(&v, "bad-input").join("\n");
    assert!(bad.contains("given as a capture of k8s-node2, but its name says node k8s-node1"), "{bad}");
}

#[test]
fn advice_names_only_flags_analyze_accepts() {
    // Every flag a finding suggests is accepted by analyze.
    let mut suggested = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(sample("")).unwrap() {
        let dir = e.unwrap().path();
        if !dir.join("probe.json").is_file() {
            continue;
        }
        let (v, _) = analyze(&[dir.to_str().unwrap()]);
        for f in v["findings"].as_array().into_iter().flatten() {
            let m = f["message"].as_str().unwrap();
            for w in m.split_whitespace().filter(|w| w.starts_with("--")) {
                suggested.insert(
                    w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                        .split('=')
                        .next()
                        .unwrap()
                        .to_string(),
                );
            }
        }
    }
    let help = String::from_utf8(hoptrace().args(["analyze", "--help"]).output().unwrap().stdout).unwrap();
    for flag in &suggested {
        assert!(help.contains(flag.as_str()), "a finding suggests {flag}, which analyze does not accept");
    }
    // And the simulator choices work there: the endpoint the captures show, given by hand.
    let (v, code) = analyze(&[sample("pod-to-service-remote").to_str().unwrap(), "--endpoint", "10.10.2.6"]);
    assert_eq!(code, 0, "{v}");
    let (v, _) = analyze(&[sample("pod-to-service-remote").to_str().unwrap(), "--endpoint", "10.99.99.99"]);
    assert!(findings(&v, "bad-input").join("").contains("--endpoint 10.99.99.99: no Service group bucket"), "{v}");
}

/// Adds, beside every capture of `dir`'s nodes, a rotated file (`NAME.pcap1`) holding the same
/// packets `seconds` earlier: an older run of the same probe.
fn add_older_copy(dir: &Path, seconds: &str) {
    for node in ["k8s-node1", "k8s-node2"] {
        for e in std::fs::read_dir(dir.join(node)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
                continue;
            }
            let old = p.with_file_name(format!("{name}1"));
            let st = std::process::Command::new("editcap")
                .args(["-t", &format!("-{seconds}")])
                .arg(&p)
                .arg(&old)
                .status()
                .expect("editcap (tshark's package) is needed");
            assert!(st.success());
        }
    }
}

#[test]
fn an_older_copy_of_the_probe_is_listed_not_mixed_in() {
    require!(Need::Tool("editcap"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-service-remote", tmp.path(), &|_| true);
    let (want, _) = analyze(&[sample("pod-to-service-remote").to_str().unwrap()]);
    add_older_copy(&dir, "86400");
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(shape(&v), shape(&want));
    // The latest copy, with the clocks of the real run (no day-long shift).
    assert_eq!(v["results"][0]["observations"][0]["time"], want["results"][0]["observations"][0]["time"]);
    for c in v["clocks"].as_array().unwrap() {
        assert!(c["offsetNs"].as_i64().unwrap().abs() < 1_000_000_000, "{c}");
    }
    let listed = findings(&v, "assumption").join("\n");
    assert!(listed.contains("2 copies of the probe") && listed.contains("copy 2 is analysed"), "{listed}");
    // --copy 1 analyses the older one: the same path a day earlier.
    let (old, code) = analyze(&[dir.to_str().unwrap(), "--copy", "1"]);
    assert_eq!(code, 0, "{old}");
    assert_eq!(shape(&old), shape(&want));
    let t = |v: &Value| v["results"][0]["observations"][0]["rawTimeNs"].as_i64().unwrap();
    assert_eq!(t(&want) - t(&old), 86_400_000_000_000);
    // --at picks by time.
    let at = want["results"][0]["observations"][0]["time"].as_str().unwrap();
    let (by_time, _) = analyze(&[dir.to_str().unwrap(), "--at", at]);
    assert_eq!(t(&by_time), t(&want));
}

#[test]
fn an_implausible_clock_offset_is_a_finding_not_a_silent_shift() {
    require!(Need::Tool("editcap"));
    // Node 2's clock runs two minutes behind: within the copy window, beyond what is corrected.
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-service-remote", tmp.path(), &|_| true);
    for e in std::fs::read_dir(dir.join("k8s-node2")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".pcap") || name.ends_with(".pcapng") {
            let tmp = p.with_extension("shifted");
            assert!(std::process::Command::new("editcap")
                .args(["-t", "-120"])
                .arg(&p)
                .arg(&tmp)
                .status()
                .unwrap()
                .success());
            std::fs::rename(&tmp, &p).unwrap();
        }
    }
    let (v, _) = analyze(&[dir.to_str().unwrap()]);
    let dis = findings(&v, "disagreement").join("\n");
    assert!(dis.contains("k8s-node2: the tunnel crossing puts this node's clock 120.0 s behind"), "{dis}");
    assert_eq!(v["clocks"][1]["offsetNs"], 0, "not applied: {}", v["clocks"]);
}

#[test]
fn only_any_captures_keep_times_and_claim_no_absence() {
    // The `tcpdump -i any` captures craft recommends, without per-interface files or the
    // nodes' `link` and `address` files (which name the interface indexes): the interfaces are
    // unknown, the times and the path are not.
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-service-remote", tmp.path(), &|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        !n.ends_with(".pcap") && n != "link" && n != "address"
    });
    let (want, _) = analyze(&[sample("pod-to-service-remote").to_str().unwrap()]);
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(shape(&v), shape(&want));
    let first = &v["results"][0]["observations"][0];
    let last = v["results"][1]["observations"].as_array().unwrap().last().unwrap().clone();
    assert!(first["time"].is_string() && last["time"].is_string(), "SpoofGuard and Delivered keep their times: {v}");
    let dis = findings(&v, "disagreement").join("\n");
    assert!(!dis.contains("no capture of this node shows it"), "an unknown interface is not absence: {dis}");
    assert!(findings(&v, "assumption").join("").contains("whose interface is unknown"), "{v}");
}

#[test]
fn a_simulation_stopped_by_a_bound_claims_no_drop() {
    // Flows alone (simulation only), and a flow that resubmits to its own table on the sender:
    // the simulator stops at OVS's depth limit, in a table that is not where the packet ends.
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-pod-intra-node", tmp.path(), &|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        !(n.ends_with(".pcap") || n.ends_with(".pcapng") || p.to_string_lossy().contains("before"))
    });
    let flows = dir.join("k8s-node1/flows");
    let mut text = std::fs::read_to_string(&flows).unwrap();
    text.push_str(
        "cookie=0x0, duration=2.185s, table=PipelineRootClassifier, n_packets=0, n_bytes=0, idle_age=2, priority=65000,ip actions=resubmit(,PipelineRootClassifier)\n",
    );
    std::fs::write(&flows, text).unwrap();
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_ne!(v["phase"], "Succeeded", "{v}");
    assert_ne!(code, 0, "{v}");
    for r in v["results"].as_array().unwrap() {
        for o in r["observations"].as_array().unwrap() {
            assert_ne!(o["action"], "Dropped", "a stopped simulation is not a drop: {o}");
        }
    }
    let stopped = findings(&v, "assumption");
    assert!(stopped.iter().any(|f| f.contains("did not finish") && f.contains("depth")), "{stopped:?}");
}

/// The probe frame of a sample's `probe.pcap` and its capture time in microseconds.
fn probe_frame(sample_dir: &Path) -> Vec<u8> {
    let pcap = std::fs::read(sample_dir.join("probe.pcap")).unwrap();
    let len = u32::from_le_bytes(pcap[24 + 8..24 + 12].try_into().unwrap()) as usize;
    pcap[24 + 16..24 + 16 + len].to_vec()
}

/// The records of a classic little-endian microsecond pcap: (time in µs, frame).
fn pcap_records(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    assert_eq!(bytes[..4], [0xd4, 0xc3, 0xb2, 0xa1], "a little-endian microsecond pcap");
    let (mut at, mut out) = (24, Vec::new());
    while at + 16 <= bytes.len() {
        let word = |o: usize| u32::from_le_bytes(bytes[at + o..at + o + 4].try_into().unwrap());
        let (ts, len) = (word(0) as u64 * 1_000_000 + word(4) as u64, word(8) as usize);
        out.push((ts, bytes[at + 16..at + 16 + len].to_vec()));
        at += 16 + len;
    }
    out
}

/// Appends `frame` to a classic little-endian microsecond pcap, `after_us` after its last packet.
fn append_after_last(path: &Path, frame: &[u8], after_us: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    let last_us = pcap_records(&bytes).last().map_or(0, |r| r.0);
    support::frames::pcap_record(&mut bytes, last_us + after_us, frame);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_reply_that_echoes_the_fingerprint_is_not_a_sighting() {
    // A UDP echo from a stack that copies the IP ID and the DSCP: the probe's fingerprint, going
    // the other way. Seen on both Pods' interfaces after the probe, it must not become a
    // sighting (it would be the "latest copy", travelling from the destination to the source).
    let name = "pod-to-pod-udp-inter-node";
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample(name, tmp.path(), &|_| true);
    let mut reply = probe_frame(&dir);
    let swap = |f: &mut Vec<u8>, a: usize, b: usize, n: usize| {
        for i in 0..n {
            f.swap(a + i, b + i);
        }
    };
    swap(&mut reply, 0, 6, 6); // MACs
    swap(&mut reply, 14 + 12, 14 + 16, 4); // IPv4 addresses
    swap(&mut reply, 14 + 20, 14 + 22, 2); // UDP ports
    for file in ["k8s-node2/k8s-node2_web-b-5dacae.pcap", "k8s-node1/k8s-node1_client-05da76.pcap"] {
        append_after_last(&dir.join(file), &reply, 5_000);
    }
    let (want, want_code) = analyze(&[sample(name).to_str().unwrap()]);
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, want_code, "{v}");
    assert_eq!(shape(&v), shape(&want));
    let paths = |v: &Value, dir: &Path| v["results"].to_string().replace(dir.to_str().unwrap(), "SAMPLE");
    assert_eq!(paths(&v, &dir), paths(&want, &sample(name)), "the same observations, times and evidence");
    assert!(!findings(&v, "assumption").join("").contains("copies of the probe"), "{v}");
    // extract says what it set aside.
    let out = tmp.path().join("client.evidence.json");
    hoptrace()
        .args(["extract", "-q", "--node", "k8s-node1", "--probe"])
        .arg(dir.join("probe.json"))
        .arg(dir.join("k8s-node1/k8s-node1_client-05da76.pcap"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let ev: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(ev["captures"][0]["replies"], 1, "{ev}");
    assert_eq!(ev["captures"][0]["sightings"], 1, "{ev}");
}

/// Observations as (node, component, action, interface).
fn interfaces(v: &Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for r in v["results"].as_array().unwrap() {
        for o in r["observations"].as_array().unwrap() {
            let s = |k: &str| o[k].as_str().unwrap_or("-").to_string();
            out.push((r["node"].as_str().unwrap().to_string(), s("component"), s("action"), s("interface")));
        }
    }
    out
}

#[test]
fn only_any_captures_with_link_name_every_interface() {
    // `tcpdump -i any` captures (SLL2, interface indexes only) beside the nodes' `link` files:
    // the same interfaces as per-interface captures give, and no assumption about them.
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-service-remote", tmp.path(), &|p| {
        !p.file_name().unwrap().to_string_lossy().ends_with(".pcap")
    });
    let (want, _) = analyze(&[sample("pod-to-service-remote").to_str().unwrap()]);
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(interfaces(&v), interfaces(&want));
    assert!(!findings(&v, "assumption").join("").contains("interface is unknown"), "{v}");
}

#[test]
fn a_packetcapture_intf0_pcapng_is_an_unknown_interface() {
    // Antrea's PacketCapture writes pcapng files whose interface is called `intf0`, under a name
    // of its own. Here it replaces the destination Pod's capture: the delivery is still seen,
    // at an interface said to be unknown, never at one called intf0.
    let name = "pod-to-pod-udp-inter-node";
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample(name, tmp.path(), &|p| {
        !p.ends_with("k8s-node2/k8s-node2_web-b-5dacae.pcap") && !p.ends_with("k8s-node2/k8s-node2_any.pcapng")
    });
    let pcap = std::fs::read(sample(name).join("k8s-node2/k8s-node2_web-b-5dacae.pcap")).unwrap();
    let mut ng = support::frames::pcapng_section();
    support::frames::pcapng_interface(&mut ng, 1, "intf0", 6);
    for (ts, frame) in pcap_records(&pcap) {
        support::frames::pcapng_packet(&mut ng, 0, ts, &frame, None);
    }
    std::fs::write(dir.join("k8s-node2/web-b-capture.pcapng"), ng).unwrap();
    let (want, want_code) = analyze(&[sample(name).to_str().unwrap()]);
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, want_code, "{v}");
    assert_eq!(shape(&v), shape(&want));
    let delivered = interfaces(&v).into_iter().find(|o| o.2 == "Delivered").unwrap();
    assert_eq!(delivered.3, "-", "no interface called intf0: {v}");
    let last = v["results"][1]["observations"].as_array().unwrap().last().unwrap().clone();
    assert!(last["time"].is_string(), "{last}");
    assert!(findings(&v, "assumption").join("").contains("whose interface is unknown"), "{v}");
    assert!(!findings(&v, "disagreement").join("").contains("no capture of this node shows it"), "{v}");
    // Said on the command line, the interface is the real one again: the sample's exact result.
    let pc = dir.join("k8s-node2/web-b-capture.pcapng");
    let moved = tmp.path().join("web-b-capture.pcapng");
    std::fs::rename(&pc, &moved).unwrap();
    let given = format!("k8s-node2:web-b-5dacae={}", moved.display());
    let (v, code) = analyze(&[dir.to_str().unwrap(), &given]);
    assert_eq!(code, want_code, "{v}");
    assert_eq!(interfaces(&v), interfaces(&want));
    assert!(!findings(&v, "assumption").join("").contains("interface is unknown"), "{v}");
    // A directory is refused with the reason (the rest is analysed).
    let (v, _) = analyze(&[dir.to_str().unwrap(), &format!("k8s-node2:eth0={}", dir.display())]);
    assert!(findings(&v, "bad-input").join("").contains("names the interface of a capture file"), "{v}");
}

#[test]
fn a_pasted_prompt_line_costs_that_line_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-pod-inter-node", tmp.path(), &|_| true);
    let prompt = "user@k8s-node1:~$ kubectl exec -n kube-system antrea-agent-7xk2p -c antrea-agent -- ovs-ofctl dump-flows br-int";
    let flows = dir.join("k8s-node1/flows");
    let text = std::fs::read_to_string(&flows).unwrap();
    std::fs::write(&flows, format!("{prompt}\n{text}")).unwrap();
    // The earlier dump too, in its middle.
    let before = dir.join("k8s-node1/before/flows");
    let text = std::fs::read_to_string(&before).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines.len() / 2;
    lines.insert(at, "user@k8s-node1:~$ ovs-ofctl dump-flows br-int");
    std::fs::write(&before, lines.join("\n") + "\n").unwrap();
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    let (expected, _) = analyze(&[sample("pod-to-pod-inter-node").to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["phase"], "Succeeded");
    assert_eq!(shape(&v), shape(&expected), "the rest of the dump gives the same path");
    let bad = findings(&v, "bad-input").join("\n");
    let not_a_flow = "not a flow: expected `key=value,...` match fields and `actions=`";
    assert!(bad.contains(&format!("k8s-node1: {}:1: {not_a_flow}", flows.display())), "{bad}");
    assert!(bad.contains(&format!("k8s-node1: {}:{}: {not_a_flow}", before.display(), at + 1)), "{bad}");
    assert!(bad.contains("(it reads `user@k8s-node1:~$ kubectl exec"), "the skipped line is quoted: {bad}");
    assert_every_observation_has_a_basis(&v);
    let (_, verbose, _) = run(&[dir.to_str().unwrap(), "--format", "json", "-o", "-", "-v"]);
    assert!(verbose.contains(", 1 line skipped (counter deltas)"), "-v says what each dump lost: {verbose}");
}

#[test]
fn a_flow_with_an_unknown_match_key_is_never_a_silent_drop() {
    // No earlier dumps and no captures on the receiver: its path is the simulation of its
    // pipeline, in which the ingress rule's source clause has a typo (`w_src=`). Skipping that
    // flow (as hoptrace once did) gives a confident path through the flows below it, which the
    // dump does not support; the answer must be that this node's path is not known.
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-pod-inter-node", tmp.path(), &|p| {
        let capture = p.extension().is_some_and(|e| e == "pcap" || e == "pcapng");
        let earlier_dump = p.components().any(|c| c.as_os_str() == "before");
        let receiver_capture = p.starts_with("k8s-node2") && capture;
        !earlier_dump && !receiver_capture
    });
    let flows = dir.join("k8s-node2/flows");
    let text = std::fs::read_to_string(&flows).unwrap();
    let clause = "priority=200,ip,nw_src=10.10.1.5 actions=conjunction(2,1/3)";
    let line = text.lines().position(|l| l.ends_with(clause)).expect("the ingress rule's source clause") + 1;
    std::fs::write(&flows, text.replace(clause, "priority=200,ip,w_src=10.10.1.5 actions=conjunction(2,1/3)")).unwrap();
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["phase"], "Failed");
    for (node, obs) in shape(&v) {
        assert!(obs.iter().all(|o| !o.ends_with("/Dropped")), "{node}: {obs:?}");
        if node == "k8s-node2" {
            assert_eq!(obs, ["Forwarding/-/Received"], "nothing past what the sender's path shows");
        }
    }
    let place = format!("{}:{line}", flows.display());
    let bad = findings(&v, "bad-input").join("\n");
    assert!(bad.contains(&format!("k8s-node2: {place}: unknown match field `w_src=10.10.1.5`")), "{bad}");
    let assumed = findings(&v, "assumption").join("\n");
    assert!(
        assumed.contains(&format!(
            "flow {place} (priority 200) may match this packet, but its match item `w_src=10.10.1.5`"
        )),
        "{assumed}"
    );
    assert_every_observation_has_a_basis(&v);
}

#[test]
fn a_probe_whose_tag_was_cleared_is_a_tuple_near_miss_with_each_capture_span() {
    // Every copy of the Service probe in the captures with DSCP 0 instead of the tag (a fabric
    // that clears the DSCP, a probe sent without it): the probe is not found, and the packets
    // with its 5-tuple, as sent on k8s-node1 and after the DNAT to web-b on k8s-node2, are the
    // near misses. probe.json records it sent a day after the captures ran.
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-service-remote", tmp.path(), &|_| true);
    // The probe's IPv4 header start: version/IHL, ToS 0x1c (DSCP 7), length 40, IP ID 0x845f.
    let (tagged, cleared) = (b"\x45\x1c\x00\x28\x84\x5f", b"\x45\x00\x00\x28\x84\x5f");
    let mut changed = 0;
    for node in ["k8s-node1", "k8s-node2"] {
        for e in std::fs::read_dir(dir.join(node)).unwrap() {
            let p = e.unwrap().path();
            if !p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                continue;
            }
            let mut b = std::fs::read(&p).unwrap();
            let mut i = 0;
            while let Some(at) = b[i..].windows(6).position(|w| w == tagged) {
                b[i + at..i + at + 6].copy_from_slice(cleared);
                changed += 1;
                i += at + 6;
            }
            std::fs::write(&p, b).unwrap();
        }
    }
    assert_eq!(changed, 8, "the sample's copies of the probe");
    let probe_path = dir.join("probe.json");
    let mut probe: Value = serde_json::from_str(&std::fs::read_to_string(&probe_path).unwrap()).unwrap();
    let first = pcap_records(&std::fs::read(dir.join("k8s-node1/k8s-node1_eth0.pcap")).unwrap())[0].0;
    let next_day = first * 1000 + 86_400_000_000_000;
    probe["sends"] = serde_json::json!([{ "timeNs": next_day, "time": "x", "interface": "eth0", "copy": 1 }]);
    std::fs::write(&probe_path, serde_json::to_string(&probe).unwrap()).unwrap();

    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["phase"], "Failed");
    assert!(v["results"].as_array().unwrap().is_empty(), "{v}");
    let missing = findings(&v, "missing-input").join("\n");
    assert!(
        missing.contains(
            "8 packet(s) have the probe's addresses, protocol and ports (as sent, or after the DNAT its Service's flows predict) but not its tag 7"
        ),
        "{missing}"
    );
    assert!(
        missing.contains("10.10.1.5:10004 > 10.96.0.20:80, DSCP 0, the probe's own IP ID / flow label 0x845f (likely the probe itself"),
        "{missing}"
    );
    // The server's replies echo the tag: those are the tag's near misses, counted apart.
    assert!(missing.contains("8 packet(s) carry the probe's tag without the rest of its fingerprint"), "{missing}");
    // Each capture's span, marked as not covering the send time.
    assert!(missing.contains("k8s-node1_eth0.pcap 2026-11-26T20:47:57Z..2026-11-26T20:47:57Z (not while"), "{missing}");
    assert!(missing.contains("7 without packets); k8s-node2"), "{missing}");
    assert!(
        missing.contains("(not while the probe was sent)") && missing.contains("probe.json records it sent at"),
        "{missing}"
    );
}

#[test]
fn a_bad_group_line_costs_that_group_only() {
    // A prompt pasted above the groups: the groups are all there, the path is the sample's.
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_sample("pod-to-service-remote", tmp.path(), &|_| true);
    let groups = dir.join("k8s-node1/groups");
    let text = std::fs::read_to_string(&groups).unwrap();
    std::fs::write(&groups, format!("user@k8s-node1:~$ ovs-ofctl dump-groups br-int\n{text}")).unwrap();
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    let (expected, _) = analyze(&[sample("pod-to-service-remote").to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(shape(&v), shape(&expected), "the rest of the groups give the same path");
    let bad = findings(&v, "bad-input").join("\n");
    assert!(
        bad.contains(&format!(
            "k8s-node1: {}:1: not a group: expected `group_id=N,type=TYPE,bucket=...`; line skipped (it reads `user@k8s-node1",
            groups.display()
        )),
        "{bad}"
    );
    let (_, verbose, _) = run(&[dir.to_str().unwrap(), "--format", "json", "-o", "-", "-v"]);
    assert!(verbose.contains(" groups (1 line skipped)"), "-v says what the groups file lost: {verbose}");

    // The Service's own group damaged, and nothing but the flows to go by: the simulation
    // cannot know the group's buckets, so it stops there — never "group 2 does not exist: drop".
    let dir = copy_sample("pod-to-service-remote", &tmp.path().join("sim"), &|p| {
        let capture = p.extension().is_some_and(|e| e == "pcap" || e == "pcapng");
        !capture && !p.components().any(|c| c.as_os_str() == "before")
    });
    let groups = dir.join("k8s-node1/groups");
    let text = std::fs::read_to_string(&groups).unwrap();
    let damaged = text.replace("group_id=2,type=select,", "group_id=2,type=selct,");
    assert_ne!(text, damaged);
    std::fs::write(&groups, damaged).unwrap();
    let (v, code) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(code, 3, "{v}");
    for (node, obs) in shape(&v) {
        assert!(obs.iter().all(|o| !o.ends_with("/Dropped")), "{node}: {obs:?}");
    }
    let bad = findings(&v, "bad-input").join("\n");
    assert!(bad.contains(&format!("{}:2: type=selct: unknown group type", groups.display())), "{bad}");
    let all = v["findings"].to_string();
    assert!(
        all.contains("group 2 is unresolved")
            && all.contains("had 1 line(s) that are not groups skipped (the first at line 2)"),
        "{v}"
    );
    assert_every_observation_has_a_basis(&v);
}
