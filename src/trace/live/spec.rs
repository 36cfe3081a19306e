//! `analyze --match SPEC`: which real packets to follow. SPEC describes the packet as the source
//! Pod sent it, before any NAT, in `ovs-ofctl` / antctl flow syntax
//! (`tcp,nw_src=10.10.1.5,nw_dst=10.96.0.10,tp_dst=80`), exactly like Antrea's live-traffic
//! match: addresses (or prefixes), protocol, ports, ICMP type. Everything else is refused — a
//! live match that silently ignored a field would follow the wrong packets.

use crate::decode::{IpInfo, TransportInfo};
use crate::ether::ip_proto;
use crate::ovs::{Field, Flow, Value};
use crate::probe::resolve::{self, Names, ResolveError};
use std::fmt;
use std::net::IpAddr;

/// An address or prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length (32 / 128 for one address).
    pub len: u8,
}

impl Prefix {
    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        crate::antrea::node::cidr_contains(self.addr, self.len, ip)
    }

    /// The one address this prefix is, if it is a single address.
    pub fn single(&self) -> Option<IpAddr> {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        (self.len == full).then_some(self.addr)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.single() {
            Some(a) => write!(f, "{a}"),
            None => write!(f, "{}/{}", self.addr, self.len),
        }
    }
}

/// The packets to follow, as the source Pod sends them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveMatch {
    /// IPv6 (else IPv4).
    pub ipv6: bool,
    /// IP protocol, when given.
    pub protocol: Option<u8>,
    /// Source address or prefix.
    pub src: Option<Prefix>,
    /// Destination address or prefix (a ClusterIP for a Service, before DNAT).
    pub dst: Option<Prefix>,
    /// Transport source port.
    pub src_port: Option<u16>,
    /// Transport destination port (the Service port, before DNAT).
    pub dst_port: Option<u16>,
    /// ICMP / ICMPv6 type.
    pub icmp_type: Option<u8>,
    /// The SPEC as given.
    pub text: String,
}

/// Why a SPEC cannot be used (exit 2).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Not flow syntax.
    #[error("--match {spec}: {message}")]
    Syntax {
        /// The SPEC.
        spec: String,
        /// What the flow parser said.
        message: String,
    },
    /// A field a live match cannot use.
    #[error("--match {spec}: {field} cannot be matched on real traffic (use addresses, protocol, ports, icmp_type)")]
    Unsupported {
        /// The SPEC.
        spec: String,
        /// The field.
        field: String,
    },
    /// `-S`/`-D` could not be resolved through the cluster inventory.
    #[error("{0}")]
    Name(#[from] ResolveError),
    /// `-S`/`-D` names a side the SPEC already gives.
    #[error("--match {spec}: {flag} and {field} both give the {side}: use one")]
    Twice {
        /// The SPEC.
        spec: String,
        /// `-S/--source` or `-D/--destination`.
        flag: &'static str,
        /// The SPEC's field.
        field: &'static str,
        /// "source" or "destination".
        side: &'static str,
    },
    /// Mixed IPv4 and IPv6.
    #[error("--match {spec}: mixes IPv4 and IPv6 ({detail})")]
    Family {
        /// The SPEC.
        spec: String,
        /// What conflicts.
        detail: String,
    },
}

fn prefix(v: &Value, v6: bool) -> Option<Prefix> {
    let (value, mask) = v.bits()?;
    let len = mask.count_ones() as u8;
    let addr = if v6 { IpAddr::V6(value.into()) } else { IpAddr::V4((value as u32).into()) };
    Some(Prefix { addr, len })
}

