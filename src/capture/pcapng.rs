//! pcapng (draft-ietf-opsawg-pcapng) blocks as byte views that never panic: the framing every
//! block shares (type, leading and trailing length), the packet blocks (Enhanced, Simple and the
//! obsolete Packet Block), the interface time resolution, and a walk over the option and
//! name-record lists that says exactly where one does not fit. Interface Description Blocks are
//! parsed with pcap-parser once the framing here has checked that the block is whole.

use super::error::ErrorKind;
use super::linktype::LinkType;
use super::sniff::PCAPNG_MAGIC;

/// Section Header Block type.
pub const SHB: u32 = 0x0a0d_0d0a;
/// Interface Description Block type.
pub const IDB: u32 = 1;
/// Obsolete Packet Block type (tcpdump and tshark still read it).
pub const OPB: u32 = 2;
/// Simple Packet Block type.
pub const SPB: u32 = 3;
/// Name Resolution Block type.
pub const NRB: u32 = 4;
/// Enhanced Packet Block type.
pub const EPB: u32 = 6;

/// The byte-order magic of a Section Header Block, as read little-endian.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// The smallest Section Header Block (no options).
pub const MIN_SHB_LEN: u32 = 28;
/// The smallest block of any type (type, two lengths).
pub const MIN_BLOCK_LEN: u32 = 12;
/// Option code of `epb_flags`.
const EPB_FLAGS: u16 = 2;

/// The name of a block type, for messages.
pub fn block_name(block_type: u32) -> &'static str {
    match block_type {
        SHB => "section header",
        IDB => "interface description",
        OPB => "packet",
        SPB => "simple packet",
        NRB => "name resolution",
        5 => "interface statistics",
        EPB => "enhanced packet",
        0x0000_0bad | 0x4000_0bad => "custom",
        0x0000_000a => "decryption secrets",
        _ => "unknown-type",
    }
}

/// Whether a block type carries a packet.
pub fn is_packet_block(block_type: u32) -> bool {
    matches!(block_type, OPB | SPB | EPB)
}

/// Reads a u32 in the section's byte order; `None` past the end.
pub fn u32_at(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian { u32::from_be_bytes(w) } else { u32::from_le_bytes(w) })
}

fn u16_at(b: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let w: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian { u16::from_be_bytes(w) } else { u16::from_le_bytes(w) })
}

/// The byte order a Section Header Block declares (`b` starts at the block): `Some(true)` for
/// big-endian, `None` when its byte-order magic is neither.
pub fn section_byte_order(b: &[u8]) -> Option<bool> {
    match u32_at(b, 8, false)? {
        BYTE_ORDER_MAGIC => Some(false),
        m if m.swap_bytes() == BYTE_ORDER_MAGIC => Some(true),
        _ => None,
    }
}

/// Whether `b` (at least 12 bytes) starts a plausible Section Header Block: its type, a valid
/// byte-order magic and a length of the right form. Used to resynchronise after damage.
pub fn looks_like_section_header(b: &[u8]) -> bool {
    if b.get(..4) != Some(&PCAPNG_MAGIC[..]) {
        return false;
    }
    let Some(big_endian) = section_byte_order(b) else { return false };
    u32_at(b, 4, big_endian).is_some_and(|len| len >= MIN_SHB_LEN && len % 4 == 0)
}

/// Checks a block's length field: at least `min`, a multiple of 4.
pub fn check_length(block_type: u32, len: u32, min: u32) -> Result<(), ErrorKind> {
    if len < min || len % 4 != 0 {
        return Err(ErrorKind::BadBlock {
            block: block_name(block_type),
            what: format!("block length {len} is not a multiple of 4 of at least {min}"),
        });
    }
    Ok(())
}

/// Timestamp units per second for an `if_tsresol` value: 10^n, or 2^n when the high bit is
/// set; `None` when the value does not fit 64 bits (10^20 and up, 2^64 and up).
pub fn units_per_second(tsresol: u8) -> Option<u64> {
    let n = tsresol & 0x7f;
    if tsresol & 0x80 != 0 {
        (n <= 63).then(|| 1u64 << n)
    } else {
        10u64.checked_pow(n as u32)
    }
}

