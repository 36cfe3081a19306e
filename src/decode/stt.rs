//! STT (draft-davie-stt, TCP port 7471): a TCP-like header whose first segment carries an
//! 18-byte STT header (with a 64-bit context id) and then an Ethernet frame.

use super::bytes::{u16_at, u64_at, u8_at};

/// The TCP destination port STT uses.
pub const PORT: u16 = 7471;

/// A decoded STT frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SttHeader {
    /// Context id (the tunnel key).
    pub context_id: u64,
    /// VLAN TCI, when the V flag is set.
    pub vlan_tci: Option<u16>,
}

impl SttHeader {
    /// Parses the STT header that follows the TCP header of the first segment (`payload` is the
    /// TCP payload, `fragment_offset` the low 16 bits of the TCP sequence number). Later segments
    /// carry no header and give `None`.
    pub fn parse(payload: &[u8], fragment_offset: u16) -> Option<(SttHeader, &[u8])> {
        if fragment_offset != 0 || u8_at(payload, 0)? != 0 {
            return None;
        }
        let flags = u8_at(payload, 1)?;
        let tci = u16_at(payload, 6)?;
        let h = SttHeader { context_id: u64_at(payload, 8)?, vlan_tci: (flags & 0x04 != 0).then_some(tci) };
        Some((h, payload.get(18..)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_segment_only() {
        let mut p = vec![0u8; 18];
        p[15] = 9;
        p.push(0xee);
        let (h, rest) = SttHeader::parse(&p, 0).unwrap();
        assert_eq!((h.context_id, h.vlan_tci, rest), (9, None, &[0xee][..]));
        assert!(SttHeader::parse(&p, 100).is_none());
        assert!(SttHeader::parse(&p[..10], 0).is_none());
    }
}
