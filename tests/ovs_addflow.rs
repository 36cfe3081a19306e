//! Acceptance with the real thing: every numeric-table flow of the corpus, printed by hoptrace
//! in `add-flow` form, is accepted by `ovs-ofctl add-flow` on a throw-away userspace bridge
//! (private ovsdb-server + ovs-vswitchd in a network namespace this test creates).
//! Needs root and openvswitch-switch.

mod support;

use hoptrace::ovs::group::parse_groups;
use hoptrace::ovs::{Action, Flow, FlowDump, PortRef, PortTable, TableRef, Value};
use std::collections::BTreeSet;
use std::process::Output;
use support::corpus::{expected_reject, flow_lines, flows_dir};
use support::ovs::{Datapath, PrivateOvs};
use support::{require, Need};

/// Every OpenFlow version, as the bridge speaks them.
const PROTOCOLS: &str = "OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15";

/// `ovs-ofctl -O OpenFlow15 CMD br0 ARGS...`, not checked (the test reads the errors).
fn ofctl(sb: &PrivateOvs, cmd: &str, args: &[&str]) -> Output {
    sb.output("ovs-ofctl", &[&["-O", "OpenFlow15", cmd, "br0"][..], args].concat())
}

/// Whether a flow only uses numbers for tables and ports (a bare switch has no names).
fn numeric(f: &Flow) -> bool {
    fn actions_numeric(actions: &[Action]) -> bool {
        actions.iter().all(|a| match a {
            Action::GotoTable { table } => matches!(table, TableRef::Id(_)),
            Action::Resubmit { port, table, .. } => {
                !matches!(table, Some(TableRef::Name(_))) && !matches!(port, Some(PortRef::Name(_)))
            }
            Action::Output { port, .. } => !matches!(port, PortRef::Name(_)),
            Action::Ct(ct) => !matches!(ct.table, Some(TableRef::Name(_))) && actions_numeric(&ct.exec),
            Action::Clone { actions } => actions_numeric(actions),
            Action::Learn { args } => {
                !args.contains("table=")
                    || args
                        .split(',')
                        .all(|kv| kv.strip_prefix("table=").is_none_or(|t| t.bytes().all(|b| b.is_ascii_digit())))
            }
            _ => true,
        })
    }
    !matches!(f.table, Some(TableRef::Name(_)))
        && !f.matches.fields.iter().any(|m| matches!(m.value, Value::Port(PortRef::Name(_))))
        && actions_numeric(&f.actions)
}

fn groups_and_meters(flows: &[Flow]) -> (BTreeSet<u32>, BTreeSet<u32>) {
    fn walk(actions: &[Action], g: &mut BTreeSet<u32>, m: &mut BTreeSet<u32>) {
        for a in actions {
            match a {
                Action::Group { id } => {
                    g.insert(*id);
                }
                Action::Meter { id } => {
                    m.insert(*id);
                }
                Action::Ct(ct) => walk(&ct.exec, g, m),
                Action::Clone { actions } => walk(actions, g, m),
                _ => {}
            }
        }
    }
    let (mut g, mut m) = (BTreeSet::new(), BTreeSet::new());
    for f in flows {
        walk(&f.actions, &mut g, &mut m);
    }
    (g, m)
}

