//! End to end on the real testbed (`tests/testbed/testbed.sh`): two Open vSwitch userspace
//! Nodes in network namespaces, a Geneve underlay, Pods as namespaces. Each test rebuilds the
//! cluster, reruns one scenario into a temporary directory, checks that everything a user would
//! gather is well-formed, and asserts with tcpdump where the probe really went.
//!
//! `committed_samples_are_well_formed` only reads `samples/` (tcpdump, no root). The others need
//! root, Open vSwitch (ovsdb-server, ovs-vswitchd, ovs-vsctl/ofctl/appctl), iproute2,
//! tcpdump, dumpcap and python3; `.ci/run` installs them. Every run uses its own name prefix, so
//! the tests may run in parallel with each other and with other OVS users on the machine.

use hoptrace::bundle::ClusterInfo;
use hoptrace::probe::Probe;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{require, Need};

mod support;

const NODES: [&str; 2] = ["k8s-node1", "k8s-node2"];

/// The tag's ToS match: DSCP 7.
const PROBE: &str = "ip[1] & 0xfc == 0x1c";

/// Runs `testbed.sh run -o <tmp> SCENARIO` and returns the temp dir and the scenario's directory.
fn run_scenario(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let script = support::root().join("tests/testbed/testbed.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("run")
        .arg("-o")
        .arg(tmp.path())
        .arg(name)
        .env("HOPTRACE", support::BIN)
        .output()
        .expect("run testbed.sh");
    assert!(
        out.status.success(),
        "testbed.sh run {name} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.path().join(name);
    (tmp, dir)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Number of packets in `file` matching the tcpdump `filter`.
fn tcpdump_count(file: &Path, filter: &str) -> usize {
    let out = Command::new("tcpdump")
        .arg("-r")
        .arg(file)
        .args(["-nn", "-q"])
        .args((!filter.is_empty()).then_some(filter))
        .output()
        .expect("run tcpdump");
    assert!(out.status.success(), "tcpdump -r {} '{filter}': {}", file.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count()
}

/// `n_packets` of every flow, keyed by the flow without its statistics.
fn flow_counters(flows: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in flows.lines() {
        let mut packets = None;
        let key: Vec<&str> = line
            .split(", ")
            .filter(|part| {
                if let Some(n) = part.strip_prefix("n_packets=") {
                    packets = n.parse().ok();
                }
                !["duration=", "n_packets=", "n_bytes=", "idle_age=", "hard_age="].iter().any(|p| part.starts_with(p))
            })
            .collect();
        out.insert(key.join(", "), packets.unwrap_or_else(|| panic!("no n_packets in {line:?}")));
    }
    out
}

/// Packets that hit flows of `table` whose actions end in `drop`, between the two dumps.
fn drops_in(dir: &Path, node: &str, table: &str) -> u64 {
    let before = flow_counters(&read(&dir.join(node).join("before/flows")));
    let after = flow_counters(&read(&dir.join(node).join("flows")));
    after
        .iter()
        .filter(|(k, _)| k.contains(&format!("table={table},")) && k.ends_with("actions=drop"))
        .map(|(k, n)| n - before.get(k).copied().unwrap_or(0))
        .sum()
}

fn check_flows(path: &Path) -> usize {
    let text = read(path);
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), i + 1);
        assert!(line.starts_with("cookie=0x"), "{}: not a dump-flows line: {line}", at());
        assert!(line.contains(" actions="), "{}: no actions: {line}", at());
        let table = line.split("table=").nth(1).and_then(|t| t.split(',').next()).unwrap_or("");
        assert!(
            hoptrace::antrea::tables::pipeline_index(table).is_some(),
            "{}: table {table:?} is not one of Antrea's names",
            at()
        );
        n += 1;
    }
    assert!(n > 50, "{}: only {n} flows", path.display());
    n
}

fn check_node(dir: &Path, node: &str) {
    let nd = dir.join(node);
    let flows = check_flows(&nd.join("flows"));
    assert_eq!(flows, check_flows(&nd.join("before/flows")), "{node}: flows before and after differ in number");
    for groups in [nd.join("groups"), nd.join("before/groups")] {
        let text = read(&groups);
        assert!(!text.is_empty() && text.lines().all(|l| l.starts_with("group_id=") && l.contains("type=select")));
    }
    let ports = read(&nd.join("ovsports"));
    // k8s-node1 keeps the legacy ofports 1/2; k8s-node2 has the new-install 32768/32769.
    let (tun, gw) = if node == "k8s-node1" { (1, 2) } else { (32768, 32769) };
    assert!(ports.contains(&format!(" {tun}(antrea-tun0): addr:")), "{node}/ovsports: {ports}");
    assert!(ports.contains(&format!(" {gw}(antrea-gw0): addr:")), "{node}/ovsports: {ports}");
    let info: Value = serde_yaml_ng::from_str(&read(&nd.join("agentinfo"))).expect("agentinfo is YAML");
    assert_eq!(info["kind"], "AntreaAgentInfo");
    assert_eq!(info["nodeRef"]["name"], node);
    let counted: u64 =
        info["ovsInfo"]["flowTable"].as_object().expect("flowTable").values().filter_map(Value::as_u64).sum();
    assert_eq!(counted as usize, flows, "{node}/agentinfo: flowTable counts do not add up to the flows file");
    for f in ["link", "address", "route", "conntrack"] {
        assert!(nd.join(f).is_file(), "{node}/{f} missing");
    }
    // The agent's controlplane objects: YAML documents, policies named by their sourceRef.
    for f in ["networkpolicies", "addressgroups", "appliedtogroups"] {
        let text = read(&nd.join(f));
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v = Value::deserialize(doc).unwrap_or_else(|e| panic!("{node}/{f}: {e}"));
            assert!(v.is_null() || v["metadata"]["name"].is_string(), "{node}/{f}: {v}");
            if f == "networkpolicies" && !v.is_null() {
                assert!(v["sourceRef"]["name"].is_string(), "{node}/{f}: no sourceRef");
            }
        }
    }
    let any = nd.join(format!("{node}_any.pcapng"));
    let magic = std::fs::read(&any).expect("any capture");
    assert_eq!(magic.get(..4), Some(&[0x0a, 0x0d, 0x0d, 0x0a][..]), "{}: not pcapng", any.display());
    tcpdump_count(&any, "");
    for f in [format!("{node}_eth0.pcap"), format!("{node}_antrea-gw0.pcap")] {
        tcpdump_count(&nd.join(f), "");
    }
}

