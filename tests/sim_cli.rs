//! `hoptrace trace` end to end: text and JSON output, exit codes, a probe document as input, and
//! a two-node trace over node directories. The second node is the corpus pipeline mirrored
//! (its Pod CIDR 10.10.1.0/24, transport IP 192.168.77.103, the first node's CIDR remote), so the
//! peer is found from the flows alone.

mod oracle;
mod support;

use std::path::Path;
use support::hoptrace;

/// Writes a node directory: flows, groups, ovsports.
fn node_dir(dir: &Path, flows: &str, fx: &oracle::AntreaFixture) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("flows"), flows).unwrap();
    std::fs::write(dir.join("groups"), &fx.groups).unwrap();
    std::fs::write(dir.join("ovsports"), &fx.ports).unwrap();
}

/// The corpus pipeline as seen from the other node: the two Pod CIDRs and the two transport
/// addresses swapped.
fn mirrored(flows: &str) -> String {
    flows
        .replace("10.10.0.", "10.10.9.")
        .replace("10.10.1.", "10.10.0.")
        .replace("10.10.9.", "10.10.1.")
        .replace("192.168.77.102", "192.168.77.199")
        .replace("192.168.77.103", "192.168.77.102")
        .replace("192.168.77.199", "192.168.77.103")
}

const CLIENT_TO_WEB: &str =
    "tcp,dl_src=5e:b5:e3:a6:90:b7,dl_dst=fa:b7:53:74:21:a6,nw_src=10.10.0.26,nw_dst=10.10.0.24,nw_tos=28,tp_src=10003,tp_dst=80";

#[test]
fn text_output_and_exit_codes() {
    let fx = oracle::antrea_fixture();
    let tmp = tempfile::tempdir().unwrap();
    node_dir(tmp.path(), &fx.flows, &fx);
    let d = tmp.path();
    let out = hoptrace()
        .args(["trace", "--flows"])
        .arg(d.join("flows"))
        .arg("--groups")
        .arg(d.join("groups"))
        .arg("--ports")
        .arg(d.join("ovsports"))
        .args(["--in-port", "client-6-3353ef", CLIENT_TO_WEB])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains(" 4. SpoofGuard ip,in_port=\"client-6-3353ef\""), "{text}");
    assert!(text.contains("(conjunction 6 complete"), "{text}");
    // Resubmitted tables are printed under their resubmit, one level deeper (as ofproto/trace).
    assert!(text.contains("    resubmit(,NodePortMark)\n     9. NodePortMark priority 0\n"), "{text}");
    assert!(text.contains("Result: forwarded: antrea-tc-tap2"), "TrafficControl mirrors web to its tap: {text}");
    assert!(text.contains("Terminal: table=Output reg0=0x200003 reg1=37 reg3=0 reg5=0 reg6=6"), "{text}");

    // db -> web is isolated by the K8s NetworkPolicy: dropped, exit 1.
    let out = hoptrace()
        .args(["trace", "--flows"])
        .arg(d.join("flows"))
        .arg("--ports")
        .arg(d.join("ovsports"))
        .args([
            "--in-port",
            "38",
            "tcp,dl_src=36:48:21:a2:9d:b4,dl_dst=fa:b7:53:74:21:a6,nw_src=10.10.0.25,nw_dst=10.10.0.24,tp_dst=80",
        ])
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("27. IngressDefaultRule reg1=0x25, priority 200"), "{text}");
    assert!(text.contains("Result: dropped"), "{text}");

    // Usage errors: exit 2 with the reason.
    hoptrace().args(["trace", "tcp"]).assert().code(2);
    let out = hoptrace()
        .args(["trace", "--flows"])
        .arg(d.join("flows"))
        .args(["--in-port", "1", "tcp,tp_dst=x"])
        .assert()
        .code(2);
    assert!(!out.get_output().stderr.is_empty());
}

