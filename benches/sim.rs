//! One trace through the simulator against one `ovs-appctl ofproto/trace` call (a process per
//! call, as a user or script runs it) on the same pipeline in a private OVS, for the 167-flow
//! Antrea v1.15 corpus pipeline and for a 65 k-flow pipeline generated from its shapes.
//!
//! `cargo bench --bench sim` (needs root, iproute2 and openvswitch-switch for the baseline).

#[path = "../tests/oracle/mod.rs"]
mod oracle;
#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use hoptrace::antrea::simulated::SimNode;
use hoptrace::ovs::group::parse_groups;
use hoptrace::ovs::sim::{Packet, SimOptions};
use hoptrace::ovs::{FlowDump, PortTable};
use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

/// Service probe from the client Pod to 10.105.31.235:80: conntrack, ServiceLB, group, DNAT,
/// L3Forwarding to the remote endpoint, tunnel output (the longest path in the pipeline).
const PROBE: &str = "in_port=36,tcp,dl_src=5e:b5:e3:a6:90:b7,dl_dst=ba:5e:d1:55:aa:c0,nw_src=10.10.0.26,\
nw_dst=10.105.31.235,nw_tos=28,nw_ttl=64,tcp_src=10000,tcp_dst=80,dp_hash=1";

/// The corpus pipeline plus `n` generated flows: per generated Pod, a SpoofGuard-like flow in
/// L3Forwarding (exact nw_dst → MAC rewrite, as Antrea writes for local Pods) and a ServiceLB
/// flow (ClusterIP:port → group), spread over 10.64.0.0/10 and 10.200.0.0/16.
fn big_flows(base: &str, n: usize) -> String {
    let mut out = String::with_capacity(base.len() + n * 200);
    out.push_str(base);
    for i in 0..n / 2 {
        let (a, b) = ((i >> 8) & 0xff, i & 0xff);
        out.push_str(&format!(
            "table=L3Forwarding, priority=200,ip,reg0=0x200/0x200,nw_dst=10.{}.{a}.{b} actions=set_field:ba:5e:d1:55:aa:c0->eth_src,set_field:02:00:00:{:02x}:{a:02x}:{b:02x}->eth_dst,goto_table:L3DecTTL\n",
            64 + (i >> 16),
            i >> 16
        ));
        out.push_str(&format!(
            "table=ServiceLB, priority=200,tcp,reg4=0x10000/0x70000,nw_dst=10.200.{a}.{b},tp_dst={} actions=set_field:0x200/0x200->reg0,set_field:0x20000/0x70000->reg4,set_field:0xc->reg7,group:10\n",
            80 + (i >> 16)
        ));
    }
    out
}

fn node(flows: &str, fx: &oracle::AntreaFixture) -> SimNode {
    let dump = FlowDump::parse(flows, "bench").expect("flows");
    let groups = parse_groups(&fx.groups, "groups").expect("groups");
    SimNode::new("bench", dump, groups, Some(PortTable::parse(&fx.ports)))
}

fn bench(c: &mut Criterion) {
    let fx = oracle::antrea_fixture();
    let big = big_flows(&fx.flows, 65_000);
    let small_node = node(&fx.flows, &fx);
    let big_node = node(&big, &fx);
    let opts = SimOptions { tunnel_ports: small_node.tunnel_ports(), ..SimOptions::default() };
    let pkt = Packet::parse(PROBE, Some(&small_node.pipeline.ports)).expect("packet");
    // The probe goes to a generated Service on the big pipeline (one of 32 500 ServiceLB flows).
    let big_probe = PROBE.replace("nw_dst=10.105.31.235", "nw_dst=10.200.126.200");
    let big_pkt = Packet::parse(&big_probe, Some(&big_node.pipeline.ports)).expect("packet");
    let t = big_node.pipeline.trace(&big_pkt, &opts);
    assert!(t.steps.len() > 20, "the big-pipeline probe takes the Service path");

    let mut g = c.benchmark_group("trace");
    g.sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    g.bench_function("simulator/antrea-167", |b| {
        b.iter(|| black_box(small_node.pipeline.trace(black_box(&pkt), &opts)))
    });
    g.bench_function("simulator/generated-65k", |b| {
        b.iter(|| black_box(big_node.pipeline.trace(black_box(&big_pkt), &opts)))
    });

    let mut ovs = oracle::antrea_ovs(&fx);
    let ctl = ovs.vswitchd_ctl();
    let appctl = |flow: &str| {
        let out = Command::new("ovs-appctl")
            .args(["-t", ctl.to_str().unwrap_or_default(), "ofproto/trace", "br-int", flow])
            .output()
            .expect("ovs-appctl");
        assert!(out.status.success());
        out.stdout.len()
    };
    g.bench_function("ovs-appctl-ofproto-trace/antrea-167", |b| b.iter(|| black_box(appctl(PROBE))));
    ovs.load("br-int", &big, &fx.groups).expect("load 65k flows");
    g.bench_function("ovs-appctl-ofproto-trace/generated-65k", |b| b.iter(|| black_box(appctl(&big_probe))));
    let _ = ovs.trace("br-int", &big_probe, &[]).expect("trace over unixctl");
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
