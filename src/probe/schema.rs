//! `probe.json`: the versioned document that `craft` writes and `inject`, `extract` and `analyze`
//! read. Documented field by field in `docs/probe-schema.md`.

use super::craft::craft_frame;
use super::fingerprint::Fingerprint;
use super::spec::{ProbeSpec, Transport};
use super::tag::Tag;
use crate::addr::MacAddr;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::Path;

/// The value of the `schema` field for this version of the document.
pub const PROBE_SCHEMA: &str = "hoptrace.probe/v1";

/// The whole `probe.json` document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// Always [`PROBE_SCHEMA`]; readers reject other values.
    pub schema: String,
    /// The DSCP tag (Antrea's `dataplaneTag`).
    pub dataplane_tag: u8,
    /// Ethernet header.
    pub ethernet: EthernetFields,
    /// IP header.
    pub ip: IpFields,
    /// Transport header (`protocol`: icmp | tcp | udp | sctp).
    pub transport: Transport,
    /// What identifies the probe wherever it is captured.
    pub fingerprint: Fingerprint,
    /// The frame exactly as crafted.
    pub frame: Frame,
    /// A BPF filter that matches the probe bare and inside Geneve/VXLAN (for `tcpdump`).
    pub capture_filter: String,
    /// Where the probe's endpoints came from (names resolved from cluster info), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Endpoint>,
    /// The destination as the user named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Endpoint>,
    /// The `--seed` that reproduces every random choice, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Which program wrote the document.
    pub created_by: String,
    /// One record per frame sent by `hoptrace inject` (appended by it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sends: Vec<SendRecord>,
}

/// Ethernet addresses of the probe frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EthernetFields {
    /// Source MAC.
    pub src: MacAddr,
    /// Destination MAC.
    pub dst: MacAddr,
}

/// IP header fields of the probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpFields {
    /// 4 or 6.
    pub version: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// DSCP (= the tag).
    pub dscp: u8,
    /// ECN bits (always 0 in a crafted probe).
    pub ecn: u8,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// IP protocol / IPv6 next header.
    pub protocol: u8,
    /// IPv4 total length or IPv6 payload length.
    pub length: u16,
    /// IPv4 identification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identification: Option<u16>,
    /// IPv4 flags (3 bits: 4 reserved, 2 DF, 1 MF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<u8>,
    /// IPv6 flow label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_label: Option<u32>,
}

/// The crafted frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame {
    /// Length in bytes.
    pub length: usize,
    /// The bytes as lowercase hex, no separators.
    pub hex: String,
}

/// A named endpoint of the probe (`ns/pod`, `ns/svc` or a bare IP), as resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// What the user named.
    pub kind: EndpointKind,
    /// `ns/name` for Pods and Services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The IP the name resolved to (a Service's ClusterIP).
    pub ip: IpAddr,
    /// The Node the Pod runs on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// What a probe endpoint is (serialised `pod`, `service`, `ip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointKind {
    /// A Pod, by `ns/name`.
    Pod,
    /// A Service, by `ns/name` (the probe goes to its ClusterIP).
    Service,
    /// An address.
    Ip,
}

/// One frame sent by `hoptrace inject`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendRecord {
    /// Send time, nanoseconds since the Unix epoch (the sender's clock).
    pub time_ns: u64,
    /// The same instant in RFC 3339 with nanoseconds.
    pub time: String,
    /// Interface the frame was sent on.
    pub interface: String,
    /// Network namespace entered, as given (name, path or `pid:N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    /// 1-based copy number within one `inject` run.
    pub copy: u32,
    /// The IPv4 ID of this copy (differs from the fingerprint's with `--vary-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_id: Option<u16>,
    /// The IPv6 flow label of this copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_label: Option<u32>,
    /// The host that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The source MAC this copy carried, when `inject` replaced the probe's (`--src-mac-from-iface`, `--src-mac`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_mac: Option<MacAddr>,
    /// The destination MAC this copy carried, when `inject` replaced the probe's (`--dst-mac`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_mac: Option<MacAddr>,
}

