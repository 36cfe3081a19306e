//! Atomic output: a file is written beside its destination and renamed into place, so a reader
//! never sees half a document and a failed run leaves the old file intact. The replacement
//! keeps the old file's permissions (and, when allowed, its owner); a symbolic link is written
//! through, to the file it names. While the temporary file exists, SIGINT, SIGTERM and SIGHUP
//! remove it before the process ends by the signal, so an interrupted run leaves no litter.
//! `-` means stdout; devices and FIFOs are written in place.

use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{fchown, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Once;

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
    // Write through a symbolic link: replacing the link by a file would surprise its owner.
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    };
    let old = fs::metadata(&target).ok();
    // Devices and pipes (`-o /dev/null`, a FIFO) are written in place: renaming over them would
    // replace the device with a regular file.
    if old.as_ref().is_some_and(|m| !m.is_file()) {
        let mut w = BufWriter::new(fs::OpenOptions::new().write(true).open(&target)?);
        fill(&mut w)?;
        return w.flush();
    }
    let tmp = temp_path(&target);
    let guard = TempFile::register(&tmp);
    let result = (|| {
        let file = File::create(&tmp)?;
        if let Some(m) = &old {
            // The replacement keeps what the old file had; the owner only where we may.
            file.set_permissions(m.permissions())?;
            let _ = fchown(&file, Some(m.uid()), Some(m.gid()));
        }
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    drop(guard);
    result
}

/// The temporary file for `path`: hidden, beside it (the rename must stay on one file system),
/// and named by the process so two runs do not meet.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// How many temporary files can be registered at once (one per output being written).
const SLOTS: usize = 8;

/// The temporary files the signal handler removes: NUL-terminated paths, or null.
static PENDING: [AtomicPtr<libc::c_char>; SLOTS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

/// The signals after which a temporary file is removed.
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// A registered temporary file: removed by the signal handler if a signal ends the process
/// while it is registered.
struct TempFile {
    slot: Option<usize>,
}

impl TempFile {
    fn register(path: &Path) -> TempFile {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(install_handlers);
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else { return TempFile { slot: None } };
        // Leaked on purpose: the handler may read the pointer at any moment, so it is never
        // freed (a few bytes per output file).
        let ptr = c.into_raw();
        for (i, slot) in PENDING.iter().enumerate() {
            if slot.compare_exchange(std::ptr::null_mut(), ptr, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                return TempFile { slot: Some(i) };
            }
        }
        TempFile { slot: None }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            PENDING[i].store(std::ptr::null_mut(), Ordering::SeqCst);
        }
    }
}

/// Installs the cleanup handler for each signal whose disposition is the default (a signal the
/// user chose to ignore, as `nohup` does, stays ignored).
fn install_handlers() {
    for sig in SIGNALS {
        // SAFETY: sigaction with a zeroed struct reads the current disposition; the handler
        // installed only calls async-signal-safe functions (unlink, signal, raise).
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut current) != 0 || current.sa_sigaction != libc::SIG_DFL {
                continue;
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// Removes the registered temporary files, then lets the signal end the process as it would
/// have (so the exit status still says which signal).
extern "C" fn on_signal(sig: libc::c_int) {
    for slot in &PENDING {
        let p = slot.load(Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: p is a leaked, never freed, NUL-terminated CString.
            unsafe {
                libc::unlink(p);
            }
        }
    }
    // SAFETY: async-signal-safe calls; SA_RESETHAND already restored the default action.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

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
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn permissions_kept_and_links_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        symlink(&p, &link).unwrap();
        write_output(&link, |w| w.write_all(b"new")).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn devices_are_written_in_place() {
        write_output(Path::new("/dev/null"), |w| w.write_all(b"x")).unwrap();
        let m = fs::metadata("/dev/null").unwrap();
        assert!(!m.is_file());
    }
}
