//! Following real, untagged traffic (`analyze --match`, docs/live.md): which packets to follow
//! ([`spec`]); the passes over the captures and the result ([`follow`]); sightings with one
//! identity key assembled into packets ([`packets`], keys in [`crate::decode::identity`]);
//! packets grouped into connections the way conntrack does ([`connection`]); each packet's fate
//! (`analyser`); the result document ([`report`]).

mod analyser;
pub mod connection;
pub mod follow;
pub mod packets;
pub mod report;
pub mod spec;
