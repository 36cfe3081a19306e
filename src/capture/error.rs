//! Damage met while reading a capture: what was wrong, where (file, packet number, byte offset
//! in the decompressed stream) and what it cost, worded for a user who will look at the spot
//! with other tools. Messages say what was expected and what was found, and quote at most a few
//! bytes of the input.

use super::source::StreamDamage;
use std::fmt;
use std::path::PathBuf;

/// What kind of damage or limitation was met.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read (an I/O error).
    Io(String),
    /// Damage in the compression layer (gzip).
    Stream(StreamDamage),
    /// The first bytes are neither a pcap nor a pcapng header (the first four are quoted).
    NotACapture([u8; 4], usize),
    /// The file header is recognised but its version is not one that is read.
    UnsupportedVersion {
        /// `pcap` or `pcapng`.
        format: &'static str,
        /// major.minor as found.
        version: (u16, u16),
    },
    /// The pcap file header's link type field has reserved bits set.
    BadLinkTypeField(u32),
    /// The file ends inside a record or block.
    Truncated {
        /// Bytes the record or block needs.
        needed: u64,
        /// Bytes left in the file.
        left: u64,
    },
    /// A record claims a captured length above the limit.
    AbsurdLength {
        /// The length claimed.
        claimed: u64,
        /// The largest accepted.
        limit: u64,
    },
    /// A pcapng block is malformed.
    BadBlock {
        /// The block's name (`enhanced packet`, `name resolution`, ...).
        block: &'static str,
        /// What is wrong, as expected versus found.
        what: String,
    },
    /// A pcapng section holds more interfaces than the bound.
    TooManyInterfaces(usize),
    /// A packet refers to an interface that has no Interface Description Block.
    UnknownInterface(u32),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io(e) => write!(f, "read error: {}", super::source::excerpt_text(e)),
            ErrorKind::Stream(d) => d.fmt(f),
            ErrorKind::NotACapture(head, n) => {
                let shown: Vec<String> = head[..*n].iter().map(|b| format!("{b:02x}")).collect();
                if *n == 0 {
                    f.write_str("not a pcap or pcapng file: it is empty")
                } else {
                    write!(
                        f,
                        "not a pcap or pcapng file: it starts with {} (expected a pcap magic such as d4 c3 b2 a1, or 0a 0d 0d 0a for pcapng)",
                        shown.join(" ")
                    )
                }
            }
            ErrorKind::UnsupportedVersion { format: "pcap", version: (major, minor) } => write!(
                f,
                "pcap file header: format version {major}.{minor} is not one libpcap reads (2.0 to 2.4, or 543.0)"
            ),
            ErrorKind::UnsupportedVersion { format, version: (major, minor) } => write!(
                f,
                "{format} section header: format version {major}.{minor} is not 1.0 (or 1.2); the section is skipped"
            ),
            ErrorKind::BadLinkTypeField(v) => write!(
                f,
                "pcap file header: link-type field {v:#010x} has reserved bits set ({:#010x}); expected a link type below 65536, optionally with FCS bits",
                v & 0x03ff_0000
            ),
            ErrorKind::Truncated { needed, left } => {
                write!(f, "the file ends inside a record: it needs {needed} bytes, {left} remain (truncated capture)")
            }
            ErrorKind::AbsurdLength { claimed, limit } => {
                write!(f, "record length {claimed} is larger than any capture allows (at most {limit})")
            }
            ErrorKind::BadBlock { block, what } => write!(f, "pcapng {block} block: {what}"),
            ErrorKind::TooManyInterfaces(n) => {
                write!(f, "more than {n} interface description blocks in one pcapng section")
            }
            ErrorKind::UnknownInterface(i) => {
                write!(f, "packet on interface {i}, which has no interface description block in this section")
            }
        }
    }
}

/// What a damage cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// Nothing was lost (a note about data that was read, or a block hoptrace does not use).
    Nothing,
    /// The damaged block or record only.
    Block,
    /// The rest of the pcapng section; reading went on at the next Section Header Block.
    RestOfSection,
    /// Reading stopped here.
    RestOfFile,
}

impl Cost {
    fn words(self) -> &'static str {
        match self {
            Cost::Nothing => "",
            Cost::Block => "; this block is skipped",
            Cost::RestOfSection => "; the rest of the section is skipped",
            Cost::RestOfFile => "",
        }
    }
}

/// A damaged or unreadable part of a capture, located by file, packet number and byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureError {
    /// The capture file.
    pub file: PathBuf,
    /// The 1-based number the next packet after the damage has or would have had (as
    /// `tcpdump -#` counts).
    pub packet: u64,
    /// Byte offset of the damaged record in the (decompressed) capture stream.
    pub offset: u64,
    /// What went wrong.
    pub kind: ErrorKind,
    /// What it cost.
    pub cost: Cost,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: packet {} (byte offset {}): {}{}",
            self.file.display(),
            self.packet,
            self.offset,
            self.kind,
            self.cost.words()
        )
    }
}

impl std::error::Error for CaptureError {}