impl LiveMatch {
    /// Parses SPEC. Ports need a protocol (`tcp,tp_dst=80`), as in `ovs-ofctl`.
    pub fn parse(spec: &str) -> Result<LiveMatch, SpecError> {
        let text = spec.trim().trim_end_matches(',').to_string();
        let flow = Flow::parse(&format!("{text} actions=drop"))
            .map_err(|e| SpecError::Syntax { spec: text.clone(), message: e.message })?;
        let m = &flow.matches;
        if let Some(o) = m.other.first() {
            return Err(SpecError::Unsupported { spec: text, field: o.clone() });
        }
        let mut out = LiveMatch {
            ipv6: m.eth_type() == Some(crate::ether::ether_type::IPV6),
            protocol: m.ip_proto(),
            src: None,
            dst: None,
            src_port: None,
            dst_port: None,
            icmp_type: None,
            text: text.clone(),
        };
        for fm in &m.fields {
            let family = |want_v6: bool| -> Result<(), SpecError> {
                if want_v6 != out.ipv6 {
                    return Err(SpecError::Family {
                        spec: text.clone(),
                        detail: format!("{} with {}", fm.field, if out.ipv6 { "ipv6" } else { "ip" }),
                    });
                }
                Ok(())
            };
            match fm.field {
                Field::EthType | Field::NwProto => {}
                Field::IpSrc | Field::IpDst => {
                    family(false)?;
                    let p = prefix(&fm.value, false);
                    if fm.field == Field::IpSrc {
                        out.src = p
                    } else {
                        out.dst = p
                    }
                }
                Field::Ipv6Src | Field::Ipv6Dst => {
                    family(true)?;
                    let p = prefix(&fm.value, true);
                    if fm.field == Field::Ipv6Src {
                        out.src = p
                    } else {
                        out.dst = p
                    }
                }
                Field::TcpSrc | Field::UdpSrc | Field::SctpSrc => out.src_port = exact_u16(&fm.value),
                Field::TcpDst | Field::UdpDst | Field::SctpDst => out.dst_port = exact_u16(&fm.value),
                Field::IcmpType | Field::Icmpv6Type => out.icmp_type = fm.value.bits().map(|(v, _)| v as u8),
                other => return Err(SpecError::Unsupported { spec: text, field: other.to_string() }),
            }
        }
        Ok(out)
    }

    /// The SPEC `craft`'s way: `flow` in antctl's flow syntax (`tcp,tcp_dst=80`; default any IP
    /// traffic), narrowed by `-S ns/pod|IP` and `-D ns/pod|ns/svc|IP` resolved through the cluster
    /// inventory `names` (with the file it came from). A Service destination is its ClusterIP,
    /// every port unless `flow` names one: the packets are matched as the Pod sent them, before
    /// DNAT. The resolved SPEC is the match's text.
    pub fn from_endpoints(
        flow: Option<&str>,
        source: Option<&str>,
        destination: Option<&str>,
        names: Option<(&dyn Names, &str)>,
    ) -> Result<LiveMatch, SpecError> {
        let base = LiveMatch::parse(flow.unwrap_or("ip"))?;
        let (src_field, dst_field) = if base.ipv6 { ("ipv6_src", "ipv6_dst") } else { ("nw_src", "nw_dst") };
        let mut text = base.text.clone();
        let sides = [
            (source, "-S/--source", src_field, "source", base.src.is_some()),
            (destination, "-D/--destination", dst_field, "destination", base.dst.is_some()),
        ];
        for (given, flag, field, side, already) in sides {
            let Some(given) = given else { continue };
            if already {
                return Err(SpecError::Twice { spec: base.text, flag, field, side });
            }
            let ip = if side == "source" {
                resolve::source_named(given, names, base.ipv6)?.0
            } else {
                resolve::destination_named(given, names, base.ipv6)?.0
            };
            text.push_str(&format!(",{field}={ip}"));
        }
        LiveMatch::parse(&text)
    }