#[test]
fn json_output_has_steps_events_and_terminal_state() {
    let fx = oracle::antrea_fixture();
    let tmp = tempfile::tempdir().unwrap();
    node_dir(tmp.path(), &fx.flows, &fx);
    let d = tmp.path();
    let out = hoptrace()
        .args(["trace", "--format", "json", "--endpoint", "10.10.1.6", "--flows"])
        .arg(d.join("flows"))
        .arg("--groups")
        .arg(d.join("groups"))
        .arg("--ports")
        .arg(d.join("ovsports"))
        .args([
            "--in-port",
            "36",
            "tcp,dl_src=5e:b5:e3:a6:90:b7,dl_dst=ba:5e:d1:55:aa:c0,nw_src=10.10.0.26,nw_dst=10.105.31.235,nw_tos=28,tp_dst=80",
        ])
        .assert()
        .code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let hop = &v["hops"][0];
    assert_eq!(hop["outcome"], "forwarded");
    assert_eq!(hop["terminal"]["table"], "Output");
    assert_eq!(hop["terminal"]["reg1"], 1);
    assert_eq!(hop["terminal"]["ct_nw_dst"], "10.105.31.235");
    assert_eq!(hop["terminal"]["tun_dst"], "192.168.77.103");
    let steps = hop["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["table_name"] == "EndpointDNAT"));
    assert_eq!(hop["events"][0]["kind"], "output");
    assert_eq!(hop["events"][0]["tunnel"], true);
    assert_eq!(hop["final_packet"]["nw_dst"], "10.10.1.6");
    assert_eq!(v["stop"]["reason"], "unknown_peer");
}

#[test]
fn two_nodes_follow_the_tunnel_to_the_peer() {
    let fx = oracle::antrea_fixture();
    let tmp = tempfile::tempdir().unwrap();
    let (n1, n2) = (tmp.path().join("node1"), tmp.path().join("node2"));
    node_dir(&n1, &fx.flows, &fx);
    node_dir(&n2, &mirrored(&fx.flows), &fx);
    // client on node1 -> db Pod on node2 (10.10.1.25): delivered there.
    let out = hoptrace()
        .args(["trace", "--node-dir"])
        .arg(&n1)
        .arg("--node-dir")
        .arg(&n2)
        .args([
            "--in-port",
            "36",
            "tcp,dl_src=5e:b5:e3:a6:90:b7,dl_dst=ba:5e:d1:55:aa:c0,nw_src=10.10.0.26,nw_dst=10.10.1.25,nw_tos=28,tp_dst=3306",
        ])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("### node node1 (hop 1)"), "{text}");
    assert!(text.contains("### node node2 (hop 2)"), "{text}");
    assert!(text.contains("Flow: tun_src=192.168.77.102,tun_dst=192.168.77.103,in_port=1,"), "{text}");
    assert!(text.contains("Result: forwarded: db-755c6-5080e3"), "{text}");

    // client on node1 -> web Pod on node2: the receiver's K8s NP isolation drops it.
    let out = hoptrace()
        .args(["trace", "--format", "json", "--node-dir"])
        .arg(&n1)
        .arg("--node-dir")
        .arg(&n2)
        .args([
            "--in-port",
            "36",
            "tcp,dl_src=5e:b5:e3:a6:90:b7,dl_dst=ba:5e:d1:55:aa:c0,nw_src=10.10.0.26,nw_dst=10.10.1.24,nw_tos=28,tp_dst=80",
        ])
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["hops"][0]["terminal"]["tun_dst"], "192.168.77.103");
    assert_eq!(v["hops"][1]["node"], "node2");
    assert_eq!(v["hops"][1]["terminal"]["table"], "IngressDefaultRule");
    assert_eq!(v["hops"][1]["input"]["tun_src"], "192.168.77.102");
    assert_eq!(v["stop"]["reason"], "ended");
}

#[test]
fn probe_document_as_input() {
    let fx = oracle::antrea_fixture();
    let tmp = tempfile::tempdir().unwrap();
    node_dir(tmp.path(), &fx.flows, &fx);
    let probe = tmp.path().join("probe.json");
    hoptrace()
        .args([
            "craft",
            "--src-ip",
            "10.10.0.26",
            "--dst-ip",
            "10.10.0.1",
            "--src-mac",
            "5e:b5:e3:a6:90:b7",
            "--dst-mac",
            "ba:5e:d1:55:aa:c0",
            "--seed",
            "1",
            "-q",
            "-o",
        ])
        .arg(&probe)
        .assert()
        .success();
    let out = hoptrace()
        .args(["trace", "--flows"])
        .arg(tmp.path().join("flows"))
        .arg("--ports")
        .arg(tmp.path().join("ovsports"))
        .args(["--in-port", "client-6-3353ef", "--probe"])
        .arg(&probe)
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("L3Forwarding ip,nw_dst=10.10.0.1, priority 210"), "{text}");
    assert!(text.contains("Result: forwarded: antrea-gw0"), "{text}");
}

#[test]
fn support_bundle_tarball_as_a_node() {
    use std::io::Write;
    let fx = oracle::antrea_fixture();
    let tmp = tempfile::tempdir().unwrap();
    let n1 = tmp.path().join("node1");
    node_dir(&n1, &fx.flows, &fx);
    // node2 as Antrea's `agent_<node>.tar.gz`, read in place; its name and transport IP come
    // from agentinfo.
    let agentinfo = "nodeRef:\n  name: k8s-node2\nnetworkInfo:\n  transportIPs: [192.168.77.103]\n";
    let bundle = tmp.path().join("agent_k8s-node2.tar.gz");
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(&bundle).unwrap(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, body) in [
        ("flows", mirrored(&fx.flows)),
        ("groups", fx.groups.clone()),
        ("ovsports", fx.ports.clone()),
        ("agentinfo", agentinfo.to_string()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    let out = hoptrace()
        .args(["trace", "--node-dir"])
        .arg(&n1)
        .arg("--node-dir")
        .arg(&bundle)
        .args([
            "--in-port",
            "36",
            "udp,dl_src=5e:b5:e3:a6:90:b7,dl_dst=ba:5e:d1:55:aa:c0,nw_src=10.10.0.26,nw_dst=10.10.1.25,nw_tos=28,tp_dst=53",
        ])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("### node k8s-node2 (hop 2)"), "{text}");
    assert!(text.contains("Result: forwarded: db-755c6-5080e3"), "{text}");
}
