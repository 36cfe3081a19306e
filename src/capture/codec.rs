//! The compression layers other than gzip's own reader ([`super::gzip`]): zstd and xz streams
//! (several frames or streams one after the other, as `cat a.zst b.zst`, `pzstd` and `xz -T`
//! write them), a bound on how much a stream may expand, and decompression on a thread of its
//! own that hands the scan full buffers through a bounded channel, so inflating and scanning
//! overlap.
//!
//! Damage is recorded in the shared [`StreamNotes`] as for gzip: every byte decompressed before
//! it is kept, and the note is placed at its decompressed offset.

use super::source::{StreamDamage, StreamDamageKind, StreamNotes};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;

/// zstd frame magic (RFC 8878), as on disk.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// xz stream header magic.
pub const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];

/// A zstd or xz stream may decompress to at most this many times the compressed bytes read so
/// far (deflate cannot exceed 1032:1, so gzip needs no such bound)...
pub const MAX_RATIO: u64 = 1100;
/// ...once it has produced this many bytes (a small file may legitimately expand more).
pub const RATIO_FREE_BYTES: u64 = 64 << 20;

/// The largest zstd window accepted, as a power of two (32 MiB: every level up to `-19` and
/// `--ultra -19`; `--long` and `--ultra -20` and up need more and are refused with the
/// decoder's message).
pub const MAX_ZSTD_WINDOW_LOG: u32 = 25;

/// The most memory the xz decoder may use (`xz -9` needs 65 MiB, the default `-6` 9 MiB).
pub const MAX_XZ_MEMORY: u64 = 80 << 20;

/// Size of one buffer handed from the decompression thread to the scan.
pub const PIPE_BUFFER: usize = 256 * 1024;
/// Buffers in flight between the decompression thread and the scan (besides the one each side
/// holds).
pub const PIPE_DEPTH: usize = 4;

/// Counts the bytes read from the compressed file, for the expansion bound and for messages.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Bytes counted so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A reader that counts what passes through it.
pub struct Counting<R> {
    inner: R,
    count: Counter,
}

impl<R: Read> Counting<R> {
    /// Counts the bytes read from `inner` into `count`.
    pub fn new(inner: R, count: Counter) -> Self {
        Counting { inner, count }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Which decompressor a [`CodecReader`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// Zstandard.
    Zstd,
    /// xz (LZMA2).
    Xz,
}

impl Codec {
    /// Its name in messages and in the evidence.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zstd => "zstd",
            Codec::Xz => "xz",
        }
    }
}

/// A zstd or xz decompressor that records damage instead of failing, and stops a stream that
/// expands beyond [`MAX_RATIO`].
pub struct CodecReader {
    codec: Codec,
    inner: Box<dyn Read + Send>,
    compressed: Counter,
    out: u64,
    notes: StreamNotes,
    done: bool,
}

impl CodecReader {
    /// Decompresses `input` (which counts its bytes into `compressed`) with `codec`.
    pub fn new(codec: Codec, input: Box<dyn Read + Send>, compressed: Counter, notes: StreamNotes) -> io::Result<Self> {
        let input = io::BufReader::with_capacity(64 * 1024, input);
        let inner: Box<dyn Read + Send> = match codec {
            Codec::Zstd => {
                let mut d = zstd::stream::read::Decoder::with_buffer(input)?;
                d.window_log_max(MAX_ZSTD_WINDOW_LOG)?;
                Box::new(d)
            }
            Codec::Xz => {
                let stream = liblzma::stream::Stream::new_stream_decoder(MAX_XZ_MEMORY, liblzma::stream::CONCATENATED)
                    .map_err(io::Error::other)?;
                Box::new(liblzma::bufread::XzDecoder::new_stream(input, stream))
            }
        };
        Ok(CodecReader { codec, inner, compressed, out: 0, notes, done: false })
    }

    fn damage(&mut self, kind: StreamDamageKind) {
        self.notes.push(StreamDamage {
            decompressed_offset: self.out,
            compressed_offset: self.compressed.get(),
            member: 0,
            kind,
        });
        self.done = true;
    }
}

