//! What a system test needs from the machine, said at its top with [`require!`]:
//!
//! ```ignore
//! #[test]
//! fn printed_filter_is_compiled_by_tcpdump() {
//!     require!(Need::Tool("tcpdump"));
//!     ...
//! }
//! ```
//!
//! When everything is there the test runs. When something is missing the test prints one line,
//! `SKIPPED <test>: needs <what> (<why>)`, straight to the process's standard error (libtest
//! captures what `eprintln!` writes in a passing test; it does not capture the file descriptor)
//! and returns, so that `cargo test` on a laptop without root or Open vSwitch passes and says
//! what it did not run. With [`REQUIRE_VAR`] set (`.ci/run` sets it) a missing requirement
//! fails the test instead: there every system test must run.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The environment variable that turns a missing requirement into a test failure.
pub const REQUIRE_VAR: &str = "HOPTRACE_REQUIRE_SYSTEM_TESTS";

/// One thing a system test needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Effective user id 0 (raw sockets, capabilities, setcap).
    Root,
    /// Root, `ip` (iproute2) and a network namespace that can really be created.
    Netns,
    /// The Open vSwitch daemons and tools (Debian `openvswitch-switch`) and the database schema.
    Ovs,
    /// A program on `PATH` (tcpdump, tshark, editcap, setpriv, ...).
    Tool(&'static str),
}

/// The programs [`Need::Ovs`] stands for.
pub const OVS_PROGRAMS: [&str; 6] =
    ["ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl"];

/// The database schema the private switches are created from.
pub const OVS_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

impl Need {
    /// Why this need is not met here, or `None` when it is.
    pub fn missing(self) -> Option<String> {
        match self {
            Need::Root => {
                // SAFETY: geteuid(2) has no preconditions and cannot fail.
                let uid = unsafe { libc::geteuid() };
                (uid != 0).then(|| format!("root (running as uid {uid})"))
            }
            Need::Netns => Need::Root
                .missing()
                .or_else(|| Need::Tool("ip").missing())
                .or_else(|| netns_probe().as_ref().err().map(|e| format!("network namespaces ({e})"))),
            Need::Ovs => OVS_PROGRAMS
                .iter()
                .find(|p| find_program(p).is_none())
                .map(|p| format!("Open vSwitch ({p} not on PATH; Debian package openvswitch-switch)"))
                .or_else(|| {
                    (!Path::new(OVS_SCHEMA).is_file()).then(|| format!("Open vSwitch (no schema at {OVS_SCHEMA})"))
                }),
            Need::Tool(name) => find_program(name).is_none().then(|| format!("{name} (not on PATH)")),
        }
    }
}

/// The file `name` resolves to on `PATH`, if it is an executable file there.
pub fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Creates and deletes a network namespace once per test process: root without
/// CAP_SYS_ADMIN (a container) cannot.
fn netns_probe() -> &'static Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE.get_or_init(|| {
        let name = format!("htprobe{}", std::process::id());
        let out = Command::new("ip").args(["netns", "add", &name]).output().map_err(|e| format!("ip: {e}"))?;
        if !out.status.success() {
            return Err(format!("`ip netns add` failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        Ok(())
    })
}

/// What of `needs` is missing, each with why; empty when the test can run.
pub fn unmet(needs: &[Need]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for reason in needs.iter().filter_map(|n| n.missing()) {
        if !out.contains(&reason) {
            out.push(reason);
        }
    }
    out
}

/// Decides whether `test` runs: `true` when every need is met. Otherwise writes the `SKIPPED`
/// line and returns `false`, or panics when [`REQUIRE_VAR`] is set.
pub fn check(test: &str, needs: &[Need]) -> bool {
    let missing = unmet(needs);
    if missing.is_empty() {
        return true;
    }
    let needs = missing.join(", ");
    if std::env::var_os(REQUIRE_VAR).is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{test} cannot run: needs {needs}; {REQUIRE_VAR} is set, so every system test must run");
    }
    // Straight to the descriptor, past libtest's capture of `eprintln!`.
    let _ = std::io::stderr().lock().write_all(format!("SKIPPED {test}: needs {needs}\n").as_bytes());
    false
}

/// Returns from the calling test, after saying so, unless the machine has every need given:
/// `require!(Need::Netns, Need::Ovs, Need::Tool("tcpdump"))`. See the module documentation.
#[allow(unused_macros)]
macro_rules! require {
    ($($need:expr),+ $(,)?) => {{
        fn here() {}
        let test = ::std::any::type_name_of_val(&here).trim_end_matches("::here");
        if !$crate::support::need::check(test, &[$($need),+]) {
            return;
        }
    }};
}

#[allow(unused_imports)]
pub(crate) use require;
