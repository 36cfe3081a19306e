//! Scanning one node's capture files for the probe: read, decode and match every packet,
//! files in parallel (rayon), and a large uncompressed file in chunks in parallel too, with the
//! same results as reading it from start to end; memory bounded by one read buffer per worker
//! thread plus the sightings themselves.

use super::evidence::{CaptureReport, ErrorReport, NearMiss, Undecoded, MAX_LISTED_NEAR_MISSES};
use super::identity::{self, Key};
use super::layers::IpInfo;
use super::layers::{decode, Stop};
use super::prefilter::Prefilter;
use super::sighting::{is_reply, match_fingerprint, Match, PacketContext, Sighting};
use super::transport::TransportInfo;
use super::tuple::{FlowTuple, MAX_TUPLES};
use crate::capture::iface::{interface_from_file_name, is_placeholder_name};
use crate::capture::reader::{read_range, RangeEnd, RangeStop, ReadState, ReadSummary, MAX_DAMAGE_REPORTS};
use crate::capture::sniff::is_capture_file;
use crate::capture::split::{open_at, plan_split, Chunk, Plan};
use crate::capture::walk::{WalkProblem, Walker};
use crate::capture::{open_capture, read_capture, CaptureError, Compression, ErrorKind, Format};
use crate::capture::{LinkType, Packet};
use crate::probe::{Fingerprint, ProbeEnds};
use indicatif::ProgressBar;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// What to look for and where the results belong.
#[derive(Clone)]
pub struct ScanTarget<'a> {
    /// Node name recorded in every sighting.
    pub node: &'a str,
    /// What to keep.
    pub want: Want<'a>,
}

impl<'a> ScanTarget<'a> {
    /// A scan for the probe with `fingerprint` (`ends`, when given, tells it from replies that
    /// carry its fingerprint; `None` takes every fingerprint match as the probe); packets with
    /// one of `tuples` but not the tag are counted as near misses.
    pub fn probe(
        node: &'a str,
        fingerprint: &'a Fingerprint,
        ends: Option<ProbeEnds>,
        tuples: &'a [FlowTuple],
    ) -> ScanTarget<'a> {
        let tuples = &tuples[..tuples.len().min(MAX_TUPLES)];
        ScanTarget {
            node,
            want: Want::Probe { fingerprint, ends, tuples, prefilter: Prefilter::new(fingerprint.dscp, tuples) },
        }
    }
}

/// What a scan keeps of the packets it decodes.
#[derive(Clone)]
pub enum Want<'a> {
    /// Sightings of a probe: its fingerprint, and its ends to tell it from replies.
    Probe {
        /// The probe's fingerprint.
        fingerprint: &'a Fingerprint,
        /// The probe's ends.
        ends: Option<ProbeEnds>,
        /// The probe's 5-tuples (as sent, and after the DNATs the inputs predict), at most
        /// [`MAX_TUPLES`]: packets with one of them but not the tag are near misses.
        tuples: &'a [FlowTuple],
        /// The cheap test of a frame before decoding: the tag, or one of the tuples.
        prefilter: Prefilter,
    },
    /// Real packets (`analyze --match`): every packet with a transport header whose headers and
    /// identity [`Key`] the selector accepts; [`FileScan::keys`] holds each one's key.
    Keyed(&'a KeySelector<'a>),
}

/// What a keyed scan keeps: a packet's IP and transport headers as seen, and its key.
pub type KeySelector<'a> = dyn Fn(&IpInfo, Option<&TransportInfo>, &Key) -> bool + Sync + 'a;

/// The result of scanning one file.
#[derive(Clone, Debug)]
pub struct FileScan {
    /// Counts, link types, interfaces, damage.
    pub report: CaptureReport,
    /// Sightings in packet order.
    pub sightings: Vec<Sighting>,
    /// A keyed scan's identity key of each sighting (empty for a probe scan).
    pub keys: Vec<Key>,
    /// How the file was read: in parallel chunks or from start to end, and why (for `-v`; the
    /// report and sightings are the same either way).
    pub mode: ScanMode,
}

