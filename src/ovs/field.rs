//! The OpenFlow fields OVS knows (its "meta-flow" fields): names as `ovs-ofctl` prints and
//! accepts them, NXM/OXM names used in `load`/`move`/`output:` sub-fields, widths, whether a mask
//! is allowed, how values are written, and the prerequisites a match on the field needs. Both the
//! flow parser and the pipeline simulator work from this one table.

use serde::{Serialize, Serializer};
use std::fmt;

/// How a field's values are written in flow text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Integer printed in decimal.
    Dec,
    /// Integer printed in hex.
    Hex,
    /// Ethernet address.
    Mac,
    /// IPv4 address (prefix or mask).
    Ipv4,
    /// IPv6 address (prefix or mask).
    Ipv6,
    /// OpenFlow port (number, reserved name or quoted port name).
    Port,
    /// `ct_state` flags.
    CtState,
    /// `tcp_flags` flags.
    TcpFlags,
    /// `nw_frag` keywords.
    Frag,
    /// `tun_flags` flags.
    TunFlags,
    /// Kept as text (Geneve options).
    Text,
}

/// What a packet must be for a match on a field to make sense (OVS rejects the flow otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Prereq {
    /// Always matchable.
    None,
    /// VLAN-tagged.
    Vlan,
    /// MPLS (`mpls`/`mplsm`).
    Mpls,
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// IPv4 or IPv6.
    Ip,
    /// ARP or RARP.
    Arp,
    /// TCP over IPv4 or IPv6.
    Tcp,
    /// UDP over IPv4 or IPv6.
    Udp,
    /// SCTP over IPv4 or IPv6.
    Sctp,
    /// ICMPv4.
    Icmp,
    /// ICMPv6.
    Icmpv6,
    /// IPv6 neighbour discovery (ICMPv6 type 135/136).
    Nd,
    /// Conntrack-tracked IPv4 connection.
    CtIpv4,
    /// Conntrack-tracked IPv6 connection.
    CtIpv6,
}

/// The static description of one field.
#[derive(Clone, Copy, Debug)]
pub struct FieldInfo {
    /// The field.
    pub field: Field,
    /// Name `ovs-ofctl dump-flows` prints in a match.
    pub name: &'static str,
    /// Other accepted spellings.
    pub aliases: &'static [&'static str],
    /// NXM or OXM name used in sub-field references (`NXM_NX_REG0[0..3]`), if any.
    pub nxm: Option<&'static str>,
    /// Width in bits.
    pub bits: u16,
    /// Whether a match may carry a mask.
    pub maskable: bool,
    /// Whether OpenFlow can match it at all (false for datapath-only fields).
    pub matchable: bool,
    /// Value syntax.
    pub format: Format,
    /// Prerequisite.
    pub prereq: Prereq,
}

