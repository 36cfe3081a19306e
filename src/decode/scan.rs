//! Scanning one node's capture files for the probe: read, decode and match every packet,
//! files in parallel (rayon), memory bounded by one read buffer per file in flight plus the
//! sightings themselves.

use super::evidence::{CaptureReport, ErrorReport, NearMiss, Undecoded, MAX_LISTED_NEAR_MISSES};
use super::layers::{decode, Stop};
use super::prefilter::Prefilter;
use super::sighting::{is_reply, match_fingerprint, Match, PacketContext, Sighting};
use super::tuple::FlowTuple;
use crate::capture::iface::{interface_from_file_name, is_placeholder_name};
use crate::capture::sniff::is_capture_file;
use crate::capture::walk::{WalkProblem, Walker};
use crate::capture::{open_capture, read_capture, CaptureError, Compression, ErrorKind, Format};
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
    /// The probe's 5-tuples (as sent, and after the DNATs the inputs predict): packets with one
    /// of them but not the tag are counted as near misses (the first [`super::tuple::MAX_TUPLES`]
    /// are used).
    pub tuples: &'a [FlowTuple],
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

/// Scans one capture file. `progress`, when given, advances by the file's size on disk.
pub fn scan_file(target: &ScanTarget<'_>, path: &Path, progress: Option<&ProgressBar>) -> FileScan {
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
            return FileScan { report, sightings: Vec::new() };
        }
    };
    let plain = source.compression == Compression::None;
    let file_iface = interface_from_file_name(path, target.node).filter(|n| !is_placeholder_name(n));
    let mut sightings = Vec::new();
    let mut undecoded = Undecoded::default();
    let mut link_types = Vec::new();
    let mut interfaces: Vec<String> = file_iface.iter().cloned().collect();
    let mut reported = 0u64;
    let mut replies = 0u64;
    let (mut near_misses, mut listed_near_misses) = (0u64, Vec::new());
    let (mut tuple_near_misses, mut listed_tuple_near_misses) = (0u64, Vec::new());
    let (mut first_ns, mut last_ns) = (None::<i64>, None::<i64>);
    let tuples = &target.tuples[..target.tuples.len().min(super::tuple::MAX_TUPLES)];
    let prefilter = Prefilter::new(target.fingerprint.dscp, tuples);
    let summary = read_capture(path, source, |pkt| {
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
        if let Some(t) = pkt.timestamp_ns {
            first_ns = Some(first_ns.map_or(t, |f| f.min(t)));
            last_ns = Some(last_ns.map_or(t, |l| l.max(t)));
        }
        if !prefilter.may_match(pkt.link_type, pkt.data) {
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
        let m = match_fingerprint(target.fingerprint, &ip, d.transport.as_ref());
        if m == Match::No {
            let transport = d.transport.as_ref();
            let (count, listed) = if ip.dscp == target.fingerprint.dscp {
                (&mut near_misses, &mut listed_near_misses)
            } else if tuples.iter().any(|t| t.matches(&ip, transport)) {
                (&mut tuple_near_misses, &mut listed_tuple_near_misses)
            } else {
                return;
            };
            *count += 1;
            if listed.len() < MAX_LISTED_NEAR_MISSES {
                listed.push(NearMiss {
                    packet: pkt.index,
                    timestamp_ns: pkt.timestamp_ns,
                    src: ip.src,
                    dst: ip.dst,
                    protocol: ip.protocol,
                    ident: ip.identification.map(u32::from).or(ip.flow_label),
                    dscp: Some(ip.dscp),
                    ports: transport.and_then(super::transport::TransportInfo::ports),
                });
            }
            return;
        }
        if target.ends.is_some_and(|ends| is_reply(&ends, &ip, d.transport.as_ref())) {
            replies += 1;
            return;
        }
        let interface = recorded.or(file_iface.as_deref());
        let ctx = PacketContext {
            node: target.node,
            file: &file_name,
            packet: pkt.index,
            interface,
            direction: pkt.direction,
            timestamp_ns: pkt.timestamp_ns,
            captured_length: pkt.data.len() as u32,
            original_length: pkt.orig_len,
        };
        sightings.push(Sighting::new(&ctx, &d, ip, m));
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
    report.link_types = link_types.iter().map(|l| l.name()).collect();
    report.interfaces = interfaces;
    report.sightings = sightings.len() as u64;
    report.undecoded = undecoded;
    report.replies = replies;
    report.near_misses = near_misses;
    report.listed_near_misses = listed_near_misses;
    report.tuple_near_misses = tuple_near_misses;
    report.listed_tuple_near_misses = listed_tuple_near_misses;
    report.first_ns = first_ns;
    report.last_ns = last_ns;
    let to_report = |e: &CaptureError| ErrorReport { packet: e.packet, offset: e.offset, message: e.to_string() };
    report.error = summary.error.as_ref().map(to_report);
    report.more_damage = summary.more_damage.iter().map(to_report).collect();
    report.omitted_damage = summary.omitted_damage;
    report.resumed_sections = summary.resumed;
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
