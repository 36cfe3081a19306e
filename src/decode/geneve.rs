//! Geneve (RFC 8926, UDP 6081): an 8-byte header plus options of any length, then an Ethernet
//! frame (protocol 0x6558) or an IP packet.

use super::bytes::{u16_at, u24_at, u8_at};

/// The IANA UDP port.
pub const PORT: u16 = 6081;

/// A validated Geneve header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneveHeader {
    /// Virtual network identifier.
    pub vni: u32,
    /// Protocol type of the payload (an EtherType; 0x6558 = Ethernet).
    pub protocol: u16,
    /// Length of the options in bytes.
    pub options_len: usize,
    /// O bit: control packet.
    pub oam: bool,
    /// C bit: critical options present.
    pub critical: bool,
}

impl GeneveHeader {
    /// Parses the header at the start of a UDP payload; `None` if it is too short or not
    /// version 0. Returns the header and the payload after the options.
    pub fn parse(b: &[u8]) -> Option<(GeneveHeader, &[u8])> {
        let first = u8_at(b, 0)?;
        if first >> 6 != 0 {
            return None;
        }
        let options_len = (first & 0x3f) as usize * 4;
        let flags = u8_at(b, 1)?;
        let h = GeneveHeader {
            vni: u24_at(b, 4)?,
            protocol: u16_at(b, 2)?,
            options_len,
            oam: flags & 0x80 != 0,
            critical: flags & 0x40 != 0,
        };
        let payload = b.get(8 + options_len..)?;
        Some((h, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_skipped() {
        let mut p = vec![0x02, 0x40, 0x65, 0x58, 0, 0, 0x0b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0xaa];
        let (h, rest) = GeneveHeader::parse(&p).unwrap();
        assert_eq!((h.vni, h.protocol, h.options_len, h.critical), (0xb, 0x6558, 8, true));
        assert_eq!(rest, &[0xaa]);
        p[0] = 0x40;
        assert!(GeneveHeader::parse(&p).is_none());
        assert!(GeneveHeader::parse(&[0x3f, 0, 0x65, 0x58, 0, 0, 0, 0]).is_none());
    }
}