/// Bisects for the first flow the switch refuses with an error that names no line.
fn first_refused(sb: &PrivateOvs, flows: &[&(String, Flow, String)]) -> usize {
    let file = sb.dir().join("bisect.txt");
    let ok = |part: &[&(String, Flow, String)]| {
        let text: String = part.iter().map(|(_, f, _)| format!("{}\n", f.flow_mod())).collect();
        std::fs::write(&file, text).unwrap();
        let good = ofctl(sb, "add-flows", &[file.to_str().unwrap()]).status.success();
        let _ = ofctl(sb, "del-flows", &[]);
        good
    };
    let (mut lo, mut hi) = (0, flows.len());
    // Invariant: flows[..lo] are accepted, flows[..hi] are not.
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if ok(&flows[..mid]) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[test]
fn printed_numeric_corpus_flows_are_accepted_by_ovs_ofctl() {
    require!(Need::Netns, Need::Ovs);
    let mut flows: Vec<(String, Flow, String)> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(flows_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "txt" || e == "flows")) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (lines, _) = flow_lines(&std::fs::read_to_string(path).unwrap());
        for (n, line) in lines {
            if line.starts_with("group_id=") || expected_reject(&name, &line).is_some() {
                continue;
            }
            let f = Flow::parse(&line).unwrap_or_else(|e| panic!("{name}:{n}: {e}"));
            if numeric(&f) {
                flows.push((format!("{name}:{n}"), f, line));
            }
        }
    }
    assert!(flows.len() > 1000, "{}", flows.len());

    let sb = PrivateOvs::start(Datapath::Netdev);
    sb.add_bridge("br0", PROTOCOLS, &[], &[]).expect("bridge br0");
    let (groups_used, meters) = groups_and_meters(&flows.iter().map(|(_, f, _)| f.clone()).collect::<Vec<_>>());
    // Geneve options used by the OVS tunnel tests' flows.
    let tlv: Vec<String> = (0..8).map(|i| format!("{{class=0xffff,type={i},len=8}}->tun_metadata{i}")).collect();
    let out = ofctl(&sb, "add-tlv-map", &[&tlv.join(",")]);
    assert!(out.status.success(), "add-tlv-map: {}", String::from_utf8_lossy(&out.stderr));
    let lb = "group_id=99999,type=select,bucket=bucket_id:0,weight:100,actions=set_field:0xa0a0018->reg3,set_field:0x50/0xffff->reg4,resubmit(,12),bucket=bucket_id:1,weight:50,actions=output:1";
    assert!(ofctl(&sb, "add-group", &[lb]).status.success());
    for g in &groups_used {
        let out = ofctl(&sb, "add-group", &[&format!("group_id={g},type=all")]);
        assert!(out.status.success(), "add-group {g}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for m in &meters {
        let out = ofctl(&sb, "add-meter", &[&format!("meter={m},pktps,band=type=drop,rate=1000")]);
        assert!(out.status.success(), "add-meter {m}: {}", String::from_utf8_lossy(&out.stderr));
    }

    // All printed flows in one add-flows file. ovs-ofctl parses the whole file before sending
    // anything and names the first line it cannot parse; such a flow is then tried in its
    // original corpus spelling (ovs-ofctl ignores dump statistics): if OVS 3.1 rejects that too,
    // the line uses syntax newer than this switch and is not held against the printer.
    let mut syntax = Vec::new();
    let mut too_new = Vec::new();
    let file = sb.dir().join("flows.txt");
    let mut accepted = 0;
    // One corpus file at a time keeps the bisection for errors that name no line cheap.
    let mut by_file: Vec<Vec<&(String, Flow, String)>> = Vec::new();
    for entry in &flows {
        let src = entry.0.split(':').next().unwrap_or("");
        match by_file.last_mut() {
            Some(v) if v[0].0.split(':').next() == Some(src) => v.push(entry),
            _ => by_file.push(vec![entry]),
        }
    }
    for mut pending in by_file {
        loop {
            let text: String = pending.iter().map(|(_, f, _)| format!("{}\n", f.flow_mod())).collect();
            std::fs::write(&file, &text).unwrap();
            let out = ofctl(&sb, "add-flows", &[file.to_str().unwrap()]);
            if out.status.success() {
                accepted += pending.len();
                break;
            }
            let err = String::from_utf8_lossy(&out.stderr).to_string();
            let at = err
                .split(&format!("{}:", file.display()))
                .nth(1)
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.trim().parse::<usize>().ok());
            let idx = match at {
                Some(line) => line - 1,
                None => first_refused(&sb, &pending),
            };
            let (origin, f, original) = pending.remove(idx);
            let orig_ok = ofctl(&sb, "add-flow", &[original]).status.success();
            let msg = format!("{origin}: {}\n  printed: {}\n  original: {original}", err.trim(), f.flow_mod());
            if orig_ok {
                syntax.push(msg);
            } else {
                too_new.push(msg);
            }
            if pending.is_empty() {
                break;
            }
        }
    }
    // The switch's own dump (with statistics, OpenFlow 1.5) parses, and each flow round-trips.
    let dumped = ofctl(&sb, "dump-flows", &[]);
    assert!(dumped.status.success());
    let text = String::from_utf8_lossy(&dumped.stdout).to_string();
    let real = FlowDump::parse(&text, "dump-flows").unwrap_or_else(|e| panic!("{e}"));
    let installed = real.flows.len();
    for f in &real.flows {
        assert!(f.n_packets.is_some() && f.duration_ms.is_some(), "{f}");
        assert_eq!(&Flow::parse(&f.to_string()).unwrap(), f);
    }
    // Groups and ports as the switch prints them.
    let groups = ofctl(&sb, "dump-groups", &[]);
    let groups = parse_groups(&String::from_utf8_lossy(&groups.stdout), "dump-groups").unwrap();
    let ids: BTreeSet<u32> = groups.iter().map(|g| g.id).collect();
    let mut want = groups_used.clone();
    want.insert(99_999);
    assert_eq!(ids, want);
    let lb = groups.iter().find(|g| g.id == 99_999).unwrap();
    assert_eq!(lb.buckets.len(), 2);
    assert_eq!(lb.buckets[1].weight, Some(50));
    assert_eq!(hoptrace::antrea::node::endpoints_of(lb).len(), 1);
    for port in ["dump-ports-desc", "show"] {
        let out = ofctl(&sb, port, &[]);
        let table = PortTable::parse(&String::from_utf8_lossy(&out.stdout));
        assert!(table.by_name("br0").is_some_and(|p| p.is_local() && p.mac.is_some()), "{port}: {table:?}");
    }
    eprintln!(
        "{accepted} of {} printed flows accepted ({installed} distinct flows installed); {} use syntax OVS 3.1 rejects in their original form too",
        flows.len(),
        too_new.len()
    );
    for r in &too_new {
        eprintln!("{r}");
    }
    assert!(
        syntax.is_empty(),
        "ovs-ofctl rejected {} printed flows whose original it accepts:\n{}",
        syntax.len(),
        syntax.join("\n")
    );
    assert!(too_new.len() * 20 <= flows.len(), "too many lines OVS rejects:\n{}", too_new.join("\n"));
    assert!(installed > 100, "{installed}");
}
