//! Generic OpenFlow / Open vSwitch data: flows, matches, actions, groups and ports as
//! `ovs-ofctl` prints them, parsed into typed values (and printed back) for the viewer and the
//! pipeline simulator. Nothing here knows Antrea; see [`crate::antrea`].

pub mod action;
pub mod delta;
pub mod error;
pub mod field;
pub mod flow;
pub mod group;
pub mod lex;
pub mod matching;
pub mod noise;
pub mod port;
pub mod sim;
pub mod value;

pub use action::{Action, Ct, CtZone, Nat, NatKind, SubField, TableRef};
pub use field::{Field, Prereq};
pub use flow::{Flow, FlowDump, LineError, SkippedLine};
pub use group::{Bucket, Group, GroupDump, GroupType};
pub use matching::{Match, Proto};
pub use port::{Port, PortTable};
pub use value::{PortRef, Value, Wide};
