//! Network namespaces and veth pairs that are removed on drop (also when a test panics), and a
//! raw-socket capture inside a namespace. Tests run in parallel with other tests on the same
//! machine, so every name carries this process's PID and a counter. Root only: tests using this
//! declare `require!(Need::Netns)`.

#![allow(dead_code)]

use super::run_tool;
use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A name unique on this machine: `prefix` + PID + `x` + counter, at most 12 characters with a
/// two-letter prefix, so that suffixes of up to 3 characters still fit IFNAMSIZ (15).
pub fn unique(prefix: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id())
}

/// A network namespace made with `ip netns add`, IPv6 off (so links stay silent), deleted on drop.
pub struct Netns {
    /// Its name under /var/run/netns.
    pub name: String,
}

impl Netns {
    /// Creates a namespace called `name`.
    pub fn new(name: &str) -> Netns {
        run_tool("ip", &["netns", "add", name]);
        let ns = Netns { name: name.to_string() };
        // /proc/sys/net shows the namespace of the process that opens it (no procps needed).
        let off =
            "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6";
        run_tool("ip", &["netns", "exec", name, "sh", "-c", off]);
        run_tool("ip", &["-n", name, "link", "set", "lo", "up"]);
        ns
    }

    /// Runs `ip -n NS ARGS...`.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run_tool("ip", &all)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace also deletes the interfaces inside it.
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

/// Two namespaces joined by a veth pair: `if_a` in `a`, `if_b` in `b`, both up.
pub struct VethPair {
    /// The sending side.
    pub a: Netns,
    /// The capturing side.
    pub b: Netns,
    /// The interface in `a`.
    pub if_a: String,
    /// The interface in `b`.
    pub if_b: String,
}

impl VethPair {
    /// Creates the namespaces and the pair.
    pub fn new() -> VethPair {
        let base = unique("hj");
        let a = Netns::new(&format!("{base}a"));
        let b = Netns::new(&format!("{base}b"));
        let (if_a, if_b) = (format!("{base}va"), format!("{base}vb"));
        run_tool(
            "ip",
            &["link", "add", &if_a, "netns", &a.name, "type", "veth", "peer", "name", &if_b, "netns", &b.name],
        );
        a.ip(&["link", "set", &if_a, "up"]);
        b.ip(&["link", "set", &if_b, "up"]);
        VethPair { a, b, if_a, if_b }
    }

    /// The MAC of `if_a`.
    pub fn mac_a(&self) -> String {
        let out = self.a.ip(&["-br", "link", "show", &self.if_a]);
        out.split_whitespace().nth(2).expect("MAC in `ip -br link`").to_string()
    }
}

/// Frames received on an interface inside a namespace, through an `AF_PACKET` socket opened before
/// `start` returns (so nothing sent afterwards can be missed). Outgoing frames are ignored.
pub struct Capture {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<Vec<Vec<u8>>, String>>>,
}

impl Capture {
    /// Starts capturing on `iface` in namespace `netns`.
    pub fn start(netns: &str, iface: &str) -> Capture {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (ns, iface, flag) = (netns.to_string(), iface.to_string(), stop.clone());
        let handle = std::thread::spawn(move || {
            let fd = match open_capture(&ns, &iface) {
                Ok(fd) => {
                    let _ = ready_tx.send(Ok(()));
                    fd
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.clone()));
                    return Err(e);
                }
            };
            receive(&fd, &flag)
        });
        let ready = ready_rx.recv().unwrap_or_else(|_| Err("capture thread died".to_string()));
        let capture = Capture { stop, handle: Some(handle) };
        if let Err(e) = ready {
            panic!("capture on {netns}: {e}");
        }
        capture
    }

    /// Stops after 300 ms without a frame and returns the frames received.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        self.stop.store(true, Ordering::SeqCst);
        let handle = self.handle.take().expect("capture joined once");
        handle.join().expect("capture thread").expect("capture")
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn open_capture(netns: &str, iface: &str) -> Result<std::os::fd::OwnedFd, String> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let ns = File::open(Path::new("/var/run/netns").join(netns)).map_err(|e| e.to_string())?;
    nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| e.to_string())?;
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket(2); the descriptor is owned right below.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, i32::from(proto)) };
    if raw < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fresh descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let name = std::ffi::CString::new(iface).map_err(|e| e.to_string())?;
    // SAFETY: valid C string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(format!("no interface {iface}"));
    }
    // SAFETY: sockaddr_ll is plain old data.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = index as i32;
    // SAFETY: `sll` is a valid sockaddr_ll of the given size.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(format!("bind: {}", std::io::Error::last_os_error()));
    }
    let tv = libc::timeval { tv_sec: 0, tv_usec: 50_000 };
    // SAFETY: SO_RCVTIMEO takes a timeval.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    Ok(fd)
}

fn receive(fd: &std::os::fd::OwnedFd, stop: &AtomicBool) -> Result<Vec<Vec<u8>>, String> {
    use std::os::fd::AsRawFd;
    let mut frames = Vec::new();
    let mut buf = vec![0u8; 65536];
    let mut last = Instant::now();
    let started = Instant::now();
    loop {
        // SAFETY: sockaddr_ll is plain old data.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: buffer and address are valid for the sizes given.
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut from as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if n >= 0 {
            if from.sll_pkttype != libc::PACKET_OUTGOING {
                frames.push(buf[..n as usize].to_vec());
            }
            last = Instant::now();
            continue;
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => {}
            _ => return Err(format!("recvfrom: {err}")),
        }
        if stop.load(Ordering::SeqCst) && last.elapsed() > Duration::from_millis(300) {
            return Ok(frames);
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err("capture ran for two minutes without being stopped".to_string());
        }
    }
}
