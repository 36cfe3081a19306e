//! `hoptrace trace`: simulate a packet through a node's OVS pipeline (and on across the tunnel
//! to the peer node), printing the path like `ovs-appctl ofproto/trace` or as JSON.

use super::exit::{is_broken_pipe, CliError, DROPPED, INCOMPLETE, SUCCESS};
use super::sim_args::SimArgs;
use super::Outcome;
use crate::antrea::node::bucket_endpoint;
use crate::antrea::observe::TerminalState;
use crate::antrea::simulated::{cluster, terminal_state, SimNode};
use crate::bundle::agent::NodeArtifacts;
use crate::export::write_output;
use crate::ovs::flow::read_text;
use crate::ovs::group::GroupDump;
use crate::ovs::sim::multinode::{trace_across, ClusterTrace, Stop};
use crate::ovs::sim::trace::Outcome as SimOutcome;
use crate::ovs::sim::Packet;
use crate::ovs::{FlowDump, PortTable};
use crate::probe::Probe;
use crate::trace::model::assemble;
use crate::trace::simulate::probe_packet;
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `ofproto/trace`-like text.
    Text,
    /// One JSON document.
    Json,
}

/// Arguments of `hoptrace trace`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # One node: flows (named or numbered tables), groups and ports as ovs-ofctl
  # prints them
  hoptrace trace --flows flows.txt --groups groups.txt --ports ports.txt \\
      --in-port client-6-3353ef \\
      'tcp,dl_src=5e:b5:e3:a6:90:b7,nw_src=10.10.0.26,nw_dst=10.10.0.24'
  # Across nodes: one directory per node (flows, groups, ovsports); starts on
  # the first
  hoptrace trace --node-dir node1 --node-dir node2 --in-port 3 \\
      'udp,nw_src=10.10.1.5,nw_dst=10.10.2.5,udp_dst=53'
  # Machine-readable, the Service endpoint the captures showed, an established
  # connection in zone 65520
  hoptrace trace --flows f --groups g --endpoint 10.10.1.6 \\
      --ct-state 65520:+est+trk --format json --in-port 36 'tcp,...'
  # A support bundle's node archives, and the probe crafted earlier
  hoptrace trace --node-dir agent_node1.tar.gz --node-dir agent_node2.tar.gz \\
      --in-port 5 --probe probe.json

Exit codes: 0 forwarded or delivered, 1 dropped, 2 usage or input error, 3
incomplete (NORMAL, limits, unknown tunnel peer).")]
pub struct TraceArgs {
    /// The node's flows (`ovs-ofctl dump-flows`, with or without --names and stats).
    #[arg(long, value_name = "FILE", conflicts_with = "node_dir")]
    pub flows: Option<PathBuf>,
    /// The node's groups (`ovs-ofctl dump-groups`).
    #[arg(long, value_name = "FILE", requires = "flows")]
    pub groups: Option<PathBuf>,
    /// The node's ports (`ovs-ofctl dump-ports-desc` / `show` / Antrea `ovsports`).
    #[arg(long, value_name = "FILE", requires = "flows")]
    pub ports: Option<PathBuf>,
    /// A node: a directory of loose files (flows, groups, ovsports, agentinfo) or an Antrea
    /// support bundle's `agent_<node>.tar.gz`; repeat for each node. The trace starts on the first.
    #[arg(long = "node-dir", value_name = "DIR")]
    pub node_dir: Vec<PathBuf>,
    /// Transport IP of a node, when the flows cannot tell it: `NODE=IP` (repeatable).
    #[arg(long = "node-ip", value_name = "NODE=IP")]
    pub node_ip: Vec<String>,
    /// Ingress port: number or name.
    #[arg(long = "in-port", value_name = "PORT")]
    pub in_port: Option<String>,
    /// A probe document (`hoptrace craft -o probe.json`) instead of FLOW.
    #[arg(long, value_name = "FILE", conflicts_with = "packet")]
    pub probe: Option<PathBuf>,
    /// Conntrack, bucket and endpoint choices.
    #[command(flatten)]
    pub sim: SimArgs,
    /// Largest number of nodes to follow.
    #[arg(long, default_value_t = 8)]
    pub max_hops: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Output file (`-` = stdout).
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// The packet in `ovs-ofctl` flow syntax (`tcp,nw_src=..,nw_dst=..,tp_dst=80,nw_tos=28`).
    /// `nw_ttl` defaults to 64 when not given.
    #[arg(value_name = "FLOW")]
    pub packet: Option<String>,
}

/// The JSON document.
#[derive(Serialize)]
struct Report<'a> {
    hops: Vec<HopReport<'a>>,
    stop: &'a Stop,
}

#[derive(Serialize)]
struct HopReport<'a> {
    node: &'a str,
    #[serde(flatten)]
    trace: &'a crate::ovs::sim::Trace,
    terminal: Option<TerminalJson>,
}

