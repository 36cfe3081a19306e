//! `hoptrace craft`: resolve the probe, write `probe.json` (and a pcap), tell the user how to
//! capture and send it.

use super::exit::{is_broken_pipe, CliError, SUCCESS};
use super::Outcome;
use crate::addr::MacAddr;
use crate::bundle::ClusterInfo;
use crate::export::{pcap::write_pcap, write_output};
use crate::probe::filter::{capture_filter, tcpdump_command};
use crate::probe::flow::parse_flow;
use crate::probe::resolve::{resolve, Names, ProbeRequest, Proto, TagChoice};
use crate::probe::rng::ProbeRng;
use crate::probe::{craft_frame, Probe, ProbeSpec, Transport};
use clap::Args;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Arguments of `hoptrace craft`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Pod to Service, names resolved from a kubectl dump; TCP to the Service's
  # first port
  hoptrace craft -S default/client -D default/web --cluster cluster.json
  # antctl's flow syntax
  hoptrace craft -S default/client -D default/server --cluster clusterinfo \\
      -f tcp,tcp_dst=8080,tcp_flags=2
  # fully explicit, reproducible, with a pcap for Wireshark
  hoptrace craft --src-ip 10.10.1.5 --dst-ip 10.10.2.5 \\
      --src-mac 02:00:00:00:01:05 --dst-mac 02:00:00:00:01:01 --proto udp \\
      --dst-port 53 --seed 1 --pcap probe.pcap
  # IPv6 ICMPv6 echo to stdout
  hoptrace craft --src-ip fd00::5 --dst-ip fd00::6 -o -")]
pub struct CraftArgs {
    /// Source Pod `ns/pod` (or `pod` in namespace default), resolved with --cluster; or an IP.
    #[arg(short = 'S', long = "source", value_name = "NS/POD")]
    pub source: Option<String>,
    /// Destination `ns/pod`, `ns/svc` or an IP; a Service means its ClusterIP and first port.
    #[arg(short = 'D', long = "destination", value_name = "NS/NAME|IP")]
    pub destination: Option<String>,
    /// `kubectl get pods,services,nodes -A -o json` output or a support bundle's `clusterinfo`.
    #[arg(long, value_name = "FILE")]
    pub cluster: Option<PathBuf>,
    /// Headers in antctl's syntax: `tcp,tcp_src=10000,tcp_dst=80,tcp_flags=2`, `udp,udp_dst=53`, `icmp`, `ipv6,icmp`.
    #[arg(short = 'f', long = "flow", value_name = "FLOW")]
    pub flow: Option<String>,
    /// Source IP (instead of -S).
    #[arg(long, value_name = "IP")]
    pub src_ip: Option<String>,
    /// Destination IP (instead of -D).
    #[arg(long, value_name = "IP")]
    pub dst_ip: Option<String>,
    /// Source MAC: the source Pod's eth0 MAC.
    #[arg(long, value_name = "MAC")]
    pub src_mac: Option<String>,
    /// Destination MAC: the destination Pod's MAC on the same Node, else the Node's antrea-gw0 MAC.
    #[arg(long, value_name = "MAC")]
    pub dst_mac: Option<String>,
    /// Protocol: icmp (default), tcp, udp or sctp.
    #[arg(long, value_name = "PROTO")]
    pub proto: Option<String>,
    /// Source port (TCP/UDP/SCTP; random when omitted).
    #[arg(long, value_name = "PORT")]
    pub src_port: Option<u16>,
    /// Destination port (TCP/UDP/SCTP).
    #[arg(long, value_name = "PORT")]
    pub dst_port: Option<u16>,
    /// TCP flags as a number (2 = SYN, the default) or names joined by `+`/`|` (`syn+ack`).
    #[arg(long, value_name = "FLAGS")]
    pub tcp_flags: Option<String>,
    /// TCP sequence number (random when omitted).
    #[arg(long, value_name = "SEQ")]
    pub tcp_seq: Option<u32>,
    /// TTL / hop limit (default 64).
    #[arg(long)]
    pub ttl: Option<u8>,
    /// IPv4 flags, 0..=7 (2 = DF; default 0 as Antrea).
    #[arg(long, value_name = "FLAGS")]
    pub ip_flags: Option<u8>,
    /// IPv4 identification (random when omitted).
    #[arg(long, value_name = "ID")]
    pub ip_id: Option<u16>,
    /// IPv6 flow label, 1..=0xfffff (random when omitted).
    #[arg(long, value_name = "LABEL", value_parser = parse_u32_any)]
    pub flow_label: Option<u32>,
    /// ICMP echo identifier (default 0).
    #[arg(long, value_name = "ID")]
    pub icmp_id: Option<u16>,
    /// ICMP echo sequence (default 0).
    #[arg(long, value_name = "SEQ")]
    pub icmp_seq: Option<u16>,
    /// Use the Pods' IPv6 addresses (same as `ipv6` in --flow).
    #[arg(long)]
    pub ipv6: bool,
    /// The DSCP tag: `auto` (Antrea's pool 7, 11, ..., 59) or 1..=63.
    #[arg(long, default_value = "auto", value_name = "auto|N")]
    pub tag: String,
    /// Flow dumps to scan for tags in use by running Traceflows (`nw_tos=` flows); `--tag auto` avoids them.
    #[arg(long = "avoid-tags-in", value_name = "FLOWS")]
    pub avoid_tags_in: Vec<PathBuf>,
    /// Seed every random choice (IP ID, ports, sequence numbers, flow label) for a reproducible probe.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where to write the probe document; `-` for stdout.
    #[arg(short, long, default_value = "probe.json", value_name = "FILE")]
    pub output: PathBuf,
    /// Also write the frame as a pcap.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Node name used in the printed tcpdump command.
    #[arg(long, default_value = "NODE", value_name = "NAME")]
    pub node: String,
}

