//! A gzip stream reader (RFC 1952) that keeps every byte it could decompress and says what was
//! wrong with the rest: a member cut short, corrupt deflate data, a trailer whose CRC or size
//! does not match, data after the last member. `flate2`'s decoders stop with an error and lose
//! what they held; here the member framing is ours and the deflate work is `flate2`'s.
//!
//! Several members (`cat a.gz b.gz`, pigz) are read as one stream. Each damage is recorded in
//! the shared [`StreamNotes`] with the offset in the decompressed stream where it lies, so the
//! capture reader can name the packet it touches.

use super::source::{StreamDamage, StreamDamageKind, StreamNotes};
use flate2::{Crc, Decompress, FlushDecompress, Status};
use std::io::{self, BufRead, Read};

/// The gzip magic bytes.
pub const MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Compression method "deflate", the only one defined.
const CM_DEFLATE: u8 = 8;
/// Header flags (RFC 1952 section 2.3.1).
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED_FLAGS: u8 = 0xe0;

/// The longest file name or comment field read from a member header; a longer one means the
/// header is damaged (names are paths, at most a few KiB).
pub const MAX_HEADER_STRING: u64 = 64 * 1024;

enum State {
    /// Between members: at a header, at the end, or at trailing data.
    Header,
    /// Inside a member's deflate data.
    Body { inflate: Box<Decompress>, crc: Crc, start: u64 },
    /// Nothing more will be produced.
    Done,
}

/// Decompresses a gzip stream, recording damage instead of failing.
pub struct GzipReader<R: BufRead> {
    input: R,
    /// Compressed bytes consumed so far.
    in_offset: u64,
    /// Decompressed bytes produced so far.
    out_offset: u64,
    /// 1-based number of the current (or last) member.
    member: u32,
    state: State,
    notes: StreamNotes,
}

impl<R: BufRead> GzipReader<R> {
    /// Reads `input`, which starts with a gzip member; damage goes to `notes`.
    pub fn new(input: R, notes: StreamNotes) -> GzipReader<R> {
        GzipReader { input, in_offset: 0, out_offset: 0, member: 0, state: State::Header, notes }
    }

    fn damage(&mut self, kind: StreamDamageKind) {
        self.notes.push(StreamDamage {
            decompressed_offset: self.out_offset,
            compressed_offset: self.in_offset,
            member: self.member,
            kind,
        });
        self.state = State::Done;
    }

    fn consume(&mut self, n: usize) {
        self.input.consume(n);
        self.in_offset += n as u64;
    }

    /// Reads exactly `buf.len()` header bytes; `Ok(false)` when the input ends first.
    fn header_bytes(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let mut filled = 0;
        while filled < buf.len() {
            let avail = fill(&mut self.input)?;
            if avail.is_empty() {
                return Ok(false);
            }
            let n = avail.len().min(buf.len() - filled);
            buf[filled..filled + n].copy_from_slice(&avail[..n]);
            self.consume(n);
            filled += n;
        }
        Ok(true)
    }

