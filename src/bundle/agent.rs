//! One node's artifacts: an Antrea agent support bundle `agent_<node>.tar.gz` read in place
//! (tar + gzip, no extraction, sizes bounded) or a directory of loose files with the same names:
//! `flows`, `groups`, `ovsports`, `agentinfo`, `networkpolicies`, `addressgroups`,
//! `appliedtogroups`, `address`, `route` (antrea-traceflow.md §5.1).

use super::lenient::{array, each_item, get, int_or_string, interface_ip, ip, meta, path, string, IntOrString};
pub use crate::antrea::controlplane::{
    AgentInfo, GroupMember, MemberGroup, NamedPort, NetworkPolicy, PolicyRule, PortRef, RuleAction, RuleDirection,
    RuleService,
};
use crate::ovs::flow::FileError;
use crate::ovs::group::GroupDump;
use crate::ovs::{FlowDump, Group, LineError, PortTable};
use serde::Serialize;
use serde_json::Value;
use std::cell::Cell;
use std::io::{BufRead, Read};
use std::net::IpAddr;
use std::path::Path;

/// Largest total of the members read from one bundle: 1 GiB.
pub const MAX_TOTAL: u64 = 1 << 30;
/// Most bytes decompressed from one bundle, skipped members (logs) included: 4 GiB. Bounds the
/// time a gzip bomb can take (about 15 s).
pub const MAX_STREAM: u64 = 4 << 30;

/// Largest size accepted for a member of a bundle or a loose file of a node directory. Real
/// bundles hold flows of some tens of MB (a few hundred bytes per flow) and YAML of some MB;
/// the limits leave ten times that room and no more, since every byte read is held in memory.
pub fn member_limit(member: &str) -> u64 {
    match member {
        "flows" => 512 << 20,
        "groups" => 128 << 20,
        "networkpolicies" | "addressgroups" | "appliedtogroups" => super::yaml::MAX_DOCUMENT_BYTES as u64,
        "agentinfo" => 4 << 20,
        _ => 16 << 20,
    }
}

/// The files hoptrace reads from a node bundle (others, such as logs, are skipped).
pub const MEMBERS: &[&str] = &[
    "flows",
    "groups",
    "ovsports",
    "agentinfo",
    "networkpolicies",
    "addressgroups",
    "appliedtogroups",
    "address",
    "route",
    "link",
];

/// Members only a Windows agent's bundle has (`pkg/support/dump_windows.go`): hoptrace reads
/// none of them.
const WINDOWS_MEMBERS: &[&str] = &["ipconfig", "routes", "network-adapters", "HNSNetwork", "HNSEndpoint"];

/// What a Windows agent's bundle means for the analysis, said once (`None` for other bundles).
fn windows_note(origin: &str, members: &[String]) -> Option<String> {
    let listed: Vec<&str> = WINDOWS_MEMBERS.iter().copied().filter(|m| members.iter().any(|x| x == m)).collect();
    (!listed.is_empty()).then(|| {
        format!(
            "{origin}: a Windows agent's bundle ({}): hoptrace does not read these members (no `address`, `link` or \
             `route`: interface names and addresses come from agentinfo and the inventory only) and does not model \
             the Windows pipeline (uplink on br-int, host traffic through OVS): its flows are read and simulated as \
             a Linux agent's, which this node's results may not match",
            listed.join(", ")
        )
    })
}

/// Errors reading a node bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// I/O or archive failure.
    #[error("{path}: {message}")]
    Read {
        /// The bundle.
        path: String,
        /// What failed.
        message: String,
    },
    /// A flow or group line that does not parse.
    #[error(transparent)]
    Line(#[from] LineError),
}

impl From<FileError> for BundleError {
    fn from(e: FileError) -> BundleError {
        match e {
            FileError::Line(l) => BundleError::Line(l),
            other => BundleError::Read { path: String::new(), message: other.to_string() },
        }
    }
}