fn parse_u32_any(s: &str) -> Result<u32, String> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    }
    .map_err(|e| format!("{s:?}: {e}"))
}

/// Parses `--tcp-flags`: a number or flag names (`syn`, `ack`, `fin`, `rst`, `psh`, `urg`, `ece`, `cwr`).
pub fn parse_tcp_flags(s: &str) -> Result<u8, CliError> {
    use crate::probe::spec::tcp_flags as f;
    if let Ok(n) = s.parse::<u8>() {
        return Ok(n);
    }
    if let Some(h) = s.strip_prefix("0x") {
        return u8::from_str_radix(h, 16).map_err(|_| CliError::usage(format!("--tcp-flags {s:?}: not a byte")));
    }
    s.split(['+', '|', ','])
        .map(|name| match name.trim().to_ascii_lowercase().as_str() {
            "fin" => Ok(f::FIN),
            "syn" => Ok(f::SYN),
            "rst" => Ok(f::RST),
            "psh" => Ok(f::PSH),
            "ack" => Ok(f::ACK),
            "urg" => Ok(f::URG),
            "ece" => Ok(f::ECE),
            "cwr" => Ok(f::CWR),
            other => Err(CliError::usage(format!(
                "--tcp-flags: unknown flag {other:?} (use a number 0..=255 or fin, syn, rst, psh, ack, urg, ece, cwr joined by +)"
            ))),
        })
        .try_fold(0u8, |acc, bit| Ok(acc | bit?))
}

fn parse_ip(flag: &str, s: &str) -> Result<IpAddr, CliError> {
    s.parse().map_err(|_| CliError::usage(format!("{flag} {s:?}: malformed IP address")))
}

fn parse_mac(flag: &str, s: &str) -> Result<MacAddr, CliError> {
    s.parse().map_err(|e| CliError::usage(format!("{flag}: {e}")))
}

/// Tags that flow dumps show in use: `nw_tos=<tag*4>` (or `ip_dscp=<tag>`) matches of Antrea's pool.
pub fn tags_in_use(files: &[PathBuf]) -> Result<Vec<u8>, CliError> {
    let mut used = Vec::new();
    for f in files {
        let text = crate::textfile::read_text(f, crate::textfile::MAX_TEXT_FILE)
            .map_err(|e| CliError::usage(format!("cannot read: {e}")))?;
        for line in text.lines() {
            for (key, scale) in [("nw_tos=", 4u32), ("ip_dscp=", 1)] {
                for part in line.split(key).skip(1) {
                    let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(v) = digits.parse::<u32>() {
                        if v % scale == 0 && v / scale < 64 {
                            used.push((v / scale) as u8);
                        }
                    }
                }
            }
        }
    }
    used.sort_unstable();
    used.dedup();
    Ok(used)
}

