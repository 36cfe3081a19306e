//! Reading pcap and pcapng records: per-record link type, timestamp in nanoseconds, interface
//! and direction, with damage reported by packet number and byte offset and costing only the
//! damaged part. Memory is one fixed window per file, whatever the file size.
//!
//! What damage costs: in a classic pcap file, the rest of the file (records have no framing to
//! resynchronise on, and tcpdump stops there too). In pcapng, a block whose framing is intact
//! (leading and trailing lengths agree) costs that block only; a block whose framing is lost,
//! or a section header that cannot be read, costs the rest of its section, and reading goes on
//! at the next Section Header Block. Damage in the compression layer keeps every byte before it.

use super::error::{CaptureError, Cost, ErrorKind};
use super::linktype::LinkType;
use super::pcap::{self, FileHeader};
use super::pcapng::{self, PacketView};
use super::sniff::{sniff_content, Content};
use super::source::{CaptureSource, Compression, StreamDamage, StreamNotes};
use super::window::Window;
use std::collections::VecDeque;
use std::path::Path;

/// Size of the read window: must hold the largest record we accept plus its header.
pub const BUFFER_SIZE: usize = 1 << 20;

/// The largest captured length we accept for one record, as libpcap and Wireshark do
/// (262144 bytes), unless the file's snapshot length is larger; a larger value means the file is
/// damaged.
pub const MAX_CAPLEN: u32 = 262_144;

/// The largest pcapng block that is not a packet and is skipped by reading through it (libpcap's
/// limit for any block); a larger one means the framing is damaged.
pub const MAX_SKIPPED_BLOCK: u64 = 16 << 20;

/// The most Interface Description Blocks we keep for one pcapng section (bounds memory on
/// hostile input; real captures have a handful).
pub const MAX_INTERFACES: usize = 65_536;

/// The most damage reports kept for one file; later ones are only counted.
pub const MAX_DAMAGE_REPORTS: usize = 100;

/// Which way a packet crossed the interface, when the capture says so (pcapng `epb_flags`,
/// Linux cooked `packet type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received by the interface.
    Inbound,
    /// Sent by the interface.
    Outbound,
}

/// Capture container format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

/// One pcapng interface (Interface Description Block), or the single implicit interface of a
/// classic pcap file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// 0-based section number (pcapng; 0 for pcap).
    pub section: u32,
    /// Interface id within the section.
    pub id: u32,
    /// Link-layer header type of its packets.
    pub link_type: LinkType,
    /// `if_name`, when the file records it.
    pub name: Option<String>,
    /// Snapshot length.
    pub snaplen: u32,
    /// Timestamp units per second (`if_tsresol`: 10^n, or 2^n with the high bit; 10^6 by
    /// default); `None` when the value is out of range (the timestamps are then unknown).
    pub ts_units_per_sec: Option<u64>,
    /// Seconds added to every timestamp (`if_tsoffset`).
    pub ts_offset_sec: i64,
}

/// One captured packet, borrowed from the reader's buffer for the duration of a visit.
#[derive(Clone, Debug)]
pub struct Packet<'a> {
    /// 1-based packet number in the file (what `tcpdump -#` and Wireshark's frame number show).
    pub index: u64,
    /// Byte offset of the record in the (decompressed) stream.
    pub offset: u64,
    /// Capture time in nanoseconds since the Unix epoch (`None` for pcapng Simple Packet Blocks,
    /// which carry no time, and for interfaces whose resolution is out of range).
    pub timestamp_ns: Option<i64>,
    /// Link-layer header type.
    pub link_type: LinkType,
    /// The captured bytes (possibly cut at the snapshot length).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// The pcapng interface, when the file has one.
    pub interface: Option<&'a Interface>,
    /// Direction from pcapng `epb_flags`, when recorded.
    pub direction: Option<Direction>,
}

/// What reading one capture gave: counts, and the damage met.
#[derive(Clone, Debug)]
pub struct ReadSummary {
    /// Container format, once recognised.
    pub format: Option<Format>,
    /// How the file was stored.
    pub compression: Compression,
    /// Packets delivered to the visitor.
    pub packets: u64,
    /// Bytes of the (decompressed) stream consumed.
    pub bytes: u64,
    /// pcapng sections read.
    pub sections: u32,
    /// The first damage met (the packets before it were delivered).
    pub error: Option<CaptureError>,
    /// Damage met after the first, in file order (at most [`MAX_DAMAGE_REPORTS`] in all).
    pub more_damage: Vec<CaptureError>,
    /// Damage met beyond [`MAX_DAMAGE_REPORTS`] (counted, not kept).
    pub omitted_damage: u64,
    /// How many times reading resumed at a later pcapng section after damage.
    pub resumed: u32,
}

impl ReadSummary {
    /// Every damage kept, first first.
    pub fn damage(&self) -> impl Iterator<Item = &CaptureError> {
        self.error.iter().chain(self.more_damage.iter())
    }

    /// Whether reading went on after the first damage (a later block, section or member).
    pub fn read_past_damage(&self) -> bool {
        self.error.as_ref().is_some_and(|e| e.cost != Cost::RestOfFile)
    }
}

/// Reads every record of a capture stream and calls `visit` for each packet, in file order.
/// Damage is reported in the summary (see the module documentation for what it costs); never
/// panics, never loops, never allocates more than the window and the bounded lists.
pub fn read_capture(path: &Path, source: CaptureSource, visit: impl FnMut(&Packet)) -> ReadSummary {
    let mut r = Reader::new(path, source, 0, u64::MAX, visit);
    let _ = r.run();
    r.summary.bytes = r.win.offset();
    r.summary
}

/// The state of one pcapng section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Whether the section's fields are big-endian.
    pub big_endian: bool,
    /// Its interfaces, in the order of their description blocks.
    pub interfaces: Vec<Interface>,
}

