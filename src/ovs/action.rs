//! Flow actions as a typed list: the ones a pipeline simulator interprets (goto_table, resubmit,
//! set_field/load/move over bit ranges, conjunction, ct, group, output, ...) are typed; `learn`,
//! `sample` and anything unknown but well formed are kept verbatim.

use super::field::Field;
use super::lex::{byte_pos, call, rsplit_arrow, split_arrow, split_byte, split_top, Sep, TopSplit};
use super::value::{hex, parse_int, parse_value, write_value, PortRef, Value, Wide};
use crate::ovs::error::ParseError;
use serde::{Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;

/// A table named by number or by name (`dump-flows --names`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableRef {
    /// Numeric table id.
    Id(u8),
    /// Table name (resolved to an id by Antrea knowledge or the bridge's table names).
    Name(String),
}

impl TableRef {
    /// Parses `12` or `L3Forwarding`.
    pub fn parse(s: &str) -> Result<TableRef, ParseError> {
        if s.is_empty() {
            return Err(ParseError::missing("empty table"));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse::<u8>()
                .map(TableRef::Id)
                .map_err(|_| ParseError::range(format!("{s}: table id out of range (0-255)")));
        }
        if s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') {
            return Ok(TableRef::Name(s.to_string()));
        }
        Err(ParseError::value(format!("{s}: invalid table name")))
    }

    /// The id when numeric.
    pub fn id(&self) -> Option<u8> {
        match self {
            TableRef::Id(n) => Some(*n),
            TableRef::Name(_) => None,
        }
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableRef::Id(n) => write!(f, "{n}"),
            TableRef::Name(s) => f.write_str(s),
        }
    }
}

impl Serialize for TableRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TableRef::Id(n) => s.serialize_u8(*n),
            TableRef::Name(n) => s.serialize_str(n),
        }
    }
}

/// A bit range of a field: `NXM_NX_REG0[0..3]`, `reg1[]`, `ct_label[32..95]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubField {
    /// The field.
    pub field: Field,
    /// First bit (0 = least significant).
    pub start: u16,
    /// Number of bits.
    pub len: u16,
}

impl SubField {
    /// The whole field.
    pub fn whole(field: Field) -> SubField {
        SubField { field, start: 0, len: field.bits() }
    }

    /// Parses `NAME`, `NAME[]`, `NAME[n]` or `NAME[a..b]`.
    pub fn parse(s: &str) -> Result<SubField, ParseError> {
        let (name, range) = match split_byte(s, b'[') {
            Some((n, r)) => {
                (n, Some(r.strip_suffix(']').ok_or_else(|| ParseError::syntax(format!("{s}: malformed sub-field")))?))
            }
            None => (s, None),
        };
        let field =
            Field::from_name(name).ok_or_else(|| ParseError::unknown_field(format!("{name}: unknown field")))?;
        let bits = field.bits();
        match range {
            None | Some("") => Ok(SubField::whole(field)),
            Some(r) => {
                let (a, b) = parse_range(r, bits)
                    .ok_or_else(|| ParseError::range(format!("{s}: bit range outside {bits}-bit field")))?;
                Ok(SubField { field, start: a, len: b - a + 1 })
            }
        }
    }

    /// Mask of the bits this sub-field covers, within the field.
    pub fn mask(&self) -> u128 {
        let m = if self.len >= 128 { u128::MAX } else { (1u128 << self.len) - 1 };
        m << self.start
    }

    /// Whether it covers the whole field.
    pub fn is_whole(&self) -> bool {
        self.start == 0 && self.len == self.field.bits()
    }
}

/// Parses `a..b` or `a` into an inclusive range within `bits`.
pub(crate) fn parse_range(r: &str, bits: u16) -> Option<(u16, u16)> {
    let (a, b) = match byte_pos(r, b'.').filter(|&i| r.as_bytes().get(i + 1) == Some(&b'.')) {
        Some(i) => (r[..i].parse::<u16>().ok()?, r[i + 2..].parse::<u16>().ok()?),
        None => {
            let a = r.parse::<u16>().ok()?;
            (a, a)
        }
    };
    (a <= b && b < bits).then_some((a, b))
}

impl fmt::Display for SubField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.field.nxm_name())?;
        if self.is_whole() {
            f.write_str("[]")
        } else if self.len == 1 {
            write!(f, "[{}]", self.start)
        } else {
            write!(f, "[{}..{}]", self.start, self.start + self.len - 1)
        }
    }
}

