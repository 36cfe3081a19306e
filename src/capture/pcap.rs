//! The classic libpcap file format: the 24-byte file header and the 16-byte record headers, as
//! byte views that never panic. Versions and the length-field order follow libpcap: files of
//! format 2.0–2.2 (and DG/UX's 543.0) have the captured and original lengths the other way
//! round, and in 2.3 files either order occurs (a captured length above the original one means
//! they were swapped).

use super::error::ErrorKind;
use super::linktype::LinkType;
use super::sniff::PCAP_MAGICS;

/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 24;
/// Size of a record header.
pub const RECORD_HEADER_LEN: usize = 16;

/// Bits of the link-type field that must be zero (libpcap's `LT_RESERVED1`).
const LINK_RESERVED: u32 = 0x03ff_0000;

/// The order of the two length fields in the record headers of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthOrder {
    /// Captured length, then original length (format 2.4).
    Normal,
    /// Original length first (formats before 2.3, DG/UX 543.0).
    Swapped,
    /// Format 2.3: swapped when the first field is larger than the second.
    Either,
}

/// A parsed file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHeader {
    /// Whether the fields are big-endian.
    pub big_endian: bool,
    /// Whether the fractional timestamp counts nanoseconds (else microseconds).
    pub nanos: bool,
    /// Format version.
    pub version: (u16, u16),
    /// Snapshot length.
    pub snaplen: u32,
    /// Link-layer header type (the low 16 bits of the field).
    pub link_type: LinkType,
    /// Order of the record length fields.
    pub lengths: LengthOrder,
}

#[inline]
fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if big_endian {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    }
}

fn u16_at(b: &[u8], at: usize, big_endian: bool) -> u16 {
    let w = [b[at], b[at + 1]];
    if big_endian {
        u16::from_be_bytes(w)
    } else {
        u16::from_le_bytes(w)
    }
}

/// Parses the file header (`b` holds at least [`FILE_HEADER_LEN`] bytes starting with one of
/// the pcap magics).
pub fn parse_file_header(b: &[u8; FILE_HEADER_LEN]) -> Result<FileHeader, ErrorKind> {
    let magic = [b[0], b[1], b[2], b[3]];
    let which = PCAP_MAGICS.iter().position(|m| *m == magic).unwrap_or(0);
    let big_endian = which % 2 == 1;
    let nanos = which >= 2;
    let version = (u16_at(b, 4, big_endian), u16_at(b, 6, big_endian));
    let lengths = match version {
        (2, 0..=2) | (543, 0) => LengthOrder::Swapped,
        (2, 3) => LengthOrder::Either,
        (2, 4) => LengthOrder::Normal,
        _ => return Err(ErrorKind::UnsupportedVersion { format: "pcap", version }),
    };
    let snaplen = u32_at(b, 16, big_endian);
    let field = u32_at(b, 20, big_endian);
    if field & LINK_RESERVED != 0 {
        return Err(ErrorKind::BadLinkTypeField(field));
    }
    Ok(FileHeader { big_endian, nanos, version, snaplen, link_type: LinkType(field & 0xffff), lengths })
}

/// A record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// Seconds since the epoch.
    pub ts_sec: u32,
    /// Microseconds or nanoseconds.
    pub ts_frac: u32,
    /// Bytes captured (that follow the header).
    pub caplen: u32,
    /// Bytes on the wire.
    pub origlen: u32,
}

impl RecordHeader {
    /// Timestamp in nanoseconds since the epoch.
    pub fn timestamp_ns(&self, h: &FileHeader) -> i64 {
        let frac = if h.nanos { self.ts_frac as i64 } else { self.ts_frac as i64 * 1000 };
        self.ts_sec as i64 * 1_000_000_000 + frac
    }
}

/// Parses a record header (`b` holds at least [`RECORD_HEADER_LEN`] bytes).
#[inline]
pub fn parse_record_header(b: &[u8], h: &FileHeader) -> RecordHeader {
    let f = |at| u32_at(b, at, h.big_endian);
    let (first, second) = (f(8), f(12));
    let swapped = match h.lengths {
        LengthOrder::Normal => false,
        LengthOrder::Swapped => true,
        LengthOrder::Either => first > second,
    };
    let (caplen, origlen) = if swapped { (second, first) } else { (first, second) };
    RecordHeader { ts_sec: f(0), ts_frac: f(4), caplen, origlen }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: (u16, u16), link: u32) -> [u8; 24] {
        let mut v = Vec::new();
        v.extend(0xa1b2c3d4u32.to_le_bytes());
        v.extend(version.0.to_le_bytes());
        v.extend(version.1.to_le_bytes());
        v.extend([0; 8]);
        v.extend(65535u32.to_le_bytes());
        v.extend(link.to_le_bytes());
        v.try_into().unwrap()
    }

    #[test]
    fn versions_and_length_order_as_libpcap() {
        let order = |v| parse_file_header(&header(v, 1)).map(|h| h.lengths);
        assert_eq!(order((2, 4)), Ok(LengthOrder::Normal));
        assert_eq!(order((2, 3)), Ok(LengthOrder::Either));
        assert_eq!(order((2, 2)), Ok(LengthOrder::Swapped));
        assert_eq!(order((2, 0)), Ok(LengthOrder::Swapped));
        assert_eq!(order((543, 0)), Ok(LengthOrder::Swapped));
        assert!(order((1, 0)).is_err());
        assert!(order((2, 5)).is_err());
        let h = parse_file_header(&header((2, 3), 1)).unwrap();
        let rec = |a: u32, b: u32| [[0u8; 8].to_vec(), a.to_le_bytes().to_vec(), b.to_le_bytes().to_vec()].concat();
        let r = parse_record_header(&rec(60, 100), &h);
        assert_eq!((r.caplen, r.origlen), (60, 100));
        let r = parse_record_header(&rec(100, 60), &h);
        assert_eq!((r.caplen, r.origlen), (60, 100));
    }

    #[test]
    fn link_type_field() {
        assert_eq!(parse_file_header(&header((2, 4), 0x1400_0001)).unwrap().link_type, LinkType::ETHERNET);
        assert_eq!(parse_file_header(&header((2, 4), 0x0001_0001)), Err(ErrorKind::BadLinkTypeField(0x0001_0001)));
    }
}
