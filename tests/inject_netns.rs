//! `hoptrace inject` for real: network namespaces joined by a veth pair (created and removed by
//! each test), the probe sent from one side and captured on the other with an `AF_PACKET` socket.
//! Needs root (CI runs as root), iproute2 and setpriv (util-linux); each test says what it needs.

mod support;

use hoptrace::probe::Probe;
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};
use support::netns::{Capture, VethPair};
use support::{craft, require, run, Need};

fn frame_of(path: &Path) -> Vec<u8> {
    Probe::load(path).unwrap().frame_bytes().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
fn assert_refused(out: &Output, message: &str) {
    assert_eq!(out.status.code(), Some(2), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
    assert!(stderr(out).contains(message), "expected {message:?} in: {}", stderr(out));
    assert!(stderr(out).contains("nothing was sent"), "{}", stderr(out));
    assert!(!stdout(out).contains("sent copy"), "{}", stdout(out));
}

#[test]
fn three_copies_arrive_byte_identical_from_a_named_netns() {
    require!(Need::Netns);
    let pair = VethPair::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let frame = frame_of(&probe);
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    let out = run(&[
        "inject",
        probe.to_str().unwrap(),
        "--iface",
        &pair.if_a,
        "--netns",
        &pair.a.name,
        "--count",
        "3",
        "--interval",
        "20ms",
    ]);
    let frames = cap.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(frames.len(), 3, "expected exactly the 3 copies, got {frames:02x?}");
    assert!(frames.iter().all(|f| *f == frame), "a copy differs from the probe frame");

    // One line per copy, and the records appended to the probe file.
    let text = stdout(&out);
    for k in 1..=3 {
        assert!(text.contains(&format!("sent copy {k}/3 at ")), "{text}");
    }
    let doc = Probe::load(&probe).unwrap();
    assert_eq!(doc.sends.len(), 3);
    for (i, s) in doc.sends.iter().enumerate() {
        assert_eq!(s.copy, i as u32 + 1);
        assert_eq!(s.interface, pair.if_a);
        assert_eq!(s.netns.as_deref(), Some(pair.a.name.as_str()));
        assert_eq!(s.ipv4_id, doc.ip.identification);
        assert_eq!(s.src_mac, None);
        assert!(s.time.ends_with('Z') && s.time.len() == 30, "{}", s.time);
    }
    // Paced: every copy at least --interval after the previous one (1 ms slack for the wall clock).
    for w in doc.sends.windows(2) {
        let gap = w[1].time_ns.saturating_sub(w[0].time_ns);
        assert!(gap >= 19_000_000, "copies only {gap} ns apart");
    }
    // The document is otherwise unchanged.
    let mut without = doc.clone();
    without.sends.clear();
    let fresh = dir.path().join("fresh.json");
    craft(&fresh, &[]);
    assert_eq!(without, Probe::load(&fresh).unwrap());
}

/// A child process (sleeping in a namespace, or hoptrace itself), killed on drop.
struct Sleeper(Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn same_netns(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[test]
fn three_copies_arrive_from_the_netns_of_a_process() {
    require!(Need::Netns);
    let pair = VethPair::new();
    let sleeper =
        Sleeper(Command::new("ip").args(["netns", "exec", &pair.a.name, "sleep", "30"]).spawn().expect("spawn sleep"));
    let pid = sleeper.0.id();
    // `ip netns exec` enters the namespace and then execs sleep in the same process.
    let ns_file = Path::new("/var/run/netns").join(&pair.a.name);
    let proc_ns = format!("/proc/{pid}/ns/net");
    let t0 = Instant::now();
    while !same_netns(&ns_file, Path::new(&proc_ns)) {
        assert!(t0.elapsed() < Duration::from_secs(10), "sleep never entered {}", pair.a.name);
        std::thread::sleep(Duration::from_millis(10));
    }
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let before = std::fs::read(&probe).unwrap();
    let frame = frame_of(&probe);
    let log = dir.path().join("sends.jsonl");
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    let out = run(&[
        "inject",
        probe.to_str().unwrap(),
        "--iface",
        &pair.if_a,
        "--netns-pid",
        &pid.to_string(),
        "--count",
        "3",
        "--interval",
        "1ms",
        "--log",
        log.to_str().unwrap(),
    ]);
    let frames = cap.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(frames, vec![frame; 3]);
    // --log gets JSON lines; the probe file is untouched.
    assert_eq!(std::fs::read(&probe).unwrap(), before);
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["netns"], format!("pid:{pid}"));
    assert_eq!(lines[2]["copy"], 3);
    assert!(lines[0]["timeNs"].as_u64().unwrap() <= lines[1]["timeNs"].as_u64().unwrap());
}

#[test]
fn src_mac_from_iface_and_vary_id_change_only_what_they_say() {
    require!(Need::Netns);
    let pair = VethPair::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let doc = Probe::load(&probe).unwrap();
    let frame = doc.frame_bytes().unwrap();
    let base_id = doc.ip.identification.unwrap();
    let mac: hoptrace::addr::MacAddr = pair.mac_a().parse().unwrap();
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    let out = run(&[
        "inject",
        probe.to_str().unwrap(),
        "--iface",
        &pair.if_a,
        "--netns",
        &pair.a.name,
        "--count",
        "3",
        "--interval",
        "0s",
        "--vary-id",
        "--src-mac-from-iface",
    ]);
    let frames = cap.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(frames.len(), 3, "{frames:02x?}");
    for (k, f) in frames.iter().enumerate() {
        let id = base_id.wrapping_add(k as u16);
        assert_eq!(&f[0..6], &frame[0..6], "destination MAC kept");
        assert_eq!(&f[6..12], &mac.octets(), "source MAC from the interface");
        assert_eq!(&f[12..18], &frame[12..18]);
        assert_eq!(u16::from_be_bytes([f[18], f[19]]), id, "copy {k} IPv4 ID");
        assert_eq!(f[15] >> 2, doc.dataplane_tag, "DSCP tag kept");
        assert_eq!(&f[26..], &frame[26..], "addresses and transport kept (UDP checksum excludes the ID)");
    }
    let sends = Probe::load(&probe).unwrap().sends;
    assert_eq!(
        sends.iter().map(|s| s.ipv4_id.unwrap()).collect::<Vec<_>>(),
        [0, 1, 2].map(|k| base_id.wrapping_add(k))
    );
    assert!(sends.iter().all(|s| s.src_mac == Some(mac) && s.dst_mac.is_none()));
}

#[test]
fn dry_run_checks_but_sends_and_records_nothing() {
    require!(Need::Netns);
    let pair = VethPair::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let before = std::fs::read(&probe).unwrap();
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    let out = run(&[
        "inject",
        probe.to_str().unwrap(),
        "--iface",
        &pair.if_a,
        "--netns",
        &pair.a.name,
        "--count",
        "2",
        "--dry-run",
    ]);
    assert!(cap.finish().is_empty());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("would send copy 2/2"), "{}", stdout(&out));
    assert_eq!(std::fs::read(&probe).unwrap(), before);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    // craft's placeholder MACs draw a warning (SpoofGuard would drop the frame), unless replaced.
    let bare = dir.path().join("bare.json");
    let made = run(&["craft", "-q", "--src-ip", "10.10.1.5", "--dst-ip", "10.10.2.5", "-o", bare.to_str().unwrap()]);
    assert!(made.status.success());
    let dry = ["inject", bare.to_str().unwrap(), "--iface", &pair.if_a, "--netns", &pair.a.name, "--dry-run"];
    let out = run(&dry);
    assert!(out.status.success());
    assert!(stderr(&out).contains("source MAC is craft's placeholder 02:00:00:00:00:01"), "{}", stderr(&out));
    assert!(stderr(&out).contains("destination MAC is craft's placeholder"), "{}", stderr(&out));
    let out = run(&[&dry[..], &["--src-mac-from-iface", "--dst-mac", "02:00:00:00:01:01"]].concat());
    assert!(out.status.success());
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    // ...and a dry run still refuses what a real run would.
    let out = run(&["inject", probe.to_str().unwrap(), "--iface", "nosuch0", "--netns", &pair.a.name, "--dry-run"]);
    assert_refused(&out, "does not exist");
}

#[test]
fn refuses_a_missing_interface() {
    require!(Need::Netns);
    let pair = VethPair::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    // The peer's name exists only in the other namespace.
    let out = run(&["inject", probe.to_str().unwrap(), "--iface", &pair.if_b, "--netns", &pair.a.name]);
    assert_refused(
        &out,
        &format!("interface {:?} does not exist in network namespace {} (interfaces there: ", pair.if_b, pair.a.name),
    );
    assert!(stderr(&out).contains(&pair.if_a), "the existing interfaces are listed: {}", stderr(&out));
}

#[test]
fn refuses_an_interface_that_is_down() {
    require!(Need::Netns);
    let pair = VethPair::new();
    pair.a.ip(&["link", "set", &pair.if_a, "down"]);
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    let out = run(&["inject", probe.to_str().unwrap(), "--iface", &pair.if_a, "--netns", &pair.a.name]);
    assert!(cap.finish().is_empty());
    assert_refused(&out, &format!("interface {} in network namespace {} is down", pair.if_a, pair.a.name));

    // Up, but its peer is down: no carrier, the frame would go nowhere.
    pair.a.ip(&["link", "set", &pair.if_a, "up"]);
    pair.b.ip(&["link", "set", &pair.if_b, "down"]);
    let out = run(&["inject", probe.to_str().unwrap(), "--iface", &pair.if_a, "--netns", &pair.a.name]);
    assert_refused(&out, "is up but has no carrier");
}

#[test]
fn refuses_a_frame_larger_than_the_mtu() {
    require!(Need::Netns);
    let pair = VethPair::new();
    // The smallest MTU a veth takes is 68; an IPv6 SCTP INIT probe is a 72-byte IP packet.
    pair.a.ip(&["link", "set", &pair.if_a, "mtu", "68"]);
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &["--src-ip", "fd00::5", "--dst-ip", "fd00::6", "--proto", "sctp", "--dst-port", "80"]);
    assert_eq!(frame_of(&probe).len(), 86);
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    let out = run(&["inject", probe.to_str().unwrap(), "--iface", &pair.if_a, "--netns", &pair.a.name]);
    assert!(cap.finish().is_empty());
    assert_refused(
        &out,
        &format!(
            "the 86-byte frame carries a 72-byte IP packet, larger than the MTU 68 of {} in network namespace {}",
            pair.if_a, pair.a.name
        ),
    );
}

#[test]
fn refuses_without_cap_net_raw_and_says_how_to_get_it() {
    require!(Need::Netns, Need::Tool("setpriv"));
    let pair = VethPair::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let before = std::fs::read(&probe).unwrap();
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    // Drop CAP_NET_RAW from the bounding set: root's exec of hoptrace then lacks it (but keeps
    // CAP_SYS_ADMIN, so only the raw socket is the problem).
    let out = Command::new("setpriv")
        .args(["--inh-caps=-net_raw", "--bounding-set=-net_raw", support::BIN])
        .args(["inject", probe.to_str().unwrap(), "--iface", &pair.if_a, "--netns", &pair.a.name])
        .output()
        .expect("setpriv");
    assert!(cap.finish().is_empty());
    assert_refused(&out, "needs CAP_NET_RAW");
    for hint in ["root", "setcap cap_net_raw+ep", "nsenter -t PID -n"] {
        assert!(stderr(&out).contains(hint), "missing {hint:?}: {}", stderr(&out));
    }
    assert_eq!(std::fs::read(&probe).unwrap(), before);
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let p = probe.to_str().unwrap();
    // No default interface.
    assert_eq!(run(&["inject", p]).status.code(), Some(2));
    // Never more than 1000 copies, never 0.
    assert_eq!(run(&["inject", p, "--iface", "lo", "--count", "1001"]).status.code(), Some(2));
    assert_eq!(run(&["inject", p, "--iface", "lo", "--count", "0"]).status.code(), Some(2));
    let out = run(&["inject", p, "--iface", "lo", "--interval", "100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("give a unit"), "{}", stderr(&out));
    // --print-packet-out only prints: it takes no sending options.
    let out = run(&["inject", p, "--print-packet-out", "br-int", "5", "--count", "3"]);
    assert_eq!(out.status.code(), Some(2));
    // A missing probe file.
    let out = run(&["inject", "/nonexistent/probe.json", "--iface", "lo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/probe.json"), "{}", stderr(&out));
}

/// With the privileges to send (without them that refusal comes first), a namespace that does
/// not exist is a usage error naming its path.
#[test]
fn a_missing_namespace_is_named() {
    require!(Need::Root);
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let out = run(&["inject", probe.to_str().unwrap(), "--iface", "lo", "--netns", "hoptrace-no-such-netns"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/var/run/netns/hoptrace-no-such-netns"), "{}", stderr(&out));
}

/// `run_in` enters the namespace of a PID (here our own) and runs the work there; without a
/// target it runs the work in place.
#[test]
fn entering_our_own_namespace_by_pid_runs_the_work() {
    require!(Need::Root);
    use hoptrace::inject::netns::{run_in, NetnsTarget};
    let t = NetnsTarget::Pid(std::process::id());
    assert_eq!(run_in(Some(&t), || Ok(7)).unwrap(), 7);
    assert_eq!(run_in(None, || Ok(8)).unwrap(), 8);
}

#[test]
fn refuses_an_interface_that_does_not_carry_ethernet() {
    require!(Need::Netns);
    let pair = VethPair::new();
    pair.a.ip(&["tuntap", "add", "mode", "tun", "name", "tun0"]);
    pair.a.ip(&["link", "set", "tun0", "up"]);
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let out = run(&["inject", probe.to_str().unwrap(), "--iface", "tun0", "--netns", &pair.a.name]);
    assert_refused(&out, "tun0 in network namespace");
    assert!(stderr(&out).contains("is not an Ethernet interface (link type 65534)"), "{}", stderr(&out));
}

#[test]
fn entering_a_netns_without_cap_sys_admin_says_so() {
    require!(Need::Netns, Need::Tool("setpriv"));
    let pair = VethPair::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let out = Command::new("setpriv")
        .args(["--inh-caps=-sys_admin", "--bounding-set=-sys_admin", support::BIN])
        .args(["inject", probe.to_str().unwrap(), "--iface", &pair.if_a, "--netns", &pair.a.name])
        .output()
        .expect("setpriv");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("needs CAP_SYS_ADMIN"), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("/var/run/netns/{}", pair.a.name)), "{}", stderr(&out));
}

#[test]
fn sigint_between_copies_stops_and_records_what_was_sent() {
    require!(Need::Netns);
    use std::io::{BufRead, BufReader, Read};
    let pair = VethPair::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let frame = frame_of(&probe);
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    let mut child = Sleeper(
        Command::new(support::BIN)
            .args(["inject", probe.to_str().unwrap(), "--iface", &pair.if_a, "--netns", &pair.a.name])
            .args(["--count", "5", "--interval", "10s"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn hoptrace"),
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    // Wait for the first copy, then interrupt during the 10 s pause.
    let t0 = Instant::now();
    let first = BufReader::new(stdout).lines().map_while(Result::ok).find(|l| l.starts_with("sent copy "));
    assert!(first.as_deref().is_some_and(|l| l.starts_with("sent copy 1/5")), "{first:?}");
    // SAFETY: kill(2) on our own child, which has not been waited for yet.
    assert_eq!(unsafe { libc::kill(child.0.id() as i32, libc::SIGINT) }, 0);
    let status = child.0.wait().unwrap();
    let mut err = String::new();
    child.0.stderr.take().expect("piped stderr").read_to_string(&mut err).unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5), "did not stop promptly");
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted; copies sent before the signal: 1"), "{err}");
    assert_eq!(cap.finish(), vec![frame]);
    let sends = Probe::load(&probe).unwrap().sends;
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].copy, 1);
}

#[test]
fn ipv6_copies_each_carry_their_own_flow_label_and_the_given_macs() {
    require!(Need::Netns);
    let pair = VethPair::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &["--src-ip", "fd00::5", "--dst-ip", "fd00::6", "--proto", "tcp", "--dst-port", "80"]);
    let doc = Probe::load(&probe).unwrap();
    let frame = doc.frame_bytes().unwrap();
    let base = doc.ip.flow_label.unwrap();
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    let out = run(&[
        "inject",
        probe.to_str().unwrap(),
        "--iface",
        &pair.if_a,
        "--netns",
        &pair.a.name,
        "--count",
        "2",
        "--interval",
        "1ms",
        "--vary-id",
        "--src-mac",
        "02:00:0a:0a:01:05",
        "--dst-mac",
        "02:00:0a:0a:01:01",
    ]);
    let frames = cap.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(frames.len(), 2, "{frames:02x?}");
    for (k, f) in frames.iter().enumerate() {
        assert_eq!(&f[0..12], &[2, 0, 0x0a, 0x0a, 1, 1, 2, 0, 0x0a, 0x0a, 1, 5]);
        let label = u32::from_be_bytes([0, f[15] & 0x0f, f[16], f[17]]);
        assert_eq!(label, hoptrace::inject::copies::varied_flow_label(base, k as u32 + 1));
        assert_eq!(&f[18..], &frame[18..], "everything after the flow label is the probe's");
        // Traffic class = tag << 2.
        assert_eq!(((f[14] & 0x0f) << 4 | f[15] >> 4) >> 2, doc.dataplane_tag);
    }
    let sends = Probe::load(&probe).unwrap().sends;
    assert_eq!(sends[1].flow_label, Some(hoptrace::inject::copies::varied_flow_label(base, 2)));
    assert_ne!(sends[0].flow_label, sends[1].flow_label);
    assert!(sends.iter().all(|s| s.ipv4_id.is_none() && s.src_mac.is_some() && s.dst_mac.is_some()));
}

#[test]
fn an_unwritable_log_is_refused_before_anything_is_sent() {
    require!(Need::Netns);
    let pair = VethPair::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    let log = dir.path().join("no-such-dir").join("sends.jsonl");
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    let out = run(&[
        "inject",
        probe.to_str().unwrap(),
        "--iface",
        &pair.if_a,
        "--netns",
        &pair.a.name,
        "--log",
        log.to_str().unwrap(),
    ]);
    assert!(cap.finish().is_empty());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot open the send log"), "{}", stderr(&out));
}

#[test]
fn setcap_cap_net_raw_lets_an_unprivileged_user_inject() {
    require!(Need::Netns, Need::Tool("setpriv"), Need::Tool("setcap"));
    use std::os::unix::fs::PermissionsExt;
    let pair = VethPair::new();
    // A directory on the build's file system (file capabilities need xattrs), open to `nobody`.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let probe = dir.path().join("probe.json");
    craft(&probe, &[]);
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o666)).unwrap();
    let with_cap = dir.path().join("hoptrace-cap");
    let without = dir.path().join("hoptrace-plain");
    std::fs::copy(support::BIN, &with_cap).unwrap();
    std::fs::copy(support::BIN, &without).unwrap();
    support::run_tool("setcap", &["cap_net_raw+ep", with_cap.to_str().unwrap()]);
    // Root enters the namespace (`ip netns exec`), then becomes nobody without capabilities.
    let as_nobody = |bin: &Path| {
        Command::new("ip")
            .args(["netns", "exec", &pair.a.name, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin)
            .args(["inject", probe.to_str().unwrap(), "--iface", &pair.if_a])
            .output()
            .expect("ip netns exec setpriv")
    };
    let cap = Capture::start(&pair.b.name, &pair.if_b);
    let refused = as_nobody(&without);
    let sent = as_nobody(&with_cap);
    let frames = cap.finish();
    assert_refused(&refused, "needs CAP_NET_RAW");
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert_eq!(frames, vec![frame_of(&probe)]);
    assert_eq!(Probe::load(&probe).unwrap().sends.len(), 1);
}
