//! What a node's Antrea pipeline says about the node (antrea-traceflow.md §4.5): its ports and
//! their roles (tunnel, gateway, Pods with MAC and IP), its local and remote Pod CIDRs with the
//! peer node behind each, and its Services (ClusterIP:port → group → endpoints).

use super::registers::{
    ENDPOINT_IP6, ENDPOINT_PORT, GLOBAL_VIRTUAL_MAC, PKT_SOURCE, REMOTE_ENDPOINT, TARGET_OFPORT, TO_NODE_PORT_ADDRESS,
};
use super::tables::{Table, TableMap, TableMapSource};
use crate::addr::MacAddr;
use crate::ovs::value::bits_mac;
use crate::ovs::{Action, Bucket, Field, Flow, FlowDump, Group, PortRef, PortTable, Value};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a port is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortRole {
    /// `antrea-tun0`: the overlay tunnel.
    Tunnel,
    /// `antrea-gw0`: the node's gateway.
    Gateway,
    /// The uplink (AntreaFlexibleIPAM / bridging mode).
    Uplink,
    /// The bridge's `LOCAL` port.
    Bridge,
    /// A local Pod.
    Pod,
    /// A TrafficControl / L7 NetworkPolicy tap port.
    TrafficControl,
    /// Not determined.
    Unknown,
}

/// One port of the node, as far as the flows and port table say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortInfo {
    /// Interface name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// OpenFlow port number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ofport: Option<u32>,
    /// Role.
    pub role: PortRole,
    /// MAC (SpoofGuard / ARPSpoofGuard / L2ForwardingCalc / port table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// IP addresses (SpoofGuard / ARPSpoofGuard).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<IpAddr>,
}

/// A remote Pod CIDR and the node that owns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemoteCidr {
    /// Network address.
    pub network: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// The peer node's transport IP (`tun_dst` of the L3Forwarding flow).
    pub peer: IpAddr,
}

impl RemoteCidr {
    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        cidr_contains(self.network, self.prefix, ip)
    }
}

/// Whether `ip` is inside `net/prefix` (false across families).
pub fn cidr_contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
            u32::from(n) & m == u32::from(i) & m
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix.min(128))) };
            u128::from(n) & m == u128::from(i) & m
        }
        _ => false,
    }
}

/// One Service endpoint from a group bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// Endpoint IP (reg3 / xxreg3).
    pub ip: IpAddr,
    /// Endpoint port (reg4[0..15]).
    pub port: u16,
    /// `RemoteEndpointRegMark` set: the endpoint runs on another node.
    pub remote: bool,
}

/// A Service frontend and where it load-balances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceEntry {
    /// ClusterIP / LoadBalancer IP / external IP; `None` for a NodePort flow (any node address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// IP protocol number (6, 17, 132).
    pub protocol: u8,
    /// Service port (or NodePort).
    pub port: u16,
    /// The flow matches NodePort traffic (`ToNodePortAddressRegMark`).
    pub node_port: bool,
    /// The select group.
    pub group: u32,
    /// Endpoints from the group's buckets (empty if the group is not in the groups file).
    pub endpoints: Vec<Endpoint>,
}

/// Pipeline-derived facts about one node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeView {
    /// Ports.
    pub ports: Vec<PortInfo>,
    /// Gateway IP (L3Forwarding / ARPSpoofGuard of the gateway port).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gateway_ips: Vec<IpAddr>,
    /// Local Pod CIDRs.
    pub local_pod_cidrs: Vec<(IpAddr, u8)>,
    /// Remote Pod CIDRs and their peer nodes.
    pub remote_pod_cidrs: Vec<RemoteCidr>,
    /// Services.
    pub services: Vec<ServiceEntry>,
}

/// The value and mask a flow's actions write to `field` (last write wins; `set_field` and
/// `load` on the field count).
fn written(actions: &[Action], field: Field) -> Option<(u128, u128)> {
    let mut out: Option<(u128, u128)> = None;
    for a in actions {
        let w = match a {
            Action::SetField { field: f, value: Value::Bits { value, mask } } if *f == field => {
                Some((value.get(), mask.get()))
            }
            Action::Load { value, dst } if dst.field == field => Some((value.get() << dst.start, dst.mask())),
            _ => None,
        };
        if let Some((v, m)) = w {
            let (ov, om) = out.unwrap_or((0, 0));
            out = Some(((ov & !m) | v, om | m));
        }
    }
    out
}

fn exact(flow: &Flow, field: Field) -> Option<u128> {
    let (v, m) = flow.matches.bits(field)?;
    (m == field.full_mask()).then_some(v)
}

fn ip4(v: u128) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(v as u32))
}

fn ip6(v: u128) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(v))
}

