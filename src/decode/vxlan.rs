//! VXLAN (RFC 7348; UDP 4789 and Linux's legacy 8472) and VXLAN-GPE (UDP 4790, with a next
//! protocol), optionally carrying NSH (RFC 8300).

use super::bytes::{u24_at, u8_at};

/// IANA VXLAN port.
pub const PORT: u16 = 4789;
/// The port the Linux kernel used before IANA assigned one.
pub const LINUX_PORT: u16 = 8472;
/// IANA VXLAN-GPE port.
pub const GPE_PORT: u16 = 4790;

/// What follows a VXLAN(-GPE) or NSH header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// An Ethernet frame.
    Ethernet,
    /// An IPv4 packet.
    Ipv4,
    /// An IPv6 packet.
    Ipv6,
    /// An NSH header.
    Nsh,
}

fn next_protocol(code: u8) -> Option<Next> {
    match code {
        1 => Some(Next::Ipv4),
        2 => Some(Next::Ipv6),
        3 => Some(Next::Ethernet),
        4 => Some(Next::Nsh),
        _ => None,
    }
}

/// Parses a VXLAN header (I flag required); returns the VNI and the inner Ethernet frame.
pub fn parse(b: &[u8]) -> Option<(u32, &[u8])> {
    let flags = u8_at(b, 0)?;
    if flags & 0x08 == 0 {
        return None;
    }
    Some((u24_at(b, 4)?, b.get(8..)?))
}

/// Parses a VXLAN-GPE header; returns the VNI, the next protocol and the payload. The next
/// protocol field is followed whether or not the P flag is set, as tcpdump and Wireshark do
/// (senders that leave P clear still fill it in); a value that names no protocol ends the
/// decoding here.
pub fn parse_gpe(b: &[u8]) -> Option<(u32, Next, &[u8])> {
    let next = next_protocol(u8_at(b, 3)?)?;
    Some((u24_at(b, 4)?, next, b.get(8..)?))
}

/// Parses an NSH header (RFC 8300); returns the next protocol and the payload after the whole
/// header (its length field counts 4-byte words).
pub fn parse_nsh(b: &[u8]) -> Option<(Next, &[u8])> {
    let len_words = (u8_at(b, 1)? & 0x3f) as usize;
    if len_words < 2 {
        return None;
    }
    let next = next_protocol(u8_at(b, 3)?)?;
    Some((next, b.get(len_words * 4..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vxlan_gpe_nsh() {
        assert_eq!(parse(&[0x08, 0, 0, 0, 0, 0, 100, 0, 0xee]), Some((100, &[0xee][..])));
        assert_eq!(parse(&[0x00, 0, 0, 0, 0, 0, 100, 0]), None);
        let (vni, next, rest) = parse_gpe(&[0x0c, 0, 0, 4, 0xff, 0xff, 0xff, 0, 9]).unwrap();
        assert_eq!((vni, next, rest), (0xffffff, Next::Nsh, &[9][..]));
        // P clear: the next protocol is still followed; 0 names none.
        assert_eq!(parse_gpe(&[0x08, 0, 0, 1, 0, 0, 5, 0]).map(|g| g.1), Some(Next::Ipv4));
        assert_eq!(parse_gpe(&[0x08, 0, 0, 0, 0, 0, 5, 0]), None);
        let nsh =
            [0x0f, 0xc6, 0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x45];
        assert_eq!(parse_nsh(&nsh), Some((Next::Ipv4, &[0x45][..])));
        assert_eq!(parse_nsh(&nsh[..3]), None);
    }
}
