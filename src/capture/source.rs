//! Opening a capture: plain or gzip-compressed (detected by its magic bytes, never by its name),
//! streamed so memory does not grow with the file.

use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// How the capture bytes are stored on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Stored as is.
    None,
    /// gzip (one or more members, as `cat a.gz b.gz` produces).
    Gzip,
}

/// Size of the read-ahead buffer between the file and the decompressor.
const FILE_BUFFER: usize = 256 * 1024;

/// An open capture stream: the bytes of the pcap/pcapng file, decompressed if needed.
pub struct CaptureSource {
    /// The decompressed byte stream; reads fill the caller's buffer as far as the data allows.
    pub stream: Box<dyn Read + Send>,
    /// How the file was stored.
    pub compression: Compression,
    /// The last I/O error the stream met (the pcap parser only reports "read error").
    pub last_error: Arc<Mutex<Option<String>>>,
}

/// Opens `path`, detecting gzip by its magic bytes.
pub fn open_capture(path: &Path) -> io::Result<CaptureSource> {
    let file = File::open(path)?;
    from_reader(Box::new(file))
}

/// Wraps any byte stream (a file, a slice, a tar entry) the way [`open_capture`] wraps a file.
pub fn from_reader(inner: Box<dyn Read + Send>) -> io::Result<CaptureSource> {
    let mut buffered = BufReader::with_capacity(FILE_BUFFER, inner);
    let head = buffered.fill_buf()?;
    let gzip = head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b;
    let last_error = Arc::new(Mutex::new(None));
    let (stream, compression): (Box<dyn Read + Send>, _) = if gzip {
        (Box::new(MultiGzDecoder::new(buffered)), Compression::Gzip)
    } else {
        (Box::new(buffered), Compression::None)
    };
    let stream = Box::new(FillingReader { inner: stream, last_error: last_error.clone() });
    Ok(CaptureSource { stream, compression, last_error })
}

/// A reader whose `read` keeps reading until the buffer is full or the stream ends. The pcap
/// parser treats a short read as the end of what is available, and a decompressor returns short
/// reads all the time. It also keeps the I/O error text for the error report.
struct FillingReader {
    inner: Box<dyn Read + Send>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl Read for FillingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if let Ok(mut slot) = self.last_error.lock() {
                        *slot = Some(e.to_string());
                    }
                    if filled > 0 {
                        return Ok(filled);
                    }
                    return Err(e);
                }
            }
        }
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    #[test]
    fn gzip_detected_by_magic_and_members_concatenated() {
        let mut gz = Vec::new();
        for part in [&b"hello "[..], &b"world"[..]] {
            let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            gz.extend(e.finish().unwrap());
        }
        let mut src = from_reader(Box::new(io::Cursor::new(gz))).unwrap();
        assert_eq!(src.compression, Compression::Gzip);
        let mut out = String::new();
        src.stream.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello world");

        let mut plain = from_reader(Box::new(io::Cursor::new(b"\xd4\xc3\xb2\xa1".to_vec()))).unwrap();
        assert_eq!(plain.compression, Compression::None);
        let mut buf = [0u8; 8];
        assert_eq!(plain.stream.read(&mut buf).unwrap(), 4);
    }

    #[test]
    fn corrupt_gzip_is_an_error_with_text() {
        let mut src = from_reader(Box::new(io::Cursor::new(b"\x1f\x8b\x08\x00garbage-garbage".to_vec()))).unwrap();
        let mut out = Vec::new();
        assert!(src.stream.read_to_end(&mut out).is_err());
        assert!(src.last_error.lock().unwrap().is_some());
    }
}
