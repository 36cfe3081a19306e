//! `analyze --pcap-out FILE`: every sighting of the probe stitched into one pcapng for Wireshark
//! and tshark — one interface block per node, interface and link type, named by the interface's
//! real name with the node in `if_description`; the packets in corrected time order, stamped with
//! the corrected time (nanosecond resolution); and on each packet a comment with its hop number,
//! node, interface, the observation it supports and the time since the previous hop.
//!
//! The frames are read again from the captures the sightings name (the evidence keeps no bytes).
//! A sighting whose capture cannot be read here (an evidence file brought from a node without its
//! capture) is left out and named in the [`StitchReport`] and in the section's comment.

use crate::antrea::observation::{EvidenceKind, Observation};
use crate::capture::{open_capture, read_capture, Direction, LinkType};
use crate::decode::sighting::Sighting;
use crate::export::result::human_duration;
use crate::trace::live::report::LiveResult;
use crate::trace::TraceResult;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

/// The most packets stitched into one file: a probe is seen a handful of times per node; more
/// means a re-used probe or a loop, and the rest is reported as left out.
pub const MAX_STITCHED: usize = 10_000;

/// What stitching left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StitchReport {
    /// Packets written.
    pub written: usize,
    /// What could not be written, one line each (`FILE: why: N sightings left out`).
    pub left_out: Vec<String>,
}

/// One packet to write, with where it goes and what it says.
struct Stitched {
    interface: usize,
    time_ns: i64,
    data: Vec<u8>,
    original_len: u32,
    direction: Option<Direction>,
    comment: String,
}

/// The frames read back from one capture: packet number → (bytes, link type, original length).
type Frames = BTreeMap<u64, (Vec<u8>, LinkType, u32)>;

/// The key of an interface block: node, interface name (or the capture's file name), link type.
type IfaceKey = (String, String, u32);

fn offset(result: &TraceResult, node: &str) -> i64 {
    result.clocks.iter().find(|c| c.node == node).map_or(0, |c| c.offset_ns)
}

/// The observations a sighting supports: `Forwarding/Output Forwarded (observation 3 on k8s-node1)`.
fn supported(result: &TraceResult, s: &Sighting) -> Vec<String> {
    let mut out = Vec::new();
    let backs = |o: &Observation| {
        o.evidence.iter().any(|e| {
            e.kind == EvidenceKind::Capture && e.packet == Some(s.packet) && e.file.as_deref() == Some(s.file.as_str())
        })
    };
    for r in &result.results {
        for (i, o) in r.observations.iter().enumerate() {
            if backs(o) {
                let stage = match &o.component_info {
                    Some(info) => format!("{}/{info}", serde_name(&o.component)),
                    None => serde_name(&o.component),
                };
                out.push(format!("{stage} {} (observation {} on {})", serde_name(&o.action), i + 1, r.node));
            }
        }
    }
    out
}

/// The serde name of one of Antrea's enums (`Forwarding`, `Delivered`).
fn serde_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The interface a sighting names, or its capture's file name when none does.
fn interface_name(s: &Sighting) -> String {
    s.interface.clone().unwrap_or_else(|| match s.ifindex {
        Some(i) => format!("ifindex {i}"),
        None => file_name(&s.file),
    })
}

/// Reads the frames of `wanted` packet numbers from `file`.
fn frames(file: &str, wanted: &BTreeSet<u64>) -> Result<Frames, String> {
    let path = Path::new(file);
    let source = open_capture(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut got = BTreeMap::new();
    let summary = read_capture(path, source, |p| {
        if wanted.contains(&p.index) {
            got.insert(p.index, (p.data.to_vec(), p.link_type, p.orig_len));
        }
    });
    if got.is_empty() {
        if let Some(e) = summary.error {
            return Err(format!("unreadable: {e}"));
        }
    }
    Ok(got)
}

/// One packet to stitch: where its bytes are, where it was seen, and what its comment says.
struct Item<'a> {
    /// The packet it is a sighting of: hops are numbered, and Δt measured, per packet.
    packet_of: usize,
    node: &'a str,
    interface: String,
    file: &'a str,
    packet: u64,
    /// The time written (corrected when the caller corrects clocks).
    time_ns: Option<i64>,
    /// The correction applied to this node's clock, for the comment.
    offset_ns: i64,
    direction: Option<Direction>,
    /// What the sighting is (`supports Forwarding/Output Forwarded …`, `connection 2 packet 1 …`).
    label: String,
}