/// Walks a list of type-length-value entries (options, or name records) in `b`, which starts
/// at byte `base` of its block; stops at an end entry (type 0) or at the end of `b`. Returns a
/// description of the first entry that does not fit, or of a list that ends without its end
/// entry when `needs_end` is set.
pub fn check_tlvs(b: &[u8], base: usize, big_endian: bool, entry: &str, needs_end: bool) -> Result<(), String> {
    let mut at = 0usize;
    while at < b.len() {
        let (Some(code), Some(len)) = (u16_at(b, at, big_endian), u16_at(b, at + 2, big_endian)) else {
            return Err(format!(
                "the {entry} at byte {} of the block has {} bytes left for its 4-byte header",
                base + at,
                b.len() - at
            ));
        };
        if code == 0 {
            return Ok(());
        }
        let padded = (len as usize).div_ceil(4) * 4;
        let room = b.len() - at - 4;
        if padded > room {
            return Err(format!(
                "the {entry} at byte {} of the block (type {code}) claims {len} bytes, but only {room} remain in the block",
                base + at
            ));
        }
        at += 4 + padded;
    }
    if needs_end {
        return Err(format!("the {entry} list ends without its end record"));
    }
    Ok(())
}

/// A packet read from a packet block.
#[derive(Clone, Debug)]
pub struct PacketView<'a> {
    /// Interface id (0 for Simple Packet Blocks).
    pub interface: u32,
    /// Raw timestamp in interface units (`None` for Simple Packet Blocks).
    pub ticks: Option<u64>,
    /// The captured bytes.
    pub data: &'a [u8],
    /// Length on the wire.
    pub orig_len: u32,
    /// `epb_flags`, when present and well-formed.
    pub flags: Option<u32>,
    /// The options area could not be walked (the packet itself is whole).
    pub bad_options: Option<String>,
}

/// Parses a whole packet block `b` (from its type to its trailing length). `snaplen` is the
/// snapshot length of the first interface, which bounds a Simple Packet Block.
pub fn parse_packet(block_type: u32, b: &[u8], big_endian: bool, snaplen: u32) -> Result<PacketView<'_>, ErrorKind> {
    let body = b.get(8..b.len().saturating_sub(4)).unwrap_or_default();
    let name = block_name(block_type);
    let bad = |what: String| ErrorKind::BadBlock { block: name, what };
    let f = |at| u32_at(body, at, big_endian);
    if block_type == SPB {
        let orig = f(0).ok_or_else(|| bad(format!("block length {} leaves no room for its fields", b.len())))?;
        let room = body.len() - 4;
        let mut caplen = (orig as usize).min(room);
        if snaplen != 0 {
            caplen = caplen.min(snaplen as usize);
        }
        return Ok(PacketView {
            interface: 0,
            ticks: None,
            data: &body[4..4 + caplen],
            orig_len: orig,
            flags: None,
            bad_options: None,
        });
    }
    let fields = 20;
    if body.len() < fields {
        return Err(bad(format!("block length {} leaves no room for its {fields} bytes of fields", b.len())));
    }
    let interface = if block_type == OPB { u16_at(body, 0, big_endian).unwrap_or(0) as u32 } else { f(0).unwrap_or(0) };
    let ticks = ((f(4).unwrap_or(0) as u64) << 32) | f(8).unwrap_or(0) as u64;
    let caplen = f(12).unwrap_or(0);
    let orig_len = f(16).unwrap_or(0);
    let room = body.len() - fields;
    if caplen as usize > room {
        return Err(bad(format!(
            "captured length {caplen} does not fit in the block, which has room for {room} bytes of packet data"
        )));
    }
    let data = &body[fields..fields + caplen as usize];
    let opts_at = fields + (caplen as usize).div_ceil(4) * 4;
    let opts = body.get(opts_at..).unwrap_or_default();
    let mut flags = None;
    let bad_options = check_tlvs(opts, 8 + opts_at, big_endian, "option", false).err();
    if bad_options.is_none() {
        let mut at = 0;
        while let (Some(code), Some(len)) = (u16_at(opts, at, big_endian), u16_at(opts, at + 2, big_endian)) {
            if code == 0 {
                break;
            }
            if code == EPB_FLAGS && len == 4 {
                flags = u32_at(opts, at + 4, big_endian);
            }
            at += 4 + (len as usize).div_ceil(4) * 4;
        }
    }
    Ok(PacketView { interface, ticks: Some(ticks), data, orig_len, flags, bad_options })
}

