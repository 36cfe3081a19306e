//! `hoptrace inject --print-packet-out` against a real Open vSwitch: a private ovsdb-server and
//! ovs-vswitchd (userspace datapath, own run/db/log directory) inside a network namespace made for
//! the test, a bridge with two veth ports, `in_port=1 actions=output:2`. The printed command is run
//! as printed and the probe frame must come out of port 2, and only there.
//! Needs root, iproute2 and openvswitch-switch (3.1); about one second.

mod support;

use hoptrace::probe::Probe;
use std::path::Path;
use std::process::Command;
use support::netns::{unique, Capture, Netns};
use support::ovs::{Datapath, Port, PrivateOvs};
use support::{craft, require, run, run_tool, Need};

/// Adds a userspace-datapath bridge without default flows whose ports (interfaces in the
/// switch's namespace) get OpenFlow numbers 1, 2, ... in the order given.
fn add_bridge(ovs: &PrivateOvs, bridge: &str, ports: &[&str], protocols: &str) {
    let ports: Vec<Port> = ports.iter().enumerate().map(|(i, p)| Port::interface(p, i as u32 + 1)).collect();
    ovs.add_bridge(bridge, protocols, &[], &ports).unwrap();
}

/// `ovs-ofctl ARGS` against the private switch; its stdout.
fn ofctl(ovs: &PrivateOvs, args: &[&str]) -> String {
    ovs.ofctl(args).unwrap()
}

fn run_printed(ovs: &PrivateOvs, probe: &Path, extra: &[&str]) -> String {
    let mut args = vec!["inject", probe.to_str().unwrap(), "--print-packet-out"];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cmd = String::from_utf8(out.stdout).unwrap();
    assert_eq!(cmd.lines().count(), 1, "one command on stdout: {cmd}");
    let ran = Command::new("sh").arg("-c").arg(cmd.trim()).envs(ovs.env()).output().expect("sh");
    assert!(ran.status.success(), "{cmd}: {}", String::from_utf8_lossy(&ran.stderr));
    cmd
}

#[test]
fn printed_packet_out_is_accepted_by_ovs_and_the_frame_leaves_the_expected_port() {
    require!(Need::Netns, Need::Ovs);
    let ovs = PrivateOvs::start(Datapath::Netdev);
    let ns = &ovs.netns;
    for (o, e) in [("o1", "e1"), ("o2", "e2")] {
        ns.ip(&["link", "add", o, "type", "veth", "peer", "name", e]);
        ns.ip(&["link", "set", o, "arp", "off", "up"]);
        ns.ip(&["link", "set", e, "up"]);
    }
    add_bridge(&ovs, "br0", &["o1", "o2"], "OpenFlow10,OpenFlow13,OpenFlow15");
    ofctl(&ovs, &["add-flow", "br0", "in_port=1,actions=output:2"]);

    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let frame = Probe::load(&probe).unwrap().frame_bytes().unwrap();

    let out2 = Capture::start(&ns.name, "e2");
    let out1 = Capture::start(&ns.name, "e1");
    let cmd = run_printed(&ovs, &probe, &["br0", "1"]);
    assert!(cmd.starts_with("ovs-ofctl -O OpenFlow15 packet-out br0 in_port=1,packet="), "{cmd}");
    assert!(cmd.trim_end().ends_with(",actions=table"), "{cmd}");
    // The port by name, and replaced MACs.
    run_printed(&ovs, &probe, &["br0", "o1", "--dst-mac", "02:00:00:00:02:05", "--src-mac", "02:00:0a:0a:01:05"]);
    let (on2, on1) = (out2.finish(), out1.finish());

    let mut rewritten = frame.clone();
    rewritten[0..6].copy_from_slice(&[2, 0, 0, 0, 2, 5]);
    rewritten[6..12].copy_from_slice(&[2, 0, 0x0a, 0x0a, 1, 5]);
    assert_eq!(on2, vec![frame, rewritten], "port 2 carries exactly the two frames, unchanged");
    assert!(on1.is_empty(), "nothing goes back out of the input port: {on1:02x?}");
    let flows = ofctl(&ovs, &["dump-flows", "br0"]);
    assert!(flows.contains("n_packets=2,") && flows.contains("in_port=1 actions=output:2"), "{flows}");
}

/// The reason hoptrace injects from inside the Pod: the probe crosses the Pod's veth into OVS and
/// meets SpoofGuard there. Here a SpoofGuard-like flow lets through only the Pod's MAC and IP on its
/// port: the probe crafted with a placeholder MAC is dropped, and the same probe with
/// `--src-mac-from-iface` passes and leaves port 2.
#[test]
fn injected_from_a_pod_netns_the_probe_meets_spoofguard() {
    require!(Need::Netns, Need::Ovs);
    let ovs = PrivateOvs::start(Datapath::Netdev);
    let ns = &ovs.netns;
    let pod = Netns::new(&unique("hp"));
    let pod_mac = "02:00:0a:0a:01:05";
    let veth = ["link", "add", "eth0", "netns", &pod.name, "address", pod_mac, "type", "veth"];
    run_tool("ip", &[&veth[..], &["peer", "name", "p1", "netns", &ns.name]].concat());
    pod.ip(&["link", "set", "eth0", "up"]);
    ns.ip(&["link", "set", "p1", "arp", "off", "up"]);
    ns.ip(&["link", "add", "o2", "type", "veth", "peer", "name", "e2"]);
    ns.ip(&["link", "set", "o2", "arp", "off", "up"]);
    ns.ip(&["link", "set", "e2", "up"]);
    add_bridge(&ovs, "br0", &["p1", "o2"], "OpenFlow10");
    ofctl(
        &ovs,
        &["add-flow", "br0", &format!("priority=200,ip,in_port=1,dl_src={pod_mac},nw_src=10.10.1.5,actions=output:2")],
    );
    ofctl(&ovs, &["add-flow", "br0", "priority=0,actions=drop"]);

    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    // The helper crafts with source MAC 02:00:00:00:01:05, which is not the Pod's.
    craft(&probe, &[]);
    let frame = Probe::load(&probe).unwrap().frame_bytes().unwrap();
    let inject = |extra: &[&str]| {
        let mut args = vec!["inject", probe.to_str().unwrap(), "--iface", "eth0", "--netns", pod.name.as_str(), "-q"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let counters = || {
        let flows = ofctl(&ovs, &["dump-flows", "br0"]);
        let n = |needle: &str| {
            let line = flows.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}: {flows}"));
            line.split("n_packets=").nth(1).and_then(|r| r.split(',').next()).unwrap().parse::<u64>().unwrap()
        };
        (n("actions=output:2"), n("actions=drop"))
    };

    let out = Capture::start(&ns.name, "e2");
    inject(&[]);
    wait_for(|| counters().1 == 1, "the drop flow to count the spoofed probe");
    inject(&["--src-mac-from-iface"]);
    wait_for(|| counters().0 == 1, "the SpoofGuard-like flow to count the probe");
    let seen = out.finish();
    let mut with_pod_mac = frame.clone();
    with_pod_mac[6..12].copy_from_slice(&[2, 0, 0x0a, 0x0a, 1, 5]);
    assert_eq!(seen, vec![with_pod_mac], "only the probe with the Pod's MAC passes");
    assert_eq!(counters(), (1, 1));
}

/// Polls `cond` for up to 10 s (OVS's userspace datapath handles the packet on its own thread).
fn wait_for(cond: impl Fn() -> bool, what: &str) {
    let t0 = std::time::Instant::now();
    while !cond() {
        assert!(t0.elapsed() < std::time::Duration::from_secs(10), "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