/// [`TerminalState`] in JSON (register values as Antrea names them).
#[derive(Serialize)]
struct TerminalJson {
    table: String,
    reg0: String,
    reg1: u32,
    reg3: u32,
    reg5: u32,
    reg6: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    ct_nw_src: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ct_nw_dst: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tun_dst: Option<IpAddr>,
    pkt_mark: u32,
}

impl From<TerminalState> for TerminalJson {
    fn from(t: TerminalState) -> Self {
        TerminalJson {
            table: t.table,
            reg0: format!("{:#x}", t.reg0),
            reg1: t.reg1,
            reg3: t.reg3,
            reg5: t.reg5,
            reg6: t.reg6,
            ct_nw_src: t.ct_nw_src,
            ct_nw_dst: t.ct_nw_dst,
            tun_dst: t.tun_dst,
            pkt_mark: t.pkt_mark,
        }
    }
}

fn load_nodes(args: &TraceArgs) -> Result<Vec<SimNode>, CliError> {
    let no_flows = |d: &std::path::Path| CliError::usage(format!("{}: no flows", d.display()));
    if let Some(f) = &args.flows {
        let name = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "node".into());
        let dump = FlowDump::load(f)?;
        for w in dump.warnings() {
            eprintln!("hoptrace: warning: {w}");
        }
        let groups = match &args.groups {
            Some(g) => {
                let d = GroupDump::parse(&read_text(g)?, &g.display().to_string())?;
                for w in d.warnings() {
                    eprintln!("hoptrace: warning: {w}");
                }
                d
            }
            None => GroupDump::default(),
        };
        let artifacts = NodeArtifacts {
            node: name.clone(),
            origin: f.display().to_string(),
            flows: Some(dump),
            groups_skipped: groups.skipped_count(),
            groups_note: groups.missing_group_note(),
            groups: groups.groups,
            ports: args.ports.as_deref().map(PortTable::load).transpose()?,
            ..NodeArtifacts::default()
        };
        return Ok(vec![assemble(&name, &artifacts).ok_or_else(|| no_flows(f))?]);
    }
    if args.node_dir.is_empty() {
        return Err(CliError::usage("give --flows FILE or --node-dir DIR (see --help)"));
    }
    args.node_dir
        .iter()
        .map(|d| {
            let a = NodeArtifacts::open(d).map_err(|e| CliError::usage(e.to_string()))?;
            for w in &a.warnings {
                eprintln!("hoptrace: warning: {w}");
            }
            assemble(&a.node, &a).ok_or_else(|| no_flows(d))
        })
        .collect()
}

/// (group id, bucket index) of every select-group bucket that selects endpoint `ip`.
fn endpoint_buckets(pl: &crate::ovs::sim::Pipeline, ip: IpAddr) -> Vec<(u32, usize)> {
    let mut out: Vec<(u32, usize)> = pl
        .groups
        .values()
        .flat_map(|g| {
            g.buckets
                .iter()
                .enumerate()
                .filter(move |(_, b)| bucket_endpoint(b).is_some_and(|e| e.ip == ip))
                .map(move |(i, _)| (g.id, i))
        })
        .collect();
    out.sort_unstable();
    out
}

/// The input port named by --in-port (a number, or a name in the node's port table).
fn in_port_number(spec: &str, node: &SimNode) -> Result<u32, CliError> {
    if let Ok(n) = spec.parse::<u32>() {
        return Ok(n);
    }
    node.pipeline
        .ports
        .by_name(spec)
        .and_then(|p| p.ofport)
        .ok_or_else(|| CliError::usage(format!("--in-port {spec}: port {spec:?} is not in the port table")))
}

/// The packet from FLOW or --probe, with --in-port.
fn packet(args: &TraceArgs, node: &SimNode) -> Result<Packet, CliError> {
    let mut spec = match (&args.packet, &args.probe) {
        (Some(p), None) => p.clone(),
        (None, Some(path)) => {
            let probe = Probe::load(path).map_err(|e| CliError::usage(e.to_string()))?;
            let port =
                args.in_port.as_deref().ok_or_else(|| CliError::usage("give --in-port (or in_port= in FLOW)"))?;
            return Ok(probe_packet(&probe, in_port_number(port, node)?));
        }
        _ => return Err(CliError::usage("give the packet as FLOW or --probe FILE")),
    };
    if let Some(p) = &args.in_port {
        let quoted = if p.bytes().all(|b| b.is_ascii_digit()) { p.clone() } else { format!("\"{p}\"") };
        spec = format!("in_port={quoted},{spec}");
    } else if !spec.contains("in_port=") {
        return Err(CliError::usage("give --in-port (or in_port= in FLOW)"));
    }
    if !spec.contains("nw_ttl=") && (spec.contains("ip") || spec.contains("tcp") || spec.contains("udp")) {
        spec += ",nw_ttl=64";
    }
    Packet::parse(&spec, Some(&node.pipeline.ports)).map_err(|e| CliError::usage(e.to_string()))
}

