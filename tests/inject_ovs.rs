//! `hoptrace inject --print-packet-out` against a real Open vSwitch: a private ovsdb-server and
//! ovs-vswitchd (userspace datapath, own run/db/log directory) inside a network namespace made for
//! the test, a bridge with two veth ports, `in_port=1 actions=output:2`. The printed command is run
//! as printed and the probe frame must come out of port 2, and only there.
//! Needs root, iproute2 and openvswitch-switch (3.1); about one second.

mod inject_support;
use inject_support as support;

use hoptrace::probe::Probe;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{craft, hoptrace, sh, unique, Capture, Netns};

/// ovsdb-server + ovs-vswitchd running inside `ns` with everything under `dir`; stopped on drop
/// (before the namespace and the directory go).
struct PrivateOvs {
    ns: Netns,
    dir: tempfile::TempDir,
}

impl PrivateOvs {
    fn start() -> PrivateOvs {
        let ns = Netns::new(&unique("ho"));
        let dir = tempfile::tempdir().unwrap();
        let ovs = PrivateOvs { ns, dir };
        let d = ovs.dir();
        let db = d.join("conf.db");
        sh("ovsdb-tool", &["create", db.to_str().unwrap(), "/usr/share/openvswitch/vswitch.ovsschema"]);
        ovs.daemon("ovsdb-server", &[db.to_str().unwrap(), &format!("--remote=punix:{}", d.join("db.sock").display())]);
        ovs.vsctl(&["--no-wait", "init"]);
        ovs.daemon("ovs-vswitchd", &[&format!("unix:{}", d.join("db.sock").display())]);
        ovs
    }

    fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Starts an OVS daemon in the namespace, detached, with pidfile, control socket and log in `dir`.
    fn daemon(&self, name: &str, args: &[&str]) {
        let d = self.dir();
        let mut all: Vec<String> = ["netns", "exec", &self.ns.name, "env"].map(String::from).to_vec();
        for var in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"] {
            all.push(format!("{var}={}", d.display()));
        }
        all.push(name.to_string());
        all.extend(args.iter().map(|s| s.to_string()));
        all.extend([
            format!("--pidfile={}", d.join(format!("{name}.pid")).display()),
            format!("--unixctl={}", d.join(format!("{name}.ctl")).display()),
            format!("--log-file={}", d.join(format!("{name}.log")).display()),
            "-vconsole:off".to_string(),
            "--detach".to_string(),
            "--no-chdir".to_string(),
        ]);
        sh("ip", &all.iter().map(String::as_str).collect::<Vec<_>>());
    }

    fn vsctl(&self, args: &[&str]) -> String {
        let db = format!("--db=unix:{}", self.dir().join("db.sock").display());
        let mut all = vec!["--timeout=30", db.as_str()];
        all.extend_from_slice(args);
        sh("ovs-vsctl", &all)
    }

    /// Adds a userspace-datapath bridge without default flows (`fail_mode=secure`) whose ports
    /// get OpenFlow numbers 1, 2, ... in the order given.
    fn add_bridge(&self, bridge: &str, ports: &[&str], protocols: &str) {
        let mut args: Vec<String> =
            ["add-br", bridge, "--", "set", "Bridge", bridge, "datapath_type=netdev"].map(String::from).to_vec();
        args.push("fail_mode=secure".to_string());
        args.push(format!("protocols={protocols}"));
        for (i, port) in ports.iter().enumerate() {
            args.extend(["--", "add-port", bridge, port, "--", "set", "Interface", port].map(String::from));
            args.push(format!("ofport_request={}", i + 1));
        }
        self.vsctl(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }

    fn ofctl(&self, args: &[&str]) -> String {
        let out = Command::new("ovs-ofctl").env("OVS_RUNDIR", self.dir()).args(args).output().expect("ovs-ofctl");
        assert!(out.status.success(), "ovs-ofctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The PID in `name`'s pidfile if that process is still an OVS daemon.
    fn live_pid(&self, name: &str) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.dir().join(format!("{name}.pid"))).ok()?.trim().parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let comm = stat.split_once(" (")?.1.split_once(") ")?;
        (comm.0.starts_with("ovs") && !comm.1.starts_with('Z')).then_some(pid)
    }
}

