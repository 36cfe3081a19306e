//! The packet as the pipeline sees it: every OpenFlow field the simulator models, held as a
//! `u128` per storage slot (as OVS's `struct flow` stores them: one `tp_src` for TCP, UDP, SCTP
//! and the ICMP type; registers as 32-bit words that `xregN`/`xxregN` view), plus the tunnel and
//! conntrack metadata. Reading and writing go through [`Field`] so that matches, `set_field`,
//! `load` and `move` all use one definition of each field.

use crate::ether::ether_type;
use crate::ovs::error::ParseError;
use crate::ovs::field::Field;
use crate::ovs::value::{hex, parse_value, write_value, PortRef, Value};
use crate::ovs::{Flow, PortTable};
use serde::Serialize;
use std::fmt::Write;

/// Storage slots (one per distinct value OVS keeps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Slot {
    TunId,
    TunSrc,
    TunDst,
    TunIpv6Src,
    TunIpv6Dst,
    TunGbpId,
    TunGbpFlags,
    TunFlags,
    TunTos,
    TunTtl,
    TunErspan,
    Metadata,
    InPort,
    ActsetOutput,
    SkbPriority,
    PktMark,
    CtState,
    CtZone,
    CtMark,
    CtLabel,
    CtNwSrc,
    CtNwDst,
    CtIpv6Src,
    CtIpv6Dst,
    CtNwProto,
    CtTpSrc,
    CtTpDst,
    ConjId,
    DpHash,
    RecircId,
    EthSrc,
    EthDst,
    EthType,
    VlanTci,
    Mpls,
    NwSrc,
    NwDst,
    Ipv6Src,
    Ipv6Dst,
    Ipv6Label,
    NwProto,
    NwTos,
    NwTtl,
    NwFrag,
    ArpSha,
    ArpTha,
    TpSrc,
    TpDst,
    TcpFlags,
    NdTarget,
    NdExtra,
    Count,
}

const N_SLOTS: usize = Slot::Count as usize;
const N_REGS: usize = 32;

/// Which slot a field lives in, and the shift/width of the field inside it when it is a view.
fn slot_of(f: Field) -> Option<(Slot, u32)> {
    use Field as F;
    Some(match f {
        F::TunId => (Slot::TunId, 0),
        F::TunSrc => (Slot::TunSrc, 0),
        F::TunDst => (Slot::TunDst, 0),
        F::TunIpv6Src => (Slot::TunIpv6Src, 0),
        F::TunIpv6Dst => (Slot::TunIpv6Dst, 0),
        F::TunGbpId => (Slot::TunGbpId, 0),
        F::TunGbpFlags => (Slot::TunGbpFlags, 0),
        F::TunFlags => (Slot::TunFlags, 0),
        F::TunTos => (Slot::TunTos, 0),
        F::TunTtl => (Slot::TunTtl, 0),
        F::TunErspanIdx
        | F::TunErspanVer
        | F::TunErspanDir
        | F::TunErspanHwid
        | F::TunGtpuFlags
        | F::TunGtpuMsgtype => (Slot::TunErspan, 0),
        F::Metadata => (Slot::Metadata, 0),
        F::InPort => (Slot::InPort, 0),
        F::ActsetOutput => (Slot::ActsetOutput, 0),
        F::SkbPriority => (Slot::SkbPriority, 0),
        F::PktMark => (Slot::PktMark, 0),
        F::CtState => (Slot::CtState, 0),
        F::CtZone => (Slot::CtZone, 0),
        F::CtMark => (Slot::CtMark, 0),
        F::CtLabel => (Slot::CtLabel, 0),
        F::CtNwSrc => (Slot::CtNwSrc, 0),
        F::CtNwDst => (Slot::CtNwDst, 0),
        F::CtIpv6Src => (Slot::CtIpv6Src, 0),
        F::CtIpv6Dst => (Slot::CtIpv6Dst, 0),
        F::CtNwProto => (Slot::CtNwProto, 0),
        F::CtTpSrc => (Slot::CtTpSrc, 0),
        F::CtTpDst => (Slot::CtTpDst, 0),
        F::ConjId => (Slot::ConjId, 0),
        F::DpHash => (Slot::DpHash, 0),
        F::RecircId => (Slot::RecircId, 0),
        F::EthSrc => (Slot::EthSrc, 0),
        F::EthDst => (Slot::EthDst, 0),
        F::EthType => (Slot::EthType, 0),
        F::VlanTci => (Slot::VlanTci, 0),
        F::MplsLabel | F::MplsTc | F::MplsBos | F::MplsTtl => (Slot::Mpls, 0),
        F::IpSrc | F::ArpSpa => (Slot::NwSrc, 0),
        F::IpDst | F::ArpTpa => (Slot::NwDst, 0),
        F::Ipv6Src => (Slot::Ipv6Src, 0),
        F::Ipv6Dst => (Slot::Ipv6Dst, 0),
        F::Ipv6Label => (Slot::Ipv6Label, 0),
        F::NwProto | F::ArpOp => (Slot::NwProto, 0),
        F::NwTtl => (Slot::NwTtl, 0),
        F::NwFrag => (Slot::NwFrag, 0),
        F::ArpSha | F::NdSll => (Slot::ArpSha, 0),
        F::ArpTha | F::NdTll => (Slot::ArpTha, 0),
        F::TcpSrc | F::UdpSrc | F::SctpSrc | F::IcmpType | F::Icmpv6Type => (Slot::TpSrc, 0),
        F::TcpDst | F::UdpDst | F::SctpDst | F::IcmpCode | F::Icmpv6Code => (Slot::TpDst, 0),
        F::TcpFlags => (Slot::TcpFlags, 0),
        F::NdTarget => (Slot::NdTarget, 0),
        F::NdReserved | F::NdOptionsType => (Slot::NdExtra, 0),
        // Views handled in get/set: registers, TOS/DSCP/ECN, VLAN parts.
        F::Reg(_) | F::Xreg(_) | F::Xxreg(_) | F::NwTos | F::IpDscp | F::NwEcn => return None,
        F::DlVlan | F::DlVlanPcp | F::VlanVid | F::VlanPcp | F::TunMetadata(_) => return None,
    })
}