/// Writes every sighting in `sightings` as one pcapng (see the module documentation).
pub fn write_stitched(out: &mut dyn Write, result: &TraceResult, sightings: &[Sighting]) -> io::Result<StitchReport> {
    let items = sightings
        .iter()
        .map(|s| {
            let obs = supported(result, s);
            let offset_ns = offset(result, &s.node);
            Item {
                packet_of: 0,
                node: &s.node,
                interface: interface_name(s),
                file: &s.file,
                packet: s.packet,
                time_ns: s.timestamp_ns.map(|t| t.saturating_add(offset_ns)),
                offset_ns,
                direction: s.direction,
                label: if obs.is_empty() {
                    "supports no observation (the probe seen on its way)".to_string()
                } else {
                    format!("supports {}", obs.join(" and "))
                },
            }
        })
        .collect();
    write_items(out, items, "sightings of the probe, in corrected time order")
}

/// Writes every sighting of every packet `--match` followed (the replies too) as one pcapng:
/// each packet's comment names its connection, packet, hop and fate; the times are each node's
/// own clock (live traffic is not clock-corrected).
pub fn write_followed(out: &mut dyn Write, result: &LiveResult) -> io::Result<StitchReport> {
    let mut items = Vec::new();
    let mut packet_of = 0;
    for (c, conn) in result.connections.iter().enumerate() {
        let replies = conn.replies.as_deref().map(|r| (r, "reply "));
        for (conn_or_reply, what) in std::iter::once((conn, "")).chain(replies) {
            for p in &conn_or_reply.packets {
                for s in &p.sightings {
                    let label = format!(
                        "connection {} {what}packet {} ({}, ct {}), {}; here {} ttl {}",
                        c + 1,
                        p.number,
                        conn_or_reply.tuple,
                        p.ct_state,
                        serde_name(&p.fate),
                        s.tuple,
                        s.ttl
                    );
                    items.push(Item {
                        packet_of,
                        node: &s.node,
                        interface: s.interface.clone().unwrap_or_else(|| file_name(&s.file)),
                        file: &s.file,
                        packet: s.packet,
                        time_ns: s.time_ns,
                        offset_ns: 0,
                        direction: None,
                        label,
                    });
                }
                packet_of += 1;
            }
        }
    }
    write_items(
        out,
        items,
        &format!("sightings of the packets --match {} followed, in each node's own time", result.spec),
    )
}

fn file_name(file: &str) -> String {
    Path::new(file).file_name().map_or_else(|| file.to_string(), |f| f.to_string_lossy().into_owned())
}

