//! Everything hoptrace knows about Antrea: its OVS pipeline (table names, order and legacy ids,
//! the register/mark/label layout, cookie categories, port roles, and what a node's flows say about
//! its Pods, peer nodes and Services) and its Traceflow vocabulary and observation rules. The
//! generic OpenFlow types live in [`crate::ovs`].

pub mod controlplane;
pub mod cookie;
pub mod drops;
pub mod hits;
pub mod node;
pub mod observation;
pub mod observe;
pub mod policy;
pub mod registers;
pub mod simulated;
pub mod tables;
pub mod version;

pub use cookie::{Cookie, CookieCategory};
pub use node::{Endpoint, NodeView, PortInfo, PortRole, RemoteCidr, ServiceEntry};
pub use tables::{TableMap, TableMapSource};
pub use version::AntreaVersion;
