//! hoptrace: an offline Traceflow for Antrea / Open vSwitch Kubernetes clusters.
//!
//! The modules follow the data flow (DESIGN.md): [`probe`] crafts the tagged probe and [`inject`]
//! sends it; [`capture`] reads pcap/pcapng files and [`decode`] turns their packets into sightings
//! of the probe; [`ovs`] parses flow, group and port dumps and simulates a pipeline; [`antrea`] is
//! the one place that knows Antrea (tables, registers, node views, observation rules); [`bundle`]
//! discovers what was gathered from each node; [`trace`] reconstructs the path; [`export`] writes
//! results; [`cli`] wires them to the command line. Later stages use earlier ones, never the
//! reverse ([`addr`], [`ether`] and [`time`] hold the MAC address format, protocol numbers and timestamp
//! formats every stage shares, [`textfile`] the bounded reading of text inputs).

pub mod addr;
pub mod antrea;
pub mod bundle;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod ether;
pub mod export;
pub mod inject;
pub mod ovs;
pub mod probe;
pub mod textfile;
pub mod time;
pub mod trace;
