//! Scanning one node's capture files for the probe: read, decode and match every packet,
//! files in parallel (rayon), memory bounded by one read buffer per file in flight plus the
//! sightings themselves.

use super::evidence::{CaptureReport, ErrorReport, NearMiss, Undecoded, MAX_LISTED_NEAR_MISSES};
use super::identity::{self, Key};
use super::layers::{decode, Decoded, IpInfo, Stop};
use super::prefilter::may_carry_tag;
use super::sighting::{is_reply, match_fingerprint, Match, PacketContext, Sighting};
use super::transport::TransportInfo;
use crate::capture::iface::{interface_from_file_name, is_placeholder_name};
use crate::capture::sniff::is_capture_file;
use crate::capture::walk::{WalkProblem, Walker};
use crate::capture::{open_capture, read_capture, CaptureError, Compression, ErrorKind, Format, LinkType, Packet};
use crate::probe::{Fingerprint, ProbeEnds};
use indicatif::ProgressBar;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// What to look for and where the results belong.
#[derive(Clone, Debug)]
pub struct ScanTarget<'a> {
    /// Node name recorded in every sighting.
    pub node: &'a str,
    /// The probe's fingerprint.
    pub fingerprint: &'a Fingerprint,
    /// The probe's ends, to tell it from replies that carry its fingerprint (`None` takes every
    /// fingerprint match as the probe).
    pub ends: Option<ProbeEnds>,
}

/// The result of scanning one file.
#[derive(Clone, Debug)]
pub struct FileScan {
    /// Counts, link types, interfaces, damage.
    pub report: CaptureReport,
    /// Sightings in packet order.
    pub sightings: Vec<Sighting>,
}

/// The most interface names listed in one capture report.
const MAX_LISTED_INTERFACES: usize = 1024;

/// How often (in stream bytes) a file scan reports progress.
const PROGRESS_STEP: u64 = 8 << 20;

/// Where a decoded packet was captured, handed to a scan's selector with the packet.
pub struct Seen<'a> {
    /// The capture record.
    pub packet: &'a Packet<'a>,
    /// Its layers.
    pub decoded: &'a Decoded,
    /// Node, file, interface and times, ready for a [`Sighting`].
    pub context: PacketContext<'a>,
}

