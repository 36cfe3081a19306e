//! Splitting one uncompressed capture file into chunks that can be read in parallel.
//!
//! A chunk starts at a record (pcap) or block (pcapng) boundary found near a nominal offset:
//!
//! - pcapng: a packet block whose leading and trailing lengths agree, followed by further blocks
//!   whose framing agrees too (every block carries its length at both ends);
//! - pcap: a record header that the file's snapshot length, the timestamp fraction's range and
//!   the lengths' order allow, followed by several more such headers whose timestamps go on
//!   from each other (records have no framing of their own, so the chain is the evidence).
//!
//! A boundary found this way is only a guess, and every chunk but the first is read from a
//! guessed state: the pcap file header, or the first pcapng section and the interfaces described
//! before its first packet block. The caller accepts a chunk only when the chunk before it
//! ended exactly at its start and in exactly the state it assumed (see
//! [`crate::decode::scan`]), and reads again from where the previous chunk really ended when not,
//! so a wrong guess, a section or interface block in the middle of the file, or damage costs
//! time and never changes what is read. A file whose start cannot be read cleanly, or in which
//! no boundary is found, is not split.

use super::pcap::{self, FileHeader, LengthOrder};
use super::pcapng;
use super::reader::{read_header_state, ReadState, BUFFER_SIZE, MAX_CAPLEN};
use super::sniff::sniff_compression;
use super::source::Compression;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Bytes read at a nominal split offset to find a boundary after it (and the chain that
/// confirms it).
pub const PROBE_LEN: usize = 1 << 20;

/// Candidate boundaries are looked for in this many bytes after the nominal offset; the rest of
/// the probe holds the chain.
pub const SEARCH_LEN: usize = PROBE_LEN / 2;

/// Consecutive plausible pcap record headers that make a boundary.
pub const PCAP_CHAIN: usize = 8;

/// Consecutive well-framed pcapng blocks that make a boundary.
pub const PCAPNG_CHAIN: usize = 4;

/// How far the timestamps of consecutive records in a chain may go back (captures from several
/// CPUs are only nearly in order), and forward.
const CHAIN_BACK_SEC: u32 = 3600;
const CHAIN_FORWARD_SEC: u32 = 86_400;

/// One chunk of a file: the records starting in `start..end`, read from `state`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// File offset of its first record or block.
    pub start: u64,
    /// Records and blocks starting here or later belong to the next chunk (`u64::MAX` for the
    /// last).
    pub end: u64,
    /// The reader's state at `start` (`None` for the first chunk, which starts the file).
    pub state: Option<ReadState>,
}

/// The chunks a file is read in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// In file order; the first starts at 0, each ends where the next starts, the last at the
    /// end of the file.
    pub chunks: Vec<Chunk>,
}

/// Plans the chunks of `path` (of `size` bytes) for chunks of about `chunk_bytes`; `Err(why)`
/// when the file is not split.
pub fn plan_split(path: &Path, size: u64, chunk_bytes: u64) -> Result<Plan, String> {
    let chunk_bytes = chunk_bytes.max(1);
    if size < chunk_bytes.saturating_mul(2) {
        return Err(format!("smaller than two chunks of {} bytes", chunk_bytes));
    }
    let mut file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut head = [0u8; 4];
    let n = read_up_to(&mut file, &mut head).map_err(|e| format!("cannot read: {e}"))?;
    if sniff_compression(&head[..n]) != Compression::None {
        return Err("compressed (a compressed stream can only be read from its start)".into());
    }
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let Some((state, first)) = read_header_state(Box::new(file)) else {
        return Err("its header blocks are damaged or it is not a pcap or pcapng file".into());
    };
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut probe = vec![0u8; PROBE_LEN];
    let mut starts = vec![0u64];
    let mut nominal = chunk_bytes;
    while nominal < size {
        let from = nominal.max(first).max(starts.last().copied().unwrap_or(0) + 1);
        let got = read_at_up_to(&file, &mut probe, from).map_err(|e| format!("cannot read: {e}"))?;
        let at_eof = from + got as u64 >= size;
        if let Some(q) = find_boundary(&state, &probe[..got], from, at_eof) {
            starts.push(q);
        }
        nominal += chunk_bytes;
    }
    starts.dedup();
    if starts.len() < 2 {
        return Err("no record boundary could be confirmed at any split point".into());
    }
    let chunks = starts
        .iter()
        .enumerate()
        .map(|(i, &start)| Chunk {
            start,
            end: starts.get(i + 1).copied().unwrap_or(u64::MAX),
            state: (i > 0).then(|| state.clone()),
        })
        .collect();
    Ok(Plan { chunks })
}

