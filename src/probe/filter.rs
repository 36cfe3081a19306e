//! The BPF capture filter that catches the probe on a node: bare (on Pod veths, the gateway, the
//! uplink without encapsulation) and inside the tunnel (Geneve via libpcap's `geneve` primitive,
//! VXLAN on ports 4789 and 8472 via explicit offsets, since libpcap 1.10 has no `vxlan` primitive).
//!
//! It matches on the tag alone (not the IP ID) so that `inject --vary-id` copies and tagged
//! replies are captured too; the analysis tells them apart by the fingerprint.

use super::tag::Tag;

/// The filter for a probe with `tag` in the given IP family.
///
/// libpcap's `and`/`or` share one precedence, so every alternative is parenthesised; the
/// `geneve` alternative comes last because that primitive shifts the offsets of what follows.
pub fn capture_filter(tag: Tag, ipv6: bool) -> String {
    let tos = tag.tos();
    let tc16 = u16::from(tag.dscp()) << 6; // DSCP inside the first 16 bits of an IPv6 header
    let inner = if ipv6 {
        format!("ip6 and ip6[0:2] & 0x0fc0 == {tc16:#06x}")
    } else {
        format!("ip and ip[1] & 0xfc == {tos}")
    };
    // VXLAN over an IPv4 underlay: UDP header (8) + VXLAN (8) + inner Ethernet (14), so the inner
    // ethertype sits at udp[28:2] and the inner IP header starts at udp[30].
    let vxlan_inner = if ipv6 {
        format!("udp[28:2] == 0x86dd and udp[30:2] & 0x0fc0 == {tc16:#06x}")
    } else {
        format!("udp[28:2] == 0x0800 and udp[31] & 0xfc == {tos}")
    };
    format!("({inner}) or (ip and (udp dst port 4789 or udp dst port 8472) and {vxlan_inner}) or (geneve and {inner})")
}

/// The tcpdump command a user runs on a node to capture the probe on every interface.
pub fn tcpdump_command(filter: &str, node: &str) -> String {
    format!("tcpdump -i any -s 0 -w {node}.pcapng '{filter}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape() {
        let f = capture_filter(Tag::new(7).unwrap(), false);
        assert!(f.starts_with("(ip and ip[1] & 0xfc == 28)"));
        assert!(f.ends_with("(geneve and ip and ip[1] & 0xfc == 28)"));
        let f6 = capture_filter(Tag::new(7).unwrap(), true);
        assert!(f6.contains("ip6[0:2] & 0x0fc0 == 0x01c0"));
    }
}