/// Builds the request from the arguments (syntax checks only; meaning is checked by `resolve`).
fn request(args: &CraftArgs) -> Result<ProbeRequest, CliError> {
    let flow = match &args.flow {
        Some(f) => parse_flow(f)?,
        None => Default::default(),
    };
    let proto = match &args.proto {
        Some(p) => {
            Some(Proto::parse(p).ok_or_else(|| CliError::usage(format!("--proto {p:?}: use icmp, tcp, udp or sctp")))?)
        }
        None => None,
    };
    let tag = if args.tag.eq_ignore_ascii_case("auto") {
        TagChoice::Auto { in_use: tags_in_use(&args.avoid_tags_in)? }
    } else {
        TagChoice::Fixed(
            args.tag
                .parse()
                .map_err(|_| CliError::usage(format!("--tag {:?}: use `auto` or a number 1..=63", args.tag)))?,
        )
    };
    Ok(ProbeRequest {
        source: args.source.clone(),
        destination: args.destination.clone(),
        src_ip: args.src_ip.as_deref().map(|s| parse_ip("--src-ip", s)).transpose()?,
        dst_ip: args.dst_ip.as_deref().map(|s| parse_ip("--dst-ip", s)).transpose()?,
        src_mac: args.src_mac.as_deref().map(|s| parse_mac("--src-mac", s)).transpose()?,
        dst_mac: args.dst_mac.as_deref().map(|s| parse_mac("--dst-mac", s)).transpose()?,
        proto,
        src_port: args.src_port,
        dst_port: args.dst_port,
        tcp_flags: args.tcp_flags.as_deref().map(parse_tcp_flags).transpose()?,
        tcp_seq: args.tcp_seq,
        ttl: args.ttl,
        ipv4_flags: args.ip_flags,
        ipv4_id: args.ip_id,
        flow_label: args.flow_label,
        icmp_id: args.icmp_id,
        icmp_seq: args.icmp_seq,
        flow,
        ipv6: args.ipv6,
        tag: Some(tag),
    })
}