/// The packet and its pipeline metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    slots: [u128; N_SLOTS],
    regs: [u32; N_REGS],
    /// The frame's length in bytes from the Ethernet header on, when known (what
    /// `check_pkt_larger` compares).
    len: Option<u32>,
}

impl Default for Packet {
    fn default() -> Self {
        Packet { slots: [0; N_SLOTS], regs: [0; N_REGS], len: None }
    }
}

impl Packet {
    /// The frame's length in bytes (Ethernet header included), when known.
    pub fn frame_len(&self) -> Option<u32> {
        self.len
    }

    /// Sets the frame's length in bytes (Ethernet header included).
    pub fn set_frame_len(&mut self, len: Option<u32>) {
        self.len = len;
    }

    /// The value of `field` (0 when unset; fields not modelled read as 0).
    pub fn get(&self, field: Field) -> u128 {
        match field {
            Field::Reg(n) => self.regs.get(n as usize).map_or(0, |r| u128::from(*r)),
            Field::Xreg(n) => {
                let i = 2 * n as usize;
                (self.reg(i) << 32) | self.reg(i + 1)
            }
            Field::Xxreg(n) => {
                let i = 4 * n as usize;
                (self.reg(i) << 96) | (self.reg(i + 1) << 64) | (self.reg(i + 2) << 32) | self.reg(i + 3)
            }
            Field::NwTos => self.slots[Slot::NwTos as usize] & 0xfc,
            Field::IpDscp => self.slots[Slot::NwTos as usize] >> 2,
            Field::NwEcn => self.slots[Slot::NwTos as usize] & 0x3,
            Field::VlanVid => self.slots[Slot::VlanTci as usize] & 0x1fff,
            Field::DlVlan => self.slots[Slot::VlanTci as usize] & 0xfff,
            Field::VlanPcp | Field::DlVlanPcp => (self.slots[Slot::VlanTci as usize] >> 13) & 0x7,
            Field::TunMetadata(_) => 0,
            f => slot_of(f).map_or(0, |(s, _)| self.slots[s as usize] & f.full_mask()),
        }
    }

    fn reg(&self, i: usize) -> u128 {
        self.regs.get(i).map_or(0, |r| u128::from(*r))
    }