/// Why a probe document could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProbeFileError {
    /// The file could not be read.
    #[error("{path}: cannot read probe file: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a valid probe document.
    #[error("{path}: line {line}, column {column}: not a hoptrace probe document: {message}")]
    Json {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said.
        message: String,
    },
    /// The document is of another schema version.
    #[error("{path}: schema {found:?} is not supported (expected {PROBE_SCHEMA:?})")]
    Schema {
        /// The file.
        path: String,
        /// The schema string found.
        found: String,
    },
    /// The document's fields contradict each other.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Probe {
    /// The probe's two ends, for telling it from its replies.
    pub fn ends(&self) -> super::ProbeEnds {
        super::ProbeEnds { src: self.ip.src, dst: self.ip.dst, ports: self.transport.ports() }
    }

    /// Builds the document for a crafted probe.
    pub fn new(spec: &ProbeSpec, frame: &[u8], capture_filter: String) -> Probe {
        let v6 = spec.is_ipv6();
        let length = if v6 { spec.transport.wire_len() } else { 20 + spec.transport.wire_len() } as u16;
        Probe {
            schema: PROBE_SCHEMA.to_string(),
            dataplane_tag: spec.tag.dscp(),
            ethernet: EthernetFields { src: spec.src_mac, dst: spec.dst_mac },
            ip: IpFields {
                version: if v6 { 6 } else { 4 },
                src: spec.src_ip,
                dst: spec.dst_ip,
                dscp: spec.tag.dscp(),
                ecn: 0,
                ttl: spec.ttl,
                protocol: spec.ip_protocol(),
                length,
                identification: (!v6).then_some(spec.ipv4_id),
                flags: (!v6).then_some(spec.ipv4_flags),
                flow_label: v6.then_some(spec.flow_label),
            },
            transport: spec.transport.clone(),
            fingerprint: spec.fingerprint(),
            frame: Frame { length: frame.len(), hex: to_hex(frame) },
            capture_filter,
            source: None,
            destination: None,
            seed: None,
            created_by: format!("hoptrace {}", env!("CARGO_PKG_VERSION")),
            sends: Vec::new(),
        }
    }

    /// The header fields back as a spec (the inverse of [`Probe::new`]).
    pub fn spec(&self) -> Result<ProbeSpec, String> {
        let tag = Tag::new(u32::from(self.dataplane_tag)).map_err(|e| e.to_string())?;
        if self.ip.src.is_ipv6() != self.ip.dst.is_ipv6() {
            return Err("ip.src and ip.dst are of different families".into());
        }
        Ok(ProbeSpec {
            src_mac: self.ethernet.src,
            dst_mac: self.ethernet.dst,
            src_ip: self.ip.src,
            dst_ip: self.ip.dst,
            tag,
            ttl: self.ip.ttl,
            ipv4_flags: self.ip.flags.unwrap_or(0),
            ipv4_id: self.ip.identification.unwrap_or(0),
            flow_label: self.ip.flow_label.unwrap_or(0),
            transport: self.transport.clone(),
        })
    }

    /// The frame bytes decoded from `frame.hex`.
    pub fn frame_bytes(&self) -> Result<Vec<u8>, String> {
        from_hex(&self.frame.hex)
    }

    /// Reads and validates a probe document.
    pub fn load(path: &Path) -> Result<Probe, ProbeFileError> {
        let p = path.display().to_string();
        let text = crate::textfile::read_text(path, crate::textfile::MAX_JSON_FILE).map_err(|e| match e {
            crate::textfile::TextFileError::Io { source, .. } => ProbeFileError::Io { path: p.clone(), source },
            crate::textfile::TextFileError::TooLarge { limit, .. } => ProbeFileError::Invalid {
                path: p.clone(),
                message: format!("file larger than {limit} bytes (hoptrace's limit for a probe document)"),
            },
        })?;
        Probe::from_json(&text, &p)
    }

    /// Parses and validates a probe document; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Probe, ProbeFileError> {
        #[derive(Deserialize)]
        struct Head {
            schema: Option<String>,
        }
        let json_err = |e: serde_json::Error| ProbeFileError::Json {
            path: origin.to_string(),
            line: e.line(),
            column: e.column(),
            message: crate::textfile::clip(&e.to_string(), 200),
        };
        let head: Head = serde_json::from_str(text).map_err(json_err)?;
        let found = head.schema.unwrap_or_default();
        if found != PROBE_SCHEMA {
            return Err(ProbeFileError::Schema { path: origin.to_string(), found });
        }
        let probe: Probe = serde_json::from_str(text).map_err(json_err)?;
        let invalid = |message: String| ProbeFileError::Invalid { path: origin.to_string(), message };
        probe.spec().map_err(invalid)?;
        let frame = probe.frame_bytes().map_err(invalid)?;
        if frame.len() != probe.frame.length {
            return Err(invalid(format!(
                "frame.length is {} but frame.hex holds {} bytes",
                probe.frame.length,
                frame.len()
            )));
        }
        probe.check_consistent(&frame).map_err(invalid)?;
        Ok(probe)
    }

    /// Checks that the document agrees with itself: the header fields derived from the others
    /// (`ip.version`, `ip.dscp` = `dataplaneTag`, `ip.ecn`, `ip.protocol`, `ip.length`, the
    /// fingerprint, the endpoints' addresses) are what they give, and the frame is byte for
    /// byte the one crafting the fields gives (MACs, addresses, ports, protocol, TTL, IPv4 ID
    /// and flags or IPv6 flow label, transport fields, checksums). A document that disagrees
    /// would make `inject` send one packet and `extract` / `analyze` look for another; the
    /// message names the first field that disagrees.
    pub fn check_consistent(&self, frame: &[u8]) -> Result<(), String> {
        let spec = self.spec()?;
        let expected_frame = craft_frame(&spec).map_err(|e| e.to_string())?;
        let expected = Probe::new(&spec, &expected_frame, self.capture_filter.clone());
        if self.ip.dscp != self.dataplane_tag {
            return Err(format!(
                "ip.dscp is {} but dataplaneTag is {}: the document disagrees with itself",
                self.ip.dscp, self.dataplane_tag
            ));
        }
        first_difference("ip", &self.ip, &expected.ip)?;
        first_difference("fingerprint", &self.fingerprint, &expected.fingerprint)?;
        for (what, ep, ip) in [("source", &self.source, self.ip.src), ("destination", &self.destination, self.ip.dst)] {
            if let Some(ep) = ep.as_ref().filter(|ep| ep.ip != ip) {
                let which = if what == "source" { "src" } else { "dst" };
                return Err(format!(
                    "{what}.ip is {} but ip.{which} is {ip}: the document disagrees with itself",
                    ep.ip
                ));
            }
        }
        if frame.len() != expected_frame.len() {
            return Err(format!(
                "the frame is {} bytes but its fields give a {}-byte frame: the frame disagrees with the document",
                frame.len(),
                expected_frame.len()
            ));
        }
        // A checksum differs whenever a field it covers does: name the field first.
        let differs: Vec<usize> = (0..frame.len()).filter(|&i| frame[i] != expected_frame[i]).collect();
        let field_at = |at: usize| frame_field(at, spec.is_ipv6(), &spec.transport);
        let first =
            differs.iter().copied().find(|&at| !field_at(at).0.contains("checksum")).or(differs.first().copied());
        if let Some(at) = first {
            let (name, range) = field_at(at);
            let range = range.start..range.end.min(frame.len()).min(range.start + 16);
            let bytes = if range.len() == 1 {
                format!("byte {}", range.start)
            } else {
                format!("bytes {}..{}", range.start, range.end)
            };
            return Err(format!(
                "frame {bytes} ({name}) disagree with the document's fields: the frame has {}, the fields give {}",
                to_hex(&frame[range.clone()]),
                to_hex(&expected_frame[range])
            ));
        }
        Ok(())
    }
}