/// What an Interface Description Block says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceBlock {
    /// Link-layer header type.
    pub link_type: LinkType,
    /// Snapshot length (0: none).
    pub snaplen: u32,
    /// `if_name`.
    pub name: Option<String>,
    /// `if_tsresol` (6 when absent).
    pub tsresol: u8,
    /// `if_tsoffset` in seconds.
    pub tsoffset: i64,
}

/// Parses a whole Interface Description Block. When only its options are damaged, the fixed
/// fields are still returned, with the description of the damage.
pub fn parse_interface(b: &[u8], big_endian: bool) -> Result<(InterfaceBlock, Option<String>), ErrorKind> {
    let name = block_name(IDB);
    let body = b.get(8..b.len().saturating_sub(4)).unwrap_or_default();
    let (Some(link), Some(snaplen)) = (u16_at(body, 0, big_endian), u32_at(body, 4, big_endian)) else {
        return Err(ErrorKind::BadBlock {
            block: name,
            what: format!("block length {} leaves no room for its 8 bytes of fields", b.len()),
        });
    };
    let parsed = if big_endian {
        pcap_parser::pcapng::parse_interfacedescriptionblock_be(b)
    } else {
        pcap_parser::pcapng::parse_interfacedescriptionblock_le(b)
    };
    let fixed = InterfaceBlock { link_type: LinkType(link as u32), snaplen, name: None, tsresol: 6, tsoffset: 0 };
    match parsed {
        Ok((_, idb)) => Ok((
            InterfaceBlock {
                name: idb.if_name().and_then(|n| n.ok()).map(super::source::excerpt_text),
                tsresol: idb.if_tsresol,
                tsoffset: idb.if_tsoffset,
                ..fixed
            },
            None,
        )),
        Err(_) => {
            let what = check_tlvs(&body[8..], 16, big_endian, "option", false)
                .err()
                .unwrap_or_else(|| "its options are malformed".to_string());
            Ok((fixed, Some(what)))
        }
    }
}

/// Checks a whole Name Resolution Block: its records, then its options.
pub fn check_name_resolution(b: &[u8], big_endian: bool) -> Result<(), String> {
    let body = b.get(8..b.len().saturating_sub(4)).unwrap_or_default();
    check_tlvs(body, 8, big_endian, "name record", true)?;
    // Options follow the end record.
    let mut at = 0;
    while let (Some(code), Some(len)) = (u16_at(body, at, big_endian), u16_at(body, at + 2, big_endian)) {
        at += 4 + (len as usize).div_ceil(4) * 4;
        if code == 0 {
            break;
        }
    }
    check_tlvs(body.get(at..).unwrap_or_default(), 8 + at, big_endian, "option", false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions() {
        assert_eq!(units_per_second(6), Some(1_000_000));
        assert_eq!(units_per_second(9), Some(1_000_000_000));
        assert_eq!(units_per_second(0x80 | 20), Some(1 << 20));
        assert_eq!(units_per_second(0x80), Some(1));
        assert_eq!(units_per_second(19), Some(10_000_000_000_000_000_000));
        assert_eq!(units_per_second(20), None);
        assert_eq!(units_per_second(0x80 | 64), None);
    }

    #[test]
    fn tlv_walk_locates_the_bad_entry() {
        // One good 4-byte option, then one claiming 100 bytes.
        let b = [2, 0, 4, 0, 1, 2, 3, 4, 9, 0, 100, 0, 0, 0, 0, 0];
        let e = check_tlvs(&b, 20, false, "option", false).unwrap_err();
        assert!(e.contains("byte 28") && e.contains("claims 100 bytes") && e.contains("only 4 remain"), "{e}");
        assert!(check_tlvs(&b[..8], 20, false, "option", false).is_ok());
        assert!(check_tlvs(&b[..8], 20, false, "name record", true).is_err());
    }
}
