//! Hostile bundle inputs, generated here, run through every command they reach (`analyze`,
//! `craft --cluster`, `flows`, `trace`, `inject --dry-run`) under an address-space limit of
//! 512 MiB (`setrlimit` in the child) and a time limit: no panic, no abort, no limit hit, a
//! message naming the file and position, and the good parts kept.
//!
//! Classes: YAML alias bombs (billion laughs, wide fan-out), 100 000-level YAML and JSON
//! nesting, a large generated cluster inventory (JSON and YAML), agent tarballs with duplicate
//! members and with members far beyond their limits, and probe documents whose frame disagrees
//! with their fields.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Address space of each child.
const MEMORY: u64 = 512 << 20;
/// Wall time of each child (generous: the machine is shared).
const TIME: Duration = Duration::from_secs(90);

/// What a limited run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs hoptrace under the memory and time limits and checks it ended by itself, without a
/// panic or an allocation failure.
fn run(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoptrace"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit { rlim_cur: MEMORY, rlim_max: MEMORY };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("hoptrace runs");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > TIME {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("hoptrace {args:?} still running after {TIME:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let r = Run {
        code: status.code().unwrap_or_else(|| panic!("hoptrace {args:?} killed by a signal: {status}")),
        stdout: std::fs::read_to_string(out).unwrap(),
        stderr: std::fs::read_to_string(err).unwrap(),
        took: start.elapsed(),
    };
    assert_ne!(r.code, 101, "hoptrace {args:?} panicked: {}", r.stderr);
    for bad in ["panicked", "memory allocation", "stack overflow"] {
        assert!(!r.stderr.contains(bad), "hoptrace {args:?}: {bad}: {}", r.stderr);
    }
    // Messages quote at most a short excerpt of the input.
    for line in r.stderr.lines() {
        assert!(line.len() < 1500, "hoptrace {args:?} printed a {}-byte line", line.len());
    }
    r
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small, valid pipeline: table 0 outputs IPv4 to port 2.
const FLOWS: &str = "table=0, priority=100,ip actions=output:2\ntable=0, priority=0 actions=drop\n";

/// A probe crafted by the binary itself.
fn craft_probe(dir: &Path) -> PathBuf {
    let p = dir.join("probe.json");
    let r = run(&[
        "craft",
        "--src-ip",
        "10.10.1.5",
        "--dst-ip",
        "10.10.2.5",
        "--src-mac",
        "02:00:00:00:01:05",
        "--dst-mac",
        "02:00:00:00:01:01",
        "--proto",
        "tcp",
        "--dst-port",
        "80",
        "--seed",
        "7",
        "-q",
        "-o",
        s(&p),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    p
}

/// Billion laughs: ten levels of ten aliases (10^10 nodes if expanded).
fn billion_laughs() -> String {
    let mut y = String::from("nodeRef:\n  name: bomb\nl0: &l0 [lol]\n");
    for i in 1..10 {
        y.push_str(&format!("l{i}: &l{i} [{}]\n", vec![format!("*l{}", i - 1); 10].join(",")));
    }
    y
}

/// Wide fan-out: one anchor of 1000 elements, aliased 1000 times, then that 1000 times.
fn wide_fan_out() -> String {
    let mut y = String::from("a: &a [");
    y.push_str(&vec!["x"; 1000].join(","));
    y.push_str("]\nb: &b [");
    y.push_str(&vec!["*a"; 1000].join(","));
    y.push_str("]\nc: [");
    y.push_str(&vec!["*b"; 1000].join(","));
    y.push_str("]\n");
    y
}

fn node_dir(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("flows"), FLOWS).unwrap();
    for (n, text) in files {
        std::fs::write(d.join(n), text).unwrap();
    }
    d
}

#[test]
fn yaml_alias_bombs_and_deep_nesting_cost_their_file_only() {
    let tmp = tempfile::tempdir().unwrap();
    let probe = craft_probe(tmp.path());
    let deep_flow = "[".repeat(100_000);
    let deep_block = "- ".repeat(100_000);
    let cases: [(&str, String, &str); 5] = [
        ("agentinfo", billion_laughs(), "aliases copy more than"),
        ("networkpolicies", wide_fan_out(), "aliases copy more than"),
        ("addressgroups", deep_flow, "nested too deeply"),
        ("appliedtogroups", deep_block, "deeper than 64"),
        ("agentinfo", "nodeRef: {name: n}\nnodeRef: {name: m}\n".into(), "duplicate key"),
    ];
    for (i, (member, text, why)) in cases.iter().enumerate() {
        let d = node_dir(tmp.path(), &format!("node{i}"), &[(member, text)]);
        let file = d.join(member);
        // flows: the dump is read; the bad member is reported with file and line.
        let r = run(&["flows", s(&d)]);
        assert_eq!(r.code, 0, "{}", r.all());
        assert!(r.stdout.contains("output:2"), "the flows are kept: {}", r.stdout);
        assert!(r.stderr.contains(&format!("{}: line ", file.display())), "{member}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{member}: {}", r.stderr);
        // trace: the pipeline is simulated all the same.
        let r = run(&["trace", "--node-dir", s(&d), "--in-port", "1", "ip,nw_src=10.0.0.1,nw_dst=10.0.0.2"]);
        assert!(r.code == 0 || r.code == 1 || r.code == 3, "{}", r.all());
        assert!(r.stderr.contains(why), "{}", r.stderr);
        // analyze: a bad-input finding naming the file, and the node is still analysed.
        let r = run(&["analyze", s(&d), "--probe", s(&probe), "--format", "json", "-o", "-"]);
        assert!(r.code <= 3 && r.code != 2, "{}", r.all());
        assert!(r.stdout.contains(&format!("{}: line ", file.display())), "{}", r.stdout);
        assert!(r.took < Duration::from_secs(30), "{member}: {:?}", r.took);
    }
}

/// `count` minimal kubectl Pods, JSON.
fn kubectl_pods(count: usize) -> String {
    let mut out = String::with_capacity(count * 400);
    out.push_str("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n");
    for i in 0..count {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str(&format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"pod-{i}\",\"namespace\":\"default\",\"uid\":\"{i:08x}-0000-0000-0000-000000000000\",\"labels\":{{\"app\":\"bench\"}}}},\"spec\":{{\"nodeName\":\"node-{}\",\"containers\":[{{\"name\":\"c\",\"image\":\"registry.k8s.io/pause:3.9\"}}]}},\"status\":{{\"phase\":\"Running\",\"podIP\":\"10.{}.{}.{}\",\"podIPs\":[{{\"ip\":\"10.{}.{}.{}\"}}]}}}}",
            i % 100,
            (i >> 16) & 255, (i >> 8) & 255, i & 255,
            (i >> 16) & 255, (i >> 8) & 255, i & 255,
        ));
    }
    out.push_str("\n]}\n");
    out
}

#[test]
fn a_large_cluster_inventory_is_read_within_the_memory_limit() {
    let tmp = tempfile::tempdir().unwrap();
    // 300 000 Pods: about 110 MB of JSON, which the old reader held three times over as values.
    let n = 300_000;
    let json = tmp.path().join("cluster.json");
    std::fs::write(&json, kubectl_pods(n)).unwrap();
    let out = tmp.path().join("p.json");
    let last = format!("default/pod-{}", n - 1);
    let r = run(&["craft", "--cluster", s(&json), "-S", "default/pod-0", "-D", &last, "-q", "-o", s(&out)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let doc = std::fs::read_to_string(&out).unwrap();
    assert!(doc.contains("\"10.4.147.223\""), "the last Pod's IP: {doc}");
    // The same as clusterinfo YAML, one document per Pod as Antrea writes it.
    let yaml = tmp.path().join("clusterinfo");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&yaml).unwrap());
    f.write_all(b"#pods\n").unwrap();
    for i in 0..100_000 {
        writeln!(
            f,
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{i}\n  namespace: default\nspec:\n  nodeName: node-1\nstatus:\n  podIP: 10.1.{}.{}\n---",
            (i >> 8) & 255,
            i & 255
        )
        .unwrap();
    }
    drop(f);
    let r =
        run(&["craft", "--cluster", s(&yaml), "-S", "default/pod-3", "-D", "default/pod-99999", "-q", "-o", s(&out)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"10.1.134.159\""));
}

#[test]
fn damaged_inventories_keep_their_good_parts_and_name_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("p.json");
    // clusterinfo: a good Pod, an alias bomb, another good Pod.
    let ci = tmp.path().join("clusterinfo");
    let pod = |name: &str, ip: &str| {
        format!("#pods\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: default\nstatus:\n  podIP: {ip}\n")
    };
    std::fs::write(&ci, format!("{}---\n{}---\n{}", pod("a", "10.0.0.1"), wide_fan_out(), pod("b", "10.0.0.2")))
        .unwrap();
    let r = run(&["craft", "--cluster", s(&ci), "-S", "default/a", "-D", "default/b", "-q", "-o", s(&out)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains(&format!("{}: line 10", ci.display())), "{}", r.stderr);
    assert!(r.stderr.contains("aliases"), "{}", r.stderr);
    // JSON nesting bomb: refused at once, with file and line.
    let bomb = tmp.path().join("cluster.json");
    std::fs::write(&bomb, "[".repeat(1_000_000)).unwrap();
    let r = run(&["craft", "--cluster", s(&bomb), "-S", "default/a", "-D", "default/b", "-o", s(&out)]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains(&format!("{}: line 1", bomb.display())), "{}", r.stderr);
    assert!(r.stderr.contains("recursion limit"), "{}", r.stderr);
    assert!(r.took < Duration::from_secs(10), "{:?}", r.took);
    // A JSON object larger than the per-object limit.
    let big = tmp.path().join("big.json");
    std::fs::write(&big, format!("{{\"items\":[{{\"kind\":\"Pod\",\"x\":\"{}\"}}]}}", "y".repeat(9 << 20))).unwrap();
    let r = run(&["craft", "--cluster", s(&big), "-S", "default/a", "-D", "default/b", "-o", s(&out)]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("an object larger than"), "{}", r.stderr);
    // analyze with the damaged clusterinfo in a scenario directory: reported, not fatal.
    let scen = tmp.path().join("scenario");
    std::fs::create_dir(&scen).unwrap();
    std::fs::copy(&ci, scen.join("clusterinfo")).unwrap();
    node_dir(&scen, "n1", &[]);
    let probe = craft_probe(tmp.path());
    let r = run(&["analyze", s(&scen), "--probe", s(&probe), "--format", "json", "-o", "-"]);
    assert!(r.code != 2, "{}", r.all());
    assert!(r.stdout.contains("clusterinfo: line 10"), "{}", r.stdout);
}

/// Writes a gzip'd tar of `members` (name, size, byte to repeat or text).
fn tar_gz(path: &Path, members: &[(&str, Member<'_>)]) {
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (name, m) in members {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        match m {
            Member::Text(t) => {
                h.set_size(t.len() as u64);
                h.set_cksum();
                b.append_data(&mut h, name, t.as_bytes()).unwrap();
            }
            Member::Repeat(byte, n) => {
                h.set_size(*n);
                h.set_cksum();
                b.append_data(&mut h, name, std::io::Read::take(std::io::repeat(*byte), *n)).unwrap();
            }
        }
    }
    b.into_inner().unwrap().finish().unwrap();
}

enum Member<'a> {
    Text(&'a str),
    Repeat(u8, u64),
}

#[test]
fn tarballs_report_duplicates_and_bound_every_member() {
    let tmp = tempfile::tempdir().unwrap();
    let probe = craft_probe(tmp.path());
    let bundle = tmp.path().join("agent_k8s-node9.tar.gz");
    tar_gz(
        &bundle,
        &[
            ("flows", Member::Text("table=0, priority=5 actions=drop\n")),
            // Logs are skipped, read through but not kept.
            ("logs/agent/antrea-agent.log", Member::Repeat(b'a', 64 << 20)),
            ("agent/flows", Member::Text(FLOWS)),
            // 600 MiB of one byte, under 3 MB compressed: far past agentinfo's 4 MiB limit and
            // the child's 512 MiB address space.
            ("agentinfo", Member::Repeat(b' ', 600 << 20)),
            ("route", Member::Text("default via 10.0.0.1 dev eth0\n")),
        ],
    );
    assert!(std::fs::metadata(&bundle).unwrap().len() < 8 << 20);
    let name = bundle.display().to_string();
    let r = run(&["flows", s(&bundle)]);
    assert_eq!(r.code, 0, "{}", r.all());
    // The last copy of a duplicate, as tar -x would leave it, and a warning naming both.
    assert!(r.stdout.contains("output:2") && !r.stdout.contains("priority=5"), "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!("{name}: member flows appears more than once (flows and agent/flows)")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&format!("{name}: member agentinfo is 629145600 bytes")), "{}", r.stderr);
    let r = run(&["trace", "--node-dir", s(&bundle), "--in-port", "1", "ip,nw_src=10.0.0.1,nw_dst=10.0.0.2"]);
    assert!(r.code != 2, "{}", r.all());
    assert!(r.stderr.contains("appears more than once"), "{}", r.stderr);
    let r = run(&["analyze", &format!("k8s-node9={name}"), "--probe", s(&probe), "--format", "json", "-o", "-"]);
    assert!(r.code != 2, "{}", r.all());
    assert!(r.stdout.contains("appears more than once") && r.stdout.contains("member agentinfo is"), "{}", r.stdout);
    // A cut archive keeps the members before the cut and says where it stopped.
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = tmp.path().join("agent_cut.tar.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let r = run(&["flows", s(&cut)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains(&format!("{}: ", cut.display())) && r.stderr.contains("at member"), "{}", r.stderr);
}

/// A change to a probe document.
type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;

/// Edits a probe document's JSON.
fn edit(probe: &Path, to: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(probe).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(to, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn a_probe_that_disagrees_with_its_frame_is_refused_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let probe = craft_probe(tmp.path());
    let bad = tmp.path().join("bad.json");
    let node = node_dir(tmp.path(), "n1", &[]);
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|v| v["ip"]["src"] = "10.10.1.9".into()), "frame bytes 26..30 (ip.src)"),
        (
            Box::new(|v| {
                v["dataplaneTag"] = 11.into();
                v["ip"]["dscp"] = 11.into();
                v["fingerprint"]["dscp"] = 11.into();
            }),
            "frame byte 15 (ip.dscp",
        ),
        (Box::new(|v| v["ip"]["dscp"] = 11.into()), "ip.dscp is 11 but dataplaneTag is"),
        (Box::new(|v| v["transport"]["dstPort"] = 81.into()), "(transport.dstPort)"),
        (Box::new(|v| v["ethernet"]["dst"] = "02:00:00:00:01:02".into()), "frame bytes 0..6 (ethernet.dst)"),
        (Box::new(|v| v["fingerprint"]["ipv4Id"] = 1.into()), "fingerprint.ipv4Id is 1"),
        (
            Box::new(|v| {
                // The TTL byte of the frame (offset 22) changed, fields left alone.
                let hex = v["frame"]["hex"].as_str().unwrap().to_string();
                let ttl = &hex[44..46];
                let other = if ttl == "40" { "3f" } else { "40" };
                v["frame"]["hex"] = format!("{}{other}{}", &hex[..44], &hex[46..]).into();
            }),
            "frame byte 22 (ip.ttl)",
        ),
    ];
    for (f, why) in cases {
        edit(&probe, &bad, f);
        let r = run(&["inject", s(&bad), "--iface", "lo", "--dry-run"]);
        assert_eq!(r.code, 2, "{}", r.all());
        assert!(r.stderr.contains(&format!("{}: ", bad.display())) && r.stderr.contains(why), "{why}: {}", r.stderr);
        assert!(!r.stdout.contains("checks passed"), "{}", r.stdout);
        let r = run(&["analyze", s(&node), "--probe", s(&bad), "-o", "-"]);
        assert_eq!(r.code, 2, "{}", r.all());
        assert!(r.stderr.contains(why), "{}", r.stderr);
        let r = run(&["trace", "--flows", s(&node.join("flows")), "--probe", s(&bad), "--in-port", "1"]);
        assert_eq!(r.code, 2, "{}", r.all());
        assert!(r.stderr.contains(why), "{}", r.stderr);
    }
    // The document as crafted passes (the dry run gets past the probe checks).
    let r = run(&["inject", s(&probe), "--iface", "no-such-if0", "--dry-run"]);
    assert!(!r.stderr.contains("disagrees"), "{}", r.stderr);
    // JSON nesting bombs and oversized documents: refused with file and position, at once.
    std::fs::write(&bad, "[".repeat(1_000_000)).unwrap();
    let r = run(&["inject", s(&bad), "--iface", "lo", "--dry-run"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains(&format!("{}: line 1, column", bad.display())), "{}", r.stderr);
    let ev = node.join("n1.evidence.json");
    std::fs::write(&ev, "[".repeat(1_000_000)).unwrap();
    let r = run(&["analyze", s(&node), "--probe", s(&probe), "--format", "json", "-o", "-"]);
    assert!(r.code != 2, "{}", r.all());
    assert!(r.stdout.contains("n1.evidence.json") && r.stdout.contains("at line 1 column"), "{}", r.stdout);
}
