//! Cluster inventory (Pods, Services, Nodes) from `kubectl get pods,services,nodes -A -o json` or
//! from a support bundle's `clusterinfo` (multi-document YAML, antrea-traceflow.md §5.1), read
//! leniently: keys compared case-insensitively, metadata nested or inlined, unknown objects skipped.

use super::lenient::{int_or_string, IntOrString};
use crate::antrea::controlplane::PortRef;
use crate::probe::resolve::{NamedPod, NamedService, Names};
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::cell::Cell;
use std::io::{BufRead, Read};
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
    /// `targetPort`: the Endpoints' port, a number or a container port's name (which only the
    /// endpoint Pods resolve); `None` when not given (Kubernetes then uses `port`).
    pub target_port: Option<PortRef>,
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
    /// What could not be read, each naming the file and line (the rest was kept).
    pub problems: Vec<String>,
}

/// Largest cluster file read (it is streamed: memory does not grow with it): 4 GiB.
pub const MAX_CLUSTER_FILE: u64 = 4 << 30;
/// Most Pods, Services and Nodes kept from one file (Kubernetes supports 150 000 Pods per
/// cluster); about 200 bytes are kept per object, so at most some 200 MB.
pub const MAX_OBJECTS: usize = 1_000_000;
/// Largest single object of a JSON inventory (etcd stores objects of at most 1.5 MiB): 8 MiB.
pub const MAX_OBJECT_BYTES: u64 = 8 << 20;

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
    /// Larger than [`MAX_CLUSTER_FILE`].
    #[error("{path}: cluster file larger than {MAX_CLUSTER_FILE} bytes (hoptrace's limit)")]
    TooLarge {
        /// The file.
        path: String,
    },
    /// Not JSON / YAML, and nothing could be read from it.
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

/// Byte and line position of the stream read so far, and the start of the object being read,
/// shared between the reader and the JSON visitor.
#[derive(Default)]
struct Position {
    bytes: Cell<u64>,
    lines: Cell<u64>,
    object_start: Cell<Option<u64>>,
}

/// A reader that counts what passes and refuses an object larger than [`MAX_OBJECT_BYTES`] or a
/// stream longer than [`MAX_CLUSTER_FILE`].
struct Counting<'p, R> {
    inner: R,
    pos: &'p Position,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = self.pos.bytes.get() + n as u64;
        self.pos.bytes.set(bytes);
        self.pos.lines.set(self.pos.lines.get() + memchr::memchr_iter(b'\n', &buf[..n]).count() as u64);
        if bytes > MAX_CLUSTER_FILE {
            return Err(std::io::Error::other(format!("file larger than {MAX_CLUSTER_FILE} bytes (hoptrace's limit)")));
        }
        if let Some(start) = self.pos.object_start.get() {
            if bytes - start > MAX_OBJECT_BYTES {
                return Err(std::io::Error::other(format!(
                    "an object larger than {MAX_OBJECT_BYTES} bytes (hoptrace's limit for one object)"
                )));
            }
        }
        Ok(n)
    }
}

/// Why reading stopped early (not a syntax error).
const LIMIT_HIT: &str = "hoptrace-object-limit";

/// The streaming visitor of a JSON inventory: a list's elements (top-level or under `items`)
/// are handed to `sink` one by one; other top-level keys are kept to form the object itself when
/// there is no `items` list.
struct JsonRoot<'a, F> {
    sink: &'a mut F,
    pos: &'a Position,
}

impl<'de, F: FnMut(Value) -> bool> DeserializeSeed<'de> for JsonRoot<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(Value) -> bool> Visitor<'de> for JsonRoot<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object or list of Kubernetes objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.pos.object_start.set(Some(self.pos.bytes.get()));
            let Some(v) = seq.next_element::<Value>()? else { break };
            if !(self.sink)(v) {
                return Err(A::Error::custom(LIMIT_HIT));
            }
        }
        self.pos.object_start.set(None);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rest = serde_json::Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key.eq_ignore_ascii_case("items") && !streamed {
                streamed = true;
                map.next_value_seed(JsonRoot { sink: &mut *self.sink, pos: self.pos })?;
            } else {
                self.pos.object_start.set(Some(self.pos.bytes.get()));
                let v: Value = map.next_value()?;
                self.pos.object_start.set(None);
                rest.insert(key, v);
            }
        }
        if !streamed && !(self.sink)(Value::Object(rest)) {
            return Err(A::Error::custom(LIMIT_HIT));
        }
        Ok(())
    }

    // `items: null` and other scalars: nothing to read.
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

