//! Injection: send the crafted probe frame from a node through an `AF_PACKET` socket, usually from
//! inside the source Pod's network namespace, so the probe really leaves the Pod and crosses its
//! veth, OVS's SpoofGuard and everything after it (DESIGN.md, "inject").
//!
//! The module refuses rather than guesses: no default interface, no frame other than the probe's,
//! never more copies than asked for, and a clear error when the interface is missing, down or too
//! small for the frame, or when the process may not open a raw socket.

pub mod caps;
pub mod clock;
pub mod copies;
pub mod error;
pub mod iface;
pub mod netns;
pub mod packet_out;
pub mod send;

pub use copies::{plan_copies, CopyFrame, MacOverrides};
pub use error::InjectError;
pub use iface::InterfaceInfo;
pub use netns::NetnsTarget;
pub use send::{inject, InjectPlan, SentCopy};
