//! The source Pod's packets grouped into connections the way Linux conntrack would: by
//! 5-tuple (ICMP echo by identifier), a TCP SYN with a new initial sequence number starting a
//! new connection on a tuple (a retransmitted SYN keeps its sequence number), UDP and ICMP
//! ending after [`IDLE_TIMEOUT_NS`] without packets. A TCP connection whose first packet in the
//! captures is not a SYN began before the capture did.

use crate::decode::{IpInfo, TransportInfo};
use std::net::IpAddr;

/// How long a UDP or ICMP "connection" lives without packets (conntrack's unreplied UDP
/// timeout, 30 s).
pub const IDLE_TIMEOUT_NS: i64 = 30_000_000_000;

/// TCP SYN.
const SYN: u8 = 0x02;
/// TCP ACK.
const ACK: u8 = 0x10;

/// A connection's 5-tuple as the source Pod sent its packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tuple {
    /// IP protocol.
    pub protocol: u8,
    /// Source address.
    pub src: IpAddr,
    /// Source port (ICMP echo identifier).
    pub src_port: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port (0 for ICMP).
    pub dst_port: u16,
}

impl Tuple {
    /// The tuple of a packet.
    pub fn of(ip: &IpInfo, t: Option<&TransportInfo>) -> Tuple {
        let (src_port, dst_port) = match t {
            Some(TransportInfo::Icmp { id, .. }) => (id.unwrap_or(0), 0),
            Some(t) => t.ports().unwrap_or((0, 0)),
            None => (0, 0),
        };
        Tuple { protocol: ip.protocol, src: ip.src, src_port, dst: ip.dst, dst_port }
    }

    /// The tuple a reply has: addresses and ports swapped.
    pub fn reversed(&self) -> Tuple {
        Tuple {
            protocol: self.protocol,
            src: self.dst,
            src_port: self.dst_port,
            dst: self.src,
            dst_port: self.src_port,
        }
    }
}

impl std::fmt::Display for Tuple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ep = |ip: IpAddr, port: u16| match ip {
            IpAddr::V6(a) => format!("[{a}]:{port}"),
            a => format!("{a}:{port}"),
        };
        let name = match self.protocol {
            6 => "tcp",
            17 => "udp",
            132 => "sctp",
            1 | 58 => "icmp",
            _ => "ip",
        };
        write!(f, "{name} {} > {}", ep(self.src, self.src_port), ep(self.dst, self.dst_port))
    }
}

/// One packet the source Pod sent, as the grouping needs it.
#[derive(Clone, Copy, Debug)]
pub struct Sent<'a> {
    /// Capture time (ns).
    pub time: i64,
    /// IP header.
    pub ip: &'a IpInfo,
    /// Transport header.
    pub transport: Option<&'a TransportInfo>,
}

/// A connection: its tuple, and which of the given packets belong to it (in time order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The tuple.
    pub tuple: Tuple,
    /// Indexes of its packets in the input.
    pub packets: Vec<usize>,
    /// TCP: the first packet in the captures is not a SYN (the capture began mid-connection).
    pub mid_connection: bool,
    /// TCP: the initial sequence number of its SYN.
    isn: Option<u32>,
    /// Time of its last packet.
    last: i64,
}

fn tcp_flags(t: Option<&TransportInfo>) -> Option<(u8, u32)> {
    match t {
        Some(TransportInfo::Tcp { flags, seq, .. }) => Some((*flags, *seq)),
        _ => None,
    }
}

/// Groups `sent` (in any order) into connections, in order of their first packet.
pub fn group(sent: &[Sent<'_>]) -> Vec<Connection> {
    let mut order: Vec<usize> = (0..sent.len()).collect();
    order.sort_by_key(|&i| (sent[i].time, i));
    let mut out: Vec<Connection> = Vec::new();
    let mut open: std::collections::HashMap<Tuple, usize> = std::collections::HashMap::new();
    for i in order {
        let p = &sent[i];
        let tuple = Tuple::of(p.ip, p.transport);
        let syn = tcp_flags(p.transport).filter(|(f, _)| f & SYN != 0 && f & ACK == 0).map(|(_, seq)| seq);
        let current = open.get(&tuple).copied();
        let starts_new = match (current, syn) {
            (None, _) => true,
            (Some(c), Some(seq)) => out[c].isn != Some(seq),
            (Some(c), None) => tuple.protocol != 6 && p.time - out[c].last > IDLE_TIMEOUT_NS,
        };
        if starts_new {
            let mid_connection = tuple.protocol == 6 && syn.is_none();
            open.insert(tuple, out.len());
            out.push(Connection { tuple, packets: vec![i], mid_connection, isn: syn, last: p.time });
        } else if let Some(c) = current {
            out[c].packets.push(i);
            out[c].last = p.time;
        }
    }
    out
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

    fn tcp(sport: u16, flags: u8, seq: u32) -> TransportInfo {
        TransportInfo::Tcp { src_port: sport, dst_port: 80, seq, ack: 0, flags }
    }

    #[test]
    fn syn_retransmissions_stay_a_new_isn_starts_over() {
        let a = ip("10.0.0.1", "10.0.0.2", 6);
        let t =
            [tcp(1000, SYN, 7), tcp(1000, SYN, 7), tcp(1000, ACK, 8), tcp(1001, ACK | 0x08, 99), tcp(1000, SYN, 500)];
        let sent: Vec<Sent<'_>> = t
            .iter()
            .enumerate()
            .map(|(i, t)| Sent { time: i as i64 * 1_000_000_000, ip: &a, transport: Some(t) })
            .collect();
        let c = group(&sent);
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!(c[0].packets, vec![0, 1, 2]);
        assert!(!c[0].mid_connection);
        assert_eq!((c[1].packets.clone(), c[1].mid_connection), (vec![3], true));
        assert_eq!(c[2].packets, vec![4], "a SYN with a new ISN reopens the tuple");
        assert_eq!(c[0].tuple.to_string(), "tcp 10.0.0.1:1000 > 10.0.0.2:80");
    }

    #[test]
    fn udp_idles_out() {
        let a = ip("10.0.0.1", "10.0.0.2", 17);
        let u = TransportInfo::Udp { src_port: 5000, dst_port: 53, length: 30 };
        let times = [0, 1_000_000_000, 40_000_000_000];
        let sent: Vec<Sent<'_>> = times.iter().map(|&t| Sent { time: t, ip: &a, transport: Some(&u) }).collect();
        let c = group(&sent);
        assert_eq!(c.iter().map(|c| c.packets.len()).collect::<Vec<_>>(), vec![2, 1]);
    }
}
