//! Format details of real Antrea support bundles, each from a fixture under
//! `tests/fixtures/bundles/` written from Antrea's own dump code (the Antrea version and source
//! file of each are in that directory's README.md): what the agents of each version write, and
//! what hoptrace makes of it.

mod support;

use hoptrace::antrea::controlplane::PortRef;
use hoptrace::antrea::tables::Table;
use hoptrace::antrea::{AntreaVersion, TableMap, TableMapSource};
use hoptrace::bundle::inputs::discover;
use hoptrace::bundle::{ClusterInfo, NodeArtifacts};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use support::fixture;

fn bundles(name: &str) -> PathBuf {
    fixture("bundles").join(name)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A directory `dir/name` holding `files` (name, fixture path).
fn node_dir(dir: &Path, name: &str, files: &[(&str, PathBuf)]) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    for (f, from) in files {
        std::fs::copy(from, d.join(f)).unwrap();
    }
    d
}

/// v2.6+: `networkinfo.transportinterfaceips` holds `IPNet.String()` values, CIDRs of both
/// families; the addresses are the node's tunnel endpoints.
#[test]
fn v2_6_transport_ips_are_cidrs() {
    let a = NodeArtifacts::open(&bundles("v2.6")).unwrap();
    assert_eq!(a.node, "k8s-node-2");
    let info = a.agent_info.as_ref().unwrap();
    assert_eq!(info.version.as_deref(), Some("v2.6.0"));
    assert_eq!(info.transport_ips, vec![ip("192.168.77.102"), ip("fd00:77::102")]);
    // No `address` file is needed (Windows bundles have none).
    assert!(a.addresses.is_empty());
    assert_eq!(a.transport_ips(), vec![ip("192.168.77.102"), ip("fd00:77::102")]);
}

/// Before v2.6 agentinfo has no `networkinfo`: the node's transport IP comes from the cluster
/// inventory's Node InternalIP.
#[test]
fn before_v2_6_transport_ips_come_from_the_inventory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("support-bundles_20260821T101542+0800");
    node_dir(&root, "k8s-node-1", &[("agentinfo", bundles("v2.5/agentinfo"))]);
    std::fs::copy(bundles("clusterinfo"), root.join("clusterinfo")).unwrap();
    let inputs = discover(&[root.display().to_string()]);
    assert_eq!(inputs.nodes.len(), 1, "{:?}", inputs.nodes);
    let a = inputs.nodes[0].artifacts.as_ref().unwrap();
    assert!(a.agent_info.as_ref().unwrap().transport_ips.is_empty());
    assert_eq!(a.transport_ips(), vec![ip("192.168.77.101")]);
    // The inventory names the node of an address; it is not what the node's own files say.
    assert!(a.reported_transport_ips().is_empty());
}

/// `clusterinfo` writes each section's `#name` line even when the section is empty (e.g.
/// `#configs` when Antrea's ConfigMaps are elsewhere): the objects after the next `#name`
/// belong to that next section.
#[test]
fn an_empty_clusterinfo_section_does_not_swallow_the_next() {
    let info = ClusterInfo::load(&bundles("clusterinfo")).unwrap();
    assert_eq!(info.nodes.len(), 2);
    let pods: Vec<&str> = info.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pods, ["client", "server"]);
    assert_eq!(info.pod("default", "server").unwrap().node.as_deref(), Some("k8s-node-2"));
}

/// Packs the regular files under `dir` as Antrea's `PackDir` does: gzip around a tar of
/// regular files only, names relative to `dir`.
fn pack(dir: &Path, out: &Path) {
    fn walk(root: &Path, dir: &Path, b: &mut tar::Builder<flate2::write::GzEncoder<std::fs::File>>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(root, &p, b);
            } else {
                b.append_path_with_name(&p, p.strip_prefix(root).unwrap()).unwrap();
            }
        }
    }
    let f = std::fs::File::create(out).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(f, flate2::Compression::default()));
    walk(dir, dir, &mut b);
    b.into_inner().unwrap().finish().unwrap();
}