    /// Sets the bits of `field` selected by `mask` to `value` (both right-aligned to the field).
    pub fn set(&mut self, field: Field, value: u128, mask: u128) {
        let mask = mask & field.full_mask();
        let new = (self.get(field) & !mask) | (value & mask);
        match field {
            Field::Reg(n) => {
                if let Some(r) = self.regs.get_mut(n as usize) {
                    *r = new as u32;
                }
            }
            Field::Xreg(n) => {
                let i = 2 * n as usize;
                self.set_reg(i, (new >> 32) as u32);
                self.set_reg(i + 1, new as u32);
            }
            Field::Xxreg(n) => {
                let i = 4 * n as usize;
                for k in 0..4 {
                    self.set_reg(i + k, (new >> (96 - 32 * k)) as u32);
                }
            }
            Field::NwTos => {
                let s = &mut self.slots[Slot::NwTos as usize];
                *s = (*s & 0x3) | (new & 0xfc);
            }
            Field::IpDscp => {
                let s = &mut self.slots[Slot::NwTos as usize];
                *s = (*s & 0x3) | ((new & 0x3f) << 2);
            }
            Field::NwEcn => {
                let s = &mut self.slots[Slot::NwTos as usize];
                *s = (*s & 0xfc) | (new & 0x3);
            }
            Field::VlanVid => {
                let s = &mut self.slots[Slot::VlanTci as usize];
                *s = (*s & !0x1fff) | (new & 0x1fff);
            }
            Field::DlVlan => {
                // OpenFlow 1.0 mod_vlan_vid also marks the packet tagged.
                let s = &mut self.slots[Slot::VlanTci as usize];
                *s = (*s & !0xfff) | (new & 0xfff) | 0x1000;
            }
            Field::VlanPcp | Field::DlVlanPcp => {
                let s = &mut self.slots[Slot::VlanTci as usize];
                *s = (*s & !0xe000) | ((new & 0x7) << 13) | 0x1000;
            }
            Field::TunMetadata(_) => {}
            f => {
                if let Some((s, _)) = slot_of(f) {
                    self.slots[s as usize] = new;
                }
            }
        }
    }

    fn set_reg(&mut self, i: usize, v: u32) {
        if let Some(r) = self.regs.get_mut(i) {
            *r = v;
        }
    }

    /// Whether the packet is IPv4 / IPv6 / ARP, by Ethertype.
    pub fn eth_type(&self) -> u16 {
        self.get(Field::EthType) as u16
    }

    /// IP protocol (0 when not IP).
    pub fn ip_proto(&self) -> u8 {
        if matches!(self.eth_type(), ether_type::IPV4 | ether_type::IPV6) {
            self.get(Field::NwProto) as u8
        } else {
            0
        }
    }

    /// Whether the packet meets a match field's prerequisite (so `tcp_dst` never matches UDP).
    pub fn meets(&self, prereq: crate::ovs::field::Prereq) -> bool {
        use crate::ovs::field::Prereq as P;
        let et = self.eth_type();
        let (v4, v6) = (et == ether_type::IPV4, et == ether_type::IPV6);
        let proto = self.ip_proto();
        match prereq {
            P::None | P::Vlan => true,
            P::Mpls => matches!(et, ether_type::MPLS | ether_type::MPLS_MULTICAST),
            P::Ipv4 | P::CtIpv4 => v4,
            P::Ipv6 | P::CtIpv6 => v6,
            P::Ip => v4 || v6,
            P::Arp => matches!(et, ether_type::ARP | ether_type::RARP),
            P::Tcp => (v4 || v6) && proto == 6,
            P::Udp => (v4 || v6) && proto == 17,
            P::Sctp => (v4 || v6) && proto == 132,
            P::Icmp => v4 && proto == 1,
            P::Icmpv6 => v6 && proto == 58,
            P::Nd => v6 && proto == 58 && matches!(self.get(Field::TcpSrc), 135 | 136),
        }
    }

    /// Clears the conntrack fields (what `ct` does to the packet that continues after it).
    pub fn clear_conntrack(&mut self) {
        for s in [
            Slot::CtState,
            Slot::CtZone,
            Slot::CtMark,
            Slot::CtLabel,
            Slot::CtNwSrc,
            Slot::CtNwDst,
            Slot::CtIpv6Src,
            Slot::CtIpv6Dst,
            Slot::CtNwProto,
            Slot::CtTpSrc,
            Slot::CtTpDst,
        ] {
            self.slots[s as usize] = 0;
        }
    }

    /// Resets what does not survive leaving a node through a tunnel: registers, metadata,
    /// conntrack, marks, and the tunnel fields (the receiver sets them from the outer header).
    pub fn reset_for_tunnel(&mut self) {
        self.regs = [0; N_REGS];
        self.clear_conntrack();
        for s in [
            Slot::Metadata,
            Slot::PktMark,
            Slot::SkbPriority,
            Slot::ActsetOutput,
            Slot::ConjId,
            Slot::DpHash,
            Slot::RecircId,
            Slot::TunSrc,
            Slot::TunDst,
            Slot::TunIpv6Src,
            Slot::TunIpv6Dst,
            Slot::TunFlags,
            Slot::TunTos,
            Slot::TunTtl,
        ] {
            self.slots[s as usize] = 0;
        }
    }