impl AgentInfo {
    fn from_value(v: &Value) -> AgentInfo {
        let ovs = get(v, "ovsInfo").unwrap_or(&Value::Null);
        let net = get(v, "networkInfo").unwrap_or(&Value::Null);
        let mut transport_ips = Vec::new();
        if let Some(obj) = net.as_object() {
            for (k, val) in obj {
                if k.to_ascii_lowercase().contains("ip") {
                    match val {
                        Value::Array(a) => transport_ips.extend(a.iter().filter_map(interface_ip)),
                        other => transport_ips.extend(interface_ip(other)),
                    }
                }
            }
        }
        AgentInfo {
            node: path(v, &["nodeRef", "name"]).and_then(Value::as_str).map(str::to_string),
            version: string(v, "version"),
            node_subnets: array(v, "nodeSubnets").iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
            ovs_version: string(ovs, "version"),
            bridge: string(ovs, "bridgeName"),
            flow_tables: get(ovs, "flowTable")
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
                .unwrap_or_default(),
            transport_interface: string(net, "transportInterface"),
            transport_ips,
            local_pod_num: get(v, "localPodNum").and_then(Value::as_u64),
            heartbeat_ns: array(v, "agentConditions")
                .iter()
                .filter_map(|c| get(c, "lastHeartbeatTime")?.as_str().and_then(crate::time::parse_time))
                .max(),
        }
    }
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    array(v, key).iter().filter_map(|s| s.as_str().map(str::to_string)).collect()
}

fn member_group(v: &Value) -> Option<MemberGroup> {
    let name = meta(v).0.or_else(|| string(v, "name"))?;
    let members = array(v, "groupMembers")
        .iter()
        .map(|m| {
            let pod = get(m, "pod").and_then(|p| {
                let n = string(p, "name")?;
                Some(match string(p, "namespace") {
                    Some(ns) => format!("{ns}/{n}"),
                    None => n,
                })
            });
            let node = get(m, "node").and_then(|n| string(n, "name").or_else(|| n.as_str().map(str::to_string)));
            let mut ips: Vec<IpAddr> = array(m, "ips").iter().filter_map(ip).collect();
            ips.extend(get(m, "ip").and_then(ip));
            let ports = array(m, "ports")
                .iter()
                .filter_map(|p| {
                    Some(NamedPort {
                        name: string(p, "name").filter(|n| !n.is_empty())?,
                        port: get(p, "port").and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok())?,
                        protocol: string(p, "protocol").unwrap_or_else(|| "TCP".into()),
                    })
                })
                .collect();
            GroupMember { pod, node, ips, ports }
        })
        .collect();
    Some(MemberGroup { name, members })
}

/// One `services[]` entry: `port` is an `IntOrString` (a mapping in the agent's YAML, a number
/// or name in JSON); a named port is resolved later, from the groups.
fn rule_service(s: &Value) -> RuleService {
    let port = get(s, "port").and_then(int_or_string).and_then(|p| match p {
        IntOrString::Int(n) => u16::try_from(n).ok().map(PortRef::Number),
        IntOrString::Str(name) => Some(PortRef::Name(name)),
    });
    RuleService {
        protocol: string(s, "protocol").filter(|p| !p.is_empty()).unwrap_or_else(|| "TCP".into()),
        port,
        end_port: get(s, "endPort").and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok()),
        resolved: Vec::new(),
    }
}