impl ClusterInfo {
    /// Reads a kubectl JSON dump or a `clusterinfo` YAML file, streaming it: memory holds one
    /// object (JSON: at most [`MAX_OBJECT_BYTES`] of text; YAML: one document, see
    /// [`super::yaml`]) plus the few fields kept of each, for at most [`MAX_OBJECTS`] objects.
    /// Damage stops the reading of its document (YAML) or of the file (JSON) and is listed in
    /// [`ClusterInfo::problems`]; only a file of which nothing could be read is an error.
    pub fn load(path: &Path) -> Result<ClusterInfo, ClusterError> {
        let p = path.display().to_string();
        let io = |source| ClusterError::Io { path: p.clone(), source };
        let f = std::fs::File::open(path).map_err(io)?;
        let meta = f.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(io(std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory")));
        }
        if meta.is_file() && meta.len() > MAX_CLUSTER_FILE {
            return Err(ClusterError::TooLarge { path: p });
        }
        let info = ClusterInfo::read(std::io::BufReader::with_capacity(1 << 16, f), &p)?;
        if info.pods.is_empty() && info.services.is_empty() && info.nodes.is_empty() {
            return Err(ClusterError::Empty { path: p });
        }
        Ok(info)
    }

    /// Parses file contents; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<ClusterInfo, ClusterError> {
        ClusterInfo::read(text.as_bytes(), origin)
    }

