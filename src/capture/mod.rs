//! Capture files: find them (content sniffing, directory walks), open them (plain, gzip, zstd or xz,
//! detected by content), read pcap and pcapng records with their link type, timestamp,
//! interface and direction, and report damage by file and position. Decoding what is inside a
//! packet is [`crate::decode`]'s job.

pub mod codec;
pub mod error;
pub mod gzip;
pub mod iface;
pub mod linktype;
pub mod pcap;
pub mod pcapng;
pub mod reader;
pub mod sniff;
pub mod source;
pub mod split;
pub mod walk;
pub mod window;

pub use error::{CaptureError, Cost, ErrorKind};
pub use linktype::LinkType;
pub use reader::{read_capture, Direction, Format, Interface, Packet, ReadSummary};
pub use source::{open_capture, Compression};
