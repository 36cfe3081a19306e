//! Errors met while reading a capture: what went wrong and where (file, packet number, byte
//! offset in the decompressed stream), so a user can find the damaged spot with other tools.

use std::fmt;
use std::path::PathBuf;

/// What kind of damage or limitation stopped (part of) a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be opened or read (I/O error, corrupt gzip stream).
    Io(String),
    /// The first bytes are neither a pcap nor a pcapng header.
    NotACapture,
    /// The file header is recognised but its version is not one we read.
    UnsupportedVersion(String),
    /// The file header's link type field has reserved bits set.
    BadLinkTypeField(u32),
    /// The file ends inside a record.
    Truncated,
    /// A record claims a length no capture can have.
    AbsurdLength(u64),
    /// A pcapng block is malformed.
    BadBlock(String),
    /// A packet refers to an interface that has no Interface Description Block.
    UnknownInterface(u32),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io(e) => write!(f, "read error: {e}"),
            ErrorKind::NotACapture => f.write_str("not a pcap or pcapng file"),
            ErrorKind::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            ErrorKind::BadLinkTypeField(v) => write!(f, "link type field {v:#x} has reserved bits set"),
            ErrorKind::Truncated => f.write_str("file ends inside a record (truncated capture)"),
            ErrorKind::AbsurdLength(n) => write!(f, "record length {n} is larger than any capture allows"),
            ErrorKind::BadBlock(e) => write!(f, "malformed block: {e}"),
            ErrorKind::UnknownInterface(i) => write!(f, "packet on interface {i}, which has no description block"),
        }
    }
}

/// A damaged or unreadable part of a capture, located by file, packet number and byte offset.
/// Reading stops at the damage: the packets before it are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureError {
    /// The capture file.
    pub file: PathBuf,
    /// The 1-based number the packet at the damage would have had (as `tcpdump -#` counts).
    pub packet: u64,
    /// Byte offset of the damaged record in the (decompressed) capture stream.
    pub offset: u64,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: packet {} (byte offset {}): {}", self.file.display(), self.packet, self.offset, self.kind)
    }
}

impl std::error::Error for CaptureError {}