/// The first offset in `buf` (which starts at file offset `base`; `at_eof` when it runs to the
/// end of the file) where a confirmed boundary starts.
pub fn find_boundary(state: &ReadState, buf: &[u8], base: u64, at_eof: bool) -> Option<u64> {
    let search = buf.len().min(SEARCH_LEN);
    match state {
        ReadState::Pcap(h) => (0..search).find(|&q| pcap_chain(h, &buf[q..], at_eof)).map(|q| base + q as u64),
        ReadState::PcapNg { section: Some(sec), .. } => {
            // Blocks are 4-byte aligned from the start of the file.
            let skew = ((4 - base % 4) % 4) as usize;
            (skew..search)
                .step_by(4)
                .find(|&q| pcapng_chain(sec.big_endian, &buf[q..], at_eof))
                .map(|q| base + q as u64)
        }
        ReadState::PcapNg { section: None, .. } => None,
    }
}

/// Whether `b` starts with [`PCAP_CHAIN`] plausible record headers (fewer when the file ends).
fn pcap_chain(h: &FileHeader, b: &[u8], at_eof: bool) -> bool {
    let snap = if h.snaplen == 0 { MAX_CAPLEN } else { h.snaplen };
    let frac_limit = if h.nanos { 1_000_000_000 } else { 1_000_000 };
    let mut at = 0usize;
    let mut prev_sec: Option<u32> = None;
    for _ in 0..PCAP_CHAIN {
        if at == b.len() && at_eof && prev_sec.is_some() {
            return true;
        }
        let Some(head) = b.get(at..at + pcap::RECORD_HEADER_LEN) else { return false };
        let r = pcap::parse_record_header(head, h);
        let lengths_ok = match h.lengths {
            LengthOrder::Normal => r.caplen <= r.origlen,
            _ => true,
        };
        if r.caplen > snap || r.caplen as usize > BUFFER_SIZE - pcap::RECORD_HEADER_LEN || !lengths_ok {
            return false;
        }
        if r.ts_frac >= frac_limit || r.origlen > (1 << 24) {
            return false;
        }
        if let Some(p) = prev_sec {
            if r.ts_sec < p.saturating_sub(CHAIN_BACK_SEC) || r.ts_sec > p.saturating_add(CHAIN_FORWARD_SEC) {
                return false;
            }
        }
        prev_sec = Some(r.ts_sec);
        at += pcap::RECORD_HEADER_LEN + r.caplen as usize;
        if at > b.len() {
            return false;
        }
    }
    true
}

/// Whether `b` starts with a packet block followed by blocks whose framing agrees,
/// [`PCAPNG_CHAIN`] in all (fewer when the file ends).
fn pcapng_chain(big_endian: bool, b: &[u8], at_eof: bool) -> bool {
    let mut at = 0usize;
    for i in 0..PCAPNG_CHAIN {
        if at == b.len() && at_eof && i > 0 {
            return true;
        }
        let (Some(t), Some(len)) = (pcapng::u32_at(b, at, big_endian), pcapng::u32_at(b, at + 4, big_endian)) else {
            return false;
        };
        if i == 0 && !pcapng::is_packet_block(t) {
            return false;
        }
        if pcapng::check_length(t, len, pcapng::MIN_BLOCK_LEN).is_err() || len as usize > BUFFER_SIZE {
            return false;
        }
        let end = at + len as usize;
        if pcapng::u32_at(b, end - 4, big_endian) != Some(len) {
            return false;
        }
        at = end;
    }
    true
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn read_at_up_to(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Opens `path` positioned at `offset`, for reading a chunk.
pub fn open_at(path: &Path, offset: u64) -> io::Result<File> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    Ok(f)
}