/// `antctl supportbundle` puts the controller's bundle beside the agents': it is recognised by
/// its content (`controllerinfo`, controller logs, no flows or agentinfo) and is not a node.
#[test]
fn the_controller_bundle_is_not_a_node() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("support-bundles_20260821T101542+0800");
    std::fs::create_dir_all(&root).unwrap();
    pack(&bundles("v2.6-controller"), &root.join("controller.tar.gz"));
    let agent = node_dir(tmp.path(), "agent-k8s-node-2", &[("agentinfo", bundles("v2.6/agentinfo"))]);
    pack(&agent, &root.join("agent_k8s-node-2.tar.gz"));
    let inputs = discover(&[root.display().to_string()]);
    let names: Vec<&str> = inputs.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["k8s-node-2"]);
    assert_eq!(inputs.skipped.len(), 1, "{:?}", inputs.skipped);
    assert!(inputs.skipped[0].0.ends_with("controller.tar.gz"), "{:?}", inputs.skipped);
    assert!(inputs.skipped[0].1.contains("controller's bundle"), "{:?}", inputs.skipped);
    assert!(inputs.problems.is_empty(), "{:?}", inputs.problems);
    // Under another name too: the content decides.
    std::fs::rename(root.join("controller.tar.gz"), root.join("antrea-controller-bundle.tar.gz")).unwrap();
    let inputs = discover(&[root.display().to_string()]);
    assert_eq!(inputs.nodes.len(), 1);
    assert_eq!(inputs.skipped.len(), 1, "{:?}", inputs.skipped);
}

/// A SupportBundleCollection uploads `<nodeName>_<collectionName>.tar.gz`
/// (`support_bundle_controller.go`): the node is the part before the `_`, and agentinfo's
/// `noderef.name`, when present, is checked against it.
#[test]
fn support_bundle_collection_names_give_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    // Without agentinfo (a flows-only bundle): the name alone.
    let flows = node_dir(tmp.path(), "flows-only", &[]);
    std::fs::write(flows.join("flows"), "table=0, priority=0 actions=drop").unwrap();
    let p = tmp.path().join("k8s-node-2_sbc-incident-42.tar.gz");
    pack(&flows, &p);
    let a = NodeArtifacts::open(&p).unwrap();
    assert_eq!(a.node, "k8s-node-2");
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    // With agentinfo that agrees: no warning.
    let agent = node_dir(tmp.path(), "agent", &[("agentinfo", bundles("v2.6/agentinfo"))]);
    pack(&agent, &p);
    let a = NodeArtifacts::open(&p).unwrap();
    assert_eq!(a.node, "k8s-node-2");
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    // With agentinfo that disagrees: agentinfo wins and the mismatch is said.
    let other = tmp.path().join("k8s-node-1_sbc-incident-42.tar.gz");
    pack(&agent, &other);
    let a = NodeArtifacts::open(&other).unwrap();
    assert_eq!(a.node, "k8s-node-2");
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert!(
        a.warnings[0].contains("its name says node k8s-node-1, its agentinfo says node k8s-node-2"),
        "{:?}",
        a.warnings
    );
}

const SCENARIO: &str = "pod-to-pod-inter-node";

/// An `antctl supportbundle` directory of the sample scenario as a real v2.6 agent would write
/// it: `clusterinfo`, the controller's bundle, and `agent_<node>.tar.gz` per node in `nodes`
/// whose agentinfo gives the transport IP as a CIDR; no captures.
fn real_bundle_dir(dir: &Path, nodes: &[&str]) -> PathBuf {
    let src = support::sample(SCENARIO);
    let root = dir.join("support-bundles_20261126T204720+0000");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(src.join("clusterinfo"), root.join("clusterinfo")).unwrap();
    pack(&bundles("v2.6-controller"), &root.join("controller.tar.gz"));
    for n in nodes {
        let stage = dir.join(format!("stage-{n}"));
        std::fs::create_dir_all(&stage).unwrap();
        for f in ["flows", "groups", "ovsports", "networkpolicies", "addressgroups", "appliedtogroups", "route"] {
            std::fs::copy(src.join(n).join(f), stage.join(f)).unwrap();
        }
        let info = std::fs::read_to_string(src.join(n).join("agentinfo")).unwrap();
        let cidr = info
            .replace("\"192.168.77.101\"", "\"192.168.77.101/24\"")
            .replace("\"192.168.77.102\"", "\"192.168.77.102/24\"");
        assert_ne!(info, cidr, "the sample's agentinfo names its transport IP");
        std::fs::write(stage.join("agentinfo"), cidr).unwrap();
        pack(&stage, &root.join(format!("agent_{n}.tar.gz")));
    }
    root
}