/// Runs `hoptrace trace`.
pub fn run(args: &TraceArgs, quiet: bool) -> Outcome {
    super::check_output_name(&args.output)?;
    let nodes = load_nodes(args)?;
    let mut opts = args.sim.options()?;
    let mut extra = Vec::new();
    for s in &args.node_ip {
        let (n, ip) = s.split_once('=').ok_or_else(|| CliError::usage(format!("--node-ip {s}: use NODE=IP")))?;
        let ip: IpAddr = ip.parse().map_err(|_| CliError::usage(format!("--node-ip {s}: bad IP")))?;
        extra.push((n.to_string(), ip));
    }
    for ep in &args.sim.endpoint {
        let mut found = false;
        for n in &nodes {
            for (gid, idx) in endpoint_buckets(&n.pipeline, *ep) {
                opts.bucket_hints.entry(gid).or_insert(idx);
                found = true;
            }
        }
        if !found {
            return Err(CliError::usage(format!("--endpoint {ep}: no Service group bucket loads this endpoint")));
        }
    }
    let first = nodes.first().ok_or_else(|| CliError::usage("no node"))?;
    let pkt = packet(args, first)?;
    let refs: Vec<&SimNode> = nodes.iter().collect();
    let sim_nodes = cluster(&refs, &extra);
    let ct = trace_across(&sim_nodes, 0, pkt, &opts, args.max_hops.max(1));
    let res = write_output(&args.output, |w| write_report(w, args.format, &ct, &nodes));
    if let Err(e) = res {
        if !is_broken_pipe(&e) {
            return Err(CliError::usage(format!("{}: {e}", args.output.display())));
        }
    }
    let last = ct.hops.last().map(|h| h.trace.outcome);
    // With one node the user asked about that node only: leaving through the tunnel is its end.
    let multi = nodes.len() > 1;
    if !quiet && multi {
        if let Stop::UnknownPeer { tun_dst } = &ct.stop {
            eprintln!("hoptrace: the packet leaves through the tunnel to {tun_dst}, which is none of the given nodes");
        }
    }
    Ok(match (&ct.stop, last) {
        (Stop::UnknownPeer { .. }, _) if multi => INCOMPLETE,
        (Stop::HopLimit, _) => INCOMPLETE,
        (_, Some(SimOutcome::Forwarded | SimOutcome::Controller)) => SUCCESS,
        (_, Some(SimOutcome::Dropped)) => DROPPED,
        _ => INCOMPLETE,
    })
}

fn write_report(w: &mut dyn Write, format: Format, ct: &ClusterTrace, nodes: &[SimNode]) -> std::io::Result<()> {
    let pipeline = |name: &str| nodes.iter().find(|n| n.name == name).map(|n| &n.pipeline);
    match format {
        Format::Text => {
            for (i, h) in ct.hops.iter().enumerate() {
                if ct.hops.len() > 1 || i > 0 {
                    writeln!(w, "### node {} (hop {})", h.node, i + 1)?;
                }
                w.write_all(h.trace.to_text().as_bytes())?;
                if let Some(t) = pipeline(&h.node).and_then(|p| terminal_state(&h.trace, p)) {
                    writeln!(
                        w,
                        "Terminal: table={} reg0={:#x} reg1={} reg3={} reg5={} reg6={}{}{}",
                        t.table,
                        t.reg0,
                        t.reg1,
                        t.reg3,
                        t.reg5,
                        t.reg6,
                        t.ct_nw_dst.map(|d| format!(" ct_nw_dst={d}")).unwrap_or_default(),
                        t.tun_dst.map(|d| format!(" tun_dst={d}")).unwrap_or_default()
                    )?;
                }
                writeln!(w)?;
            }
            match &ct.stop {
                Stop::Ended => {}
                Stop::UnknownPeer { tun_dst } if nodes.len() > 1 => {
                    writeln!(w, "Stopped: tunnel peer {tun_dst} is not a given node")?
                }
                Stop::UnknownPeer { .. } => {}
                Stop::HopLimit => writeln!(w, "Stopped: hop limit")?,
            }
            Ok(())
        }
        Format::Json => {
            let hops = ct
                .hops
                .iter()
                .map(|h| HopReport {
                    node: &h.node,
                    trace: &h.trace,
                    terminal: pipeline(&h.node).and_then(|p| terminal_state(&h.trace, p)).map(TerminalJson::from),
                })
                .collect();
            serde_json::to_writer_pretty(&mut *w, &Report { hops, stop: &ct.stop })?;
            writeln!(w)
        }
    }
}
