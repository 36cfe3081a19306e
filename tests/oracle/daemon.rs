//! A private Open vSwitch for differential tests: its own `ovsdb-server` and `ovs-vswitchd`
//! (dummy datapath, `--enable-dummy`, so tunnel ports are real flow-based
//! tunnel vports) inside a network namespace this harness creates,
//! with every run/db/log file in a temporary directory. Nothing touches the host's OVS. The
//! [`PrivateOvs`] value is a guard: dropping it stops both daemons (by the PIDs in their pidfiles)
//! and deletes the namespace.
//!
//! `ofproto/trace` calls go straight to `ovs-vswitchd`'s unixctl socket as JSON-RPC over one
//! connection, so thousands of traces cost milliseconds each instead of one `ovs-appctl` process
//! per trace.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A port to create on the bridge.
#[derive(Clone, Debug)]
pub struct PortSpec {
    /// Interface name.
    pub name: String,
    /// Requested OpenFlow port number.
    pub ofport: u32,
    /// `dummy`, or a tunnel type (`geneve`, `vxlan`, `gre`) with `remote_ip=flow`.
    pub kind: String,
}

impl PortSpec {
    /// A dummy port.
    pub fn dummy(name: &str, ofport: u32) -> PortSpec {
        PortSpec { name: name.to_string(), ofport, kind: "dummy".into() }
    }

    /// A flow-based tunnel port (`options:remote_ip=flow options:key=flow`).
    pub fn tunnel(name: &str, ofport: u32, kind: &str) -> PortSpec {
        PortSpec { name: name.to_string(), ofport, kind: kind.to_string() }
    }
}

/// One private OVS instance; stopped and cleaned up on drop.
pub struct PrivateOvs {
    dir: tempfile::TempDir,
    netns: String,
    rpc: Option<BufReader<UnixStream>>,
    next_id: u64,
}

/// Why the harness could not do something.
pub type HarnessResult<T> = Result<T, String>;