/// How one file was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanMode {
    /// From start to end by one thread, for the reason given.
    Sequential(String),
    /// In chunks scanned in parallel ([`crate::capture::split`]).
    Split {
        /// Chunks whose results were used.
        chunks: usize,
        /// Where the chunks planned did not join up (a section or interface block in the
        /// middle of the file, damage, a boundary guessed wrong) and the file was read again
        /// from there: the offsets.
        replanned_at: Vec<u64>,
        /// Offset from which the rest was read by one thread, after too many re-plans.
        sequential_from: Option<u64>,
    },
}

impl ScanMode {
    /// One line for `-v`.
    pub fn describe(&self) -> String {
        match self {
            ScanMode::Sequential(why) => format!("read by one thread ({why})"),
            ScanMode::Split { chunks, replanned_at, sequential_from } => {
                let mut s = format!("read in {chunks} chunks in parallel");
                if !replanned_at.is_empty() {
                    let at: Vec<String> = replanned_at.iter().map(u64::to_string).collect();
                    s += &format!(
                        "; the chunks did not join up at byte(s) {} (a section or interface block mid-file, damage, or a boundary guessed wrong) and were read again from there",
                        at.join(", ")
                    );
                }
                if let Some(at) = sequential_from {
                    s += &format!("; from byte {at} on by one thread");
                }
                s
            }
        }
    }
}

/// How files are split into chunks for parallel scanning.
#[derive(Clone, Copy, Debug)]
pub struct SplitOptions {
    /// Chunk size; `None` chooses one from the file size and the thread count (see
    /// [`SplitOptions::chunk_bytes_for`]).
    pub chunk_bytes: Option<u64>,
    /// Whether files may be split at all (with one worker thread they are not).
    pub enabled: bool,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions { chunk_bytes: None, enabled: true }
    }
}

/// The smallest chunk chosen automatically: smaller ones cost more in planning than they win.
pub const MIN_CHUNK: u64 = 16 << 20;
/// The largest chunk chosen automatically (smaller ones balance the threads better).
pub const MAX_CHUNK: u64 = 128 << 20;
/// Chunks per thread aimed at, so that threads finishing early find more work.
const CHUNKS_PER_THREAD: u64 = 4;
/// Re-plans of one file after which the rest is read by one thread.
pub const MAX_REPLANS: usize = 4;

impl SplitOptions {
    /// The chunk size for a file of `size` bytes with `threads` worker threads.
    pub fn chunk_bytes_for(&self, size: u64, threads: usize) -> u64 {
        self.chunk_bytes
            .unwrap_or_else(|| (size / (threads as u64 * CHUNKS_PER_THREAD).max(1)).clamp(MIN_CHUNK, MAX_CHUNK))
    }
}

/// The most interface names listed in one capture report.
const MAX_LISTED_INTERFACES: usize = 1024;

/// How often (in stream bytes) a file scan reports progress.
const PROGRESS_STEP: u64 = 8 << 20;

/// What the packets of a file (or of one chunk of it) gave: everything in the capture report
/// that is collected packet by packet, and the sightings. Packet numbers count from the start
/// of what was read; [`Collected::append`] renumbers a chunk's when joining it to the ones
/// before.
#[derive(Clone, Debug, Default)]
struct Collected {
    sightings: Vec<Sighting>,
    keys: Vec<Key>,
    /// The earliest and latest packet times.
    span: Option<(i64, i64)>,
    undecoded: Undecoded,
    link_types: Vec<LinkType>,
    interfaces: Vec<String>,
    replies: u64,
    near_misses: u64,
    listed_near_misses: Vec<NearMiss>,
    tuple_near_misses: u64,
    listed_tuple_near_misses: Vec<NearMiss>,
}

impl Collected {
    fn new(file_iface: Option<&String>) -> Self {
        Collected { interfaces: file_iface.into_iter().cloned().collect(), ..Collected::default() }
    }

