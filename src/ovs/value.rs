//! Field values as flow text writes them (`0x3/0xf`, `10.0.0.0/24`, `+new+trk`, `"antrea-gw0"`)
//! and the typed forms they become: a value/mask pair of up to 128 bits, a port reference, or
//! verbatim text for the rare fields wider than 128 bits.

use super::field::{Field, Format, CT_STATE_FLAGS, TCP_FLAGS, TUN_FLAGS};
use crate::addr::MacAddr;
use crate::ovs::error::ParseError;
use serde::{Serialize, Serializer};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An OpenFlow port: a number, a reserved port, or a name (`dump-flows --names`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PortRef {
    /// A port number.
    Number(u32),
    /// `LOCAL`: the bridge's internal port.
    Local,
    /// `IN_PORT`: the packet's ingress port.
    InPort,
    /// `NORMAL`: L2/L3 switching.
    Normal,
    /// `FLOOD`.
    Flood,
    /// `ALL`.
    All,
    /// `CONTROLLER`.
    Controller,
    /// `NONE` / `ANY`.
    None,
    /// `TABLE` (packet-out only).
    Table,
    /// A port name, printed quoted.
    Name(String),
}

impl PortRef {
    /// Parses a port as `ovs-ofctl` accepts it: number, reserved name (any case), quoted or bare name.
    pub fn parse(s: &str) -> Result<PortRef, ParseError> {
        if s.is_empty() {
            return Err(ParseError::missing("empty port"));
        }
        if let Some(inner) = s.strip_prefix('"') {
            let inner = inner
                .strip_suffix('"')
                .ok_or_else(|| ParseError::syntax(format!("{s}: unterminated quoted port name")))?;
            return Ok(PortRef::Name(unescape(inner)));
        }
        if s.as_bytes()[0].is_ascii_digit() {
            return parse_int(s)
                .and_then(|v| u32::try_from(v).ok())
                .map(PortRef::Number)
                .ok_or_else(|| ParseError::value(format!("{s}: invalid port number")));
        }
        Ok(match s.to_ascii_uppercase().as_str() {
            "LOCAL" => PortRef::Local,
            "IN_PORT" => PortRef::InPort,
            "NORMAL" => PortRef::Normal,
            "FLOOD" => PortRef::Flood,
            "ALL" => PortRef::All,
            "CONTROLLER" => PortRef::Controller,
            "NONE" | "ANY" => PortRef::None,
            "TABLE" => PortRef::Table,
            _ => PortRef::Name(s.to_string()),
        })
    }

    /// The reserved ports' OpenFlow numbers (OpenFlow 1.0 16-bit space, as OVS prints them).
    pub fn number(&self) -> Option<u32> {
        Some(match self {
            PortRef::Number(n) => *n,
            PortRef::InPort => reserved_port::IN_PORT,
            PortRef::Table => reserved_port::TABLE,
            PortRef::Normal => reserved_port::NORMAL,
            PortRef::Flood => reserved_port::FLOOD,
            PortRef::All => reserved_port::ALL,
            PortRef::Controller => reserved_port::CONTROLLER,
            PortRef::Local => reserved_port::LOCAL,
            PortRef::None => reserved_port::NONE,
            PortRef::Name(_) => return None,
        })
    }
}

/// OpenFlow's reserved port numbers (OpenFlow 1.0's 16-bit space, as `ovs-ofctl` prints them).
pub mod reserved_port {
    /// The packet's input port.
    pub const IN_PORT: u32 = 0xfff8;
    /// Submit to the flow tables (packet-out only).
    pub const TABLE: u32 = 0xfff9;
    /// L2/L3 switching.
    pub const NORMAL: u32 = 0xfffa;
    /// All ports but the input port and those with flooding disabled.
    pub const FLOOD: u32 = 0xfffb;
    /// All ports but the input port.
    pub const ALL: u32 = 0xfffc;
    /// The controller.
    pub const CONTROLLER: u32 = 0xfffd;
    /// The bridge's local port.
    pub const LOCAL: u32 = 0xfffe;
    /// No port.
    pub const NONE: u32 = 0xffff;
}

fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(n) = it.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for PortRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Local => f.write_str("LOCAL"),
            PortRef::InPort => f.write_str("IN_PORT"),
            PortRef::Normal => f.write_str("NORMAL"),
            PortRef::Flood => f.write_str("FLOOD"),
            PortRef::All => f.write_str("ALL"),
            PortRef::Controller => f.write_str("CONTROLLER"),
            PortRef::None => f.write_str("ANY"),
            PortRef::Table => f.write_str("TABLE"),
            PortRef::Name(n) => {
                f.write_str("\"")?;
                for c in n.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
        }
    }
}