/// Reads one capture file and offers every decoded IP packet that passes `prefilter` to
/// `select`, keeping what it returns (in packet order); the report has the file's counts, link
/// types, interfaces and damage. `progress`, when given, advances by the file's size on disk.
pub fn scan_with<T>(
    node: &str,
    path: &Path,
    progress: Option<&ProgressBar>,
    prefilter: impl Fn(LinkType, &[u8]) -> bool,
    mut select: impl FnMut(&Seen<'_>, IpInfo) -> Option<T>,
) -> (CaptureReport, Vec<T>) {
    let file_name = path.display().to_string();
    let mut report = CaptureReport { file: file_name.clone(), ..CaptureReport::default() };
    let disk_size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let source = match open_capture(path) {
        Ok(s) => s,
        Err(e) => {
            let err = CaptureError {
                file: path.to_path_buf(),
                packet: 1,
                offset: 0,
                kind: ErrorKind::Io(e.to_string()),
                cost: crate::capture::Cost::RestOfFile,
            };
            report.error = Some(ErrorReport { packet: 1, offset: 0, message: err.to_string() });
            if let Some(p) = progress {
                p.inc(disk_size);
            }
            return (report, Vec::new());
        }
    };
    let plain = source.compression == Compression::None;
    let file_iface = interface_from_file_name(path, node).filter(|n| !is_placeholder_name(n));
    let mut kept = Vec::new();
    let mut undecoded = Undecoded::default();
    let mut link_types = Vec::new();
    let mut interfaces: Vec<String> = file_iface.iter().cloned().collect();
    let mut reported = 0u64;
    let mut span: Option<(i64, i64)> = None;
    let summary = read_capture(path, source, |pkt| {
        if let Some(t) = pkt.timestamp_ns {
            span = Some(span.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
        }
        if !link_types.contains(&pkt.link_type) {
            link_types.push(pkt.link_type);
        }
        let recorded = pkt.interface.and_then(|i| i.name.as_deref()).filter(|n| !is_placeholder_name(n));
        if let Some(name) = recorded {
            if interfaces.len() < MAX_LISTED_INTERFACES && !interfaces.iter().any(|n| n == name) {
                interfaces.push(name.to_string());
            }
        }
        if let Some(p) = progress.filter(|_| plain && pkt.offset - reported >= PROGRESS_STEP) {
            p.inc(pkt.offset - reported);
            reported = pkt.offset;
        }
        if !prefilter(pkt.link_type, pkt.data) {
            return;
        }
        let d = decode(pkt.link_type, pkt.data);
        match d.stop {
            Some(Stop::UnsupportedLinkType) => undecoded.unsupported_link_type += 1,
            Some(Stop::ShortFrame) => undecoded.short_frame += 1,
            Some(Stop::NotIp) => undecoded.not_ip += 1,
            Some(Stop::TooDeep) => undecoded.too_deep += 1,
            None => {}
        }
        let Some(ip) = d.ip else { return };
        let context = PacketContext {
            node,
            file: &file_name,
            packet: pkt.index,
            interface: recorded.or(file_iface.as_deref()),
            direction: pkt.direction,
            timestamp_ns: pkt.timestamp_ns,
            captured_length: pkt.data.len() as u32,
            original_length: pkt.orig_len,
        };
        kept.extend(select(&Seen { packet: pkt, decoded: &d, context }, ip));
    });
    if let Some(p) = progress {
        p.inc(disk_size.saturating_sub(if plain { reported } else { 0 }));
    }
    report.format = summary.format.map(|f| match f {
        Format::Pcap => "pcap".to_string(),
        Format::PcapNg => "pcapng".to_string(),
    });
    // A file that is not a capture at all has no format.
    if summary.packets == 0 && matches!(summary.error.as_ref().map(|e| &e.kind), Some(ErrorKind::NotACapture(..))) {
        report.format = None;
    }
    report.compression = (summary.compression == Compression::Gzip).then(|| "gzip".to_string());
    report.packets = summary.packets;
    report.bytes = summary.bytes;
    report.earliest_ns = span.map(|s| s.0);
    report.latest_ns = span.map(|s| s.1);
    report.link_types = link_types.iter().map(|l| l.name()).collect();
    report.interfaces = interfaces;
    report.undecoded = undecoded;
    let to_report = |e: &CaptureError| ErrorReport { packet: e.packet, offset: e.offset, message: e.to_string() };
    report.error = summary.error.as_ref().map(to_report);
    report.more_damage = summary.more_damage.iter().map(to_report).collect();
    report.omitted_damage = summary.omitted_damage;
    report.resumed_sections = summary.resumed;
    (report, kept)
}

/// Scans one capture file for the probe. `progress`, when given, advances by the file's size
/// on disk.
pub fn scan_file(target: &ScanTarget<'_>, path: &Path, progress: Option<&ProgressBar>) -> FileScan {
    let mut replies = 0u64;
    let (mut near_misses, mut listed_near_misses) = (0u64, Vec::new());
    let dscp = target.fingerprint.dscp;
    let prefilter = |link, data: &[u8]| may_carry_tag(dscp, link, data);
    let (mut report, sightings) = scan_with(target.node, path, progress, prefilter, |seen, ip| {
        let transport = seen.decoded.transport.as_ref();
        let m = match_fingerprint(target.fingerprint, &ip, transport);
        if m == Match::No {
            if ip.dscp == dscp {
                near_misses += 1;
                if listed_near_misses.len() < MAX_LISTED_NEAR_MISSES {
                    listed_near_misses.push(NearMiss {
                        packet: seen.packet.index,
                        timestamp_ns: seen.packet.timestamp_ns,
                        src: ip.src,
                        dst: ip.dst,
                        protocol: ip.protocol,
                        ident: ip.identification.map(u32::from).or(ip.flow_label),
                    });
                }
            }
            return None;
        }
        if target.ends.is_some_and(|ends| is_reply(&ends, &ip, transport)) {
            replies += 1;
            return None;
        }
        Some(Sighting::new(&seen.context, seen.decoded, ip, m))
    });
    report.sightings = sightings.len() as u64;
    report.replies = replies;
    report.near_misses = near_misses;
    report.listed_near_misses = listed_near_misses;
    FileScan { report, sightings }
}

/// Scans several files in parallel on the current rayon pool; results keep the given order.
pub fn scan_files(target: &ScanTarget<'_>, paths: &[PathBuf], progress: Option<&ProgressBar>) -> Vec<FileScan> {
    paths.par_iter().with_max_len(1).map(|p| scan_file(target, p, progress)).collect()
}

/// The capture files the inputs name, and what under them was not read.
#[derive(Debug, Default)]
pub struct ExpandedInputs {
    /// Files to scan: files given, then captures found in directories (name order).
    pub files: Vec<PathBuf>,
    /// Paths under the inputs not read, and why (see [`crate::capture::walk`]).
    pub problems: Vec<WalkProblem>,
}

/// Expands the inputs: files as given (each file once, however often it is named); directories
/// searched (see [`crate::capture::walk`]) for files whose content is a capture
/// ([`is_capture_file`]).
pub fn expand_inputs(inputs: &[PathBuf]) -> ExpandedInputs {
    let mut walker = Walker::new();
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            files.extend(walker.files_under(input, |p| is_capture_file(p).map_err(|e| format!("cannot read: {e}"))));
        } else if walker.claim_file(input) {
            files.push(input.clone());
        }
    }
    ExpandedInputs { files, problems: walker.problems }
}

