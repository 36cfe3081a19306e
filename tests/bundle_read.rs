//! A realistic support bundle (built here from the corpus pipeline and written YAML) is read in
//! place: a gzip'd agent tarball for one node, a directory of loose files for another, and the
//! cluster inventory; everything the reconstruction needs comes out typed.

use flate2::write::GzEncoder;
use hoptrace::antrea::{NodeView, PortRole, TableMap};
use hoptrace::bundle::{NodeArtifacts, SupportBundle};
use hoptrace::ovs::group::parse_groups;
use hoptrace::ovs::{Action, FlowDump, TableRef};
use std::net::IpAddr;
use std::path::Path;

mod support;

use support::corpus::flows_text;

/// The v1.15 pipeline as the agent dumps it: cookies, stats, one flow per trimmed line.
fn flows_with_stats() -> String {
    let dump = FlowDump::parse(&flows_text("antrea-ovs-pipeline-v1.15-all-tables.flows"), "c").unwrap();
    let mut out = String::new();
    for (i, mut f) in dump.into_flows().into_iter().enumerate() {
        f.cookie = Some(0x1010000000000 + i as u64);
        f.duration_ms = Some(86_400_123);
        f.n_packets = Some(i as u64 * 3);
        f.n_bytes = Some(i as u64 * 300);
        f.idle_age = Some(5);
        out.push_str(&f.to_string());
        out.push('\n');
    }
    out
}

/// The groups as Antrea dumps them: without `--names`, so resubmit targets are numbers.
fn numeric_groups(tables: &TableMap) -> String {
    let mut groups = parse_groups(&flows_text("antrea-ovs-pipeline-v1.15-groups.txt"), "g").unwrap();
    for g in &mut groups {
        for b in &mut g.buckets {
            for a in &mut b.actions {
                if let Action::Resubmit { table: Some(t @ TableRef::Name(_)), .. } = a {
                    *t = TableRef::Id(tables.resolve(t).unwrap());
                }
            }
        }
    }
    groups.iter().map(|g| format!("{g}\n")).collect()
}

const OVSPORTS: &str = " 1(antrea-tun0): addr:be:8b:5a:aa:10:11
     config:     0
     state:      LIVE
     speed: 0 Mbps now, 0 Mbps max
 2(antrea-gw0): addr:ba:5e:d1:55:aa:c0
     config:     0
     state:      LIVE
 36(client-6-3353ef): addr:5e:b5:e3:a6:90:b7
 37(web-7975-274540): addr:fa:b7:53:74:21:a6
 38(db-755c6-5080e3): addr:36:48:21:a2:9d:b4
 LOCAL(br-int): addr:32:2e:a8:1d:7c:4a
     config:     PORT_DOWN
     state:      LINK_DOWN
";

/// agentinfo as the agent writes it: Go field names lower-cased, nested TypeMeta/ObjectMeta.
fn agentinfo(tables: &TableMap) -> String {
    let mut s = String::from(
        "typemeta:\n  kind: AntreaAgentInfo\nobjectmeta:\n  name: k8s-node-1\nversion: v1.15.0\npodref:\n  name: antrea-agent-x\n  namespace: kube-system\nnoderef:\n  kind: Node\n  name: k8s-node-1\nnodesubnets:\n- 10.10.0.0/24\novsinfo:\n  version: 2.17.7\n  bridgename: br-int\n  flowtable:\n",
    );
    for (_, name) in &tables.tables {
        s.push_str(&format!("    {name}: 3\n"));
    }
    s.push_str("networkinfo:\n  transportinterface: eth0\n  transportinterfacemtu: 1500\nlocalpodnum: 3\n");
    s
}

const POLICIES: &str = "- typemeta: {}
  objectmeta:
    name: 2f0f0d0d-0000-4b0b-9b5b-000000000001
    uid: 2f0f0d0d-0000-4b0b-9b5b-000000000001
  sourceref:
    type: AntreaClusterNetworkPolicy
    name: acnp-deny-db
    uid: 1234
  rules:
  - direction: In
    from:
      addressgroups:
      - ag-client
      ipblocks:
      - cidr:
          ip: CgoAAA==
          prefixlength: 24
    services:
    - protocol: TCP
      port: 3306
    priority: 0
    action: Drop
    name: deny-client
  appliedtogroups:
  - atg-db
