//! Outputs: documents written atomically, frames as pcap, the result as table, CSV, JSON
//! ([`result`]) or a Traceflow YAML document ([`traceflow`]).

pub mod atomic;
pub mod pcap;
pub mod result;
pub mod traceflow;

pub use atomic::write_output;
