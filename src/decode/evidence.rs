//! The evidence document `hoptrace extract` writes for one node (`NODE.evidence.json`) and
//! `analyze` reads: which captures were scanned, what was damaged, and every sighting of the
//! probe. Versioned by [`EVIDENCE_SCHEMA`]; documented field by field in docs/evidence-schema.md.

use super::sighting::Sighting;
use crate::probe::Fingerprint;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The value of the `schema` field for this version of the document.
pub const EVIDENCE_SCHEMA: &str = "hoptrace.evidence/v1";

/// One node's evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Always [`EVIDENCE_SCHEMA`].
    pub schema: String,
    /// The node the captures came from.
    pub node: String,
    /// Which program wrote the document.
    pub created_by: String,
    /// The probe that was looked for.
    pub probe: ProbeRef,
    /// One report per capture file, in the order given.
    pub captures: Vec<CaptureReport>,
    /// Every sighting, by file (in the order given) then packet number.
    pub sightings: Vec<Sighting>,
    /// Files and directories under the inputs that were not read, and why (unreadable, symbolic
    /// link loops or links leading outside an input directory, second names of a file, FIFOs,
    /// walk limits). A capture among them is evidence that was not looked at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<UnreadInput>,
}

/// A path under the inputs that was not read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadInput {
    /// The path, as reached from the input given.
    pub path: String,
    /// Why it was not read.
    pub why: String,
}

/// What identified the probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeRef {
    /// The DSCP tag (Antrea's `dataplaneTag`).
    pub dataplane_tag: u8,
    /// The fingerprint matched against every packet.
    pub fingerprint: Fingerprint,
}

/// What scanning one capture file gave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureReport {
    /// The file, as given.
    pub file: String,
    /// `pcap` or `pcapng` (absent when the file is not a capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `gzip` when the file was compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// Packets read.
    pub packets: u64,
    /// Bytes of capture data read (after decompression).
    pub bytes: u64,
    /// Link types met (tcpdump names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_types: Vec<String>,
    /// Interface names the file records (pcapng `if_name`) or implies (`NODE_IFACE.pcap`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,
    /// Sightings in this file.
    pub sightings: u64,
    /// Packets that carry the probe's fingerprint but travel the other way (replies from a stack
    /// that reflects the IPv6 flow label, UDP echoes): not sightings.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub replies: u64,
    /// Packets that carry the probe's tag but not the rest of its fingerprint: another
    /// probe, another run, or other traffic using the DSCP value.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub near_misses: u64,
    /// The first [`MAX_LISTED_NEAR_MISSES`] of them, for telling the user what was there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed_near_misses: Vec<NearMiss>,
    /// Packets with one of the probe's 5-tuples (as sent, or after a DNAT the inputs predict)
    /// but not its tag: the probe with its tag cleared or rewritten, or other packets of the
    /// same connection.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub tuple_near_misses: u64,
    /// The first [`MAX_LISTED_NEAR_MISSES`] of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed_tuple_near_misses: Vec<NearMiss>,
    /// The earliest packet time in the file (nanoseconds since the Unix epoch): with
    /// [`CaptureReport::last_ns`], the span the capture covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ns: Option<i64>,
    /// The latest packet time in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ns: Option<i64>,
    /// Packets that could not be decoded to an IP header, by reason.
    #[serde(default, skip_serializing_if = "Undecoded::is_empty")]
    pub undecoded: Undecoded,
    /// The first damage met, if any (the packets before it were scanned). Its message says what
    /// it cost: the rest of a classic pcap file, one pcapng block, the rest of a pcapng section,
    /// or nothing (a gzip CRC mismatch, data after the last gzip member, a block not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
    /// Damage met after the first, in file order (at most 99).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_damage: Vec<ErrorReport>,
    /// Damage met beyond the 100 reported (counted only).
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub omitted_damage: u64,
    /// How many times reading resumed at a later pcapng section after damage.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumed_sections: u32,
}

/// The most near misses listed per capture file (all are counted).
pub const MAX_LISTED_NEAR_MISSES: usize = 3;

/// A packet with the probe's tag, or with its 5-tuple, that is not the probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NearMiss {
    /// 1-based packet number.
    pub packet: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_ns: Option<i64>,
    /// Its innermost source address.
    pub src: std::net::IpAddr,
    /// Its innermost destination address.
    pub dst: std::net::IpAddr,
    /// IP protocol.
    pub protocol: u8,
    /// IPv4 identification or IPv6 flow label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ident: Option<u32>,
    /// Its DSCP (absent in evidence written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dscp: Option<u8>,
    /// Its source and destination ports (TCP, UDP, SCTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<(u16, u16)>,
}

/// Counts of packets that yielded no IP header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Undecoded {
    /// Link type we do not decode.
    #[serde(default)]
    pub unsupported_link_type: u64,
    /// Frame too short for its link header.
    #[serde(default)]
    pub short_frame: u64,
    /// Not IP (ARP, LLDP, ...), at the innermost layer reached.
    #[serde(default)]
    pub not_ip: u64,
    /// Tunnels nested deeper than we decode.
    #[serde(default)]
    pub too_deep: u64,
}

impl Undecoded {
    /// Whether every count is zero.
    pub fn is_empty(&self) -> bool {
        *self == Undecoded::default()
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// Where a capture is damaged, why, and what it cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    /// The packet number the damaged record would have had.
    pub packet: u64,
    /// Byte offset of the damaged record in the (decompressed) stream.
    pub offset: u64,
    /// What is wrong.
    pub message: String,
}

/// Why an evidence file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceFileError {
    /// Unreadable file.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// Not JSON of the expected shape.
    #[error("{0}: not an evidence document: {1}")]
    Json(String, serde_json::Error),
    /// Another schema version.
    #[error("{0}: schema {1:?} is not {EVIDENCE_SCHEMA}")]
    Schema(String, String),
}

impl Evidence {
    /// Reads and validates an evidence file.
    pub fn load(path: &Path) -> Result<Evidence, EvidenceFileError> {
        let name = path.display().to_string();
        let text = crate::textfile::read_text(path, crate::textfile::MAX_JSON_FILE).map_err(|e| match e {
            crate::textfile::TextFileError::Io { source, .. } => EvidenceFileError::Io(name.clone(), source),
            crate::textfile::TextFileError::TooLarge { limit, .. } => EvidenceFileError::Io(
                name.clone(),
                std::io::Error::other(format!(
                    "file larger than {limit} bytes (hoptrace's limit for an evidence file)"
                )),
            ),
        })?;
        let ev: Evidence = serde_json::from_str(&text).map_err(|e| EvidenceFileError::Json(name.clone(), e))?;
        if ev.schema != EVIDENCE_SCHEMA {
            return Err(EvidenceFileError::Schema(name, ev.schema));
        }
        Ok(ev)
    }
}