";

const ADDRESS_GROUPS: &str = "objectmeta:
  name: ag-client
groupmembers:
- pod:
    name: client
    namespace: default
  ips:
  - CgoAGg==
---
objectmeta:
  name: ag-web
groupmembers:
- pod:
    name: web
    namespace: default
  ips:
  - [10, 10, 0, 24]
";

const APPLIED_TO: &str = "items:
- objectmeta:
    name: atg-db
  groupmembers:
  - pod:
      name: db
      namespace: default
";

const ADDRESS: &str = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default
    link/ether 02:42:c0:a8:4d:66 brd ff:ff:ff:ff:ff:ff link-netnsid 0
    inet 192.168.77.102/24 brd 192.168.77.255 scope global eth0
       valid_lft forever preferred_lft forever
4: antrea-gw0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN group default qlen 1000
    inet 10.10.0.1/24 brd 10.10.0.255 scope global antrea-gw0
";

const ROUTE: &str = "default via 192.168.77.1 dev eth0
10.10.0.0/24 dev antrea-gw0 proto kernel scope link src 10.10.0.1
10.10.1.0/24 via 10.10.1.1 dev antrea-gw0 onlink
";

const CLUSTERINFO: &str = "#pods
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
spec:
  nodeName: k8s-node-1
status:
  podIP: 10.10.0.24
---
#nodes
apiVersion: v1
kind: Node
metadata:
  name: k8s-node-1
spec:
  podCIDR: 10.10.0.0/24
status:
  addresses:
  - type: InternalIP
    address: 192.168.77.102
---
";