impl Serialize for SubField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `nat(src=...)` or `nat(dst=...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NatKind {
    /// Source NAT.
    Src,
    /// Destination NAT.
    Dst,
}

/// The `nat` argument of `ct`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Nat {
    /// `src` or `dst`; `None` for plain `nat` (apply the connection's existing NAT).
    pub kind: Option<NatKind>,
    /// Address range (first, last).
    pub addrs: Option<(IpAddr, IpAddr)>,
    /// Port range (first, last).
    pub ports: Option<(u16, u16)>,
    /// `random`, `hash`, `persistent`.
    pub flags: Vec<String>,
}

impl Nat {
    fn parse(args: Option<&str>) -> Result<Nat, ParseError> {
        let mut nat = Nat::default();
        let Some(args) = args else { return Ok(nat) };
        for item in TopSplit::new(args, Sep::Comma) {
            let item = item?;
            let (k, v) = match item.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (item, None),
            };
            match k {
                "src" | "dst" => {
                    if nat.kind.is_some() {
                        return Err(ParseError::invalid(format!("nat({args}): both src and dst")));
                    }
                    nat.kind = Some(if k == "src" { NatKind::Src } else { NatKind::Dst });
                    if let Some(v) = v {
                        let (addrs, ports) = parse_nat_range(v)?;
                        nat.addrs = Some(addrs);
                        nat.ports = ports;
                    }
                }
                "random" | "hash" | "persistent" => nat.flags.push(k.to_string()),
                _ => return Err(ParseError::unknown(format!("nat({args}): unknown argument {item:?}"))),
            }
        }
        Ok(nat)
    }
}

fn parse_ip(s: &str) -> Result<IpAddr, ParseError> {
    let s = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
    s.parse().map_err(|_| ParseError::value(format!("{s}: invalid IP address in nat")))
}

type NatRange = ((IpAddr, IpAddr), Option<(u16, u16)>);

/// `ip[-ip][:port[-port]]`, IPv6 in brackets when ports follow.
fn parse_nat_range(v: &str) -> Result<NatRange, ParseError> {
    let port_range = |p: &str| -> Result<(u16, u16), ParseError> {
        let (a, b) = p.split_once('-').unwrap_or((p, p));
        let a = a.parse::<u16>().map_err(|_| ParseError::value(format!("{p}: invalid port range in nat")))?;
        let b = b.parse::<u16>().map_err(|_| ParseError::value(format!("{p}: invalid port range in nat")))?;
        if a > b {
            return Err(ParseError::value(format!("{p}: invalid port range in nat")));
        }
        Ok((a, b))
    };
    let (addr_part, ports) = if v.starts_with('[') {
        // [a]-[b]:p-p or [a]:p
        match v.rfind("]:") {
            Some(i) => (&v[..=i], Some(port_range(&v[i + 2..])?)),
            None => (v, None),
        }
    } else if v.matches(':').count() == 1 {
        let (a, p) = v.split_once(':').unwrap_or((v, ""));
        (a, Some(port_range(p)?))
    } else {
        (v, None)
    };
    let (a, b) = if addr_part.starts_with('[') {
        match addr_part.find("]-[") {
            Some(i) => (&addr_part[..=i], &addr_part[i + 2..]),
            None => (addr_part, addr_part),
        }
    } else {
        // IPv4 a-b; IPv6 a-b (no brackets, no ports).
        match addr_part.find('-') {
            Some(i) => (&addr_part[..i], &addr_part[i + 1..]),
            None => (addr_part, addr_part),
        }
    };
    let (a, b) = (parse_ip(a)?, parse_ip(b)?);
    if a.is_ipv4() != b.is_ipv4() {
        return Err(ParseError::invalid(format!("{v}: mixed address families in nat")));
    }
    Ok(((a, b), ports))
}

impl fmt::Display for Nat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nat")?;
        let Some(kind) = self.kind else { return Ok(()) };
        f.write_str(if kind == NatKind::Src { "(src" } else { "(dst" })?;
        if let Some((a, b)) = self.addrs {
            let v6 = a.is_ipv6();
            let br = v6 && self.ports.is_some();
            let w = |f: &mut fmt::Formatter<'_>, ip: IpAddr| {
                if br {
                    write!(f, "[{ip}]")
                } else {
                    write!(f, "{ip}")
                }
            };
            f.write_str("=")?;
            w(f, a)?;
            if b != a {
                f.write_str("-")?;
                w(f, b)?;
            }
            if let Some((p, q)) = self.ports {
                write!(f, ":{p}")?;
                if q != p {
                    write!(f, "-{q}")?;
                }
            }
        }
        for fl in &self.flags {
            write!(f, ",{fl}")?;
        }
        f.write_str(")")
    }
}

/// `ct(zone=...)`: an immediate zone or a register range.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum CtZone {
    /// `zone=65520`.
    Imm(u16),
    /// `zone=NXM_NX_REG8[0..15]`.
    Field(SubField),
}

/// The `ct(...)` action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Ct {
    /// `commit`.
    pub commit: bool,
    /// `force` (commit, replacing a connection in the other direction).
    pub force: bool,
    /// Zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<CtZone>,
    /// Table to recirculate into (none = no recirculation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<TableRef>,
    /// NAT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat: Option<Nat>,
    /// Actions run on commit (setting `ct_mark` / `ct_label`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exec: Vec<Action>,
    /// `alg=ftp|tftp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Other arguments kept verbatim.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<String>,
}

/// `controller(...)` / `CONTROLLER:max_len`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Controller {
    /// Written with parentheses.
    #[serde(skip)]
    pub paren: bool,
    /// `max_len`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u16>,
    /// `reason` (`no_match`, `action`, `invalid_ttl`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Controller connection id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    /// `userdata` (dotted hex bytes as written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userdata: Option<String>,
    /// `pause`.
    pub pause: bool,
    /// `meter_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meter_id: Option<u32>,
}

