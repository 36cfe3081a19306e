//! The protocol numbers every stage shares: EtherTypes (IEEE 802 registry) and IP protocol
//! numbers (IANA), named once so no module compares against a bare `0x86dd`.

/// EtherTypes (also used as the protocol field of Geneve, GRE and Linux cooked headers).
pub mod ether_type {
    /// Reverse ARP.
    pub const RARP: u16 = 0x8035;
    /// MPLS unicast.
    pub const MPLS: u16 = 0x8847;
    /// MPLS multicast.
    pub const MPLS_MULTICAST: u16 = 0x8848;
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service tag (QinQ).
    pub const QINQ: u16 = 0x88a8;
    /// Transparent Ethernet bridging: an Ethernet frame follows (Geneve, GRE).
    pub const TEB: u16 = 0x6558;
    /// ERSPAN type II.
    pub const ERSPAN_II: u16 = 0x88be;
    /// ERSPAN type III.
    pub const ERSPAN_III: u16 = 0x22eb;
}

/// IP protocol numbers (IPv4 protocol, IPv6 next header).
pub mod ip_proto {
    /// IPv6 hop-by-hop options extension header.
    pub const HOPOPT: u8 = 0;
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IPv4 encapsulated in IP (IP-in-IP, "4in4" / "4in6").
    pub const IPV4: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 encapsulated in IP ("6in4" / "6in6").
    pub const IPV6: u8 = 41;
    /// IPv6 routing extension header.
    pub const IPV6_ROUTE: u8 = 43;
    /// IPv6 fragment extension header.
    pub const IPV6_FRAG: u8 = 44;
    /// GRE.
    pub const GRE: u8 = 47;
    /// IPsec authentication header (an IPv6 extension header with 4-byte length units).
    pub const AH: u8 = 51;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 destination options extension header.
    pub const IPV6_OPTS: u8 = 60;
    /// SCTP.
    pub const SCTP: u8 = 132;
}