/// Defines [`Field`], the table of fixed fields ([`FIXED`]) and the lookups by field and by
/// name from one list: each row is a field with its `ovs-ofctl` name, other accepted names,
/// NXM/OXM name, width, whether it is maskable, value syntax, prerequisite, and `unmatchable`
/// for datapath-only fields.
macro_rules! fields {
    ($( $(#[$doc:meta])* $v:ident = $name:literal [$($alias:literal),*] $nxm:expr, $bits:literal, $mask:literal,
        $fmt:ident, $pre:ident $(, $unmatchable:ident)?; )*) => {
        /// One OpenFlow field. Registers carry their index; L4 ports are per protocol (as in OVS), the
        /// `tp_src`/`tp_dst` spellings resolve to the protocol the match names.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $( $(#[$doc])* $v, )*
            /// Geneve option `tun_metadataN` (up to 124 bytes; values are kept as text).
            TunMetadata(u8),
            /// 32-bit register `regN` (N < 32).
            Reg(u8),
            /// 64-bit register `xregN` = reg(2N) (high half) and reg(2N+1) (low half).
            Xreg(u8),
            /// 128-bit register `xxregN` = reg(4N)..reg(4N+3).
            Xxreg(u8),
        }

        /// Positions of the fixed fields in [`FIXED`].
        #[repr(usize)]
        enum FixedIndex {
            $( $v, )*
        }

        /// Every fixed (non-indexed) field.
        static FIXED: &[FieldInfo] = &[
            $( FieldInfo {
                field: Field::$v,
                name: $name,
                aliases: &[$($alias),*],
                nxm: $nxm,
                bits: $bits,
                maskable: $mask,
                matchable: fields!(@matchable $($unmatchable)?),
                format: Format::$fmt,
                prereq: Prereq::$pre,
            }, )*
        ];

        /// Position of a fixed field in [`FIXED`].
        fn fixed_index(f: Field) -> Option<usize> {
            match f {
                $( Field::$v => Some(FixedIndex::$v as usize), )*
                _ => None,
            }
        }

        /// A fixed field by its name or alias.
        fn fixed_from_name(name: &str) -> Option<Field> {
            Some(match name {
                $( $name => Field::$v, $( $alias => Field::$v, )* )*
                _ => return None,
            })
        }
    };
    (@matchable) => { true };
    (@matchable unmatchable) => { false };
}