/// One action.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// `output:N`, `output:"name"`, a bare port number, `IN_PORT`, `NORMAL`, `LOCAL`, `FLOOD`,
    /// `ALL`, `output(port=..,max_len=..)`.
    Output {
        /// The port.
        port: PortRef,
        /// Truncation length.
        #[serde(skip_serializing_if = "Option::is_none")]
        max_len: Option<u16>,
    },
    /// `output:NXM_NX_REG1[]`: the port number is read from a field.
    OutputField {
        /// Where the port number is.
        src: SubField,
        /// Truncation length.
        #[serde(skip_serializing_if = "Option::is_none")]
        max_len: Option<u16>,
    },
    /// Send to the controller (Antrea's packet-in).
    Controller(Box<Controller>),
    /// Explicit `drop`.
    Drop,
    /// `goto_table:T`.
    GotoTable {
        /// Target table.
        table: TableRef,
    },
    /// `resubmit:port`, `resubmit(port,table[,ct])`.
    Resubmit {
        /// Port to pretend the packet came in on (none = unchanged).
        #[serde(skip_serializing_if = "Option::is_none")]
        port: Option<PortRef>,
        /// Table (none = current).
        #[serde(skip_serializing_if = "Option::is_none")]
        table: Option<TableRef>,
        /// The `ct` flag: look up with the conntrack original-direction tuple.
        ct: bool,
    },
    /// `set_field:value[/mask]->field`.
    #[serde(serialize_with = "ser_set_field")]
    SetField {
        /// Destination field.
        field: Field,
        /// Value and mask.
        value: Value,
    },
    /// `load:value->dst[range]`.
    Load {
        /// The value (right-aligned to the range).
        #[serde(serialize_with = "ser_hex")]
        value: Wide,
        /// Destination bits.
        dst: SubField,
    },
    /// `move:src[range]->dst[range]`.
    Move {
        /// Source bits.
        src: SubField,
        /// Destination bits.
        dst: SubField,
    },
    /// OpenFlow 1.0 `mod_*` actions (`mod_dl_src`, `mod_nw_tos`, `mod_tp_dst`, `mod_vlan_vid`, ...).
    Mod {
        /// The field it sets.
        field: Field,
        /// The new value.
        #[serde(serialize_with = "ser_hex")]
        value: Wide,
    },
    /// `strip_vlan` / `pop_vlan`.
    PopVlan,
    /// `push_vlan:ethertype`.
    PushVlan {
        /// TPID.
        ethertype: u16,
    },
    /// `push_mpls:ethertype`.
    PushMpls {
        /// Ethertype.
        ethertype: u16,
    },
    /// `pop_mpls:ethertype`.
    PopMpls {
        /// Ethertype of the payload.
        ethertype: u16,
    },
    /// `dec_ttl` or `dec_ttl(ids)`.
    DecTtl {
        /// Controller ids to notify when the TTL expires.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        ids: Vec<u16>,
    },
    /// `conjunction(id,k/n)`.
    Conjunction {
        /// Conjunction id.
        id: u32,
        /// This clause (1-based).
        clause: u8,
        /// Number of clauses.
        n_clauses: u8,
    },
    /// `ct(...)`.
    Ct(Box<Ct>),
    /// `ct_clear`.
    CtClear,
    /// `group:N`.
    Group {
        /// Group id.
        id: u32,
    },
    /// `meter:N`.
    Meter {
        /// Meter id.
        id: u32,
    },
    /// `note:hex.hex...`.
    Note {
        /// Bytes of the note as written (dotted hex).
        hex: String,
    },
    /// `clone(actions)`.
    Clone {
        /// The nested actions.
        actions: Vec<Action>,
    },
    /// `learn(...)`, arguments kept verbatim.
    Learn {
        /// The text inside the parentheses.
        args: String,
    },
    /// `sample(...)`, arguments kept verbatim.
    Sample {
        /// The text inside the parentheses.
        args: String,
    },
    /// `exit`.
    Exit,
    /// `check_pkt_larger(N)->DST`: writes 1 to the one-bit `dst` when the packet is longer than
    /// `len` bytes, else 0 (OVS's test for a packet that needs fragmenting or an ICMP error).
    CheckPktLarger {
        /// The length compared with, in bytes.
        len: u16,
        /// The bit written.
        dst: SubField,
    },
    /// Any other well-formed action, verbatim.
    Other {
        /// The action text.
        text: String,
    },
}

fn ser_hex<S: Serializer>(v: &Wide, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&hex(v.get()))
}

/// `{"field": "eth_src", "value": "aa:bb:cc:dd:ee:ff"}`: the value in the field's own syntax.
fn ser_set_field<S: Serializer>(field: &Field, value: &Value, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("SetField", 2)?;
    st.serialize_field("field", field)?;
    st.serialize_field("value", &super::value::value_string(*field, value))?;
    st.end()
}

const MODS: &[(&str, Field)] = &[
    ("mod_dl_src", Field::EthSrc),
    ("mod_dl_dst", Field::EthDst),
    ("mod_nw_src", Field::IpSrc),
    ("mod_nw_dst", Field::IpDst),
    ("mod_nw_tos", Field::NwTos),
    ("mod_nw_ecn", Field::NwEcn),
    ("mod_nw_ttl", Field::NwTtl),
    ("mod_tp_src", Field::TcpSrc),
    ("mod_tp_dst", Field::TcpDst),
    ("mod_vlan_vid", Field::DlVlan),
    ("mod_vlan_pcp", Field::DlVlanPcp),
];

fn int<T: TryFrom<u128>>(s: &str, what: &str) -> Result<T, ParseError> {
    parse_int(s).and_then(|v| T::try_from(v).ok()).ok_or_else(|| ParseError::value(format!("{s}: invalid {what}")))
}

/// How deeply action lists may nest (`ct(exec(...))`, `clone(...)`): OVS's own limit
/// (`MAX_OFPACT_PARSE_DEPTH`), which also bounds the recursion of everything that walks
/// actions (printing, the simulator).
pub const MAX_ACTION_NESTING: usize = 100;

