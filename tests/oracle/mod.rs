//! The real-OVS side of the simulator's differential tests: a reader for `ofproto/trace` text
//! ([`trace_text`]), the comparison with the simulator ([`compare`]), a packet generator
//! ([`packets`]) and the Antrea v1.15 corpus pipeline prepared for loading ([`antrea_fixture`])
//! into a private switch ([`antrea_ovs`], on `crate::support::ovs`). A test file mounts it
//! after `mod support;`.
#![allow(dead_code)]

pub mod compare;
pub mod packets;
pub mod trace_text;

use crate::support::corpus;
use crate::support::ovs::{Datapath, Port, PrivateOvs};
use std::path::PathBuf;

/// `tests/fixtures/sim/NAME`.
pub fn sim_fixture(name: &str) -> PathBuf {
    crate::support::fixture("sim").join(name)
}

/// The Antrea v1.15 pipeline as the tests load it.
pub struct AntreaFixture {
    /// Flow lines (named tables, `--names` syntax).
    pub flows: String,
    /// Group lines: the corpus groups plus an empty select group for every group id a flow uses
    /// that the document does not list (OVS refuses a flow whose group does not exist; an empty
    /// select group drops, as a missing group does in the simulator).
    pub groups: String,
    /// Table names in pipeline order (index = table id), as they first appear in the file.
    pub tables: Vec<String>,
    /// Port table text (`dump-ports-desc` format).
    pub ports: String,
    /// (name, ofport) of every port.
    pub port_list: Vec<(String, u32)>,
}

/// Loads and prepares the corpus Antrea pipeline.
pub fn antrea_fixture() -> AntreaFixture {
    let text = corpus::flows_text("antrea-ovs-pipeline-v1.15-all-tables.flows");
    let flows: String = text.lines().filter(|l| l.starts_with("table=")).map(|l| format!("{l}\n")).collect();
    let mut tables: Vec<String> = Vec::new();
    for l in flows.lines() {
        let name = l.trim_start_matches("table=").split(',').next().unwrap_or_default().to_string();
        if !tables.contains(&name) {
            tables.push(name);
        }
    }
    let gtext = corpus::flows_text("antrea-ovs-pipeline-v1.15-groups.txt");
    let mut groups: String = gtext.lines().filter(|l| l.starts_with("group_id=")).map(|l| format!("{l}\n")).collect();
    let have: Vec<u32> =
        groups.lines().filter_map(|l| l.trim_start_matches("group_id=").split(',').next()?.parse().ok()).collect();
    let mut used: Vec<u32> = flows
        .split("group:")
        .skip(1)
        .filter_map(|r| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    used.sort_unstable();
    used.dedup();
    for g in used.into_iter().filter(|g| !have.contains(g)) {
        groups += &format!("group_id={g},type=select\n");
    }
    let ports = std::fs::read_to_string(sim_fixture("antrea-v1.15.ports")).expect("ports fixture");
    let port_list = ports
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let (n, rest) = l.split_once('(')?;
            let name = rest.split_once(')')?.0;
            Some((name.to_string(), n.parse().ok()?))
        })
        .collect();
    AntreaFixture { flows, groups, tables, ports, port_list }
}

/// Starts a private OVS with the Antrea pipeline on bridge `br-int`.
/// Needs root and Open vSwitch: callers declare `require!(Need::Netns, Need::Ovs)`.
pub fn antrea_ovs(fx: &AntreaFixture) -> PrivateOvs {
    let mut ovs = PrivateOvs::start(Datapath::Dummy);
    let tables: Vec<(u8, String)> = fx.tables.iter().enumerate().map(|(i, n)| (i as u8, n.clone())).collect();
    let ports: Vec<Port> = fx
        .port_list
        .iter()
        .map(|(n, p)| if n == "antrea-tun0" { Port::tunnel(n, *p, "geneve") } else { Port::dummy(n, *p) })
        .collect();
    ovs.add_bridge("br-int", "OpenFlow10,OpenFlow13,OpenFlow15", &tables, &ports).expect("bridge");
    ovs.load("br-int", &fx.flows, &fx.groups).expect("load the Antrea pipeline");
    // This node is 192.168.77.102 (its NodePortMark flow); its flows tunnel to .103 (remote Pod
    // CIDR) and .113 (remote Egress node).
    ovs.underlay(
        "192.168.77.102/24",
        &[("192.168.77.103", "02:77:00:00:00:03"), ("192.168.77.113", "02:77:00:00:00:13")],
    )
    .expect("underlay");
    ovs
}
