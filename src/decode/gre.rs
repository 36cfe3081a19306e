//! GRE (RFC 2784 with RFC 2890 key and sequence number), including transparent Ethernet
//! bridging (0x6558) and ERSPAN type II (0x88BE) / III (0x22EB), which carry Ethernet frames.

use super::bytes::{u16_at, u32_at, u8_at};

pub use super::numbers::ether_type::{ERSPAN_II, ERSPAN_III, TEB};

/// A decoded GRE header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GreHeader {
    /// Protocol type (an EtherType).
    pub protocol: u16,
    /// Key, when the K bit is set.
    pub key: Option<u32>,
    /// Sequence number, when the S bit is set.
    pub sequence: Option<u32>,
}

impl GreHeader {
    /// Parses a version-0 GRE header without routing; returns it and the payload. For ERSPAN the
    /// payload starts after the ERSPAN header (at the mirrored Ethernet frame).
    pub fn parse(b: &[u8]) -> Option<(GreHeader, &[u8])> {
        let flags = u16_at(b, 0)?;
        let version = flags & 0x7;
        let routing = flags & 0x4000 != 0;
        if version != 0 || routing {
            return None;
        }
        let mut at = 4;
        if flags & 0x8000 != 0 {
            at += 4;
        }
        let key = if flags & 0x2000 != 0 {
            at += 4;
            Some(u32_at(b, at - 4)?)
        } else {
            None
        };
        let sequence = if flags & 0x1000 != 0 {
            at += 4;
            Some(u32_at(b, at - 4)?)
        } else {
            None
        };
        let h = GreHeader { protocol: u16_at(b, 2)?, key, sequence };
        let mut payload = b.get(at..)?;
        match h.protocol {
            ERSPAN_II if sequence.is_some() => payload = payload.get(8..)?,
            ERSPAN_III => {
                let optional = u8_at(payload, 11)? & 0x01 != 0;
                payload = payload.get(if optional { 20 } else { 12 }..)?;
            }
            _ => {}
        }
        Some((h, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_sequence() {
        let p = [0x30, 0x00, 0x65, 0x58, 0, 0, 0, 42, 0, 0, 0, 7, 0xee];
        let (h, rest) = GreHeader::parse(&p).unwrap();
        assert_eq!((h.protocol, h.key, h.sequence, rest), (TEB, Some(42), Some(7), &[0xee][..]));
        let (h, rest) = GreHeader::parse(&[0x80, 0, 0x08, 0, 0, 0, 0, 0, 0x45]).unwrap();
        assert_eq!((h.protocol, h.key, rest), (0x0800, None, &[0x45][..]));
        assert!(GreHeader::parse(&[0x00, 0x01, 0x88, 0x0b]).is_none());
        assert!(GreHeader::parse(&[0x20, 0, 0x65, 0x58, 0, 0]).is_none());
    }
}
