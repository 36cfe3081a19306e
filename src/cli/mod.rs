//! The command line: argument definitions and one entry point per subcommand.

pub mod craft;
pub mod exit;
pub mod flows;
pub mod trace;

use clap::{Parser, Subcommand};
use exit::CliError;

/// Offline Traceflow for Antrea / Open vSwitch clusters.
#[derive(Debug, Parser)]
#[command(name = "hoptrace", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Print only errors and warnings (no summaries, no progress bars).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  hoptrace craft -S default/client -D default/web --cluster cluster.json -f tcp,tcp_dst=80
  hoptrace craft --src-ip 10.10.1.5 --dst-ip 10.96.0.10 --proto udp --dst-port 53 --pcap probe.pcap

Exit codes: 0 success (probe delivered), 1 probe dropped or rejected, 2 usage or input error,
3 path incomplete.";

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run; boxing buys nothing
pub enum Command {
    /// Build a DSCP-tagged probe packet the way Antrea's Traceflow does.
    Craft(craft::CraftArgs),
    /// Simulate a packet through a node's OVS pipeline (and on across the tunnel), like ofproto/trace.
    Trace(trace::TraceArgs),
    /// View flow dumps: filter by table or port, or show the flows a probe hit.
    Flows(flows::FlowsArgs),
}

/// What a command reports on success: the exit code to use.
pub type Outcome = Result<u8, CliError>;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Craft(args) => craft::run(&args, cli.quiet),
        Command::Trace(args) => trace::run(&args, cli.quiet),
        Command::Flows(args) => flows::run(&args, cli.quiet),
    }
}