fields! {
    /// Tunnel id / VNI (`tun_id`, `tunnel_id`).
    TunId = "tun_id" ["tunnel_id"] Some("NXM_NX_TUN_ID"), 64, true, Hex, None;
    /// Outer IPv4 source of the tunnel.
    TunSrc = "tun_src" [] Some("NXM_NX_TUN_IPV4_SRC"), 32, true, Ipv4, None;
    /// Outer IPv4 destination of the tunnel.
    TunDst = "tun_dst" [] Some("NXM_NX_TUN_IPV4_DST"), 32, true, Ipv4, None;
    /// Outer IPv6 source.
    TunIpv6Src = "tun_ipv6_src" [] Some("NXM_NX_TUN_IPV6_SRC"), 128, true, Ipv6, None;
    /// Outer IPv6 destination.
    TunIpv6Dst = "tun_ipv6_dst" [] Some("NXM_NX_TUN_IPV6_DST"), 128, true, Ipv6, None;
    /// VXLAN-GBP group policy id.
    TunGbpId = "tun_gbp_id" [] Some("NXM_NX_TUN_GBP_ID"), 16, true, Hex, None;
    /// VXLAN-GBP flags.
    TunGbpFlags = "tun_gbp_flags" [] Some("NXM_NX_TUN_GBP_FLAGS"), 8, true, Hex, None;
    /// ERSPAN index.
    TunErspanIdx = "tun_erspan_idx" [] None, 20, true, Hex, None;
    /// ERSPAN version.
    TunErspanVer = "tun_erspan_ver" [] None, 8, true, Hex, None;
    /// ERSPAN direction.
    TunErspanDir = "tun_erspan_dir" [] None, 8, true, Hex, None;
    /// ERSPAN hardware id.
    TunErspanHwid = "tun_erspan_hwid" [] None, 8, true, Hex, None;
    /// GTP-U flags.
    TunGtpuFlags = "tun_gtpu_flags" [] None, 8, true, Hex, None;
    /// GTP-U message type.
    TunGtpuMsgtype = "tun_gtpu_msgtype" [] None, 8, true, Dec, None;
    /// Tunnel flags (`+oam`).
    TunFlags = "tun_flags" [] Some("NXM_NX_TUN_FLAGS"), 16, true, TunFlags, None;
    /// Outer TOS (datapath only: not matchable in OpenFlow).
    TunTos = "tun_tos" [] None, 8, false, Dec, None, unmatchable;
    /// Outer TTL (datapath only).
    TunTtl = "tun_ttl" [] None, 8, false, Dec, None, unmatchable;
    /// OpenFlow metadata (64 bits, `write_metadata`).
    Metadata = "metadata" [] Some("OXM_OF_METADATA"), 64, true, Hex, None;
    /// Ingress port.
    InPort = "in_port" [] Some("NXM_OF_IN_PORT"), 16, false, Port, None;
    /// Output port in the action set.
    ActsetOutput = "actset_output" [] None, 32, false, Port, None;
    /// Linux skb priority (datapath only).
    SkbPriority = "skb_priority" [] None, 32, false, Hex, None, unmatchable;
    /// Linux skb mark.
    PktMark = "pkt_mark" [] Some("NXM_NX_PKT_MARK"), 32, true, Hex, None;
    /// Connection tracking state bits (`+new+trk`).
    CtState = "ct_state" [] Some("NXM_NX_CT_STATE"), 32, true, CtState, None;
    /// Conntrack zone.
    CtZone = "ct_zone" [] Some("NXM_NX_CT_ZONE"), 16, false, Dec, None;
    /// Conntrack mark (32 bits).
    CtMark = "ct_mark" [] Some("NXM_NX_CT_MARK"), 32, true, Hex, None;
    /// Conntrack label (128 bits).
    CtLabel = "ct_label" [] Some("NXM_NX_CT_LABEL"), 128, true, Hex, None;
    /// Original-direction IPv4 source of the connection.
    CtNwSrc = "ct_nw_src" [] Some("NXM_NX_CT_NW_SRC"), 32, true, Ipv4, CtIpv4;
    /// Original-direction IPv4 destination of the connection (pre-DNAT).
    CtNwDst = "ct_nw_dst" [] Some("NXM_NX_CT_NW_DST"), 32, true, Ipv4, CtIpv4;
    /// Original-direction IPv6 source.
    CtIpv6Src = "ct_ipv6_src" [] Some("NXM_NX_CT_IPV6_SRC"), 128, true, Ipv6, CtIpv6;
    /// Original-direction IPv6 destination.
    CtIpv6Dst = "ct_ipv6_dst" [] Some("NXM_NX_CT_IPV6_DST"), 128, true, Ipv6, CtIpv6;
    /// Original-direction IP protocol.
    CtNwProto = "ct_nw_proto" [] Some("NXM_NX_CT_NW_PROTO"), 8, false, Dec, None;
    /// Original-direction L4 source port.
    CtTpSrc = "ct_tp_src" [] Some("NXM_NX_CT_TP_SRC"), 16, true, Dec, None;
    /// Original-direction L4 destination port.
    CtTpDst = "ct_tp_dst" [] Some("NXM_NX_CT_TP_DST"), 16, true, Dec, None;
    /// Conjunction id (set by a completed `conjunction` match).
    ConjId = "conj_id" [] None, 32, false, Dec, None;
    /// Datapath hash.
    DpHash = "dp_hash" [] Some("NXM_NX_DP_HASH"), 32, true, Hex, None;
    /// Recirculation id.
    RecircId = "recirc_id" [] Some("NXM_NX_RECIRC_ID"), 32, false, Dec, None;
    /// Ethernet source.
    EthSrc = "dl_src" ["eth_src"] Some("NXM_OF_ETH_SRC"), 48, true, Mac, None;
    /// Ethernet destination.
    EthDst = "dl_dst" ["eth_dst"] Some("NXM_OF_ETH_DST"), 48, true, Mac, None;
    /// Ethertype.
    EthType = "dl_type" ["eth_type"] Some("NXM_OF_ETH_TYPE"), 16, false, Hex, None;
    /// 802.1Q TCI (with the CFI/present bit 0x1000).
    VlanTci = "vlan_tci" [] Some("NXM_OF_VLAN_TCI"), 16, true, Hex, None;
    /// VLAN id, OpenFlow 1.0 style (12 bits).
    DlVlan = "dl_vlan" [] None, 12, false, Dec, None;
    /// VLAN priority, OpenFlow 1.0 style.
    DlVlanPcp = "dl_vlan_pcp" [] None, 3, false, Dec, None;
    /// VLAN id, OpenFlow 1.2 style (13 bits with OFPVID_PRESENT).
    VlanVid = "vlan_vid" [] Some("OXM_OF_VLAN_VID"), 12, true, Dec, None;
    /// VLAN priority, OpenFlow 1.2 style.
    VlanPcp = "vlan_pcp" [] Some("OXM_OF_VLAN_PCP"), 3, false, Dec, Vlan;
    /// MPLS label.
    MplsLabel = "mpls_label" [] Some("OXM_OF_MPLS_LABEL"), 20, false, Dec, Mpls;
    /// MPLS traffic class.
    MplsTc = "mpls_tc" [] Some("OXM_OF_MPLS_TC"), 3, false, Dec, Mpls;
    /// MPLS bottom of stack.
    MplsBos = "mpls_bos" [] Some("OXM_OF_MPLS_BOS"), 1, false, Dec, Mpls;
    /// MPLS TTL.
    MplsTtl = "mpls_ttl" [] Some("NXM_NX_MPLS_TTL"), 8, false, Dec, Mpls;
    /// IPv4 source.
    IpSrc = "nw_src" ["ip_src"] Some("NXM_OF_IP_SRC"), 32, true, Ipv4, Ipv4;
    /// IPv4 destination.
    IpDst = "nw_dst" ["ip_dst"] Some("NXM_OF_IP_DST"), 32, true, Ipv4, Ipv4;
    /// IPv6 source.
    Ipv6Src = "ipv6_src" [] Some("NXM_NX_IPV6_SRC"), 128, true, Ipv6, Ipv6;
    /// IPv6 destination.
    Ipv6Dst = "ipv6_dst" [] Some("NXM_NX_IPV6_DST"), 128, true, Ipv6, Ipv6;
    /// IPv6 flow label.
    Ipv6Label = "ipv6_label" [] Some("NXM_NX_IPV6_LABEL"), 20, true, Hex, Ipv6;
    /// IP protocol.
    NwProto = "nw_proto" ["ip_proto"] Some("NXM_OF_IP_PROTO"), 8, false, Dec, Ip;
    /// IP TOS byte (DSCP << 2; ECN bits must be 0 in a match).
    NwTos = "nw_tos" [] Some("NXM_OF_IP_TOS"), 8, false, Dec, Ip;
    /// IP DSCP (6 bits).
    IpDscp = "ip_dscp" [] Some("OXM_OF_IP_DSCP"), 6, false, Dec, Ip;
    /// IP ECN (2 bits).
    NwEcn = "nw_ecn" ["ip_ecn"] Some("NXM_NX_IP_ECN"), 2, false, Dec, Ip;
    /// IP TTL / hop limit.
    NwTtl = "nw_ttl" [] Some("NXM_NX_IP_TTL"), 8, false, Dec, Ip;
    /// Fragment state (`no`, `first`, `later`, ...).
    NwFrag = "nw_frag" ["ip_frag"] Some("NXM_NX_IP_FRAG"), 2, true, Frag, Ip;
    /// ARP opcode.
    ArpOp = "arp_op" [] Some("NXM_OF_ARP_OP"), 16, false, Dec, Arp;
    /// ARP sender protocol address.
    ArpSpa = "arp_spa" [] Some("NXM_OF_ARP_SPA"), 32, true, Ipv4, Arp;
    /// ARP target protocol address.
    ArpTpa = "arp_tpa" [] Some("NXM_OF_ARP_TPA"), 32, true, Ipv4, Arp;
    /// ARP sender hardware address.
    ArpSha = "arp_sha" [] Some("NXM_NX_ARP_SHA"), 48, true, Mac, Arp;
    /// ARP target hardware address.
    ArpTha = "arp_tha" [] Some("NXM_NX_ARP_THA"), 48, true, Mac, Arp;
    /// TCP source port.
    TcpSrc = "tcp_src" [] Some("NXM_OF_TCP_SRC"), 16, true, Dec, Tcp;
    /// TCP destination port.
    TcpDst = "tcp_dst" [] Some("NXM_OF_TCP_DST"), 16, true, Dec, Tcp;
    /// UDP source port.
    UdpSrc = "udp_src" [] Some("NXM_OF_UDP_SRC"), 16, true, Dec, Udp;
    /// UDP destination port.
    UdpDst = "udp_dst" [] Some("NXM_OF_UDP_DST"), 16, true, Dec, Udp;
    /// SCTP source port.
    SctpSrc = "sctp_src" [] Some("OXM_OF_SCTP_SRC"), 16, true, Dec, Sctp;
    /// SCTP destination port.
    SctpDst = "sctp_dst" [] Some("OXM_OF_SCTP_DST"), 16, true, Dec, Sctp;
    /// TCP flags (12 bits).
    TcpFlags = "tcp_flags" [] Some("NXM_NX_TCP_FLAGS"), 12, true, TcpFlags, Tcp;
    /// ICMPv4 type.
    IcmpType = "icmp_type" [] Some("NXM_OF_ICMP_TYPE"), 8, false, Dec, Icmp;
    /// ICMPv4 code.
    IcmpCode = "icmp_code" [] Some("NXM_OF_ICMP_CODE"), 8, false, Dec, Icmp;
    /// ICMPv6 type.
    Icmpv6Type = "icmpv6_type" [] Some("NXM_NX_ICMPV6_TYPE"), 8, false, Dec, Icmpv6;
    /// ICMPv6 code.
    Icmpv6Code = "icmpv6_code" [] Some("NXM_NX_ICMPV6_CODE"), 8, false, Dec, Icmpv6;
    /// IPv6 ND target.
    NdTarget = "nd_target" [] Some("NXM_NX_ND_TARGET"), 128, true, Ipv6, Nd;
    /// IPv6 ND source link-layer address.
    NdSll = "nd_sll" [] Some("NXM_NX_ND_SLL"), 48, true, Mac, Nd;
    /// IPv6 ND target link-layer address.
    NdTll = "nd_tll" [] Some("NXM_NX_ND_TLL"), 48, true, Mac, Nd;
    /// IPv6 ND reserved field.
    NdReserved = "nd_reserved" [] None, 32, true, Dec, Nd;
    /// IPv6 ND option type.
    NdOptionsType = "nd_options_type" [] None, 8, true, Dec, Nd;
}

