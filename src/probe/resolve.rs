//! From what the user asked for (flags, `--flow`, names) to a fully resolved [`ProbeSpec`], with
//! Antrea's defaults and precedence (antrea-traceflow.md §3.2).

use super::flow::FlowFields;
use super::rng::ProbeRng;
use super::schema::{Endpoint, EndpointKind};
use super::spec::{tcp_flags, ProbeSpec, Transport};
use super::tag::{Tag, TagError};
use crate::addr::MacAddr;
use std::net::IpAddr;

/// A transport protocol the probe can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// ICMP / ICMPv6 echo request.
    Icmp,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP INIT.
    Sctp,
}

impl Proto {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Icmp => "icmp",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }

    /// Parses `icmp`, `icmpv6`, `tcp`, `udp`, `sctp` or the protocol number.
    pub fn parse(s: &str) -> Option<Proto> {
        match s.to_ascii_lowercase().as_str() {
            "icmp" | "icmp6" | "icmpv6" | "1" | "58" => Some(Proto::Icmp),
            "tcp" | "6" => Some(Proto::Tcp),
            "udp" | "17" => Some(Proto::Udp),
            "sctp" | "132" => Some(Proto::Sctp),
            _ => None,
        }
    }
}

/// A Pod, as name resolution needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedPod {
    /// `ns/name`.
    pub name: String,
    /// Its addresses.
    pub ips: Vec<IpAddr>,
    /// The Node it runs on.
    pub node: Option<String>,
    /// Whether it uses the host network.
    pub host_network: bool,
}

/// A Service, as name resolution needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedService {
    /// Its ClusterIPs (none for a headless Service).
    pub cluster_ips: Vec<IpAddr>,
    /// Protocol name (`TCP`, `UDP`, `SCTP`) and port of its first port.
    pub first_port: Option<(String, u16)>,
}

/// Where names come from: a cluster inventory (`bundle::ClusterInfo` implements this).
pub trait Names {
    /// The Pod `ns/name`.
    fn pod(&self, namespace: &str, name: &str) -> Option<NamedPod>;
    /// The Service `ns/name`.
    fn service(&self, namespace: &str, name: &str) -> Option<NamedService>;
    /// Existing names that look like `ns/name`, to suggest.
    fn nearby(&self, namespace: &str, name: &str) -> Vec<String>;
}

/// How the tag is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagChoice {
    /// Antrea's allocation: the lowest pool value not in use.
    Auto {
        /// Tags that flow dumps show in use by a running Traceflow.
        in_use: Vec<u8>,
    },
    /// A fixed DSCP value.
    Fixed(u32),
}

/// Everything the user can say about the probe; `None` means "Antrea's default".
#[derive(Clone, Debug, Default)]
pub struct ProbeRequest {
    /// `-S ns/pod` (or `pod`, meaning `default/pod`), or an IP.
    pub source: Option<String>,
    /// `-D ns/pod | ns/svc | IP`.
    pub destination: Option<String>,
    /// `--src-ip`.
    pub src_ip: Option<IpAddr>,
    /// `--dst-ip`.
    pub dst_ip: Option<IpAddr>,
    /// `--src-mac`.
    pub src_mac: Option<MacAddr>,
    /// `--dst-mac`.
    pub dst_mac: Option<MacAddr>,
    /// `--proto`.
    pub proto: Option<Proto>,
    /// `--src-port`.
    pub src_port: Option<u16>,
    /// `--dst-port`.
    pub dst_port: Option<u16>,
    /// `--tcp-flags`.
    pub tcp_flags: Option<u8>,
    /// `--tcp-seq`.
    pub tcp_seq: Option<u32>,
    /// `--ttl`.
    pub ttl: Option<u8>,
    /// `--ip-flags`.
    pub ipv4_flags: Option<u8>,
    /// `--ip-id`.
    pub ipv4_id: Option<u16>,
    /// `--flow-label`.
    pub flow_label: Option<u32>,
    /// `--icmp-id`.
    pub icmp_id: Option<u16>,
    /// `--icmp-seq`.
    pub icmp_seq: Option<u16>,
    /// `--flow` fields (flags given explicitly win over them).
    pub flow: FlowFields,
    /// `--ipv6`: choose the Pods' IPv6 addresses.
    pub ipv6: bool,
    /// `--tag`.
    pub tag: Option<TagChoice>,
}

