//! Format details of real Antrea support bundles, each from a fixture under
//! `tests/fixtures/bundles/` written from Antrea's own dump code (the Antrea version and source
//! file of each are in that directory's README.md): what the agents of each version write, and
//! what hoptrace makes of it.

mod support;

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