    /// Reads an inventory from `reader` (see [`ClusterInfo::load`]).
    pub fn read(mut reader: impl BufRead, origin: &str) -> Result<ClusterInfo, ClusterError> {
        let io = |source| ClusterError::Io { path: origin.to_string(), source };
        // The first significant byte decides: `{` or `[` is JSON.
        let first = loop {
            let buf = reader.fill_buf().map_err(io)?;
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let b = buf[i];
                    reader.consume(i);
                    break Some(b);
                }
                None if buf.is_empty() => break None,
                None => {
                    let n = buf.len();
                    reader.consume(n);
                }
            }
        };
        let mut info = ClusterInfo::default();
        match first {
            Some(b'{' | b'[') => info.read_json(reader, origin)?,
            _ => info.read_yaml(reader, origin)?,
        }
        Ok(info)
    }

    /// Adds an object unless the limit is reached; false once it is.
    fn take(&mut self, v: &Value, section: Option<&str>, origin: &str, line: u64) -> bool {
        if self.pods.len() + self.services.len() + self.nodes.len() >= MAX_OBJECTS {
            self.problems.push(format!(
                "{origin}: line {line}: more than {MAX_OBJECTS} Pods, Services and Nodes (hoptrace's limit); the rest of the file is ignored"
            ));
            return false;
        }
        self.add_value(v, section);
        true
    }

    fn read_json(&mut self, reader: impl BufRead, origin: &str) -> Result<(), ClusterError> {
        let pos = Position::default();
        let mut stopped = false;
        let result = {
            let counting = Counting { inner: reader, pos: &pos };
            let mut de = serde_json::Deserializer::from_reader(counting);
            let mut sink = |v: Value| {
                let line = pos.lines.get() + 1;
                let ok = self.take(&v, None, origin, line);
                stopped |= !ok;
                ok
            };
            JsonRoot { sink: &mut sink, pos: &pos }.deserialize(&mut de).and_then(|()| de.end())
        };
        match result {
            Ok(()) => Ok(()),
            Err(_) if stopped => Ok(()),
            Err(e) => {
                let line = if e.line() > 0 { e.line() } else { pos.lines.get() as usize + 1 };
                let message = crate::textfile::clip(&e.to_string(), 200);
                if self.pods.is_empty() && self.services.is_empty() && self.nodes.is_empty() {
                    return Err(ClusterError::Syntax { path: origin.to_string(), line, message });
                }
                self.problems.push(format!("{origin}: line {line}: {message}; the rest of the file is ignored"));
                Ok(())
            }
        }
    }

    fn read_yaml(&mut self, reader: impl BufRead, origin: &str) -> Result<(), ClusterError> {
        let mut first_error: Option<(usize, String)> = None;
        let mut budget = super::yaml::AliasBudget::new();
        for doc in super::yaml::Documents::new(reader) {
            let doc = match doc {
                Ok(d) => d,
                Err(super::yaml::DocumentError::Io { source, .. }) => {
                    return Err(ClusterError::Io { path: origin.to_string(), source })
                }
                Err(e @ super::yaml::DocumentError::TooLarge { first_line }) => {
                    first_error.get_or_insert((first_line, e.to_string()));
                    self.problems.push(format!("{origin}: {e}"));
                    continue;
                }
            };
            if doc.text.trim().is_empty() {
                continue;
            }
            let mut full = false;
            let r = super::yaml::for_each_item(&doc.text, &mut budget, |v, line| {
                if !full && !self.take(&v, doc.section.as_deref(), origin, (doc.first_line + line - 1) as u64) {
                    full = true;
                }
            });
            if full {
                break;
            }
            if let Err(e) = r {
                let line = doc.first_line + e.line - 1;
                let message = format!("column {}: {}", e.column, e.message);
                self.problems.push(format!("{origin}: line {line}, {message} (document skipped from there)"));
                first_error.get_or_insert((line, message));
            }
        }
        if self.pods.is_empty() && self.services.is_empty() && self.nodes.is_empty() {
            if let Some((line, message)) = first_error {
                return Err(ClusterError::Syntax { path: origin.to_string(), line, message });
            }
        }
        Ok(())
    }

    fn add_value(&mut self, v: &Value, section: Option<&str>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| self.add_value(i, section)),
            Value::Object(_) => {
                if let Some(items) = get(v, "items").and_then(Value::as_array) {
                    items.iter().for_each(|i| self.add_value(i, section));
                    return;
                }
                // `kind` inlined (JSON) or under a nested `typemeta` (Go YAML encoders).
                let kind = get(v, "kind")
                    .or_else(|| path(v, &["typemeta", "kind"]))
                    .and_then(Value::as_str)
                    .filter(|k| !k.is_empty())
                    .map(str::to_ascii_lowercase);
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

    /// The Node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.name == name)
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
                    // Numbers, or `IntOrString` mappings as Go's YAML encoders write them.
                    let number = |k| match get(p, k).and_then(int_or_string)? {
                        IntOrString::Int(n) => u16::try_from(n).ok(),
                        IntOrString::Str(_) => None,
                    };
                    Some(ServicePort {
                        name: get(p, "name").and_then(Value::as_str).unwrap_or("").to_string(),
                        port: number("port")?,
                        protocol: get(p, "protocol").and_then(Value::as_str).unwrap_or("TCP").to_ascii_uppercase(),
                        target_port: get(p, "targetPort").and_then(int_or_string).and_then(|t| match t {
                            IntOrString::Int(n) => u16::try_from(n).ok().map(PortRef::Number),
                            IntOrString::Str(name) => Some(PortRef::Name(name)),
                        }),
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
        // A damaged document costs that document only, and is reported with its file line.
        let bad = "#pods\nmetadata:\n  name: a\n---\nmetadata: [\n---\n#pods\nmetadata: {name: b}\n";
        let info = ClusterInfo::parse(bad, "f").unwrap();
        assert_eq!(info.pods.len(), 2);
        assert_eq!(info.problems.len(), 1);
        assert!(info.problems[0].starts_with("f: line 6"), "{:?}", info.problems);
        match ClusterInfo::parse("metadata: [\n", "f") {
            Err(ClusterError::Syntax { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        // JSON: a cut file keeps the objects before the cut.
        let json = r#"{"kind":"List","items":[{"kind":"Pod","metadata":{"name":"a"}},{"kind":"Pod","metadata":{"na"#;
        let info = ClusterInfo::parse(json, "j").unwrap();
        assert_eq!(info.pods.len(), 1);
        assert!(info.problems[0].starts_with("j: line 1"), "{:?}", info.problems);
        assert!(matches!(ClusterInfo::parse("[[[", "j"), Err(ClusterError::Syntax { .. })));
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