    /// Builds a packet from `ovs-ofctl` flow syntax (`in_port=..,tcp,nw_src=..,tp_dst=80`), with
    /// port names resolved through `ports`. Fields not given are 0, as in `ofproto/trace`.
    pub fn parse(spec: &str, ports: Option<&PortTable>) -> Result<Packet, ParseError> {
        let spec = spec.trim().trim_end_matches(',');
        let flow = Flow::parse(&format!("{spec} actions=drop")).map_err(|e| e.context(format_args!("{spec:?}")))?;
        let mut p = Packet::default();
        if let Some(et) = flow.matches.eth_type() {
            p.set(Field::EthType, u128::from(et), u128::MAX);
        }
        if let Some(proto) = flow.matches.ip_proto() {
            p.set(Field::NwProto, u128::from(proto), u128::MAX);
        }
        for m in &flow.matches.fields {
            match &m.value {
                Value::Bits { value, mask } => {
                    let (value, mask) = (value.get(), mask.get());
                    if mask != m.field.full_mask() && m.field != Field::NwFrag {
                        return Err(ParseError::invalid(format!(
                            "{spec:?}: {} has a mask; a packet needs exact values",
                            m.field
                        )));
                    }
                    p.set(m.field, value, mask);
                }
                Value::Port(port) => {
                    let n = match port {
                        PortRef::Name(name) => ports.and_then(|t| t.number_of(port)).ok_or_else(|| {
                            ParseError::missing(format!("{spec:?}: port {name:?} is not in the port table"))
                        })?,
                        other => other.number().unwrap_or(0),
                    };
                    p.set(m.field, u128::from(n), u128::MAX);
                }
                Value::Text(_) => return Err(ParseError::invalid(format!("{spec:?}: {} is not modelled", m.field))),
            }
        }
        if let Some(o) = flow.matches.other.first() {
            return Err(ParseError::unknown_field(format!("{spec:?}: unknown field {o:?}")));
        }
        Ok(p)
    }

    /// The non-zero fields in `ofproto/trace`'s order and syntax (`reg0=0x3,tun_dst=..,in_port=2,
    /// ..,tcp,..`): what the "Final flow" line would show, restricted to the modelled fields.
    pub fn fields(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |f: Field, v: u128, always: bool| {
            if v != 0 || always {
                if f == Field::CtState {
                    out.push(("ct_state".into(), super::ct::state_text(v as u32)));
                    return;
                }
                let mut s = String::new();
                let _ = write_value(&mut s, f, &Value::masked(v, f.full_mask()));
                out.push((f.match_name().to_string(), s));
            }
        };
        for (i, r) in self.regs.iter().enumerate() {
            push(Field::Reg(i as u8), u128::from(*r), false);
        }
        for f in [
            Field::TunId,
            Field::TunSrc,
            Field::TunDst,
            Field::Metadata,
            Field::PktMark,
            Field::CtState,
            Field::CtZone,
            Field::CtMark,
            Field::CtLabel,
            Field::CtNwSrc,
            Field::CtNwDst,
            Field::CtNwProto,
            Field::CtTpSrc,
            Field::CtTpDst,
            Field::DpHash,
        ] {
            push(f, self.get(f), false);
        }
        push(Field::InPort, self.get(Field::InPort), true);
        push(Field::VlanTci, self.get(Field::VlanTci), false);
        push(Field::EthSrc, self.get(Field::EthSrc), true);
        push(Field::EthDst, self.get(Field::EthDst), true);
        push(Field::EthType, self.get(Field::EthType), true);
        match self.eth_type() {
            ether_type::IPV4 => {
                for f in [Field::IpSrc, Field::IpDst, Field::NwProto, Field::NwTos, Field::NwEcn, Field::NwTtl] {
                    push(f, self.get(f), true);
                }
            }
            ether_type::IPV6 => {
                for f in [Field::Ipv6Src, Field::Ipv6Dst, Field::NwProto, Field::NwTos, Field::NwEcn, Field::NwTtl] {
                    push(f, self.get(f), true);
                }
            }
            ether_type::ARP | ether_type::RARP => {
                for f in [Field::ArpOp, Field::ArpSpa, Field::ArpTpa, Field::ArpSha, Field::ArpTha] {
                    push(f, self.get(f), true);
                }
            }
            _ => {}
        }
        match self.ip_proto() {
            6 | 17 | 132 => {
                push(Field::TcpSrc, self.get(Field::TcpSrc), true);
                push(Field::TcpDst, self.get(Field::TcpDst), true);
            }
            1 | 58 => {
                let (t, c) = if self.eth_type() == ether_type::IPV4 {
                    (Field::IcmpType, Field::IcmpCode)
                } else {
                    (Field::Icmpv6Type, Field::Icmpv6Code)
                };
                push(t, self.get(t), true);
                push(c, self.get(c), true);
            }
            _ => {}
        }
        out
    }