/// Parses an action list (the text after `actions=`). Like `ovs-ofctl`, actions are separated
/// by commas or blanks.
pub fn parse_actions(s: &str) -> Result<Vec<Action>, ParseError> {
    let mut scratch = Vec::new();
    parse_actions_into(s, &mut scratch)?;
    Ok(scratch)
}

/// [`parse_actions`] appending to `out`, so that a caller parsing many lines can reuse one buffer.
pub(crate) fn parse_actions_into(s: &str, out: &mut Vec<Action>) -> Result<(), ParseError> {
    parse_nested(s, out, 0)
}

/// An action list `depth` levels inside others.
fn parse_nested(s: &str, out: &mut Vec<Action>, depth: usize) -> Result<(), ParseError> {
    if depth >= MAX_ACTION_NESTING {
        return Err(ParseError::range(format!(
            "actions nested more than {MAX_ACTION_NESTING} deep (ct(exec(...)), clone(...)), as OVS also refuses"
        )));
    }
    for item in TopSplit::new(s, Sep::CommaBlank) {
        out.push(parse_action_at(item?, depth)?);
    }
    Ok(())
}

/// Parses one action. As in `ovs-ofctl`, `name:arg`, `name=arg` and `name(arg)` are the same.
pub fn parse_action(item: &str) -> Result<Action, ParseError> {
    parse_action_at(item, 0)
}

/// [`parse_action`] for an action in a list nested `depth` levels deep.
fn parse_action_at<'a>(item: &'a str, depth: usize) -> Result<Action, ParseError> {
    if item.is_empty() {
        return Err(ParseError::missing("empty action"));
    }
    if item.starts_with('"') {
        return Ok(Action::Output { port: PortRef::parse(item)?, max_len: None });
    }
    let (name, arg, paren) = match item.bytes().position(|b| matches!(b, b':' | b'=' | b'(')) {
        None => (item, None, false),
        Some(i) if item.as_bytes()[i] == b'(' && item[..i].eq_ignore_ascii_case("check_pkt_larger") => {
            return parse_check_pkt_larger(item, &item[i..]);
        }
        Some(i) if item.as_bytes()[i] == b'(' => {
            let (name, inner) = call(item)
                .ok_or_else(|| ParseError::syntax(format!("{item}: malformed action (unbalanced parentheses)")))?;
            (name, Some(inner), true)
        }
        Some(i) => (&item[..i], Some(&item[i + 1..]), false),
    };
    let mut buf = [0u8; 24];
    // Action names are case-insensitive; nearly all are written in lower case already.
    let lower: &str = if !name.bytes().any(|b| b.is_ascii_uppercase()) {
        name
    } else if name.len() <= buf.len() {
        buf[..name.len()].copy_from_slice(name.as_bytes());
        buf[..name.len()].make_ascii_lowercase();
        std::str::from_utf8(&buf[..name.len()]).unwrap_or(name)
    } else {
        name
    };
    let need = |a: Option<&'a str>| -> Result<&'a str, ParseError> {
        a.ok_or_else(|| ParseError::missing(format!("{item}: {name} needs an argument")))
    };
    match lower {
        "drop" if arg.is_none() => Ok(Action::Drop),
        "output" => parse_output_action(item, need(arg)?, paren),
        "in_port" | "normal" | "flood" | "all" | "local" if arg.is_none() => {
            Ok(Action::Output { port: PortRef::parse(name)?, max_len: None })
        }
        "controller" => match arg {
            None => Ok(Action::Controller(Box::default())),
            Some(a) if a.bytes().all(|b| b.is_ascii_digit()) && !a.is_empty() => {
                Ok(Action::Controller(Box::new(Controller {
                    max_len: Some(int(a, "max_len")?),
                    ..Controller::default()
                })))
            }
            Some(a) => parse_controller(a).map(|c| Action::Controller(Box::new(c))),
        },
        "goto_table" => Ok(Action::GotoTable { table: TableRef::parse(need(arg)?)? }),
        "resubmit" => parse_resubmit(item, need(arg)?),
        "set_field" => parse_set_field(need(arg)?),
        "load" => parse_load(need(arg)?),
        "move" => parse_move(need(arg)?),
        "group" => Ok(Action::Group { id: int(need(arg)?, "group id")? }),
        "meter" => Ok(Action::Meter { id: int(need(arg)?, "meter id")? }),
        "strip_vlan" | "pop_vlan" if arg.is_none() => Ok(Action::PopVlan),
        "push_vlan" => Ok(Action::PushVlan { ethertype: int(need(arg)?, "ethertype")? }),
        "push_mpls" => Ok(Action::PushMpls { ethertype: int(need(arg)?, "ethertype")? }),
        "pop_mpls" => Ok(Action::PopMpls { ethertype: int(need(arg)?, "ethertype")? }),
        "dec_ttl" => {
            let ids = match arg {
                None => vec![],
                Some(a) => split_top(a, Sep::CommaBlank)?
                    .into_iter()
                    .map(|x| int::<u16>(x, "controller id"))
                    .collect::<Result<Vec<_>, _>>()?,
            };
            Ok(Action::DecTtl { ids })
        }
        "ct_clear" if arg.is_none() => Ok(Action::CtClear),
        "ct" => match arg {
            None => Ok(Action::Ct(Box::default())),
            Some(a) => parse_ct(a, depth).map(|c| Action::Ct(Box::new(c))),
        },
        "exit" if arg.is_none() => Ok(Action::Exit),
        "note" => parse_note(arg.unwrap_or("")),
        "conjunction" => parse_conjunction(item, need(arg)?),
        "check_pkt_larger" => parse_check_pkt_larger(item, need(arg)?),
        "clone" => {
            let mut actions = Vec::new();
            parse_nested(need(arg)?, &mut actions, depth + 1)?;
            Ok(Action::Clone { actions })
        }
        "learn" => Ok(Action::Learn { args: need(arg)?.to_string() }),
        "sample" => Ok(Action::Sample { args: need(arg)?.to_string() }),
        "nat" => Err(ParseError::invalid(format!("{item}: nat is only valid inside ct(...)"))),
        "set_tunnel" | "set_tunnel64" => Ok(Action::SetField {
            field: Field::TunId,
            value: Value::exact(Field::TunId, int::<u64>(need(arg)?, "tunnel id")?.into()),
        }),
        m if m.starts_with("mod_") && MODS.iter().any(|x| x.0 == m) => {
            let v = need(arg)?;
            let field = MODS.iter().find(|x| x.0 == m).map(|x| x.1).unwrap_or(Field::EthSrc);
            let value = parse_value(field, v)?
                .bits()
                .map(|b| b.0)
                .ok_or_else(|| ParseError::value(format!("{v}: invalid {name} value")))?;
            Ok(Action::Mod { field, value: value.into() })
        }
        _ if arg.is_none() && name.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Action::Output { port: PortRef::parse(name)?, max_len: None })
        }
        _ if well_formed_word(name) => Ok(Action::Other { text: item.to_string() }),
        _ => Err(ParseError::syntax(format!("{item}: malformed action"))),
    }
}