impl PrivateOvs {
    /// Starts ovsdb-server and ovs-vswitchd in a fresh namespace.
    pub fn start() -> HarnessResult<PrivateOvs> {
        let dir = tempfile::Builder::new().prefix("hoptrace-ovs.").tempdir().map_err(|e| e.to_string())?;
        let netns = format!("hts-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let ovs = PrivateOvs { dir, netns, rpc: None, next_id: 1 };
        run("ip", &["netns", "add", &ovs.netns], &[])?;
        let d = ovs.path("");
        let d = d.to_str().unwrap_or_default().trim_end_matches('/').to_string();
        let db = format!("{d}/conf.db");
        run("ovsdb-tool", &["create", &db, "/usr/share/openvswitch/vswitch.ovsschema"], &ovs.env())?;
        ovs.netns_run(&[
            "ovsdb-server",
            &db,
            &format!("--remote=punix:{d}/db.sock"),
            &format!("--pidfile={d}/ovsdb-server.pid"),
            &format!("--log-file={d}/ovsdb-server.log"),
            &format!("--unixctl={d}/ovsdb-server.ctl"),
            "--detach",
        ])?;
        ovs.vsctl(&["--no-wait", "init"])?;
        ovs.netns_run(&[
            "ovs-vswitchd",
            &format!("unix:{d}/db.sock"),
            "--enable-dummy",
            "--disable-system-route",
            "--disable-system",
            &format!("--pidfile={d}/ovs-vswitchd.pid"),
            &format!("--log-file={d}/ovs-vswitchd.log"),
            &format!("--unixctl={d}/ovs-vswitchd.ctl"),
            "--detach",
        ])?;
        Ok(ovs)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn env(&self) -> Vec<(&'static str, PathBuf)> {
        let d = self.dir.path().to_path_buf();
        vec![("OVS_RUNDIR", d.clone()), ("OVS_DBDIR", d.clone()), ("OVS_LOGDIR", d.clone()), ("OVS_SYSCONFDIR", d)]
    }

    fn netns_run(&self, args: &[&str]) -> HarnessResult<String> {
        let mut full = vec!["netns", "exec", self.netns.as_str()];
        full.extend_from_slice(args);
        run("ip", &full, &self.env())
    }

    /// Runs `ovs-vsctl` against this instance's database.
    pub fn vsctl(&self, args: &[&str]) -> HarnessResult<String> {
        let db = format!("--db=unix:{}", self.path("db.sock").display());
        let mut full = vec![db.as_str(), "--timeout=10"];
        full.extend_from_slice(args);
        run("ovs-vsctl", &full, &self.env())
    }

    /// Runs `ovs-ofctl -O OpenFlow15 CMD <bridge mgmt socket> ARGS...`.
    pub fn ofctl(&self, cmd: &str, bridge: &str, args: &[&str]) -> HarnessResult<String> {
        let target = format!("unix:{}", self.path(&format!("{bridge}.mgmt")).display());
        let mut full = vec!["-O", "OpenFlow15", cmd, target.as_str()];
        full.extend_from_slice(args);
        run("ovs-ofctl", &full, &self.env())
    }

    /// The `ovs-vswitchd` unixctl socket (for `ovs-appctl -t`).
    pub fn vswitchd_ctl(&self) -> PathBuf {
        self.path("ovs-vswitchd.ctl")
    }

    /// Creates `bridge` (dummy datapath, fail-mode secure, OpenFlow 1.0-1.5) with `tables` named in
    /// its Flow_Table rows and the given ports.
    pub fn add_bridge(&self, bridge: &str, tables: &[(u8, String)], ports: &[PortSpec]) -> HarnessResult<()> {
        let mut args: Vec<String> = vec![
            "--".into(),
            "add-br".into(),
            bridge.into(),
            "--".into(),
            "set".into(),
            "bridge".into(),
            bridge.into(),
            "datapath_type=dummy".into(),
            "fail-mode=secure".into(),
            "protocols=OpenFlow10,OpenFlow13,OpenFlow15".into(),
        ];
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
            args.extend(["--".to_string(), "add-port".into(), bridge.into(), p.name.clone()]);
            args.extend(["--".to_string(), "set".into(), "interface".into(), p.name.clone()]);
            args.push(format!("type={}", p.kind));
            args.push(format!("ofport_request={}", p.ofport));
            if p.kind != "dummy" {
                args.push("options:remote_ip=flow".into());
                args.push("options:key=flow".into());
            }
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.vsctl(&refs)?;
        Ok(())
    }

    /// Gives the switch an underlay for its flow-based tunnels, as OVS's own tunnel tests do on
    /// the dummy datapath: bridge `br-phy` (uplink `phy0`) owning `local` (`ip/len`), a route to that subnet
    /// through it, and static neighbour entries for `peers` (IP, MAC). Without it `ofproto/trace`
    /// ends every tunnel output with "native tunnel routing failed".
    pub fn underlay(&mut self, local: &str, peers: &[(&str, &str)]) -> HarnessResult<()> {
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
        let subnet = local.to_string();
        self.appctl("netdev-dummy/ip4addr", &["br-phy".into(), local.into()])?;
        self.appctl("ovs/route/add", &[subnet, "br-phy".into()])?;
        for (ip, mac) in peers {
            self.appctl("tnl/neigh/set", &["br-phy".into(), ip.to_string(), mac.to_string()])?;
        }
        Ok(())
    }

    /// Replaces all flows and groups of `bridge` (groups first, so flows may reference them) and
    /// adds a meter for every `meter:N` the flows use (OVS refuses a flow whose meter is missing).
    pub fn load(&self, bridge: &str, flows: &str, groups: &str) -> HarnessResult<()> {
        self.ofctl("del-flows", bridge, &[])?;
        self.ofctl("del-groups", bridge, &[])?;
        let mut meters: Vec<u32> = flows
            .split("meter:")
            .skip(1)
            .filter_map(|r| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .collect();
        meters.sort_unstable();
        meters.dedup();
        for m in meters {
            let _ = self.ofctl("del-meter", bridge, &[&format!("meter={m}")]);
            self.ofctl("add-meter", bridge, &[&format!("meter={m},pktps,band=type=drop,rate=100000")])?;
        }
        if !groups.trim().is_empty() {
            let g = self.path("groups.txt");
            std::fs::write(&g, groups).map_err(|e| e.to_string())?;
            self.ofctl("add-groups", bridge, &[g.to_str().unwrap_or_default()])?;
        }
        let f = self.path("flows.txt");
        std::fs::write(&f, flows).map_err(|e| e.to_string())?;
        let f = f.to_str().unwrap_or_default();
        if let Err(e) = self.ofctl("add-flows", bridge, &[f]) {
            // Flows OpenFlow 1.5 cannot express (NXM-only): let ovs-ofctl pick the format.
            if !e.contains("none of the usable flow formats") {
                return Err(e);
            }
            let target = format!("unix:{}", self.path(&format!("{bridge}.mgmt")).display());
            run("ovs-ofctl", &["add-flows", &target, f], &self.env())?;
        }
        Ok(())
    }

    /// One `ofproto/trace BRIDGE FLOW [extra...]` over the kept-open unixctl connection.
    pub fn trace(&mut self, bridge: &str, flow: &str, extra: &[&str]) -> HarnessResult<String> {
        let mut params = vec![bridge.to_string(), flow.to_string()];
        params.extend(extra.iter().map(|s| s.to_string()));
        self.appctl("ofproto/trace", &params)
    }

    /// Calls a unixctl command of ovs-vswitchd over JSON-RPC.
    pub fn appctl(&mut self, method: &str, params: &[String]) -> HarnessResult<String> {
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

    fn pid(&self, daemon: &str) -> Option<i32> {
        std::fs::read_to_string(self.path(&format!("{daemon}.pid"))).ok()?.trim().parse().ok()
    }
}

impl Drop for PrivateOvs {
    fn drop(&mut self) {
        self.rpc = None;
        for daemon in ["ovs-vswitchd", "ovsdb-server"] {
            if let Some(pid) = self.pid(daemon).filter(|p| *p > 1) {
                signal(pid, "TERM");
                let t = Instant::now();
                while alive(pid) && t.elapsed() < Duration::from_secs(3) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if alive(pid) {
                    signal(pid, "KILL");
                }
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.netns]).output();
    }
}

/// Sends a signal to one PID this harness started (read from its own pidfile).
fn signal(pid: i32, sig: &str) {
    let _ = Command::new("kill").args([&format!("-{sig}"), &pid.to_string()]).output();
}

/// Whether `pid` runs and is not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn run(program: &str, args: &[&str], env: &[(&str, PathBuf)]) -> HarnessResult<String> {
    let mut c = Command::new(program);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().map_err(|e| format!("{program}: {e} (openvswitch-switch and iproute2 are needed)"))?;
    if !out.status.success() {
        return Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