/// Number of 32-bit registers OVS has.
pub const N_REGS: u8 = 32;

const fn indexed_info(field: Field, bits: u16, format: Format) -> FieldInfo {
    FieldInfo {
        field,
        name: "",
        aliases: &[],
        nxm: None,
        bits,
        maskable: true,
        matchable: true,
        format,
        prereq: Prereq::None,
    }
}

/// The descriptions of `N` indexed fields (`reg0`..), built at compile time so that
/// [`Field::info`] can hand out a reference for every field.
const fn indexed_infos<const N: usize>(first: Field) -> [FieldInfo; N] {
    let (bits, format) = match first {
        Field::Reg(_) => (32, Format::Hex),
        Field::Xreg(_) => (64, Format::Hex),
        Field::Xxreg(_) => (128, Format::Hex),
        _ => (992, Format::Text),
    };
    let mut out = [indexed_info(first, bits, format); N];
    let mut i = 0;
    while i < N {
        out[i].field = match first {
            Field::Reg(_) => Field::Reg(i as u8),
            Field::Xreg(_) => Field::Xreg(i as u8),
            Field::Xxreg(_) => Field::Xxreg(i as u8),
            _ => Field::TunMetadata(i as u8),
        };
        i += 1;
    }
    out
}

static REG_INFO: [FieldInfo; N_REGS as usize] = indexed_infos(Field::Reg(0));
static XREG_INFO: [FieldInfo; N_REGS as usize / 2] = indexed_infos(Field::Xreg(0));
static XXREG_INFO: [FieldInfo; N_REGS as usize / 4] = indexed_infos(Field::Xxreg(0));
static TUN_METADATA_INFO: [FieldInfo; 64] = indexed_infos(Field::TunMetadata(0));