/// Everything the reader knows at a record or block boundary of an uncompressed file: with it,
/// reading can start at that boundary and go exactly as it would have gone from the start of
/// the file (what [`read_range`] needs to scan one chunk of a file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadState {
    /// A classic pcap file, with its header.
    Pcap(FileHeader),
    /// A pcapng file: the current section (`None` inside a section that could not be read,
    /// where reading looks for the next one) and how many sections were read before.
    PcapNg {
        /// The section being read.
        section: Option<Section>,
        /// Sections read so far (numbers the next one).
        sections: u32,
    },
}

/// How reading a range ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeStop {
    /// At the first record or block at or after the end of the range.
    RangeEnd,
    /// At the end of the stream.
    StreamEnd,
    /// At damage that ends the file (reported).
    Fatal,
}

/// Where reading a range ended, and the state there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeEnd {
    /// Stream offset reading stopped at.
    pub offset: u64,
    /// The reader's state there (meaningful after [`RangeStop::RangeEnd`]).
    pub state: Option<ReadState>,
    /// Why it stopped.
    pub stop: RangeStop,
}

/// Reads the records of an uncompressed capture that start in `start..end`, `stream` being
/// positioned at `start` and `state` the reader's state there (`None` at the start of the
/// file). Packet numbers in the summary and in `visit` count from 1 at `start`; offsets are
/// those of the file. The last record may run past `end`: the returned offset is where the next
/// range must start for the two to read as the whole file would.
pub fn read_range(
    path: &Path,
    stream: Box<dyn std::io::Read + Send>,
    start: u64,
    end: u64,
    state: Option<ReadState>,
    visit: impl FnMut(&Packet),
) -> (ReadSummary, RangeEnd) {
    let source = CaptureSource { stream, compression: Compression::None, notes: StreamNotes::default() };
    let mut r = Reader::new(path, source, start, end, visit);
    let stop = r.run_from(state);
    r.summary.bytes = r.win.offset();
    let offset = r.win.offset();
    let state = r.state.take();
    (r.summary, RangeEnd { offset, state, stop })
}

/// The state after the header blocks of an uncompressed capture: the pcap file header, or the
/// first pcapng section with the interfaces described before its first packet block, and the
/// offset of the first record or packet block. `None` when the file does not start that way.
pub fn read_header_state(stream: Box<dyn std::io::Read + Send>) -> Option<(ReadState, u64)> {
    let source = CaptureSource { stream, compression: Compression::None, notes: StreamNotes::default() };
    let mut r = Reader::new(Path::new(""), source, 0, u64::MAX, |_: &Packet| {});
    r.headers_only = true;
    let stop = r.run_from(None);
    let clean = r.summary.error.is_none() && stop == RangeStop::RangeEnd;
    let state = r.state.take()?;
    clean.then_some((state, r.win.offset()))
}

struct Reader<'p, V> {
    path: &'p Path,
    win: Window,
    /// Records and blocks starting at or after this offset are left to the next range.
    end_at: u64,
    /// Stop at the first pcap record or pcapng packet block ([`read_header_state`]).
    headers_only: bool,
    /// The state where reading stopped, for [`read_range`].
    state: Option<ReadState>,
    notes: StreamNotes,
    /// Compression-layer notes not yet placed at a packet, in stream order.
    pending: VecDeque<StreamDamage>,
    /// The window's read count when the notes were last taken.
    notes_at_read: u64,
    summary: ReadSummary,
    visit: V,
}

/// Why a read step stopped.
enum Stop {
    /// The stream ended cleanly.
    End,
    /// Damage that ends the file (already reported).
    Fatal,
    /// The end of the range was reached (the state is saved).
    RangeEnd,
}

impl<'p, V: FnMut(&Packet)> Reader<'p, V> {
    fn new(path: &'p Path, source: CaptureSource, start: u64, end_at: u64, visit: V) -> Self {
        Reader {
            path,
            win: Window::starting_at(source.stream, BUFFER_SIZE, start),
            end_at,
            headers_only: false,
            state: None,
            notes: source.notes,
            pending: VecDeque::new(),
            notes_at_read: 0,
            summary: ReadSummary {
                format: None,
                compression: source.compression,
                packets: 0,
                bytes: 0,
                sections: 0,
                error: None,
                more_damage: Vec::new(),
                omitted_damage: 0,
                resumed: 0,
            },
            visit,
        }
    }

    /// Reads a range from a saved state (see [`read_range`]).
    fn run_from(&mut self, state: Option<ReadState>) -> RangeStop {
        let stop = match state {
            None => self.run(),
            Some(ReadState::Pcap(header)) => {
                self.summary.format = Some(Format::Pcap);
                self.pcap_records(header)
            }
            Some(ReadState::PcapNg { section, sections }) => {
                self.summary.format = Some(Format::PcapNg);
                self.summary.sections = sections;
                self.pcapng_blocks(section)
            }
        };
        match stop {
            Stop::End => RangeStop::StreamEnd,
            Stop::Fatal => RangeStop::Fatal,
            Stop::RangeEnd => RangeStop::RangeEnd,
        }
    }

    fn report(&mut self, offset: u64, kind: ErrorKind, cost: Cost) {
        report_into(&mut self.summary, self.path, offset, kind, cost);
    }

    /// Places the compression-layer notes that lie before `offset` at the next packet.
    fn place_notes(&mut self, offset: u64) {
        self.pending.extend(self.notes.take());
        while self.pending.front().is_some_and(|n| n.decompressed_offset <= offset) {
            let Some(n) = self.pending.pop_front() else { break };
            let cost = if n.ends_stream() { Cost::RestOfFile } else { Cost::Nothing };
            let at = n.decompressed_offset;
            self.report(at, ErrorKind::Stream(n), cost);
        }
    }