/// `output:PORT`, `output:SUBFIELD`, or `output(port=P,max_len=N)`.
fn parse_output_action(item: &str, a: &str, paren: bool) -> Result<Action, ParseError> {
    if !(paren && a.contains('=')) {
        return parse_output(a, None);
    }
    let mut port = None;
    let mut max_len = None;
    for kv in split_top(a, Sep::CommaBlank)? {
        match kv.split_once('=') {
            Some(("port", p)) => port = Some(p),
            Some(("max_len", m)) => max_len = Some(int::<u16>(m, "max_len")?),
            _ => return Err(ParseError::unknown(format!("{item}: unknown output argument {kv:?}"))),
        }
    }
    parse_output(port.ok_or_else(|| ParseError::missing(format!("{item}: output needs port=")))?, max_len)
}

/// `(N)->DST` (or `N->DST`, after `check_pkt_larger:`), the argument of `check_pkt_larger`.
fn parse_check_pkt_larger(item: &str, a: &str) -> Result<Action, ParseError> {
    let bad = || ParseError::syntax(format!("{item}: expected check_pkt_larger(LENGTH)->FIELD[BIT]"));
    let (len, dst) = match a.strip_prefix('(') {
        Some(a) => a.split_once(")->"),
        None => a.split_once("->"),
    }
    .ok_or_else(bad)?;
    let len: u16 = int(len.trim_ascii(), "check_pkt_larger length")?;
    let dst = SubField::parse(dst.trim_ascii())?;
    if dst.len != 1 {
        return Err(ParseError::invalid(format!("{item}: the destination must be one bit (as OVS requires)")));
    }
    Ok(Action::CheckPktLarger { len, dst })
}

/// `conjunction(id,k/n)`.
fn parse_conjunction(item: &str, a: &str) -> Result<Action, ParseError> {
    let bad = || ParseError::syntax(format!("{item}: expected conjunction(id,k/n)"));
    let (id, kn) = a.split_once(',').ok_or_else(bad)?;
    let (k, n) = kn.trim_ascii().split_once('/').ok_or_else(bad)?;
    let id: u32 = int(id.trim_ascii(), "conjunction id")?;
    let clause: u8 = int(k, "conjunction clause")?;
    let n_clauses: u8 = int(n, "conjunction clause count")?;
    if !(2..=64).contains(&n_clauses) || clause == 0 || clause > n_clauses {
        return Err(ParseError::range(format!(
            "{item}: conjunction clause {clause}/{n_clauses} out of range (k in 1..n, n in 2..64)"
        )));
    }
    Ok(Action::Conjunction { id, clause, n_clauses })
}

