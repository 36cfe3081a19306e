//! A flow's match: an optional protocol shorthand (`tcp`, `arp`, ...) and typed field matches
//! with value/mask, plus unknown-but-well-formed items kept verbatim.

use super::field::{Field, Prereq};
use super::value::{parse_value, write_value, Value};
use crate::ether::{ether_type, ip_proto};
use crate::ovs::error::ParseError;
use serde::Serialize;
use std::fmt;

/// Protocol shorthands `ovs-ofctl` accepts and prints (`ip`, `tcp6`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// IPv4.
    Ip,
    /// IPv6.
    Ipv6,
    /// ICMPv4.
    Icmp,
    /// ICMPv6.
    Icmp6,
    /// TCP over IPv4.
    Tcp,
    /// TCP over IPv6.
    Tcp6,
    /// UDP over IPv4.
    Udp,
    /// UDP over IPv6.
    Udp6,
    /// SCTP over IPv4.
    Sctp,
    /// SCTP over IPv6.
    Sctp6,
    /// ARP.
    Arp,
    /// RARP.
    Rarp,
    /// MPLS unicast.
    Mpls,
    /// MPLS multicast.
    Mplsm,
}

const PROTOS: &[(&str, Proto, u16, Option<u8>)] = &[
    ("ip", Proto::Ip, ether_type::IPV4, None),
    ("ipv6", Proto::Ipv6, ether_type::IPV6, None),
    ("ip6", Proto::Ipv6, ether_type::IPV6, None),
    ("icmp", Proto::Icmp, ether_type::IPV4, Some(ip_proto::ICMP)),
    ("icmp6", Proto::Icmp6, ether_type::IPV6, Some(ip_proto::ICMPV6)),
    ("tcp", Proto::Tcp, ether_type::IPV4, Some(ip_proto::TCP)),
    ("tcp6", Proto::Tcp6, ether_type::IPV6, Some(ip_proto::TCP)),
    ("udp", Proto::Udp, ether_type::IPV4, Some(ip_proto::UDP)),
    ("udp6", Proto::Udp6, ether_type::IPV6, Some(ip_proto::UDP)),
    ("sctp", Proto::Sctp, ether_type::IPV4, Some(ip_proto::SCTP)),
    ("sctp6", Proto::Sctp6, ether_type::IPV6, Some(ip_proto::SCTP)),
    ("arp", Proto::Arp, ether_type::ARP, None),
    ("rarp", Proto::Rarp, ether_type::RARP, None),
    ("mpls", Proto::Mpls, ether_type::MPLS, None),
    ("mplsm", Proto::Mplsm, ether_type::MPLS_MULTICAST, None),
];

impl Proto {
    /// The shorthand for a keyword.
    pub fn from_name(s: &str) -> Option<Proto> {
        PROTOS.iter().find(|p| p.0 == s).map(|p| p.1)
    }

    /// The keyword.
    pub fn name(self) -> &'static str {
        PROTOS.iter().find(|p| p.1 == self).map_or("ip", |p| p.0)
    }

    /// The Ethertype the shorthand implies.
    pub fn eth_type(self) -> u16 {
        PROTOS.iter().find(|p| p.1 == self).map_or(0, |p| p.2)
    }

    /// The IP protocol the shorthand implies, if any.
    pub fn ip_proto(self) -> Option<u8> {
        PROTOS.iter().find(|p| p.1 == self).and_then(|p| p.3)
    }

    /// The same L4 protocol over the other IP version when `v6`.
    fn with_ipv6(self, v6: bool) -> Proto {
        if !v6 {
            return self;
        }
        match self {
            Proto::Ip => Proto::Ipv6,
            Proto::Icmp => Proto::Icmp6,
            Proto::Tcp => Proto::Tcp6,
            Proto::Udp => Proto::Udp6,
            Proto::Sctp => Proto::Sctp6,
            p => p,
        }
    }
}

/// Whether a packet of Ethertype `et` and IP protocol `proto` meets `prereq`.
fn prereq_met(prereq: Prereq, et: Option<u16>, proto: Option<u8>) -> bool {
    let v4 = et == Some(ether_type::IPV4);
    let v6 = et == Some(ether_type::IPV6);
    match prereq {
        Prereq::None | Prereq::CtIpv4 | Prereq::CtIpv6 | Prereq::Vlan => true,
        Prereq::Mpls => matches!(et, Some(ether_type::MPLS | ether_type::MPLS_MULTICAST)),
        Prereq::Ipv4 => v4,
        Prereq::Ipv6 => v6,
        Prereq::Ip => v4 || v6,
        Prereq::Arp => matches!(et, Some(ether_type::ARP | ether_type::RARP)),
        Prereq::Tcp => (v4 || v6) && proto == Some(ip_proto::TCP),
        Prereq::Udp => (v4 || v6) && proto == Some(ip_proto::UDP),
        Prereq::Sctp => (v4 || v6) && proto == Some(132),
        Prereq::Icmp => v4 && proto == Some(1),
        Prereq::Icmpv6 | Prereq::Nd => v6 && proto == Some(58),
    }
}