/// The common checks: every file a user would gather exists and parses, and the probe was captured
/// where the scenario says.
fn check_sample(dir: &Path) {
    let cluster = ClusterInfo::load(&dir.join("clusterinfo")).expect("clusterinfo parses");
    assert_eq!((cluster.pods.len(), cluster.nodes.len()), (8, 2));
    let kubectl = ClusterInfo::load(&dir.join("cluster.json")).expect("cluster.json parses");
    // Two Services when the probe samples were recorded; default/web (both endpoints) and
    // default/dns (UDP) since, for the live scenarios.
    assert!(kubectl.services.len() >= 2, "{} Services", kubectl.services.len());
    assert!(["web-local", "web-remote"].iter().all(|n| kubectl.services.iter().any(|s| s.name == *n)));
    let probe = Probe::load(&dir.join("probe.json")).expect("probe.json is a probe");
    assert_eq!(probe.dataplane_tag, 7);
    let expected: Value = serde_json::from_str(&read(&dir.join("expected.json"))).expect("expected.json");
    let results = expected["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for obs in results.iter().flat_map(|r| r["observations"].as_array().expect("observations")) {
        let c = obs["component"].as_str().unwrap_or("");
        let a = obs["action"].as_str().unwrap_or("");
        assert!(["SpoofGuard", "LB", "NetworkPolicy", "Forwarding", "Egress"].contains(&c), "component {c}");
        assert!(
            ["Delivered", "Received", "Forwarded", "Dropped", "Rejected", "ForwardedOutOfNetwork"].contains(&a),
            "action {a}"
        );
    }
    for node in NODES {
        check_node(dir, node);
    }
    // The sender's reference trace starts at the source Pod's port.
    let sender = probe.source.as_ref().and_then(|s| s.node.clone()).expect("probe names its source node");
    let trace = read(&dir.join(&sender).join("ofproto-trace-br-int.txt"));
    assert!(trace.contains("bridge(\"br-int\")"), "{sender}: no ofproto/trace output");
    // Where the probe must and must not be, as scenarios.json says.
    let scenario: Value = serde_json::from_str(&read(&dir.join("scenario.json"))).expect("scenario.json");
    for c in scenario["captures"].as_array().expect("captures") {
        let file = dir.join(c["file"].as_str().expect("file"));
        let filter = c["filter"].as_str().expect("filter");
        let n = tcpdump_count(&file, filter);
        match c["count"].as_u64() {
            Some(0) => assert_eq!(n, 0, "{}: '{filter}' should match nothing", file.display()),
            _ => assert!(n >= 1, "{}: '{filter}' matched nothing", file.display()),
        }
    }
}

