//! The probe's 5-tuple: addresses, protocol and ports as sent, or as expected after a DNAT the
//! inputs predict (a Service endpoint). A packet with the probe's 5-tuple but not its tag is a
//! near miss worth telling the user about when the probe is found nowhere: the probe itself with
//! its tag cleared or rewritten on the way, or the same connection's other packets.

use super::layers::IpInfo;
use super::transport::TransportInfo;
use crate::probe::ProbeEnds;
use std::net::IpAddr;

/// The most 5-tuples one scan compares packets with (the probe's as sent plus the DNAT
/// targets the inputs predict): the prefilter compares every untagged IPv4 packet with each.
pub const MAX_TUPLES: usize = 16;

/// Addresses, protocol and ports of the probe, in the probe's direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowTuple {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol.
    pub protocol: u8,
    /// Source port (TCP, UDP, SCTP); `None` for protocols without ports.
    pub src_port: Option<u16>,
    /// Destination port; `None` for protocols without ports, or when the translated port is
    /// not known (any port then matches).
    pub dst_port: Option<u16>,
}

impl FlowTuple {
    /// The probe's 5-tuple as sent.
    pub fn sent(ends: &ProbeEnds, protocol: u8) -> FlowTuple {
        FlowTuple {
            src: ends.src,
            dst: ends.dst,
            protocol,
            src_port: ends.ports.map(|p| p.0),
            dst_port: ends.ports.map(|p| p.1),
        }
    }

    /// Whether a packet's innermost headers carry this 5-tuple (a port the tuple leaves open
    /// matches any; a packet without ports, e.g. a later fragment, matches only a tuple without
    /// a source port).
    pub fn matches(&self, ip: &IpInfo, transport: Option<&TransportInfo>) -> bool {
        if ip.src != self.src || ip.dst != self.dst || ip.protocol != self.protocol {
            return false;
        }
        match (self.src_port, transport.and_then(TransportInfo::ports)) {
            (None, _) => true,
            (Some(sp), Some((src, dst))) => sp == src && self.dst_port.is_none_or(|dp| dp == dst),
            (Some(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(src: [u8; 4], dst: [u8; 4], protocol: u8) -> IpInfo {
        IpInfo {
            version: 4,
            src: IpAddr::from(src),
            dst: IpAddr::from(dst),
            dscp: 0,
            ecn: 0,
            ttl: 64,
            protocol,
            identification: Some(1),
            flow_label: None,
            length: 40,
            fragment_offset: 0,
            more_fragments: false,
            dont_fragment: false,
        }
    }

    #[test]
    fn ports_decide_when_the_tuple_has_them() {
        let ends = ProbeEnds { src: [10, 0, 0, 1].into(), dst: [10, 0, 0, 2].into(), ports: Some((1000, 80)) };
        let t = FlowTuple::sent(&ends, 6);
        let tcp = |s, d| TransportInfo::Tcp { src_port: s, dst_port: d, seq: 1, ack: 0, flags: 2 };
        assert!(t.matches(&ip([10, 0, 0, 1], [10, 0, 0, 2], 6), Some(&tcp(1000, 80))));
        assert!(!t.matches(&ip([10, 0, 0, 1], [10, 0, 0, 2], 6), Some(&tcp(1001, 80))));
        assert!(!t.matches(&ip([10, 0, 0, 1], [10, 0, 0, 2], 17), Some(&tcp(1000, 80))));
        assert!(
            !t.matches(&ip([10, 0, 0, 2], [10, 0, 0, 1], 6), Some(&tcp(80, 1000))),
            "a reply is not the probe's 5-tuple"
        );
        assert!(!t.matches(&ip([10, 0, 0, 1], [10, 0, 0, 2], 6), None));
        let any_port = FlowTuple { dst_port: None, ..t };
        assert!(any_port.matches(&ip([10, 0, 0, 1], [10, 0, 0, 2], 6), Some(&tcp(1000, 8080))));
        let icmp = FlowTuple::sent(&ProbeEnds { ports: None, ..ends }, 1);
        assert!(icmp.matches(&ip([10, 0, 0, 1], [10, 0, 0, 2], 1), None));
    }
}
