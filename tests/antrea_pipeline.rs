//! From Antrea's documented v1.15 pipeline (167 flows, 31 tables) and its groups, the typed data
//! answers: which port is the tunnel, the gateway, each Pod (MAC, IP, ofport); which peer node
//! owns each remote Pod CIDR; which group a Service uses and its endpoints.

use hoptrace::antrea::{NodeView, PortRole, TableMap, TableMapSource};
use hoptrace::ovs::group::parse_groups;
use hoptrace::ovs::FlowDump;
use std::net::IpAddr;
use support::corpus::flows;

mod support;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn v1_15_pipeline_answers() {
    let dump = FlowDump::load(&flows("antrea-ovs-pipeline-v1.15-all-tables.flows")).unwrap();
    let groups =
        parse_groups(&std::fs::read_to_string(flows("antrea-ovs-pipeline-v1.15-groups.txt")).unwrap(), "g").unwrap();
    let mut tables = TableMap::for_dump(&dump, &[]);
    assert_eq!(tables.source, TableMapSource::Inferred);
    assert_eq!(tables.tables.len(), 31);
    assert_eq!(tables.id("PipelineRootClassifier"), Some(0));
    assert_eq!(tables.name(30), Some("Output"));
    // The groups file here uses names; the numbering still resolves them.
    assert!(tables.check_groups(&groups));

    let node = NodeView::build(&dump, &groups, None, &tables);
    let tun = node.tunnel().expect("tunnel");
    assert_eq!(tun.name.as_deref(), Some("antrea-tun0"));
    assert_eq!(tun.ofport, Some(1));
    let gw = node.gateway().expect("gateway");
    assert_eq!(gw.name.as_deref(), Some("antrea-gw0"));
    assert_eq!(gw.ofport, Some(2));
    assert_eq!(gw.mac.unwrap().to_string(), "ba:5e:d1:55:aa:c0");
    assert_eq!(node.gateway_ips, vec![ip("10.10.0.1")]);

    let mut pods: Vec<(String, String, String, u32)> = node
        .pods()
        .map(|p| (p.name.clone().unwrap(), p.mac.unwrap().to_string(), p.ips[0].to_string(), p.ofport.unwrap()))
        .collect();
    pods.sort();
    assert_eq!(
        pods,
        vec![
            ("client-6-3353ef".into(), "5e:b5:e3:a6:90:b7".into(), "10.10.0.26".into(), 0x24),
            ("db-755c6-5080e3".into(), "36:48:21:a2:9d:b4".into(), "10.10.0.25".into(), 0x26),
            ("web-7975-274540".into(), "fa:b7:53:74:21:a6".into(), "10.10.0.24".into(), 0x25),
        ]
    );
    assert_eq!(node.pod_by_ip(ip("10.10.0.24")).unwrap().name.as_deref(), Some("web-7975-274540"));
    assert!(node.ports.iter().any(|p| p.role == PortRole::TrafficControl));

    assert_eq!(node.local_pod_cidrs, vec![(ip("10.10.0.0"), 24)]);
    assert_eq!(node.remote_pod_cidrs.len(), 1);
    let peer = node.peer_for(ip("10.10.1.6")).expect("peer for remote Pod");
    assert_eq!((peer.network, peer.prefix, peer.peer), (ip("10.10.1.0"), 24, ip("192.168.77.103")));
    assert!(node.peer_for(ip("10.10.0.24")).is_none());

    let svc = node.service(ip("10.105.31.235"), 80, 6).expect("service");
    assert_eq!(svc.group, 10);
    let eps: Vec<(String, u16, bool)> = svc.endpoints.iter().map(|e| (e.ip.to_string(), e.port, e.remote)).collect();
    assert_eq!(eps, vec![("10.10.0.24".into(), 80, false), ("10.10.1.6".into(), 80, true)]);
    // Group 9 has no endpoints (SvcNoEp), group 12 is a NodePort.
    assert!(node.service(ip("10.101.255.29"), 80, 6).unwrap().endpoints.is_empty());
    assert!(node.services.iter().any(|s| s.node_port && s.port == 30004 && s.group == 12 && s.ip.is_none()));
}

#[test]
fn legacy_numeric_pipeline_answers() {
    let dump = FlowDump::load(&flows("antrea-ovs-pipeline-doc-v1.14-numeric-tables.txt")).unwrap();
    // The v1.14 doc contains a typo (conjunction(5,2)): that line costs itself only.
    let text = std::fs::read_to_string(flows("antrea-ovs-pipeline-doc-v1.14-numeric-tables.txt")).unwrap();
    let typo = text.lines().position(|l| l.contains("conjunction(5,2)")).unwrap() + 1;
    assert_eq!(dump.skipped.iter().map(|s| s.error.line).collect::<Vec<_>>(), [typo]);
    assert!(dump.skipped[0].error.message.contains("conjunction"), "{}", dump.skipped[0]);
    let good: String = text.lines().filter(|l| !l.contains("conjunction(5,2)")).map(|l| format!("{l}\n")).collect();
    assert_eq!(FlowDump::parse(&good, "v1.14").unwrap().flows, dump.flows);
    let tables = TableMap::for_dump(&dump, &[]);
    assert_eq!(tables.source, TableMapSource::Legacy);
    let node = NodeView::build(&dump, &[], None, &tables);
    assert_eq!(node.gateway().and_then(|p| p.ofport), Some(2));
    assert_eq!(node.tunnel().and_then(|p| p.ofport), Some(1));
    assert!(node.pods().count() >= 2, "{:?}", node.ports);
}

#[test]
fn pod_identity_from_l2_and_l3_forwarding_alone() {
    let text = "\
table=Classifier, priority=190,in_port=5 actions=set_field:0x3/0xf->reg0,goto_table:SpoofGuard
table=L3Forwarding, priority=200,ip,reg0=0x200/0x200,nw_dst=10.10.0.9 actions=set_field:ba:5e:d1:55:aa:c0->eth_src,set_field:02:00:00:00:00:09->eth_dst,goto_table:L3DecTTL
table=L2ForwardingCalc, priority=200,dl_dst=02:00:00:00:00:09 actions=set_field:0x5->reg1,set_field:0x200000/0x600000->reg0,goto_table:IngressSecurityClassifier
";
    let dump = FlowDump::parse(text, "t").unwrap();
    let node = NodeView::build(&dump, &[], None, &TableMap::for_dump(&dump, &[]));
    let pod = node.pod_by_ip(ip("10.10.0.9")).expect("pod from L3Forwarding");
    assert_eq!(pod.ofport, Some(5));
    assert_eq!(pod.mac.unwrap().to_string(), "02:00:00:00:00:09");
}
