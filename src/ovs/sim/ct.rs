//! The conntrack model. A probe is the first packet of its connection, so by default every
//! `ct(table=T)` recirculates into `T` with `ct_state=+new+trk` (what `ofproto/trace` assumes
//! too); `--ct-state` overrides the state per zone. Connections committed earlier in the same
//! trace are remembered per zone: their original-direction tuple (`ct_nw_src`/`ct_nw_dst`, the
//! pre-DNAT destination), their NAT, `ct_mark` and `ct_label`.

use super::packet::Packet;
use crate::ether::ether_type;
use crate::ovs::error::ParseError;
use crate::ovs::field::Field;
use crate::ovs::{Nat, NatKind};
use std::collections::HashMap;
use std::net::IpAddr;

/// `ct_state` bits.
pub const CT_NEW: u32 = 0x01;
/// `+est`.
pub const CT_EST: u32 = 0x02;
/// `+trk`.
pub const CT_TRK: u32 = 0x20;

/// Conntrack options.
#[derive(Clone, Debug)]
pub struct CtOptions {
    /// `ct_state` after a recirculation, when no per-zone override applies (`+new+trk`).
    pub default_state: u32,
    /// Per-zone overrides.
    pub zone_state: HashMap<u16, u32>,
}

impl Default for CtOptions {
    fn default() -> Self {
        CtOptions { default_state: CT_NEW | CT_TRK, zone_state: HashMap::new() }
    }
}

impl CtOptions {
    /// The state a recirculation in `zone` resumes with.
    pub fn state_for(&self, zone: u16) -> u32 {
        self.zone_state.get(&zone).copied().unwrap_or(self.default_state)
    }

    /// Parses `STATE` (default) or `ZONE:STATE` (e.g. `65520:+est+trk`) and records it.
    pub fn add_override(&mut self, spec: &str) -> Result<(), ParseError> {
        let (zone, state) = match spec.split_once(':') {
            Some((z, s)) => {
                (Some(z.parse::<u16>().map_err(|_| ParseError::value(format!("{spec}: bad zone {z:?}")))?), s)
            }
            None => (None, spec),
        };
        let (v, _) = super::packet::parse_field_value(Field::CtState, state.trim_start_matches('+'))
            .or_else(|_| super::packet::parse_field_value(Field::CtState, state))
            .map_err(|e| e.context(format_args!("--ct-state {spec}")))?;
        let v = v as u32 | CT_TRK;
        match zone {
            Some(z) => {
                self.zone_state.insert(z, v);
            }
            None => self.default_state = v,
        }
        Ok(())
    }
}

/// The original-direction tuple of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuple {
    /// Source address (IPv4 in the low 32 bits, or IPv6).
    pub src: u128,
    /// Destination address.
    pub dst: u128,
    /// IP protocol.
    pub proto: u8,
    /// L4 source port.
    pub tp_src: u16,
    /// L4 destination port.
    pub tp_dst: u16,
    /// IPv6.
    pub v6: bool,
}

impl Tuple {
    /// The tuple of the packet as it is now.
    pub fn of(p: &Packet) -> Tuple {
        let v6 = p.eth_type() == ether_type::IPV6;
        let (s, d) = if v6 { (Field::Ipv6Src, Field::Ipv6Dst) } else { (Field::IpSrc, Field::IpDst) };
        let l4 = matches!(p.ip_proto(), 6 | 17 | 132);
        Tuple {
            src: p.get(s),
            dst: p.get(d),
            proto: p.ip_proto(),
            tp_src: if l4 { p.get(Field::TcpSrc) as u16 } else { 0 },
            tp_dst: if l4 { p.get(Field::TcpDst) as u16 } else { 0 },
            v6,
        }
    }
}

/// A connection committed earlier in the trace.
#[derive(Clone, Debug)]
pub struct Conn {
    /// Original-direction tuple.
    pub orig: Tuple,
    /// NAT applied to the connection.
    pub nat: Option<Nat>,
    /// `ct_mark`.
    pub mark: u128,
    /// `ct_label`.
    pub label: u128,
}

/// Connections per zone for one trace.
#[derive(Clone, Debug, Default)]
pub struct Conntrack {
    /// Zone → connection.
    pub conns: HashMap<u16, Conn>,
}

/// Applies `nat` to `p` (the first address and port of the range, as `ofproto/trace` does).
/// Returns a description, or `None` when the NAT has no range (plain `nat`).
pub fn apply_nat(p: &mut Packet, nat: &Nat) -> Option<String> {
    let kind = nat.kind?;
    let (addr, _) = nat.addrs?;
    let v6 = p.eth_type() == ether_type::IPV6;
    let (fa, fp, what) = match (kind, v6) {
        (NatKind::Dst, false) => (Field::IpDst, Field::TcpDst, "DNAT"),
        (NatKind::Dst, true) => (Field::Ipv6Dst, Field::TcpDst, "DNAT"),
        (NatKind::Src, false) => (Field::IpSrc, Field::TcpSrc, "SNAT"),
        (NatKind::Src, true) => (Field::Ipv6Src, Field::TcpSrc, "SNAT"),
    };
    let a = match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    p.set(fa, a, u128::MAX);
    let mut d = format!("{what} to {addr}");
    if let Some((port, _)) = nat.ports {
        if matches!(p.ip_proto(), 6 | 17 | 132) {
            p.set(fp, u128::from(port), u128::MAX);
            d += &format!(":{port}");
        }
    }
    Some(d)
}

/// Writes the original-direction tuple into the `ct_*` fields of `p`.
pub fn set_ct_tuple(p: &mut Packet, t: &Tuple) {
    if t.v6 {
        p.set(Field::CtIpv6Src, t.src, u128::MAX);
        p.set(Field::CtIpv6Dst, t.dst, u128::MAX);
    } else {
        p.set(Field::CtNwSrc, t.src, u128::MAX);
        p.set(Field::CtNwDst, t.dst, u128::MAX);
    }
    p.set(Field::CtNwProto, u128::from(t.proto), u128::MAX);
    p.set(Field::CtTpSrc, u128::from(t.tp_src), u128::MAX);
    p.set(Field::CtTpDst, u128::from(t.tp_dst), u128::MAX);
}

/// `ct_state` as `ofproto/trace` prints it (`new|trk`).
pub fn state_text(s: u32) -> String {
    let names = [(0x01, "new"), (0x02, "est"), (0x04, "rel"), (0x08, "rpl"), (0x10, "inv"), (0x20, "trk")];
    names.iter().filter(|(b, _)| s & b != 0).map(|(_, n)| *n).collect::<Vec<_>>().join("|")
}
