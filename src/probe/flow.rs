//! antctl's `-f/--flow` syntax for the probe's headers: `tcp,tcp_src=10000,tcp_dst=80,tcp_flags=2`,
//! `udp,udp_dst=53`, `icmp`, `ipv6,icmp` (antrea-traceflow.md §5.2), plus `sctp`, `sctp_src`,
//! `sctp_dst` (which Antrea lacks) and ovs-ofctl's `tcp6`/`udp6`/`icmp6`/`sctp6` shorthands.

use super::resolve::Proto;

/// The header choices a `--flow` string makes; unset fields are left to other flags or defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowFields {
    /// `ipv6` (or a `*6` protocol) was given.
    pub ipv6: bool,
    /// The protocol keyword.
    pub proto: Option<Proto>,
    /// `tcp_src` / `udp_src` / `sctp_src`.
    pub src_port: Option<u16>,
    /// `tcp_dst` / `udp_dst` / `sctp_dst`.
    pub dst_port: Option<u16>,
    /// `tcp_flags`.
    pub tcp_flags: Option<u8>,
    /// `nw_ttl`.
    pub ttl: Option<u8>,
    /// `icmp_id`.
    pub icmp_id: Option<u16>,
    /// `icmp_seq`.
    pub icmp_seq: Option<u16>,
}

/// A `--flow` string that antctl would not accept either.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FlowSyntaxError {
    /// A key hoptrace does not know.
    #[error("unknown field {0:?} in --flow (accepted: ipv6, icmp, tcp, udp, sctp, tcp_src, tcp_dst, tcp_flags, udp_src, udp_dst, sctp_src, sctp_dst, nw_ttl, icmp_id, icmp_seq)")]
    UnknownField(String),
    /// A value that is not an integer of the right size (antctl takes integers only).
    #[error("--flow field {key}={value:?}: expected an integer in {range}")]
    BadValue {
        /// The key.
        key: String,
        /// The value as given.
        value: String,
        /// The accepted range.
        range: &'static str,
    },
    /// Two protocol keywords.
    #[error("--flow names two protocols: {0} and {1}")]
    TwoProtocols(&'static str, &'static str),
    /// A port field of another protocol (`udp,tcp_dst=80`).
    #[error("--flow field {field} does not fit protocol {proto}")]
    ProtocolMismatch {
        /// The field.
        field: String,
        /// The protocol in effect.
        proto: &'static str,
    },
    /// A keyword written with a value, or a field without one.
    #[error("--flow item {0:?} is malformed (use `name` or `name=integer`)")]
    Malformed(String),
}