impl Read for CodecReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        match self.inner.read(buf) {
            Ok(n) => {
                self.out += n as u64;
                let read = self.compressed.get().max(1);
                if self.out > RATIO_FREE_BYTES && self.out > read.saturating_mul(MAX_RATIO) {
                    // The bytes of this read are kept; nothing after them is read.
                    self.damage(StreamDamageKind::TooExpanded {
                        codec: self.codec.name(),
                        compressed: read,
                        decompressed: self.out,
                    });
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let truncated = e.kind() == io::ErrorKind::UnexpectedEof
                    || e.to_string().contains("incomplete")
                    || e.to_string().contains("unexpected end");
                let detail = e.to_string();
                self.damage(StreamDamageKind::CodecError { codec: self.codec.name(), truncated, detail });
                Ok(0)
            }
        }
    }
}

/// A decompressed stream read on a thread of its own: the thread fills buffers of
/// [`PIPE_BUFFER`] bytes and passes them on through a channel of [`PIPE_DEPTH`]; the scan reads
/// them in order. Buffers go back to the thread to be filled again, so memory is fixed. An error
/// of the stream is passed on in its place; the thread ends when the stream does or when the
/// reader is dropped.
pub struct Pipelined {
    full: Receiver<io::Result<Vec<u8>>>,
    empty: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
    ended: bool,
}

impl Pipelined {
    /// Starts reading `inner` on a new thread; `Err` when the thread cannot be started.
    pub fn start(mut inner: Box<dyn Read + Send>) -> io::Result<Pipelined> {
        let (full_tx, full) = sync_channel::<io::Result<Vec<u8>>>(PIPE_DEPTH);
        let (empty, empty_rx) = sync_channel::<Vec<u8>>(PIPE_DEPTH + 2);
        std::thread::Builder::new().name("hoptrace-inflate".into()).spawn(move || loop {
            let mut buf = match empty_rx.try_recv() {
                Ok(b) => b,
                Err(TryRecvError::Empty) => Vec::with_capacity(PIPE_BUFFER),
                Err(TryRecvError::Disconnected) => return,
            };
            buf.clear();
            buf.resize(PIPE_BUFFER, 0);
            let mut filled = 0;
            let mut failed = None;
            while filled < PIPE_BUFFER {
                match inner.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            buf.truncate(filled);
            let last = filled < PIPE_BUFFER;
            if filled > 0 && full_tx.send(Ok(buf)).is_err() {
                return;
            }
            if let Some(e) = failed {
                let _ = full_tx.send(Err(e));
                return;
            }
            if last {
                return;
            }
        })?;
        Ok(Pipelined { full, empty, current: Vec::new(), at: 0, ended: false })
    }
}

impl Read for Pipelined {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.ended {
                return Ok(0);
            }
            match self.full.recv() {
                Ok(Ok(buf)) => {
                    let old = std::mem::replace(&mut self.current, buf);
                    self.at = 0;
                    let _ = self.empty.try_send(old);
                }
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(_) => {
                    self.ended = true;
                    return Ok(0);
                }
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::source::from_reader;
    use std::io::Cursor;

    fn data() -> Vec<u8> {
        (0..50_000u32).flat_map(|i| (i.wrapping_mul(2_654_435_761) >> 7).to_le_bytes()).collect()
    }

    fn zst(b: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(Cursor::new(b), 1).unwrap()
    }

    fn xz(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = liblzma::read::XzEncoder::new(Cursor::new(b), 1);
        e.read_to_end(&mut out).unwrap();
        out
    }

    fn read_all(bytes: Vec<u8>) -> (Compression, Vec<u8>, Vec<StreamDamage>) {
        let src = from_reader(Box::new(Cursor::new(bytes))).unwrap();
        let mut stream = Pipelined::start(src.stream).unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        (src.compression, out, src.notes.take())
    }

    use crate::capture::Compression;

    #[test]
    fn frames_and_streams_one_after_the_other_are_one_stream() {
        let d = data();
        let (c, out, notes) = read_all([zst(&d[..70_000]), zst(&d[70_000..])].concat());
        assert_eq!((c, out == d, notes.len()), (Compression::Zstd, true, 0));
        let (c, out, notes) = read_all([xz(&d[..70_000]), xz(&d[70_000..])].concat());
        assert_eq!((c, out == d, notes.len()), (Compression::Xz, true, 0), "{notes:?}");
    }

    #[test]
    fn a_cut_stream_keeps_what_came_before_and_says_so() {
        let d = data();
        for (name, full) in [("zstd", zst(&d)), ("xz", xz(&d))] {
            let cut = full[..full.len() * 2 / 3].to_vec();
            let (_, out, notes) = read_all(cut);
            assert!(d.starts_with(&out) && !out.is_empty(), "{name}: {} bytes", out.len());
            assert_eq!(notes.len(), 1, "{name}: {notes:?}");
            assert!(notes[0].ends_stream());
            assert_eq!(notes[0].decompressed_offset, out.len() as u64);
            let text = notes[0].to_string();
            assert!(text.starts_with(&format!("{name} stream is cut short")), "{text}");
        }
    }

    #[test]
    fn corrupt_data_is_a_note() {
        let d = data();
        // With the content checksum the zstd tool writes by default.
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
        enc.include_checksum(true).unwrap();
        std::io::Write::write_all(&mut enc, &d).unwrap();
        let mut f = enc.finish().unwrap();
        let n = f.len();
        for b in &mut f[n / 2..n / 2 + 32] {
            *b ^= 0x5a;
        }
        let (_, out, notes) = read_all(f);
        assert!(out.len() < d.len() || notes.is_empty());
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].to_string().starts_with("zstd stream"), "{}", notes[0]);
    }

