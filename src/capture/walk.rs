//! Walking input directories (`extract`'s search for captures, `analyze`'s sorting of bundle
//! and node directories): never outside the directory given, never a file or directory twice,
//! bounded in depth and entries, and nothing skipped without a word. What is not read, and why,
//! is a [`WalkProblem`] naming the path:
//!
//! - a symbolic link whose target lies outside the directory given (`up -> ..`) is not followed;
//! - a directory reached a second time (`loop -> .`, a bind mount, a second link) is not read
//!   again, nor is a file reached under a second name;
//! - a directory that cannot be listed, an entry whose type cannot be read, a broken link;
//! - FIFOs, sockets and devices (reading them could block or never end);
//! - directories deeper than [`MAX_WALK_DEPTH`] and entries beyond [`MAX_WALK_ENTRIES`].
//!
//! Entries are visited in name order, so results do not depend on the file system.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How many directory levels below a given directory are searched.
pub const MAX_WALK_DEPTH: usize = 16;

/// How many directory entries one command examines in all (files and directories).
pub const MAX_WALK_ENTRIES: usize = 100_000;

/// A path under the inputs that was not read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkProblem {
    /// The path, as reached from the input.
    pub path: PathBuf,
    /// Why it was not read.
    pub why: String,
}

/// The regular files and directories directly inside one directory, in name order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Regular files (symbolic links to files inside the root included).
    pub files: Vec<PathBuf>,
    /// Directories (symbolic links to directories inside the root included).
    pub dirs: Vec<PathBuf>,
}

/// Walk state shared by everything one command reads: what was seen, what was not read.
#[derive(Debug, Default)]
pub struct Walker {
    /// The directory given on the command line that the current walk stays inside, resolved.
    root: Option<(PathBuf, PathBuf)>,
    /// (device, inode) of each directory met, with the path it was first met at.
    dirs: HashMap<(u64, u64), PathBuf>,
    /// (device, inode) of each file met, with the path it was first met at.
    files: HashMap<(u64, u64), PathBuf>,
    /// Listings already made, by path (listing the same path again is not a revisit).
    listed: HashMap<PathBuf, Listing>,
    /// (device, inode) of each directory entered as a root.
    roots: std::collections::HashSet<(u64, u64)>,
    entries: usize,
    over_limit: bool,
    /// Everything not read, in the order met.
    pub problems: Vec<WalkProblem>,
}