/// Parses antctl's flow syntax.
pub fn parse_flow(text: &str) -> Result<FlowFields, FlowSyntaxError> {
    let mut f = FlowFields::default();
    let mut port_proto: Option<(Proto, String)> = None;
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (item, None),
        };
        let set_proto = |f: &mut FlowFields, p: Proto, v6: bool| -> Result<(), FlowSyntaxError> {
            if let Some(old) = f.proto {
                if old != p {
                    return Err(FlowSyntaxError::TwoProtocols(old.name(), p.name()));
                }
            }
            f.proto = Some(p);
            f.ipv6 |= v6;
            Ok(())
        };
        match (key, value) {
            ("ipv6", None) => f.ipv6 = true,
            ("ip", None) => {}
            ("icmp", None) => set_proto(&mut f, Proto::Icmp, false)?,
            ("icmp6" | "icmpv6", None) => set_proto(&mut f, Proto::Icmp, true)?,
            ("tcp", None) => set_proto(&mut f, Proto::Tcp, false)?,
            ("tcp6", None) => set_proto(&mut f, Proto::Tcp, true)?,
            ("udp", None) => set_proto(&mut f, Proto::Udp, false)?,
            ("udp6", None) => set_proto(&mut f, Proto::Udp, true)?,
            ("sctp", None) => set_proto(&mut f, Proto::Sctp, false)?,
            ("sctp6", None) => set_proto(&mut f, Proto::Sctp, true)?,
            (k, Some(v)) => {
                let int = |range: &'static str, max: u64| -> Result<u64, FlowSyntaxError> {
                    parse_int(v).filter(|&n| n <= max).ok_or_else(|| FlowSyntaxError::BadValue {
                        key: k.to_string(),
                        value: v.to_string(),
                        range,
                    })
                };
                let port = |p: Proto, out: &mut Option<(Proto, String)>| -> Result<u16, FlowSyntaxError> {
                    *out = Some((p, k.to_string()));
                    let n = int("1..=65535", 65535)?;
                    if n == 0 {
                        return Err(FlowSyntaxError::BadValue {
                            key: k.to_string(),
                            value: v.to_string(),
                            range: "1..=65535",
                        });
                    }
                    Ok(n as u16)
                };
                match k {
                    "tcp_src" => f.src_port = Some(port(Proto::Tcp, &mut port_proto)?),
                    "tcp_dst" => f.dst_port = Some(port(Proto::Tcp, &mut port_proto)?),
                    "udp_src" => f.src_port = Some(port(Proto::Udp, &mut port_proto)?),
                    "udp_dst" => f.dst_port = Some(port(Proto::Udp, &mut port_proto)?),
                    "sctp_src" => f.src_port = Some(port(Proto::Sctp, &mut port_proto)?),
                    "sctp_dst" => f.dst_port = Some(port(Proto::Sctp, &mut port_proto)?),
                    "tcp_flags" => {
                        f.tcp_flags = Some(int("0..=255", 255)? as u8);
                        port_proto = Some((Proto::Tcp, k.to_string()));
                    }
                    "nw_ttl" => f.ttl = Some(int("0..=255", 255)? as u8),
                    "icmp_id" => f.icmp_id = Some(int("0..=65535", 65535)? as u16),
                    "icmp_seq" => f.icmp_seq = Some(int("0..=65535", 65535)? as u16),
                    "ipv6" | "ip" | "icmp" | "tcp" | "udp" | "sctp" => {
                        return Err(FlowSyntaxError::Malformed(item.to_string()))
                    }
                    _ => return Err(FlowSyntaxError::UnknownField(k.to_string())),
                }
            }
            (k, None) if k.contains('_') => return Err(FlowSyntaxError::Malformed(item.to_string())),
            (k, None) => return Err(FlowSyntaxError::UnknownField(k.to_string())),
        }
    }
    if let Some((p, field)) = port_proto {
        match f.proto {
            None => f.proto = Some(p),
            Some(q) if q != p => return Err(FlowSyntaxError::ProtocolMismatch { field, proto: q.name() }),
            _ => {}
        }
    }
    if (f.icmp_id.is_some() || f.icmp_seq.is_some()) && matches!(f.proto, Some(p) if p != Proto::Icmp) {
        return Err(FlowSyntaxError::ProtocolMismatch {
            field: "icmp_id/icmp_seq".into(),
            proto: f.proto.map_or("", Proto::name),
        });
    }
    Ok(f)
}

/// Decimal or `0x` hexadecimal.
fn parse_int(v: &str) -> Option<u64> {
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn antctl_examples() {
        let f = parse_flow("tcp,tcp_src=10000,tcp_dst=80,tcp_flags=2").unwrap();
        assert_eq!((f.proto, f.src_port, f.dst_port, f.tcp_flags), (Some(Proto::Tcp), Some(10000), Some(80), Some(2)));
        let f = parse_flow("udp,udp_dst=53").unwrap();
        assert_eq!((f.proto, f.dst_port), (Some(Proto::Udp), Some(53)));
        assert_eq!(parse_flow("icmp").unwrap().proto, Some(Proto::Icmp));
        let f = parse_flow("ipv6,icmp").unwrap();
        assert!(f.ipv6);
        assert_eq!(parse_flow("tcp_dst=80").unwrap().proto, Some(Proto::Tcp));
        assert_eq!(parse_flow("sctp,sctp_dst=9").unwrap().proto, Some(Proto::Sctp));
    }

    #[test]
    fn rejects() {
        assert!(matches!(parse_flow("udp,tcp_dst=80"), Err(FlowSyntaxError::ProtocolMismatch { .. })));
        assert!(matches!(parse_flow("tcp,udp"), Err(FlowSyntaxError::TwoProtocols(..))));
        assert!(matches!(parse_flow("tcp,tcp_dst=http"), Err(FlowSyntaxError::BadValue { .. })));
        assert!(matches!(parse_flow("tcp,tcp_dst=70000"), Err(FlowSyntaxError::BadValue { .. })));
        assert!(matches!(parse_flow("tcp,nw_frag=no"), Err(FlowSyntaxError::UnknownField(_))));
        assert!(matches!(parse_flow("icmp,tcp_dst=1"), Err(FlowSyntaxError::ProtocolMismatch { .. })));
    }
}