fn mac_of(v: u128) -> MacAddr {
    bits_mac(v)
}

/// Whether a flow is in `table`.
fn in_table(tables: &TableMap, flow: &Flow, table: Table) -> bool {
    tables.table_of(flow) == Some(table)
}

impl NodeView {
    /// Builds the view from a node's flows, groups and (optionally) port table.
    pub fn build(flows: &FlowDump, groups: &[Group], ports: Option<&PortTable>, tables: &TableMap) -> NodeView {
        let mut v = NodeView::default();
        if let Some(pt) = ports {
            for p in &pt.ports {
                v.ports.push(PortInfo {
                    name: Some(p.name.clone()),
                    ofport: p.ofport,
                    role: if p.is_local() { PortRole::Bridge } else { PortRole::Unknown },
                    mac: p.mac,
                    ips: vec![],
                });
            }
        }
        v.port_roles_and_addresses(flows, tables);
        v.output_ports(flows, tables);
        v.pod_ips_from_routes(flows, tables);
        v.roles_by_name();
        if let Some(gw) = v.ports.iter().find(|p| p.role == PortRole::Gateway) {
            v.gateway_ips = gw.ips.clone();
        }
        v.routes(flows, tables);
        v.services(flows, groups, tables);
        v
    }

    /// Classifier: `in_port` → the port's role (reg0's source field); SpoofGuard and
    /// ARPSpoofGuard: `in_port` → the Pod's MAC and IP.
    fn port_roles_and_addresses(&mut self, flows: &FlowDump, tables: &TableMap) {
        let legacy = tables.source == TableMapSource::Legacy;
        for f in &flows.flows {
            if in_table(tables, f, Table::Classifier) {
                let Some(Value::Port(p)) = f.matches.get(Field::InPort) else { continue };
                let Some((val, mask)) = written(&f.actions, PKT_SOURCE.field) else { continue };
                if !PKT_SOURCE.covered_by(PKT_SOURCE.field, mask) {
                    continue;
                }
                let role = match (legacy, PKT_SOURCE.read(val)) {
                    (false, 1) | (true, 0) => PortRole::Tunnel,
                    (false, 2) | (true, 1) => PortRole::Gateway,
                    (false, 3) | (true, 2) => PortRole::Pod,
                    (false, 4) => PortRole::Uplink,
                    (false, 5) => PortRole::Bridge,
                    (false, 6 | 7) => PortRole::TrafficControl,
                    _ => PortRole::Unknown,
                };
                let port = self.port_mut(p);
                if port.role == PortRole::Unknown {
                    port.role = role;
                }
            } else if in_table(tables, f, Table::SpoofGuard) || in_table(tables, f, Table::ArpSpoofGuard) {
                let Some(Value::Port(p)) = f.matches.get(Field::InPort) else { continue };
                let mac = exact(f, Field::EthSrc).or_else(|| exact(f, Field::ArpSha)).map(mac_of);
                let ip = exact(f, Field::IpSrc)
                    .or_else(|| exact(f, Field::ArpSpa))
                    .map(ip4)
                    .or_else(|| exact(f, Field::Ipv6Src).map(ip6));
                let port = self.port_mut(p);
                if port.mac.is_none() {
                    port.mac = mac;
                }
                if let Some(ip) = ip {
                    if !port.ips.contains(&ip) {
                        port.ips.push(ip);
                    }
                }
            }
        }
    }

    /// L2ForwardingCalc: `dl_dst=MAC` → reg1 = the port's number.
    fn output_ports(&mut self, flows: &FlowDump, tables: &TableMap) {
        let vmac: MacAddr = GLOBAL_VIRTUAL_MAC.parse().unwrap_or_default();
        for f in flows.flows.iter().filter(|f| in_table(tables, f, Table::L2ForwardingCalc)) {
            let (Some(mac), Some((reg1, m))) = (exact(f, Field::EthDst), written(&f.actions, TARGET_OFPORT.field))
            else {
                continue;
            };
            if !TARGET_OFPORT.covered_by(TARGET_OFPORT.field, m) {
                continue;
            }
            let mac = mac_of(mac);
            let ofport = reg1 as u32;
            let idx = if mac == vmac {
                self.ports.iter().position(|p| p.role == PortRole::Tunnel)
            } else {
                self.ports
                    .iter()
                    .position(|p| p.mac == Some(mac))
                    .or_else(|| self.ports.iter().position(|p| p.mac.is_none() && p.ofport == Some(ofport)))
            };
            match idx {
                Some(i) => {
                    let p = &mut self.ports[i];
                    if p.ofport.is_none() {
                        p.ofport = Some(ofport);
                    }
                    if p.mac.is_none() && mac != vmac {
                        p.mac = Some(mac);
                    }
                }
                None => self.ports.push(PortInfo {
                    name: None,
                    ofport: Some(ofport),
                    role: if mac == vmac { PortRole::Tunnel } else { PortRole::Unknown },
                    mac: (mac != vmac).then_some(mac),
                    ips: vec![],
                }),
            }
        }
    }

