//! Port tables: `ovs-ofctl dump-ports-desc`, `ovs-ofctl show`, and Antrea's `ovsports` file
//! (ofport ↔ interface name ↔ MAC, `LOCAL` = the bridge's internal port).

use super::flow::{read_text, FileError};
use super::value::PortRef;
use crate::addr::MacAddr;
use serde::Serialize;
use std::path::Path;

/// One port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Port {
    /// OpenFlow port number; `None` for `LOCAL`.
    pub ofport: Option<u32>,
    /// Interface name.
    pub name: String,
    /// Hardware address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// `config:` line (e.g. `0`, `PORT_DOWN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// `state:` line (e.g. `LIVE`, `LINK_DOWN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl Port {
    /// Whether this is the bridge's `LOCAL` port.
    pub fn is_local(&self) -> bool {
        self.ofport.is_none()
    }
}

/// The ports of one bridge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PortTable {
    /// Ports in file order.
    pub ports: Vec<Port>,
}

impl PortTable {
    /// Parses `dump-ports-desc` / `show` / `ovsports` text. Lines that are not a port header
    /// (`N(name): addr:MAC`) or one of its indented attributes are ignored.
    pub fn parse(text: &str) -> PortTable {
        let mut ports: Vec<Port> = Vec::new();
        for line in text.lines() {
            let t = line.trim();
            if let Some(p) = parse_header(t) {
                ports.push(p);
                continue;
            }
            if let Some(last) = ports.last_mut() {
                if let Some(v) = t.strip_prefix("config:") {
                    last.config = Some(v.trim().to_string());
                } else if let Some(v) = t.strip_prefix("state:") {
                    last.state = Some(v.trim().to_string());
                }
            }
        }
        PortTable { ports }
    }

    /// Reads a port file.
    pub fn load(path: &Path) -> Result<PortTable, FileError> {
        Ok(PortTable::parse(&read_text(path)?))
    }

    /// The port with this number.
    pub fn by_number(&self, n: u32) -> Option<&Port> {
        self.ports.iter().find(|p| p.ofport == Some(n))
    }

    /// The port with this name.
    pub fn by_name(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// Resolves a port reference to a number (names through the table; a named port without
    /// a number is the bridge's `LOCAL`).
    pub fn number_of(&self, p: &PortRef) -> Option<u32> {
        match p {
            PortRef::Name(n) => self.by_name(n).map(|p| p.ofport.unwrap_or(crate::ovs::value::reserved_port::LOCAL)),
            other => other.number(),
        }
    }
}

fn parse_header(t: &str) -> Option<Port> {
    let open = t.find('(')?;
    let num = &t[..open];
    let ofport = if num == "LOCAL" {
        None
    } else if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) {
        Some(num.parse().ok()?)
    } else {
        return None;
    };
    let close = t[open..].find("):")? + open;
    let name = t[open + 1..close].to_string();
    let rest = t[close + 2..].trim();
    let mac = rest.strip_prefix("addr:").and_then(|m| m.trim().parse().ok());
    Some(Port { ofport, name, mac, config: None, state: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_desc_and_ovsports() {
        let text = "OFPST_PORT_DESC reply (OF1.5) (xid=0x2):\n 1(antrea-tun0): addr:aa:bb:cc:00:00:01\n     config:     0\n     state:      LIVE\n     speed: 0 Mbps now, 0 Mbps max\n 2(antrea-gw0): addr:ba:5e:d1:55:aa:c0\n LOCAL(br-int): addr:b8:59:9f:d2:1c:ba\n";
        let t = PortTable::parse(text);
        assert_eq!(t.ports.len(), 3);
        assert_eq!(t.by_number(1).unwrap().name, "antrea-tun0");
        assert_eq!(t.by_number(1).unwrap().state.as_deref(), Some("LIVE"));
        assert!(t.by_name("br-int").unwrap().is_local());
        assert_eq!(t.number_of(&PortRef::Name("antrea-gw0".into())), Some(2));
        let t =
            PortTable::parse("1(p2p1): addr:b8:59:9f:d2:1c:ba\n     config:     0\n2(vnet0): addr:fe:54:00:11:8f:ea\n");
        assert_eq!(t.ports.len(), 2);
    }
}