    /// Reports that the stream ended inside a record at `offset`: the compression layer's note
    /// when it cut the stream there, else a truncation.
    fn truncated(&mut self, offset: u64, needed: u64, left: u64) -> Stop {
        self.pending.extend(self.notes.take());
        if let Some(n) = self.pending.iter().position(|n| n.ends_stream()) {
            if let Some(mut n) = self.pending.remove(n) {
                // Named at the record it cut, which is where the packets stop.
                n.decompressed_offset = n.decompressed_offset.max(offset);
                self.place_notes(offset);
                self.report(offset, ErrorKind::Stream(n), Cost::RestOfFile);
                return Stop::Fatal;
            }
        }
        self.place_notes(offset);
        self.report(offset, ErrorKind::Truncated { needed, left }, Cost::RestOfFile);
        Stop::Fatal
    }

    /// Makes `n` bytes available at the current offset; `Err` after reporting when the stream
    /// ends or fails first.
    fn need(&mut self, n: usize) -> Result<(), Stop> {
        let at = self.win.offset();
        match self.win.fill(n) {
            Ok(k) if k >= n => Ok(()),
            Ok(k) => Err(self.truncated(at, n as u64, k as u64)),
            Err(e) => {
                self.place_notes(at);
                self.report(at, ErrorKind::Io(e.to_string()), Cost::RestOfFile);
                Err(Stop::Fatal)
            }
        }
    }

    /// Whether the stream is at its end (an I/O error is reported and ends it too).
    fn at_end(&mut self) -> bool {
        match self.win.at_end() {
            Ok(end) => end,
            Err(e) => {
                let at = self.win.offset();
                self.report(at, ErrorKind::Io(e.to_string()), Cost::RestOfFile);
                true
            }
        }
    }

    fn run(&mut self) -> Stop {
        let _ = self.win.fill(pcap::FILE_HEADER_LEN);
        let head = self.win.data();
        let content = sniff_content(head);
        let stop = match content {
            Content::Pcap => {
                self.summary.format = Some(Format::Pcap);
                self.read_pcap()
            }
            Content::PcapNg => {
                self.summary.format = Some(Format::PcapNg);
                self.read_pcapng()
            }
            Content::Other => {
                let mut first = [0u8; 4];
                let n = head.len().min(4);
                first[..n].copy_from_slice(&head[..n]);
                // A damaged compressed file: the compression layer says why.
                self.pending.extend(self.notes.take());
                if self.pending.iter().any(|n| n.ends_stream()) {
                    self.place_notes(u64::MAX);
                } else {
                    self.report(0, ErrorKind::NotACapture(first, n), Cost::RestOfFile);
                }
                Stop::Fatal
            }
        };
        if matches!(stop, Stop::End) {
            let end = self.win.offset();
            self.place_notes(end);
        }
        // Notes past the last record (trailing data after a cut, a second note).
        self.pending.extend(self.notes.take());
        let end = self.win.offset();
        while let Some(n) = self.pending.pop_front() {
            let cost = if n.ends_stream() { Cost::RestOfFile } else { Cost::Nothing };
            self.report(end.min(n.decompressed_offset), ErrorKind::Stream(n), cost);
        }
        stop
    }

    fn read_pcap(&mut self) -> Stop {
        if let Err(stop) = self.need(pcap::FILE_HEADER_LEN) {
            return stop;
        }
        let mut raw = [0u8; pcap::FILE_HEADER_LEN];
        raw.copy_from_slice(&self.win.data()[..pcap::FILE_HEADER_LEN]);
        let header = match pcap::parse_file_header(&raw) {
            Ok(h) => h,
            Err(kind) => {
                self.report(0, kind, Cost::RestOfFile);
                return Stop::Fatal;
            }
        };
        self.win.consume(pcap::FILE_HEADER_LEN);
        self.pcap_records(header)
    }

    /// Reads the records of a pcap file from the current offset.
    fn pcap_records(&mut self, header: FileHeader) -> Stop {
        let iface = Interface {
            section: 0,
            id: 0,
            link_type: header.link_type,
            name: None,
            snaplen: header.snaplen,
            ts_units_per_sec: Some(if header.nanos { 1_000_000_000 } else { 1_000_000 }),
            ts_offset_sec: 0,
        };
        let limit = MAX_CAPLEN.max(header.snaplen).min((self.win.capacity() - pcap::RECORD_HEADER_LEN) as u32);
        loop {
            let offset = self.win.offset();
            if offset >= self.end_at || self.headers_only {
                self.state = Some(ReadState::Pcap(header));
                return Stop::RangeEnd;
            }
            if !self.pending.is_empty() || self.notes_maybe() {
                self.place_notes(offset);
            }
            // The common case: the whole record is in the window already.
            let data = self.win.data();
            if data.len() >= pcap::RECORD_HEADER_LEN {
                let rec = pcap::parse_record_header(data, &header);
                let total = pcap::RECORD_HEADER_LEN + rec.caplen as usize;
                if rec.caplen <= limit && data.len() >= total {
                    self.deliver_pcap(&header, &iface, rec, offset, total);
                    continue;
                }
            }
            if self.at_end() {
                return Stop::End;
            }
            if let Err(stop) = self.need(pcap::RECORD_HEADER_LEN) {
                return stop;
            }
            let rec = pcap::parse_record_header(self.win.data(), &header);
            if rec.caplen > limit {
                self.report(
                    offset,
                    ErrorKind::AbsurdLength { claimed: rec.caplen as u64, limit: limit as u64 },
                    Cost::RestOfFile,
                );
                return Stop::Fatal;
            }
            let total = pcap::RECORD_HEADER_LEN + rec.caplen as usize;
            if let Err(stop) = self.need(total) {
                return stop;
            }
            self.deliver_pcap(&header, &iface, rec, offset, total);
        }
    }

    /// Whether the compression layer may have written notes since they were last taken: only
    /// a compressed stream writes them, and only while the window reads from it.
    #[inline]
    fn notes_maybe(&mut self) -> bool {
        if self.summary.compression == Compression::None || self.win.reads() == self.notes_at_read {
            return false;
        }
        self.notes_at_read = self.win.reads();
        true
    }

