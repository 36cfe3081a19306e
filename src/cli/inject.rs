//! `hoptrace inject`: send the crafted probe from a node, usually from inside the source Pod's
//! network namespace, and record when it was sent; or print the equivalent OVS packet-out.

use super::exit::{is_broken_pipe, CliError, SUCCESS};
use super::Outcome;
use crate::addr::MacAddr;
use crate::export::write_output;
use crate::inject::clock::rfc3339_ns;
use crate::inject::copies::{apply_macs, MacOverrides};
use crate::inject::packet_out::packet_out_command;
use crate::inject::send::Ready;
use crate::inject::{inject, InjectError, InjectPlan, NetnsTarget, SentCopy};
use crate::probe::resolve::{PLACEHOLDER_DST_MAC, PLACEHOLDER_SRC_MAC};
use crate::probe::{Probe, SendRecord};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Exit code after SIGINT / SIGTERM between copies (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// Set by the signal handler; the send loop stops before the next copy.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM stop the run between copies, so that the copies already sent are
/// still recorded.
fn stop_on_signals() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only stores to an atomic (async-signal-safe).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = request_stop as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The most copies one run sends: a probe is a handful of frames, never a flood.
pub const MAX_COUNT: u32 = 1000;

/// Arguments of `hoptrace inject`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # from inside the source Pod's network namespace (PID of a process in the
  # Pod)
  hoptrace inject probe.json --iface eth0 --netns-pid 12345
  # three copies 200 ms apart, each with its own IPv4 ID, source MAC taken
  # from the interface
  hoptrace inject probe.json --iface eth0 --netns-pid 12345 --count 3 \\
      --interval 200ms --vary-id --src-mac-from-iface
  # a namespace made by `ip netns add`, checks only
  hoptrace inject probe.json --iface veth0 --netns pod1 --dry-run
  # print the OVS packet-out that injects the same frame at OVS port 5 of
  # br-int (Antrea's way)
  hoptrace inject probe.json --print-packet-out br-int 5 \\
      --src-mac 02:00:0a:0a:01:05

Send records (time in ns, interface, namespace, copy, IPv4 ID / flow label)
are appended to the probe file's `sends`, or to --log as JSON lines. Exit 2
when the interface is missing, down or too small for the frame, or when the
process lacks CAP_NET_RAW; nothing is sent then.")]
pub struct InjectArgs {
    /// The probe document written by `hoptrace craft`.
    #[arg(value_name = "PROBE.json")]
    pub probe: PathBuf,
    /// Interface to send on, as named inside the namespace (no default).
    #[arg(long, value_name = "IF", required_unless_present = "print_packet_out")]
    pub iface: Option<String>,
    /// Enter this network namespace first: a name under /var/run/netns, or a path.
    #[arg(long, value_name = "NAME|PATH", conflicts_with = "netns_pid")]
    pub netns: Option<String>,
    /// Enter the network namespace of this process (/proc/PID/ns/net), e.g. a Pod's container.
    #[arg(long, value_name = "PID")]
    pub netns_pid: Option<u32>,
    /// How many copies to send (1..=1000).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_COUNT)))]
    pub count: u32,
    /// Pause between copies: a number with a unit, ns, us, ms, s or m (`100ms`, `1.5s`).
    #[arg(long, default_value = "100ms", value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Duration,
    /// Give every copy its own IPv4 ID / IPv6 flow label (copy 1 keeps the probe's), recorded per copy.
    #[arg(long)]
    pub vary_id: bool,
    /// Replace the frame's source MAC with the interface's own (the Pod's eth0 MAC, as SpoofGuard wants).
    #[arg(long)]
    pub src_mac_from_iface: bool,
    /// Replace the frame's source MAC with this one.
    #[arg(long, value_name = "MAC", conflicts_with = "src_mac_from_iface")]
    pub src_mac: Option<MacAddr>,
    /// Replace the frame's destination MAC.
    #[arg(long, value_name = "MAC")]
    pub dst_mac: Option<MacAddr>,
    /// Check namespace, interface, MTU and capability and print what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Append the send records to this file as JSON lines instead of to the probe file.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Print (do not run) the `ovs-ofctl packet-out` that injects the frame at OVS port PORT of BRIDGE.
    #[arg(
        long,
        num_args = 2,
        value_names = ["BRIDGE", "PORT"],
        conflicts_with_all = ["iface", "netns", "netns_pid", "src_mac_from_iface", "dry_run", "log", "vary_id", "count", "interval"]
    )]
    pub print_packet_out: Option<Vec<String>>,
}