fn analyze(args: &[&str]) -> (serde_json::Value, String, i32) {
    let out = support::hoptrace().args(["analyze", "--format", "json", "-v"]).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stderr}"));
    (v, stderr, out.status.code().unwrap())
}

/// The whole chain on a real-layout bundle directory without tunnel captures: the controller's
/// bundle is skipped with a note, the CIDR transport IPs are read, and the next node is named
/// (or, without its bundle, named as missing) — never a node called "controller".
#[test]
fn analyze_a_real_bundle_directory_without_tunnel_captures() {
    let tmp = tempfile::tempdir().unwrap();
    let src = support::sample(SCENARIO);
    let probe = src.join("probe.json");
    let client = src.join("k8s-node1").join("k8s-node1_client-05da76.pcap");
    let pod_capture = format!("k8s-node1={}", client.display());

    let root = real_bundle_dir(&tmp.path().join("both"), &["k8s-node1", "k8s-node2"]);
    let (v, stderr, code) = analyze(&[root.to_str().unwrap(), &pod_capture, "--probe", probe.to_str().unwrap()]);
    assert!(
        stderr.contains("skipped") && stderr.contains("controller.tar.gz: the Antrea controller's bundle"),
        "{stderr}"
    );
    assert!(!stderr.contains("-> controller:"), "{stderr}");
    assert!(!v.to_string().contains("\"controller\""), "{v}");
    let results = v["results"].as_array().unwrap();
    let nodes: Vec<(&str, &str)> =
        results.iter().map(|r| (r["node"].as_str().unwrap(), r["role"].as_str().unwrap())).collect();
    assert_eq!(nodes, [("k8s-node1", "sender"), ("k8s-node2", "receiver")], "{v}");
    let out = results[0]["observations"].as_array().unwrap().last().unwrap();
    assert_eq!(out["tunnelDstIP"], "192.168.77.102", "{v}");
    assert_eq!(code, 0, "{v}");

    // Without the next node's bundle: that node is named as missing, from the inventory.
    let root = real_bundle_dir(&tmp.path().join("one"), &["k8s-node1"]);
    let (v, stderr, code) = analyze(&[root.to_str().unwrap(), &pod_capture, "--probe", probe.to_str().unwrap()]);
    assert!(!stderr.contains("-> controller:"), "{stderr}");
    assert_eq!(v["phase"], "Failed", "{v}");
    assert_eq!(v["results"].as_array().unwrap().len(), 1, "{v}");
    let missing: Vec<&serde_json::Value> =
        v["findings"].as_array().unwrap().iter().filter(|f| f["kind"] == "missing-input").collect();
    assert_eq!(missing.len(), 1, "{v}");
    assert_eq!(missing[0]["node"], "k8s-node2", "{v}");
    assert_eq!(code, 3, "{v}");
}

/// The agent's policy files (yaml.v2 of controlplane structs): `services[].port` is an
/// `IntOrString` written as `{type, intval, strval}`; a named port is resolved through the
/// endpoints' named ports (the applied-to Pods of an ingress rule), else said unresolved.
#[test]
fn v2_6_policy_ports_are_int_or_string() {
    let a = NodeArtifacts::open(&bundles("v2.6")).unwrap();
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    let np = &a.network_policies[0];
    assert_eq!(np.source.as_deref(), Some("acnp-deny-db"));
    let rule = &np.rules[0];
    assert_eq!(rule.peer_ip_blocks, ["10.10.0.0/24"]);
    let services: Vec<String> = rule.services.iter().map(ToString::to_string).collect();
    assert_eq!(services, ["TCP/3306", "TCP/8000-8080", "TCP/http=8080", "UDP/metrics (unresolved)", "UDP/*"]);
    assert_eq!(rule.services[2].port, Some(PortRef::Name("http".into())));
    assert_eq!(a.applied_to_groups[0].members[0].ports.len(), 2);
    assert_eq!(a.address_groups[0].members[0].ips, [ip("10.10.0.5")]);
}

