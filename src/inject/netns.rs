//! Entering a network namespace: `setns` moves only the calling thread, so the work that needs the
//! namespace (interface lookup, socket, sends) runs on a dedicated thread that enters it first and
//! ends with it. Never on a rayon worker: that thread would stay in the namespace.

use super::caps::{has_capability, CAP_SYS_ADMIN};
use super::error::InjectError;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::path::PathBuf;

/// A network namespace as the user named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetnsTarget {
    /// A name under `/var/run/netns` (what `ip netns add` creates).
    Name(String),
    /// A namespace file given as a path (`/proc/PID/ns/net`, a bind mount).
    Path(PathBuf),
    /// The namespace of a process (`/proc/PID/ns/net`).
    Pid(u32),
}

impl NetnsTarget {
    /// Interprets `--netns`: a value containing `/` is a path, anything else a name.
    pub fn from_arg(s: &str) -> Result<NetnsTarget, String> {
        if s.contains('/') {
            Ok(NetnsTarget::Path(PathBuf::from(s)))
        } else if s.is_empty() || s == "." || s == ".." {
            Err(format!("--netns {s:?}: not a namespace name (use a name from `ip netns list` or a path)"))
        } else {
            Ok(NetnsTarget::Name(s.to_string()))
        }
    }

    /// The namespace file.
    pub fn path(&self) -> PathBuf {
        match self {
            NetnsTarget::Name(n) => PathBuf::from("/var/run/netns").join(n),
            NetnsTarget::Path(p) => p.clone(),
            NetnsTarget::Pid(pid) => PathBuf::from(format!("/proc/{pid}/ns/net")),
        }
    }

    /// The namespace as given (`NAME`, the path, or `pid:N`), for records and messages.
    pub fn label(&self) -> String {
        match self {
            NetnsTarget::Name(n) => n.clone(),
            NetnsTarget::Path(p) => p.display().to_string(),
            NetnsTarget::Pid(pid) => format!("pid:{pid}"),
        }
    }
}

/// "network namespace X" or "the current network namespace", for messages.
pub fn place(target: Option<&NetnsTarget>) -> String {
    match target {
        Some(t) => format!("network namespace {}", t.label()),
        None => "the current network namespace".to_string(),
    }
}

/// Runs `work` inside `target` (on a thread of its own that enters the namespace and then ends),
/// or on the calling thread when `target` is `None`.
pub fn run_in<T, F>(target: Option<&NetnsTarget>, work: F) -> Result<T, InjectError>
where
    T: Send,
    F: FnOnce() -> Result<T, InjectError> + Send,
{
    let Some(target) = target else {
        return work();
    };
    let path = target.path();
    let label = target.label();
    // Open here so that an unreadable file is reported with the caller's errno, not the thread's.
    let file = File::open(&path).map_err(|source| InjectError::NetnsOpen {
        label: label.clone(),
        path: path.display().to_string(),
        source,
    })?;
    std::thread::scope(|s| {
        let handle = s.spawn(move || {
            setns(&file, CloneFlags::CLONE_NEWNET).map_err(|errno| InjectError::NetnsEnter {
                label,
                path: path.display().to_string(),
                reason: match errno {
                    nix::errno::Errno::EINVAL => "it is not a network namespace".to_string(),
                    nix::errno::Errno::EPERM if has_capability(CAP_SYS_ADMIN) == Some(false) => {
                        "entering a namespace needs CAP_SYS_ADMIN: run hoptrace as root, or enter the namespace \
                         first (`sudo nsenter -t PID -n hoptrace inject ...` without --netns)"
                            .to_string()
                    }
                    e => e.desc().to_string(),
                },
            })?;
            work()
        });
        handle.join().map_err(|_| InjectError::ThreadPanicked)?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_and_pids() {
        assert_eq!(NetnsTarget::from_arg("pod1"), Ok(NetnsTarget::Name("pod1".into())));
        assert_eq!(NetnsTarget::from_arg("pod1").unwrap().path(), PathBuf::from("/var/run/netns/pod1"));
        let p = NetnsTarget::from_arg("/proc/1/ns/net").unwrap();
        assert_eq!(p.path(), PathBuf::from("/proc/1/ns/net"));
        assert_eq!(p.label(), "/proc/1/ns/net");
        assert_eq!(NetnsTarget::Pid(42).path(), PathBuf::from("/proc/42/ns/net"));
        assert_eq!(NetnsTarget::Pid(42).label(), "pid:42");
        assert!(NetnsTarget::from_arg("..").is_err());
        assert!(NetnsTarget::from_arg("").is_err());
    }

    #[test]
    fn missing_namespace_is_reported_with_its_path() {
        let t = NetnsTarget::Name("hoptrace-no-such-ns".into());
        let e = run_in(Some(&t), || Ok(())).unwrap_err().to_string();
        assert!(e.contains("/var/run/netns/hoptrace-no-such-ns"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_a_namespace_is_refused() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let t = NetnsTarget::Path(f.path().to_path_buf());
        let e = run_in(Some(&t), || Ok(())).unwrap_err().to_string();
        assert!(e.contains("not a network namespace"), "{e}");
    }

    // Entering a namespace needs CAP_SYS_ADMIN: that case is tests/inject_netns.rs
    // (`entering_our_own_namespace_by_pid_runs_the_work`), which says when it cannot run.
}