impl Field {
    /// The field's static description.
    pub fn info(self) -> &'static FieldInfo {
        // An index past the last register still has its kind's width and syntax.
        let indexed = |table: &'static [FieldInfo], n: u8| table.get(usize::from(n)).or(table.first());
        let found = match self {
            Field::Reg(n) => indexed(&REG_INFO, n),
            Field::Xreg(n) => indexed(&XREG_INFO, n),
            Field::Xxreg(n) => indexed(&XXREG_INFO, n),
            Field::TunMetadata(n) => indexed(&TUN_METADATA_INFO, n),
            _ => fixed_index(self).and_then(|i| FIXED.get(i)),
        };
        found.unwrap_or(&FIXED[0])
    }

    /// Width in bits.
    pub fn bits(self) -> u16 {
        self.info().bits
    }

    /// All-ones mask of the field's width.
    pub fn full_mask(self) -> u128 {
        let b = self.bits().min(128);
        if b >= 128 {
            u128::MAX
        } else {
            (1u128 << b) - 1
        }
    }

    /// Value syntax.
    pub fn format(self) -> Format {
        self.info().format
    }

    /// Prerequisite of a match on this field.
    pub fn prereq(self) -> Prereq {
        self.info().prereq
    }

    /// The name a match prints (`nw_src`, `reg3`, `tp_dst` for L4 ports as `ovs-ofctl` does).
    pub fn match_name(self) -> NameBuf {
        match self {
            Field::TcpSrc | Field::UdpSrc | Field::SctpSrc => NameBuf::Static("tp_src"),
            Field::TcpDst | Field::UdpDst | Field::SctpDst => NameBuf::Static("tp_dst"),
            _ => self.name(),
        }
    }

    /// The field's own name (`tcp_src`, `eth_src` style for L4 ports and registers).
    pub fn name(self) -> NameBuf {
        match self {
            Field::Reg(n) => NameBuf::Indexed("reg", n),
            Field::Xreg(n) => NameBuf::Indexed("xreg", n),
            Field::Xxreg(n) => NameBuf::Indexed("xxreg", n),
            Field::TunMetadata(n) => NameBuf::Indexed("tun_metadata", n),
            _ => NameBuf::Static(self.info().name),
        }
    }

    /// OVS's canonical name (what `set_field:...->NAME` prints): `eth_src` rather than the
    /// OpenFlow 1.0 spelling `dl_src` a match prints.
    pub fn canonical_name(self) -> NameBuf {
        match self {
            Field::EthSrc => NameBuf::Static("eth_src"),
            Field::EthDst => NameBuf::Static("eth_dst"),
            Field::EthType => NameBuf::Static("eth_type"),
            Field::IpSrc => NameBuf::Static("ip_src"),
            Field::IpDst => NameBuf::Static("ip_dst"),
            Field::NwFrag => NameBuf::Static("ip_frag"),
            _ => self.name(),
        }
    }

    /// The name used in sub-field references: NXM/OXM name when one exists.
    pub fn nxm_name(self) -> NameBuf {
        match self {
            Field::Reg(n) => NameBuf::Indexed("NXM_NX_REG", n),
            Field::Xreg(n) => NameBuf::Indexed("OXM_OF_PKT_REG", n),
            Field::Xxreg(n) => NameBuf::Indexed("NXM_NX_XXREG", n),
            Field::TunMetadata(n) => NameBuf::Indexed("NXM_NX_TUN_METADATA", n),
            _ => match self.info().nxm {
                Some(n) => NameBuf::Static(n),
                None => self.name(),
            },
        }
    }

    /// Looks up a field by any of its names (case-sensitive for ovs names, case-insensitive for
    /// NXM/OXM names, which OVS also accepts with a trailing `_W`).
    pub fn from_name(name: &str) -> Option<Field> {
        match name {
            "tp_src" => return Some(Field::TcpSrc),
            "tp_dst" => return Some(Field::TcpDst),
            _ => {}
        }
        if let Some(f) = fixed_from_name(name) {
            return Some(f);
        }
        if let Some(f) = indexed_from(name) {
            return Some(f);
        }
        let upper = name.strip_suffix("_W").unwrap_or(name);
        if upper.starts_with("NXM_") || upper.starts_with("OXM_") {
            return nxm_from_name(upper);
        }
        None
    }
}

