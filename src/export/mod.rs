//! Outputs: documents written atomically, frames as pcap, the result as table, CSV, JSON
//! ([`result`]) a Traceflow YAML document ([`traceflow`])
//! or a picture of the path ([`tree`]);
//! two results compared ([`diff`]); every sighting stitched into one pcapng ([`pcapng`]).

pub mod atomic;
pub mod diff;
pub mod heading;
pub mod live;
pub mod pcap;
pub mod pcapng;
pub mod result;
pub mod traceflow;
pub mod tree;

pub use atomic::write_output;