fn well_formed_word(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn parse_resubmit(item: &str, a: &str) -> Result<Action, ParseError> {
    let parts: Vec<&str> = a.split(',').map(str::trim).collect();
    if parts.len() > 3 {
        return Err(ParseError::range(format!("{item}: too many resubmit arguments")));
    }
    let port = match parts[0] {
        "" => None,
        p => Some(PortRef::parse(p)?),
    };
    let table = match parts.get(1) {
        None | Some(&"") => None,
        Some(t) => Some(TableRef::parse(t)?),
    };
    let ct = match parts.get(2) {
        None => false,
        Some(&"ct") => true,
        Some(x) => return Err(ParseError::unknown(format!("{item}: unknown resubmit argument {x:?}"))),
    };
    if port.is_none() && table.is_none() {
        return Err(ParseError::missing(format!("{item}: at least one of in_port and table must be specified")));
    }
    Ok(Action::Resubmit { port, table, ct })
}

fn parse_output(a: &str, max_len: Option<u16>) -> Result<Action, ParseError> {
    // A quoted port name may hold any character, `[` included.
    let is_field = !a.starts_with('"') && a.contains('[')
        || (a.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && Field::from_name(a).is_some()
            && !matches!(
                a.to_ascii_uppercase().as_str(),
                "IN_PORT" | "LOCAL" | "NORMAL" | "FLOOD" | "ALL" | "CONTROLLER"
            ));
    if is_field {
        return Ok(Action::OutputField { src: SubField::parse(a)?, max_len });
    }
    Ok(Action::Output { port: PortRef::parse(a)?, max_len })
}

fn parse_set_field(a: &str) -> Result<Action, ParseError> {
    let (v, f) = rsplit_arrow(a).ok_or_else(|| ParseError::syntax(format!("set_field:{a}: expected value->field")))?;
    let field =
        Field::from_name(f).ok_or_else(|| ParseError::unknown_field(format!("set_field:{a}: unknown field {f:?}")))?;
    let value = parse_value(field, v)?;
    Ok(Action::SetField { field, value })
}

fn parse_load(a: &str) -> Result<Action, ParseError> {
    let (v, d) =
        rsplit_arrow(a).ok_or_else(|| ParseError::syntax(format!("load:{a}: expected value->field[range]")))?;
    let dst = SubField::parse(d)?;
    let value = parse_int(v).ok_or_else(|| ParseError::value(format!("load:{a}: invalid value {v:?}")))?;
    if value & !(dst.mask() >> dst.start) != 0 {
        return Err(ParseError::range(format!("load:{a}: value {v} does not fit in {} bits", dst.len)));
    }
    Ok(Action::Load { value: value.into(), dst })
}

fn parse_move(a: &str) -> Result<Action, ParseError> {
    let (s, d) =
        split_arrow(a).ok_or_else(|| ParseError::syntax(format!("move:{a}: expected src[range]->dst[range]")))?;
    let src = SubField::parse(s)?;
    let dst = SubField::parse(d)?;
    if src.len != dst.len {
        return Err(ParseError::invalid(format!("move:{a}: source is {} bits, destination {} bits", src.len, dst.len)));
    }
    Ok(Action::Move { src, dst })
}

fn parse_note(a: &str) -> Result<Action, ParseError> {
    let ok = a.split('.').all(|b| b.is_empty() || (b.len() <= 2 && b.bytes().all(|c| c.is_ascii_hexdigit())));
    if !ok {
        return Err(ParseError::syntax(format!("note:{a}: expected hex bytes separated by dots")));
    }
    Ok(Action::Note { hex: a.to_ascii_lowercase() })
}

fn parse_ct(args: &str, depth: usize) -> Result<Ct, ParseError> {
    let mut ct = Ct::default();
    for item in TopSplit::new(args, Sep::Comma) {
        let item = item?;
        let item = item.trim_ascii();
        if let Some((name, inner)) = call(item) {
            match name {
                "nat" => {
                    ct.nat = Some(Nat::parse(Some(inner))?);
                    continue;
                }
                "exec" => {
                    parse_nested(inner, &mut ct.exec, depth + 1)?;
                    continue;
                }
                _ => {}
            }
        }
        match split_byte(item, b'=') {
            None => match item {
                "commit" => ct.commit = true,
                "force" => ct.force = true,
                "nat" => ct.nat = Some(Nat::default()),
                _ => ct.other.push(item.to_string()),
            },
            Some(("zone", z)) => {
                ct.zone = Some(match parse_int(z) {
                    Some(v) => {
                        CtZone::Imm(u16::try_from(v).map_err(|_| ParseError::range(format!("zone={z}: out of range")))?)
                    }
                    None => CtZone::Field(SubField::parse(z)?),
                })
            }
            Some(("table", t)) => ct.table = Some(TableRef::parse(t)?),
            Some(("alg", a)) => ct.alg = Some(a.to_string()),
            Some(_) => ct.other.push(item.to_string()),
        }
    }
    Ok(ct)
}

fn parse_controller(args: &str) -> Result<Controller, ParseError> {
    let mut c = Controller { paren: true, ..Controller::default() };
    for item in TopSplit::new(args, Sep::Comma) {
        let item = item?;
        match item.split_once('=') {
            Some(("max_len", v)) => c.max_len = Some(int(v, "max_len")?),
            Some(("reason", v)) => c.reason = Some(v.to_string()),
            Some(("id", v)) => c.id = Some(int(v, "controller id")?),
            Some(("userdata", v)) => c.userdata = Some(v.to_string()),
            Some(("meter_id", v)) => c.meter_id = Some(int(v, "meter_id")?),
            None if item == "pause" => c.pause = true,
            _ => return Err(ParseError::unknown(format!("controller({args}): unknown argument {item:?}"))),
        }
    }
    Ok(c)
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Output { port, max_len: None } => match port {
                PortRef::Number(n) => write!(f, "output:{n}"),
                PortRef::Name(_) => write!(f, "output:{port}"),
                other => write!(f, "{other}"),
            },
            Action::Output { port, max_len: Some(m) } => write!(f, "output(port={port},max_len={m})"),
            Action::OutputField { src, max_len: None } => write!(f, "output:{src}"),
            Action::OutputField { src, max_len: Some(m) } => write!(f, "output(port={src},max_len={m})"),
            Action::Controller(c) => write!(f, "{c}"),
            Action::Drop => f.write_str("drop"),
            Action::GotoTable { table } => write!(f, "goto_table:{table}"),
            Action::Resubmit { port, table, ct } => match (port, table, ct) {
                (Some(p), None, false) => write!(f, "resubmit:{p}"),
                _ => {
                    f.write_str("resubmit(")?;
                    if let Some(p) = port {
                        write!(f, "{p}")?;
                    }
                    f.write_str(",")?;
                    if let Some(t) = table {
                        write!(f, "{t}")?;
                    }
                    if *ct {
                        f.write_str(",ct")?;
                    }
                    f.write_str(")")
                }
            },
            Action::SetField { field, value } => {
                f.write_str("set_field:")?;
                write_value(f, *field, value)?;
                write!(f, "->{}", field.canonical_name())
            }
            Action::Load { value, dst } => write!(f, "load:{}->{dst}", hex(value.get())),
            Action::Move { src, dst } => write!(f, "move:{src}->{dst}"),
            Action::Mod { field, value } => {
                let name = MODS.iter().find(|x| x.1 == *field).map_or("mod_unknown", |x| x.0);
                f.write_str(name)?;
                f.write_str(":")?;
                write_value(f, *field, &Value::exact(*field, value.get()))
            }
            Action::PopVlan => f.write_str("pop_vlan"),
            Action::PushVlan { ethertype } => write!(f, "push_vlan:{ethertype:#06x}"),
            Action::PushMpls { ethertype } => write!(f, "push_mpls:{ethertype:#06x}"),
            Action::PopMpls { ethertype } => write!(f, "pop_mpls:{ethertype:#06x}"),
            Action::DecTtl { ids } if ids.is_empty() => f.write_str("dec_ttl"),
            Action::DecTtl { ids } => {
                let s: Vec<String> = ids.iter().map(u16::to_string).collect();
                write!(f, "dec_ttl({})", s.join(","))
            }
            Action::Conjunction { id, clause, n_clauses } => write!(f, "conjunction({id},{clause}/{n_clauses})"),
            Action::Ct(ct) => write!(f, "{ct}"),
            Action::CtClear => f.write_str("ct_clear"),
            Action::Group { id } => write!(f, "group:{id}"),
            Action::Meter { id } => write!(f, "meter:{id}"),
            Action::Note { hex } if hex.is_empty() => f.write_str("note"),
            Action::Note { hex } => write!(f, "note:{hex}"),
            Action::Clone { actions } => {
                f.write_str("clone(")?;
                write_list(f, actions)?;
                f.write_str(")")
            }
            Action::Learn { args } => write!(f, "learn({args})"),
            Action::Sample { args } => write!(f, "sample({args})"),
            Action::Exit => f.write_str("exit"),
            Action::CheckPktLarger { len, dst } => write!(f, "check_pkt_larger({len})->{dst}"),
            Action::Other { text } => f.write_str(text),
        }
    }
}