    /// Looks at one packet.
    fn visit(&mut self, target: &ScanTarget<'_>, file_name: &str, file_iface: Option<&str>, pkt: &Packet) {
        if let Some(t) = pkt.timestamp_ns {
            self.span = Some(self.span.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
        }
        if !self.link_types.contains(&pkt.link_type) {
            self.link_types.push(pkt.link_type);
        }
        let recorded = pkt.interface.and_then(|i| i.name.as_deref()).filter(|n| !is_placeholder_name(n));
        if let Some(name) = recorded {
            if self.interfaces.len() < MAX_LISTED_INTERFACES && !self.interfaces.iter().any(|n| n == name) {
                self.interfaces.push(name.to_string());
            }
        }
        if let Want::Probe { prefilter, .. } = &target.want {
            if !prefilter.may_match(pkt.link_type, pkt.data) {
                return;
            }
        }
        let d = decode(pkt.link_type, pkt.data);
        match d.stop {
            Some(Stop::UnsupportedLinkType) => self.undecoded.unsupported_link_type += 1,
            Some(Stop::ShortFrame) => self.undecoded.short_frame += 1,
            Some(Stop::NotIp) => self.undecoded.not_ip += 1,
            Some(Stop::TooDeep) => self.undecoded.too_deep += 1,
            None => {}
        }
        let Some(ip) = d.ip else { return };
        let interface = recorded.or(file_iface);
        let ctx = PacketContext {
            node: target.node,
            file: file_name,
            packet: pkt.index,
            interface,
            direction: pkt.direction,
            timestamp_ns: pkt.timestamp_ns,
            captured_length: pkt.data.len() as u32,
            original_length: pkt.orig_len,
        };
        let (fingerprint, ends, tuples) = match &target.want {
            Want::Probe { fingerprint, ends, tuples, .. } => (*fingerprint, ends, *tuples),
            Want::Keyed(select) => {
                let transport = d.transport.as_ref();
                let payload = d
                    .ip_payload
                    .and_then(|(start, len)| pkt.data.get(start..start.saturating_add(len)))
                    .unwrap_or_default();
                if let Some(key) = identity::key(&ip, transport, payload).filter(|k| select(&ip, transport, k)) {
                    self.sightings.push(Sighting::new(&ctx, &d, ip, Match::Probe));
                    self.keys.push(key);
                }
                return;
            }
        };
        let m = match_fingerprint(fingerprint, &ip, d.transport.as_ref());
        if m == Match::No {
            let transport = d.transport.as_ref();
            let (count, listed) = if ip.dscp == fingerprint.dscp {
                (&mut self.near_misses, &mut self.listed_near_misses)
            } else if tuples.iter().any(|t| t.matches(&ip, transport)) {
                (&mut self.tuple_near_misses, &mut self.listed_tuple_near_misses)
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
                    ports: transport.and_then(TransportInfo::ports),
                });
            }
            return;
        }
        if ends.is_some_and(|ends| is_reply(&ends, &ip, d.transport.as_ref())) {
            self.replies += 1;
            return;
        }
        self.sightings.push(Sighting::new(&ctx, &d, ip, m));
    }

    /// Joins what a later chunk collected, its packet numbers counting on from `base`, as if
    /// one reader had seen both.
    fn append(&mut self, mut later: Collected, base: u64) {
        for l in later.link_types {
            if !self.link_types.contains(&l) {
                self.link_types.push(l);
            }
        }
        for name in later.interfaces {
            if self.interfaces.len() < MAX_LISTED_INTERFACES && !self.interfaces.contains(&name) {
                self.interfaces.push(name);
            }
        }
        for s in &mut later.sightings {
            s.packet += base;
        }
        self.sightings.append(&mut later.sightings);
        self.keys.append(&mut later.keys);
        self.span = match (self.span, later.span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        };
        let u = &mut self.undecoded;
        u.unsupported_link_type += later.undecoded.unsupported_link_type;
        u.short_frame += later.undecoded.short_frame;
        u.not_ip += later.undecoded.not_ip;
        u.too_deep += later.undecoded.too_deep;
        self.replies += later.replies;
        self.near_misses += later.near_misses;
        for mut n in later.listed_near_misses {
            if self.listed_near_misses.len() < MAX_LISTED_NEAR_MISSES {
                n.packet += base;
                self.listed_near_misses.push(n);
            }
        }
        self.tuple_near_misses += later.tuple_near_misses;
        for mut n in later.listed_tuple_near_misses {
            if self.listed_tuple_near_misses.len() < MAX_LISTED_NEAR_MISSES {
                n.packet += base;
                self.listed_tuple_near_misses.push(n);
            }
        }
    }
}

