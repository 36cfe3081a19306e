//! Outputs: documents written atomically, frames as pcap.

pub mod atomic;
pub mod live;
pub mod pcap;
pub mod result;

pub use atomic::write_output;