    fn deliver_pcap(
        &mut self,
        header: &FileHeader,
        iface: &Interface,
        rec: pcap::RecordHeader,
        offset: u64,
        total: usize,
    ) {
        self.summary.packets += 1;
        let pkt = Packet {
            index: self.summary.packets,
            offset,
            timestamp_ns: Some(rec.timestamp_ns(header)),
            link_type: iface.link_type,
            data: &self.win.data()[pcap::RECORD_HEADER_LEN..total],
            orig_len: rec.origlen,
            interface: None,
            direction: None,
        };
        (self.visit)(&pkt);
        self.win.consume(total);
    }

    fn read_pcapng(&mut self) -> Stop {
        self.pcapng_blocks(None)
    }

    /// Reads pcapng blocks from the current offset, inside `section` (`None` before the first
    /// section header, or in a section that could not be read).
    fn pcapng_blocks(&mut self, mut section: Option<Section>) -> Stop {
        loop {
            let offset = self.win.offset();
            if offset >= self.end_at || (self.headers_only && self.at_packet_block(section.as_ref())) {
                self.state = Some(ReadState::PcapNg { section, sections: self.summary.sections });
                return Stop::RangeEnd;
            }
            if !self.pending.is_empty() || self.notes_maybe() {
                self.place_notes(offset);
            }
            if self.at_end() {
                return Stop::End;
            }
            if let Err(stop) = self.need(8) {
                return stop;
            }
            let head = self.win.data();
            let is_shb = head[..4] == crate::capture::sniff::PCAPNG_MAGIC;
            let result = if is_shb {
                self.section_header(offset).map(|s| {
                    section = s;
                })
            } else if let Some(sec) = section.as_mut() {
                let big_endian = sec.big_endian;
                let block_type = pcapng::u32_at(head, 0, big_endian).unwrap_or(0);
                let len = pcapng::u32_at(head, 4, big_endian).unwrap_or(0);
                Self::block(self, sec, block_type, len, offset)
            } else {
                // Inside a section that could not be read: look for the next one.
                Err(Damage::Resync)
            };
            match result {
                Ok(()) => {}
                Err(Damage::Stop(stop)) => return stop,
                Err(Damage::Resync) => {
                    section = None;
                    match self.resync(offset) {
                        Ok(true) => self.summary.resumed += 1,
                        Ok(false) => return Stop::End,
                        Err(stop) => return stop,
                    }
                }
            }
        }
    }

    /// Whether the next block is a packet block of `section` (or anything but a section or
    /// interface description block), for [`read_header_state`]: stops there.
    fn at_packet_block(&mut self, section: Option<&Section>) -> bool {
        let Some(sec) = section else { return false };
        if self.win.fill(8).unwrap_or(0) < 8 {
            return true;
        }
        let t = pcapng::u32_at(self.win.data(), 0, sec.big_endian).unwrap_or(0);
        t != pcapng::IDB && self.win.data()[..4] != crate::capture::sniff::PCAPNG_MAGIC
    }

    /// Reads a Section Header Block at `offset`; `Ok(None)` for a section of a version that is
    /// not read (reported; its blocks are skipped up to the next section).
    fn section_header(&mut self, offset: u64) -> Result<Option<Section>, Damage> {
        let block = pcapng::block_name(pcapng::SHB);
        self.need(12).map_err(Damage::Stop)?;
        let Some(big_endian) = pcapng::section_byte_order(self.win.data()) else {
            let m = &self.win.data()[8..12];
            let what = format!(
                "byte-order magic is {:02x} {:02x} {:02x} {:02x}, expected 1a 2b 3c 4d or 4d 3c 2b 1a",
                m[0], m[1], m[2], m[3]
            );
            self.report(offset, ErrorKind::BadBlock { block, what }, Cost::RestOfSection);
            return Err(Damage::Resync);
        };
        let len = pcapng::u32_at(self.win.data(), 4, big_endian).unwrap_or(0);
        if let Err(kind) = pcapng::check_length(pcapng::SHB, len, pcapng::MIN_SHB_LEN) {
            self.report(offset, kind, Cost::RestOfSection);
            return Err(Damage::Resync);
        }
        if len as usize > self.win.capacity() {
            let what =
                format!("block length {len} is above the {} bytes a section header may have", self.win.capacity());
            self.report(offset, ErrorKind::BadBlock { block, what }, Cost::RestOfSection);
            return Err(Damage::Resync);
        }
        self.whole_block(pcapng::SHB, len, offset, big_endian)?;
        let b = self.win.data();
        let major = u16::from_le_bytes([b[12], b[13]]);
        let minor = u16::from_le_bytes([b[14], b[15]]);
        let (major, minor) = if big_endian { (major.swap_bytes(), minor.swap_bytes()) } else { (major, minor) };
        self.win.consume(len as usize);
        if !matches!((major, minor), (1, 0) | (1, 2)) {
            self.report(
                offset,
                ErrorKind::UnsupportedVersion { format: "pcapng", version: (major, minor) },
                Cost::RestOfSection,
            );
            return Ok(None);
        }
        self.summary.sections += 1;
        Ok(Some(Section { big_endian, interfaces: Vec::new() }))
    }

    /// Makes a whole block of `len` bytes available at `offset` and checks its trailing length.
    fn whole_block(&mut self, block_type: u32, len: u32, offset: u64, big_endian: bool) -> Result<(), Damage> {
        self.need(len as usize).map_err(Damage::Stop)?;
        let trailing = pcapng::u32_at(self.win.data(), len as usize - 4, big_endian).unwrap_or(0);
        if trailing != len {
            let what = format!("its trailing length {trailing} does not match its leading length {len}");
            self.report(
                offset,
                ErrorKind::BadBlock { block: pcapng::block_name(block_type), what },
                Cost::RestOfSection,
            );
            return Err(Damage::Resync);
        }
        Ok(())
    }

