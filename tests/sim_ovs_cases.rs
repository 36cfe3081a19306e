//! The simulator against the real `ofproto/trace` on the OVS test-suite cases of
//! `tests/data/corpus/flows/ovs-trace-oracle.jsonl` that use only what the simulator models:
//! a bridge of plain ports (`add_of_ports`), flows from the test's `flows.txt` / `add-flow`, and a
//! trace flow in OpenFlow syntax or in datapath syntax that converts to it. Each usable case is
//! loaded into a private OVS and traced on both sides; the test prints how many cases were usable
//! and how many agree, and fails on a disagreement that is not a documented limit.
//! Needs root, iproute2 and openvswitch-switch.

mod oracle;
mod support;

use hoptrace::ovs::flow::Flow;
use hoptrace::ovs::sim::{Packet, Pipeline, SimOptions};
use hoptrace::ovs::{Group, PortTable};
use oracle::compare::compare;
use oracle::trace_text::OracleTrace;
use support::ovs::{Datapath, Port, PrivateOvs};
use support::{require, Need};

/// A case reduced to what both sides need.
struct Case {
    name: String,
    ports: Vec<u32>,
    flows: Vec<String>,
    groups: Vec<String>,
    packet: String,
}

/// Words in a case's setup or flows that mean it needs something the simulator does not model
/// (mirrors, bonds, tunnels, sampling, learning, patch ports, controller connections...).
const UNMODELLED: &[&str] = &[
    "mirror",
    "bond",
    "type=gre",
    "type=geneve",
    "type=vxlan",
    "type=erspan",
    "type=gtpu",
    "type=srv6",
    "type=patch",
    "ipfix",
    "sample",
    "learn",
    "check_pkt_larger",
    "truncate",
    "debug_slow",
    "patch",
    "meter",
    "write_actions",
    "clear_actions",
    "fin_timeout",
    "bundle",
    "enqueue",
    "dec_mpls",
    "push_mpls",
    "pop_mpls",
    "encap",
    "decap",
    "multipath",
    "output_trunc",
    "$",
    "`",
    "write_metadata",
    "ovs-vsctl",
    "set_queue",
    "ct_clear",
    "nat(",
    "selection_method",
];

/// Converts a datapath flow (`in_port(1),eth(src=..,dst=..),eth_type(0x0800),ipv4(...),tcp(...)`)
/// into OpenFlow flow syntax; `None` when it has keys this conversion does not handle.
fn odp_to_of(odp: &str) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    for item in oracle::trace_text::split_top(odp) {
        let (key, args) = item.split_once('(')?;
        let args = args.strip_suffix(')')?;
        let kv = |k: &str| args.split(',').find_map(|a| a.strip_prefix(&format!("{k}=")).map(str::to_string));
        match key {
            "in_port" => out.push(format!("in_port={args}")),
            "eth" => {
                out.push(format!("dl_src={}", kv("src")?));
                out.push(format!("dl_dst={}", kv("dst")?));
            }
            "eth_type" => out.push(format!("dl_type={args}")),
            "ipv4" => {
                out.push(format!("nw_src={}", kv("src")?));
                out.push(format!("nw_dst={}", kv("dst")?));
                out.push(format!("nw_proto={}", kv("proto")?));
                let tos: u8 = kv("tos").and_then(|t| parse_num(&t)).unwrap_or(0);
                out.push(format!("nw_tos={}", tos & 0xfc));
                out.push(format!("nw_ecn={}", tos & 3));
                out.push(format!("nw_ttl={}", kv("ttl")?));
                if kv("frag").as_deref() != Some("no") {
                    return None;
                }
            }
            "tcp" | "udp" => {
                out.push(format!("tp_src={}", kv("src")?));
                out.push(format!("tp_dst={}", kv("dst")?));
            }
            "icmp" => {
                out.push(format!("icmp_type={}", kv("type")?));
                out.push(format!("icmp_code={}", kv("code")?));
            }
            "recirc_id" if args == "0" => {}
            _ => return None,
        }
    }
    Some(out.join(","))
}

