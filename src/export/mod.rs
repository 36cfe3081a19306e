//! Outputs: documents written atomically, frames as pcap.

pub mod atomic;
pub mod pcap;

pub use atomic::write_output;
