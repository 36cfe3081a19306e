//! antrea-traceflow.md §3.5 scenarios simulated on the documented v1.15 pipeline (corpus
//! `antrea-ovs-pipeline-v1.15-all-tables.flows`, its groups, reconstructed ports): the terminal
//! point and the registers Antrea's packet-in would carry (reg1 output port, reg3/reg5/reg6 conj
//! ids, ct_nw_dst after DNAT, tun_dst), and the observations Antrea's rules make from them.
//! The node is 192.168.77.102; client 10.10.0.26 (port 36), web 10.10.0.24 (37), db 10.10.0.25
//! (38), gateway 10.10.0.1 (2), tunnel port 1; remote Pod CIDR 10.10.1.0/24 behind .103.

mod oracle;
mod support;

use hoptrace::antrea::observation::{Action as ObsAction, Component};
use hoptrace::antrea::observe::{observations, NoPolicies, ObservingNode as ObsNode, TerminalState, TrafficMode};
use hoptrace::antrea::simulated::{terminal_state, SimNode};
use hoptrace::ovs::group::parse_groups;
use hoptrace::ovs::sim::multinode::{trace_across, Node, Stop};
use hoptrace::ovs::sim::{Outcome, Packet, SimOptions};
use hoptrace::ovs::{FlowDump, PortTable};
use std::net::IpAddr;

const CLIENT: &str = "in_port=36,dl_src=5e:b5:e3:a6:90:b7,nw_src=10.10.0.26";
const WEB: &str = "in_port=37,dl_src=fa:b7:53:74:21:a6,nw_src=10.10.0.24";
const DB: &str = "in_port=38,dl_src=36:48:21:a2:9d:b4,nw_src=10.10.0.25";
const GW_MAC: &str = "ba:5e:d1:55:aa:c0";