/// Joins the summary of a later chunk, its packet numbers counting on from the packets of
/// `acc`, as if one reader had read both.
fn append_summary(acc: &mut ReadSummary, later: ReadSummary) {
    let base = acc.packets;
    let renumber = |mut e: CaptureError| {
        e.packet += base;
        e
    };
    let mut kept = acc.error.is_some() as usize + acc.more_damage.len();
    for e in later.error.into_iter().chain(later.more_damage).map(renumber) {
        if acc.error.is_none() {
            acc.error = Some(e);
        } else if kept < MAX_DAMAGE_REPORTS {
            acc.more_damage.push(e);
        } else {
            acc.omitted_damage += 1;
            continue;
        }
        kept += 1;
    }
    acc.omitted_damage += later.omitted_damage;
    acc.packets += later.packets;
    acc.bytes = later.bytes;
    acc.sections = later.sections;
    acc.resumed += later.resumed;
    acc.format = acc.format.or(later.format);
}

/// Scans one capture file from start to end. `progress`, when given, advances by the file's
/// size on disk.
pub fn scan_file(target: &ScanTarget<'_>, path: &Path, progress: Option<&ProgressBar>) -> FileScan {
    scan_whole(target, path, progress, ScanMode::Sequential("not split".into()))
}

fn scan_whole(target: &ScanTarget<'_>, path: &Path, progress: Option<&ProgressBar>, mode: ScanMode) -> FileScan {
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
            return FileScan { report, sightings: Vec::new(), keys: Vec::new(), mode };
        }
    };
    let plain = source.compression == Compression::None;
    let file_iface = interface_from_file_name(path, target.node).filter(|n| !is_placeholder_name(n));
    let mut collected = Collected::new(file_iface.as_ref());
    let mut reported = 0u64;
    let summary = read_capture(path, source, |pkt| {
        if let Some(p) = progress.filter(|_| plain && pkt.offset - reported >= PROGRESS_STEP) {
            p.inc(pkt.offset - reported);
            reported = pkt.offset;
        }
        collected.visit(target, &file_name, file_iface.as_deref(), pkt);
    });
    if let Some(p) = progress {
        p.inc(disk_size.saturating_sub(if plain { reported } else { 0 }));
    }
    finish(report, summary, collected, mode)
}

/// The capture report and sightings from what reading gave.
fn finish(mut report: CaptureReport, summary: ReadSummary, c: Collected, mode: ScanMode) -> FileScan {
    report.format = summary.format.map(|f| match f {
        Format::Pcap => "pcap".to_string(),
        Format::PcapNg => "pcapng".to_string(),
    });
    // A file that is not a capture at all has no format.
    if summary.packets == 0 && matches!(summary.error.as_ref().map(|e| &e.kind), Some(ErrorKind::NotACapture(..))) {
        report.format = None;
    }
    report.compression = summary.compression.name().map(str::to_string);
    report.packets = summary.packets;
    report.bytes = summary.bytes;
    report.first_ns = c.span.map(|s| s.0);
    report.last_ns = c.span.map(|s| s.1);
    report.link_types = c.link_types.iter().map(|l| l.name()).collect();
    report.interfaces = c.interfaces;
    report.sightings = c.sightings.len() as u64;
    report.undecoded = c.undecoded;
    report.replies = c.replies;
    report.near_misses = c.near_misses;
    report.listed_near_misses = c.listed_near_misses;
    report.tuple_near_misses = c.tuple_near_misses;
    report.listed_tuple_near_misses = c.listed_tuple_near_misses;
    let to_report = |e: &CaptureError| ErrorReport { packet: e.packet, offset: e.offset, message: e.to_string() };
    report.error = summary.error.as_ref().map(to_report);
    report.more_damage = summary.more_damage.iter().map(to_report).collect();
    report.omitted_damage = summary.omitted_damage;
    report.resumed_sections = summary.resumed;
    FileScan { report, sightings: c.sightings, keys: c.keys, mode }
}

