//! The live samples (`samples/live-*`, recorded by `tests/testbed/testbed.sh run live-…`): real
//! connections made by the Pods' own kernels, each with a hand-written expected outcome per
//! connection in `expected-connections.json`. These tests hold the samples to what the testbed
//! promised: the layout of a probe sample (what a user would gather from each Node) without a
//! probe, `expected-connections.json` in the shape `analyze --match` is checked against, the
//! expectations consistent with the servers' own logs of who connected, and every hand-written
//! packet count equal to what tcpdump counts in the recorded captures.
//!
//! Only the tcpdump checks need a tool (tcpdump); they say SKIPPED without it, as every system
//! test does (`tests/support/need.rs`).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{require, Need};

mod support;

const NODES: [&str; 2] = ["k8s-node1", "k8s-node2"];

/// A recorded live sample must stay small (the testbed keeps runs short and captures few packets).
const MAX_SAMPLE_BYTES: u64 = 1 << 20;

/// `expected-connections.json`, exactly: unknown fields are errors, so a misspelt field fails.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    #[serde(rename = "match")]
    spec: String,
    note: String,
    connections: Vec<Connection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Connection {
    protocol: Protocol,
    client: String,
    server: String,
    fate: Fate,
    endpoint: Option<String>,
    drop: Option<Drop>,
    reply: Option<Reply>,
    packets: Packets,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone, Copy)]
enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Fate {
    Delivered,
    Dropped,
    Unknown,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Drop {
    node: String,
    component: String,
    reason: String,
    policy: Option<String>,
    rule: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    fate: Fate,
    drop: Option<Drop>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Packets {
    client_sent: u64,
    server_received: u64,
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every recorded live sample: a directory of `samples/` whose scenario.json says `"kind": "live"`.
fn live_samples() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(support::sample(""))
        .expect("samples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenario.json").is_file() && json(&p.join("scenario.json"))["kind"] == "live")
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no live sample in samples/ (testbed.sh run live-…)");
    dirs
}

fn expected(dir: &Path) -> Expected {
    let path = dir.join("expected-connections.json");
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn endpoint(s: &str) -> (String, SocketAddrV4) {
    let (pod, addr) = s.split_once(' ').unwrap_or_else(|| panic!("endpoint {s:?} is not `ns/pod IP:PORT`"));
    assert!(pod.split_once('/').is_some_and(|(ns, n)| !ns.is_empty() && !n.is_empty()), "endpoint {s:?}: no ns/pod");
    (pod.to_string(), addr.parse().unwrap_or_else(|e| panic!("endpoint {s:?}: {e}")))
}

fn check_drop(what: &str, d: &Drop) {
    assert!(NODES.contains(&d.node.as_str()), "{what}: drop node {:?}", d.node);
    assert!(
        ["NetworkPolicy", "Forwarding", "Conntrack"].contains(&d.component.as_str()),
        "{what}: component {:?}",
        d.component
    );
    assert!(!d.reason.is_empty(), "{what}: a drop says why");
    if d.component == "NetworkPolicy" {
        assert!(d.rule.is_some(), "{what}: a policy drop names the rule (Antrea's componentInfo or rule name)");
    }
    if let Some(p) = &d.policy {
        let kinds = ["K8sNetworkPolicy:", "AntreaNetworkPolicy:", "AntreaClusterNetworkPolicy:"];
        assert!(kinds.iter().any(|k| p.starts_with(k)), "{what}: policy {p:?} is not named as Antrea names it");
    }
}

#[test]
fn live_samples_have_the_probe_sample_layout_and_their_ground_truth() {
    for dir in live_samples() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for f in ["scenario.json", "expected-connections.json", "cluster.json", "clusterinfo", "live/summary.json"] {
            assert!(dir.join(f).is_file(), "{name}: {f} missing");
        }
        // No probe: analyze --match must find the traffic by itself, and the probe tests skip it.
        for f in ["probe.json", "expected.json"] {
            assert!(!dir.join(f).exists(), "{name}: a live sample has no {f}");
        }
        for node in NODES {
            let nd = dir.join(node);
            for f in [
                "flows",
                "groups",
                "ovsports",
                "before/flows",
                "before/groups",
                "before/ovsports",
                "conntrack",
                "dpctl-flows",
                "agentinfo",
                "networkpolicies",
                "addressgroups",
                "appliedtogroups",
                "link",
                "address",
                "route",
            ] {
                assert!(nd.join(f).is_file(), "{name}/{node}: {f} missing");
            }
            for f in [format!("{node}_any.pcapng"), format!("{node}_eth0.pcap"), format!("{node}_antrea-gw0.pcap")] {
                assert!(nd.join(&f).is_file(), "{name}/{node}: {f} missing");
            }
            // Every capture of the Node said how it stopped, and none lost packets in the kernel:
            // the captures cover what they claim to.
            let stats = read(&nd.join("capture-stats"));
            for f in [format!("{node}_any.pcapng"), format!("{node}_eth0.pcap")] {
                assert!(stats.lines().any(|l| l.starts_with(&format!("{f}: "))), "{name}/{node}/capture-stats: no {f}");
            }
            for line in stats.lines() {
                let dropped = line
                    .split(" packets dropped by kernel")
                    .next()
                    .filter(|_| line.contains("dropped by kernel"))
                    .and_then(|head| head.rsplit(' ').next())
                    .map(|n| n.parse::<u64>().expect("a count"))
                    .or_else(|| {
                        let (_, tail) = line.split_once("received/dropped on interface")?;
                        tail.split_whitespace().nth(1)?.split('/').nth(1)?.parse().ok()
                    });
                assert_eq!(dropped, Some(0), "{name}/{node}/capture-stats: {line}");
            }
            let flows = read(&nd.join("flows"));
            assert!(
                flows.lines().count() > 50 && flows.lines().all(|l| l.starts_with("cookie=0x")),
                "{name}/{node}/flows"
            );
        }
        let scenario = json(&dir.join("scenario.json"));
        let servers = scenario["servers"].as_array().expect("servers");
        assert!(!servers.is_empty(), "{name}: no server");
        let logs: Vec<_> = std::fs::read_dir(dir.join("live"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("server-"))
            .collect();
        assert_eq!(logs.len(), servers.len(), "{name}: one log per server");
        let size: u64 = walk(&dir).iter().map(|p| p.metadata().unwrap().len()).sum();
        assert!(size < MAX_SAMPLE_BYTES, "{name}: {size} bytes");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn expected_connections_are_in_the_agreed_shape() {
    for dir in live_samples() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let want = expected(&dir);
        assert!(!want.note.trim().is_empty(), "{name}: the note says how the expectations were derived");
        // The SPEC is ovs-ofctl syntax: a protocol keyword, then field=value pairs.
        let mut parts = want.spec.split(',');
        assert!(["tcp", "udp", "ip", "icmp"].contains(&parts.next().unwrap()), "{name}: match {:?}", want.spec);
        for p in parts {
            let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("{name}: {p:?} in the match is not field=value"));
            assert!(["nw_src", "nw_dst", "tp_src", "tp_dst", "tcp_src", "tcp_dst", "udp_src", "udp_dst"].contains(&k));
            assert!(!v.is_empty());
        }
        assert!(!want.connections.is_empty(), "{name}: no connection");
        let scenario = json(&dir.join("scenario.json"));
        assert_eq!(
            scenario["clients"].as_array().map(Vec::len),
            Some(want.connections.len()),
            "{name}: one per client"
        );
        for (i, c) in want.connections.iter().enumerate() {
            let what = format!("{name} connection {i} ({})", c.client);
            let client: SocketAddrV4 = c.client.parse().unwrap_or_else(|e| panic!("{what}: client: {e}"));
            let server: SocketAddrV4 = c.server.parse().unwrap_or_else(|e| panic!("{what}: server: {e}"));
            assert!(client.port() != 0 && server.port() != 0, "{what}: fixed ports");
            assert!(client.ip().octets()[0] == 10 && *server.ip() != Ipv4Addr::UNSPECIFIED);
            match c.fate {
                Fate::Delivered => {
                    let (_, ep) = endpoint(c.endpoint.as_deref().unwrap_or_else(|| panic!("{what}: delivered where?")));
                    assert!(ep.port() != 0, "{what}: endpoint port");
                    assert!(c.drop.is_none(), "{what}: delivered with a drop");
                    assert!(c.packets.server_received > 0, "{what}: delivered, but no packet reached the server");
                }
                Fate::Dropped => {
                    // An endpoint only for a connection broken after it reached one.
                    if let Some(ep) = &c.endpoint {
                        endpoint(ep);
                        assert!(c.packets.server_received > 0, "{what}: dropped before {ep}, yet it names it");
                    }
                    check_drop(&what, c.drop.as_ref().unwrap_or_else(|| panic!("{what}: dropped where?")));
                }
                Fate::Unknown => assert!(c.drop.is_none()),
            }
            if let Some(r) = &c.reply {
                match (r.fate, &r.drop) {
                    (Fate::Dropped, Some(d)) => check_drop(&format!("{what} reply"), d),
                    (Fate::Dropped, None) => panic!("{what}: reply dropped where?"),
                    (_, Some(_)) => panic!("{what}: a reply drop without a dropped reply"),
                    _ => {}
                }
            }
            assert!(c.packets.client_sent > 0 || scenario["captureStart"] == "mid", "{what}: the client sent nothing");
        }
    }
}

/// What the servers' own logs say each client reached: `ns/pod IP:PORT` of every server that
/// accepted (TCP) or received a datagram (UDP) from the client's address.
fn reached(dir: &Path, scenario: &Value) -> BTreeMap<String, Vec<String>> {
    let cluster = json(&dir.join("cluster.json"));
    let ip_of = |pod: &str| -> String {
        let (ns, name) = pod.split_once('/').unwrap();
        cluster["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "Pod" && i["metadata"]["namespace"] == ns && i["metadata"]["name"] == name)
            .and_then(|i| i["status"]["podIP"].as_str())
            .unwrap_or_else(|| panic!("{pod} not in cluster.json"))
            .to_string()
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for srv in scenario["servers"].as_array().unwrap() {
        let pod = srv["pod"].as_str().unwrap();
        let port = srv["port"].as_u64().unwrap();
        let proto = srv["protocol"].as_str().unwrap().to_ascii_lowercase();
        let (ns, n) = pod.split_once('/').unwrap();
        let log = read(&dir.join("live").join(format!("server-{ns}-{n}-{proto}-{port}.jsonl")));
        let ep = format!("{pod} {}:{port}", ip_of(pod));
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            let e: Value = serde_json::from_str(line).expect("server log line is JSON");
            if e["event"] == "accept" || e["event"] == "datagram" {
                let peer = e["peer"].as_str().unwrap().to_string();
                let eps = out.entry(peer).or_default();
                if !eps.contains(&ep) {
                    eps.push(ep.clone());
                }
            }
        }
    }
    out
}

#[test]
fn expected_endpoints_agree_with_the_servers_logs() {
    for dir in live_samples() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let scenario = json(&dir.join("scenario.json"));
        let got = reached(&dir, &scenario);
        let clients = scenario["clients"].as_array().expect("clients");
        for (i, c) in expected(&dir).connections.into_iter().enumerate() {
            // The server sees the client's address, or after a hairpin SNAT the one the scenario states.
            let peer = clients[i]["serverSees"].as_str().unwrap_or(&c.client);
            let logged = got.get(peer).cloned().unwrap_or_default();
            match c.fate {
                Fate::Delivered => {
                    assert_eq!(
                        logged,
                        vec![c.endpoint.clone().unwrap()],
                        "{name} {}: the servers logged it at",
                        c.client
                    )
                }
                Fate::Dropped => {
                    let want: Vec<String> = c.endpoint.clone().into_iter().collect();
                    assert_eq!(logged, want, "{name} {}: dropped, and the servers logged it at", c.client)
                }
                Fate::Unknown => {}
            }
        }
    }
}

/// Number of packets in `file` matching the tcpdump `filter`.
fn tcpdump_count(file: &Path, filter: &str) -> u64 {
    let out = Command::new("tcpdump").arg("-r").arg(file).args(["-nn", "-q", filter]).output().expect("run tcpdump");
    assert!(out.status.success(), "tcpdump -r {} '{filter}': {}", file.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count() as u64
}

#[test]
fn hand_written_packet_counts_agree_with_tcpdump() {
    require!(Need::Tool("tcpdump"));
    for dir in live_samples() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let want = expected(&dir);
        let scenario = json(&dir.join("scenario.json"));
        let mut measured = vec![[false; 2]; want.connections.len()];
        for pc in scenario["packetChecks"].as_array().expect("packetChecks") {
            let i = pc["connection"].as_u64().unwrap() as usize;
            let field = pc["field"].as_str().unwrap();
            let filter = pc["filter"].as_str().unwrap();
            let c = &want.connections[i];
            // The filter measures this connection, not another one.
            let proto = match c.protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
            };
            let port = c.client.rsplit(':').next().unwrap();
            assert!(filter.contains(&format!("{proto} src port {port}")), "{name}: {filter}");
            let n: u64 = pc["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| tcpdump_count(&dir.join(f.as_str().unwrap()), filter))
                .sum();
            let (slot, hand) = match field {
                "client_sent" => (0, c.packets.client_sent),
                "server_received" => (1, c.packets.server_received),
                other => panic!("{name}: unknown packet count {other}"),
            };
            measured[i][slot] = true;
            assert_eq!(n, hand, "{name} {} {field}: tcpdump '{filter}' in {}", c.client, pc["files"]);
        }
        assert!(measured.iter().all(|m| m[0] && m[1]), "{name}: a hand-written count nobody measures");
        for cap in scenario["captures"].as_array().expect("captures") {
            let file = dir.join(cap["file"].as_str().unwrap());
            let filter = cap["filter"].as_str().unwrap();
            let n = tcpdump_count(&file, filter);
            let at = format!("{name}: {} '{filter}'", file.display());
            match (cap["count"].as_u64(), cap["min"].as_u64()) {
                (Some(exact), None) => assert_eq!(n, exact, "{at}"),
                (None, Some(min)) => assert!(n >= min, "{at}: {n} < {min}"),
                _ => panic!("{at}: a capture assertion states count or min"),
            }
        }
    }
}

/// `n_packets` of every flow of a dump, keyed by the flow without its statistics.
fn flow_counters(path: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in read(path).lines() {
        let mut packets = 0;
        let key: Vec<&str> = line
            .split(", ")
            .filter(|part| {
                if let Some(n) = part.strip_prefix("n_packets=") {
                    packets = n.parse().unwrap();
                }
                !["duration=", "n_packets=", "n_bytes=", "idle_age=", "hard_age="].iter().any(|p| part.starts_with(p))
            })
            .collect();
        out.insert(key.join(", "), packets);
    }
    out
}

#[test]
fn flow_counter_deltas_are_as_the_scenario_states() {
    for dir in live_samples() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let scenario = json(&dir.join("scenario.json"));
        for fd in scenario["flowDeltas"].as_array().into_iter().flatten() {
            let node = fd["node"].as_str().unwrap();
            let table = format!("table={},", fd["table"].as_str().unwrap());
            let m = fd["match"].as_str().unwrap();
            let before = flow_counters(&dir.join(node).join("before/flows"));
            let after = flow_counters(&dir.join(node).join("flows"));
            let matching: Vec<_> = after.iter().filter(|(k, _)| k.contains(&table) && k.contains(m)).collect();
            assert!(!matching.is_empty(), "{name}: no flow of {node} {table} contains {m:?}");
            let delta: u64 = matching.iter().map(|(k, n)| *n - before.get(*k).copied().unwrap_or(0)).sum();
            match (fd["packets"].as_u64(), fd["min"].as_u64()) {
                (Some(exact), None) => assert_eq!(delta, exact, "{name}: {node} {table} {m}"),
                (None, Some(min)) => assert!(delta >= min, "{name}: {node} {table} {m}: {delta} < {min}"),
                _ => panic!("{name}: a flow delta states packets or min"),
            }
        }
    }
}
