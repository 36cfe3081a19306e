//! Linux cooked capture headers (`tcpdump -i any`): SLL (LINKTYPE 113, 16 bytes) and SLL2
//! (LINKTYPE 276, 20 bytes, with the interface index). Neither is in etherparse's lax API.

use super::bytes::{u16_at, u32_at, u8_at};
use crate::capture::Direction;

/// A decoded cooked header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookedHeader {
    /// Protocol of the payload (an EtherType for IP).
    pub protocol: u16,
    /// Packet type: 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us.
    pub packet_type: u16,
    /// ARPHRD_ type of the device.
    pub hatype: u16,
    /// Link-layer source address (up to 8 bytes; Ethernet uses 6).
    pub addr: [u8; 8],
    /// Number of valid bytes in `addr`.
    pub addr_len: u8,
    /// Interface index (SLL2 only).
    pub ifindex: Option<u32>,
    /// Offset of the payload.
    pub header_len: usize,
}

impl CookedHeader {
    /// Parses an SLL (v1) header.
    pub fn parse_sll(b: &[u8]) -> Option<CookedHeader> {
        let mut addr = [0u8; 8];
        addr.copy_from_slice(b.get(6..14)?);
        Some(CookedHeader {
            packet_type: u16_at(b, 0)?,
            hatype: u16_at(b, 2)?,
            addr_len: u16_at(b, 4)?.min(8) as u8,
            addr,
            protocol: u16_at(b, 14)?,
            ifindex: None,
            header_len: 16,
        })
    }

    /// Parses an SLL2 header.
    pub fn parse_sll2(b: &[u8]) -> Option<CookedHeader> {
        let mut addr = [0u8; 8];
        addr.copy_from_slice(b.get(12..20)?);
        Some(CookedHeader {
            protocol: u16_at(b, 0)?,
            ifindex: Some(u32_at(b, 4)?),
            hatype: u16_at(b, 8)?,
            packet_type: u8_at(b, 10)? as u16,
            addr_len: u8_at(b, 11)?.min(8),
            addr,
            header_len: 20,
        })
    }

    /// Direction from the packet type (4 = outgoing; 0..=3 = received).
    pub fn direction(&self) -> Option<Direction> {
        match self.packet_type {
            0..=3 => Some(Direction::Inbound),
            4 => Some(Direction::Outbound),
            _ => None,
        }
    }

    /// The source MAC, when the address is a 6-byte Ethernet address.
    pub fn source_mac(&self) -> Option<[u8; 6]> {
        (self.addr_len == 6)
            .then(|| [self.addr[0], self.addr[1], self.addr[2], self.addr[3], self.addr[4], self.addr[5]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sll_and_sll2() {
        let sll = [0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00, 0x45];
        let h = CookedHeader::parse_sll(&sll).unwrap();
        assert_eq!(
            (h.protocol, h.direction(), h.source_mac(), h.header_len),
            (0x0800, Some(Direction::Outbound), Some([1, 2, 3, 4, 5, 6]), 16)
        );
        let sll2 = [0x86, 0xdd, 0, 0, 0, 0, 0, 7, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
        let h = CookedHeader::parse_sll2(&sll2).unwrap();
        assert_eq!((h.protocol, h.ifindex, h.direction()), (0x86dd, Some(7), Some(Direction::Inbound)));
        assert!(CookedHeader::parse_sll2(&sll2[..19]).is_none());
        assert!(CookedHeader::parse_sll(&[]).is_none());
    }
}
