//! The simulator on every flow table of the corpus (OVS, OVN and Antrea test and doc dumps, with
//! all their tables, resubmit loops, conjunctions and odd actions) with generated packets: no
//! panic, every trace ends within the limits, and tracing is deterministic.

mod oracle;
mod support;

use hoptrace::ovs::flow::Flow;
use hoptrace::ovs::sim::{Packet, Pipeline, SimOptions};
use hoptrace::ovs::PortTable;
use hoptrace::probe::rng::ProbeRng;

#[test]
fn every_corpus_flow_file_simulates_without_panic() {
    let dir = support::corpus::flows_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let mut total_flows = 0;
    let mut total_traces = 0;
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        // Any line that parses as a flow (dump lines, add-flow arguments, doc excerpts).
        let flows: Vec<Flow> = text
            .lines()
            .map(|l| l.trim().trim_matches(['\'', '"']))
            .filter(|l| l.contains("actions="))
            .filter_map(|l| Flow::parse(l).ok())
            .collect();
        if flows.is_empty() {
            continue;
        }
        total_flows += flows.len();
        let ports: Vec<(String, u32)> = (1..=8).map(|i| (format!("p{i}"), i)).collect();
        let port_text: String = ports.iter().map(|(n, i)| format!(" {i}({n}): addr:02:00:00:00:00:0{i}\n")).collect();
        let flow_text: String = text.lines().filter(|l| l.contains("actions=")).map(|l| format!("{l}\n")).collect();
        let pl = Pipeline::build(flows, vec![], PortTable::parse(&port_text), &[]);
        let gen = oracle::packets::Generator::new(&flow_text, &ports, Some(1));
        let mut rng = ProbeRng::from_seed(total_flows as u64);
        let opts = SimOptions { tunnel_ports: vec![1], ..SimOptions::default() };
        for _ in 0..200 {
            let spec = gen.packet(&mut rng);
            let Ok(p) = Packet::parse(&spec, Some(&pl.ports)) else { continue };
            let a = pl.trace(&p, &opts);
            let b = pl.trace(&p, &opts);
            assert!(a.steps.len() <= 4096, "{}: {spec}", f.display());
            assert_eq!(a.to_text(), b.to_text(), "deterministic: {}: {spec}", f.display());
            let _ = serde_json::to_string(&a).expect("serializable");
            total_traces += 1;
        }
    }
    eprintln!("{total_flows} corpus flows, {total_traces} traces");
    assert!(total_flows > 1000 && total_traces > 2000);
}

/// A one-table pipeline that sends every packet to group 1, with these groups.
fn group_pipeline(groups: &[String]) -> Pipeline {
    let flows = vec![Flow::parse("table=0,priority=1 actions=group:1").unwrap()];
    let groups = groups.iter().map(|g| hoptrace::ovs::Group::parse(g).unwrap()).collect();
    Pipeline::build(flows, groups, PortTable::parse(" 1(p1): addr:02:00:00:00:00:01\n"), &[])
}

fn trace(pl: &Pipeline) -> hoptrace::ovs::sim::Trace {
    let p = Packet::parse("in_port=1,ip,nw_src=10.0.0.1,nw_dst=10.0.0.2", Some(&pl.ports)).unwrap();
    pl.trace(&p, &SimOptions::default())
}

#[test]
fn group_loops_are_reported_not_followed() {
    // A group whose bucket calls the group itself, and two groups calling each other.
    for groups in [
        vec!["group_id=1,type=all,bucket=actions=group:1".to_string()],
        vec![
            "group_id=1,type=indirect,bucket=actions=group:2".into(),
            "group_id=2,type=all,bucket=actions=group:1".into(),
        ],
    ] {
        let t = trace(&group_pipeline(&groups));
        assert_eq!(t.outcome, hoptrace::ovs::sim::Outcome::Incomplete);
        assert!(t.notes.iter().any(|n| n.contains("group loop 1 -> ")), "{:?}", t.notes);
    }
}

#[test]
fn group_fan_out_and_chains_are_bounded() {
    // 40 type=all groups, each with two buckets calling the next: 2^40 bucket runs unbounded.
    let fan: Vec<String> = (1..=40)
        .map(|i| format!("group_id={i},type=all,bucket=actions=group:{n},bucket=actions=group:{n}", n = i + 1))
        .collect();
    let started = std::time::Instant::now();
    let t = trace(&group_pipeline(&fan));
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(t.outcome, hoptrace::ovs::sim::Outcome::Incomplete);
    assert!(t.notes.iter().any(|n| n.contains("stopped after 100000 actions")), "{:?}", t.notes);
    // A chain of 100 000 distinct groups: bounded by the nesting depth, not the stack.
    let chain: Vec<String> =
        (1..=100_000).map(|i| format!("group_id={i},type=indirect,bucket=actions=group:{}", i + 1)).collect();
    let t = trace(&group_pipeline(&chain));
    assert!(t.notes.iter().any(|n| n.contains("group depth over 64")), "{:?}", t.notes);
}

#[test]
fn select_with_many_buckets_is_fast() {
    // 100 000 equal buckets: the dp_hash choice and the note stay cheap.
    let buckets: Vec<String> = (0..100_000).map(|i| format!("bucket=bucket_id:{i},weight:100,actions=drop")).collect();
    let g = format!("group_id=1,type=select,{}", buckets.join(","));
    let started = std::time::Instant::now();
    let t = trace(&group_pipeline(&[g]));
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(t.notes.iter().any(|n| n.contains("of 100000 by dp_hash") && n.len() < 300), "{:?}", t.notes);
}