/// The first field (in document order) where `found` differs from `expected`, as an error.
fn first_difference<T: Serialize>(prefix: &str, found: &T, expected: &T) -> Result<(), String> {
    let (Ok(serde_json::Value::Object(f)), Ok(serde_json::Value::Object(e))) =
        (serde_json::to_value(found), serde_json::to_value(expected))
    else {
        return Ok(());
    };
    let keys = f.keys().chain(e.keys().filter(|k| !f.contains_key(*k)));
    for k in keys {
        let (a, b) = (f.get(k), e.get(k));
        if a != b {
            let show = |v: Option<&serde_json::Value>| v.map_or_else(|| "absent".to_string(), |v| v.to_string());
            return Err(format!(
                "{prefix}.{k} is {} but the document's other fields give {}",
                crate::textfile::excerpt(&show(a)),
                crate::textfile::excerpt(&show(b))
            ));
        }
    }
    Ok(())
}

/// The name of the header field at byte `at` of a crafted probe frame, and its bytes.
fn frame_field(at: usize, v6: bool, transport: &Transport) -> (&'static str, std::ops::Range<usize>) {
    const IPV4: &[(&str, usize, usize)] = &[
        ("IP version and header length", 0, 1),
        ("ip.dscp / ip.ecn (the tag)", 1, 2),
        ("ip.length", 2, 4),
        ("ip.identification", 4, 6),
        ("ip.flags and fragment offset", 6, 8),
        ("ip.ttl", 8, 9),
        ("ip.protocol", 9, 10),
        ("IPv4 header checksum", 10, 12),
        ("ip.src", 12, 16),
        ("ip.dst", 16, 20),
    ];
    const IPV6: &[(&str, usize, usize)] = &[
        ("IP version and ip.dscp (the tag)", 0, 1),
        ("ip.dscp / ip.ecn (the tag) and ip.flowLabel", 1, 2),
        ("ip.flowLabel", 2, 4),
        ("ip.length", 4, 6),
        ("ip.protocol", 6, 7),
        ("ip.ttl (hop limit)", 7, 8),
        ("ip.src", 8, 24),
        ("ip.dst", 24, 40),
    ];
    const TCP: &[(&str, usize, usize)] = &[
        ("transport.srcPort", 0, 2),
        ("transport.dstPort", 2, 4),
        ("transport.seq", 4, 8),
        ("transport.ack", 8, 12),
        ("TCP data offset", 12, 13),
        ("transport.flags", 13, 14),
        ("TCP window", 14, 16),
        ("TCP checksum", 16, 18),
        ("TCP urgent pointer", 18, 20),
    ];
    const UDP: &[(&str, usize, usize)] =
        &[("transport.srcPort", 0, 2), ("transport.dstPort", 2, 4), ("UDP length", 4, 6), ("UDP checksum", 6, 8)];
    const ICMP: &[(&str, usize, usize)] = &[
        ("ICMP type", 0, 1),
        ("ICMP code", 1, 2),
        ("ICMP checksum", 2, 4),
        ("transport.id", 4, 6),
        ("transport.sequence", 6, 8),
    ];
    const SCTP: &[(&str, usize, usize)] = &[
        ("transport.srcPort", 0, 2),
        ("transport.dstPort", 2, 4),
        ("SCTP verification tag", 4, 8),
        ("SCTP checksum", 8, 12),
        ("SCTP chunk header", 12, 16),
        ("transport.initiateTag", 16, 20),
        ("SCTP INIT parameters", 20, 28),
        ("transport.initialTsn", 28, 32),
    ];
    let find = |table: &[(&'static str, usize, usize)], base: usize| {
        table.iter().find(|(_, s, e)| (base + s..base + e).contains(&at)).map(|&(n, s, e)| (n, base + s..base + e))
    };
    let ip_len = if v6 { 40 } else { 20 };
    let transport_table = match transport {
        Transport::Tcp { .. } => TCP,
        Transport::Udp { .. } => UDP,
        Transport::Icmp { .. } => ICMP,
        Transport::Sctp { .. } => SCTP,
    };
    find(&[("ethernet.dst", 0, 6), ("ethernet.src", 6, 12), ("EtherType (ip.version)", 12, 14)], 0)
        .or_else(|| find(if v6 { IPV6 } else { IPV4 }, 14))
        .or_else(|| find(transport_table, 14 + ip_len))
        .unwrap_or(("payload", at..at + 1))
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Bytes of a hex string (even length, no separators).
pub fn from_hex(hex: &str) -> Result<Vec<u8>, String> {
    if hex.len() % 2 != 0 {
        return Err("frame.hex has an odd number of digits".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("frame.hex has a non-hex digit at offset {i}"))
        })
        .collect()
}
