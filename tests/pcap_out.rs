//! `analyze --pcap-out FILE` on every sample, read back by tshark: every sighting once, in
//! corrected time order and stamped with the corrected time, on an interface named as the
//! capture named it with its node in the description, each packet commented with hop, node,
//! interface, the observation it supports and Δt; it merges with another capture (mergecap); a
//! node whose clock runs 5 s behind is put back in order.

mod support;

use serde_json::Value;
use std::path::Path;
use support::{hoptrace, require, run_tool, sample, Need};

/// Runs `analyze -v --pcap-out` and returns the JSON result and the sightings `-v` counted.
fn analyze_with_pcap(dir: &Path, pcap: &Path) -> (Value, u64) {
    let out = hoptrace().args(["analyze", "-v", "--format", "json", "--pcap-out"]).arg(pcap).arg(dir).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("--pcap-out"), "nothing left out: {stderr}");
    let sightings = stderr
        .lines()
        .filter(|l| l.contains(": capture: "))
        .filter_map(|l| l.strip_suffix(" sightings").and_then(|l| l.rsplit(", ").next()))
        .map(|n| n.parse::<u64>().unwrap())
        .sum();
    (serde_json::from_slice(&out.stdout).unwrap(), sightings)
}

/// One packet as tshark shows it.
struct Frame {
    comment: String,
    interface: String,
    description: String,
    time: String,
}

fn tshark_frames(pcap: &Path) -> Vec<Frame> {
    let text = run_tool(
        "tshark",
        &[
            "-r",
            pcap.to_str().unwrap(),
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "frame.comment",
            "-e",
            "frame.interface_name",
            "-e",
            "frame.interface_description",
            "-e",
            "frame.time_epoch",
        ],
    );
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            assert_eq!(f.len(), 4, "{l}");
            Frame { comment: f[0].into(), interface: f[1].into(), description: f[2].into(), time: f[3].into() }
        })
        .collect()
}

fn epoch(ns: i64) -> String {
    format!("{}.{:09}", ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000))
}

fn offsets(v: &Value) -> Vec<(String, i64)> {
    v["clocks"]
        .as_array()
        .map(|a| a.iter().map(|c| (c["node"].as_str().unwrap().to_string(), c["offsetNs"].as_i64().unwrap())).collect())
        .unwrap_or_default()
}

/// The checks every stitched file must pass against its result.
fn check(name: &str, v: &Value, sightings: u64, frames: &[Frame]) {
    assert_eq!(frames.len() as u64, sightings, "{name}: every sighting once");
    assert!(sightings > 0, "{name}");
    let mut last = String::new();
    for (i, f) in frames.iter().enumerate() {
        let head = format!("hop {}: node ", i + 1);
        assert!(f.comment.starts_with(&head), "{name}: {}", f.comment);
        let node = f.comment[head.len()..].split(',').next().unwrap();
        assert!(
            f.comment.contains(&format!(", interface {};", f.interface)),
            "{name}: {} / {}",
            f.comment,
            f.interface
        );
        assert!(
            f.description.starts_with(&format!("node {node}, interface {}", f.interface)),
            "{name}: {}",
            f.description
        );
        assert!(i == 0 || f.comment.contains(&format!("since hop {i}")), "{name}: {}", f.comment);
        // Corrected time order (fixed-width epoch strings compare like numbers here).
        assert!(f.time >= last, "{name}: {} after {last}", f.time);
        last = f.time.clone();
    }
    // Every capture that supports an observation is a packet whose comment names that
    // observation, at the observation's corrected time.
    let offs = offsets(v);
    for r in v["results"].as_array().unwrap() {
        let node = r["node"].as_str().unwrap();
        let off = offs.iter().find(|(n, _)| n == node).map_or(0, |(_, o)| *o);
        for (k, o) in r["observations"].as_array().unwrap().iter().enumerate() {
            for e in o["evidence"].as_array().into_iter().flatten().filter(|e| e["kind"] == "capture") {
                let at = format!("{} packet {}", e["file"].as_str().unwrap(), e["packet"]);
                let f = frames
                    .iter()
                    .find(|f| f.comment.ends_with(&at) || f.comment.contains(&format!("{at},")))
                    .unwrap_or_else(|| panic!("{name}: no packet for {at}"));
                assert!(f.comment.contains(&format!("(observation {} on {node})", k + 1)), "{name}: {}", f.comment);
                assert!(f.comment.contains(&format!("node {node},")), "{name}: {}", f.comment);
                assert_eq!(f.time, epoch(e["timeNs"].as_i64().unwrap() + off), "{name}: {at}");
            }
        }
    }
}

#[test]
fn every_sample_stitched_and_read_by_tshark() {
    require!(Need::Tool("tshark"));
    let tmp = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for e in std::fs::read_dir(sample("")).unwrap() {
        let dir = e.unwrap().path();
        if !dir.join("expected.json").is_file() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let pcap = tmp.path().join(format!("{name}.pcapng"));
        let (v, sightings) = analyze_with_pcap(&dir, &pcap);
        check(&name, &v, sightings, &tshark_frames(&pcap));
        seen += 1;
    }
    assert!(seen >= 9);
    // Written atomically: nothing but the outputs in the directory.
    assert!(std::fs::read_dir(tmp.path()).unwrap().all(|e| e
        .unwrap()
        .path()
        .extension()
        .is_some_and(|x| x == "pcapng")));
}