/// Resolves the named ports of every rule through the members of its endpoint groups: the
/// applied-to groups (the rule's, else the policy's) for an ingress rule, the peer address
/// groups for an egress rule. A name no member gives stays unresolved.
fn resolve_named_ports(policies: &mut [NetworkPolicy], applied_to: &[MemberGroup], address: &[MemberGroup]) {
    for np in policies {
        for rule in &mut np.rules {
            let (names, groups): (&[String], &[MemberGroup]) = match rule.direction {
                Some(RuleDirection::Out) => (&rule.peer_groups, address),
                _ if !rule.applied_to.is_empty() => (&rule.applied_to, applied_to),
                _ => (&np.applied_to, applied_to),
            };
            for svc in &mut rule.services {
                let Some(PortRef::Name(name)) = &svc.port else { continue };
                let mut nums: Vec<u16> = groups
                    .iter()
                    .filter(|g| names.contains(&g.name))
                    .flat_map(|g| &g.members)
                    .flat_map(|m| &m.ports)
                    .filter(|p| &p.name == name && p.protocol.eq_ignore_ascii_case(&svc.protocol))
                    .map(|p| p.port)
                    .collect();
                nums.sort_unstable();
                nums.dedup();
                svc.resolved = nums;
            }
        }
    }
}

fn policy(v: &Value) -> Option<NetworkPolicy> {
    let name = meta(v).0.or_else(|| string(v, "name"))?;
    let src = get(v, "sourceRef");
    let source = src.and_then(|s| {
        let n = string(s, "name")?;
        Some(match string(s, "namespace").filter(|ns| !ns.is_empty()) {
            Some(ns) => format!("{ns}/{n}"),
            None => n,
        })
    });
    let rules = array(v, "rules")
        .iter()
        .map(|r| {
            let direction = string(r, "direction").and_then(|d| RuleDirection::from_name(&d));
            let peer = if direction == Some(RuleDirection::Out) { get(r, "to") } else { get(r, "from") };
            let peer = peer.unwrap_or(&Value::Null);
            PolicyRule {
                name: string(r, "name"),
                action: string(r, "action").and_then(|a| RuleAction::from_name(&a)),
                priority: get(r, "priority").and_then(Value::as_i64),
                peer_groups: strings(peer, "addressGroups"),
                peer_ip_blocks: array(peer, "ipBlocks")
                    .iter()
                    .filter_map(|b| {
                        let c = get(b, "cidr")?;
                        match c {
                            Value::String(s) => Some(s.clone()),
                            Value::Object(_) => {
                                let ipv = get(c, "ip").and_then(ip)?;
                                let len = get(c, "prefixLength").and_then(Value::as_u64)?;
                                Some(format!("{ipv}/{len}"))
                            }
                            _ => None,
                        }
                    })
                    .collect(),
                services: array(r, "services").iter().map(rule_service).collect(),
                applied_to: strings(r, "appliedToGroups"),
                direction,
            }
        })
        .collect();
    Some(NetworkPolicy {
        name,
        source_type: src.and_then(|s| string(s, "type")),
        source,
        rules,
        applied_to: strings(v, "appliedToGroups"),
    })
}

/// An interface address from the `address` file (`ip address` output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceAddr {
    /// Interface.
    pub interface: String,
    /// Address.
    pub ip: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

/// Parses `ip address` output.
pub fn parse_addresses(text: &str) -> Vec<InterfaceAddr> {
    let mut out = Vec::new();
    let mut iface = String::new();
    for line in text.lines() {
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            if let Some((_, name)) = interface_header(line) {
                iface = name.to_string();
            }
            continue;
        }
        let t = line.trim();
        let rest = t.strip_prefix("inet6 ").or_else(|| t.strip_prefix("inet "));
        if let Some(rest) = rest {
            let addr = rest.split_whitespace().next().unwrap_or("");
            if let Some((ip, len)) = addr.split_once('/') {
                if let (Ok(ip), Ok(prefix)) = (ip.parse(), len.parse()) {
                    out.push(InterfaceAddr { interface: iface.clone(), ip, prefix });
                }
            }
        }
    }
    out
}

/// The `N: NAME[@PEER]: <FLAGS>` header lines of `ip link` / `ip addr` output: interface index
/// and name (without the `@PEER` suffix), in file order. Other lines are ignored.
pub fn parse_interface_indexes(text: &str) -> Vec<(u32, String)> {
    text.lines().filter_map(interface_header).map(|(i, n)| (i, n.to_string())).collect()
}

