//! A fixed-size read window over a byte stream: the capture readers look at the next bytes,
//! consume them, and know the stream offset of what they look at. Memory is the one buffer,
//! whatever the stream's length; a record larger than the buffer is skipped by reading through
//! it, never by growing the buffer.

use std::io::{self, Read};

/// A window over a stream.
pub struct Window {
    src: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    eof: bool,
    /// Reads made from the source (lets callers notice that new data arrived).
    reads: u64,
}

impl Window {
    /// A window of `capacity` bytes over `src`.
    pub fn new(src: Box<dyn Read + Send>, capacity: usize) -> Window {
        Window::starting_at(src, capacity, 0)
    }

    /// A window over `src`, whose first byte is at `offset` of the stream it is part of (a
    /// file read from the middle).
    pub fn starting_at(src: Box<dyn Read + Send>, capacity: usize, offset: u64) -> Window {
        Window { src, buf: vec![0; capacity].into_boxed_slice(), start: 0, end: 0, offset, eof: false, reads: 0 }
    }

    /// The largest `n` that [`Window::fill`] can provide.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// How many reads were made from the source so far.
    #[inline]
    pub fn reads(&self) -> u64 {
        self.reads
    }

    /// Stream offset of the first byte of [`Window::data`].
    #[inline]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The bytes available now.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads until at least `n` bytes (at most the capacity) are available or the stream ends;
    /// returns how many are available.
    pub fn fill(&mut self, n: usize) -> io::Result<usize> {
        let n = n.min(self.buf.len());
        if self.end - self.start >= n || self.eof {
            return Ok(self.end - self.start);
        }
        if self.buf.len() - self.start < n {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < n {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => {
                    self.end += k;
                    self.reads += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }

    /// Whether the stream has ended and every byte of it was consumed.
    pub fn at_end(&mut self) -> io::Result<bool> {
        Ok(self.fill(1)? == 0)
    }

    /// Consumes `n` available bytes (at most what is available).
    #[inline]
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Consumes `n` bytes, reading through the stream as needed; returns how many were
    /// consumed (fewer when the stream ends first).
    pub fn skip(&mut self, mut n: u64) -> io::Result<u64> {
        let wanted = n;
        while n > 0 {
            let avail = self.fill(1)?;
            if avail == 0 {
                break;
            }
            let k = (avail as u64).min(n) as usize;
            self.consume(k);
            n -= k as u64;
        }
        Ok(wanted - n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that gives one byte per read, to exercise refills.
    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 >= self.0.len() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[self.1];
            self.1 += 1;
            Ok(1)
        }
    }

    #[test]
    fn fills_consumes_and_skips() {
        let data: Vec<u8> = (0..=255).collect();
        let mut w = Window::new(Box::new(Trickle(data, 0)), 16);
        assert_eq!(w.fill(4).unwrap(), 4);
        assert_eq!(&w.data()[..4], &[0, 1, 2, 3]);
        w.consume(3);
        assert_eq!(w.offset(), 3);
        assert_eq!(w.fill(100).unwrap(), 16);
        assert_eq!(w.data()[0], 3);
        assert_eq!(w.skip(200).unwrap(), 200);
        assert_eq!(w.offset(), 203);
        assert_eq!(w.skip(1000).unwrap(), 53);
        assert!(w.at_end().unwrap());
    }
}
