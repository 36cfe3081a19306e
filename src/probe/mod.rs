//! The probe: its specification, the frame crafted from it, its tag and its fingerprint.
//!
//! Everything here mirrors how Antrea builds a Traceflow probe (antrea-traceflow.md §3.2), with
//! SCTP and IPv6 flow labels added.

pub mod craft;
pub mod filter;
pub mod fingerprint;
pub mod flow;
pub mod resolve;
pub mod rng;
pub mod schema;
pub mod sctp;
pub mod spec;
pub mod tag;

pub use craft::{craft_frame, CraftError};
pub use fingerprint::{Fingerprint, ProbeEnds};
pub use schema::{Endpoint, EndpointKind, Probe, SendRecord, PROBE_SCHEMA};
pub use spec::{ProbeSpec, Transport};
pub use tag::Tag;