impl fmt::Display for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self;
        if !c.paren && c.reason.is_none() && c.id.is_none() && c.userdata.is_none() && !c.pause && c.meter_id.is_none()
        {
            return match c.max_len {
                Some(m) => write!(f, "CONTROLLER:{m}"),
                None => f.write_str("CONTROLLER"),
            };
        }
        f.write_str("controller(")?;
        let mut parts: Vec<String> = Vec::new();
        if let Some(r) = &c.reason {
            parts.push(format!("reason={r}"));
        }
        if let Some(m) = c.max_len {
            parts.push(format!("max_len={m}"));
        }
        if let Some(i) = c.id {
            parts.push(format!("id={i}"));
        }
        if let Some(u) = &c.userdata {
            parts.push(format!("userdata={u}"));
        }
        if c.pause {
            parts.push("pause".into());
        }
        if let Some(m) = c.meter_id {
            parts.push(format!("meter_id={m}"));
        }
        write!(f, "{})", parts.join(","))
    }
}

impl fmt::Display for Ct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ct = self;
        f.write_str("ct(")?;
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if !std::mem::take(&mut first) {
                f.write_str(",")?;
            }
            Ok(())
        };
        if ct.commit {
            sep(f)?;
            f.write_str("commit")?;
        }
        if ct.force {
            sep(f)?;
            f.write_str("force")?;
        }
        if let Some(t) = &ct.table {
            sep(f)?;
            write!(f, "table={t}")?;
        }
        match &ct.zone {
            Some(CtZone::Imm(z)) => {
                sep(f)?;
                write!(f, "zone={z}")?;
            }
            Some(CtZone::Field(s)) => {
                sep(f)?;
                write!(f, "zone={s}")?;
            }
            None => {}
        }
        if let Some(n) = &ct.nat {
            sep(f)?;
            write!(f, "{n}")?;
        }
        if !ct.exec.is_empty() {
            sep(f)?;
            f.write_str("exec(")?;
            write_list(f, &ct.exec)?;
            f.write_str(")")?;
        }
        if let Some(a) = &ct.alg {
            sep(f)?;
            write!(f, "alg={a}")?;
        }
        for o in &ct.other {
            sep(f)?;
            f.write_str(o)?;
        }
        f.write_str(")")
    }
}

/// Writes actions comma-separated.
pub fn write_list(f: &mut fmt::Formatter<'_>, actions: &[Action]) -> fmt::Result {
    for (i, a) in actions.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{a}")?;
    }
    Ok(())
}

/// An action list printed comma-separated (empty when there are none, which means drop).
pub struct ActionList<'a>(pub &'a [Action]);

impl fmt::Display for ActionList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) -> String {
        let a = parse_actions(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let printed = ActionList(&a).to_string();
        assert_eq!(parse_actions(&printed).unwrap(), a, "{s} -> {printed}");
        printed
    }

    fn nested(depth: usize) -> String {
        let mut s = String::from("drop");
        for i in 0..depth {
            s = if i % 2 == 0 { format!("ct(commit,exec({s}))") } else { format!("clone({s})") };
        }
        s
    }