/// One `2: eth0@if5: <...>` header line: the index and the name without `@PEER`.
fn interface_header(line: &str) -> Option<(u32, &str)> {
    let mut parts = line.splitn(3, ": ");
    let (index, name, _flags) = (parts.next()?, parts.next()?, parts.next()?);
    let index = index.trim().parse::<u32>().ok()?;
    let name = name.split('@').next().unwrap_or(name).trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some((index, name))
}

/// Everything read from one node.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NodeArtifacts {
    /// Node name (agentinfo, else the bundle's file name).
    pub node: String,
    /// Where it was read from.
    pub origin: String,
    /// `flows`.
    #[serde(skip)]
    pub flows: Option<FlowDump>,
    /// `groups`.
    #[serde(skip)]
    pub groups: Vec<Group>,
    /// `ovsports`.
    pub ports: Option<PortTable>,
    /// `agentinfo`.
    pub agent_info: Option<AgentInfo>,
    /// `networkpolicies`.
    pub network_policies: Vec<NetworkPolicy>,
    /// `addressgroups`.
    pub address_groups: Vec<MemberGroup>,
    /// `appliedtogroups`.
    pub applied_to_groups: Vec<MemberGroup>,
    /// `address`.
    pub addresses: Vec<InterfaceAddr>,
    /// Interface index → name, from `link` (`ip link`), else from `address` (`ip addr`): what
    /// names the interface of a `tcpdump -i any` (SLL2) capture's packets.
    pub interface_indexes: Vec<(u32, String)>,
    /// `route`, one route per line as written.
    pub routes: Vec<String>,
    /// The Node's InternalIPs from the cluster inventory (`clusterinfo` `#nodes`, or a kubectl
    /// dump), set by whoever has the inventory: the node's transport IPs when agentinfo gives
    /// none (Antrea before v2.6 writes no `networkInfo`; Windows bundles have no `address`).
    pub inventory_ips: Vec<IpAddr>,
    /// Whether the bundle (or directory) had no `groups` member: Antrea dumps groups only since
    /// v2.0, so the Service groups the flows use are unknown, not absent.
    pub groups_missing: bool,
    /// Whether the bundle had no `networkpolicies` member (agents before v1.5 wrote none):
    /// the policies may then come from the controller's bundle.
    pub policies_missing: bool,
    /// Where the policies came from when not from this bundle (the controller's bundle).
    #[serde(skip)]
    pub policies_from: Option<String>,
    /// Lines of the `groups` file that hold no group (each costs that group only; they are in
    /// [`NodeArtifacts::warnings`]).
    pub groups_skipped: usize,
    /// Why a group the flows name that the `groups` file lacks is unknown rather than absent,
    /// when lines of it were skipped ([`GroupDump::missing_group_note`]).
    #[serde(skip)]
    pub groups_note: Option<String>,
    /// Whether this is the Antrea controller's bundle (`controller.tar.gz`, or a fallback
    /// `controller_<node>.tar.gz`): it holds `controllerinfo` or controller logs and neither
    /// `flows` nor `agentinfo`, so it describes no node.
    pub controller: bool,
    /// Members that were skipped or partly read, and why.
    pub warnings: Vec<String>,
}

impl NodeArtifacts {
    /// Reads `agent_<node>.tar.gz` (or `.tgz`, or an uncompressed `.tar`) in place, or a
    /// directory of loose files.
    pub fn open(path: &Path) -> Result<NodeArtifacts, BundleError> {
        if path.is_dir() {
            return NodeArtifacts::from_dir(path);
        }
        NodeArtifacts::from_archive(path)
    }