/// The field an NXM/OXM name (any case, without `_W`) stands for: the table's own names first,
/// then [`EXTRA_NXM`]. Looked up in a map built on first use (`move` and `load` actions name
/// their fields this way; a linear scan of the table was a tenth of parsing an Antrea dump).
fn nxm_from_name(name: &str) -> Option<Field> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static BY_NAME: OnceLock<HashMap<&'static str, Field>> = OnceLock::new();
    let map = BY_NAME.get_or_init(|| {
        let mut m = HashMap::new();
        let table = FIXED.iter().filter_map(|i| Some((i.nxm?, i.field)));
        for (n, f) in table.chain(EXTRA_NXM.iter().copied()) {
            m.entry(n).or_insert(f);
        }
        m
    });
    let mut buf = [0u8; 32];
    let upper = buf.get_mut(..name.len())?;
    upper.copy_from_slice(name.as_bytes());
    upper.make_ascii_uppercase();
    map.get(std::str::from_utf8(upper).ok()?).copied()
}

/// NXM/OXM spellings not in the table (OXM aliases of fields the table names by NXM).
const EXTRA_NXM: &[(&str, Field)] = &[
    ("OXM_OF_IN_PORT", Field::InPort),
    ("OXM_OF_ETH_SRC", Field::EthSrc),
    ("OXM_OF_ETH_DST", Field::EthDst),
    ("OXM_OF_ETH_TYPE", Field::EthType),
    ("OXM_OF_IPV4_SRC", Field::IpSrc),
    ("OXM_OF_IPV4_DST", Field::IpDst),
    ("OXM_OF_IPV6_SRC", Field::Ipv6Src),
    ("OXM_OF_IPV6_DST", Field::Ipv6Dst),
    ("OXM_OF_IP_PROTO", Field::NwProto),
    ("OXM_OF_IP_ECN", Field::NwEcn),
    ("OXM_OF_TCP_SRC", Field::TcpSrc),
    ("OXM_OF_TCP_DST", Field::TcpDst),
    ("OXM_OF_UDP_SRC", Field::UdpSrc),
    ("OXM_OF_UDP_DST", Field::UdpDst),
    ("OXM_OF_ARP_OP", Field::ArpOp),
    ("OXM_OF_ARP_SPA", Field::ArpSpa),
    ("OXM_OF_ARP_TPA", Field::ArpTpa),
    ("OXM_OF_ARP_SHA", Field::ArpSha),
    ("OXM_OF_ARP_THA", Field::ArpTha),
    ("OXM_OF_TUNNEL_ID", Field::TunId),
    ("NXM_NX_TUN_IPV4_SRC", Field::TunSrc),
    ("NXM_NX_TUN_IPV4_DST", Field::TunDst),
];