impl Drop for PrivateOvs {
    fn drop(&mut self) {
        for (name, extra) in [("ovs-vswitchd", Some("--cleanup")), ("ovsdb-server", None)] {
            let ctl = self.dir().join(format!("{name}.ctl"));
            let mut args = vec!["--timeout=10".to_string(), "-t".to_string(), ctl.display().to_string()];
            args.push("exit".to_string());
            args.extend(extra.map(String::from));
            let _ = Command::new("ovs-appctl").args(&args).output();
            for _ in 0..50 {
                if self.live_pid(name).is_none() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            if let Some(pid) = self.live_pid(name) {
                // SAFETY: kill(2) on a PID read from our own pidfile and checked to be an OVS daemon.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        // Then `ns` is deleted (with the veths and taps inside) and `dir` removed.
    }
}

fn run_printed(ovs: &PrivateOvs, probe: &Path, extra: &[&str]) -> String {
    let mut args = vec!["inject", probe.to_str().unwrap(), "--print-packet-out"];
    args.extend_from_slice(extra);
    let out = hoptrace(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cmd = String::from_utf8(out.stdout).unwrap();
    assert_eq!(cmd.lines().count(), 1, "one command on stdout: {cmd}");
    let run = Command::new("sh").arg("-c").arg(cmd.trim()).env("OVS_RUNDIR", ovs.dir()).output().expect("sh");
    assert!(run.status.success(), "{cmd}: {}", String::from_utf8_lossy(&run.stderr));
    cmd
}

#[test]
fn printed_packet_out_is_accepted_by_ovs_and_the_frame_leaves_the_expected_port() {
    let ovs = PrivateOvs::start();
    let ns = &ovs.ns;
    for (o, e) in [("o1", "e1"), ("o2", "e2")] {
        ns.ip(&["link", "add", o, "type", "veth", "peer", "name", e]);
        ns.ip(&["link", "set", o, "arp", "off", "up"]);
        ns.ip(&["link", "set", e, "up"]);
    }
    ovs.add_bridge("br0", &["o1", "o2"], "OpenFlow10,OpenFlow13,OpenFlow15");
    ovs.ofctl(&["add-flow", "br0", "in_port=1,actions=output:2"]);

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
    let flows = ovs.ofctl(&["dump-flows", "br0"]);
    assert!(flows.contains("n_packets=2,") && flows.contains("in_port=1 actions=output:2"), "{flows}");
}

/// The reason hoptrace injects from inside the Pod: the probe crosses the Pod's veth into OVS and
/// meets SpoofGuard there. Here a SpoofGuard-like flow lets through only the Pod's MAC and IP on its
/// port: the probe crafted with a placeholder MAC is dropped, and the same probe with
/// `--src-mac-from-iface` passes and leaves port 2.
#[test]
fn injected_from_a_pod_netns_the_probe_meets_spoofguard() {
    let ovs = PrivateOvs::start();
    let ns = &ovs.ns;
    let pod = Netns::new(&unique("hp"));
    let pod_mac = "02:00:0a:0a:01:05";
    let veth = ["link", "add", "eth0", "netns", &pod.name, "address", pod_mac, "type", "veth"];
    sh("ip", &[&veth[..], &["peer", "name", "p1", "netns", &ns.name]].concat());
    pod.ip(&["link", "set", "eth0", "up"]);
    ns.ip(&["link", "set", "p1", "arp", "off", "up"]);
    ns.ip(&["link", "add", "o2", "type", "veth", "peer", "name", "e2"]);
    ns.ip(&["link", "set", "o2", "arp", "off", "up"]);
    ns.ip(&["link", "set", "e2", "up"]);
    ovs.add_bridge("br0", &["p1", "o2"], "OpenFlow10");
    ovs.ofctl(&[
        "add-flow",
        "br0",
        &format!("priority=200,ip,in_port=1,dl_src={pod_mac},nw_src=10.10.1.5,actions=output:2"),
    ]);
    ovs.ofctl(&["add-flow", "br0", "priority=0,actions=drop"]);

    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    // The helper crafts with source MAC 02:00:00:00:01:05, which is not the Pod's.
    craft(&probe, &[]);
    let frame = Probe::load(&probe).unwrap().frame_bytes().unwrap();
    let inject = |extra: &[&str]| {
        let mut args = vec!["inject", probe.to_str().unwrap(), "--iface", "eth0", "--netns", pod.name.as_str(), "-q"];
        args.extend_from_slice(extra);
        let out = hoptrace(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let counters = || {
        let flows = ovs.ofctl(&["dump-flows", "br0"]);
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