impl Serialize for PortRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PortRef::Number(n) => s.serialize_u32(*n),
            PortRef::Name(n) => s.serialize_str(n),
            other => s.collect_str(other),
        }
    }
}

/// A 128-bit number kept as two 64-bit halves, so that it needs only 8-byte alignment: a bare
/// `u128` is 16-aligned, which pads every parsed match and action from 48 to 64 bytes (a
/// 100 k-flow dump holds about a million of them).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Wide([u64; 2]);

impl Wide {
    /// `v`, stored.
    #[inline]
    pub const fn new(v: u128) -> Wide {
        Wide([v as u64, (v >> 64) as u64])
    }

    /// The number.
    #[inline]
    pub const fn get(self) -> u128 {
        (self.0[1] as u128) << 64 | self.0[0] as u128
    }
}

impl From<u128> for Wide {
    fn from(v: u128) -> Wide {
        Wide::new(v)
    }
}

impl fmt::Debug for Wide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.get())
    }
}

/// A typed field value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// Value and mask (mask = the field's full mask for an exact match); `value & !mask == 0`.
    Bits {
        /// The value.
        value: Wide,
        /// The mask.
        mask: Wide,
    },
    /// A port (for `in_port`, `actset_output`).
    Port(PortRef),
    /// Text kept as written (Geneve `tun_metadataN` values).
    Text(String),
}

impl Value {
    /// An exact value of `field`.
    pub fn exact(field: Field, value: u128) -> Value {
        Value::masked(value, field.full_mask())
    }

    /// `value` under `mask` (bits of `value` outside the mask are dropped).
    pub fn masked(value: u128, mask: u128) -> Value {
        Value::Bits { value: Wide::new(value & mask), mask: Wide::new(mask) }
    }

    /// The value/mask pair, if this is a bit value.
    pub fn bits(&self) -> Option<(u128, u128)> {
        match self {
            Value::Bits { value, mask } => Some((value.get(), mask.get())),
            _ => None,
        }
    }
}

/// Parses an unsigned integer written in decimal or `0x` hex (up to 128 bits).
pub fn parse_int(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        let h = &b[2..];
        if h.len() > 32 {
            return None;
        }
        let mut v: u128 = 0;
        for &c in h {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return None,
            };
            v = (v << 4) | u128::from(d);
        }
        Some(v)
    } else {
        if b.is_empty() || b.len() > 39 {
            return None;
        }
        let mut v: u128 = 0;
        for &c in b {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v.checked_mul(10)?.checked_add(u128::from(c - b'0'))?;
        }
        Some(v)
    }
}

/// `aa:bb:cc:dd:ee:ff` (the form every dump uses) without the general parser; others fall back.
fn parse_mac(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() == 17 && (2..17).step_by(3).all(|i| b[i] == b':') {
        let mut v: u128 = 0;
        for i in (0..17).step_by(3) {
            let hi = (b[i] as char).to_digit(16)?;
            let lo = (b[i + 1] as char).to_digit(16)?;
            v = (v << 8) | u128::from(hi * 16 + lo);
        }
        return Some(v);
    }
    s.parse::<MacAddr>().ok().map(mac_bits)
}

fn mac_bits(m: MacAddr) -> u128 {
    m.0.iter().fold(0u128, |a, b| (a << 8) | u128::from(*b))
}

