//! Cluster inventory (Pods, Services, Nodes) from `kubectl get pods,services,nodes -A -o json` or
//! from a support bundle's `clusterinfo` (multi-document YAML, antrea-traceflow.md §5.1), read
//! leniently: keys compared case-insensitively, metadata nested or inlined, unknown objects skipped.

use crate::probe::resolve::{NamedPod, NamedService, Names};
use serde_json::Value;
use std::net::IpAddr;
use std::path::Path;

/// A Pod: where it runs and its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `status.podIPs` (or `podIP`).
    pub ips: Vec<IpAddr>,
    /// `spec.nodeName`.
    pub node: Option<String>,
    /// `spec.hostNetwork`: such a Pod cannot be a Traceflow source.
    pub host_network: bool,
}

/// One port of a Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    /// Port name (may be empty).
    pub name: String,
    /// The Service port.
    pub port: u16,
    /// `TCP`, `UDP` or `SCTP` (upper case as Kubernetes writes it).
    pub protocol: String,
}

/// A Service and its ClusterIPs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `spec.clusterIPs` (or `clusterIP`); empty for headless Services.
    pub cluster_ips: Vec<IpAddr>,
    /// Ports in declaration order (Antrea uses the first).
    pub ports: Vec<ServicePort>,
}

/// A Node and its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// Name.
    pub name: String,
    /// `status.addresses` of type InternalIP.
    pub internal_ips: Vec<IpAddr>,
    /// `spec.podCIDRs` (or `podCIDR`).
    pub pod_cidrs: Vec<String>,
}

/// Everything known about the cluster's objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterInfo {
    /// Pods.
    pub pods: Vec<PodInfo>,
    /// Services (absent from Antrea's `clusterinfo`).
    pub services: Vec<ServiceInfo>,
    /// Nodes.
    pub nodes: Vec<NodeInfo>,
}

/// A cluster file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// I/O failure.
    #[error("{path}: cannot read cluster file: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not JSON / YAML.
    #[error("{path}: line {line}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// Parsed, but no Pods, Services or Nodes were found.
    #[error("{path}: no Pods, Services or Nodes found (expected `kubectl get pods,services,nodes -A -o json` output or a support bundle's clusterinfo)")]
    Empty {
        /// The file.
        path: String,
    },
}