fn node() -> SimNode {
    let fx = oracle::antrea_fixture();
    let dump = FlowDump::parse(&fx.flows, "antrea-v1.15").unwrap();
    let groups = parse_groups(&fx.groups, "groups").unwrap();
    SimNode::new("node-102", dump, groups, Some(PortTable::parse(&fx.ports)))
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

/// Simulates `src` + `rest` (tos 28 = Traceflow tag 7), optionally with select-bucket hints.
fn run(n: &SimNode, src: &str, rest: &str, buckets: &[(u32, usize)]) -> (TerminalState, Outcome, String) {
    let mut opts = SimOptions { tunnel_ports: n.tunnel_ports(), ..SimOptions::default() };
    opts.bucket_hints.extend(buckets.iter().copied());
    let p = Packet::parse(&format!("{src},{rest},nw_tos=28,nw_ttl=64"), Some(&n.pipeline.ports)).unwrap();
    let t = n.pipeline.trace(&p, &opts);
    let text = t.to_text();
    (terminal_state(&t, &n.pipeline).expect("terminal"), t.outcome, text)
}

fn last_observation(t: &TerminalState) -> (Component, Option<String>, ObsAction) {
    let view = ObsNode {
        is_sender: true,
        mode: TrafficMode::Encap,
        tunnel_port: Some(1),
        gateway_port: Some(2),
        gateway_ips: vec!["10.10.0.1".parse().unwrap()],
        ..ObsNode::default()
    };
    let obs = observations(&view, t, &NoPolicies);
    let o = obs.last().expect("observations");
    (o.component, o.component_info.clone(), o.action)
}

#[test]
fn intra_node_pod_to_pod_allowed_by_antrea_policy() {
    let n = node();
    let (t, out, text) =
        run(&n, CLIENT, "tcp,dl_dst=fa:b7:53:74:21:a6,nw_dst=10.10.0.24,tcp_src=10003,tcp_dst=80", &[]);
    assert_eq!(out, Outcome::Forwarded, "{text}");
    assert_eq!((t.table.as_str(), t.reg1, t.reg6, t.reg5), ("Output", 0x25, 6, 0), "{text}");
    assert_eq!(t.ct_nw_dst, ip("10.10.0.24"));
    assert_eq!(t.tun_dst, None);
    assert_eq!(last_observation(&t), (Component::Forwarding, Some("Output".into()), ObsAction::Delivered));
}

#[test]
fn pod_to_service_with_local_endpoint_is_dnatted() {
    let n = node();
    let (t, _, text) =
        run(&n, CLIENT, &format!("tcp,dl_dst={GW_MAC},nw_dst=10.105.31.235,tcp_src=10011,tcp_dst=80"), &[(10, 0)]);
    assert_eq!((t.table.as_str(), t.reg1), ("Output", 0x25), "{text}");
    assert_eq!(t.ct_nw_dst, ip("10.105.31.235"), "original destination = the ClusterIP");
    assert_eq!(t.packet_dst, ip("10.10.0.24"), "DNAT to the endpoint");
    assert_eq!(t.reg6, 6, "ingress allow rule conj 6 after DNAT");
    let view = ObsNode { is_sender: true, tunnel_port: Some(1), gateway_port: Some(2), ..ObsNode::default() };
    let obs = observations(&view, &t, &NoPolicies);
    assert!(obs.iter().any(|o| o.component == Component::LB), "LB observation from ct_nw_dst: {obs:?}");
}

#[test]
fn pod_to_service_with_remote_endpoint_goes_through_the_tunnel() {
    let n = node();
    let (t, _, text) =
        run(&n, CLIENT, &format!("tcp,dl_dst={GW_MAC},nw_dst=10.105.31.235,tcp_src=10011,tcp_dst=80"), &[(10, 1)]);
    assert_eq!((t.table.as_str(), t.reg1), ("Output", 1), "{text}");
    assert_eq!(t.ct_nw_dst, ip("10.105.31.235"));
    assert_eq!(t.packet_dst, ip("10.10.1.6"));
    assert_eq!(t.tun_dst, ip("192.168.77.103"));
    assert_eq!(last_observation(&t), (Component::Forwarding, Some("Output".into()), ObsAction::Forwarded));
}

#[test]
fn inter_node_pod_to_pod_and_on_to_the_peer() {
    let n = node();
    let (t, _, text) = run(&n, CLIENT, &format!("tcp,dl_dst={GW_MAC},nw_dst=10.10.1.5,tcp_src=10009,tcp_dst=80"), &[]);
    assert_eq!((t.table.as_str(), t.reg1, t.tun_dst), ("Output", 1, ip("192.168.77.103")), "{text}");

    // A second node at 192.168.77.103 (same pipeline shape): the trace continues there from its
    // tunnel port with tun_src/tun_dst set and registers reset.
    let peer = Node {
        name: "node-103",
        pipeline: &n.pipeline,
        transport_ips: vec!["192.168.77.103".parse().unwrap()],
        tunnel_ports: vec![1],
    };
    let me = Node {
        name: "node-102",
        pipeline: &n.pipeline,
        transport_ips: vec!["192.168.77.102".parse().unwrap()],
        tunnel_ports: vec![1],
    };
    let p = Packet::parse(
        &format!("{CLIENT},tcp,dl_dst={GW_MAC},nw_dst=10.10.1.5,tcp_src=10009,tcp_dst=80,nw_tos=28,nw_ttl=64"),
        Some(&n.pipeline.ports),
    )
    .unwrap();
    let ct = trace_across(&[me, peer], 0, p, &SimOptions::default(), 4);
    assert_eq!(ct.hops.len(), 2);
    let rx = &ct.hops[1].trace;
    assert_eq!(rx.input.get(hoptrace::ovs::field::Field::InPort), 1, "enters the peer on its tunnel port");
    assert_eq!(rx.input.value_text(hoptrace::ovs::field::Field::TunSrc), "192.168.77.102");
    assert_eq!(rx.input.get(hoptrace::ovs::field::Field::Reg(0)), 0, "registers do not survive the tunnel");
    assert_eq!(rx.steps[1].table_name.as_deref(), Some("Classifier"));
    assert_eq!(rx.steps[1].priority, Some(200), "Classifier's antrea-tun0 flow");
    // Both nodes share one pipeline here, so node-103 routes 10.10.1.0/24 to .103 again, i.e.
    // out of the port it came in on: OVS skips an output to the input port, the path ends there.
    assert_eq!(ct.stop, Stop::Ended);
    assert_eq!(rx.outcome, Outcome::Dropped, "{}", rx.to_text());
    assert!(rx.to_text().contains("skipping output to input port 1"), "{}", rx.to_text());
}

#[test]
fn antrea_native_egress_deny_is_dropped_in_egress_metric_with_conj_id() {
    let n = node();
    let (t, out, text) = run(&n, WEB, &format!("tcp,dl_dst={GW_MAC},nw_dst=10.10.0.26,tcp_src=10000,tcp_dst=80"), &[]);
    assert_eq!(out, Outcome::Dropped, "{text}");
    assert_eq!((t.table.as_str(), t.reg3, t.reg0 & 0x400), ("EgressMetric", 5, 0x400), "{text}");
    let (c, info, a) = last_observation(&t);
    assert_eq!((c, info.as_deref(), a), (Component::NetworkPolicy, Some("EgressMetric"), ObsAction::Dropped));
}

#[test]
fn antrea_native_egress_allow_loads_reg5() {
    let n = node();
    let (t, _, text) = run(&n, WEB, "tcp,dl_dst=36:48:21:a2:9d:b4,nw_dst=10.10.0.25,tcp_src=10000,tcp_dst=3306", &[]);
    assert_eq!(
        (t.table.as_str(), t.reg5, t.reg1),
        ("Output", 7, 0x26),
        "conj 7 (priority 14500) wins over deny conj 5: {text}"
    );
    assert!(text.contains("conjunction 7 complete"), "{text}");
}

#[test]
fn k8s_ingress_isolation_drops_in_ingress_default_rule() {
    let n = node();
    let (t, out, text) = run(&n, DB, "tcp,dl_dst=fa:b7:53:74:21:a6,nw_dst=10.10.0.24,tcp_src=10000,tcp_dst=80", &[]);
    assert_eq!(out, Outcome::Dropped, "{text}");
    assert_eq!((t.table.as_str(), t.reg1, t.reg6), ("IngressDefaultRule", 0x25, 0), "{text}");
    let (c, info, a) = last_observation(&t);
    assert_eq!((c, info.as_deref(), a), (Component::NetworkPolicy, Some("IngressDefaultRule"), ObsAction::Dropped));
}

#[test]
fn pod_to_local_gateway_ip_is_delivered() {
    let n = node();
    let (t, _, text) = run(&n, CLIENT, &format!("icmp,dl_dst={GW_MAC},nw_dst=10.10.0.1,icmp_type=8,icmp_code=0"), &[]);
    assert_eq!((t.table.as_str(), t.reg1), ("Output", 2), "{text}");
    assert_eq!(last_observation(&t), (Component::Forwarding, Some("Output".into()), ObsAction::Delivered));
}

#[test]
fn pod_to_external_with_remote_egress_is_tunnelled_with_remote_snat_mark() {
    let n = node();
    let (t, _, text) = run(&n, CLIENT, &format!("icmp,dl_dst={GW_MAC},nw_dst=1.1.1.1,icmp_type=8,icmp_code=0"), &[]);
    assert_eq!((t.table.as_str(), t.reg1, t.tun_dst), ("Output", 1, ip("192.168.77.113")), "{text}");
    assert_eq!(t.reg0 & (1 << 19), 1 << 19, "RemoteSNATRegMark");
}

#[test]
fn pod_to_external_without_egress_leaves_through_the_gateway() {
    let n = node();
    let (t, _, text) = run(&n, DB, &format!("icmp,dl_dst={GW_MAC},nw_dst=1.1.1.1,icmp_type=8,icmp_code=0"), &[]);
    assert_eq!((t.table.as_str(), t.reg1, t.pkt_mark), ("Output", 2, 0), "{text}");
    assert_eq!(last_observation(&t), (Component::Forwarding, Some("Output".into()), ObsAction::ForwardedOutOfNetwork));
}