    #[test]
    fn a_zstd_window_above_the_bound_is_refused_with_a_note() {
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.window_log(MAX_ZSTD_WINDOW_LOG + 2).unwrap();
        std::io::Write::write_all(&mut enc, &data()).unwrap();
        let (_, out, notes) = read_all(enc.finish().unwrap());
        assert!(out.is_empty());
        assert_eq!(notes.len(), 1, "{notes:?}");
        let text = notes[0].to_string();
        assert!(text.starts_with("zstd stream has invalid compressed data") && text.contains("memory"), "{text}");
        // Within the bound, the same data reads.
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.window_log(MAX_ZSTD_WINDOW_LOG).unwrap();
        std::io::Write::write_all(&mut enc, &data()).unwrap();
        let (_, out, notes) = read_all(enc.finish().unwrap());
        assert_eq!((out, notes.len()), (data(), 0));
    }

    #[test]
    fn a_bomb_stops_at_the_ratio_bound() {
        // 200 MB of zeros compress to a few KiB with zstd: far above MAX_RATIO.
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..200 {
            std::io::Write::write_all(&mut enc, &zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        let (_, out, notes) = read_all(bomb.clone());
        assert!(out.len() as u64 > RATIO_FREE_BYTES && out.len() < 200 << 20, "{}", out.len());
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].to_string().contains("expands to more than 1100 times its size"), "{}", notes[0]);
    }

    #[test]
    fn the_pipe_passes_errors_on_in_place() {
        struct Failing(u32);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0 += 1;
                if self.0 > 3 {
                    return Err(io::Error::other("disk on fire"));
                }
                buf[..10].fill(self.0 as u8);
                Ok(10)
            }
        }
        let mut p = Pipelined::start(Box::new(Failing(0))).unwrap();
        let mut out = [0u8; 64];
        let mut got: Vec<u8> = Vec::new();
        let err = loop {
            match p.read(&mut out) {
                Ok(0) => panic!("ended without the error"),
                Ok(n) => got.extend(&out[..n]),
                Err(e) => break e,
            }
        };
        assert_eq!(got.len(), 30);
        assert_eq!(err.to_string(), "disk on fire");
        assert_eq!(p.read(&mut out).unwrap(), 0);
    }
}
