//! Interface names from the file-name convention `NODE_IFACE.pcap` (any capture extension,
//! optionally `.gz`), used when the capture itself does not name its interface.

use std::path::Path;

/// Capture extensions stripped from a file name, longest first.
const EXTENSIONS: [&str; 6] = [".pcapng", ".pcap", ".ntar", ".cap", ".dmp", ".gz"];

/// The interface named by `NODE_IFACE.pcap[.gz]` for the given node, if the file follows the
/// convention. `k8s-node-1_antrea-gw0.pcap` gives `antrea-gw0` for node `k8s-node-1`; a name that
/// does not start with `NODE_` gives `None`. Rotated files (`NODE_IFACE.pcap1`, `NODE_IFACE.pcap.3`)
/// keep their interface.
pub fn interface_from_file_name(path: &Path, node: &str) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let rest = name.strip_prefix(node)?.strip_prefix('_')?;
    let mut stem = rest;
    loop {
        let before = stem;
        for ext in EXTENSIONS {
            if let Some(pos) = stem.rfind(ext) {
                let tail = &stem[pos + ext.len()..];
                if tail.is_empty() || tail.trim_start_matches('.').chars().all(|c| c.is_ascii_digit()) {
                    stem = &stem[..pos];
                    break;
                }
            }
        }
        if stem == before {
            break;
        }
    }
    (!stem.is_empty()).then(|| stem.to_string())
}

/// Whether a pcapng `if_name` is a placeholder rather than the name of a real interface:
/// `intfN` (what Antrea's PacketCapture writes), `any` (tcpdump's pseudo-device, whose packets
/// carry their interface index instead) or an empty name. Such a name says nothing about where
/// the packet was seen, so the interface is taken as unknown.
pub fn is_placeholder_name(name: &str) -> bool {
    let name = name.trim();
    name.is_empty()
        || name == "any"
        || name.strip_prefix("intf").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_names() {
        assert!(
            is_placeholder_name("intf0")
                && is_placeholder_name("any")
                && is_placeholder_name("intf12")
                && is_placeholder_name("")
        );
        assert!(!is_placeholder_name("intf") && !is_placeholder_name("eth0") && !is_placeholder_name("intfa"));
    }

    #[test]
    fn file_name_convention() {
        let f = |p: &str| interface_from_file_name(Path::new(p), "node-1");
        assert_eq!(f("/x/node-1_antrea-gw0.pcap").as_deref(), Some("antrea-gw0"));
        assert_eq!(f("node-1_eth0.pcapng.gz").as_deref(), Some("eth0"));
        assert_eq!(f("node-1_genev_sys_6081.pcap2").as_deref(), Some("genev_sys_6081"));
        assert_eq!(f("node-1_eth0.pcap.3").as_deref(), Some("eth0"));
        assert_eq!(f("node-2_eth0.pcap"), None);
        assert_eq!(f("node-1.pcap"), None);
        assert_eq!(f("node-1_.pcap"), None);
    }
}