/// The MAC address in the low 48 bits of `v`.
pub fn bits_mac(v: u128) -> MacAddr {
    let mut o = [0u8; 6];
    for (i, b) in o.iter_mut().enumerate() {
        *b = (v >> (8 * (5 - i))) as u8;
    }
    MacAddr(o)
}

fn prefix_mask(len: u32, bits: u32) -> u128 {
    if len == 0 {
        0
    } else {
        let full = if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
        (full >> (bits - len)) << (bits - len)
    }
}

/// The prefix length if `mask` (of `bits` width) is a contiguous prefix.
fn mask_prefix(mask: u128, bits: u32) -> Option<u32> {
    let ones = mask.count_ones();
    (prefix_mask(ones, bits) == mask).then_some(ones)
}

/// The bits a written value of `field` may use: the field's width, except `vlan_vid`, whose
/// values carry OFPVID_PRESENT (0x1000) above the 12-bit field.
fn value_mask(field: Field) -> u128 {
    if field == Field::VlanVid {
        0x1fff
    } else {
        field.full_mask()
    }
}

/// Parses the value of `field` as written after `field=` (or in `set_field:`).
pub fn parse_value(field: Field, s: &str) -> Result<Value, ParseError> {
    // Some documents quote values (`tun_dst="192.168.10.101"`); only port names need quotes.
    let s = match s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(inner) if field.format() != Format::Port => inner,
        _ => s,
    };
    let info = field.info();
    let full = value_mask(field);
    let (v, m) = match super::lex::split_byte(s, b'/') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    };
    let bad = || ParseError::value(format!("{s}: invalid value for field {field}"));
    let (value, mask) = match info.format {
        Format::Port => {
            if m.is_some() {
                return Err(ParseError::value(format!("{s}: invalid mask for field {field}")));
            }
            return PortRef::parse(s).map(Value::Port);
        }
        Format::Text => return Ok(Value::Text(s.to_string())),
        Format::Dec | Format::Hex => {
            let value = parse_int(v).ok_or_else(bad)?;
            let mask = match m {
                Some(m) => {
                    parse_int(m).ok_or_else(|| ParseError::value(format!("{m}: invalid mask for field {field}")))?
                }
                None => full,
            };
            (value, mask)
        }
        Format::Mac => {
            let value = parse_mac(v).ok_or_else(bad)?;
            let mask = match m {
                Some(m) => {
                    parse_mac(m).ok_or_else(|| ParseError::value(format!("{m}: invalid mask for field {field}")))?
                }
                None => full,
            };
            (value, mask)
        }
        Format::Ipv4 => {
            let value = u128::from(u32::from(v.parse::<Ipv4Addr>().map_err(|_| bad())?));
            let mask = match m {
                Some(m) if m.contains('.') => u128::from(u32::from(
                    m.parse::<Ipv4Addr>()
                        .map_err(|_| ParseError::value(format!("{m}: invalid mask for field {field}")))?,
                )),
                Some(m) => match m.parse::<u32>() {
                    Ok(len) if len <= 32 => prefix_mask(len, 32),
                    _ => return Err(ParseError::value(format!("{m}: invalid prefix length for field {field}"))),
                },
                None => full,
            };
            (value, mask)
        }
        Format::Ipv6 => {
            let value = u128::from(v.parse::<Ipv6Addr>().map_err(|_| bad())?);
            let mask = match m {
                Some(m) if m.contains(':') => u128::from(
                    m.parse::<Ipv6Addr>()
                        .map_err(|_| ParseError::value(format!("{m}: invalid mask for field {field}")))?,
                ),
                Some(m) => match m.parse::<u32>() {
                    Ok(len) if len <= 128 => prefix_mask(len, 128),
                    _ => return Err(ParseError::value(format!("{m}: invalid prefix length for field {field}"))),
                },
                None => full,
            };
            (value, mask)
        }
        Format::CtState => parse_flags(s, CT_STATE_FLAGS, full).ok_or_else(bad)?,
        Format::TcpFlags => parse_flags(s, TCP_FLAGS, full).ok_or_else(bad)?,
        Format::TunFlags => parse_flags(s, TUN_FLAGS, full).ok_or_else(bad)?,
        Format::Frag => match s {
            "no" => (0, 1),
            "yes" => (1, 1),
            "first" => (1, 3),
            "later" => (3, 3),
            "not_later" => (0, 2),
            _ => {
                let value = parse_int(v).ok_or_else(bad)?;
                let mask = match m {
                    Some(m) => parse_int(m).ok_or_else(bad)?,
                    None => full,
                };
                (value, mask)
            }
        },
    };
    if (m.is_some() || mask != full) && !info.maskable {
        return Err(ParseError::value(format!("{}: invalid mask for field {field}", m.unwrap_or(s))));
    }
    if value & !full != 0 {
        return Err(ParseError::range(format!("{s}: value too large for {}-bit field {field}", info.bits)));
    }
    if mask & !full != 0 {
        return Err(ParseError::range(format!("{s}: mask too large for {}-bit field {field}", info.bits)));
    }
    Ok(Value::masked(value, mask))
}

