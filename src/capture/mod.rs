//! Capture files: open them (plain or gzip, detected by magic), read pcap and pcapng records
//! with their link type, timestamp, interface and direction, and report damage by file and
//! position. Decoding what is inside a packet is [`crate::decode`]'s job.

pub mod error;
pub mod iface;
pub mod linktype;
pub mod reader;
pub mod source;

pub use error::{CaptureError, ErrorKind};
pub use linktype::LinkType;
pub use reader::{read_capture, Direction, Format, Interface, Packet, ReadSummary};
pub use source::{open_capture, Compression};