#[test]
fn merges_with_another_capture() {
    require!(Need::Tool("tshark"), Need::Tool("mergecap"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample("pod-to-service-remote");
    let pcap = tmp.path().join("stitched.pcapng");
    let (_, sightings) = analyze_with_pcap(&dir, &pcap);
    let other = dir.join("k8s-node1/k8s-node1_eth0.pcap");
    let merged = tmp.path().join("merged.pcapng");
    run_tool("mergecap", &["-w", merged.to_str().unwrap(), pcap.to_str().unwrap(), other.to_str().unwrap()]);
    let frames = tshark_frames(&merged);
    let packets: usize = run_tool("tshark", &["-r", other.to_str().unwrap()]).lines().count();
    assert_eq!(frames.len(), sightings as usize + packets);
    assert_eq!(frames.iter().filter(|f| f.comment.starts_with("hop ")).count() as u64, sightings);
    assert!(frames.iter().any(|f| f.interface == "eth0" && f.description.starts_with("node k8s-node2")));
}

#[test]
fn a_skewed_clock_is_stitched_in_corrected_order() {
    require!(Need::Tool("tshark"), Need::Tool("editcap"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pod-to-service-remote");
    let status =
        std::process::Command::new("cp").arg("-r").arg(sample("pod-to-service-remote")).arg(&dir).status().unwrap();
    assert!(status.success());
    for e in std::fs::read_dir(dir.join("k8s-node2")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            let shifted = p.with_extension("shifted");
            run_tool("editcap", &["-t", "-5", p.to_str().unwrap(), shifted.to_str().unwrap()]);
            std::fs::rename(&shifted, &p).unwrap();
        }
    }
    let pcap = tmp.path().join("skewed.pcapng");
    let (v, sightings) = analyze_with_pcap(&dir, &pcap);
    let offset = offsets(&v).iter().find(|(n, _)| n == "k8s-node2").unwrap().1;
    assert!((offset - 5_000_000_000).abs() < 1_000_000, "{offset}");
    let frames = tshark_frames(&pcap);
    check("skewed", &v, sightings, &frames);
    // The receiver's packets come after the sender's, though its raw clock is 5 s behind.
    let first_node2 = frames.iter().position(|f| f.comment.contains("node k8s-node2,")).unwrap();
    assert!(frames[..first_node2].iter().all(|f| f.comment.contains("node k8s-node1,")));
    assert!(
        frames[first_node2].comment.contains("clock corrected by +4.9")
            || frames[first_node2].comment.contains("clock corrected by +5.0"),
        "{}",
        frames[first_node2].comment
    );
}

#[test]
fn pcap_and_result_cannot_share_stdout() {
    let out =
        hoptrace().args(["analyze", "-q", "--pcap-out", "-"]).arg(sample("pod-to-pod-intra-node")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("both write to stdout"));
    assert!(out.stdout.is_empty());
}

/// With `--match`: every sighting of every followed packet and reply, once, each commented with
/// its hop (counted per packet), node, interface, connection, packet and fate, on an interface
/// named as in the result.
#[test]
fn followed_packets_and_replies_are_stitched() {
    require!(Need::Tool("tshark"));
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("followed.pcapng");
    let spec = "udp,nw_src=10.10.1.10,nw_dst=10.10.2.6,tp_dst=5353";
    let out = hoptrace()
        .args(["analyze", "-q", "--format", "json", "--replies", "--match", spec, "--pcap-out"])
        .arg(&pcap)
        .arg(sample("live-reply-dropped"))
        .output()
        .unwrap();
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let conn = &v["connections"][0];
    let mut expected = Vec::new();
    for (packets, what) in [(&conn["packets"], ""), (&conn["replies"]["packets"], "reply ")] {
        for p in packets.as_array().unwrap() {
            for (hop, s) in p["sightings"].as_array().unwrap().iter().enumerate() {
                let iface = s["interface"].as_str().unwrap();
                expected.push((
                    iface.to_string(),
                    format!(
                        "hop {}: node {}, interface {iface}; connection 1 {what}packet {} (",
                        hop + 1,
                        s["node"].as_str().unwrap(),
                        p["number"]
                    ),
                    format!("{} packet {}", s["file"].as_str().unwrap(), s["packet"]),
                ));
            }
        }
    }
    let frames = tshark_frames(&pcap);
    assert_eq!(frames.len(), expected.len());
    assert!(expected.len() > 10, "the request and its reply, seen on both nodes");
    for (iface, start, source) in &expected {
        let f = frames
            .iter()
            .find(|f| f.comment.contains(source.as_str()))
            .unwrap_or_else(|| panic!("{source} not stitched"));
        assert!(f.comment.starts_with(start.as_str()), "{} vs {start}", f.comment);
        assert_eq!(&f.interface, iface);
    }
    assert!(frames.iter().any(|f| f.comment.contains("reply packet 1") && f.comment.contains(", dropped;")));
}