/// Writes `items` in time order (see the module documentation); `what` says in the section's
/// comment what they are (`sightings of the probe, …`).
fn write_items(out: &mut dyn Write, mut items: Vec<Item>, what: &str) -> io::Result<StitchReport> {
    let mut report = StitchReport::default();
    // Time order; sightings without a time (pcapng Simple Packet Blocks) last.
    items.sort_by(|a, b| {
        (a.time_ns.is_none(), a.time_ns, a.node, a.file, a.packet).cmp(&(
            b.time_ns.is_none(),
            b.time_ns,
            b.node,
            b.file,
            b.packet,
        ))
    });
    if items.len() > MAX_STITCHED {
        report.left_out.push(format!(
            "{} sightings beyond the first {MAX_STITCHED} (a re-used probe or a loop?)",
            items.len() - MAX_STITCHED
        ));
        items.truncate(MAX_STITCHED);
    }
    let mut by_file: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for s in &items {
        by_file.entry(s.file).or_default().insert(s.packet);
    }
    let mut bytes: BTreeMap<&str, Frames> = BTreeMap::new();
    for (file, wanted) in &by_file {
        match frames(file, wanted) {
            Ok(f) => {
                let missing = wanted.iter().filter(|p| !f.contains_key(p)).count();
                if missing > 0 {
                    report.left_out.push(format!("{file}: {missing} sighted packets no longer in the file"));
                }
                bytes.insert(file, f);
            }
            Err(why) => report.left_out.push(format!("{file}: {why}: {} sightings left out", wanted.len())),
        }
    }
    let mut interfaces: Vec<(IfaceKey, String)> = Vec::new();
    let mut packets: Vec<Stitched> = Vec::new();
    // Per packet followed: (hops written, the last hop's time and number).
    let mut hops: BTreeMap<usize, (usize, Option<(i64, usize)>)> = BTreeMap::new();
    let mut last_time = 0i64;
    for s in &items {
        let Some((data, link, orig)) = bytes.get(s.file).and_then(|f| f.get(&s.packet)) else { continue };
        let key: IfaceKey = (s.node.to_string(), s.interface.clone(), link.0);
        let id = match interfaces.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let description =
                    format!("node {}, interface {} (captured in {})", s.node, s.interface, file_name(s.file));
                interfaces.push((key, description));
                interfaces.len() - 1
            }
        };
        let (count, previous) = hops.entry(s.packet_of).or_default();
        *count += 1;
        let hop = *count;
        let mut comment = format!("hop {hop}: node {}, interface {}; {}; ", s.node, s.interface, s.label);
        match (s.time_ns, *previous) {
            (Some(t), Some((p, ph))) => comment.push_str(&format!("Δt {} since hop {ph}", signed(t - p))),
            (Some(_), None) => comment.push_str("first hop"),
            (None, _) => comment.push_str("no capture time (stamped with the previous hop's)"),
        }
        comment.push_str(&format!("; {} packet {}", s.file, s.packet));
        if s.offset_ns != 0 {
            comment.push_str(&format!(", clock corrected by {}", signed(s.offset_ns)));
        }
        let time_ns = s.time_ns.unwrap_or(last_time);
        if let Some(t) = s.time_ns {
            *previous = Some((t, hop));
            last_time = t;
        }
        packets.push(Stitched {
            interface: id,
            time_ns,
            data: data.clone(),
            original_len: *orig,
            direction: s.direction,
            comment,
        });
    }
    let mut section = SectionHeaderBlock::default();
    section
        .options
        .push(SectionHeaderOption::UserApplication(Cow::Owned(format!("hoptrace {}", env!("CARGO_PKG_VERSION")))));
    let mut note = format!("{} {what}", packets.len());
    if !report.left_out.is_empty() {
        note.push_str(&format!("; left out: {}", report.left_out.join("; ")));
    }
    section.options.push(SectionHeaderOption::Comment(Cow::Owned(note)));
    let mut w = PcapNgWriter::with_section_header(out, section).map_err(io::Error::other)?;
    for ((_, name, link), description) in &interfaces {
        let idb = InterfaceDescriptionBlock {
            linktype: DataLink::from(*link),
            snaplen: 0,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Owned(name.clone())),
                InterfaceDescriptionOption::IfDescription(Cow::Owned(description.clone())),
                // pcap-file writes Enhanced Packet Block times in nanoseconds.
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        };
        w.write_pcapng_block(idb).map_err(io::Error::other)?;
    }
    for p in &packets {
        let mut options = vec![EnhancedPacketOption::Comment(Cow::Borrowed(p.comment.as_str()))];
        if let Some(d) = p.direction {
            options.push(EnhancedPacketOption::Flags(match d {
                Direction::Inbound => 1,
                Direction::Outbound => 2,
            }));
        }
        let epb = EnhancedPacketBlock {
            interface_id: u32::try_from(p.interface).map_err(io::Error::other)?,
            timestamp: Duration::from_nanos(u64::try_from(p.time_ns).unwrap_or(0)),
            original_len: p.original_len.max(u32::try_from(p.data.len()).unwrap_or(u32::MAX)),
            data: Cow::Borrowed(&p.data),
            options,
        };
        w.write_pcapng_block(epb).map_err(io::Error::other)?;
    }
    report.written = packets.len();
    Ok(report)
}

fn signed(ns: i64) -> String {
    if ns >= 0 {
        format!("+{}", human_duration(ns))
    } else {
        human_duration(ns)
    }
}
