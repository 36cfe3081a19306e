//! A private Open vSwitch for tests: `ovsdb-server` + `ovs-vswitchd` in a network namespace the
//! test creates, with their own run/db/log directories in a temp dir, one userspace (netdev)
//! bridge. Everything is torn down (by PID, never by name) when the value is dropped. Needs
//! root and the Debian `openvswitch-switch` binaries (`.ci/run` installs them).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A running private switch.
pub struct OvsSandbox {
    /// Temp dir holding conf.db, sockets, pid files and logs.
    pub dir: tempfile::TempDir,
    /// The network namespace the daemons run in.
    pub netns: String,
    /// The bridge.
    pub bridge: String,
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    out
}

fn check(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn pid_alive(pid: i32) -> bool {
    // A zombie (reaped late by PID 1) is not alive.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

impl OvsSandbox {
    /// Starts the daemons and creates bridge `br0` (datapath_type=netdev, fail_mode=secure,
    /// OpenFlow 1.0–1.5). Panics with a clear message if not root or OVS is missing.
    pub fn start(tag: &str) -> OvsSandbox {
        assert!(
            run(Command::new("id").arg("-u")).stdout.starts_with(b"0"),
            "this test needs root (network namespace + OVS daemons); CI runs as root"
        );
        for bin in ["ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl", "ovsdb-tool"] {
            assert!(
                run(Command::new("sh").arg("-c").arg(format!("command -v {bin}"))).status.success(),
                "{bin} not found: install openvswitch-switch (.ci/run does)"
            );
        }
        let dir = tempfile::Builder::new().prefix("hoptrace-ovs-").tempdir().expect("tempdir");
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let netns = format!("ht-{tag}-{}-{:x}", std::process::id(), nanos & 0xffff);
        let sb = OvsSandbox { dir, netns, bridge: "br0".into() };
        check(Command::new("ip").args(["netns", "add", &sb.netns]));
        check(Command::new("ip").args(["-n", &sb.netns, "link", "set", "lo", "up"]));
        let d = sb.path().to_path_buf();
        check(
            Command::new("ovsdb-tool")
                .arg("create")
                .arg(d.join("conf.db"))
                .arg("/usr/share/openvswitch/vswitch.ovsschema"),
        );
        let env = |c: &mut Command| {
            c.env("OVS_RUNDIR", &d).env("OVS_LOGDIR", &d).env("OVS_DBDIR", &d);
        };
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &sb.netns, "ovsdb-server"])
            .arg(d.join("conf.db"))
            .arg(format!("--remote=punix:{}", d.join("db.sock").display()))
            .arg(format!("--pidfile={}", d.join("ovsdb-server.pid").display()))
            .arg(format!("--unixctl={}", d.join("ovsdb-server.ctl").display()))
            .arg(format!("--log-file={}", d.join("ovsdb-server.log").display()))
            .args(["-vconsole:off", "--detach", "--no-chdir"]);
        env(&mut c);
        check(&mut c);
        sb.vsctl(&["--no-wait", "init"]);
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &sb.netns, "ovs-vswitchd"])
            .arg(format!("unix:{}", d.join("db.sock").display()))
            .arg(format!("--pidfile={}", d.join("ovs-vswitchd.pid").display()))
            .arg(format!("--unixctl={}", d.join("ovs-vswitchd.ctl").display()))
            .arg(format!("--log-file={}", d.join("ovs-vswitchd.log").display()))
            .args(["-vconsole:off", "--detach", "--no-chdir"]);
        env(&mut c);
        check(&mut c);
        sb.vsctl(&[
            "add-br",
            "br0",
            "--",
            "set",
            "Bridge",
            "br0",
            "datapath_type=netdev",
            "fail_mode=secure",
            "protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15",
        ]);
        // Wait for the OpenFlow socket.
        let mgmt = sb.mgmt();
        let t0 = Instant::now();
        while !Path::new(&mgmt).exists() && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        sb
    }

    /// The private directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The bridge's OpenFlow management socket.
    pub fn mgmt(&self) -> PathBuf {
        self.path().join(format!("{}.mgmt", self.bridge))
    }

    /// `ovs-vsctl` against the private database.
    pub fn vsctl(&self, args: &[&str]) -> Output {
        check(
            Command::new("ovs-vsctl")
                .arg("--timeout=30")
                .arg(format!("--db=unix:{}", self.path().join("db.sock").display()))
                .args(args),
        )
    }

    /// `ovs-ofctl -O OpenFlow15 CMD unix:MGMT ARGS...` (not checked).
    pub fn ofctl(&self, cmd: &str, args: &[&str]) -> Output {
        run(Command::new("ovs-ofctl")
            .args(["-O", "OpenFlow15", cmd])
            .arg(format!("unix:{}", self.mgmt().display()))
            .args(args))
    }

    /// `ovs-appctl -t ovs-vswitchd.ctl ARGS...` (not checked).
    pub fn appctl(&self, args: &[&str]) -> Output {
        run(Command::new("ovs-appctl")
            .arg("--timeout=30")
            .arg("-t")
            .arg(self.path().join("ovs-vswitchd.ctl"))
            .args(args))
    }

    fn pid(&self, daemon: &str) -> Option<i32> {
        std::fs::read_to_string(self.path().join(format!("{daemon}.pid"))).ok()?.trim().parse().ok()
    }
}

impl Drop for OvsSandbox {
    fn drop(&mut self) {
        for daemon in ["ovs-vswitchd", "ovsdb-server"] {
            let Some(pid) = self.pid(daemon) else { continue };
            let ctl = self.path().join(format!("{daemon}.ctl"));
            let mut c = Command::new("ovs-appctl");
            c.arg("--timeout=5").arg("-t").arg(&ctl).arg("exit");
            if daemon == "ovs-vswitchd" {
                c.arg("--cleanup");
            }
            let _ = c.output();
            let t0 = Instant::now();
            while pid_alive(pid) && t0.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(50));
            }
            if pid_alive(pid) {
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).output();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.netns]).output();
    }
}