    /// L3Forwarding: `nw_dst=<local Pod IP>` → `eth_dst=<Pod MAC>` (Pods whose SpoofGuard
    /// flows are missing still get their IP).
    fn pod_ips_from_routes(&mut self, flows: &FlowDump, tables: &TableMap) {
        for f in flows.flows.iter().filter(|f| in_table(tables, f, Table::L3Forwarding)) {
            let ip = exact(f, Field::IpDst).map(ip4).or_else(|| exact(f, Field::Ipv6Dst).map(ip6));
            let mac = written(&f.actions, Field::EthDst).filter(|(_, m)| *m == Field::EthDst.full_mask());
            let (Some(ip), Some((mac, _))) = (ip, mac) else { continue };
            let mac = mac_of(mac);
            if let Some(p) = self.ports.iter_mut().find(|p| p.mac == Some(mac) && p.role != PortRole::Gateway) {
                if !p.ips.contains(&ip) {
                    p.ips.push(ip);
                }
            }
        }
    }

    /// Ports no flow gave a role: by Antrea's interface names.
    fn roles_by_name(&mut self) {
        for p in &mut self.ports {
            if p.role == PortRole::Unknown {
                p.role = match p.name.as_deref() {
                    Some(n) if n == TUNNEL_INTERFACES[0] => PortRole::Tunnel,
                    Some(GATEWAY_INTERFACE) => PortRole::Gateway,
                    Some(n) if n.starts_with("antrea-tc-") || n.starts_with("antrea-l7-") => PortRole::TrafficControl,
                    _ => PortRole::Unknown,
                };
            }
        }
    }

    fn routes(&mut self, flows: &FlowDump, tables: &TableMap) {
        for f in flows.flows.iter().filter(|f| in_table(tables, f, Table::L3Forwarding)) {
            let dst = f
                .matches
                .bits(Field::IpDst)
                .map(|(v, m)| (ip4(v), m.count_ones() as u8, m != Field::IpDst.full_mask()))
                .or_else(|| {
                    f.matches.bits(Field::Ipv6Dst).map(|(v, m)| (ip6(v), m.count_ones() as u8, m != u128::MAX))
                });
            let Some((net, prefix, is_cidr)) = dst else { continue };
            if !is_cidr {
                continue;
            }
            let peer = written(&f.actions, Field::TunDst)
                .map(|(v, _)| ip4(v))
                .or_else(|| written(&f.actions, Field::TunIpv6Dst).map(|(v, _)| ip6(v)));
            match peer {
                Some(peer) => {
                    if !self.remote_pod_cidrs.iter().any(|r| r.network == net && r.prefix == prefix) {
                        self.remote_pod_cidrs.push(RemoteCidr { network: net, prefix, peer });
                    }
                }
                None => {
                    let to_l2 = f.actions.iter().any(|a| match a {
                        Action::GotoTable { table } | Action::Resubmit { table: Some(table), .. } => {
                            tables.table(table) == Some(Table::L2ForwardingCalc)
                        }
                        _ => false,
                    });
                    if to_l2 && !self.local_pod_cidrs.contains(&(net, prefix)) {
                        self.local_pod_cidrs.push((net, prefix));
                    }
                }
            }
        }
    }

    fn services(&mut self, flows: &FlowDump, groups: &[Group], tables: &TableMap) {
        for f in flows.flows.iter().filter(|f| in_table(tables, f, Table::ServiceLb)) {
            let Some(group) = f.actions.iter().find_map(|a| match a {
                Action::Group { id } => Some(*id),
                _ => None,
            }) else {
                continue;
            };
            let (Some(protocol), Some(port)) = (
                f.matches.ip_proto(),
                [Field::TcpDst, Field::UdpDst, Field::SctpDst].iter().find_map(|x| exact(f, *x)),
            ) else {
                continue;
            };
            let ip = exact(f, Field::IpDst).map(ip4).or_else(|| exact(f, Field::Ipv6Dst).map(ip6));
            let node_port =
                f.matches.bits(TO_NODE_PORT_ADDRESS.field).is_some_and(|(v, m)| TO_NODE_PORT_ADDRESS.read(v & m) == 1);
            let endpoints = groups.iter().find(|g| g.id == group).map(endpoints_of).unwrap_or_default();
            self.services.push(ServiceEntry { ip, protocol, port: port as u16, node_port, group, endpoints });
        }
    }