/// Service `targetPort` (and, from Go YAML encoders, `port`) are `IntOrString`s: a number, a
/// container port's name, or the `{type, intval, strval}` mapping.
#[test]
fn service_ports_are_int_or_string() {
    let json = ClusterInfo::load(&bundles("services.json")).unwrap();
    let web = json.service("default", "web").unwrap();
    let ports: Vec<(u16, Option<PortRef>)> = web.ports.iter().map(|p| (p.port, p.target_port.clone())).collect();
    assert_eq!(ports, [(80, Some(PortRef::Name("http".into()))), (9090, Some(PortRef::Number(9100)))]);
    let yaml = ClusterInfo::load(&bundles("services.yaml")).unwrap();
    let db = yaml.service("default", "db").unwrap();
    assert_eq!(db.cluster_ips, [ip("10.96.40.2")]);
    let ports: Vec<(u16, Option<PortRef>)> = db.ports.iter().map(|p| (p.port, p.target_port.clone())).collect();
    assert_eq!(ports, [(3306, Some(PortRef::Number(3306))), (33062, Some(PortRef::Name("admin".into())))]);
}

/// Antrea before v2.0 dumps no `groups`: a Service group the flows use exists on the switch but
/// its buckets are unknown, so the simulation stops there as unresolved — never "dropped".
#[test]
fn without_a_groups_file_group_actions_are_unresolved() {
    let tmp = tempfile::tempdir().unwrap();
    let src = support::sample("pod-to-service-remote").join("k8s-node1");
    let files: Vec<(&str, PathBuf)> = ["flows", "ovsports", "agentinfo"].iter().map(|f| (*f, src.join(f))).collect();
    let dir = node_dir(tmp.path(), "k8s-node1", &files);
    let a = NodeArtifacts::open(&dir).unwrap();
    assert!(a.groups_missing);
    let out = support::run(&[
        "trace",
        "--node-dir",
        dir.to_str().unwrap(),
        "--in-port",
        "client-05da76",
        "tcp,dl_src=d6:f8:54:e5:46:56,dl_dst=f2:37:83:15:41:84,nw_src=10.10.1.5,nw_dst=10.96.0.20,tp_src=10004,tp_dst=80,nw_ttl=64",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Result: incomplete"), "{text}");
    assert!(!text.contains("Result: dropped"), "{text}");
    assert!(text.contains("group 2 is unresolved") && text.contains("no groups file"), "{text}");
    // With the groups file the same packet goes through the group.
    std::fs::copy(src.join("groups"), dir.join("groups")).unwrap();
    assert!(!NodeArtifacts::open(&dir).unwrap().groups_missing);
}

/// v1.4: agentinfo is indented JSON (camelCase), the flows are an OpenFlow 1.3 dump without
/// `idle_age` and with the fixed numeric table ids, which agentinfo's legacy table names
/// (`Classification`, `L2Forwarding`) must not renumber.
#[test]
fn v1_4_json_agentinfo_and_openflow13_numeric_flows() {
    let a = NodeArtifacts::open(&bundles("v1.4")).unwrap();
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    assert_eq!(a.node, "k8s-node-1");
    let info = a.agent_info.as_ref().unwrap();
    assert_eq!(info.version.as_deref(), Some("v1.4.0"));
    assert_eq!(info.node_subnets, ["10.10.0.0/24"]);
    assert_eq!(info.bridge.as_deref(), Some("br-int"));
    assert!(info.flow_tables.contains_key("Classification"));
    assert_eq!(a.antrea_version(), Some(AntreaVersion::new(1, 4)));
    assert!(a.network_policies.is_empty() && a.groups_missing);
    let dump = a.flows.as_ref().unwrap();
    assert_eq!(dump.flows.len(), 18);
    assert!(dump.flows.iter().all(|f| f.idle_age.is_none() && f.duration_ms.is_some()));
    // The fixed ids, by version and by the names alike.
    for version in [a.antrea_version(), None] {
        let tables = TableMap::for_node(dump, &a.declared_tables(), version);
        assert_eq!(tables.source, TableMapSource::Legacy, "{version:?}: {:?}", tables.notes);
        let of = |i: usize| tables.table_of(&dump.flows[i]);
        assert_eq!(of(0), Some(Table::Classifier));
        assert_eq!(of(4), Some(Table::SpoofGuard));
        assert_eq!(of(9), Some(Table::L3Forwarding));
        assert_eq!(of(13), Some(Table::L2ForwardingCalc));
        assert_eq!(of(16), Some(Table::Output));
    }
    // The node's view of its flows: the tunnel peer of the remote Pod CIDR.
    let tables = TableMap::for_node(dump, &a.declared_tables(), a.antrea_version());
    let view = hoptrace::antrea::NodeView::build(dump, &a.groups, a.ports.as_ref(), &tables);
    assert_eq!(view.peer_for(ip("10.10.1.9")).unwrap().peer, ip("192.168.77.102"));
}

/// Two bundles of one node (two SupportBundleCollections, or two antctl runs in one directory)
/// are never merged: the one collected later by agentinfo's heartbeat is used (whatever the
/// names' order), the same heartbeat twice is one collection given twice, and without heartbeats
/// neither is used; the input problem names both.
#[test]
fn two_bundles_of_one_node_are_chosen_by_heartbeat_or_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let info = std::fs::read_to_string(bundles("v2.6/agentinfo")).unwrap();
    let beat = "lastheartbeattime: 2026-08-21T02:15:42.123456789Z";
    assert!(info.contains(beat), "the fixture's heartbeat");
    let bundle = |dir: &str, text: &str, name: &str, root: &Path| {
        let stage = tmp.path().join(dir);
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::write(stage.join("agentinfo"), text).unwrap();
        std::fs::create_dir_all(root).unwrap();
        pack(&stage, &root.join(name));
    };
    let earlier = info.replace(beat, "lastheartbeattime: 2026-08-20T09:00:00Z");
    let no_beat = info.replace(&format!("  {beat}\n"), "");
    assert_ne!(no_beat, info);

    // The later collection sorts first by name: the heartbeat decides, not the name.
    let root = tmp.path().join("uploads");
    bundle("later", &info, "k8s-node-2_a-incident.tar.gz", &root);
    bundle("earlier", &earlier, "k8s-node-2_b-baseline.tar.gz", &root);
    let inputs = discover(&[root.display().to_string()]);
    assert_eq!(inputs.nodes.len(), 1);
    assert!(inputs.nodes[0].artifacts.as_ref().unwrap().origin.ends_with("k8s-node-2_a-incident.tar.gz"));
    assert_eq!(inputs.problems.len(), 1, "{:?}", inputs.problems);
    let why = &inputs.problems[0].1;
    assert!(
        why.contains("k8s-node-2_b-baseline.tar.gz (agentinfo heartbeat 2026-08-20T09:00:00.000000000Z) and ")
            && why.contains("k8s-node-2_a-incident.tar.gz (heartbeat 2026-08-21T02:15:42.123456789Z); the later, "),
        "{why}"
    );

    // One collection given twice.
    let root = tmp.path().join("copies");
    bundle("later", &info, "k8s-node-2_sbc.tar.gz", &root);
    bundle("later", &info, "k8s-node-2_sbc-copy.tar.gz", &root);
    let inputs = discover(&[root.display().to_string()]);
    assert!(inputs.nodes[0].artifacts.is_some());
    assert!(inputs.problems[0].1.contains("the same collection given twice"), "{:?}", inputs.problems);

    // Nothing tells which is current: neither is used, both are named.
    let root = tmp.path().join("unknown");
    bundle("later", &info, "k8s-node-2_x.tar.gz", &root);
    bundle("none", &no_beat, "k8s-node-2_y.tar.gz", &root);
    let inputs = discover(&[root.display().to_string()]);
    assert!(inputs.nodes.iter().all(|n| n.artifacts.is_none()), "{:?}", inputs.nodes);
    let why = &inputs.problems[0].1;
    assert!(
        why.contains("k8s-node-2_x.tar.gz and ")
            && why.contains("k8s-node-2_y.tar.gz")
            && why.contains("neither is used"),
        "{why}"
    );
}

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dst = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dst);
        } else {
            std::fs::copy(&p, &dst).unwrap();
        }
    }
}