    fn from_dir(dir: &Path) -> Result<NodeArtifacts, BundleError> {
        let origin = dir.display().to_string();
        let mut files = Vec::new();
        let mut warnings = Vec::new();
        for m in MEMBERS {
            let p = dir.join(m);
            if p.is_file() {
                // An unreadable or too large file costs that file; the others are read.
                match crate::textfile::read_text(&p, member_limit(m)) {
                    Ok(text) => files.push((m.to_string(), format!("{}", p.display()), text)),
                    Err(e) => warnings.push(format!("{e}; skipped")),
                }
            }
        }
        let fallback = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let marks = dir.join(CONTROLLER_INFO).is_file() || dir.join("logs").join("controller").is_dir();
        let windows_members: Vec<String> =
            WINDOWS_MEMBERS.iter().filter(|m| dir.join(m).is_file()).map(|m| m.to_string()).collect();
        let mut a = NodeArtifacts::assemble(origin, NameSource::Directory(&fallback), files)?;
        a.warnings.extend(windows_note(&a.origin, &windows_members));
        a.controller = marks && a.flows.is_none() && a.agent_info.is_none();
        a.warnings.extend(warnings);
        Ok(a)
    }

    fn from_archive(file: &Path) -> Result<NodeArtifacts, BundleError> {
        let origin = file.display().to_string();
        let f = std::fs::File::open(file)
            .map_err(|e| BundleError::Read { path: origin.clone(), message: e.to_string() })?;
        let stem = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        NodeArtifacts::read_archive(std::io::BufReader::new(f), &origin, &stem)
    }