/// A packet of real traffic a keyed scan kept: its identity along the path, and where it was
/// seen.
#[derive(Clone, Debug)]
pub struct KeyedSighting {
    /// The fields no hop rewrites ([`crate::decode::identity`]).
    pub key: Key,
    /// Where it was seen and its headers there.
    pub sighting: Sighting,
}

/// What a keyed scan keeps: a packet's IP and transport headers as seen, and its key.
pub type KeySelector<'a> = dyn Fn(&IpInfo, Option<&TransportInfo>, &Key) -> bool + Sync + 'a;

/// Scans one capture file for real packets: every decoded packet with a transport header whose
/// headers and [`Key`] `select` accepts.
pub fn scan_file_keyed(
    node: &str,
    path: &Path,
    progress: Option<&ProgressBar>,
    select: &KeySelector<'_>,
) -> (CaptureReport, Vec<KeyedSighting>) {
    let (mut report, kept) = scan_with(
        node,
        path,
        progress,
        |_, _| true,
        |seen, ip| {
            let transport = seen.decoded.transport.as_ref();
            let payload = seen
                .decoded
                .ip_payload
                .and_then(|(start, len)| seen.packet.data.get(start..start.saturating_add(len)))
                .unwrap_or_default();
            let key = identity::key(&ip, transport, payload)?;
            select(&ip, transport, &key)
                .then(|| KeyedSighting { key, sighting: Sighting::new(&seen.context, seen.decoded, ip, Match::Probe) })
        },
    );
    report.sightings = kept.len() as u64;
    (report, kept)
}

/// [`scan_file_keyed`] over several files in parallel; results keep the given order.
pub fn scan_files_keyed(
    node: &str,
    paths: &[PathBuf],
    progress: Option<&ProgressBar>,
    select: &KeySelector<'_>,
) -> Vec<(CaptureReport, Vec<KeyedSighting>)> {
    paths.par_iter().with_max_len(1).map(|p| scan_file_keyed(node, p, progress, select)).collect()
}
