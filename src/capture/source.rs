//! Opening a capture: plain, gzip-, zstd- or xz-compressed (detected by content, see
//! [`super::sniff`], never by the name), streamed so memory does not grow with the file; a
//! compressed stream is decompressed on a thread of its own ([`super::codec::Pipelined`]). Damage found below the capture
//! format (in the compression layer) is collected in [`StreamNotes`], each note placed at its
//! offset in the decompressed stream so the reader can name the packet it touches.

use super::codec::{Codec, CodecReader, Counter, Counting, Pipelined};
use super::gzip::GzipReader;
use super::sniff::{sniff_compression, SNIFF_LEN};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// How the capture bytes are stored on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Stored as is.
    None,
    /// gzip (one or more members, as `cat a.gz b.gz` and pigz produce).
    Gzip,
    /// Zstandard (one or more frames).
    Zstd,
    /// xz (one or more streams).
    Xz,
}

impl Compression {
    /// Its name in the evidence (`None` for an uncompressed file).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
            Compression::Xz => Some("xz"),
        }
    }
}

/// Size of the read-ahead buffer between the file and the decompressor.
const FILE_BUFFER: usize = 256 * 1024;

/// What was wrong in the compression layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamDamageKind {
    /// The file ends inside the member that starts at compressed byte `member_start`.
    Truncated {
        /// Compressed offset of the member's header.
        member_start: u64,
    },
    /// The member's deflate data is invalid at the noted compressed offset.
    Corrupt {
        /// Compressed offset of the member's header.
        member_start: u64,
        /// The decompressor's words.
        detail: String,
    },
    /// The member's trailer does not match the data (its data was delivered).
    BadTrailer {
        /// Compressed offset of the member's header.
        member_start: u64,
        /// Whether the CRC-32 matched.
        crc_ok: bool,
        /// Whether the size (mod 2^32) matched.
        size_ok: bool,
    },
    /// A member header with an unknown compression method or reserved flags.
    BadHeader {
        /// Compressed offset of the member's header.
        member_start: u64,
        /// The method byte (8 is deflate).
        method: u8,
        /// The flag byte.
        flags: u8,
    },
    /// Bytes after the last member that do not start another one (ignored).
    TrailingData {
        /// Whether they are all zero bytes (padding), as far as seen.
        zeros: bool,
    },
    /// A zstd or xz decompressor stopped: the stream is cut short or its data is invalid.
    CodecError {
        /// `zstd` or `xz`.
        codec: &'static str,
        /// Whether the input ended inside a frame (as opposed to invalid data).
        truncated: bool,
        /// The decompressor's words.
        detail: String,
    },
    /// The stream expands beyond [`super::codec::MAX_RATIO`] times the compressed bytes read
    /// (a decompression bomb, or damage): reading stops.
    TooExpanded {
        /// `zstd` or `xz`.
        codec: &'static str,
        /// Compressed bytes read.
        compressed: u64,
        /// Bytes they decompressed to.
        decompressed: u64,
    },
}

/// One damage in the compression layer, placed in both streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamDamage {
    /// Offset in the decompressed stream at which the damage lies (everything before it was
    /// delivered).
    pub decompressed_offset: u64,
    /// Offset in the compressed file.
    pub compressed_offset: u64,
    /// 1-based gzip member number.
    pub member: u32,
    /// What is wrong.
    pub kind: StreamDamageKind,
}

impl StreamDamage {
    /// Whether the decompressed data stops here (as opposed to a note about data already read).
    pub fn ends_stream(&self) -> bool {
        !matches!(self.kind, StreamDamageKind::BadTrailer { .. })
    }
}

impl fmt::Display for StreamDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.member;
        match &self.kind {
            StreamDamageKind::Truncated { member_start } => write!(
                f,
                "gzip member {m} (starting at compressed byte {member_start}) is cut short: the file ends at compressed byte {}; the data before the cut is kept",
                self.compressed_offset
            ),
            StreamDamageKind::Corrupt { member_start, detail } => write!(
                f,
                "gzip member {m} (starting at compressed byte {member_start}) has invalid compressed data at compressed byte {} ({}); the data before it is kept",
                self.compressed_offset,
                excerpt_text(detail)
            ),
            StreamDamageKind::BadTrailer { member_start, crc_ok, size_ok } => {
                let what = match (crc_ok, size_ok) {
                    (false, false) => "CRC-32 and size do",
                    (false, true) => "CRC-32 does",
                    _ => "size does",
                };
                write!(
                    f,
                    "gzip member {m} (starting at compressed byte {member_start}): its trailer's {what} not match the data (the data may be damaged; its packets are kept)"
                )
            }
            StreamDamageKind::BadHeader { member_start, method, flags } => write!(
                f,
                "gzip member {m} at compressed byte {member_start}: expected compression method 8 (deflate) and no reserved flags, found method {method} and flags {flags:#04x}"
            ),
            StreamDamageKind::TrailingData { zeros } => write!(
                f,
                "{} after the last gzip member, from compressed byte {} on (ignored)",
                if *zeros { "zero padding" } else { "data that is not a gzip member" },
                self.compressed_offset
            ),
            StreamDamageKind::CodecError { codec, truncated: true, detail } => write!(
                f,
                "{codec} stream is cut short at compressed byte {} ({}); the data before the cut is kept",
                self.compressed_offset,
                excerpt_text(detail)
            ),
            StreamDamageKind::CodecError { codec, truncated: false, detail } => write!(
                f,
                "{codec} stream has invalid compressed data near compressed byte {} ({}); the data before it is kept",
                self.compressed_offset,
                excerpt_text(detail)
            ),
            StreamDamageKind::TooExpanded { codec, compressed, decompressed } => write!(
                f,
                "{codec} stream expands to more than {} times its size ({decompressed} bytes from {compressed} compressed bytes): reading stops here, as for a decompression bomb",
                super::codec::MAX_RATIO
            ),
        }
    }
}