    /// Reads a bundle (tar, or gzip'd tar) from `input`; `origin` names it in messages and
    /// `name` (its file name) gives the node when agentinfo does not. Every member is bounded by
    /// [`member_limit`], their total by [`MAX_TOTAL`] and the decompressed stream by
    /// [`MAX_STREAM`]; a member too large is skipped, a member that appears twice is reported,
    /// and damage keeps the members before it. Each message names the archive and the member.
    pub fn read_archive(mut input: impl BufRead, origin: &str, name: &str) -> Result<NodeArtifacts, BundleError> {
        let origin = origin.to_string();
        let err = |m: String| BundleError::Read { path: origin.clone(), message: m };
        let gz = input.fill_buf().map_err(|e| err(e.to_string()))?.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read + '_> =
            if gz { Box::new(flate2::read::MultiGzDecoder::new(input)) } else { Box::new(input) };
        let streamed = Cell::new(0u64);
        let mut archive = tar::Archive::new(Counting { inner: reader, count: &streamed });
        let mut files: Vec<(String, String, String)> = Vec::new();
        let mut total = 0u64;
        let mut warnings = Vec::new();
        // The member being read or last read, for messages.
        let mut at = String::from("(first member)");
        let mut damage: Option<String> = None;
        // `controllerinfo` or `logs/controller/...`: the controller's bundle.
        let mut controller_marks = false;
        let mut windows_members: Vec<String> = Vec::new();
        let stream_msg = |what: &str, at: &str, e: &std::io::Error| {
            if streamed.get() > MAX_STREAM {
                format!(
                    "{what} at member {at}: more than {MAX_STREAM} bytes decompressed (hoptrace's limit for a bundle)"
                )
            } else {
                format!("{what} at member {at}: {}", crate::textfile::clip(&e.to_string(), 200))
            }
        };
        let entries = archive.entries().map_err(|e| err(format!("not a tar archive: {e}")))?;
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    damage = Some(stream_msg("corrupt archive", &format!("after {at}"), &e));
                    break;
                }
            };
            let p = match entry.path() {
                Ok(p) => p.to_path_buf(),
                Err(e) => {
                    damage = Some(stream_msg("corrupt member name", &format!("after {at}"), &e));
                    break;
                }
            };
            at = p.display().to_string();
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let comps: Vec<String> = p
                .components()
                .filter_map(|c| match c {
                    std::path::Component::Normal(s) => Some(s.to_string_lossy().to_string()),
                    _ => None,
                })
                .collect();
            // Members at the root, or under one top-level directory; never under logs/.
            let Some(base) = comps.last() else { continue };
            let in_logs = comps.iter().position(|c| c == "logs");
            if base == CONTROLLER_INFO && comps.len() <= 2
                || in_logs.is_some_and(|i| comps.get(i + 1).is_some_and(|c| c == "controller"))
            {
                controller_marks = true;
            }
            if comps.len() <= 2 && WINDOWS_MEMBERS.contains(&base.as_str()) {
                windows_members.push(base.clone());
            }
            if comps.len() > 2 || comps.iter().any(|c| c == "logs") || !MEMBERS.contains(&base.as_str()) {
                continue;
            }
            let size = entry.size();
            let limit = member_limit(base);
            if size > limit {
                warnings.push(format!(
                    "{origin}: member {at} is {size} bytes, larger than hoptrace's {limit}-byte limit for {base}; skipped"
                ));
                continue;
            }
            if total + size > MAX_TOTAL {
                warnings.push(format!(
                    "{origin}: member {at} ({size} bytes) would take the members read past {MAX_TOTAL} bytes (hoptrace's limit for a bundle); skipped"
                ));
                continue;
            }
            total += size;
            let mut buf = Vec::with_capacity(size.min(64 << 20) as usize);
            if let Err(e) = (&mut entry).take(limit).read_to_end(&mut buf) {
                damage = Some(stream_msg("cannot read", &at, &e));
                break;
            }
            let text = match String::from_utf8(buf) {
                Ok(s) => s,
                Err(e) => {
                    warnings.push(format!("{origin}:{at}: invalid UTF-8 replaced"));
                    String::from_utf8_lossy(e.as_bytes()).into_owned()
                }
            };
            let where_ = format!("{origin}:{at}");
            if let Some(i) = files.iter().position(|(m, _, _)| m == base) {
                // `tar -x` would leave the last copy; say so rather than choose silently.
                warnings.push(format!(
                    "{origin}: member {base} appears more than once ({} and {at}); the last, {at}, is used (as tar -x would leave it)",
                    files[i].1.strip_prefix(&format!("{origin}:")).unwrap_or(&files[i].1)
                ));
                files.remove(i);
            }
            files.push((base.clone(), where_, text));
        }
        if let Some(d) = damage {
            if files.is_empty() {
                return Err(err(d));
            }
            warnings.push(format!("{origin}: {d}; the members before it are used"));
        }
        let mut a = NodeArtifacts::assemble(origin.clone(), NameSource::Archive(name), files)?;
        a.controller = controller_marks && a.flows.is_none() && a.agent_info.is_none();
        a.warnings.extend(windows_note(&a.origin, &windows_members));
        a.warnings.extend(warnings);
        Ok(a)
    }

    /// Builds the artifacts from the members read; `name` (the archive's or directory's name)
    /// gives the node when agentinfo does not; an archive's is checked against agentinfo's.
    fn assemble(
        origin: String,
        name: NameSource<'_>,
        files: Vec<(String, String, String)>,
    ) -> Result<NodeArtifacts, BundleError> {
        let mut a = NodeArtifacts { origin, ..NodeArtifacts::default() };
        a.groups_missing = !files.iter().any(|(m, _, _)| m == "groups");
        a.policies_missing = !files.iter().any(|(m, _, _)| m == "networkpolicies");
        for (member, where_, text) in files {
            // A YAML document that cannot be read costs that document; the rest is kept.
            let mut yaml = |f: &mut dyn FnMut(Value)| {
                for (line, message) in each_item(&text, f) {
                    a.warnings.push(format!("{where_}: line {line}, {message}"));
                }
            };
            match member.as_str() {
                "agentinfo" => {
                    let mut first = None;
                    yaml(&mut |v| {
                        first.get_or_insert(v);
                    });
                    a.agent_info = first.as_ref().map(AgentInfo::from_value);
                }
                "networkpolicies" => {
                    let mut out = Vec::new();
                    yaml(&mut |v| out.extend(policy(&v)));
                    a.network_policies = out;
                }
                "addressgroups" => {
                    let mut out = Vec::new();
                    yaml(&mut |v| out.extend(member_group(&v)));
                    a.address_groups = out;
                }
                "appliedtogroups" => {
                    let mut out = Vec::new();
                    yaml(&mut |v| out.extend(member_group(&v)));
                    a.applied_to_groups = out;
                }
                "flows" => {
                    let dump = FlowDump::parse(&text, &where_)?;
                    a.warnings.extend(dump.warnings());
                    a.flows = Some(dump);
                }
                "groups" => {
                    let dump = GroupDump::parse(&text, &where_)?;
                    a.warnings.extend(dump.warnings());
                    a.groups_skipped = dump.skipped_count();
                    a.groups_note = dump.missing_group_note();
                    a.groups = dump.groups;
                }
                "ovsports" => a.ports = Some(PortTable::parse(&text)),
                "address" => {
                    a.addresses = parse_addresses(&text);
                    if a.interface_indexes.is_empty() {
                        a.interface_indexes = parse_interface_indexes(&text);
                    }
                }
                "link" => a.interface_indexes = parse_interface_indexes(&text),
                "route" => {
                    a.routes = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
                }
                _ => {}
            }
        }
        resolve_named_ports(&mut a.network_policies, &a.applied_to_groups, &a.address_groups);
        let from_name = match name {
            NameSource::Archive(file) => node_from_name(file),
            NameSource::Directory(dir) => Some(dir.to_string()),
        };
        a.node = match a.agent_info.as_ref().and_then(|i| i.node.clone()) {
            Some(node) => {
                let named = from_name.filter(|n| *n != node && matches!(name, NameSource::Archive(_)));
                if let Some(named) = named {
                    a.warnings.push(format!(
                        "{}: its name says node {named}, its agentinfo says node {node}; {node} is used",
                        a.origin
                    ));
                }
                node
            }
            None => from_name.unwrap_or_else(|| match name {
                NameSource::Archive(file) | NameSource::Directory(file) => stem(file).to_string(),
            }),
        };
        Ok(a)
    }

    /// The name of interface `index` on this node, when `link` or `address` lists it.
    pub fn interface_name(&self, index: u32) -> Option<&str> {
        self.interface_indexes.iter().find(|(i, _)| *i == index).map(|(_, n)| n.as_str())
    }

    /// The agent's release, from agentinfo's `version`.
    pub fn antrea_version(&self) -> Option<crate::antrea::AntreaVersion> {
        self.agent_info.as_ref()?.version.as_deref().and_then(crate::antrea::AntreaVersion::parse)
    }

    /// The table names agentinfo declares (for [`crate::antrea::TableMap::for_dump`]).
    pub fn declared_tables(&self) -> Vec<String> {
        self.agent_info.as_ref().map(|i| i.flow_tables.keys().cloned().collect()).unwrap_or_default()
    }

    /// The transport IPs the node's own files give: agentinfo's, else the `address` of
    /// agentinfo's transport interface. These are the addresses its tunnels start from.
    pub fn reported_transport_ips(&self) -> Vec<IpAddr> {
        if let Some(info) = &self.agent_info {
            if !info.transport_ips.is_empty() {
                return info.transport_ips.clone();
            }
            if let Some(ifname) = &info.transport_interface {
                return self.addresses.iter().filter(|a| &a.interface == ifname).map(|a| a.ip).collect();
            }
        }
        vec![]
    }

    /// The node's transport IPs for mapping an address to its node:
    /// [`NodeArtifacts::reported_transport_ips`], else the inventory's InternalIPs of the Node
    /// ([`NodeArtifacts::inventory_ips`]; on a node with several interfaces the transport IP can
    /// be another address, so these only name the node, they do not bound its tunnels).
    pub fn transport_ips(&self) -> Vec<IpAddr> {
        let reported = self.reported_transport_ips();
        if reported.is_empty() {
            self.inventory_ips.clone()
        } else {
            reported
        }
    }
}