/// Parses `--interval`: a decimal number followed by `ns`, `us` (or `µs`), `ms`, `s` or `m`.
/// Exact (integer arithmetic); fractions finer than a nanosecond are dropped.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit_ns: u128 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "" => return Err(format!("{s:?}: give a unit, e.g. 100ms, 1s, 250us")),
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ns, us, ms, s or m)")),
    };
    let not_a_number = || format!("{s:?}: not a number followed by a unit");
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') || int.len() > 12 {
        return Err(not_a_number());
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| not_a_number())? };
    // Digits beyond the 18th cannot matter at nanosecond resolution for these units.
    let frac = &frac[..frac.len().min(18)];
    let frac_ns = if frac.is_empty() {
        0
    } else {
        let digits: u128 = frac.parse().map_err(|_| not_a_number())?;
        digits * unit_ns / 10u128.pow(frac.len() as u32)
    };
    let total = int * unit_ns + frac_ns;
    if total > 3_600_000_000_000 {
        return Err(format!("{s:?}: more than an hour between copies"));
    }
    Ok(Duration::from_nanos(total as u64))
}

/// The host name, for the send records.
fn host_name() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let h = h.trim();
    (!h.is_empty()).then(|| h.to_string())
}

/// Runs `hoptrace inject`.
pub fn run(args: &InjectArgs, quiet: bool) -> Outcome {
    let probe = Probe::load(&args.probe)?;
    if let Some(po) = &args.print_packet_out {
        return print_packet_out(&probe, po, MacOverrides { src: args.src_mac, dst: args.dst_mac }, quiet);
    }
    warn_placeholder_macs(&probe, args);
    let Some(iface) = args.iface.as_deref() else {
        return Err(CliError::usage("--iface is required: hoptrace never picks an interface for you"));
    };
    let netns = match (&args.netns, args.netns_pid) {
        (Some(n), _) => Some(NetnsTarget::from_arg(n).map_err(CliError::usage)?),
        (None, Some(pid)) => Some(NetnsTarget::Pid(pid)),
        (None, None) => None,
    };
    let plan = InjectPlan {
        probe: &probe,
        iface,
        netns: netns.as_ref(),
        count: args.count,
        interval: args.interval,
        vary_id: args.vary_id,
        src_mac_from_iface: args.src_mac_from_iface,
        src_mac: args.src_mac,
        dst_mac: args.dst_mac,
        dry_run: args.dry_run,
        cancel: Some(&STOP),
    };
    stop_on_signals();
    let netns_label = netns.as_ref().map(NetnsTarget::label);
    let where_ = match &netns_label {
        Some(l) => format!("{iface} in netns {l}"),
        None => iface.to_string(),
    };
    let host = host_name();
    // Open --log before sending, so that a bad path is refused while nothing has gone out.
    let log = match (&args.log, args.dry_run) {
        (Some(path), false) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| CliError::usage(format!("{}: cannot open the send log: {e}", path.display())))?,
        ),
        _ => None,
    };
    let mut sent: Vec<SentCopy> = Vec::new();
    let mut macs_used = MacOverrides::default();
    let verb = if args.dry_run { "would send" } else { "sent" };
    let result = inject(
        &plan,
        |r: &Ready| {
            macs_used = r.macs;
            if !quiet {
                let line = ready_line(args, &where_, r);
                println_ok(&line);
            }
        },
        |c: &SentCopy| {
            if !quiet {
                let ident = match (c.ipv4_id, c.flow_label) {
                    (Some(id), _) => format!(", ipv4 id {id:#06x}"),
                    (None, Some(l)) => format!(", flow label {l:#07x}"),
                    _ => String::new(),
                };
                println_ok(&format!(
                    "{verb} copy {}/{} at {} ({} ns){ident}",
                    c.copy,
                    args.count,
                    rfc3339_ns(c.time_ns),
                    c.time_ns
                ));
            }
            sent.push(c.clone());
        },
    );
    if args.dry_run {
        return match result {
            Ok(()) => Ok(SUCCESS),
            Err(e @ InjectError::Interrupted { .. }) => Err(CliError { code: INTERRUPTED, message: e.to_string() }),
            Err(e) => Err(CliError::usage(e.to_string())),
        };
    }
    let records: Vec<SendRecord> = sent
        .iter()
        .map(|c| SendRecord {
            time_ns: c.time_ns,
            time: rfc3339_ns(c.time_ns),
            interface: iface.to_string(),
            netns: netns_label.clone(),
            copy: c.copy,
            ipv4_id: c.ipv4_id,
            flow_label: c.flow_label,
            host: host.clone(),
            src_mac: macs_used.src,
            dst_mac: macs_used.dst,
        })
        .collect();
    // Record what went out even when a later copy failed.
    let recorded = if records.is_empty() { Ok(()) } else { record(args, log, &records, quiet) };
    let failure = match result {
        Ok(()) => return recorded.map(|()| SUCCESS),
        Err(e @ InjectError::Interrupted { .. }) => CliError { code: INTERRUPTED, message: e.to_string() },
        Err(e) => CliError::usage(e.to_string()),
    };
    if let Err(r) = recorded {
        eprintln!("hoptrace: error: {r}");
    }
    Err(failure)
}