    fn port_mut(&mut self, p: &PortRef) -> &mut PortInfo {
        let idx = self.ports.iter().position(|x| match p {
            PortRef::Name(n) => x.name.as_deref() == Some(n.as_str()),
            PortRef::Number(n) => x.ofport == Some(*n),
            _ => false,
        });
        match idx {
            Some(i) => &mut self.ports[i],
            None => {
                let (name, ofport) = match p {
                    PortRef::Name(n) => (Some(n.clone()), None),
                    PortRef::Number(n) => (None, Some(*n)),
                    other => (Some(other.to_string()), other.number()),
                };
                self.ports.push(PortInfo { name, ofport, role: PortRole::Unknown, mac: None, ips: vec![] });
                let last = self.ports.len() - 1;
                &mut self.ports[last]
            }
        }
    }

    /// The tunnel port.
    pub fn tunnel(&self) -> Option<&PortInfo> {
        self.ports.iter().find(|p| p.role == PortRole::Tunnel)
    }

    /// The gateway port.
    pub fn gateway(&self) -> Option<&PortInfo> {
        self.ports.iter().find(|p| p.role == PortRole::Gateway)
    }

    /// Local Pod ports.
    pub fn pods(&self) -> impl Iterator<Item = &PortInfo> {
        self.ports.iter().filter(|p| p.role == PortRole::Pod)
    }

    /// The local Pod port owning `ip`.
    pub fn pod_by_ip(&self, ip: IpAddr) -> Option<&PortInfo> {
        self.pods().find(|p| p.ips.contains(&ip))
    }

    /// The remote CIDR (longest prefix) containing `ip`, i.e. the peer node to tunnel to.
    pub fn peer_for(&self, ip: IpAddr) -> Option<&RemoteCidr> {
        self.remote_pod_cidrs.iter().filter(|r| r.contains(ip)).max_by_key(|r| r.prefix)
    }

    /// The Service entry for `ip:port` over `protocol`.
    pub fn service(&self, ip: IpAddr, port: u16, protocol: u8) -> Option<&ServiceEntry> {
        self.services.iter().find(|s| s.ip == Some(ip) && s.port == port && s.protocol == protocol)
    }
}

/// Endpoints a Service group's buckets load.
pub fn endpoints_of(g: &Group) -> Vec<Endpoint> {
    g.buckets.iter().filter_map(bucket_endpoint).collect()
}

/// The Service endpoint one group bucket selects: reg3 (IPv4) or xxreg3 (IPv6) holds its
/// address, reg4[0..15] its port, reg4 bit 26 says it is on another node.
pub fn bucket_endpoint(b: &Bucket) -> Option<Endpoint> {
    let ip = written(&b.actions, Field::Reg(3))
        .filter(|(_, m)| *m == 0xffff_ffff)
        .map(|(v, _)| ip4(v))
        .or_else(|| written(&b.actions, ENDPOINT_IP6.field).map(|(v, _)| ip6(v)))?;
    let (r4, m4) = written(&b.actions, ENDPOINT_PORT.field)?;
    if !ENDPOINT_PORT.covered_by(ENDPOINT_PORT.field, m4) {
        return None;
    }
    let remote = REMOTE_ENDPOINT.read(r4 & m4) == 1;
    Some(Endpoint { ip, port: ENDPOINT_PORT.read(r4) as u16, remote })
}

/// The bucket of `g` that selects endpoint `ip`.
pub fn bucket_for_endpoint(g: &Group, ip: IpAddr) -> Option<usize> {
    g.buckets.iter().position(|b| bucket_endpoint(b).is_some_and(|e| e.ip == ip))
}

/// Antrea's gateway interface.
pub const GATEWAY_INTERFACE: &str = "antrea-gw0";

/// Antrea's tunnel port, and the devices the kernel datapath creates for flow-based tunnels
/// (where `tcpdump -i any` sees the decapsulated probe).
pub const TUNNEL_INTERFACES: &[&str] = &["antrea-tun0", "genev_sys_6081", "vxlan_sys_4789", "gre_sys", "stt_sys_7471"];

/// The role of a capture's interface by its name alone, for a node whose port table does not
/// list it: the gateway, a tunnel device, the transport (uplink) interface agentinfo names, or
/// — without any port table — an interface named like a Pod's (`<pod>-<hash>`).
pub fn interface_role_by_name(name: &str, transport_interface: Option<&str>, have_ports: bool) -> Option<PortRole> {
    if name == GATEWAY_INTERFACE {
        Some(PortRole::Gateway)
    } else if TUNNEL_INTERFACES.contains(&name) {
        Some(PortRole::Tunnel)
    } else if Some(name) == transport_interface {
        Some(PortRole::Uplink)
    } else if !have_ports && name.contains('-') {
        Some(PortRole::Pod)
    } else {
        None
    }
}