/// The resolved probe plus what the names resolved to and what the user should know.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The headers.
    pub spec: ProbeSpec,
    /// The source endpoint, when named.
    pub source: Option<Endpoint>,
    /// The destination endpoint, when named.
    pub destination: Option<Endpoint>,
    /// Warnings (tag outside the pool, MACs not known, ...).
    pub warnings: Vec<String>,
}

/// A request that cannot become a probe. Each message says what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    /// Neither a source IP nor a source Pod.
    #[error("no source: give -S/--source ns/pod (with --cluster) or --src-ip")]
    NoSource,
    /// Neither a destination IP nor a name.
    #[error("no destination: give -D/--destination ns/pod|ns/svc|IP or --dst-ip")]
    NoDestination,
    /// A name given without `--cluster`.
    #[error("{0:?} is a name: resolving it needs --cluster FILE (kubectl get pods,services,nodes -A -o json, or a support bundle's clusterinfo)")]
    NeedCluster(String),
    /// Name not found.
    #[error("{what} {name} not found in {cluster}{}", suggestions(.nearby))]
    UnknownName {
        /// "Pod" or "Pod or Service".
        what: &'static str,
        /// ns/name.
        name: String,
        /// The cluster file.
        cluster: String,
        /// Similar names.
        nearby: Vec<String>,
    },
    /// The Pod has no address of the wanted family.
    #[error("{name} has no {family} address (it has: {have})")]
    NoAddress {
        /// ns/name.
        name: String,
        /// IPv4 or IPv6.
        family: &'static str,
        /// The addresses it has.
        have: String,
    },
    /// Antrea refuses host-network Pods as sources.
    #[error("{0} uses the host network: using a hostNetwork Pod as source is not supported (as in Antrea)")]
    HostNetworkSource(String),
    /// The Service has no ClusterIP or ports.
    #[error("destination Service {0} {1}")]
    ServiceUnusable(String, &'static str),
    /// Source and destination of different IP families.
    #[error("source {src} and destination {dst} are of different IP families")]
    FamilyMismatch {
        /// Source.
        src: IpAddr,
        /// Destination.
        dst: IpAddr,
    },
    /// Ports for a protocol without ports.
    #[error("--src-port/--dst-port need TCP, UDP or SCTP, but the protocol is {0}")]
    PortsWithoutTransport(&'static str),
    /// TCP flags for a non-TCP probe.
    #[error("--tcp-flags/--tcp-seq need TCP, but the protocol is {0}")]
    TcpFieldsWithoutTcp(&'static str),
    /// ICMP id/seq for a non-ICMP probe.
    #[error("--icmp-id/--icmp-seq need ICMP, but the protocol is {0}")]
    IcmpFieldsWithoutIcmp(&'static str),
    /// Both a name and an explicit IP for the same side.
    #[error("{0} and {1} both given: use one")]
    Conflict(&'static str, &'static str),
    /// Tag out of range or pool exhausted.
    #[error(transparent)]
    Tag(#[from] TagError),
    /// Flow label out of range.
    #[error("--flow-label {0:#x} does not fit 20 bits, or is 0 (the fingerprint needs a non-zero label)")]
    FlowLabel(u32),
    /// IPv4 flags out of range.
    #[error("--ip-flags {0} out of range 0..=7 (4 reserved, 2 DF, 1 MF)")]
    Ipv4Flags(u8),
    /// A port of 0.
    #[error("port 0 is not a valid {0} port")]
    ZeroPort(&'static str),
}

fn suggestions(nearby: &[String]) -> String {
    if nearby.is_empty() {
        String::new()
    } else {
        format!("; nearby: {}", nearby.join(", "))
    }
}

/// The placeholder source MAC used when none is known.
pub const PLACEHOLDER_SRC_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
/// The placeholder destination MAC: Antrea's global virtual MAC.
pub const PLACEHOLDER_DST_MAC: MacAddr = MacAddr([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);

/// The probe's source: its address, the endpoint as named, and the Pod (for its node).
pub type Source = (IpAddr, Option<Endpoint>, Option<NamedPod>);

/// The probe's destination: its address, the endpoint as named, the Pod (for its node), and a
/// Service's first port (protocol and number, which decide the probe's transport).
pub type Destination = (IpAddr, Option<Endpoint>, Option<NamedPod>, Option<(Proto, u16)>);

fn ip_endpoint(ip: IpAddr) -> Option<Endpoint> {
    Some(Endpoint { kind: EndpointKind::Ip, name: None, ip, node: None })
}

/// `-S` / `--src-ip`: an address, or a Pod resolved through the cluster inventory.
fn resolve_source(
    req: &ProbeRequest,
    cluster: Option<(&dyn Names, &str)>,
    want_v6: bool,
) -> Result<Source, ResolveError> {
    match (&req.source, req.src_ip) {
        (Some(_), Some(_)) => Err(ResolveError::Conflict("-S/--source", "--src-ip")),
        (None, Some(ip)) => Ok((ip, None, None)),
        (None, None) => Err(ResolveError::NoSource),
        (Some(s), None) => source_named(s, cluster, want_v6),
    }
}

/// `-S ns/pod|IP` as `craft` takes it: an address, or a Pod (not on the host network) resolved
/// through the cluster inventory, its address of the wanted family.
pub fn source_named(s: &str, cluster: Option<(&dyn Names, &str)>, want_v6: bool) -> Result<Source, ResolveError> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok((ip, ip_endpoint(ip), None));
    }
    let (cl, file) = cluster.ok_or_else(|| ResolveError::NeedCluster(s.to_string()))?;
    let (ns, name) = split_name(s);
    let pod = cl.pod(&ns, &name).ok_or_else(|| ResolveError::UnknownName {
        what: "source Pod",
        name: format!("{ns}/{name}"),
        cluster: file.to_string(),
        nearby: cl.nearby(&ns, &name),
    })?;
    if pod.host_network {
        return Err(ResolveError::HostNetworkSource(format!("{ns}/{name}")));
    }
    let ip = pod_ip(&pod, want_v6)?;
    let endpoint = Endpoint { kind: EndpointKind::Pod, name: Some(format!("{ns}/{name}")), ip, node: pod.node.clone() };
    Ok((ip, Some(endpoint), Some(pod)))
}

/// `-D` / `--dst-ip`: an address, or a Pod or Service resolved through the cluster inventory.
fn resolve_destination(
    req: &ProbeRequest,
    cluster: Option<(&dyn Names, &str)>,
    want_v6: bool,
) -> Result<Destination, ResolveError> {
    match (&req.destination, req.dst_ip) {
        (Some(_), Some(_)) => Err(ResolveError::Conflict("-D/--destination", "--dst-ip")),
        (None, Some(ip)) => Ok((ip, None, None, None)),
        (None, None) => Err(ResolveError::NoDestination),
        (Some(d), None) => destination_named(d, cluster, want_v6),
    }
}

/// `-D ns/pod|ns/svc|IP` as `craft` takes it: an address, or a Pod or Service (its ClusterIP of
/// the wanted family, and its first port) resolved through the cluster inventory.
pub fn destination_named(
    d: &str,
    cluster: Option<(&dyn Names, &str)>,
    want_v6: bool,
) -> Result<Destination, ResolveError> {
    if let Ok(ip) = d.parse::<IpAddr>() {
        return Ok((ip, ip_endpoint(ip), None, None));
    }
    let (cl, file) = cluster.ok_or_else(|| ResolveError::NeedCluster(d.to_string()))?;
    let (ns, name) = split_name(d);
    let full = format!("{ns}/{name}");
    if let Some(pod) = cl.pod(&ns, &name) {
        let ip = pod_ip(&pod, want_v6)?;
        let endpoint = Endpoint { kind: EndpointKind::Pod, name: Some(full), ip, node: pod.node.clone() };
        return Ok((ip, Some(endpoint), Some(pod), None));
    }
    let Some(svc) = cl.service(&ns, &name) else {
        return Err(ResolveError::UnknownName {
            what: "destination Pod or Service",
            name: full,
            cluster: file.to_string(),
            nearby: cl.nearby(&ns, &name),
        });
    };
    let ip = svc
        .cluster_ips
        .iter()
        .copied()
        .find(|ip| ip.is_ipv6() == want_v6)
        .ok_or(ResolveError::ServiceUnusable(full.clone(), "does not have a ClusterIP of the probe's family"))?;
    let (protocol, port) =
        svc.first_port.ok_or(ResolveError::ServiceUnusable(full.clone(), "does not have any ports"))?;
    let proto = Proto::parse(&protocol).unwrap_or(Proto::Tcp);
    let endpoint = Endpoint { kind: EndpointKind::Service, name: Some(full), ip, node: None };
    Ok((ip, Some(endpoint), None, Some((proto, port))))
}

/// The transport, Antrea's precedence: explicit transport > Service port's protocol > ICMP;
/// ports, sequence numbers and tags drawn from `rng` where not given.
fn choose_transport(
    req: &ProbeRequest,
    service_port: Option<(Proto, u16)>,
    rng: &mut ProbeRng,
    warnings: &mut Vec<String>,
) -> Result<Transport, ResolveError> {
    let explicit_ports = req.src_port.or(req.flow.src_port).is_some() || req.dst_port.or(req.flow.dst_port).is_some();
    let tcp_fields = req.tcp_flags.or(req.flow.tcp_flags).is_some() || req.tcp_seq.is_some();
    let proto = req
        .proto
        .or(req.flow.proto)
        .or_else(|| tcp_fields.then_some(Proto::Tcp))
        .or(service_port.map(|(p, _)| p))
        .unwrap_or(Proto::Icmp);
    let src_port = req.src_port.or(req.flow.src_port);
    let dst_port =
        req.dst_port.or(req.flow.dst_port).or(service_port.filter(|(p, _)| *p == proto).map(|(_, port)| port));
    if proto == Proto::Icmp && explicit_ports {
        return Err(ResolveError::PortsWithoutTransport("icmp"));
    }
    if proto != Proto::Tcp && tcp_fields {
        return Err(ResolveError::TcpFieldsWithoutTcp(proto.name()));
    }
    if proto != Proto::Icmp
        && (req.icmp_id.or(req.flow.icmp_id).is_some() || req.icmp_seq.or(req.flow.icmp_seq).is_some())
    {
        return Err(ResolveError::IcmpFieldsWithoutIcmp(proto.name()));
    }
    if src_port == Some(0) || dst_port == Some(0) {
        return Err(ResolveError::ZeroPort(proto.name()));
    }
    let random_port = |rng: &mut ProbeRng| rng.range_u32(10000, 65535) as u16;
    Ok(match proto {
        Proto::Icmp => Transport::Icmp {
            id: req.icmp_id.or(req.flow.icmp_id).unwrap_or(0),
            sequence: req.icmp_seq.or(req.flow.icmp_seq).unwrap_or(0),
        },
        Proto::Tcp => {
            let src_port = src_port.unwrap_or_else(|| random_port(rng));
            let seq = req.tcp_seq.unwrap_or_else(|| rng.next_u64() as u32);
            let ack = rng.next_u64() as u32;
            Transport::Tcp {
                src_port,
                dst_port: dst_port.unwrap_or_else(|| missing_dst_port(warnings, "tcp")),
                flags: req.tcp_flags.or(req.flow.tcp_flags).unwrap_or(tcp_flags::SYN),
                seq,
                ack,
            }
        }
        Proto::Udp => Transport::Udp {
            src_port: src_port.unwrap_or_else(|| random_port(rng)),
            dst_port: dst_port.unwrap_or_else(|| missing_dst_port(warnings, "udp")),
        },
        Proto::Sctp => {
            let src_port = src_port.unwrap_or_else(|| random_port(rng));
            let initiate_tag = rng.range_u32(1, u32::MAX);
            let initial_tsn = rng.next_u64() as u32;
            Transport::Sctp {
                src_port,
                dst_port: dst_port.unwrap_or_else(|| missing_dst_port(warnings, "sctp")),
                initiate_tag,
                initial_tsn,
            }
        }
    })
}

/// The DSCP tag: Antrea's pool (avoiding tags in use), or the one asked for.
fn choose_tag(req: &ProbeRequest, warnings: &mut Vec<String>) -> Result<Tag, ResolveError> {
    Ok(match req.tag.clone().unwrap_or(TagChoice::Auto { in_use: Vec::new() }) {
        TagChoice::Auto { in_use } => Tag::auto(&in_use)?,
        TagChoice::Fixed(n) => {
            let t = Tag::new(n)?;
            if !t.in_antrea_pool() {
                warnings.push(format!(
                    "tag {t} is outside Antrea's pool (7, 11, ..., 59): DSCP {t} may be real traffic's marking, and Antrea's flows will not treat it as a Traceflow"
                ));
            }
            t
        }
    })
}

/// The MACs: Antrea uses the Pod MACs / gateway MAC, which cluster inventories do not hold.
fn choose_macs(
    req: &ProbeRequest,
    src_pod: Option<&NamedPod>,
    dst_pod: Option<&NamedPod>,
    warnings: &mut Vec<String>,
) -> (MacAddr, MacAddr) {
    let src_mac = req.src_mac.unwrap_or_else(|| {
        warnings.push(format!(
            "source MAC unknown: using {PLACEHOLDER_SRC_MAC}; SpoofGuard drops a frame whose MAC is not the source Pod's, so pass --src-mac (the Pod's eth0 address) or let `hoptrace inject --src-mac-from-iface` fill it in"
        ));
        PLACEHOLDER_SRC_MAC
    });
    let dst_mac = req.dst_mac.unwrap_or_else(|| {
        let same_node = matches!((src_pod, dst_pod), (Some(s), Some(d)) if s.node.is_some() && s.node == d.node);
        warnings.push(format!(
            "destination MAC unknown: using {PLACEHOLDER_DST_MAC}; Antrea uses {}, so pass --dst-mac",
            if same_node { "the destination Pod's MAC (same Node)" } else { "the source Node's antrea-gw0 MAC" }
        ));
        PLACEHOLDER_DST_MAC
    });
    (src_mac, dst_mac)
}

/// Resolves a request; `cluster` (with its file name) resolves names.
pub fn resolve(
    req: &ProbeRequest,
    cluster: Option<(&dyn Names, &str)>,
    rng: &mut ProbeRng,
) -> Result<Resolved, ResolveError> {
    let mut warnings = Vec::new();
    let want_v6 = req.ipv6
        || req.flow.ipv6
        || req.src_ip.is_some_and(|ip| ip.is_ipv6())
        || req.dst_ip.is_some_and(|ip| ip.is_ipv6());
    let (src_ip, source, src_pod) = resolve_source(req, cluster, want_v6)?;
    let want_v6 = want_v6 || src_ip.is_ipv6();
    let (dst_ip, destination, dst_pod, service_port) = resolve_destination(req, cluster, want_v6)?;
    if src_ip.is_ipv6() != dst_ip.is_ipv6() {
        return Err(ResolveError::FamilyMismatch { src: src_ip, dst: dst_ip });
    }
    let v6 = src_ip.is_ipv6();
    let transport = choose_transport(req, service_port, rng, &mut warnings)?;
    let tag = choose_tag(req, &mut warnings)?;

    // IPv4 ID and flags, IPv6 flow label.
    let ipv4_flags = req.ipv4_flags.unwrap_or(0);
    if ipv4_flags > 7 {
        return Err(ResolveError::Ipv4Flags(ipv4_flags));
    }
    let ipv4_id = req.ipv4_id.unwrap_or_else(|| rng.next_u64() as u16);
    let flow_label = match req.flow_label {
        Some(l) if l == 0 || l > 0xf_ffff => return Err(ResolveError::FlowLabel(l)),
        Some(l) => l,
        None => rng.range_u32(1, 0xf_ffff),
    };
    let (src_mac, dst_mac) = choose_macs(req, src_pod.as_ref(), dst_pod.as_ref(), &mut warnings);
    let spec = ProbeSpec {
        src_mac,
        dst_mac,
        src_ip,
        dst_ip,
        tag,
        ttl: req.ttl.or(req.flow.ttl).filter(|&t| t != 0).unwrap_or(64),
        ipv4_flags: if v6 { 0 } else { ipv4_flags },
        ipv4_id: if v6 { 0 } else { ipv4_id },
        flow_label: if v6 { flow_label } else { 0 },
        transport,
    };
    Ok(Resolved { spec, source, destination, warnings })
}

fn missing_dst_port(warnings: &mut Vec<String>, proto: &str) -> u16 {
    warnings.push(format!("no destination port given for {proto}: using 80"));
    80
}

/// `ns/name`, or `name` in namespace `default` (antctl's convention).
fn split_name(s: &str) -> (String, String) {
    match s.split_once('/') {
        Some((ns, name)) => (ns.to_string(), name.to_string()),
        None => ("default".to_string(), s.to_string()),
    }
}

fn pod_ip(pod: &NamedPod, v6: bool) -> Result<IpAddr, ResolveError> {
    pod.ips.iter().copied().find(|ip| ip.is_ipv6() == v6).ok_or_else(|| ResolveError::NoAddress {
        name: pod.name.clone(),
        family: if v6 { "IPv6" } else { "IPv4" },
        have: if pod.ips.is_empty() {
            "none".to_string()
        } else {
            pod.ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        },
    })
}