/// The output action of a probe leaving through the gateway in encap mode follows the agent's
/// release: `ForwardedOutOfOverlay` up to v2.4, `ForwardedOutOfNetwork` from v2.5.0
/// (antrea-io/antrea#7481, listed in the 2.5.0 changelog). The sample records v2.6.0.
#[test]
fn the_gateway_exit_is_named_as_the_agents_release_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    for (version, action) in [
        (None, "ForwardedOutOfNetwork"),
        (Some("v2.4.3"), "ForwardedOutOfOverlay"),
        (Some("v1.15.1"), "ForwardedOutOfOverlay"),
        (Some("v2.5.0"), "ForwardedOutOfNetwork"),
    ] {
        let dir = tmp.path().join(version.unwrap_or("as-recorded"));
        copy_tree(&support::sample("pod-to-external"), &dir);
        let info = dir.join("k8s-node1").join("agentinfo");
        let text = std::fs::read_to_string(&info).unwrap();
        assert!(text.contains("version: \"v2.6.0\""), "the sample's recorded release");
        if let Some(v) = version {
            std::fs::write(&info, text.replace("version: \"v2.6.0\"", &format!("version: \"{v}\""))).unwrap();
        }
        let (v, _, code) = analyze(&[dir.to_str().unwrap()]);
        assert_eq!((v["phase"].as_str(), code), (Some("Succeeded"), 0), "{version:?}: {v}");
        let last = v["results"][0]["observations"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (last["component"].as_str(), last["action"].as_str()),
            (Some("Forwarding"), Some(action)),
            "{version:?}: {v}"
        );
        // Either name keeps its evidence: the sighting on the gateway.
        assert!(last["interface"] == "antrea-gw0", "{version:?}: {last}");
    }
}