    #[test]
    fn nesting_is_bounded_like_ovs() {
        // 99 nested lists parse and print back; 100 are refused, and 5 000 do not recurse deeper.
        assert!(parse_actions(&nested(MAX_ACTION_NESTING - 1)).is_ok());
        let e = parse_actions(&nested(MAX_ACTION_NESTING)).unwrap_err();
        assert_eq!(e.kind, crate::ovs::error::ParseErrorKind::OutOfRange);
        assert!(e.message.contains("nested more than 100"), "{e}");
        assert!(parse_actions(&nested(5_000)).is_err());
        rt(&nested(MAX_ACTION_NESTING - 1));
    }

    #[test]
    fn check_pkt_larger_writes_one_bit() {
        assert_eq!(
            parse_action("check_pkt_larger(1500)->NXM_NX_REG0[0]").unwrap(),
            Action::CheckPktLarger { len: 1500, dst: SubField { field: Field::Reg(0), start: 0, len: 1 } }
        );
        assert_eq!(
            rt("check_pkt_larger(1500)->reg0[0],resubmit(,1)"),
            "check_pkt_larger(1500)->NXM_NX_REG0[0],resubmit(,1)"
        );
        assert_eq!(rt("CHECK_PKT_LARGER:100->NXM_NX_REG0[2]"), "check_pkt_larger(100)->NXM_NX_REG0[2]");
        assert!(parse_action("check_pkt_larger(1500)->reg0").unwrap_err().message.contains("one bit"));
        assert!(parse_action("check_pkt_larger(1500)").unwrap_err().message.contains("expected check_pkt_larger("));
        assert!(parse_action("check_pkt_larger(x)->reg0[0]").is_err());
        assert!(parse_action("check_pkt_larger(70000)->reg0[0]").is_err());
    }

    #[test]
    fn antrea_actions() {
        assert_eq!(
            rt("set_field:0x2/0xf->reg0,goto_table:SpoofGuard"),
            "set_field:0x2/0xf->reg0,goto_table:SpoofGuard"
        );
        assert_eq!(rt("ct(table=ConntrackState,zone=65520,nat)"), "ct(table=ConntrackState,zone=65520,nat)");
        assert_eq!(
            rt("ct(commit,table=EgressRule,zone=65520,nat(dst=10.10.2.5:8080),exec(set_field:0x10/0x10->ct_mark))"),
            "ct(commit,table=EgressRule,zone=65520,nat(dst=10.10.2.5:8080),exec(set_field:0x10/0x10->ct_mark))"
        );
        assert_eq!(rt("move:NXM_NX_REG0[0..3]->NXM_NX_CT_MARK[0..3]"), "move:NXM_NX_REG0[0..3]->NXM_NX_CT_MARK[0..3]");
        assert_eq!(rt("output:NXM_NX_REG1[]"), "output:NXM_NX_REG1[]");
        // Found by fuzzing: a quoted port name with a bracket is a port, not a sub-field.
        assert_eq!(rt("\"z >c[c_\""), "output:\"z >c[c_\"");
        assert_eq!(rt("output:\"a[1]\""), "output:\"a[1]\"");
        assert_eq!(
            rt("resubmit(,SessionAffinity),resubmit(,ServiceLB)"),
            "resubmit(,SessionAffinity),resubmit(,ServiceLB)"
        );
        assert_eq!(rt("conjunction(7,1/3)"), "conjunction(7,1/3)");
        assert_eq!(
            rt("meter:256,controller(reason=no_match,id=62373,userdata=01.01)"),
            "meter:256,controller(reason=no_match,id=62373,userdata=01.01)"
        );
        assert_eq!(rt("set_field:aa:bb:cc:dd:ee:ff->eth_src"), "set_field:aa:bb:cc:dd:ee:ff->eth_src");
        assert_eq!(rt("set_field:192.168.77.103->tun_dst"), "set_field:192.168.77.103->tun_dst");
        assert_eq!(rt("load:0x1->NXM_NX_REG0[19]"), "load:0x1->NXM_NX_REG0[19]");
        assert_eq!(rt("mod_dl_src:aa:bb:cc:dd:ee:ff"), "mod_dl_src:aa:bb:cc:dd:ee:ff");
        assert_eq!(rt("IN_PORT"), "IN_PORT");
        assert_eq!(rt("in_port,output:in_port"), "IN_PORT,IN_PORT");
        assert_eq!(rt("1,2"), "output:1,output:2");
        assert_eq!(
            rt("ct(commit,nat(src=[fe80::20c:29ff:fe88:1]-[fe80::20c:29ff:fe88:a18b]:255-4096,random))"),
            "ct(commit,nat(src=[fe80::20c:29ff:fe88:1]-[fe80::20c:29ff:fe88:a18b]:255-4096,random))"
        );
        assert_eq!(
            rt("ct(commit,nat(src=10.0.0.240-10.0.0.254:32768-65535,persistent))"),
            "ct(commit,nat(src=10.0.0.240-10.0.0.254:32768-65535,persistent))"
        );
        assert_eq!(
            rt("learn(table=1,NXM_OF_VLAN_TCI[0..11],output:NXM_OF_IN_PORT[])"),
            "learn(table=1,NXM_OF_VLAN_TCI[0..11],output:NXM_OF_IN_PORT[])"
        );
        assert!(parse_actions("conjunction(1,3/2)").is_err());
        assert!(parse_actions("move:NXM_NX_REG0[0..3]->NXM_NX_REG1[0..4]").is_err());
        assert!(parse_actions("set_field:1->nosuch").is_err());
        assert!(parse_actions("ct(commit").is_err());
    }
}