/// What reading one chunk gave.
struct ChunkScan {
    summary: ReadSummary,
    end: RangeEnd,
    collected: Collected,
}

/// Reads one chunk of an uncompressed file.
fn scan_chunk(target: &ScanTarget<'_>, path: &Path, chunk: &Chunk, progress: Option<&ProgressBar>) -> ChunkScan {
    let file_name = path.display().to_string();
    let file_iface = interface_from_file_name(path, target.node).filter(|n| !is_placeholder_name(n));
    let mut collected = Collected::new(file_iface.as_ref());
    let (summary, end) = match open_at(path, chunk.start) {
        Ok(f) => read_range(path, Box::new(f), chunk.start, chunk.end, chunk.state.clone(), |pkt| {
            collected.visit(target, &file_name, file_iface.as_deref(), pkt)
        }),
        Err(e) => {
            // The file was readable when planned: report it like a read error there.
            let (mut summary, _) = read_range(path, Box::new(std::io::empty()), chunk.start, 0, None, |_| {});
            summary.error = Some(CaptureError {
                file: path.to_path_buf(),
                packet: 1,
                offset: chunk.start,
                kind: ErrorKind::Io(e.to_string()),
                cost: crate::capture::Cost::RestOfFile,
            });
            summary.bytes = chunk.start;
            (summary, RangeEnd { offset: chunk.start, state: None, stop: RangeStop::Fatal })
        }
    };
    if let Some(p) = progress {
        p.inc(end.offset.saturating_sub(chunk.start));
    }
    ChunkScan { summary, end, collected }
}

/// One unit of work: a whole file, or a chunk of a split one.
enum Work<'a> {
    Whole(ScanMode),
    Chunk(&'a Chunk),
}

/// What one unit of work gave.
enum Done {
    Whole(FileScan),
    Chunk(ChunkScan),
}

/// Joins the chunks of a file in order, accepting each only when the one before ended exactly
/// at its start and in the state it assumed; where not, plans again from where the previous one
/// really ended and reads the rest again (in parallel, on the current pool).
fn join_chunks(target: &ScanTarget<'_>, path: &Path, plan: Plan, mut results: Vec<ChunkScan>) -> FileScan {
    let file_iface = interface_from_file_name(path, target.node).filter(|n| !is_placeholder_name(n));
    let mut collected = Collected::new(file_iface.as_ref());
    let mut summary: Option<ReadSummary> = None;
    let mut chunks = plan.chunks;
    let boundaries: Vec<u64> = chunks.iter().skip(1).map(|c| c.start).collect();
    let (mut accepted, mut replanned_at, mut sequential_from) = (0usize, Vec::new(), None);
    loop {
        let mut resume: Option<(u64, ReadState)> = None;
        let mut done = false;
        let mut prev_end: Option<RangeEnd> = None;
        for (chunk, r) in chunks.iter().zip(results) {
            if let Some(end) = prev_end.take() {
                if end.stop != RangeStop::RangeEnd {
                    done = true;
                    break;
                }
                if end.offset != chunk.start || end.state != chunk.state {
                    resume = end.state.map(|s| (end.offset, s));
                    done = resume.is_none();
                    break;
                }
            }
            let base = summary.as_ref().map_or(0, |s| s.packets);
            match summary.as_mut() {
                None => summary = Some(r.summary),
                Some(acc) => append_summary(acc, r.summary),
            }
            if accepted == 0 {
                collected = r.collected;
            } else {
                collected.append(r.collected, base);
            }
            accepted += 1;
            prev_end = Some(r.end);
        }
        let Some((offset, state)) = resume.filter(|_| !done) else { break };
        // Plan the rest from where the last accepted chunk ended, with the state there.
        replanned_at.push(offset);
        let rest: Vec<u64> = if replanned_at.len() > MAX_REPLANS {
            sequential_from = Some(offset);
            Vec::new()
        } else {
            boundaries.iter().copied().filter(|&b| b > offset).collect()
        };
        let starts: Vec<u64> = std::iter::once(offset).chain(rest).collect();
        chunks = starts
            .iter()
            .enumerate()
            .map(|(i, &start)| Chunk {
                start,
                end: starts.get(i + 1).copied().unwrap_or(u64::MAX),
                state: Some(state.clone()),
            })
            .collect();
        results = chunks.par_iter().with_max_len(1).map(|c| scan_chunk(target, path, c, None)).collect();
    }
    let report = CaptureReport { file: path.display().to_string(), ..CaptureReport::default() };
    let summary = summary.unwrap_or_else(|| read_range(path, Box::new(std::io::empty()), 0, 0, None, |_| {}).0);
    finish(report, summary, collected, ScanMode::Split { chunks: accepted, replanned_at, sequential_from })
}