/// `+flag-flag` (or a number with optional mask) into value/mask.
fn parse_flags(s: &str, names: &[(&str, u32)], full: u128) -> Option<(u128, u128)> {
    let first = s.bytes().next()?;
    if first.is_ascii_digit() {
        let (v, m) = match s.split_once('/') {
            Some((v, m)) => (parse_int(v)?, parse_int(m)?),
            None => (parse_int(s)?, full),
        };
        return Some((v, m));
    }
    let (mut value, mut mask) = (0u128, 0u128);
    let mut rest = s;
    while !rest.is_empty() {
        let (set, r) = match rest.as_bytes()[0] {
            b'+' => (true, &rest[1..]),
            b'-' => (false, &rest[1..]),
            _ => (true, rest),
        };
        let end = r.find(['+', '-', '|']).unwrap_or(r.len());
        let name = &r[..end];
        let bit = u128::from(names.iter().find(|(n, _)| *n == name)?.1);
        mask |= bit;
        if set {
            value |= bit;
        }
        rest = r[end..].strip_prefix('|').unwrap_or(&r[end..]);
    }
    Some((value, mask))
}

/// Writes `value` of `field` the way `ovs-ofctl` prints it.
pub fn write_value(f: &mut impl fmt::Write, field: Field, value: &Value) -> fmt::Result {
    let (v, m) = match value {
        Value::Port(p) => return write!(f, "{p}"),
        Value::Text(t) => return f.write_str(t),
        Value::Bits { value, mask } => (value.get(), mask.get()),
    };
    let info = field.info();
    let full = value_mask(field);
    let exact = m == full;
    match info.format {
        Format::Dec | Format::Port | Format::Text => {
            if exact {
                write!(f, "{v}")
            } else {
                write!(f, "{}/{:#x}", hex(v), m)
            }
        }
        Format::Hex => {
            if exact {
                f.write_str(&hex(v))
            } else {
                write!(f, "{}/{:#x}", hex(v), m)
            }
        }
        Format::Mac => {
            if exact {
                write!(f, "{}", bits_mac(v))
            } else {
                write!(f, "{}/{}", bits_mac(v), bits_mac(m))
            }
        }
        Format::Ipv4 => {
            let ip = Ipv4Addr::from(v as u32);
            if exact {
                write!(f, "{ip}")
            } else if let Some(len) = mask_prefix(m, 32) {
                write!(f, "{ip}/{len}")
            } else {
                write!(f, "{ip}/{}", Ipv4Addr::from(m as u32))
            }
        }
        Format::Ipv6 => {
            let ip = Ipv6Addr::from(v);
            if exact {
                write!(f, "{ip}")
            } else if let Some(len) = mask_prefix(m, 128) {
                write!(f, "{ip}/{len}")
            } else {
                write!(f, "{ip}/{}", Ipv6Addr::from(m))
            }
        }
        Format::CtState => write_flags(f, v, m, CT_STATE_FLAGS),
        Format::TcpFlags => write_flags(f, v, m, TCP_FLAGS),
        Format::TunFlags => write_flags(f, v, m, TUN_FLAGS),
        Format::Frag => match (v, m) {
            (0, 1) => f.write_str("no"),
            (1, 1) => f.write_str("yes"),
            (1, 3) => f.write_str("first"),
            (3, 3) => f.write_str("later"),
            (0, 2) => f.write_str("not_later"),
            _ => write!(f, "{}/{:#x}", hex(v), m),
        },
    }
}

