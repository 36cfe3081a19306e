//! The differential harness itself against a real OVS: a private ovsdb-server + ovs-vswitchd in
//! its own namespace loads the Antrea v1.15 corpus pipeline (named tables), and `ofproto/trace`
//! replies are read into passes, visits, final fields and a decision. Needs root, iproute2 and
//! openvswitch-switch (installed by .ci/run).

mod oracle;
mod support;

use oracle::trace_text::OracleTrace;
use support::{require, Need};

#[test]
fn private_ovs_loads_antrea_pipeline_and_traces() {
    require!(Need::Netns, Need::Ovs);
    let fx = oracle::antrea_fixture();
    assert_eq!(fx.tables.len(), 31, "31 tables in the corpus pipeline");
    let mut ovs = oracle::antrea_ovs(&fx);
    let dump = ovs.ofctl15("dump-flows", "br-int", &["--no-stats"]).unwrap();
    let n_flows = dump.lines().filter(|l| l.contains("actions=")).count();
    assert_eq!(n_flows, fx.flows.lines().count(), "every corpus flow accepted by OVS");

    // client Pod (port 36) to the web Pod on the same node (10.10.0.24, port 37), TCP 80.
    let flow = "in_port=36,tcp,dl_src=5e:b5:e3:a6:90:b7,dl_dst=ba:5e:d1:55:aa:c0,nw_src=10.10.0.26,\
                nw_dst=10.10.0.24,nw_tos=28,nw_ttl=64,tcp_src=10000,tcp_dst=80";
    let text = ovs.trace("br-int", flow, &["--names"]).unwrap();
    let t = OracleTrace::parse(&text);
    assert!(t.passes.len() >= 2, "conntrack recirculations: {text}");
    let first: Vec<u8> = t.passes[0].visits.iter().map(|v| v.table).collect();
    assert_eq!(&first[..3], &[0, 3, 4], "PipelineRootClassifier, Classifier, SpoofGuard: {text}");
    assert_eq!(t.final_fields().get("nw_dst").map(String::as_str), Some("10.10.0.24"));

    // The same request over many calls on one connection stays consistent.
    for _ in 0..20 {
        let again = OracleTrace::parse(&ovs.trace("br-int", flow, &["--names"]).unwrap());
        assert_eq!(again.visits(), t.visits());
        assert_eq!(again.decision(), t.decision());
    }

    // A flow OVS cannot parse is an error reply, not a hang.
    let err = ovs.trace("br-int", "in_port=36,tcp_dst=80", &[]).unwrap_err();
    assert!(err.contains("prerequisites"), "{err}");
}