fn indexed_from(name: &str) -> Option<Field> {
    let split = |prefix: &str, max: u8| -> Option<u8> {
        let rest = name.strip_prefix(prefix)?;
        if rest.is_empty() || rest.len() > 3 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u8 = rest.parse().ok()?;
        (n < max).then_some(n)
    };
    let upper = name.strip_suffix("_W").unwrap_or(name);
    if let Some(n) = split("reg", N_REGS) {
        return Some(Field::Reg(n));
    }
    if let Some(n) = split("xreg", N_REGS / 2) {
        return Some(Field::Xreg(n));
    }
    if let Some(n) = split("xxreg", N_REGS / 4) {
        return Some(Field::Xxreg(n));
    }
    if let Some(n) = split("tun_metadata", 64) {
        return Some(Field::TunMetadata(n));
    }
    let usplit = |prefix: &str, max: u8| -> Option<u8> {
        let rest = upper.get(prefix.len()..)?;
        if !upper[..prefix.len()].eq_ignore_ascii_case(prefix) {
            return None;
        }
        if rest.is_empty() || rest.len() > 3 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u8 = rest.parse().ok()?;
        (n < max).then_some(n)
    };
    if upper.len() > 4 {
        if let Some(n) = usplit("NXM_NX_REG", N_REGS) {
            return Some(Field::Reg(n));
        }
        if let Some(n) = usplit("OXM_OF_PKT_REG", N_REGS / 2) {
            return Some(Field::Xreg(n));
        }
        if let Some(n) = usplit("NXM_NX_XXREG", N_REGS / 4) {
            return Some(Field::Xxreg(n));
        }
        if let Some(n) = usplit("NXM_NX_TUN_METADATA", 64) {
            return Some(Field::TunMetadata(n));
        }
    }
    None
}

