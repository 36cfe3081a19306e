//! Atomic output: a file is written beside its destination and renamed into place, so a reader
//! never sees half a document and a failed run leaves the old file intact. `-` means stdout.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes what `fill` produces to `path` atomically, or to stdout when `path` is `-`.
pub fn write_output<F>(path: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    if path.as_os_str() == "-" {
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        fill(&mut lock)?;
        return lock.flush();
    }
    // Devices and pipes (`-o /dev/null`, a FIFO) are written in place: renaming over them would
    // replace the device with a regular file.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        let mut w = BufWriter::new(std::fs::OpenOptions::new().write(true).open(path)?);
        fill(&mut w)?;
        return w.flush();
    }
    let tmp = temp_path(path);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        write_output(&p, |w| w.write_all(b"one")).unwrap();
        let failed = write_output(&p, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn devices_are_written_in_place() {
        write_output(Path::new("/dev/null"), |w| w.write_all(b"x")).unwrap();
        let m = std::fs::metadata("/dev/null").unwrap();
        assert!(!m.is_file());
    }
}
