//! Sending: check everything, then hand the copies to an `AF_PACKET` socket (pnet_datalink, not
//! promiscuous) bound to the interface, inside the namespace, timestamping each send.

use super::caps::{has_capability, CAP_NET_RAW};
use super::clock::now_ns;
use super::copies::{plan_copies, MacOverrides};
use super::error::InjectError;
use super::iface::{lookup, InterfaceInfo};
use super::netns::{place, run_in, NetnsTarget};
use crate::addr::MacAddr;
use crate::probe::Probe;
use pnet_datalink::{Channel, Config};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Everything `inject` needs to know.
#[derive(Clone, Debug)]
pub struct InjectPlan<'a> {
    /// The probe document.
    pub probe: &'a Probe,
    /// The interface to send on (no default).
    pub iface: &'a str,
    /// The namespace to enter first, if any.
    pub netns: Option<&'a NetnsTarget>,
    /// How many copies (the exact number sent).
    pub count: u32,
    /// Pause between two copies.
    pub interval: Duration,
    /// Give each copy its own IPv4 ID / flow label.
    pub vary_id: bool,
    /// Replace the source MAC with the interface's own.
    pub src_mac_from_iface: bool,
    /// Replace the source MAC with this one (ignored with `src_mac_from_iface`).
    pub src_mac: Option<MacAddr>,
    /// Replace the destination MAC.
    pub dst_mac: Option<MacAddr>,
    /// Check everything, send nothing.
    pub dry_run: bool,
    /// Set from elsewhere (a signal handler) to stop before the next copy.
    pub cancel: Option<&'a AtomicBool>,
}

/// What the checks found, reported before the first copy goes out.
#[derive(Clone, Debug)]
pub struct Ready {
    /// The interface.
    pub iface: String,
    /// Its MTU.
    pub mtu: u32,
    /// Its MAC.
    pub mac: Option<MacAddr>,
    /// The MAC overrides in effect.
    pub macs: MacOverrides,
    /// The frame length.
    pub frame_len: usize,
}

/// One copy that went out (or, in a dry run, would have).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentCopy {
    /// 1-based copy number.
    pub copy: u32,
    /// Wall-clock time just before the send call, ns since the epoch.
    pub time_ns: u64,
    /// The frame's length.
    pub frame_len: usize,
    /// The IPv4 ID it carried.
    pub ipv4_id: Option<u16>,
    /// The flow label it carried.
    pub flow_label: Option<u32>,
}

/// Runs the injection: capability check, namespace, interface checks, then `count` sends.
/// `on_ready` is called once the checks passed and `on_sent` after every copy, both on the
/// namespace's thread; when sending fails midway, the copies already reported did go out.
pub fn inject<R, S>(plan: &InjectPlan<'_>, on_ready: R, mut on_sent: S) -> Result<(), InjectError>
where
    R: FnOnce(&Ready) + Send,
    S: FnMut(&SentCopy) + Send,
{
    if has_capability(CAP_NET_RAW) == Some(false) {
        return Err(InjectError::NoCapNetRaw);
    }
    let where_ = place(plan.netns);
    run_in(plan.netns, || {
        let info = lookup(plan.iface, &where_)?;
        let frame_len = plan.probe.frame.length;
        info.check_can_send(frame_len, &where_)?;
        let macs = MacOverrides {
            src: if plan.src_mac_from_iface { Some(own_mac(&info, &where_)?) } else { plan.src_mac },
            dst: plan.dst_mac,
        };
        let copies = plan_copies(plan.probe, macs, plan.count, plan.vary_id).map_err(InjectError::Copies)?;
        let mut tx = if plan.dry_run { None } else { Some(open(&info, &where_)?) };
        on_ready(&Ready { iface: info.pnet.name.clone(), mtu: info.mtu, mac: info.mac, macs, frame_len });
        let mut previous: Option<Instant> = None;
        for c in &copies {
            if let Some(prev) = previous {
                // At least `interval` between two sends, even after a scheduling stall: a late
                // copy is never followed by a burst that catches up.
                wait_until(prev + plan.interval, plan.cancel);
            }
            if plan.cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
                return Err(InjectError::Interrupted { sent: c.copy - 1 });
            }
            previous = Some(Instant::now());
            let time_ns = now_ns();
            if let Some(tx) = tx.as_mut() {
                let result = tx
                    .send_to(&c.frame, None)
                    .unwrap_or_else(|| Err(io::Error::other("frame larger than the send buffer")));
                result.map_err(|source| InjectError::Send {
                    iface: info.pnet.name.clone(),
                    place: where_.clone(),
                    copy: c.copy,
                    sent: c.copy - 1,
                    source,
                })?;
            }
            on_sent(&SentCopy {
                copy: c.copy,
                time_ns,
                frame_len: c.frame.len(),
                ipv4_id: c.ipv4_id,
                flow_label: c.flow_label,
            });
        }
        Ok(())
    })
}

/// Sleeps until `due`, in slices short enough to notice `cancel` promptly.
fn wait_until(due: Instant, cancel: Option<&AtomicBool>) {
    const SLICE: Duration = Duration::from_millis(20);
    loop {
        let left = due.saturating_duration_since(Instant::now());
        if left.is_zero() || cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            return;
        }
        std::thread::sleep(left.min(SLICE));
    }
}

fn own_mac(info: &InterfaceInfo, place: &str) -> Result<MacAddr, InjectError> {
    info.mac.filter(|m| *m != MacAddr::default()).ok_or_else(|| {
        InjectError::Copies(format!("--src-mac-from-iface: interface {} in {place} has no MAC address", info.pnet.name))
    })
}

/// Opens the send channel: not promiscuous, small read buffer (nothing is read), bounded write wait.
fn open(info: &InterfaceInfo, place: &str) -> Result<Box<dyn pnet_datalink::DataLinkSender>, InjectError> {
    let config = Config {
        promiscuous: false,
        read_buffer_size: 64,
        write_buffer_size: 64,
        write_timeout: Some(Duration::from_secs(2)),
        ..Config::default()
    };
    match pnet_datalink::channel(&info.pnet, config) {
        Ok(Channel::Ethernet(tx, _rx)) => Ok(tx),
        Ok(_) => Err(InjectError::Socket {
            iface: info.pnet.name.clone(),
            place: place.to_string(),
            source: io::Error::other("pnet returned a channel that is not Ethernet"),
        }),
        Err(e) => Err(socket_error(e, &info.pnet.name, place)),
    }
}

/// An error opening the raw socket; "permission denied" gets the same advice as the capability check.
fn socket_error(e: io::Error, iface: &str, place: &str) -> InjectError {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => InjectError::NoCapNetRaw,
        _ => InjectError::Socket { iface: iface.to_string(), place: place.to_string(), source: e },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_say_how_to_get_cap_net_raw() {
        let e = socket_error(io::Error::from_raw_os_error(libc::EPERM), "eth0", "here");
        assert!(matches!(e, InjectError::NoCapNetRaw));
        assert!(e.to_string().contains("setcap cap_net_raw+ep"));
        let e = socket_error(io::Error::from_raw_os_error(libc::EACCES), "eth0", "here");
        assert!(matches!(e, InjectError::NoCapNetRaw));
        let e = socket_error(io::Error::from_raw_os_error(libc::ENODEV), "eth0", "here").to_string();
        assert!(e.starts_with("interface eth0 in here: cannot open a raw socket"), "{e}");
    }
}
