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