fn write_flags(f: &mut impl fmt::Write, v: u128, m: u128, names: &[(&str, u32)]) -> fmt::Result {
    let known: u128 = names.iter().map(|(_, b)| u128::from(*b)).fold(0, |a, b| a | b);
    if m == 0 || m & !known != 0 {
        return write!(f, "{}/{:#x}", hex(v), m);
    }
    for (name, bit) in names {
        let bit = u128::from(*bit);
        if m & bit != 0 {
            f.write_str(if v & bit != 0 { "+" } else { "-" })?;
            f.write_str(name)?;
        }
    }
    Ok(())
}

/// `0` or `0x..` (OVS style).
pub fn hex(v: u128) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// A `Value` printed for `field` (for JSON and diagnostics).
pub fn value_string(field: Field, value: &Value) -> String {
    let mut s = String::new();
    let _ = write_value(&mut s, field, value);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(field: Field, s: &str) -> String {
        value_string(field, &parse_value(field, s).unwrap())
    }

    #[test]
    fn values_print_like_ovs() {
        assert_eq!(rt(Field::Reg(0), "0x3/0xf"), "0x3/0xf");
        assert_eq!(rt(Field::Reg(0), "0/0x200"), "0/0x200");
        assert_eq!(rt(Field::IpDst, "10.10.1.0/24"), "10.10.1.0/24");
        assert_eq!(rt(Field::IpDst, "10.10.1.7/255.255.255.0"), "10.10.1.0/24");
        assert_eq!(rt(Field::IpSrc, "1.2.3.4/0.0.0.1"), "0.0.0.0/0.0.0.1");
        assert_eq!(rt(Field::CtState, "-new+trk"), "-new+trk");
        assert_eq!(rt(Field::CtState, "+trk-new"), "-new+trk");
        assert_eq!(rt(Field::CtState, "0x21/0x21"), "+new+trk");
        assert_eq!(rt(Field::TcpFlags, "+syn-ack"), "+syn-ack");
        assert_eq!(rt(Field::NwFrag, "later"), "later");
        assert_eq!(rt(Field::EthSrc, "00:0A:E4:25:6B:B0"), "00:0a:e4:25:6b:b0");
        assert_eq!(rt(Field::CtLabel, "0x1234567890ABCDEF12345678"), "0x1234567890abcdef12345678");
        assert_eq!(rt(Field::InPort, "\"antrea-gw0\""), "\"antrea-gw0\"");
        assert_eq!(rt(Field::Ipv6Src, "fe80::1/64"), "fe80::/64");
        assert_eq!(rt(Field::VlanVid, "4198"), "4198");
        assert_eq!(rt(Field::EthDst, "01:00:00:00:00:00/01:00:00:00:00:00"), "01:00:00:00:00:00/01:00:00:00:00:00");
        assert_eq!(rt(Field::EthDst, "0:1:2:3:4:5"), "00:01:02:03:04:05");
        assert!(parse_value(Field::EthDst, "aa:bb:cc:dd:ee:gg").is_err());
        assert!(parse_value(Field::EthDst, "aa:bb:cc:dd:ee:f+").is_err());
        assert!(parse_value(Field::NwTos, "0xf0/0xf0").unwrap_err().message.contains("invalid mask"));
        assert!(parse_value(Field::Reg(0), "0x100000000").is_err());
        assert!(parse_value(Field::IpSrc, "1.2.3").is_err());
    }
}
