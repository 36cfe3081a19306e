//! Bounded reading of the text inputs every stage takes (flow dumps, YAML members, JSON
//! documents): a file is read only up to a stated size, a regular file larger than that is refused
//! before a byte is read, and messages quote the input through [`excerpt`] only, so a hostile
//! file can neither exhaust memory nor flood the terminal.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// Largest flow, group or port dump read (`flows`, `groups`, `ovsports`): 1 GiB.
pub const MAX_TEXT_FILE: u64 = 1 << 30;
/// Largest JSON document read whole (`probe.json`, `*.evidence.json`): 256 MiB.
pub const MAX_JSON_FILE: u64 = 256 << 20;

/// Why a text file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TextFileError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is larger than the reader accepts.
    #[error("{path}: file larger than {limit} bytes (hoptrace's limit for this kind of file)")]
    TooLarge {
        /// The file.
        path: String,
        /// The limit in bytes.
        limit: u64,
    },
}

/// Reads at most `limit` bytes of `path` as text (invalid UTF-8 replaced). A regular file whose
/// size exceeds `limit` is refused without reading it; a pipe or device is read until `limit + 1`
/// bytes show it is too large.
pub fn read_text(path: &Path, limit: u64) -> Result<String, TextFileError> {
    let bytes = read_bytes(path, limit)?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Reads at most `limit` bytes of `path` (see [`read_text`]).
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, TextFileError> {
    let p = || path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| TextFileError::Io { path: p(), source })?;
    let meta = file.metadata().map_err(|source| TextFileError::Io { path: p(), source })?;
    if meta.is_dir() {
        let source = std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory");
        return Err(TextFileError::Io { path: p(), source });
    }
    let hint = if meta.is_file() {
        if meta.len() > limit {
            return Err(TextFileError::TooLarge { path: p(), limit });
        }
        meta.len() as usize
    } else {
        0
    };
    let mut buf = Vec::with_capacity(hint.saturating_add(1));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|source| TextFileError::Io { path: p(), source })?;
    if buf.len() as u64 > limit {
        return Err(TextFileError::TooLarge { path: p(), limit });
    }
    Ok(buf)
}

/// Longest excerpt of an input that a message quotes, in characters.
pub const EXCERPT_CHARS: usize = 60;

/// At most [`EXCERPT_CHARS`] characters of `text` (control characters escaped), with `…` when
/// cut: what a message may quote of an offending input.
pub fn excerpt(text: &str) -> Excerpt<'_> {
    Excerpt(text)
}

/// A short, printable rendering of some input (see [`excerpt`]).
#[derive(Clone, Copy, Debug)]
pub struct Excerpt<'a>(&'a str);

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(EXCERPT_CHARS) {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        if chars.next().is_some() {
            write!(f, "…")?;
        }
        Ok(())
    }
}

/// `message` cut to at most `max` characters (with `…`), for messages that embed a library's
/// error text, which may quote the input at length.
pub fn clip(message: &str, max: usize) -> String {
    match message.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_excerpts() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t");
        std::fs::write(&f, "abcdef").unwrap();
        assert_eq!(read_text(&f, 6).unwrap(), "abcdef");
        assert!(matches!(read_text(&f, 5), Err(TextFileError::TooLarge { limit: 5, .. })));
        assert!(matches!(read_text(dir.path(), 5), Err(TextFileError::Io { .. })));
        // A device is read only up to the limit.
        assert!(matches!(read_text(Path::new("/dev/zero"), 1000), Err(TextFileError::TooLarge { .. })));
        let long = "x".repeat(500);
        assert_eq!(excerpt(&long).to_string().chars().count(), EXCERPT_CHARS + 1);
        assert_eq!(excerpt("a\nb").to_string(), "a\\nb");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