/// Agents before v1.5 write no policy files (antrea-io/antrea#3082); the controller's bundle
/// holds the cluster-wide policies and groups, which then name the node's policy rules.
#[test]
fn a_bundle_without_policy_files_takes_the_controllers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("k8s-np-ingress-drop");
    copy_tree(&support::sample("k8s-np-ingress-drop"), &dir);
    let controller = tmp.path().join("controller");
    std::fs::create_dir_all(&controller).unwrap();
    std::fs::copy(bundles("v2.6-controller/controllerinfo"), controller.join("controllerinfo")).unwrap();
    for f in ["networkpolicies", "addressgroups", "appliedtogroups"] {
        std::fs::rename(dir.join("k8s-node1").join(f), controller.join(f)).unwrap();
    }
    let policy_of_egress = |v: &serde_json::Value| -> Option<String> {
        v["results"][0]["observations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["componentInfo"] == "EgressRule")
            .and_then(|o| o["networkPolicy"].as_str().map(str::to_string))
    };
    // Without the controller's bundle the sender's rule cannot be named.
    let (v, _, _) = analyze(&[dir.to_str().unwrap()]);
    assert_ne!(policy_of_egress(&v).as_deref(), Some("K8sNetworkPolicy:default/allow-client-egress"), "{v}");
    // With it, the rule is named, and -v says where the policies came from.
    pack(&controller, &dir.join("controller.tar.gz"));
    let (v, stderr, _) = analyze(&[dir.to_str().unwrap()]);
    assert_eq!(policy_of_egress(&v).as_deref(), Some("K8sNetworkPolicy:default/allow-client-egress"), "{v}");
    assert!(stderr.contains("its cluster-wide policies stand in for those of k8s-node1"), "{stderr}");
    assert!(stderr.contains("policies (from ") && stderr.contains("controller.tar.gz)"), "{stderr}");
    // k8s-node2 has its own files: they are kept.
    assert!(!stderr.contains("stand in for those of k8s-node1, k8s-node2"), "{stderr}");
}

/// A Windows agent's bundle (`pkg/support/dump_windows.go`: `ipconfig`, `routes`,
/// `network-adapters`, `HNSNetwork`, `HNSEndpoint`, no `address`/`link`/`route`) is read for what
/// hoptrace models, and says plainly what it does not.
#[test]
fn a_windows_agent_bundle_says_what_is_not_modelled() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = node_dir(tmp.path(), "win-node", &[("agentinfo", bundles("v2.6/agentinfo"))]);
    std::fs::write(dir.join("ipconfig"), "Windows IP Configuration\r\n").unwrap();
    std::fs::write(dir.join("HNSNetwork"), "Name : antrea-hnsnetwork\r\n").unwrap();
    let expect = "a Windows agent's bundle (ipconfig, HNSNetwork): hoptrace does not read these members";
    let a = NodeArtifacts::open(&dir).unwrap();
    assert!(a.warnings.iter().any(|w| w.contains(expect)), "{:?}", a.warnings);
    let archive = tmp.path().join("agent_k8s-node-2.tar.gz");
    pack(&dir, &archive);
    let a = NodeArtifacts::open(&archive).unwrap();
    assert!(
        a.warnings.iter().any(|w| w.contains(expect) && w.contains("simulated as a Linux agent's")),
        "{:?}",
        a.warnings
    );
    // A Linux agent's bundle says nothing of the kind.
    let linux = node_dir(tmp.path(), "linux-node", &[("agentinfo", bundles("v2.6/agentinfo"))]);
    assert!(NodeArtifacts::open(&linux).unwrap().warnings.is_empty());
}