    /// [`Packet::fields`] joined as flow text.
    pub fn flow_text(&self) -> String {
        let mut s = String::new();
        for (i, (k, v)) in self.fields().iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{k}={v}");
        }
        s
    }

    /// The value of `field` as flow text writes it.
    pub fn value_text(&self, field: Field) -> String {
        let mut s = String::new();
        let v = self.get(field);
        if write_value(&mut s, field, &Value::masked(v, field.full_mask())).is_err() {
            return hex(v);
        }
        s
    }
}

impl Serialize for Packet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let fields = self.fields();
        let mut m = s.serialize_map(Some(fields.len()))?;
        for (k, v) in &fields {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Parses a value for `field` as flow text writes it (for `--ct-state` and tests).
pub fn parse_field_value(field: Field, text: &str) -> Result<(u128, u128), ParseError> {
    match parse_value(field, text)? {
        Value::Bits { value, mask } => Ok((value.get(), mask.get())),
        _ => Err(ParseError::value(format!("{text}: not a bit value for {field}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_views_and_tos_views_agree() {
        let mut p = Packet::default();
        p.set(Field::Xreg(0), 0x1111_2222_3333_4444, u128::MAX);
        assert_eq!(p.get(Field::Reg(0)), 0x1111_2222);
        assert_eq!(p.get(Field::Reg(1)), 0x3333_4444);
        p.set(Field::Reg(1), 0x5, 0xf);
        assert_eq!(p.get(Field::Xreg(0)), 0x1111_2222_3333_4445);
        p.set(Field::Xxreg(3), 0xabc, u128::MAX);
        assert_eq!(p.get(Field::Reg(15)), 0xabc);
        p.set(Field::NwTos, 28, u128::MAX);
        assert_eq!(p.get(Field::IpDscp), 7);
        p.set(Field::NwEcn, 1, u128::MAX);
        assert_eq!(p.get(Field::NwTos), 28);
        assert_eq!(p.get(Field::NwEcn), 1);
    }

    #[test]
    fn parses_flow_syntax() {
        let p = Packet::parse("in_port=3,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tcp_dst=80,nw_tos=28", None).unwrap();
        assert_eq!(p.get(Field::EthType), u128::from(ether_type::IPV4));
        assert_eq!(p.get(Field::NwProto), 6);
        assert_eq!(p.get(Field::TcpDst), 80);
        assert_eq!(p.get(Field::UdpDst), 80, "one tp_dst slot as in OVS");
        assert!(p.meets(crate::ovs::field::Prereq::Tcp));
        assert!(!p.meets(crate::ovs::field::Prereq::Udp));
        assert!(p.flow_text().contains("nw_dst=10.0.0.2"));
        assert!(Packet::parse("in_port=3,ip,nw_src=10.0.0.0/8", None).is_err());
    }

    proptest::proptest! {
        /// Writing bits under a mask changes exactly those bits of the field (and of the views
        /// sharing its storage, consistently).
        #[test]
        fn masked_writes_touch_only_masked_bits(n in 0u8..16, v in proptest::num::u128::ANY, m in proptest::num::u128::ANY, init in proptest::num::u128::ANY) {
            for f in [Field::Reg(n), Field::Xreg(n % 16), Field::Xxreg(n % 8), Field::CtLabel, Field::TunDst, Field::EthSrc, Field::NwTos, Field::PktMark] {
                let mut p = Packet::default();
                p.set(f, init, u128::MAX);
                let before = p.get(f);
                p.set(f, v, m);
                let full = f.full_mask();
                let expect = ((before & !m) | (v & m)) & full;
                let expect = if f == Field::NwTos { expect & 0xfc } else { expect };
                proptest::prop_assert_eq!(p.get(f), expect, "{}", f);
            }
        }
    }
}