    /// Reads one block other than a section header.
    fn block(&mut self, sec: &mut Section, block_type: u32, len: u32, offset: u64) -> Result<(), Damage> {
        let name = pcapng::block_name(block_type);
        if let Err(kind) = pcapng::check_length(block_type, len, pcapng::MIN_BLOCK_LEN) {
            self.report(offset, kind, Cost::RestOfSection);
            return Err(Damage::Resync);
        }
        if len as usize > self.win.capacity() {
            if pcapng::is_packet_block(block_type) || len as u64 > MAX_SKIPPED_BLOCK {
                let limit =
                    if pcapng::is_packet_block(block_type) { self.win.capacity() as u64 } else { MAX_SKIPPED_BLOCK };
                self.report(offset, ErrorKind::AbsurdLength { claimed: len as u64, limit }, Cost::RestOfSection);
                return Err(Damage::Resync);
            }
            return self.skip_large_block(block_type, len, offset, sec.big_endian);
        }
        self.whole_block(block_type, len, offset, sec.big_endian)?;
        let big_endian = sec.big_endian;
        match block_type {
            pcapng::IDB => {
                if sec.interfaces.len() >= MAX_INTERFACES {
                    self.report(offset, ErrorKind::TooManyInterfaces(MAX_INTERFACES), Cost::RestOfSection);
                    return Err(Damage::Resync);
                }
                match pcapng::parse_interface(&self.win.data()[..len as usize], big_endian) {
                    Ok((idb, damage)) => {
                        let units = pcapng::units_per_second(idb.tsresol);
                        let id = sec.interfaces.len() as u32;
                        if let Some(what) = damage {
                            let what = format!("interface {id}: {what}; its options after that are not read");
                            self.report(offset, ErrorKind::BadBlock { block: name, what }, Cost::Nothing);
                        }
                        if units.is_none() {
                            let what = format!(
                                "interface {id}: if_tsresol {:#04x} is out of range (at most 10^19 or 2^63 units per second); its packets' timestamps are unknown",
                                idb.tsresol
                            );
                            self.report(offset, ErrorKind::BadBlock { block: name, what }, Cost::Nothing);
                        }
                        sec.interfaces.push(Interface {
                            section: self.summary.sections.saturating_sub(1),
                            id,
                            link_type: idb.link_type,
                            name: idb.name,
                            snaplen: idb.snaplen,
                            ts_units_per_sec: units,
                            ts_offset_sec: idb.tsoffset,
                        });
                    }
                    Err(kind) => {
                        // Without the interface, the packets that refer to it cannot be read.
                        self.report(offset, kind, Cost::RestOfSection);
                        self.win.consume(len as usize);
                        return Err(Damage::Resync);
                    }
                }
            }
            pcapng::EPB | pcapng::SPB | pcapng::OPB => {
                let snaplen = sec.interfaces.first().map_or(0, |i| i.snaplen);
                let parsed = pcapng::parse_packet(block_type, &self.win.data()[..len as usize], big_endian, snaplen);
                match parsed {
                    Ok(view) => {
                        deliver_ng(&mut self.summary, self.path, &mut self.visit, sec, block_type, view, offset)
                    }
                    Err(kind) => report_into(&mut self.summary, self.path, offset, kind, Cost::Block),
                }
            }
            pcapng::NRB => {
                if let Err(what) = pcapng::check_name_resolution(&self.win.data()[..len as usize], big_endian) {
                    let what = format!("{what} (names are not used; the block is ignored)");
                    self.report(offset, ErrorKind::BadBlock { block: name, what }, Cost::Nothing);
                }
            }
            _ => {}
        }
        self.win.consume(len as usize);
        Ok(())
    }

    /// Reads through a block larger than the window (not a packet) and checks its trailing
    /// length.
    fn skip_large_block(&mut self, block_type: u32, len: u32, offset: u64, big_endian: bool) -> Result<(), Damage> {
        let body = len as u64 - 4;
        let skipped = match self.win.skip(body) {
            Ok(n) => n,
            Err(e) => {
                self.report(offset, ErrorKind::Io(e.to_string()), Cost::RestOfFile);
                return Err(Damage::Stop(Stop::Fatal));
            }
        };
        if skipped < body {
            return Err(Damage::Stop(self.truncated(offset, len as u64, skipped)));
        }
        self.need(4).map_err(Damage::Stop)?;
        let trailing = pcapng::u32_at(self.win.data(), 0, big_endian).unwrap_or(0);
        if trailing != len {
            let what = format!("its trailing length {trailing} does not match its leading length {len}");
            self.report(
                offset,
                ErrorKind::BadBlock { block: pcapng::block_name(block_type), what },
                Cost::RestOfSection,
            );
            return Err(Damage::Resync);
        }
        self.win.consume(4);
        Ok(())
    }

    /// After damage at `damaged`, moves to the next plausible Section Header Block; `Ok(false)`
    /// when the stream ends first.
    fn resync(&mut self, damaged: u64) -> Result<bool, Stop> {
        // Never resynchronise on the damaged block itself.
        if self.win.offset() == damaged {
            self.win.consume(1);
        }
        let finder = memchr::memmem::Finder::new(&crate::capture::sniff::PCAPNG_MAGIC);
        loop {
            let avail = match self.win.fill(self.win.capacity()) {
                Ok(n) => n,
                Err(e) => {
                    let at = self.win.offset();
                    self.report(at, ErrorKind::Io(e.to_string()), Cost::RestOfFile);
                    return Err(Stop::Fatal);
                }
            };
            if avail == 0 {
                return Ok(false);
            }
            let data = self.win.data();
            let mut from = 0;
            while let Some(pos) = finder.find(&data[from..]).map(|p| p + from) {
                if data.len() - pos < 12 {
                    break;
                }
                if pcapng::looks_like_section_header(&data[pos..]) {
                    self.win.consume(pos);
                    return Ok(true);
                }
                from = pos + 1;
            }
            // Keep the last 11 bytes: a header may straddle the refill.
            if avail < 12 {
                return Ok(false);
            }
            self.win.consume(avail - 11);
            if self.win.fill(12).map_err(|_| Stop::Fatal)? < 12 {
                return Ok(false);
            }
        }
    }
}