/// Scans several files in parallel on the current rayon pool; results keep the given order.
/// Large uncompressed files are split into chunks scanned in parallel too (see
/// [`crate::capture::split`]); the results are those of reading each file from start to end.
pub fn scan_files(target: &ScanTarget<'_>, paths: &[PathBuf], progress: Option<&ProgressBar>) -> Vec<FileScan> {
    scan_files_with(target, paths, progress, SplitOptions::default())
}

/// [`scan_files`] with the given split options.
pub fn scan_files_with(
    target: &ScanTarget<'_>,
    paths: &[PathBuf],
    progress: Option<&ProgressBar>,
    options: SplitOptions,
) -> Vec<FileScan> {
    let threads = rayon::current_num_threads();
    let plans: Vec<Result<Plan, String>> = paths
        .par_iter()
        .map(|p| {
            if !options.enabled || threads < 2 {
                return Err("one worker thread".to_string());
            }
            let size = std::fs::metadata(p).map(|m| m.len()).map_err(|e| format!("cannot read: {e}"))?;
            plan_split(p, size, options.chunk_bytes_for(size, threads))
        })
        .collect();
    // One list of work over all files, so that each thread reads one window at a time.
    let work: Vec<(usize, Work<'_>)> = plans
        .iter()
        .enumerate()
        .flat_map(|(i, plan)| match plan {
            Ok(plan) => plan.chunks.iter().map(|c| (i, Work::Chunk(c))).collect::<Vec<_>>(),
            Err(why) => vec![(i, Work::Whole(ScanMode::Sequential(why.clone())))],
        })
        .collect();
    let mut done: Vec<Done> = work
        .par_iter()
        .with_max_len(1)
        .map(|(i, w)| match w {
            Work::Whole(mode) => Done::Whole(scan_whole(target, &paths[*i], progress, mode.clone())),
            Work::Chunk(c) => Done::Chunk(scan_chunk(target, &paths[*i], c, progress)),
        })
        .collect();
    let mut out = Vec::with_capacity(paths.len());
    let mut rest = done.drain(..);
    for (i, plan) in plans.into_iter().enumerate() {
        match plan {
            Err(_) => {
                if let Some(Done::Whole(scan)) = rest.next() {
                    out.push(scan);
                }
            }
            Ok(plan) => {
                let results: Vec<ChunkScan> = rest
                    .by_ref()
                    .take(plan.chunks.len())
                    .filter_map(|d| match d {
                        Done::Chunk(c) => Some(c),
                        Done::Whole(_) => None,
                    })
                    .collect();
                let scan = join_chunks(target, &paths[i], plan, results);
                if let Some(p) = progress {
                    let size = std::fs::metadata(&paths[i]).map(|m| m.len()).unwrap_or(0);
                    p.inc(size.saturating_sub(scan.report.bytes));
                }
                out.push(scan);
            }
        }
    }
    out
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
