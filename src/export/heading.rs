//! The line that names a probe at the top of the human views (table, tree, CSV comment): its
//! 5-tuple, the endpoints by name and the tag, so a saved output says what was traced.

use crate::probe::{Endpoint, EndpointKind, Probe, Transport};
use std::net::IpAddr;

/// `TCP 10.10.1.5:10004 → 10.96.0.20:80 (default/client → Service default/web-remote), tag 7`.
pub fn probe_heading(probe: &Probe) -> String {
    let (proto, sport, dport) = match &probe.transport {
        Transport::Icmp { id, sequence } => {
            let name = if probe.ip.version == 6 { "ICMPv6" } else { "ICMP" };
            (format!("{name} echo id {id} seq {sequence}"), None, None)
        }
        Transport::Tcp { src_port, dst_port, .. } => ("TCP".to_string(), Some(*src_port), Some(*dst_port)),
        Transport::Udp { src_port, dst_port } => ("UDP".to_string(), Some(*src_port), Some(*dst_port)),
        Transport::Sctp { src_port, dst_port, .. } => ("SCTP".to_string(), Some(*src_port), Some(*dst_port)),
    };
    let end = |ip: IpAddr, port: Option<u16>| match (ip, port) {
        (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
        (a, Some(p)) => format!("{a}:{p}"),
        (a, None) => a.to_string(),
    };
    let named = |e: Option<&Endpoint>, ip: IpAddr| match e {
        Some(Endpoint { kind: EndpointKind::Service, name: Some(n), .. }) => format!("Service {n}"),
        Some(Endpoint { name: Some(n), .. }) => n.clone(),
        _ => ip.to_string(),
    };
    let names = match (&probe.source, &probe.destination) {
        (None, None) => String::new(),
        (s, d) => format!(" ({} → {})", named(s.as_ref(), probe.ip.src), named(d.as_ref(), probe.ip.dst)),
    };
    format!("{proto} {} → {}{names}, tag {}", end(probe.ip.src, sport), end(probe.ip.dst, dport), probe.dataplane_tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_five_tuple_endpoints_and_tag() {
        let json =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/pod-to-service-remote/probe.json"))
                .unwrap();
        let probe = Probe::from_json(&json, "probe.json").unwrap();
        let Transport::Tcp { src_port, .. } = probe.transport else { panic!() };
        assert_eq!(
            probe_heading(&probe),
            format!("TCP 10.10.1.5:{src_port} → 10.96.0.20:80 (default/client → Service default/web-remote), tag 7")
        );
    }
}
