//! A private Open vSwitch for tests: its own `ovsdb-server` and `ovs-vswitchd` inside a network
//! namespace made for it, with every database, socket, pid and log file in a temporary
//! directory. Nothing touches the host's switch. [`PrivateOvs`] is a guard: dropping it stops
//! both daemons (by the PIDs in their own pidfiles, never by name), then deletes the namespace
//! and the directory.
//!
//! Two datapaths: [`Datapath::Netdev`] (the userspace datapath with real ports: veths created in
//! the namespace) for tests that send frames through the switch, and [`Datapath::Dummy`]
//! (`--enable-dummy`: dummy ports, flow-based tunnel vports, `netdev-dummy/receive`) for
//! `ofproto/trace` oracles. `ofproto/trace` and other unixctl calls go straight to
//! `ovs-vswitchd`'s control socket as JSON-RPC over one kept-open connection, so thousands of
//! traces cost milliseconds each instead of one `ovs-appctl` process per trace.
//!
//! Needs root and the Debian `openvswitch-switch` binaries: tests declare
//! `require!(Need::Netns, Need::Ovs)`.

#![allow(dead_code)]

use super::need::OVS_SCHEMA;
use super::netns::{unique, Netns};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Which datapath the switch runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datapath {
    /// The userspace datapath (`datapath_type=netdev`) with ports that are real interfaces.
    Netdev,
    /// `ovs-vswitchd --enable-dummy`, `datapath_type=dummy`: dummy ports and tunnels, no kernel.
    Dummy,
}

/// What a bridge port is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortKind {
    /// An interface that already exists in the switch's namespace (a veth end).
    Interface,
    /// A `type=dummy` port (dummy datapath).
    Dummy,
    /// A flow-based tunnel port of this type (`geneve`, `vxlan`, `gre`):
    /// `options:remote_ip=flow options:key=flow`.
    Tunnel(String),
}

/// A port to create on a bridge.
#[derive(Clone, Debug)]
pub struct Port {
    /// Interface name.
    pub name: String,
    /// Requested OpenFlow port number.
    pub ofport: u32,
    /// What it is.
    pub kind: PortKind,
}

impl Port {
    /// An existing interface in the switch's namespace.
    pub fn interface(name: &str, ofport: u32) -> Port {
        Port { name: name.to_string(), ofport, kind: PortKind::Interface }
    }

    /// A dummy port.
    pub fn dummy(name: &str, ofport: u32) -> Port {
        Port { name: name.to_string(), ofport, kind: PortKind::Dummy }
    }

    /// A flow-based tunnel port.
    pub fn tunnel(name: &str, ofport: u32, kind: &str) -> Port {
        Port { name: name.to_string(), ofport, kind: PortKind::Tunnel(kind.to_string()) }
    }
}

/// Why the switch did not do something: the command and what it printed on stderr, or the
/// unixctl error.
pub type OvsResult<T> = Result<T, String>;

/// One private switch; stopped and cleaned up on drop.
pub struct PrivateOvs {
    rpc: Option<BufReader<UnixStream>>,
    next_id: u64,
    datapath: Datapath,
    /// The namespace the daemons run in (its interfaces are the switch's).
    pub netns: Netns,
    dir: tempfile::TempDir,
}

impl PrivateOvs {
    /// Starts `ovsdb-server` and `ovs-vswitchd` in a fresh namespace. Panics, naming the command
    /// and its error, when they cannot start.
    pub fn start(datapath: Datapath) -> PrivateOvs {
        let netns = Netns::new(&unique("ho"));
        let dir = tempfile::Builder::new().prefix("hoptrace-ovs-").tempdir().expect("temporary directory");
        let ovs = PrivateOvs { rpc: None, next_id: 1, datapath, netns, dir };
        ovs.launch().unwrap_or_else(|e| panic!("private Open vSwitch did not start: {e}"));
        ovs
    }

