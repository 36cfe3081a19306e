//! Following real, untagged traffic (`analyze --match`): which packets to follow ([`spec`]),
//! how the source Pod's packets group into connections, how each packet is recognised at every
//! other capture point by the fields an Antrea path does not rewrite, and each packet's and
//! connection's fate.

pub mod connection;
pub mod follow;
pub mod packets;
pub mod report;
pub mod spec;