#[test]
fn pod_to_service_remote_is_dnated_then_geneve_encapsulated() {
    require!(
        Need::Netns,
        Need::Ovs,
        Need::Tool("tcpdump"),
        Need::Tool("dumpcap"),
        Need::Tool("python3"),
        Need::Tool("bash")
    );
    let (_tmp, dir) = run_scenario("pod-to-service-remote");
    check_sample(&dir);
    let n1 = dir.join("k8s-node1");
    // Leaves the client Pod for the ClusterIP ...
    let client = format!("{PROBE} and ip src 10.10.1.5 and ip dst 10.96.0.20 and tcp dst port 80");
    assert_eq!(tcpdump_count(&n1.join("k8s-node1_any.pcapng"), &client), 1);
    // ... crosses the underlay DNAT'd to the endpoint, inside Geneve, outer 101 -> 102 ...
    let geneve = format!(
        "ip src 192.168.77.101 and ip dst 192.168.77.102 and geneve and {PROBE} and ip dst 10.10.2.6 and tcp dst port 8080"
    );
    assert_eq!(tcpdump_count(&n1.join("k8s-node1_eth0.pcap"), &geneve), 1);
    assert_eq!(tcpdump_count(&n1.join("k8s-node1_eth0.pcap"), &format!("geneve and {PROBE} and ip dst 10.96.0.20")), 0);
    // ... and arrives bare at the endpoint on the other Node, TTL decremented on both Nodes.
    let delivered = format!("{PROBE} and ip src 10.10.1.5 and ip dst 10.10.2.6 and tcp dst port 8080 and ip[8] == 62");
    assert_eq!(tcpdump_count(&dir.join("k8s-node2/k8s-node2_any.pcapng"), &delivered), 1);
    let conntrack = read(&n1.join("conntrack"));
    assert!(conntrack.contains("orig=(src=10.10.1.5,dst=10.96.0.20,sport=10004,dport=80),reply=(src=10.10.2.6"));
}

#[test]
fn k8s_networkpolicy_drop_happens_on_the_receiving_node() {
    require!(
        Need::Netns,
        Need::Ovs,
        Need::Tool("tcpdump"),
        Need::Tool("dumpcap"),
        Need::Tool("python3"),
        Need::Tool("bash")
    );
    let (_tmp, dir) = run_scenario("k8s-np-ingress-drop");
    check_sample(&dir);
    let inner = format!("geneve and {PROBE} and ip dst 10.10.2.5 and tcp dst port 9999");
    assert_eq!(tcpdump_count(&dir.join("k8s-node2/k8s-node2_eth0.pcap"), &inner), 1, "reached node2's underlay");
    let bare = format!("{PROBE} and ip src 10.10.1.5 and tcp dst port 9999");
    assert_eq!(tcpdump_count(&dir.join("k8s-node2/k8s-node2_any.pcapng"), &bare), 0, "never left OVS on node2");
    assert_eq!(drops_in(&dir, "k8s-node2", "IngressDefaultRule"), 1);
    assert_eq!(drops_in(&dir, "k8s-node1", "IngressDefaultRule"), 0);
}

#[test]
fn antrea_native_drop_is_counted_in_ingress_metric() {
    require!(
        Need::Netns,
        Need::Ovs,
        Need::Tool("tcpdump"),
        Need::Tool("dumpcap"),
        Need::Tool("python3"),
        Need::Tool("bash")
    );
    let (_tmp, dir) = run_scenario("annp-ingress-drop");
    check_sample(&dir);
    let bare = format!("{PROBE} and ip src 10.10.1.5 and ip dst 10.10.1.8");
    let any = dir.join("k8s-node1/k8s-node1_any.pcapng");
    // Seen once (leaving the client Pod), never again (no second interface on the way).
    assert_eq!(tcpdump_count(&any, &bare), 1);
    assert_eq!(drops_in(&dir, "k8s-node1", "IngressMetric"), 1);
    assert_eq!(tcpdump_count(&dir.join("k8s-node1/k8s-node1_eth0.pcap"), "geneve"), 0);
}