    /// Skips a zero-terminated header string; `Ok(false)` when the input ends or the string
    /// is longer than [`MAX_HEADER_STRING`].
    fn header_string(&mut self) -> io::Result<bool> {
        let mut len = 0u64;
        loop {
            let avail = fill(&mut self.input)?;
            if avail.is_empty() {
                return Ok(false);
            }
            match avail.iter().position(|&b| b == 0) {
                Some(p) => {
                    self.consume(p + 1);
                    return Ok(true);
                }
                None => {
                    let n = avail.len();
                    len += n as u64;
                    self.consume(n);
                    if len > MAX_HEADER_STRING {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// At a member boundary: starts the next member, or ends the stream (cleanly at the end of
    /// the input, with a note for anything else).
    fn start_member(&mut self) -> io::Result<()> {
        let avail = fill(&mut self.input)?;
        if avail.is_empty() {
            self.state = State::Done;
            return Ok(());
        }
        let shown = avail.len().min(2);
        let magic_prefix = avail[..shown] == MAGIC[..shown];
        let zeros = avail.iter().all(|&b| b == 0);
        if !magic_prefix || (shown < 2 && self.member > 0) {
            self.damage(StreamDamageKind::TrailingData { zeros });
            return Ok(());
        }
        self.member += 1;
        let start = self.in_offset;
        let mut fixed = [0u8; 10];
        if !self.header_bytes(&mut fixed)? {
            self.damage(StreamDamageKind::Truncated { member_start: start });
            return Ok(());
        }
        if fixed[..2] != MAGIC {
            // Only the first byte matched: data after the members.
            self.member -= 1;
            self.damage(StreamDamageKind::TrailingData { zeros: false });
            return Ok(());
        }
        if fixed[2] != CM_DEFLATE || fixed[3] & RESERVED_FLAGS != 0 {
            self.damage(StreamDamageKind::BadHeader { member_start: start, method: fixed[2], flags: fixed[3] });
            return Ok(());
        }
        let flags = fixed[3];
        if flags & FEXTRA != 0 {
            let mut xlen = [0u8; 2];
            if !self.header_bytes(&mut xlen)? {
                self.damage(StreamDamageKind::Truncated { member_start: start });
                return Ok(());
            }
            let mut left = u16::from_le_bytes(xlen) as usize;
            while left > 0 {
                let n = fill(&mut self.input)?.len().min(left);
                if n == 0 {
                    self.damage(StreamDamageKind::Truncated { member_start: start });
                    return Ok(());
                }
                self.consume(n);
                left -= n;
            }
        }
        for flag in [FNAME, FCOMMENT] {
            if flags & flag != 0 && !self.header_string()? {
                self.damage(StreamDamageKind::Truncated { member_start: start });
                return Ok(());
            }
        }
        if flags & FHCRC != 0 {
            let mut crc16 = [0u8; 2];
            if !self.header_bytes(&mut crc16)? {
                self.damage(StreamDamageKind::Truncated { member_start: start });
                return Ok(());
            }
        }
        self.state = State::Body { inflate: Box::new(Decompress::new(false)), crc: Crc::new(), start };
        Ok(())
    }

    /// After a member's deflate data: checks its 8-byte trailer (CRC-32 and size).
    fn finish_member(&mut self, crc: Crc, start: u64) -> io::Result<()> {
        let mut trailer = [0u8; 8];
        if !self.header_bytes(&mut trailer)? {
            self.damage(StreamDamageKind::Truncated { member_start: start });
            return Ok(());
        }
        let want_crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let want_size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        if want_crc != crc.sum() || want_size != crc.amount() {
            // The data was delivered already; it stays, with a note that it may be damaged.
            self.notes.push(StreamDamage {
                decompressed_offset: self.out_offset,
                compressed_offset: self.in_offset - 8,
                member: self.member,
                kind: StreamDamageKind::BadTrailer {
                    member_start: start,
                    crc_ok: want_crc == crc.sum(),
                    size_ok: want_size == crc.amount(),
                },
            });
        }
        self.state = State::Header;
        Ok(())
    }
}

/// `fill_buf`, retrying interrupted reads.
fn fill<R: BufRead>(r: &mut R) -> io::Result<&[u8]> {
    loop {
        match r.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Re-borrow: the loop above cannot return the first borrow on every path.
            Ok(_) => break,
            Err(e) => return Err(e),
        }
    }
    r.fill_buf()
}

impl<R: BufRead> Read for GzipReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Ok(0),
                State::Header => {
                    self.state = State::Header;
                    self.start_member()?;
                }
                State::Body { mut inflate, mut crc, start } => {
                    let input = fill(&mut self.input)?;
                    let at_end = input.is_empty();
                    let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
                    let status = inflate.decompress(input, out, FlushDecompress::None);
                    let used = (inflate.total_in() - in_before) as usize;
                    let made = (inflate.total_out() - out_before) as usize;
                    self.consume(used);
                    crc.update(&out[..made]);
                    self.out_offset += made as u64;
                    match status {
                        Ok(Status::StreamEnd) => {
                            self.finish_member(crc, start)?;
                        }
                        Ok(_) if made == 0 && used == 0 => {
                            // No progress: the input ended inside the member (or the
                            // decompressor is stuck on what it has, which is the same damage).
                            self.damage(if at_end {
                                StreamDamageKind::Truncated { member_start: start }
                            } else {
                                StreamDamageKind::Corrupt { member_start: start, detail: "no progress".into() }
                            });
                        }
                        Ok(_) => self.state = State::Body { inflate, crc, start },
                        Err(e) => {
                            let detail = e.message().unwrap_or("invalid deflate data").to_string();
                            self.damage(StreamDamageKind::Corrupt { member_start: start, detail });
                        }
                    }
                    if made > 0 {
                        return Ok(made);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::{BufReader, Cursor, Write};

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(bytes: Vec<u8>) -> (Vec<u8>, Vec<StreamDamage>) {
        let notes = StreamNotes::default();
        let mut r = GzipReader::new(BufReader::with_capacity(64, Cursor::new(bytes)), notes.clone());
        let mut out = Vec::new();
        let mut buf = [0u8; 37];
        loop {
            match r.read(&mut buf).unwrap() {
                0 => break,
                n => out.extend(&buf[..n]),
            }
        }
        (out, notes.take())
    }

    fn data() -> Vec<u8> {
        (0..20_000u32).flat_map(|i| (i * 7919).to_le_bytes()).collect()
    }

    #[test]
    fn members_are_read_whole() {
        let d = data();
        let mut two = gz(&d[..30_000]);
        two.extend(gz(&d[30_000..]));
        let (out, notes) = read_all(two);
        assert_eq!(out, d);
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn a_cut_member_keeps_what_came_before() {
        let d = data();
        let full = gz(&d);
        for cut in [1usize, 4, 8, 9, 200, full.len() / 2] {
            let (out, notes) = read_all(full[..full.len() - cut].to_vec());
            assert!(d.starts_with(&out), "cut {cut}");
            if cut <= 8 {
                assert_eq!(out.len(), d.len(), "only the trailer was cut ({cut})");
            }
            assert_eq!(notes.len(), 1);
            assert!(matches!(notes[0].kind, StreamDamageKind::Truncated { member_start: 0 }), "{notes:?}");
            assert_eq!(notes[0].decompressed_offset, out.len() as u64);
        }
    }

    #[test]
    fn bad_crc_is_noted_and_the_next_member_read() {
        let d = data();
        let mut first = gz(&d[..1000]);
        let n = first.len();
        first[n - 8] ^= 0xff;
        first.extend(gz(&d[1000..]));
        let (out, notes) = read_all(first);
        assert_eq!(out, d);
        assert_eq!(notes.len(), 1);
        assert!(matches!(notes[0].kind, StreamDamageKind::BadTrailer { crc_ok: false, size_ok: true, .. }));
        assert_eq!((notes[0].member, notes[0].decompressed_offset), (1, 1000));
    }

    #[test]
    fn trailing_data_is_noted() {
        let d = data();
        for (junk, zeros) in [(&b"JUNK-JUNK"[..], false), (&[0u8; 512][..], true), (&[0x1f][..], false)] {
            let mut f = gz(&d);
            let end = f.len() as u64;
            f.extend(junk);
            let (out, notes) = read_all(f);
            assert_eq!(out, d);
            assert_eq!(notes.len(), 1, "{notes:?}");
            assert_eq!(notes[0].kind, StreamDamageKind::TrailingData { zeros });
            assert_eq!(notes[0].compressed_offset, end);
        }
    }

    #[test]
    fn corrupt_deflate_keeps_the_prefix() {
        let d = data();
        let mut f = gz(&d);
        let n = f.len();
        for b in &mut f[n / 2..n / 2 + 64] {
            *b = 0xff;
        }
        // The bytes decoded before the damage are delivered (what the damaged deflate data
        // decodes to cannot be told from good data until the decoder or the CRC says so).
        let (out, notes) = read_all(f);
        assert!(out.len() > d.len() / 4 && d[..d.len() / 4] == out[..d.len() / 4]);
        assert_eq!(notes.len(), 1);
        assert!(matches!(notes[0].kind, StreamDamageKind::Corrupt { .. } | StreamDamageKind::BadTrailer { .. }));
    }

    #[test]
    fn header_damage() {
        let (out, notes) = read_all(vec![0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0]);
        assert!(out.is_empty());
        assert!(matches!(notes[0].kind, StreamDamageKind::BadHeader { method: 7, .. }));
        let (_, notes) = read_all(vec![0x1f, 0x8b, 8, FNAME, 0, 0, 0, 0, 0, 0, b'a', b'b']);
        assert!(matches!(notes[0].kind, StreamDamageKind::Truncated { .. }));
    }
}