/// One field match.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldMatch {
    /// The field.
    pub field: Field,
    /// Value and mask (or port).
    pub value: Value,
}

impl Serialize for FieldMatch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FieldMatch", 2)?;
        st.serialize_field("field", &self.field)?;
        st.serialize_field("value", &super::value::value_string(self.field, &self.value))?;
        st.end()
    }
}

/// The match part of a flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Match {
    /// Protocol shorthand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<Proto>,
    /// Field matches in the order written.
    pub fields: Vec<FieldMatch>,
    /// Items not understood but well formed (`key` or `key=value`), kept verbatim.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<String>,
}

impl Match {
    /// The match on `field`, if any.
    pub fn get(&self, field: Field) -> Option<&Value> {
        self.fields.iter().find(|m| m.field == field).map(|m| &m.value)
    }

    /// Exact or masked bits matched on `field`.
    pub fn bits(&self, field: Field) -> Option<(u128, u128)> {
        self.get(field).and_then(Value::bits)
    }

    /// The Ethertype this match requires (shorthand or `dl_type`).
    pub fn eth_type(&self) -> Option<u16> {
        self.proto.map(Proto::eth_type).or_else(|| self.bits(Field::EthType).map(|(v, _)| v as u16))
    }

    /// The IP protocol this match requires (shorthand or `nw_proto`).
    pub fn ip_proto(&self) -> Option<u8> {
        self.proto.and_then(Proto::ip_proto).or_else(|| self.bits(Field::NwProto).map(|(v, _)| v as u8))
    }

    /// Whether the match states `prereq` (OVS refuses a flow whose fields lack their prerequisite).
    pub fn satisfies(&self, prereq: Prereq) -> bool {
        prereq_met(prereq, self.eth_type(), self.ip_proto())
    }

    /// Adds one `key[=value]` item of match text. `key` may carry a bit range (`tp_src[5]`).
    pub(crate) fn push_item(&mut self, key: &str, value: Option<&str>) -> Result<(), ParseError> {
        if value.is_none() {
            if let Some(p) = Proto::from_name(key) {
                let v6 = self.proto.is_some_and(|p| p.eth_type() == ether_type::IPV6);
                self.proto = Some(if p.ip_proto().is_some() { p.with_ipv6(v6) } else { p });
                return Ok(());
            }
        }
        match self.field_item(key, value)? {
            Some(m) => self.add_field(m),
            None => self.add_other(key, value),
        }
        Ok(())
    }

    /// Keeps an item that names no field verbatim.
    pub(crate) fn add_other(&mut self, key: &str, value: Option<&str>) {
        self.other.push(match value {
            Some(v) => format!("{key}={v}"),
            None => key.to_string(),
        });
    }

    /// The field match a `key[=value]` item stands for after the items already pushed; `None`
    /// when `key` names no field (the item is kept verbatim in `other`).
    pub(crate) fn field_item(&self, key: &str, value: Option<&str>) -> Result<Option<FieldMatch>, ParseError> {
        let (name, range) = super::lex::split_byte(key, b'[').map_or((key, None), |(n, r)| (n, Some(r)));
        // An unknown name is unknown whatever follows it (`\x1b[1mtable=1` is markup, not a
        // malformed bit range).
        let Some(field) = self.resolve(name) else { return Ok(None) };
        let range = match range {
            Some(r) => {
                Some(r.strip_suffix(']').ok_or_else(|| ParseError::syntax(format!("{key}: malformed bit range")))?)
            }
            None => None,
        };
        let Some(value) = value else {
            if matches!(field, Field::TunMetadata(_)) {
                return Ok(Some(FieldMatch { field, value: Value::Text(String::new()) }));
            }
            return Err(ParseError::missing(format!("{name}: field requires a value")));
        };
        let value = match range {
            None | Some("") => parse_value(field, value)?,
            Some(r) => {
                let (start, end) = super::action::parse_range(r, field.bits())
                    .ok_or_else(|| ParseError::value(format!("{key}: bad bit range for {}-bit field", field.bits())))?;
                let v = super::value::parse_int(value)
                    .ok_or_else(|| ParseError::value(format!("{value}: invalid value for {key}")))?;
                let n = end - start + 1;
                let m = if n >= 128 { u128::MAX } else { (1u128 << n) - 1 };
                if v & !m != 0 {
                    return Err(ParseError::range(format!("{value}: value too large for {key}")));
                }
                Value::masked(v << start, m << start)
            }
        };
        if !field.info().matchable {
            return Err(ParseError::invalid(format!(
                "{name}: field cannot be matched in OpenFlow (datapath-only field)"
            )));
        }
        Ok(Some(FieldMatch { field, value }))
    }