/// Records a damage at the next packet number, keeping at most [`MAX_DAMAGE_REPORTS`].
fn report_into(summary: &mut ReadSummary, path: &Path, offset: u64, kind: ErrorKind, cost: Cost) {
    let e = CaptureError { file: path.to_path_buf(), packet: summary.packets + 1, offset, kind, cost };
    let kept = summary.error.is_some() as usize + summary.more_damage.len();
    if summary.error.is_none() {
        summary.error = Some(e);
    } else if kept < MAX_DAMAGE_REPORTS {
        summary.more_damage.push(e);
    } else {
        summary.omitted_damage += 1;
    }
}

/// Delivers a pcapng packet to the visitor, or reports why it cannot be.
fn deliver_ng<V: FnMut(&Packet)>(
    summary: &mut ReadSummary,
    path: &Path,
    visit: &mut V,
    sec: &Section,
    block_type: u32,
    view: PacketView<'_>,
    offset: u64,
) {
    let block = pcapng::block_name(block_type);
    let Some(iface) = sec.interfaces.get(view.interface as usize) else {
        let kind = if block_type == pcapng::SPB && sec.interfaces.is_empty() {
            ErrorKind::BadBlock { block, what: "it comes before any interface description block in its section".into() }
        } else {
            ErrorKind::UnknownInterface(view.interface)
        };
        report_into(summary, path, offset, kind, Cost::Block);
        return;
    };
    let limit = MAX_CAPLEN.max(iface.snaplen);
    if view.data.len() as u64 > limit as u64 {
        let kind = ErrorKind::AbsurdLength { claimed: view.data.len() as u64, limit: limit as u64 };
        report_into(summary, path, offset, kind, Cost::Block);
        return;
    }
    if let Some(what) = view.bad_options {
        let what = format!("{what}; the packet is kept without its direction flags");
        report_into(summary, path, offset, ErrorKind::BadBlock { block, what }, Cost::Nothing);
    }
    let direction = view.flags.and_then(|f| match f & 3 {
        1 => Some(Direction::Inbound),
        2 => Some(Direction::Outbound),
        _ => None,
    });
    let timestamp_ns = view.ticks.zip(iface.ts_units_per_sec).map(|(t, units)| to_ns(t, units, iface.ts_offset_sec));
    summary.packets += 1;
    let pkt = Packet {
        index: summary.packets,
        offset,
        timestamp_ns,
        link_type: iface.link_type,
        data: view.data,
        orig_len: view.orig_len,
        interface: Some(iface),
        direction,
    };
    visit(&pkt);
}

/// Why a pcapng block step did not go on with the next block.
enum Damage {
    /// Reading ends (reported).
    Stop(Stop),
    /// The framing is lost (reported): look for the next section.
    Resync,
}