    fn launch(&self) -> OvsResult<()> {
        let d = self.dir().display().to_string();
        let db = format!("{d}/conf.db");
        self.command("ovsdb-tool", &["create", &db, OVS_SCHEMA])?;
        self.daemon("ovsdb-server", &[&db, &format!("--remote=punix:{d}/db.sock")])?;
        self.vsctl(&["--no-wait", "init"])?;
        let mut args = vec![format!("unix:{d}/db.sock")];
        if self.datapath == Datapath::Dummy {
            args.extend(["--enable-dummy", "--disable-system-route", "--disable-system"].map(String::from));
        }
        self.daemon("ovs-vswitchd", &args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Starts an OVS daemon inside the namespace, detached, with pidfile, control socket and
    /// log in the private directory.
    fn daemon(&self, name: &str, args: &[&str]) -> OvsResult<()> {
        let d = self.dir().display().to_string();
        let mut all: Vec<String> = ["netns", "exec", self.netns.name.as_str(), name].map(String::from).to_vec();
        all.extend(args.iter().map(|s| s.to_string()));
        all.extend([
            format!("--pidfile={d}/{name}.pid"),
            format!("--unixctl={d}/{name}.ctl"),
            format!("--log-file={d}/{name}.log"),
            "-vconsole:off".to_string(),
            "--detach".to_string(),
            "--no-chdir".to_string(),
        ]);
        self.command("ip", &all.iter().map(String::as_str).collect::<Vec<_>>()).map(drop)
    }

    /// The private directory (database, sockets, pidfiles, logs; free for a test's own files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The environment every OVS command gets: run, database, log and config directories all
    /// point at the private directory, so `ovs-ofctl CMD BRIDGE` finds this switch's bridges.
    pub fn env(&self) -> [(&'static str, &Path); 4] {
        let d = self.dir();
        [("OVS_RUNDIR", d), ("OVS_DBDIR", d), ("OVS_LOGDIR", d), ("OVS_SYSCONFDIR", d)]
    }

    /// Runs `program args` with [`PrivateOvs::env`] and returns what it did.
    pub fn output(&self, program: &str, args: &[&str]) -> Output {
        let mut c = Command::new(program);
        c.args(args).envs(self.env());
        c.output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    }

    /// Runs `program args` with [`PrivateOvs::env`]; its stdout, or the command and its stderr.
    pub fn command(&self, program: &str, args: &[&str]) -> OvsResult<String> {
        let out = self.output(program, args);
        if !out.status.success() {
            return Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `ovs-vsctl` against this switch's database.
    pub fn vsctl(&self, args: &[&str]) -> OvsResult<String> {
        let db = format!("--db=unix:{}", self.dir().join("db.sock").display());
        let mut all = vec![db.as_str(), "--timeout=30"];
        all.extend_from_slice(args);
        self.command("ovs-vsctl", &all)
    }

    /// `ovs-ofctl ARGS` against this switch (a bridge name resolves to its private socket).
    pub fn ofctl(&self, args: &[&str]) -> OvsResult<String> {
        self.command("ovs-ofctl", args)
    }

    /// `ovs-ofctl -O OpenFlow15 CMD BRIDGE ARGS`.
    pub fn ofctl15(&self, cmd: &str, bridge: &str, args: &[&str]) -> OvsResult<String> {
        self.ofctl(&[&["-O", "OpenFlow15", cmd, bridge], args].concat())
    }

    /// The `ovs-vswitchd` control socket (for `ovs-appctl -t`).
    pub fn vswitchd_ctl(&self) -> PathBuf {
        self.dir().join("ovs-vswitchd.ctl")
    }

    /// Creates `bridge` on this switch's datapath, without default flows (`fail_mode=secure`),
    /// speaking `protocols` (`OpenFlow10,OpenFlow13,...`), with `tables` named in its Flow_Table
    /// rows and the given ports; returns once its OpenFlow socket exists.
    pub fn add_bridge(&self, bridge: &str, protocols: &str, tables: &[(u8, String)], ports: &[Port]) -> OvsResult<()> {
        let datapath = match self.datapath {
            Datapath::Netdev => "datapath_type=netdev",
            Datapath::Dummy => "datapath_type=dummy",
        };
        let mut args: Vec<String> =
            ["--", "add-br", bridge, "--", "set", "bridge", bridge, datapath, "fail_mode=secure"]
                .map(String::from)
                .to_vec();
        args.push(format!("protocols={protocols}"));
        for (id, name) in tables {
            args.extend([
                "--".to_string(),
                format!("--id=@t{id}"),
                "create".into(),
                "Flow_Table".into(),
                format!("name={name}"),
                "--".into(),
                "set".into(),
                "bridge".into(),
                bridge.into(),
                format!("flow_tables:{id}=@t{id}"),
            ]);
        }
        for p in ports {
            args.extend(["--", "add-port", bridge, &p.name, "--", "set", "interface", &p.name].map(String::from));
            args.push(format!("ofport_request={}", p.ofport));
            match &p.kind {
                PortKind::Interface => {}
                PortKind::Dummy => args.push("type=dummy".into()),
                PortKind::Tunnel(kind) => {
                    args.push(format!("type={kind}"));
                    args.push("options:remote_ip=flow".into());
                    args.push("options:key=flow".into());
                }
            }
        }
        self.vsctl(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
        let mgmt = self.dir().join(format!("{bridge}.mgmt"));
        let t0 = Instant::now();
        while !mgmt.exists() {
            if t0.elapsed() > Duration::from_secs(10) {
                return Err(format!("{} did not appear", mgmt.display()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Gives the switch an underlay for its flow-based tunnels, as OVS's own tunnel tests do on
    /// the dummy datapath: bridge `br-phy` (uplink `phy0`) owning `local` (`ip/len`), a route to
    /// that subnet through it, and static neighbour entries for `peers` (IP, MAC). Without it
    /// `ofproto/trace` ends every tunnel output with "native tunnel routing failed".
    pub fn underlay(&mut self, local: &str, peers: &[(&str, &str)]) -> OvsResult<()> {
        self.vsctl(&[
            "--",
            "add-br",
            "br-phy",
            "--",
            "set",
            "bridge",
            "br-phy",
            "datapath_type=dummy",
            "--",
            "add-port",
            "br-phy",
            "phy0",
            "--",
            "set",
            "interface",
            "phy0",
            "type=dummy",
        ])?;
        self.appctl("netdev-dummy/ip4addr", &["br-phy".into(), local.into()])?;
        self.appctl("ovs/route/add", &[local.into(), "br-phy".into()])?;
        for (ip, mac) in peers {
            self.appctl("tnl/neigh/set", &["br-phy".into(), ip.to_string(), mac.to_string()])?;
        }
        Ok(())
    }

    /// Replaces all flows and groups of `bridge` (groups first, so flows may reference them) and
    /// adds a meter for every `meter:N` the flows use (OVS refuses a flow whose meter is missing).
    pub fn load(&self, bridge: &str, flows: &str, groups: &str) -> OvsResult<()> {
        self.ofctl15("del-flows", bridge, &[])?;
        self.ofctl15("del-groups", bridge, &[])?;
        let mut meters: Vec<u32> = flows
            .split("meter:")
            .skip(1)
            .filter_map(|r| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .collect();
        meters.sort_unstable();
        meters.dedup();
        for m in meters {
            let _ = self.ofctl15("del-meter", bridge, &[&format!("meter={m}")]);
            self.ofctl15("add-meter", bridge, &[&format!("meter={m},pktps,band=type=drop,rate=100000")])?;
        }
        if !groups.trim().is_empty() {
            let g = self.dir().join("groups.txt");
            std::fs::write(&g, groups).map_err(|e| e.to_string())?;
            self.ofctl15("add-groups", bridge, &[g.to_str().unwrap_or_default()])?;
        }
        let f = self.dir().join("flows.txt");
        std::fs::write(&f, flows).map_err(|e| e.to_string())?;
        let f = f.to_str().unwrap_or_default();
        if let Err(e) = self.ofctl15("add-flows", bridge, &[f]) {
            // Flows OpenFlow 1.5 cannot express (NXM-only): let ovs-ofctl pick the format.
            if !e.contains("none of the usable flow formats") {
                return Err(e);
            }
            self.ofctl(&["add-flows", bridge, f])?;
        }
        Ok(())
    }

    /// One `ofproto/trace BRIDGE FLOW [extra...]` over the kept-open unixctl connection.
    pub fn trace(&mut self, bridge: &str, flow: &str, extra: &[&str]) -> OvsResult<String> {
        let mut params = vec![bridge.to_string(), flow.to_string()];
        params.extend(extra.iter().map(|s| s.to_string()));
        self.appctl("ofproto/trace", &params)
    }

    /// Calls a unixctl command of `ovs-vswitchd` over JSON-RPC.
    pub fn appctl(&mut self, method: &str, params: &[String]) -> OvsResult<String> {
        if self.rpc.is_none() {
            let s = UnixStream::connect(self.vswitchd_ctl()).map_err(|e| format!("connect unixctl: {e}"))?;
            s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
            self.rpc = Some(BufReader::new(s));
        }
        let id = self.next_id;
        self.next_id += 1;
        let req = serde_json::json!({"method": method, "params": params, "id": id});
        let rpc = self.rpc.as_mut().ok_or("no connection")?;
        let mut line = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
        line.push(b'\n');
        rpc.get_mut().write_all(&line).map_err(|e| format!("unixctl write: {e}"))?;
        // Replies are JSON objects without a newline terminator: read until one parses.
        let mut buf = Vec::new();
        loop {
            let avail = rpc.fill_buf().map_err(|e| format!("unixctl read: {e}"))?;
            if avail.is_empty() {
                return Err("unixctl connection closed".into());
            }
            let n = avail.len();
            buf.extend_from_slice(avail);
            rpc.consume(n);
            let mut de = serde_json::Deserializer::from_slice(&buf).into_iter::<serde_json::Value>();
            match de.next() {
                Some(Ok(v)) => {
                    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
                        return Err(err.as_str().unwrap_or_default().to_string());
                    }
                    return Ok(v.get("result").and_then(|r| r.as_str()).unwrap_or_default().to_string());
                }
                Some(Err(e)) if e.is_eof() => continue,
                Some(Err(e)) => return Err(format!("unixctl reply: {e}")),
                None => continue,
            }
        }
    }

    /// The PID in `daemon`'s pidfile while that process is still a live OVS daemon.
    fn live_pid(&self, daemon: &str) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.dir().join(format!("{daemon}.pid"))).ok()?.trim().parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (comm, rest) = stat.split_once(" (")?.1.split_once(") ")?;
        (pid > 1 && comm.starts_with("ovs") && !rest.starts_with('Z')).then_some(pid)
    }
}

impl Drop for PrivateOvs {
    fn drop(&mut self) {
        self.rpc = None;
        for (daemon, extra) in [("ovs-vswitchd", Some("--cleanup")), ("ovsdb-server", None)] {
            let ctl = self.dir().join(format!("{daemon}.ctl"));
            let mut args = vec!["--timeout=5".to_string(), "-t".to_string(), ctl.display().to_string()];
            args.push("exit".to_string());
            args.extend(extra.map(String::from));
            let _ = Command::new("ovs-appctl").args(&args).output();
            let t0 = Instant::now();
            while self.live_pid(daemon).is_some() && t0.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if let Some(pid) = self.live_pid(daemon) {
                // SAFETY: kill(2) on a PID read from this switch's own pidfile and checked to be
                // an OVS daemon.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        // Then `netns` is deleted (with the interfaces inside) and `dir` removed.
    }
}