impl ClusterInfo {
    /// Reads a kubectl JSON dump or a `clusterinfo` YAML file.
    pub fn load(path: &Path) -> Result<ClusterInfo, ClusterError> {
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ClusterError::Io { path: p.clone(), source })?;
        let text = String::from_utf8_lossy(&bytes);
        let info = ClusterInfo::parse(&text, &p)?;
        if info.pods.is_empty() && info.services.is_empty() && info.nodes.is_empty() {
            return Err(ClusterError::Empty { path: p });
        }
        Ok(info)
    }

    /// Parses file contents; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<ClusterInfo, ClusterError> {
        let mut info = ClusterInfo::default();
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            let v: Value = serde_json::from_str(text).map_err(|e| ClusterError::Syntax {
                path: origin.to_string(),
                line: e.line(),
                message: e.to_string(),
            })?;
            info.add_value(&v, None);
            return Ok(info);
        }
        for doc in split_yaml_documents(text) {
            if doc.text.trim().is_empty() {
                continue;
            }
            let v: Value = serde_yaml_ng::from_str(doc.text).map_err(|e| ClusterError::Syntax {
                path: origin.to_string(),
                line: doc.first_line + e.location().map_or(1, |l| l.line()) - 1,
                message: shift_line_numbers(&e.to_string(), doc.first_line - 1),
            })?;
            info.add_value(&v, doc.section.as_deref());
        }
        Ok(info)
    }

    fn add_value(&mut self, v: &Value, section: Option<&str>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| self.add_value(i, section)),
            Value::Object(_) => {
                if let Some(items) = get(v, "items").and_then(Value::as_array) {
                    items.iter().for_each(|i| self.add_value(i, section));
                    return;
                }
                let kind = get(v, "kind").and_then(Value::as_str).map(str::to_ascii_lowercase);
                let kind = kind.as_deref().or(section.map(|s| s.trim_end_matches('s')));
                match kind {
                    Some("pod") => self.pods.extend(pod(v)),
                    Some("service") => self.services.extend(service(v)),
                    Some("node") => self.nodes.extend(node(v)),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// The Pod `namespace/name`.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&PodInfo> {
        self.pods.iter().find(|p| p.namespace == namespace && p.name == name)
    }

    /// The Service `namespace/name`.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&ServiceInfo> {
        self.services.iter().find(|s| s.namespace == namespace && s.name == name)
    }

    /// The Pod that owns `ip` (host-network Pods excluded: they share the Node's IP).
    pub fn pod_by_ip(&self, ip: IpAddr) -> Option<&PodInfo> {
        self.pods.iter().find(|p| !p.host_network && p.ips.contains(&ip))
    }

    /// Up to five `ns/name` of Pods and Services that look like `ns/name` (same namespace first,
    /// then similar names), to suggest when a name is unknown.
    pub fn nearby_names(&self, namespace: &str, name: &str) -> Vec<String> {
        let all = self
            .pods
            .iter()
            .map(|p| (&p.namespace, &p.name, "pod"))
            .chain(self.services.iter().map(|s| (&s.namespace, &s.name, "service")));
        let mut scored: Vec<(usize, String)> = all
            .map(|(ns, n, kind)| {
                let mut score = edit_distance(n, name);
                if ns != namespace {
                    score += 3 + edit_distance(ns, namespace);
                }
                if n.starts_with(name) || name.starts_with(n.as_str()) {
                    score = score.saturating_sub(2);
                }
                (score, format!("{ns}/{n} ({kind})"))
            })
            .collect();
        scored.sort();
        scored.dedup_by(|a, b| a.1 == b.1);
        scored.into_iter().take(5).map(|(_, s)| s).collect()
    }
}

impl Names for ClusterInfo {
    fn pod(&self, namespace: &str, name: &str) -> Option<NamedPod> {
        ClusterInfo::pod(self, namespace, name).map(|p| NamedPod {
            name: format!("{}/{}", p.namespace, p.name),
            ips: p.ips.clone(),
            node: p.node.clone(),
            host_network: p.host_network,
        })
    }

    fn service(&self, namespace: &str, name: &str) -> Option<NamedService> {
        ClusterInfo::service(self, namespace, name).map(|s| NamedService {
            cluster_ips: s.cluster_ips.clone(),
            first_port: s.ports.first().map(|p| (p.protocol.clone(), p.port)),
        })
    }

    fn nearby(&self, namespace: &str, name: &str) -> Vec<String> {
        self.nearby_names(namespace, name)
    }
}

/// One YAML document of a multi-document file, with where it starts and the `#section` above it.
struct YamlDoc<'a> {
    text: &'a str,
    first_line: usize,
    section: Option<String>,
}

fn split_yaml_documents(text: &str) -> Vec<YamlDoc<'_>> {
    let mut docs = Vec::new();
    let mut section: Option<String> = None;
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            docs.push(YamlDoc { text: &text[start..offset], first_line: start_line, section: section.clone() });
            start = offset + line.len();
            start_line = i + 2;
        } else if let Some(name) = t.strip_prefix('#') {
            let name = name.trim().to_ascii_lowercase();
            if !name.is_empty() && !name.contains(' ') && offset == start {
                section = Some(name);
            }
        }
        offset += line.len();
    }
    docs.push(YamlDoc { text: &text[start..], first_line: start_line, section });
    docs
}

/// Rewrites the document-relative "line N" of a YAML error message into file lines.
fn shift_line_numbers(message: &str, by: usize) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("line ") {
        let (head, tail) = rest.split_at(at + 5);
        out.push_str(head);
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<usize>() {
            out.push_str(&(n + by).to_string());
        }
        rest = &tail[digits.len()..];
    }
    out.push_str(rest);
    out
}

/// Case- and underscore-insensitive key lookup.
fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.replace('_', "").eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn path<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(v, |cur, k| get(cur, k))
}