fn parse_num(s: &str) -> Option<u8> {
    match s.strip_prefix("0x") {
        Some(h) => u8::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Quoted arguments of `CMD br0 '...'` calls in the setup (line continuations joined).
fn quoted_args(setup: &str, cmd: &str) -> Vec<String> {
    let joined = setup.replace("\\\n", " ");
    joined
        .split(&format!("{cmd} br0 "))
        .skip(1)
        .filter_map(|part| part.trim_start().strip_prefix('\'')?.split('\'').next().map(str::to_string))
        .collect()
}

/// Flows from the setup's `AT_DATA([flows.txt], [...])` block and `add-flow br0 '...'` calls.
fn setup_flows(setup: &str) -> Vec<String> {
    let mut flows = Vec::new();
    if let Some(start) = setup.find("AT_DATA([flows.txt], [") {
        let body = &setup[start + "AT_DATA([flows.txt], [".len()..];
        let end = body.find("\n])").unwrap_or(body.len());
        for l in body[..end].lines() {
            let l = l.trim();
            if !l.is_empty() && !l.starts_with("dnl") {
                flows.push(l.to_string());
            }
        }
    }
    flows.extend(quoted_args(setup, "add-flow"));
    flows
}

fn load_cases() -> (usize, Vec<Case>) {
    let text = support::corpus::flows_text("ovs-trace-oracle.jsonl");
    let mut cases = Vec::new();
    let mut total = 0;
    for line in text.lines() {
        total += 1;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let setup: String = v["setup"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        let trace = v["trace_args"].as_str().unwrap_or_default();
        let mut flows = setup_flows(&setup);
        for f in v["flows_txt"].as_array().into_iter().flatten().filter_map(|x| x.as_str()) {
            flows.extend(f.lines().map(str::to_string));
        }
        flows.retain(|f| !f.trim().is_empty() && !f.trim_start().starts_with("dnl"));
        let mut seen = std::collections::HashSet::new();
        flows.retain(|f| seen.insert(f.clone()));
        // m4 quoting of the .at files: `[[` stands for `[`.
        let flows: Vec<String> = flows.iter().map(|f| f.replace("[[", "[").replace("]]", "]")).collect();
        let all = format!("{setup}\n{}", flows.join("\n"));
        if flows.is_empty() || UNMODELLED.iter().any(|w| all.contains(w)) {
            continue;
        }
        let Some(ports_line) = setup.lines().find_map(|l| l.trim().strip_prefix("add_of_ports br0 ")) else { continue };
        let ports: Vec<u32> = ports_line.split_whitespace().filter_map(|p| p.parse().ok()).collect();
        let packet = if let Some(q) = trace.strip_prefix("br0 '") {
            q.split('\'').next().unwrap_or_default().to_string()
        } else if let Some(q) = trace.strip_prefix("ovs-dummy '") {
            match odp_to_of(q.split('\'').next().unwrap_or_default()) {
                Some(p) => p,
                None => continue,
            }
        } else {
            continue;
        };
        if packet.contains('$') || trace.contains('|') {
            continue;
        }
        let name = format!("{} @{}", v["test"].as_str().unwrap_or_default(), v["at_lines"]);
        let groups = quoted_args(&setup, "add-group");
        cases.push(Case { name, ports, flows, groups, packet });
    }
    (total, cases)
}

#[test]
fn ovs_test_suite_cases_agree_with_ofproto_trace() {
    require!(Need::Netns, Need::Ovs);
    let (total, cases) = load_cases();
    assert!(cases.len() >= 5, "usable cases found: {}", cases.len());
    let mut ovs = PrivateOvs::start(Datapath::Dummy);
    let (mut usable, mut agree) = (0usize, 0usize);
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let bridge = format!("br{i}");
        if i > 0 {
            ovs.vsctl(&["del-br", &format!("br{}", i - 1)]).expect("del-br");
        }
        let specs: Vec<Port> = c.ports.iter().map(|p| Port::dummy(&format!("p{p}"), *p)).collect();
        ovs.add_bridge(&bridge, "OpenFlow10,OpenFlow13,OpenFlow15", &[], &specs).expect("bridge");
        let text = c.flows.join("\n") + "\n";
        let gtext = c.groups.join("\n") + "\n";
        if let Err(e) = ovs.load(&bridge, &text, &gtext) {
            skipped.push(format!("{}: OVS refuses the flows: {e}", c.name));
            continue;
        }
        let parsed: Result<Vec<Flow>, _> =
            c.flows.iter().map(|f| Flow::parse(&f.replace("action=", "actions="))).collect();
        let flows = match parsed {
            Ok(f) => f,
            Err(e) => {
                skipped.push(format!("{}: flow not parsed: {e}", c.name));
                continue;
            }
        };
        let ports = PortTable::parse(
            &c.ports.iter().map(|p| format!(" {p}(p{p}): addr:02:00:00:00:00:01\n")).collect::<String>(),
        );
        let groups: Result<Vec<Group>, _> = c.groups.iter().map(|g| Group::parse(g)).collect();
        let Ok(groups) = groups else {
            skipped.push(format!("{}: group not parsed", c.name));
            continue;
        };
        let pl = Pipeline::build(flows, groups, ports, &[]);
        let Ok(pkt) = Packet::parse(&c.packet, Some(&pl.ports)) else {
            skipped.push(format!("{}: packet not parsed: {}", c.name, c.packet));
            continue;
        };
        let reply = match ovs.trace(&bridge, &c.packet, &["--names"]) {
            Ok(r) => r,
            Err(e) => {
                skipped.push(format!("{}: ofproto/trace refuses the packet: {e}", c.name));
                continue;
            }
        };
        usable += 1;
        let sim = pl.trace(&pkt, &SimOptions::default());
        let oracle = OracleTrace::parse(&reply);
        let v = compare(&sim, &pl, &oracle);
        if v.decision && v.tables {
            agree += 1;
        } else {
            failures.push(format!(
                "{}\n{}\n--- ovs ---\n{reply}\n--- sim ---\n{}",
                c.name,
                v.diffs.join("\n"),
                sim.to_text()
            ));
        }
    }
    eprintln!(
        "ovs-trace-oracle.jsonl: {total} cases, {} pass the feature filter, {usable} run on both sides, {agree} agree (decision and table sequence)",
        cases.len()
    );
    for s in &skipped {
        eprintln!("skipped: {s}");
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n\n"));
    assert!(usable >= 5);
}