/// Warns when the frame would leave with one of craft's placeholder MACs: SpoofGuard drops a
/// frame whose source MAC is not the Pod's, and a wrong destination MAC misroutes it.
fn warn_placeholder_macs(probe: &Probe, args: &InjectArgs) {
    let Ok(frame) = probe.frame_bytes() else { return };
    let mac_at = |at: usize| frame.get(at..at + 6).and_then(|b| <[u8; 6]>::try_from(b).ok()).map(MacAddr);
    let src = if args.src_mac_from_iface { None } else { args.src_mac.or(mac_at(6)) };
    let dst = args.dst_mac.or(mac_at(0));
    if src == Some(PLACEHOLDER_SRC_MAC) {
        eprintln!(
            "hoptrace: warning: the frame's source MAC is craft's placeholder {PLACEHOLDER_SRC_MAC}; SpoofGuard drops \
             it unless it is the source Pod's MAC: add --src-mac-from-iface (inside the Pod) or --src-mac"
        );
    }
    if dst == Some(PLACEHOLDER_DST_MAC) {
        eprintln!(
            "hoptrace: warning: the frame's destination MAC is craft's placeholder {PLACEHOLDER_DST_MAC}; Antrea \
             expects the Node's antrea-gw0 MAC (or the destination Pod's on the same Node): add --dst-mac"
        );
    }
}

/// The line printed once the checks passed: what goes where, how often, with which MACs.
fn ready_line(args: &InjectArgs, where_: &str, r: &Ready) -> String {
    let mut line = if args.dry_run {
        format!("dry run: checks passed for {where_} (MTU {}); nothing is sent", r.mtu)
    } else if args.count == 1 {
        format!("injecting the {}-byte probe frame on {where_} (MTU {})", r.frame_len, r.mtu)
    } else {
        format!(
            "injecting {} copies of the {}-byte probe frame on {where_} (MTU {}), {} apart",
            args.count,
            r.frame_len,
            r.mtu,
            humantime(args.interval)
        )
    };
    if let Some(src) = r.macs.src {
        let origin = if args.src_mac_from_iface { format!(" (from {})", r.iface) } else { String::new() };
        line.push_str(&format!("; source MAC {src}{origin}"));
    }
    if let Some(dst) = r.macs.dst {
        line.push_str(&format!("; destination MAC {dst}"));
    }
    line
}