    /// Adds a field match. A field given twice keeps the later value, as in OVS (merged, so
    /// the match stays canonical); a value-less `tun_metadataN` is kept as given.
    pub(crate) fn add_field(&mut self, m: FieldMatch) {
        let existing = match m.value {
            Value::Text(ref t) if t.is_empty() => None,
            _ => self.fields.iter_mut().find(|e| e.field == m.field),
        };
        match existing {
            Some(e) => e.value = m.value,
            None => self.fields.push(m),
        }
    }

    /// Whether the field a `key` names is the same whatever came before it in the match
    /// (`tp_dst` depends on `udp`/`tcp`, `nw_src` on `arp`, `icmp_type` on IPv6).
    pub(crate) fn context_free(key: &str) -> bool {
        !matches!(
            super::lex::split_byte(key, b'[').map_or(key, |(n, _)| n),
            "tp_src" | "tp_dst" | "icmp_type" | "icmp_code" | "nw_src" | "nw_dst" | "nw_proto"
        )
    }

    /// Resolves a match key, using the shorthand for `tp_*` and for `nw_*` under ARP.
    fn resolve(&self, name: &str) -> Option<Field> {
        let arp = matches!(self.proto, Some(Proto::Arp | Proto::Rarp));
        match name {
            "tp_src" | "tp_dst" => {
                let src = name == "tp_src";
                let proto = self.ip_proto();
                Some(match (proto, src) {
                    (Some(17), true) => Field::UdpSrc,
                    (Some(17), false) => Field::UdpDst,
                    (Some(132), true) => Field::SctpSrc,
                    (Some(132), false) => Field::SctpDst,
                    (_, true) => Field::TcpSrc,
                    (_, false) => Field::TcpDst,
                })
            }
            "icmp_type" if self.eth_type() == Some(ether_type::IPV6) => Some(Field::Icmpv6Type),
            "icmp_code" if self.eth_type() == Some(ether_type::IPV6) => Some(Field::Icmpv6Code),
            "nw_src" if arp => Some(Field::ArpSpa),
            "nw_dst" if arp => Some(Field::ArpTpa),
            "nw_proto" if arp => Some(Field::ArpOp),
            _ => Field::from_name(name),
        }
    }

    /// Checks that every field's prerequisite is stated (as `ovs-ofctl add-flow` does).
    pub fn check_prereqs(&self) -> Result<(), ParseError> {
        if self.fields.is_empty() {
            return Ok(());
        }
        let (et, proto) = (self.eth_type(), self.ip_proto());
        for m in &self.fields {
            if !prereq_met(m.field.prereq(), et, proto) {
                return Err(ParseError::invalid(format!(
                    "{}: prerequisites not met (needs {:?})",
                    m.field,
                    m.field.prereq()
                )));
            }
        }
        Ok(())
    }

    /// Whether nothing is matched.
    pub fn is_empty(&self) -> bool {
        self.proto.is_none() && self.fields.is_empty() && self.other.is_empty()
    }
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            if !std::mem::take(&mut first) {
                f.write_str(",")?;
            }
            Ok(())
        };
        if let Some(p) = self.proto {
            sep(f)?;
            f.write_str(p.name())?;
        }
        for m in &self.fields {
            sep(f)?;
            write!(f, "{}", self.print_name(m.field))?;
            if matches!(m.value, Value::Text(ref t) if t.is_empty()) {
                continue;
            }
            f.write_str("=")?;
            write_value(f, m.field, &m.value)?;
        }
        for o in &self.other {
            sep(f)?;
            f.write_str(o)?;
        }
        Ok(())
    }
}

impl Match {
    /// The name to print for `field` so that it parses back to the same field under this
    /// match's shorthand (`tp_dst` when the protocol makes it unambiguous, `arp_spa` under ARP).
    fn print_name(&self, field: Field) -> super::field::NameBuf {
        let proto = self.ip_proto();
        let l4 = match field {
            Field::TcpSrc | Field::TcpDst => proto.is_none() || proto == Some(ip_proto::TCP),
            Field::UdpSrc | Field::UdpDst => proto == Some(ip_proto::UDP),
            Field::SctpSrc | Field::SctpDst => proto == Some(132),
            _ => false,
        };
        if l4 {
            return field.match_name();
        }
        field.name()
    }
}