/// `metadata` (or `objectmeta`, or inlined) name and namespace.
fn meta(v: &Value) -> (Option<String>, String) {
    let m = get(v, "metadata").or_else(|| get(v, "objectmeta")).unwrap_or(v);
    let s = |k| get(m, k).and_then(Value::as_str).map(str::to_string);
    (s("name"), s("namespace").unwrap_or_else(|| "default".to_string()))
}

fn ip_of(v: &Value) -> Option<IpAddr> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Array(a) if a.len() == 4 || a.len() == 16 => {
            let bytes: Option<Vec<u8>> = a.iter().map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect();
            let bytes = bytes?;
            if bytes.len() == 4 {
                Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?))
            } else {
                Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?))
            }
        }
        Value::Object(_) => get(v, "ip").and_then(ip_of),
        _ => None,
    }
}

fn ips(v: &Value, plural: &str, singular: &str) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> =
        get(v, plural).and_then(Value::as_array).map(|a| a.iter().filter_map(ip_of).collect()).unwrap_or_default();
    if let Some(ip) = get(v, singular).and_then(ip_of) {
        if !out.contains(&ip) {
            out.insert(0, ip);
        }
    }
    out
}

fn pod(v: &Value) -> Option<PodInfo> {
    let (name, namespace) = meta(v);
    let status = get(v, "status").unwrap_or(&Value::Null);
    let spec = get(v, "spec").unwrap_or(&Value::Null);
    Some(PodInfo {
        namespace,
        name: name?,
        ips: ips(status, "podIPs", "podIP"),
        node: get(spec, "nodeName").and_then(Value::as_str).map(str::to_string),
        host_network: get(spec, "hostNetwork").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn service(v: &Value) -> Option<ServiceInfo> {
    let (name, namespace) = meta(v);
    let spec = get(v, "spec").unwrap_or(&Value::Null);
    let ports = get(spec, "ports")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| {
                    Some(ServicePort {
                        name: get(p, "name").and_then(Value::as_str).unwrap_or("").to_string(),
                        port: u16::try_from(get(p, "port")?.as_u64()?).ok()?,
                        protocol: get(p, "protocol").and_then(Value::as_str).unwrap_or("TCP").to_ascii_uppercase(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(ServiceInfo { namespace, name: name?, cluster_ips: ips(spec, "clusterIPs", "clusterIP"), ports })
}

fn node(v: &Value) -> Option<NodeInfo> {
    let (name, _) = meta(v);
    let internal_ips = path(v, &["status", "addresses"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|x| get(x, "type").and_then(Value::as_str) == Some("InternalIP"))
                .filter_map(|x| get(x, "address").and_then(ip_of))
                .collect()
        })
        .unwrap_or_default();
    let spec = get(v, "spec").unwrap_or(&Value::Null);
    let mut pod_cidrs: Vec<String> = get(spec, "podCIDRs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if let Some(c) = get(spec, "podCIDR").and_then(Value::as_str) {
        if !pod_cidrs.iter().any(|x| x == c) {
            pod_cidrs.insert(0, c.to_string());
        }
    }
    Some(NodeInfo { name: name?, internal_ips, pod_cidrs })
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_sections_and_lines() {
        let text = "#pods\nmetadata:\n  name: a\n  namespace: x\nstatus:\n  podIP: 10.0.0.1\n---\n#nodes\nmetadata:\n  name: n1\n---\n";
        let info = ClusterInfo::parse(text, "f").unwrap();
        assert_eq!(info.pods.len(), 1);
        assert_eq!(info.nodes.len(), 1);
        let bad = "#pods\nmetadata:\n  name: a\n---\nmetadata: [\n";
        match ClusterInfo::parse(bad, "f") {
            Err(ClusterError::Syntax { line, .. }) => assert!(line >= 5, "line {line}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("client", "clinet"), 2);
        let info = ClusterInfo {
            pods: vec![PodInfo {
                namespace: "default".into(),
                name: "client".into(),
                ips: vec![],
                node: None,
                host_network: false,
            }],
            ..Default::default()
        };
        assert_eq!(info.nearby_names("default", "clinet"), vec!["default/client (pod)".to_string()]);
    }
}
