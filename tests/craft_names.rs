//! Name resolution for `craft -S/-D` against a kubectl JSON dump and a support bundle's
//! `clusterinfo`, and every bad-input case with its message and exit code 2.

mod support;

use hoptrace::probe::{Probe, Transport};
use support::{fixture, hoptrace, sample};

fn craft_ok(args: &[&str]) -> Probe {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    hoptrace().arg("craft").args(args).args(["--seed", "3", "-q", "-o"]).arg(&out).assert().success();
    Probe::load(&out).unwrap()
}

#[test]
fn kubectl_json_pod_to_pod_and_service() {
    let cluster = sample("cluster/kubectl.json");
    let c = cluster.to_str().unwrap();
    let p = craft_ok(&["-S", "default/client", "-D", "default/web-7d4b9c-x2k8p", "--cluster", c]);
    assert_eq!((p.ip.src.to_string(), p.ip.dst.to_string()), ("10.10.0.5".into(), "10.10.1.7".into()));
    assert_eq!(p.source.as_ref().unwrap().node.as_deref(), Some("k8s-node-1"));
    assert_eq!(p.destination.as_ref().unwrap().kind, hoptrace::probe::EndpointKind::Pod);
    assert!(matches!(p.transport, Transport::Icmp { .. }));

    // A Service: its ClusterIP, and its first port's protocol and port (TCP => SYN).
    let p = craft_ok(&["-S", "client", "-D", "default/web", "--cluster", c]);
    assert_eq!(p.ip.dst.to_string(), "10.96.0.10");
    match p.transport {
        Transport::Tcp { dst_port, flags, .. } => assert_eq!((dst_port, flags), (80, 2)),
        t => panic!("{t:?}"),
    }
    assert_eq!(p.destination.unwrap().kind, hoptrace::probe::EndpointKind::Service);
    let p = craft_ok(&["-S", "default/client", "-D", "kube-system/kube-dns", "--cluster", c]);
    assert!(matches!(p.transport, Transport::Udp { dst_port: 53, .. }), "{:?}", p.transport);
    let p = craft_ok(&["-S", "default/client", "-D", "prod/db", "--cluster", c]);
    assert!(matches!(p.transport, Transport::Sctp { dst_port: 5432, .. }), "{:?}", p.transport);
    // An explicit transport wins over the Service's port.
    let p = craft_ok(&["-S", "default/client", "-D", "default/web", "--cluster", c, "-f", "udp,udp_dst=9999"]);
    assert!(matches!(p.transport, Transport::Udp { dst_port: 9999, .. }));
    // IPv6 of dual-stack Pods and Services.
    let p = craft_ok(&["-S", "default/client", "-D", "default/web", "--cluster", c, "-f", "ipv6,tcp"]);
    assert_eq!((p.ip.src.to_string(), p.ip.dst.to_string()), ("fd00:10:10::5".into(), "fd00:10:96::a".into()));
    // A destination IP.
    let p = craft_ok(&["-S", "default/client", "-D", "8.8.8.8", "--cluster", c]);
    assert_eq!(p.destination.unwrap().kind, hoptrace::probe::EndpointKind::Ip);
}

#[test]
fn clusterinfo_yaml() {
    let cluster = sample("cluster/clusterinfo");
    let p =
        craft_ok(&["-S", "default/client", "-D", "default/web-7d4b9c-x2k8p", "--cluster", cluster.to_str().unwrap()]);
    assert_eq!(p.ip.dst.to_string(), "10.10.1.7");
    assert_eq!(p.destination.unwrap().node.as_deref(), Some("k8s-node-2"));
    let info = hoptrace::bundle::ClusterInfo::load(&cluster).unwrap();
    assert_eq!((info.pods.len(), info.nodes.len(), info.services.len()), (3, 2, 0));
    assert_eq!(info.nodes[1].pod_cidrs, vec!["10.10.1.0/24".to_string()]);
}