/// Appends the records to `--log` (JSON lines) or to the probe file's `sends` (atomically).
/// `log` is the `--log` file, opened before anything was sent.
fn record(args: &InjectArgs, log: Option<std::fs::File>, records: &[SendRecord], quiet: bool) -> Result<(), CliError> {
    let write_err = |p: &Path, e: std::io::Error| {
        CliError::usage(format!(
            "{}: cannot record the sends: {e} (the copies were sent; their times are printed above)",
            p.display()
        ))
    };
    if let (Some(mut f), Some(log)) = (log, &args.log) {
        let mut text = String::new();
        for r in records {
            text.push_str(&serde_json::to_string(r).map_err(|e| CliError::usage(e.to_string()))?);
            text.push('\n');
        }
        f.write_all(text.as_bytes()).map_err(|e| write_err(log, e))?;
        if !quiet {
            println_ok(&format!("recorded {} send(s) in {}", records.len(), log.display()));
        }
        return Ok(());
    }
    // Re-read just before writing, so that sends recorded meanwhile by another run survive.
    let mut probe = Probe::load(&args.probe)?;
    probe.sends.extend_from_slice(records);
    write_output(&args.probe, |w| {
        serde_json::to_writer_pretty(&mut *w, &probe)?;
        writeln!(w)
    })
    .map_err(|e| write_err(&args.probe, e))?;
    if !quiet {
        println_ok(&format!("recorded {} send(s) in {}", records.len(), args.probe.display()));
    }
    Ok(())
}

fn print_packet_out(probe: &Probe, po: &[String], macs: MacOverrides, quiet: bool) -> Outcome {
    let [bridge, port] = po else {
        return Err(CliError::usage("--print-packet-out takes BRIDGE PORT"));
    };
    let mut frame = probe.frame_bytes().map_err(CliError::usage)?;
    apply_macs(&mut frame, macs);
    let cmd = packet_out_command(bridge, port, &frame);
    if let Err(e) = writeln!(std::io::stdout(), "{cmd}") {
        if !is_broken_pipe(&e) {
            return Err(CliError::usage(format!("stdout: {e}")));
        }
    }
    if !quiet {
        eprintln!(
            "hoptrace: run it where ovs-ofctl reaches {bridge} (on an Antrea node: kubectl exec -n kube-system \
             <antrea-agent pod> -c antrea-ovs -- ...); PORT is the source Pod's OVS port \
             (`ovs-vsctl get Interface <pod interface> ofport`). The frame never crosses the Pod's veth."
        );
    }
    Ok(SUCCESS)
}

/// A line on stdout; a closed pipe is not an error (the send still happened).
fn println_ok(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// `100ms`, `1s`, `250us` for messages.
fn humantime(d: Duration) -> String {
    let ns = d.as_nanos();
    match ns {
        0 => "0s".to_string(),
        n if n % 1_000_000_000 == 0 => format!("{}s", n / 1_000_000_000),
        n if n % 1_000_000 == 0 => format!("{}ms", n / 1_000_000),
        n if n % 1_000 == 0 => format!("{}us", n / 1_000),
        n => format!("{n}ns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("10ns"), Ok(Duration::from_nanos(10)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0.000000001s"), Ok(Duration::from_nanos(1)));
        assert_eq!(parse_duration("1.0000000009s"), Ok(Duration::from_nanos(1_000_000_000)));
        assert_eq!(parse_duration("60m"), Ok(Duration::from_secs(3600)));
        for bad in
            ["", "100", "ms", ".ms", "1h", "-1s", "1..5s", "1.2.3s", "1e3s", "2 ms", "61m", "99999999999999999999s"]
        {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(humantime(Duration::from_millis(100)), "100ms");
        assert_eq!(humantime(Duration::from_secs(2)), "2s");
        assert_eq!(humantime(Duration::from_micros(250)), "250us");
        assert_eq!(humantime(Duration::ZERO), "0s");
    }
}

#[cfg(test)]
mod properties {
    use super::parse_duration;
    use proptest::prelude::*;
    use std::time::Duration;

    proptest! {
        /// Any string: an answer, never a panic, never more than an hour.
        #[test]
        fn parse_duration_never_panics(s in "\\PC{0,24}") {
            if let Ok(d) = parse_duration(&s) {
                prop_assert!(d <= Duration::from_secs(3600));
            }
        }

        /// Printed milliseconds and fractional seconds parse back exactly.
        #[test]
        fn values_round_trip(ms in 0u64..3_600_000, ns in 0u64..1_000_000_000) {
            prop_assert_eq!(parse_duration(&format!("{ms}ms")), Ok(Duration::from_millis(ms)));
            prop_assert_eq!(parse_duration(&format!("0.{ns:09}s")), Ok(Duration::from_nanos(ns)));
        }
    }
}
