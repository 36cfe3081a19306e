//! What a file holds, from its first bytes: the one content sniffer behind `extract`'s search of
//! capture directories and `analyze`'s sorting of its inputs. Compression is recognised by its
//! magic bytes and looked through (a few decompressed bytes decide the content), so a capture is
//! found whatever its name, and a compressed file that is not a capture is not taken for one.
//! New compressions are added to [`sniff_compression`] and [`super::source::from_reader`].

use super::source::{from_reader, Compression};
use super::{codec, gzip};
use std::io::{self, Read};
use std::path::Path;

/// How many leading bytes [`sniff_compression`] looks at.
pub const SNIFF_LEN: usize = 8;

/// Classic pcap magics as they appear on disk: µs and ns resolution, both byte orders (the
/// modified formats of Kuznetzov's and Navtel's patches are not read).
pub const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1], // µs, little-endian
    [0xa1, 0xb2, 0xc3, 0xd4], // µs, big-endian
    [0x4d, 0x3c, 0xb2, 0xa1], // ns, little-endian
    [0xa1, 0xb2, 0x3c, 0x4d], // ns, big-endian
];

/// The pcapng Section Header Block type, the same in both byte orders.
pub const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// The capture format a file's (decompressed) content starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// A classic pcap file header.
    Pcap,
    /// A pcapng Section Header Block.
    PcapNg,
    /// Anything else (or too short to tell).
    Other,
}

/// What [`sniff_file`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sniffed {
    /// How the file is stored.
    pub compression: Compression,
    /// What it holds once decompressed.
    pub content: Content,
    /// The compressed data is damaged before the first bytes of content could be read.
    pub damaged: bool,
}

impl Sniffed {
    /// Whether the content is a pcap or pcapng capture.
    pub fn is_capture(&self) -> bool {
        matches!(self.content, Content::Pcap | Content::PcapNg)
    }
}

/// The compression of a stream that starts with `head`.
pub fn sniff_compression(head: &[u8]) -> Compression {
    if head.starts_with(&gzip::MAGIC) {
        Compression::Gzip
    } else if head.starts_with(&codec::ZSTD_MAGIC) {
        Compression::Zstd
    } else if head.starts_with(&codec::XZ_MAGIC) {
        Compression::Xz
    } else {
        Compression::None
    }
}

/// The capture format of uncompressed content that starts with `head`.
pub fn sniff_content(head: &[u8]) -> Content {
    match head.get(..4) {
        Some(m) if PCAP_MAGICS.iter().any(|p| p == m) => Content::Pcap,
        Some(m) if m == PCAPNG_MAGIC => Content::PcapNg,
        _ => Content::Other,
    }
}

/// Sniffs a stream: its compression and, looking through that, its content.
pub fn sniff_reader(inner: Box<dyn Read + Send>) -> io::Result<Sniffed> {
    let source = from_reader(inner)?;
    let mut head = Vec::with_capacity(4);
    source.stream.take(4).read_to_end(&mut head)?;
    let damaged = head.len() < 4 && source.notes.take().iter().any(|n| n.ends_stream());
    Ok(Sniffed { compression: source.compression, content: sniff_content(&head), damaged })
}

/// Sniffs the file at `path` (it is opened and its first bytes read: callers check first that
/// it is a regular file when reading a FIFO or device would block or never end).
pub fn sniff_file(path: &Path) -> io::Result<Sniffed> {
    sniff_reader(Box::new(std::fs::File::open(path)?))
}

/// Whether a file holds a capture, the one test behind `extract`'s directory search and
/// `analyze`'s sorting of its inputs: its (decompressed) content starts like pcap or pcapng, or
/// it is compressed, damaged before the first bytes of content, and named like a capture (so the
/// damage is reported by the scan instead of the file being passed over). `Err` when the file
/// cannot be read.
pub fn is_capture_file(path: &Path) -> io::Result<bool> {
    let s = sniff_file(path)?;
    Ok(s.is_capture() || (s.damaged && has_capture_name(path)))
}

/// Whether the file name has a capture extension (`.pcap`, `.pcapng`, `.cap`, `.ntar`, with
/// rotation suffixes and a compression extension after it).
pub fn has_capture_name(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    [".pcap", ".cap", ".ntar"].iter().any(|e| name.contains(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn sniff(bytes: &[u8]) -> Sniffed {
        sniff_reader(Box::new(io::Cursor::new(bytes.to_vec()))).unwrap()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn magics_plain_and_compressed() {
        for m in PCAP_MAGICS {
            assert_eq!(sniff(&[&m[..], &[0; 20]].concat()).content, Content::Pcap);
        }
        assert_eq!(sniff(&PCAPNG_MAGIC).content, Content::PcapNg);
        let s = sniff(&gz(&[&PCAPNG_MAGIC[..], &[0; 40]].concat()));
        assert_eq!((s.compression, s.content, s.damaged), (Compression::Gzip, Content::PcapNg, false));
        // A compressed file of something else is not a capture, whatever its name.
        let s = sniff(&gz(b"OFPST_FLOW reply (xid=0x4):\n"));
        assert_eq!((s.compression, s.content), (Compression::Gzip, Content::Other));
        assert_eq!(sniff(b"ab").content, Content::Other);
        assert!(sniff(b"\x1f\x8b\x08\x00\x00").damaged);
    }
}