/// A reader that counts the bytes passing and fails past [`MAX_STREAM`].
struct Counting<'c, R> {
    inner: R,
    count: &'c Cell<u64>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        if self.count.get() > MAX_STREAM {
            return Err(std::io::Error::other("decompressed stream too long"));
        }
        Ok(n)
    }
}

/// Where a bundle's fallback node name comes from.
#[derive(Clone, Copy)]
enum NameSource<'n> {
    /// An archive's file name (`agent_<node>.tar.gz`, `<node>_<collection>.tar.gz`, ...).
    Archive(&'n str),
    /// A directory's name, taken as it is.
    Directory(&'n str),
}

/// The member that marks the controller's bundle (the AntreaControllerInfo object).
const CONTROLLER_INFO: &str = "controllerinfo";

/// A file name without its archive suffix.
fn stem(name: &str) -> &str {
    name.trim_end_matches(".tar.gz").trim_end_matches(".tgz").trim_end_matches(".tar")
}

/// The node an archive's file name gives: `agent_<node>.tar.gz` (antctl, and its v2.3+
/// fallback bundles) → `<node>`; `<node>_<collection>.tar.gz` (a SupportBundleCollection upload,
/// `pkg/agent/supportbundlecollection/support_bundle_controller.go`) → `<node>`. Kubernetes names (Nodes, collections) cannot hold `_`, so the first `_`
/// separates the two. `bundle_<random>.tar.gz` (antctl inside the agent Pod) and
/// `controller*` names give none.
fn node_from_name(name: &str) -> Option<String> {
    let stem = stem(name);
    if stem.is_empty() || stem == "controller" || stem.starts_with("controller_") || stem.starts_with("bundle_") {
        return None;
    }
    if let Some(node) = stem.strip_prefix("agent_") {
        return (!node.is_empty()).then(|| node.to_string());
    }
    match stem.split_once('_') {
        Some((node, collection)) if !node.is_empty() && !collection.is_empty() => Some(node.to_string()),
        _ => Some(stem.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_from_file_names() {
        let n = |s: &str| node_from_name(s);
        assert_eq!(n("agent_k8s-node-1.tar.gz").as_deref(), Some("k8s-node-1"));
        assert_eq!(n("worker1_support-bundle-for-nodes.tar.gz").as_deref(), Some("worker1"));
        assert_eq!(n("ip-10-0-1-7.ec2.internal_sbc-1.tgz").as_deref(), Some("ip-10-0-1-7.ec2.internal"));
        assert_eq!(n("k8s-node-2.tar").as_deref(), Some("k8s-node-2"));
        assert_eq!(n("controller.tar.gz"), None);
        assert_eq!(n("controller_k8s-node-1.tar.gz"), None);
        assert_eq!(n("bundle_3121387.tar.gz"), None);
    }

    #[test]
    fn interface_indexes_from_ip_link_and_ip_addr() {
        let text = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n2: eth0@if2: <BROADCAST,MULTICAST,UP> mtu 1500\n    inet 192.168.77.101/24 scope global eth0\n17: web-b-5dacae@if3: <BROADCAST> mtu 1450\nuser@node:~$ ip link\nnot: a: header\n";
        let got = parse_interface_indexes(text);
        let want = [(1, "lo"), (2, "eth0"), (17, "web-b-5dacae")];
        assert_eq!(got, want.map(|(i, n)| (i, n.to_string())));
        let a = NodeArtifacts { interface_indexes: got, ..NodeArtifacts::default() };
        assert_eq!(a.interface_name(17), Some("web-b-5dacae"));
        assert_eq!(a.interface_name(3), None);
    }
}