/// A field name without allocation: either static or `prefix` + index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameBuf {
    /// A fixed name.
    Static(&'static str),
    /// `prefix` followed by a decimal index.
    Indexed(&'static str, u8),
}

impl fmt::Display for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameBuf::Static(s) => f.write_str(s),
            NameBuf::Indexed(p, n) => write!(f, "{p}{n}"),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.name().fmt(f)
    }
}

impl Serialize for Field {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `ct_state` bits, in the order OVS prints them.
pub const CT_STATE_FLAGS: &[(&str, u32)] = &[
    ("new", 0x01),
    ("est", 0x02),
    ("rel", 0x04),
    ("rpl", 0x08),
    ("inv", 0x10),
    ("trk", 0x20),
    ("snat", 0x40),
    ("dnat", 0x80),
];

/// `tcp_flags` bits, in the order OVS prints them.
pub const TCP_FLAGS: &[(&str, u32)] = &[
    ("fin", 0x001),
    ("syn", 0x002),
    ("rst", 0x004),
    ("psh", 0x008),
    ("ack", 0x010),
    ("urg", 0x020),
    ("ece", 0x040),
    ("cwr", 0x080),
    ("ns", 0x100),
];

/// `tun_flags` bits.
pub const TUN_FLAGS: &[(&str, u32)] = &[("oam", 0x1)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_both_ways() {
        assert_eq!(Field::from_name("reg0"), Some(Field::Reg(0)));
        assert_eq!(Field::from_name("NXM_NX_REG15"), Some(Field::Reg(15)));
        assert_eq!(Field::from_name("xxreg3"), Some(Field::Xxreg(3)));
        assert_eq!(Field::from_name("xxreg8"), None);
        assert_eq!(Field::from_name("dl_src"), Some(Field::EthSrc));
        assert_eq!(Field::from_name("NXM_OF_ETH_SRC"), Some(Field::EthSrc));
        assert_eq!(Field::from_name("NXM_NX_CT_LABEL"), Some(Field::CtLabel));
        assert_eq!(Field::from_name("nosuch"), None);
        for (n, i) in FIXED.iter().enumerate() {
            assert_eq!(fixed_index(i.field), Some(n));
            assert_eq!(Field::from_name(i.name), Some(i.field), "{}", i.name);
            if let Some(n) = i.nxm {
                assert_eq!(Field::from_name(n), Some(i.field), "{n}");
            }
        }
        assert_eq!(Field::Reg(3).nxm_name().to_string(), "NXM_NX_REG3");
        assert_eq!(Field::CtLabel.full_mask(), u128::MAX);
        assert_eq!(Field::Reg(1).full_mask(), 0xffff_ffff);
    }
}