/// Nanoseconds for `ticks` units of `1/units_per_sec` seconds plus `offset_sec`, saturating.
fn to_ns(ticks: u64, units_per_sec: u64, offset_sec: i64) -> i64 {
    let ns = (ticks as i128 * 1_000_000_000) / units_per_sec.max(1) as i128;
    let total = ns + offset_sec as i128 * 1_000_000_000;
    total.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::source::from_reader;
    use std::io::Cursor;

    /// (index, timestamp, captured length, original length) per packet.
    type Seen = Vec<(u64, Option<i64>, usize, u32)>;

    fn read_bytes(bytes: Vec<u8>) -> (Seen, ReadSummary) {
        let mut seen = Vec::new();
        let src = from_reader(Box::new(Cursor::new(bytes))).unwrap();
        let s =
            read_capture(Path::new("t.pcap"), src, |p| seen.push((p.index, p.timestamp_ns, p.data.len(), p.orig_len)));
        (seen, s)
    }

    fn pcap_header(magic: u32, big_endian: bool, link: u32) -> Vec<u8> {
        let mut v = Vec::new();
        let w32 = |v: &mut Vec<u8>, x: u32| v.extend(if big_endian { x.to_be_bytes() } else { x.to_le_bytes() });
        w32(&mut v, magic);
        let w16 = |v: &mut Vec<u8>, x: u16| v.extend(if big_endian { x.to_be_bytes() } else { x.to_le_bytes() });
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, link);
        v
    }

    fn record(v: &mut Vec<u8>, big_endian: bool, sec: u32, frac: u32, data: &[u8], orig: u32) {
        for x in [sec, frac, data.len() as u32, orig] {
            v.extend(if big_endian { x.to_be_bytes() } else { x.to_le_bytes() });
        }
        v.extend(data);
    }

    #[test]
    fn pcap_all_four_magics() {
        for (magic, nanos) in [(0xa1b2c3d4u32, false), (0xa1b23c4d, true)] {
            for be in [false, true] {
                let mut f = pcap_header(magic, be, 1);
                record(&mut f, be, 1_700_000_000, 123_456, &[0u8; 60], 60);
                record(&mut f, be, 1_700_000_001, 7, &[1u8; 20], 1500);
                let (seen, s) = read_bytes(f);
                assert!(s.error.is_none(), "{:?}", s.error);
                assert_eq!(s.format, Some(Format::Pcap));
                let ns0 = 1_700_000_000_000_000_000 + if nanos { 123_456 } else { 123_456_000 };
                assert_eq!(seen[0], (1, Some(ns0), 60, 60));
                assert_eq!(seen[1].2, 20);
                assert_eq!(seen[1].3, 1500);
            }
        }
    }

    #[test]
    fn truncated_and_absurd_records_are_located() {
        let mut f = pcap_header(0xa1b2c3d4, false, 1);
        record(&mut f, false, 1, 0, &[0u8; 40], 40);
        let good_len = f.len();
        record(&mut f, false, 2, 0, &[0u8; 40], 40);
        f.truncate(f.len() - 5);
        let (seen, s) = read_bytes(f.clone());
        assert_eq!(seen.len(), 1);
        let e = s.error.unwrap();
        assert_eq!((e.packet, e.offset, e.kind), (2, good_len as u64, ErrorKind::Truncated { needed: 56, left: 51 }));

        f.truncate(good_len);
        f.extend(1u32.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(0x7fff_fff0u32.to_le_bytes());
        f.extend(0x7fff_fff0u32.to_le_bytes());
        f.extend([0u8; 100]);
        let (seen, s) = read_bytes(f);
        assert_eq!(seen.len(), 1);
        assert_eq!(s.error.unwrap().kind, ErrorKind::AbsurdLength { claimed: 0x7fff_fff0, limit: 262_144 });
    }

    fn pcapng_section(v: &mut Vec<u8>, version: (u16, u16)) {
        let body: Vec<u8> = [
            0x1a2b3c4du32.to_le_bytes().to_vec(),
            version.0.to_le_bytes().to_vec(),
            version.1.to_le_bytes().to_vec(),
            (-1i64).to_le_bytes().to_vec(),
        ]
        .concat();
        ng_block(v, 0x0a0d0d0a, &body);
        let idb: Vec<u8> = [1u16.to_le_bytes().to_vec(), vec![0, 0], 65535u32.to_le_bytes().to_vec()].concat();
        ng_block(v, 1, &idb);
    }

    fn ng_block(v: &mut Vec<u8>, t: u32, body: &[u8]) {
        let len = 12 + body.len() as u32;
        v.extend(t.to_le_bytes());
        v.extend(len.to_le_bytes());
        v.extend(body);
        v.extend(len.to_le_bytes());
    }

    fn epb(v: &mut Vec<u8>, if_id: u32, data: &[u8; 20]) {
        let body: Vec<u8> =
            [if_id.to_le_bytes(), 0u32.to_le_bytes(), 1u32.to_le_bytes(), 20u32.to_le_bytes(), 20u32.to_le_bytes()]
                .concat();
        ng_block(v, 6, &[body, data.to_vec()].concat());
    }

    fn read_firsts(f: Vec<u8>) -> (Vec<u8>, ReadSummary) {
        let mut firsts = Vec::new();
        let src = from_reader(Box::new(Cursor::new(f))).unwrap();
        let s = read_capture(Path::new("t.pcapng"), src, |p| firsts.push(p.data[0]));
        (firsts, s)
    }

    #[test]
    fn pcapng_damage_costs_the_damaged_part_only() {
        let mut f = Vec::new();
        pcapng_section(&mut f, (1, 0));
        epb(&mut f, 0, &[1; 20]);
        let damaged_at = f.len() as u64;
        epb(&mut f, 5, &[2; 20]); // no interface 5: that block only
        epb(&mut f, 0, &[3; 20]);
        pcapng_section(&mut f, (2, 0)); // a section we cannot read: skipped whole
        epb(&mut f, 0, &[4; 20]);
        pcapng_section(&mut f, (1, 0));
        epb(&mut f, 0, &[5; 20]);
        let (firsts, s) = read_firsts(f);
        assert_eq!(firsts, vec![1, 3, 5]);
        let e = s.error.clone().unwrap();
        assert_eq!((e.packet, e.offset, e.kind, e.cost), (2, damaged_at, ErrorKind::UnknownInterface(5), Cost::Block));
        assert!(matches!(s.more_damage[0].kind, ErrorKind::UnsupportedVersion { version: (2, 0), .. }));
        assert_eq!((s.resumed, s.sections), (1, 2));
        assert!(s.read_past_damage());
    }

    #[test]
    fn broken_framing_costs_the_section_and_a_bad_first_section_header_is_skipped() {
        let mut f = Vec::new();
        pcapng_section(&mut f, (1, 0));
        f[8..12].copy_from_slice(b"XXXX"); // byte-order magic of the first section
        epb(&mut f, 0, &[1; 20]);
        let second = f.len() as u64;
        pcapng_section(&mut f, (1, 0));
        epb(&mut f, 0, &[2; 20]);
        let cut_at = f.len();
        epb(&mut f, 0, &[3; 20]);
        let n = f.len();
        f[n - 4] ^= 1; // its trailing length
        epb(&mut f, 0, &[4; 20]); // lost with the rest of the section
        pcapng_section(&mut f, (1, 0));
        epb(&mut f, 0, &[5; 20]);
        let (firsts, s) = read_firsts(f);
        assert_eq!(firsts, vec![2, 5]);
        let e = s.error.clone().unwrap();
        assert_eq!((e.packet, e.offset, e.cost), (1, 0, Cost::RestOfSection));
        assert!(e.to_string().contains("byte-order magic is 58 58 58 58"), "{e}");
        let e2 = &s.more_damage[0];
        assert_eq!((e2.packet, e2.offset), (2, cut_at as u64));
        assert!(e2.to_string().contains("trailing length 53 does not match its leading length 52"), "{e2}");
        assert_eq!((s.resumed, s.sections, s.format), (2, 2, Some(Format::PcapNg)));
        assert!(second > 0);
    }

    #[test]
    fn a_bad_name_resolution_block_is_reported_and_skipped() {
        let mut f = Vec::new();
        pcapng_section(&mut f, (1, 0));
        epb(&mut f, 0, &[1; 20]);
        let nrb_at = f.len() as u64;
        // One IPv4 record claiming 200 bytes in a 16-byte body.
        let body = [1u16.to_le_bytes(), 200u16.to_le_bytes()].concat();
        ng_block(&mut f, 4, &[body, vec![10, 0, 0, 1, b'a', 0, 0, 0, 0, 0, 0, 0]].concat());
        epb(&mut f, 0, &[2; 20]);
        let (firsts, s) = read_firsts(f);
        assert_eq!(firsts, vec![1, 2]);
        let e = s.error.unwrap();
        assert_eq!((e.packet, e.offset, e.cost), (2, nrb_at, Cost::Nothing));
        let text = e.to_string();
        assert!(
            text.contains("name resolution block: the name record at byte 8 of the block (type 1) claims 200 bytes"),
            "{text}"
        );
    }

    #[test]
    fn binary_time_resolution() {
        let mut f = Vec::new();
        pcapng_section(&mut f, (1, 0));
        // A second interface with if_tsresol 2^-20 (option 9, length 1).
        let idb: Vec<u8> =
            [1u16.to_le_bytes().to_vec(), vec![0, 0], 65535u32.to_le_bytes().to_vec(), vec![9, 0, 1, 0, 0x94, 0, 0, 0]]
                .concat();
        ng_block(&mut f, 1, &idb);
        let ticks: u64 = 1_700_000_000 << 20 | 1 << 19; // 1_700_000_000.5 s
        let body: Vec<u8> = [
            1u32.to_le_bytes(),
            ((ticks >> 32) as u32).to_le_bytes(),
            (ticks as u32).to_le_bytes(),
            20u32.to_le_bytes(),
            20u32.to_le_bytes(),
        ]
        .concat();
        ng_block(&mut f, 6, &[body, vec![0; 20]].concat());
        let mut ts = Vec::new();
        let src = from_reader(Box::new(Cursor::new(f))).unwrap();
        let s = read_capture(Path::new("t.pcapng"), src, |p| ts.push(p.timestamp_ns));
        assert!(s.error.is_none(), "{:?}", s.error);
        assert_eq!(ts, vec![Some(1_700_000_000_500_000_000)]);
    }

    #[test]
    fn old_pcap_versions_have_their_lengths_swapped() {
        let mut f = pcap_header(0xa1b2c3d4, false, 1);
        f[6] = 2; // version 2.2
        for i in 0..3u8 {
            // (original length, captured length) in that order before 2.3
            for x in [i as u32, 0, 100, 60] {
                f.extend(x.to_le_bytes());
            }
            f.extend([i; 60]);
        }
        let (seen, s) = read_bytes(f);
        assert!(s.error.is_none(), "{:?}", s.error);
        assert_eq!(seen.iter().map(|p| (p.2, p.3)).collect::<Vec<_>>(), vec![(60, 100); 3]);
    }

    #[test]
    fn a_reserved_link_type_field_is_a_pcap_error() {
        let (seen, s) = read_bytes(pcap_header(0xa1b2c3d4, false, 0x0001_0001));
        assert!(seen.is_empty());
        assert_eq!(s.format, Some(Format::Pcap));
        let text = s.error.unwrap().to_string();
        assert!(text.contains("pcap file header: link-type field 0x00010001 has reserved bits set"), "{text}");
    }

    fn gz(b: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    fn twenty_packets() -> (Vec<u8>, Vec<usize>) {
        let mut f = pcap_header(0xa1b2c3d4, false, 1);
        let mut ends = Vec::new();
        for i in 0..20u8 {
            record(&mut f, false, i as u32, 0, &[i; 60], 60);
            ends.push(f.len());
        }
        (f, ends)
    }

    #[test]
    fn gzip_damage_keeps_every_packet_before_it() {
        let (plain, ends) = twenty_packets();
        let full = gz(&plain);
        // Trailer cut: every packet is there, the cut is reported at the end.
        let (seen, s) = read_bytes(full[..full.len() - 6].to_vec());
        assert_eq!(seen.len(), 20);
        let e = s.error.unwrap();
        assert!(matches!(e.kind, ErrorKind::Stream(_)) && e.packet == 21, "{e}");
        assert!(e.to_string().contains("gzip member 1 (starting at compressed byte 0) is cut short"), "{e}");
        // Junk after the member: every packet, and a note.
        let (seen, s) = read_bytes([full.clone(), b"JUNKJUNKJUNK".to_vec()].concat());
        assert_eq!(seen.len(), 20);
        assert!(s.error.unwrap().to_string().contains("after the last gzip member"));
        // Bad CRC in the first of two members: all packets, the CRC reported.
        let half = ends[9];
        let mut first = gz(&plain[..half]);
        let n = first.len();
        first[n - 8] ^= 0xff;
        let (seen, s) = read_bytes([first, gz(&plain[half..])].concat());
        assert_eq!(seen.len(), 20);
        let e = s.error.unwrap();
        assert_eq!((e.packet, e.offset, e.cost), (11, half as u64, Cost::Nothing));
        assert!(e.to_string().contains("CRC-32 does not match"), "{e}");
        // Cut in the middle of the deflate data: the packets decompressed before the cut.
        let (seen, s) = read_bytes(full[..full.len() / 2].to_vec());
        let e = s.error.unwrap();
        assert_eq!(e.packet, seen.len() as u64 + 1);
        assert!(e.to_string().contains("is cut short"), "{e}");
    }

    #[test]
    fn interface_flood_is_bounded() {
        let mut f = Vec::new();
        pcapng_section(&mut f, (1, 0));
        let idb: Vec<u8> = [1u16.to_le_bytes().to_vec(), vec![0, 0], 65535u32.to_le_bytes().to_vec()].concat();
        for _ in 0..MAX_INTERFACES {
            ng_block(&mut f, 1, &idb);
        }
        let src = from_reader(Box::new(Cursor::new(f))).unwrap();
        let s = read_capture(Path::new("t.pcapng"), src, |_| {});
        assert_eq!(s.error.unwrap().kind, ErrorKind::TooManyInterfaces(MAX_INTERFACES));
    }

    #[test]
    fn garbage_is_not_a_capture() {
        let (seen, s) = read_bytes(b"hello, this is not a capture file at all".to_vec());
        assert!(seen.is_empty());
        let e = s.error.unwrap();
        assert_eq!(e.kind, ErrorKind::NotACapture(*b"hell", 4));
        assert!(e.to_string().contains("it starts with 68 65 6c 6c (expected"), "{e}");
        let (_, s) = read_bytes(Vec::new());
        assert!(s.error.is_some());
    }

    #[test]
    fn timestamps_with_resolution_and_offset() {
        assert_eq!(to_ns(1_700_000_000_123_456, 1_000_000, 0), 1_700_000_000_123_456_000);
        assert_eq!(to_ns(1_700_000_000_123, 1_000, 10), 1_700_000_010_123_000_000);
        assert_eq!(to_ns(u64::MAX, 1, i64::MAX), i64::MAX);
    }
}