/// Runs craft expecting failure; returns stderr.
fn craft_err(args: &[&str]) -> String {
    let out = hoptrace().arg("craft").args(args).args(["-o", "/dev/null"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "args {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message() {
    let c = sample("cluster/kubectl.json");
    let c = c.to_str().unwrap();
    let e = craft_err(&["--src-ip", "10.0.0.300", "--dst-ip", "10.0.0.2"]);
    assert!(e.contains("--src-ip \"10.0.0.300\": malformed IP address"), "{e}");
    let e = craft_err(&["--src-ip", "10.0.0.1", "--dst-ip", "10.0.0.2", "--src-mac", "02:00:00:00:00"]);
    assert!(e.contains("malformed MAC address \"02:00:00:00:00\""), "{e}");
    let e = craft_err(&["--src-ip", "10.0.0.1", "--dst-ip", "fd00::2"]);
    assert!(e.contains("source 10.0.0.1 and destination fd00::2 are of different IP families"), "{e}");
    let e = craft_err(&["--src-ip", "10.0.0.1", "--dst-ip", "10.0.0.2", "--dst-port", "80"]);
    assert!(e.contains("need TCP, UDP or SCTP, but the protocol is icmp"), "{e}");
    let e = craft_err(&["--src-ip", "10.0.0.1", "--dst-ip", "10.0.0.2", "-f", "icmp,tcp_dst=80"]);
    assert!(e.contains("does not fit protocol icmp"), "{e}");
    for tag in ["0", "64", "x"] {
        let e = craft_err(&["--src-ip", "10.0.0.1", "--dst-ip", "10.0.0.2", "--tag", tag]);
        assert!(e.contains("out of range") || e.contains("use `auto` or a number 1..=63"), "{e}");
    }
    // Outside Antrea's pool: allowed, with a warning.
    let ok = hoptrace()
        .args(["craft", "--src-ip", "10.0.0.1", "--dst-ip", "10.0.0.2", "--tag", "8", "-q", "-o", "/dev/null"])
        .output()
        .unwrap();
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stderr).contains("tag 8 is outside Antrea's pool"));

    let e = craft_err(&["-S", "default/clinet", "-D", "default/web", "--cluster", c]);
    assert!(e.contains("source Pod default/clinet not found in"), "{e}");
    assert!(e.contains("nearby: default/client (pod)"), "{e}");
    let e = craft_err(&["-S", "default/client", "-D", "default/wbe", "--cluster", c]);
    assert!(
        e.contains("destination Pod or Service default/wbe not found") && e.contains("default/web (service)"),
        "{e}"
    );
    let e = craft_err(&["-S", "default/client", "-D", "default/web"]);
    assert!(e.contains("needs --cluster FILE"), "{e}");
    let e = craft_err(&["-S", "kube-system/antrea-agent-4xk2p", "-D", "default/web", "--cluster", c]);
    assert!(e.contains("hostNetwork"), "{e}");
    let e = craft_err(&["-S", "default/client", "-D", "default/headless", "--cluster", c]);
    assert!(e.contains("does not have a ClusterIP"), "{e}");
    let e = craft_err(&["-S", "prod/db-0", "-D", "default/client", "--cluster", c, "--ipv6"]);
    assert!(e.contains("prod/db-0 has no IPv6 address (it has: 10.10.1.9)"), "{e}");

    let broken = fixture("clusterinfo-broken");
    let e = craft_err(&["-S", "default/client", "-D", "default/web", "--cluster", broken.to_str().unwrap()]);
    // The broken document is skipped with a warning naming its line; the name it held is unknown.
    assert!(e.contains("clusterinfo-broken: line 11") && e.contains("flow sequence"), "{e}");
    assert!(e.contains("default/web not found"), "{e}");
    let e = craft_err(&["-S", "default/client", "-D", "default/web", "--cluster", "/nonexistent/cluster.json"]);
    assert!(e.contains("/nonexistent/cluster.json: cannot read cluster file"), "{e}");
    let e = craft_err(&["--dst-ip", "10.0.0.2"]);
    assert!(e.contains("no source"), "{e}");
}
