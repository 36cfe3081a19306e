//! The interface to send on, looked up in the current thread's network namespace (so it must run
//! after [`super::netns::run_in`] entered it): existence, state, MTU and MAC.

use super::error::InjectError;
use crate::addr::MacAddr;
use pnet_datalink::NetworkInterface;
use std::io;

/// Length of the Ethernet II header that the MTU does not count.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// What the checks need to know about the interface.
#[derive(Clone, Debug)]
pub struct InterfaceInfo {
    /// The interface as pnet describes it (needed to open the channel).
    pub pnet: NetworkInterface,
    /// Its link type (`ARPHRD_*`: 1 Ethernet, 772 loopback, 65534 none as for tun).
    pub link_type: u16,
    /// Its MAC address (Ethernet interfaces).
    pub mac: Option<MacAddr>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Link up (`IFF_RUNNING`: carrier present, a veth's peer up).
    pub running: bool,
    /// Its MTU (the largest IP packet it carries).
    pub mtu: u32,
}

/// Looks `name` up in the current namespace; `place` names that namespace in errors.
pub fn lookup(name: &str, place: &str) -> Result<InterfaceInfo, InjectError> {
    let all = pnet_datalink::interfaces();
    let Some(pnet) = all.iter().find(|i| i.name == name).cloned() else {
        let mut names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
        names.sort_unstable();
        return Err(InjectError::NoSuchInterface {
            iface: name.to_string(),
            place: place.to_string(),
            available: if names.is_empty() { "none".to_string() } else { names.join(", ") },
        });
    };
    let query = |what: &'static str| {
        move |source| InjectError::Query { iface: name.to_string(), place: place.to_string(), what, source }
    };
    let mtu = mtu_of(name).map_err(query("MTU"))?;
    let (link_type, mac) = hwaddr_of(name).map_err(query("hardware address"))?;
    Ok(InterfaceInfo {
        link_type,
        mac: (link_type == libc::ARPHRD_ETHER).then_some(MacAddr(mac)),
        up: pnet.is_up(),
        running: pnet.is_running(),
        mtu,
        pnet,
    })
}

impl InterfaceInfo {
    /// Refuses an interface that does not carry Ethernet frames, is down, has no carrier, or cannot
    /// carry a `frame_len`-byte frame.
    pub fn check_can_send(&self, frame_len: usize, place: &str) -> Result<(), InjectError> {
        let iface = || self.pnet.name.clone();
        if self.link_type != libc::ARPHRD_ETHER && self.link_type != libc::ARPHRD_LOOPBACK {
            return Err(InjectError::NotEthernet {
                iface: iface(),
                place: place.to_string(),
                link_type: self.link_type,
            });
        }
        if !self.up {
            return Err(InjectError::InterfaceDown { iface: iface(), place: place.to_string() });
        }
        if !self.running {
            return Err(InjectError::NoCarrier { iface: iface(), place: place.to_string() });
        }
        let l3_len = frame_len.checked_sub(ETHERNET_HEADER_LEN).ok_or(InjectError::FrameTooShort(frame_len))?;
        if l3_len > self.mtu as usize {
            return Err(InjectError::FrameTooLarge {
                iface: iface(),
                place: place.to_string(),
                frame_len,
                l3_len,
                mtu: self.mtu,
            });
        }
        Ok(())
    }
}

/// `ioctl(request)` on `name` with a throw-away datagram socket in the current namespace, which
/// needs no privilege (`/sys/class/net` would show the namespace sysfs was mounted in instead).
fn ifreq(name: &str, request: libc::c_ulong) -> io::Result<libc::ifreq> {
    let bytes = name.as_bytes();
    // SAFETY: `ifreq` is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if bytes.len() >= req.ifr_name.len() || bytes.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "interface name too long"));
    }
    for (dst, src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: plain socket(2) call; the descriptor is owned (and closed) by `fd` below.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor nobody else owns.
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    // SAFETY: the SIOCGIF* requests used here read ifr_name and write the union inside `req`,
    // which outlives the call.
    let rc = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&fd), request as _, &mut req) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(req)
}

/// The MTU of `name` (`SIOCGIFMTU`).
fn mtu_of(name: &str) -> io::Result<u32> {
    let req = ifreq(name, libc::SIOCGIFMTU as libc::c_ulong)?;
    // SAFETY: after a successful SIOCGIFMTU the union holds ifru_mtu.
    let mtu = unsafe { req.ifr_ifru.ifru_mtu };
    u32::try_from(mtu).map_err(|_| io::Error::other(format!("negative MTU {mtu}")))
}

/// The link type (`ARPHRD_*`) and hardware address of `name` (`SIOCGIFHWADDR`).
fn hwaddr_of(name: &str) -> io::Result<(u16, [u8; 6])> {
    let req = ifreq(name, libc::SIOCGIFHWADDR as libc::c_ulong)?;
    // SAFETY: after a successful SIOCGIFHWADDR the union holds ifru_hwaddr.
    let sa = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (m, b) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *m = *b as u8;
    }
    Ok((sa.sa_family, mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(up: bool, running: bool, mtu: u32) -> InterfaceInfo {
        info_of(libc::ARPHRD_ETHER, up, running, mtu)
    }

    fn info_of(link_type: u16, up: bool, running: bool, mtu: u32) -> InterfaceInfo {
        InterfaceInfo {
            pnet: NetworkInterface {
                name: "veth0".into(),
                description: String::new(),
                index: 3,
                mac: None,
                ips: Vec::new(),
                flags: 0,
            },
            link_type,
            mac: None,
            up,
            running,
            mtu,
        }
    }

    #[test]
    fn refusals_in_order() {
        let place = "network namespace x";
        assert!(matches!(info(false, false, 1500).check_can_send(42, place), Err(InjectError::InterfaceDown { .. })));
        assert!(matches!(info(true, false, 1500).check_can_send(42, place), Err(InjectError::NoCarrier { .. })));
        assert!(matches!(info(true, true, 68).check_can_send(86, place), Err(InjectError::FrameTooLarge { .. })));
        assert!(matches!(info(true, true, 68).check_can_send(10, place), Err(InjectError::FrameTooShort(10))));
        assert!(info(true, true, 68).check_can_send(82, place).is_ok());
        assert!(matches!(
            info_of(65534, true, true, 1500).check_can_send(42, place),
            Err(InjectError::NotEthernet { .. })
        ));
        assert!(info_of(libc::ARPHRD_LOOPBACK, true, true, 65536).check_can_send(42, place).is_ok());
        let e = info(true, true, 68).check_can_send(86, place).unwrap_err().to_string();
        assert!(e.contains("86-byte frame carries a 72-byte IP packet, larger than the MTU 68 of veth0"), "{e}");
    }

    #[test]
    fn loopback_is_found_with_its_mtu() {
        let lo = lookup("lo", "here").unwrap();
        assert!(lo.mtu >= 1500, "{}", lo.mtu);
        assert!(lo.pnet.index > 0);
        assert_eq!(lo.link_type, libc::ARPHRD_LOOPBACK);
        assert_eq!(lo.mac, None);
    }

    #[test]
    fn a_missing_interface_lists_the_existing_ones() {
        let e = lookup("hoptrace-none", "the current network namespace").unwrap_err().to_string();
        assert!(e.contains("\"hoptrace-none\" does not exist in the current network namespace"), "{e}");
        assert!(e.contains("lo"), "{e}");
    }
}