    /// Whether a packet, as seen on the source Pod's side (before NAT), is one to follow.
    pub fn admits(&self, ip: &IpInfo, transport: Option<&TransportInfo>) -> bool {
        if (ip.version == 6) != self.ipv6 {
            return false;
        }
        if self.protocol.is_some_and(|p| p != ip.protocol) {
            return false;
        }
        if self.src.is_some_and(|p| !p.contains(ip.src)) || self.dst.is_some_and(|p| !p.contains(ip.dst)) {
            return false;
        }
        let ports = transport.and_then(TransportInfo::ports);
        match (self.src_port, self.dst_port, ports) {
            (None, None, _) => {}
            (s, d, Some((ps, pd))) => {
                if s.is_some_and(|s| s != ps) || d.is_some_and(|d| d != pd) {
                    return false;
                }
            }
            (_, _, None) => return false,
        }
        match (self.icmp_type, transport) {
            (Some(t), Some(TransportInfo::Icmp { icmp_type, .. })) => t == *icmp_type,
            (Some(_), _) => false,
            (None, _) => true,
        }
    }

    /// The protocol's name as antctl spells it.
    pub fn protocol_name(&self) -> &'static str {
        match self.protocol {
            Some(ip_proto::TCP) => "tcp",
            Some(ip_proto::UDP) => "udp",
            Some(ip_proto::SCTP) => "sctp",
            Some(ip_proto::ICMP) | Some(ip_proto::ICMPV6) => "icmp",
            _ => "ip",
        }
    }
}

fn exact_u16(v: &Value) -> Option<u16> {
    v.bits().map(|(v, _)| v as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(src: &str, dst: &str, proto: u8) -> IpInfo {
        IpInfo {
            version: 4,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            dscp: 0,
            ecn: 0,
            ttl: 64,
            protocol: proto,
            identification: Some(1),
            flow_label: None,
            length: 60,
            fragment_offset: 0,
            more_fragments: false,
            dont_fragment: false,
        }
    }

    #[test]
    fn antrea_like_live_matches() {
        let m = LiveMatch::parse("tcp,nw_src=10.10.1.5,nw_dst=10.96.0.20,tp_dst=80").unwrap();
        let syn = TransportInfo::Tcp { src_port: 40001, dst_port: 80, seq: 1, ack: 0, flags: 2 };
        assert!(m.admits(&ip("10.10.1.5", "10.96.0.20", 6), Some(&syn)));
        // After DNAT it no longer matches: SPEC is the packet before NAT.
        let dnat = TransportInfo::Tcp { src_port: 40001, dst_port: 8080, seq: 1, ack: 0, flags: 2 };
        assert!(!m.admits(&ip("10.10.1.5", "10.10.2.6", 6), Some(&dnat)));
        assert!(!m.admits(&ip("10.10.1.6", "10.96.0.20", 6), Some(&syn)));
        // Without addresses (triage: every TCP connection in the captures).
        let all = LiveMatch::parse("tcp").unwrap();
        assert!(all.admits(&ip("10.10.1.5", "10.10.2.6", 6), Some(&dnat)));
        assert!(!all.admits(&ip("10.10.1.5", "10.10.2.6", 17), None));
        let wide = LiveMatch::parse("ip,nw_src=10.10.1.0/24").unwrap();
        assert!(wide.admits(&ip("10.10.1.77", "8.8.8.8", 17), None));
        assert_eq!(wide.src.unwrap().to_string(), "10.10.1.0/24");
    }

    #[test]
    fn bad_specs_say_why() {
        for (spec, want) in [
            ("tcp,nw_src=10.0.0.1,ct_state=+new", "cannot be matched on real traffic"),
            ("tp_dst=80,nw_dst=10.0.0.1", "prerequisites"),
            ("ipv6,nw_src=10.0.0.1", "prerequisites"),
            ("tcp,nw_src=10.0.0.1,frobnicate=3", "cannot be matched"),
            ("tcp,nw_src=10.0.0.300", "invalid value"),
        ] {
            let e = LiveMatch::parse(spec).unwrap_err().to_string();
            assert!(e.contains(want), "{spec}: {e}");
        }
    }
}