/// At most this many characters of text from the input or from a library go into a message.
pub const MAX_EXCERPT: usize = 80;

/// `text` cut to [`MAX_EXCERPT`] characters (with `...` when cut) and with control characters
/// escaped, for quoting in one line of an error message.
pub fn excerpt_text(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_EXCERPT).flat_map(char::escape_debug).collect();
    if text.chars().nth(MAX_EXCERPT).is_some() {
        out.push_str("...");
    }
    out
}

/// The damage notes of one stream, shared between the decompressor that writes them and the
/// capture reader that places them.
#[derive(Clone, Debug, Default)]
pub struct StreamNotes(Arc<Mutex<Vec<StreamDamage>>>);

impl StreamNotes {
    /// Adds a note.
    pub fn push(&self, d: StreamDamage) {
        if let Ok(mut v) = self.0.lock() {
            // A stream has a few members with damage at most; bound it anyway.
            if v.len() < MAX_STREAM_NOTES {
                v.push(d);
            }
        }
    }

    /// Takes the notes written so far.
    pub fn take(&self) -> Vec<StreamDamage> {
        self.0.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }
}

/// The most compression-layer notes kept for one stream.
pub const MAX_STREAM_NOTES: usize = 64;

/// An open capture stream: the bytes of the pcap/pcapng file, decompressed if needed.
pub struct CaptureSource {
    /// The decompressed byte stream.
    pub stream: Box<dyn Read + Send>,
    /// How the file was stored.
    pub compression: Compression,
    /// Damage met in the compression layer.
    pub notes: StreamNotes,
}

/// Opens `path`, detecting compression by its magic bytes; a compressed file is decompressed
/// on a thread of its own, overlapping the scan.
pub fn open_capture(path: &Path) -> io::Result<CaptureSource> {
    let file = File::open(path)?;
    let mut source = from_reader(Box::new(file))?;
    if source.compression != Compression::None {
        source.stream = Box::new(Pipelined::start(source.stream)?);
    }
    Ok(source)
}

/// Wraps any byte stream (a file, a slice, a tar entry) the way [`open_capture`] wraps a file.
pub fn from_reader(mut inner: Box<dyn Read + Send>) -> io::Result<CaptureSource> {
    // The first bytes decide the compression; a pipe may deliver them in pieces.
    let mut head = Vec::with_capacity(SNIFF_LEN);
    loop {
        match (&mut inner).take((SNIFF_LEN - head.len()) as u64).read_to_end(&mut head) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let compression = sniff_compression(&head);
    let counter = Counter::default();
    let counted = Counting::new(io::Cursor::new(head).chain(inner), counter.clone());
    let buffered = BufReader::with_capacity(FILE_BUFFER, counted);
    let notes = StreamNotes::default();
    let stream: Box<dyn Read + Send> = match compression {
        Compression::Gzip => Box::new(GzipReader::new(buffered, notes.clone())),
        Compression::Zstd => Box::new(CodecReader::new(Codec::Zstd, Box::new(buffered), counter, notes.clone())?),
        Compression::Xz => Box::new(CodecReader::new(Codec::Xz, Box::new(buffered), counter, notes.clone())?),
        Compression::None => Box::new(buffered),
    };
    Ok(CaptureSource { stream, compression, notes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    #[test]
    fn gzip_detected_by_magic_and_members_concatenated() {
        let mut gz = Vec::new();
        for part in [&b"hello "[..], &b"world"[..]] {
            let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            gz.extend(e.finish().unwrap());
        }
        let mut src = from_reader(Box::new(io::Cursor::new(gz))).unwrap();
        assert_eq!(src.compression, Compression::Gzip);
        let mut out = String::new();
        src.stream.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello world");
        assert!(src.notes.take().is_empty());

        let mut plain = from_reader(Box::new(io::Cursor::new(b"\xd4\xc3\xb2\xa1".to_vec()))).unwrap();
        assert_eq!(plain.compression, Compression::None);
        let mut buf = [0u8; 8];
        assert_eq!(plain.stream.read(&mut buf).unwrap(), 4);
    }

    #[test]
    fn corrupt_gzip_is_a_note_with_text() {
        let mut src = from_reader(Box::new(io::Cursor::new(b"\x1f\x8b\x08\x00garbage-garbage".to_vec()))).unwrap();
        let mut out = Vec::new();
        src.stream.read_to_end(&mut out).unwrap();
        let notes = src.notes.take();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].to_string().starts_with("gzip member 1"), "{}", notes[0]);
    }

    #[test]
    fn excerpts_are_short_and_one_line() {
        let long = "x".repeat(10_000) + "\n";
        let e = excerpt_text(&long);
        assert!(e.len() <= MAX_EXCERPT + 3 && e.ends_with("..."));
        assert_eq!(excerpt_text("a\nb"), "a\\nb");
    }
}