fn id(m: &fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

impl Walker {
    /// A walker that has seen nothing.
    pub fn new() -> Walker {
        Walker::default()
    }

    fn problem(&mut self, path: &Path, why: impl Into<String>) {
        self.problems.push(WalkProblem { path: path.to_path_buf(), why: why.into() });
    }

    /// Makes `root` (a directory given on the command line) the directory the following
    /// listings stay inside; `false` (reported) when it cannot be resolved or was seen already.
    pub fn enter_root(&mut self, root: &Path) -> bool {
        let resolved = match fs::canonicalize(root) {
            Ok(r) => r,
            Err(e) => {
                self.problem(root, format!("cannot resolve the directory: {e}"));
                return false;
            }
        };
        match fs::metadata(&resolved) {
            Ok(m) => {
                if !self.roots.insert(id(&m)) {
                    self.problem(root, "this directory is given twice: searched once");
                    return false;
                }
                if !self.claim_dir(root, &m, None) {
                    return false;
                }
            }
            Err(e) => {
                self.problem(root, format!("cannot read the directory: {e}"));
                return false;
            }
        }
        self.root = Some((root.to_path_buf(), resolved));
        true
    }

    /// Records a directory; `false` (reported) when it was met before under another path.
    fn claim_dir(&mut self, path: &Path, m: &fs::Metadata, via_link: Option<&Path>) -> bool {
        match self.dirs.get(&id(m)) {
            Some(first) if first == path => true,
            Some(first) => {
                let first = first.display().to_string();
                let why = match via_link {
                    Some(target) => format!(
                        "symbolic link to {}, a directory already searched as {first} (a loop): not followed",
                        target.display()
                    ),
                    None => format!("the same directory as {first}, already searched: not read again"),
                };
                self.problem(path, why);
                false
            }
            None => {
                self.dirs.insert(id(m), path.to_path_buf());
                true
            }
        }
    }

    /// Records a file given or found; `false` (reported) when the same file was met before.
    pub fn claim_file(&mut self, path: &Path) -> bool {
        let Ok(m) = fs::metadata(path) else { return true };
        if !m.is_file() {
            return true;
        }
        match self.files.get(&id(&m)) {
            Some(first) if first == path => true,
            Some(first) => {
                let why = format!("the same file as {}, which is read once", first.display());
                self.problem(path, why);
                false
            }
            None => {
                self.files.insert(id(&m), path.to_path_buf());
                true
            }
        }
    }

    /// The files and directories directly in `dir`, which lies inside the current root.
    pub fn list(&mut self, dir: &Path) -> Listing {
        if let Some(l) = self.listed.get(dir) {
            return l.clone();
        }
        let listing = self.list_uncached(dir);
        self.listed.insert(dir.to_path_buf(), listing.clone());
        listing
    }

    fn list_uncached(&mut self, dir: &Path) -> Listing {
        let mut out = Listing::default();
        let read = match fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) => {
                self.problem(dir, format!("cannot list the directory: {e}"));
                return out;
            }
        };
        let mut entries = Vec::new();
        for entry in read {
            match entry {
                Ok(e) => entries.push(e),
                Err(e) => {
                    self.problem(dir, format!("cannot read an entry of the directory: {e}"));
                    break;
                }
            }
            if entries.len() > MAX_WALK_ENTRIES {
                break;
            }
        }
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if self.entries >= MAX_WALK_ENTRIES {
                if !self.over_limit {
                    self.over_limit = true;
                    self.problem(
                        dir,
                        format!(
                            "more than {MAX_WALK_ENTRIES} directory entries in the inputs: the rest are not searched"
                        ),
                    );
                }
                break;
            }
            self.entries += 1;
            let path = e.path();
            let file_type = match e.file_type() {
                Ok(t) => t,
                Err(err) => {
                    self.problem(&path, format!("cannot read its type: {err}"));
                    continue;
                }
            };
            let (meta, link_target) = if file_type.is_symlink() {
                match self.follow(&path) {
                    Some(x) => x,
                    None => continue,
                }
            } else {
                match e.metadata() {
                    Ok(m) => (m, None),
                    Err(err) => {
                        self.problem(&path, format!("cannot read its metadata: {err}"));
                        continue;
                    }
                }
            };
            if meta.is_dir() {
                if self.claim_dir(&path, &meta, link_target.as_deref()) {
                    out.dirs.push(path);
                }
            } else if meta.is_file() {
                if self.claim_file(&path) {
                    out.files.push(path);
                }
            } else {
                self.problem(&path, "not a regular file or directory (a FIFO, socket or device): not read");
            }
        }
        out
    }

    /// Resolves a symbolic link inside the root: its target's metadata and path, or `None`
    /// (reported) when it is broken or leads outside the root.
    fn follow(&mut self, link: &Path) -> Option<(fs::Metadata, Option<PathBuf>)> {
        let target = match fs::canonicalize(link) {
            Ok(t) => t,
            Err(e) => {
                self.problem(link, format!("symbolic link that cannot be followed: {e}"));
                return None;
            }
        };
        if let Some((given, resolved)) = &self.root {
            if !target.starts_with(resolved) {
                let why = format!(
                    "symbolic link to {}, outside the input directory {}: not followed (give it on the command line to read it)",
                    target.display(),
                    given.display()
                );
                self.problem(link, why);
                return None;
            }
        }
        match fs::metadata(&target) {
            Ok(m) => Some((m, Some(target))),
            Err(e) => {
                self.problem(link, format!("symbolic link whose target cannot be read: {e}"));
                None
            }
        }
    }

    /// Every regular file under `root` (a directory given on the command line), depth first in
    /// name order, that `keep` accepts. `keep` returns `Err(why)` for a file that cannot be
    /// judged (it is reported).
    pub fn files_under(&mut self, root: &Path, mut keep: impl FnMut(&Path) -> Result<bool, String>) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if !self.enter_root(root) {
            return out;
        }
        // An explicit stack: depth is bounded by MAX_WALK_DEPTH, not by the call stack.
        let mut stack = vec![(root.to_path_buf(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            let listing = self.list(&dir);
            for f in &listing.files {
                match keep(f) {
                    Ok(true) => out.push(f.clone()),
                    Ok(false) => {}
                    Err(why) => self.problem(f, why),
                }
            }
            for d in listing.dirs.into_iter().rev() {
                if depth + 1 > MAX_WALK_DEPTH {
                    let why =
                        format!("more than {MAX_WALK_DEPTH} directory levels below {}: not searched", root.display());
                    self.problem(&d, why);
                } else {
                    stack.push((d, depth + 1));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn loops_escapes_and_second_names_are_reported_once() {
        let top = tempfile::tempdir().unwrap();
        let outside = top.path().join("outside.pcap");
        fs::write(&outside, b"x").unwrap();
        let root = top.path().join("in");
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/one.pcap"), b"1").unwrap();
        fs::write(root.join("a/b/two.pcap"), b"2").unwrap();
        symlink(".", root.join("loop")).unwrap();
        symlink("..", root.join("a/up")).unwrap();
        symlink("../../..", root.join("a/b/escape")).unwrap();
        symlink("one.pcap", root.join("a/alias.pcap")).unwrap();
        symlink(&outside, root.join("out.pcap")).unwrap();
        symlink("missing", root.join("broken")).unwrap();
        let mut w = Walker::new();
        let files = w.files_under(&root, |_| Ok(true));
        let rel: Vec<String> = files.iter().map(|p| p.strip_prefix(&root).unwrap().display().to_string()).collect();
        // alias.pcap sorts first, so it is the name the file is read under.
        assert_eq!(rel, vec!["a/alias.pcap", "a/b/two.pcap"]);
        let why = |name: &str| {
            w.problems.iter().find(|p| p.path == root.join(name)).map(|p| p.why.clone()).unwrap_or_default()
        };
        assert!(why("loop").contains("a loop"), "{:?}", w.problems);
        assert!(why("a/up").contains("a loop"), "{:?}", w.problems);
        assert!(why("a/b/escape").contains("outside the input directory"), "{:?}", w.problems);
        assert!(why("out.pcap").contains("outside the input directory"), "{:?}", w.problems);
        assert!(why("a/one.pcap").contains("the same file as"), "{:?}", w.problems);
        assert!(why("broken").contains("cannot be followed"), "{:?}", w.problems);
        assert_eq!(w.problems.len(), 6, "{:?}", w.problems);
    }

    #[test]
    fn a_directory_given_twice_is_searched_once() {
        let top = tempfile::tempdir().unwrap();
        fs::write(top.path().join("a.pcap"), b"x").unwrap();
        let mut w = Walker::new();
        assert_eq!(w.files_under(top.path(), |_| Ok(true)).len(), 1);
        assert!(w.files_under(top.path(), |_| Ok(true)).is_empty());
        assert!(w.problems[0].why.contains("given twice"), "{:?}", w.problems);
    }

    #[test]
    fn depth_and_fifos() {
        let top = tempfile::tempdir().unwrap();
        let mut deep = top.path().to_path_buf();
        for i in 0..MAX_WALK_DEPTH + 3 {
            deep = deep.join(format!("d{i}"));
        }
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("deep.pcap"), b"x").unwrap();
        let fifo = std::ffi::CString::new(top.path().join("fifo").into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let mut w = Walker::new();
        assert!(w.files_under(top.path(), |_| Ok(true)).is_empty());
        assert!(w.problems.iter().any(|p| p.why.contains("directory levels")), "{:?}", w.problems);
        assert!(w.problems.iter().any(|p| p.why.contains("FIFO")), "{:?}", w.problems);
    }
}
