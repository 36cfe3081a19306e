//! Where on a node a sighting was made: a Pod's port, the gateway, the tunnel port, the
//! underlay (encapsulated or bare), or somewhere the inputs do not describe.

use super::model::NodeModel;
use crate::antrea::node::interface_role_by_name;
use crate::antrea::PortRole;
use crate::decode::sighting::Sighting;
use std::net::IpAddr;

/// Where a sighting was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A Pod's port (interface name, OpenFlow port).
    Pod(String, Option<u32>),
    /// The node's gateway.
    Gateway,
    /// The tunnel port: the probe bare, about to be or just decapsulated.
    TunnelPort,
    /// The underlay (uplink): encapsulated (`Some` outer source and destination) or bare.
    Underlay(Option<(IpAddr, IpAddr)>),
    /// Not known (`any`, or an interface nothing describes).
    Unknown,
}

impl Place {
    fn from_role(role: PortRole, iface: &str, ofport: Option<u32>) -> Place {
        match role {
            PortRole::Pod => Place::Pod(iface.to_string(), ofport),
            PortRole::Gateway => Place::Gateway,
            PortRole::Tunnel => Place::TunnelPort,
            PortRole::Uplink => Place::Underlay(None),
            _ => Place::Unknown,
        }
    }
}

/// Where on `node` sighting `s` was made: an encapsulated copy is on the underlay; otherwise
/// the interface's role in the node's port table, else by its name.
pub fn place(node: &NodeModel<'_>, s: &Sighting) -> Place {
    if let Some(t) = s.tunnels.first() {
        return Place::Underlay(Some((t.src, t.dst)));
    }
    let Some(iface) = s.interface.as_deref() else { return Place::Unknown };
    let view = node.view();
    if let Some(p) = view.and_then(|v| v.ports.iter().find(|p| p.name.as_deref() == Some(iface))) {
        return Place::from_role(p.role, iface, p.ofport);
    }
    match interface_role_by_name(iface, node.transport_interface(), view.is_some()) {
        Some(role) => Place::from_role(role, iface, None),
        None => Place::Unknown,
    }
}