fn tar_gz(path: &Path, files: &[(&str, &str)]) {
    let f = std::fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(GzEncoder::new(f, flate2::Compression::fast()));
    for (name, body) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn support_bundle_is_read_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let flows = flows_with_stats();
    let named = FlowDump::parse(&flows, "x").unwrap();
    let tables = TableMap::for_dump(&named, &[]);
    let groups = numeric_groups(&tables);
    assert!(groups.contains("resubmit(,12)"), "{groups}");
    let info = agentinfo(&tables);
    tar_gz(
        &tmp.path().join("agent_k8s-node-1.tar.gz"),
        &[
            ("logs/agent/antrea-agent.INFO", "I0817 06:55:10.804384 1 file.go:270] flows\n"),
            ("flows", &flows),
            ("groups", &groups),
            ("ovsports", OVSPORTS),
            ("agentinfo", &info),
            ("networkpolicies", POLICIES),
            ("addressgroups", ADDRESS_GROUPS),
            ("appliedtogroups", APPLIED_TO),
            ("address", ADDRESS),
            ("route", ROUTE),
            ("memprofile", "binary"),
        ],
    );
    // Node 2: a directory of loose files, only flows (a peer pipeline).
    let n2 = tmp.path().join("k8s-node-2");
    std::fs::create_dir(&n2).unwrap();
    std::fs::write(
        n2.join("flows"),
        "table=L3Forwarding, n_packets=0, n_bytes=0, priority=200,ip,nw_dst=10.10.0.0/24 actions=set_field:192.168.77.102->tun_dst,goto_table:L3DecTTL\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("clusterinfo"), CLUSTERINFO).unwrap();
    std::fs::write(tmp.path().join("controller.tar.gz"), b"not read").unwrap();

    let bundle = SupportBundle::open(tmp.path()).unwrap();
    assert_eq!(bundle.nodes.len(), 2);
    let cluster = bundle.cluster.as_ref().unwrap();
    assert_eq!(cluster.pods[0].ips, vec![ip("10.10.0.24")]);

    let n1 = bundle.node("k8s-node-1").expect("node from agentinfo");
    let dump = n1.flows.as_ref().unwrap();
    assert_eq!(dump.flows.len(), 167);
    assert_eq!(dump.flows[10].n_packets, Some(30));
    assert_eq!(n1.groups.len(), 3);
    let info = n1.agent_info.as_ref().unwrap();
    assert_eq!(info.node_subnets, vec!["10.10.0.0/24".to_string()]);
    assert_eq!(info.flow_tables.len(), 31);
    assert_eq!(info.bridge.as_deref(), Some("br-int"));
    assert_eq!(n1.transport_ips(), vec![ip("192.168.77.102")]);
    assert_eq!(n1.routes.len(), 3);

    // One table numbering for the named flows and the numeric groups, checked against each other.
    let mut tables = TableMap::for_dump(dump, &n1.declared_tables());
    assert!(tables.check_groups(&n1.groups), "{:?}", tables.notes);
    let view = NodeView::build(dump, &n1.groups, n1.ports.as_ref(), &tables);
    assert_eq!(view.tunnel().unwrap().ofport, Some(1));
    assert_eq!(view.gateway().unwrap().ofport, Some(2));
    let web = view.pod_by_ip(ip("10.10.0.24")).unwrap();
    assert_eq!((web.name.as_deref(), web.ofport), (Some("web-7975-274540"), Some(37)));
    assert!(view.ports.iter().any(|p| p.role == PortRole::Bridge && p.name.as_deref() == Some("br-int")));
    assert_eq!(view.peer_for(ip("10.10.1.9")).unwrap().peer, ip("192.168.77.103"));
    let svc = view.service(ip("10.105.31.235"), 80, 6).unwrap();
    assert_eq!(svc.endpoints.len(), 2);

    let np = &n1.network_policies[0];
    assert_eq!(np.source_type.as_deref(), Some("AntreaClusterNetworkPolicy"));
    assert_eq!(np.rules[0].action, Some(hoptrace::bundle::agent::RuleAction::Drop));
    assert_eq!(np.rules[0].peer_groups, vec!["ag-client".to_string()]);
    assert_eq!(np.rules[0].peer_ip_blocks, vec!["10.10.0.0/24".to_string()]);
    let services: Vec<String> = np.rules[0].services.iter().map(ToString::to_string).collect();
    assert_eq!(services, ["TCP/3306"]);
    assert_eq!(n1.address_groups.len(), 2);
    assert_eq!(n1.address_groups[0].members[0].ips, vec![ip("10.10.0.26")]);
    assert_eq!(n1.address_groups[1].members[0].ips, vec![ip("10.10.0.24")]);
    assert_eq!(n1.applied_to_groups[0].members[0].pod.as_deref(), Some("default/db"));

    let n2 = bundle.node("k8s-node-2").expect("directory node");
    let v2 =
        NodeView::build(n2.flows.as_ref().unwrap(), &[], None, &TableMap::for_dump(n2.flows.as_ref().unwrap(), &[]));
    assert_eq!(v2.peer_for(ip("10.10.0.24")).unwrap().peer, ip("192.168.77.102"));
}

#[test]
fn bad_members_are_named_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("agent_bad.tar.gz");
    // A bad flow line costs that line, and is reported with its line.
    tar_gz(&p, &[("flows", "table=0, priority=0 actions=drop\ntable=0, priority=1,reg0=zz actions=drop\n")]);
    let a = NodeArtifacts::open(&p).unwrap();
    assert_eq!(a.flows.as_ref().unwrap().flows.len(), 1);
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert!(
        a.warnings[0].contains("agent_bad.tar.gz:flows:2: zz: invalid value for field reg0; line skipped"),
        "{:?}",
        a.warnings
    );
    // A flows member in which nothing parses is refused, naming its first bad line.
    tar_gz(&p, &[("flows", "user@node:~$ ovs-ofctl dump-flows br-int\ntable=0, priority=1,reg0=zz actions=drop\n")]);
    let msg = NodeArtifacts::open(&p).unwrap_err().to_string();
    assert!(msg.contains("agent_bad.tar.gz:flows:1: not a flow"), "{msg}");
    // A YAML member that does not parse costs that member only, and is reported with its line.
    tar_gz(&p, &[("agentinfo", "a: 1\nb: [\n"), ("route", "default via 10.0.0.1 dev eth0\n")]);
    let a = NodeArtifacts::open(&p).unwrap();
    assert!(a.agent_info.is_none());
    assert_eq!(a.routes.len(), 1);
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert!(a.warnings[0].contains("agent_bad.tar.gz:agentinfo: line 3"), "{:?}", a.warnings);
    std::fs::write(&p, b"\x1f\x8b garbage").unwrap();
    assert!(NodeArtifacts::open(&p).unwrap_err().to_string().contains("agent_bad.tar.gz"));
}