/// One line describing the probe, tcpdump-style.
pub fn summary(spec: &ProbeSpec, frame_len: usize) -> String {
    let ep = |ip: IpAddr, port: Option<u16>| match (ip, port) {
        (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
        (a, Some(p)) => format!("{a}:{p}"),
        (a, None) => a.to_string(),
    };
    let ports = spec.transport.ports();
    let detail = match spec.transport {
        Transport::Icmp { id, sequence } => format!("echo request id {id} seq {sequence}"),
        Transport::Tcp { flags, seq, .. } => format!("flags {} seq {seq}", tcp_flag_names(flags)),
        Transport::Udp { .. } => "length 8".to_string(),
        Transport::Sctp { initiate_tag, .. } => format!("INIT initiate-tag {initiate_tag:#010x}"),
    };
    let ident = if spec.is_ipv6() {
        format!("flowlabel {:#07x}", spec.flow_label)
    } else {
        format!("id {} flags {:#x}", spec.ipv4_id, spec.ipv4_flags)
    };
    format!(
        "probe tag {} (tos {:#04x}): {} {} > {} {detail}, ttl {}, {ident}; {frame_len}-byte frame {} > {}",
        spec.tag,
        spec.tag.tos(),
        spec.transport.name().to_uppercase(),
        ep(spec.src_ip, ports.map(|p| p.0)),
        ep(spec.dst_ip, ports.map(|p| p.1)),
        spec.ttl,
        spec.src_mac,
        spec.dst_mac,
    )
}

fn tcp_flag_names(flags: u8) -> String {
    const NAMES: [(u8, char); 8] =
        [(0x01, 'F'), (0x02, 'S'), (0x04, 'R'), (0x08, 'P'), (0x10, '.'), (0x20, 'U'), (0x40, 'E'), (0x80, 'W')];
    let s: String = NAMES.iter().filter(|(b, _)| flags & b != 0).map(|(_, c)| *c).collect();
    format!("[{}]", if s.is_empty() { "none" } else { &s })
}

/// Runs `hoptrace craft`.
pub fn run(args: &CraftArgs, quiet: bool) -> Outcome {
    super::check_output_name(&args.output)?;
    let req = request(args)?;
    let cluster = match &args.cluster {
        Some(p) => Some((ClusterInfo::load(p)?, p.display().to_string())),
        None => None,
    };
    for problem in cluster.iter().flat_map(|(c, _)| &c.problems) {
        eprintln!("hoptrace: warning: {problem}");
    }
    let mut rng = match args.seed {
        Some(s) => ProbeRng::from_seed(s),
        None => ProbeRng::from_entropy(),
    };
    let resolved = resolve(&req, cluster.as_ref().map(|(c, f)| (c as &dyn Names, f.as_str())), &mut rng)?;
    let spec = &resolved.spec;
    let frame = craft_frame(spec)?;
    let filter = capture_filter(spec.tag, spec.is_ipv6());
    let mut probe = Probe::new(spec, &frame, filter.clone());
    probe.source = resolved.source.clone();
    probe.destination = resolved.destination.clone();
    probe.seed = args.seed;

    for w in &resolved.warnings {
        eprintln!("hoptrace: warning: {w}");
    }
    let write_err = |what: &Path, e: std::io::Error| CliError::usage(format!("{}: cannot write: {e}", what.display()));
    if let Some(pcap) = &args.pcap {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let ts = if args.seed.is_some() { Duration::from_secs(0) } else { now };
        write_output(pcap, |w| write_pcap(w, &[(ts, &frame)])).map_err(|e| write_err(pcap, e))?;
    }
    let to_stdout = args.output.as_os_str() == "-";
    match write_output(&args.output, |w| {
        serde_json::to_writer_pretty(&mut *w, &probe)?;
        writeln!(w)
    }) {
        Ok(()) => {}
        Err(e) if is_broken_pipe(&e) => return Ok(SUCCESS),
        Err(e) => return Err(write_err(&args.output, e)),
    }
    if !quiet {
        let mut text = String::new();
        text.push_str(&summary(spec, frame.len()));
        text.push('\n');
        if !to_stdout {
            text.push_str(&format!("wrote {}\n", args.output.display()));
        }
        if let Some(pcap) = &args.pcap {
            text.push_str(&format!("wrote {}\n", pcap.display()));
        }
        text.push_str("\ncapture it on every node (start before injecting):\n  ");
        text.push_str(&tcpdump_command(&filter, &args.node));
        text.push_str("\n\nsend it from inside the source Pod's network namespace:\n  ");
        let probe_file = if to_stdout { "probe.json".to_string() } else { args.output.display().to_string() };
        text.push_str(&format!(
            "hoptrace inject {probe_file} --iface eth0 --netns-pid <PID of a process in the source Pod>\n"
        ));
        if let Some(src) = resolved.source.as_ref().and_then(|s| s.name.as_ref()) {
            let (ns, pod) = src.split_once('/').unwrap_or(("default", src));
            text.push_str(&format!(
                "  (on node {}: PID=$(crictl inspect --output go-template --template '{{{{.info.pid}}}}' $(crictl ps -q --pod $(crictl pods -q --namespace {ns} --name {pod}) | head -1)))\n",
                resolved.source.as_ref().and_then(|s| s.node.as_deref()).unwrap_or("<node>")
            ));
        }
        // Human text goes to stderr when stdout carries the document.
        let res = if to_stdout {
            std::io::stderr().write_all(text.as_bytes())
        } else {
            std::io::stdout().write_all(text.as_bytes())
        };
        if let Err(e) = res {
            if !is_broken_pipe(&e) {
                return Err(write_err(Path::new("-"), e));
            }
        }
    }
    Ok(SUCCESS)
}