#[test]
fn live_concurrent_connections_go_where_the_policies_send_them() {
    require!(
        Need::Netns,
        Need::Ovs,
        Need::Tool("tcpdump"),
        Need::Tool("dumpcap"),
        Need::Tool("python3"),
        Need::Tool("bash")
    );
    // Real kernel connections, no probe: testbed.sh has held them to the scenario's exact counts and
    // the servers' logs; here the facts are asserted directly from the fresh captures.
    let (_tmp, dir) = run_scenario("live-concurrent-one-dropped");
    for node in NODES {
        check_node(&dir, node);
    }
    let n1 = dir.join("k8s-node1");
    let n2 = dir.join("k8s-node2");
    let client = n1.join("k8s-node1_client-05da76.pcap");
    // The connection to db: a SYN and one retransmission leave the client, nothing reaches db's
    // veth or the underlay, and IngressDefaultRule on k8s-node1 counts both.
    assert_eq!(tcpdump_count(&client, "ip dst 10.10.1.10 and tcp dst port 5432 and tcp[tcpflags] == tcp-syn"), 2);
    assert_eq!(tcpdump_count(&n1.join("k8s-node1_db-65824c.pcap"), "tcp"), 0);
    assert_eq!(tcpdump_count(&n1.join("k8s-node1_eth0.pcap"), "geneve and ip dst 10.10.1.10"), 0);
    assert_eq!(drops_in(&dir, "k8s-node1", "IngressDefaultRule"), 2);
    assert_eq!(drops_in(&dir, "k8s-node2", "IngressDefaultRule"), 0);
    // The three others: each 64-byte request reaches its own server, inter-node ones through Geneve.
    let request = |port: u16| format!("ip src 10.10.1.5 and tcp src port {port} and tcp dst port 8080 and len >= 118");
    assert_eq!(tcpdump_count(&n2.join("k8s-node2_server-760d62.pcap"), &request(40201)), 1);
    assert_eq!(tcpdump_count(&n2.join("k8s-node2_web-b-5dacae.pcap"), &request(40202)), 1);
    assert_eq!(tcpdump_count(&n1.join("k8s-node1_web-a-f9eeb8.pcap"), &request(40203)), 1);
    let tunnel = |port: u16| format!("ip src 192.168.77.101 and geneve and ip src 10.10.1.5 and tcp src port {port}");
    assert_eq!(tcpdump_count(&n1.join("k8s-node1_eth0.pcap"), &tunnel(40201)), 5);
    assert_eq!(tcpdump_count(&n1.join("k8s-node1_eth0.pcap"), &tunnel(40203)), 0, "web-a is on the same Node");
    // The servers' own logs agree: web-b accepted 40202 and nothing else, db accepted nothing.
    let web_b = read(&dir.join("live/server-default-web-b-tcp-8080.jsonl"));
    assert!(web_b.contains("\"event\": \"accept\"") && web_b.contains("10.10.1.5:40202"), "{web_b}");
    assert!(!web_b.contains("10.10.1.5:40201") && !web_b.contains("10.10.1.5:40203"), "{web_b}");
    assert!(!read(&dir.join("live/server-default-db-tcp-5432.jsonl")).contains("accept"));
    // The fresh run states the same hand-written expectations as the committed sample.
    let fresh: Value = serde_json::from_str(&read(&dir.join("expected-connections.json"))).unwrap();
    let committed: Value =
        serde_json::from_str(&read(&support::sample("live-concurrent-one-dropped/expected-connections.json"))).unwrap();
    assert_eq!(fresh, committed);
}

#[test]
fn committed_samples_are_well_formed() {
    require!(Need::Tool("tcpdump"));
    let samples = support::sample("");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&samples)
        .expect("samples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenario.json").is_file() && p.join("probe.json").is_file())
        .collect();
    dirs.sort();
    // Live samples (no probe) are checked by tests/live_samples.rs.
    assert!(dirs.len() >= 16, "expected the testbed's probe scenarios in samples/, found {}", dirs.len());
    for dir in &dirs {
        check_sample(dir);
    }
}
