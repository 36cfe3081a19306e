//! Parsing speed of flow dumps: a generated 100 k-flow Antrea pipeline (numeric tables), with and
//! without statistics, and in the same run OVS's own Python parser (`ovs.flow.ofp.OFPFlow` from
//! python3-openvswitch) on the same no-stats text. Targets: ≥ 2 M flows/s and ≥ 75× Python.
//!
//! `cargo bench --bench flows` (set `HOPTRACE_BENCH_PY_FLOWS` to change how many flows Python
//! parses per round; default 10 000, its rate does not depend on the count). The comparison runs
//! three interleaved rounds and reports the median rate and speed-up.

mod synth;

use criterion::{Criterion, Throughput};
use hoptrace::ovs::FlowDump;
use std::hint::black_box;
use std::time::{Duration, Instant};

const N: usize = 100_000;

/// The allocator the `hoptrace` binary uses (src/main.rs), so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let plain = synth::text(&synth::pipeline(N, false), false);
    let stats = synth::text(&synth::pipeline(N, true), true);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::create_dir_all(&dir);
    let plain_path = dir.join("bench-flows-100k.txt");
    std::fs::write(&plain_path, &plain).expect("write generated dump");
    assert_eq!(FlowDump::parse(&plain, "gen").expect("generated dump parses").flows.len(), N);

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let mut g = c.benchmark_group("flows");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("parse_100k_numeric_no_stats", |b| b.iter(|| FlowDump::parse(black_box(&plain), "gen").unwrap()));
    g.bench_function("parse_100k_numeric_stats", |b| b.iter(|| FlowDump::parse(black_box(&stats), "gen").unwrap()));
    g.finish();
    c.final_summary();

    // Same-run comparison with OVS's Python parser, interleaved: this machine's speed drifts by
    // up to 2x over minutes, so each round times both parsers back to back and the ratio is taken
    // per round (median of three rounds reported).
    let py_n = std::env::var("HOPTRACE_BENCH_PY_FLOWS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000usize);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ovs_python_parse.py");
    let mut rounds: Vec<(f64, f64)> = Vec::new();
    for round in 1..=3 {
        let ours = (0..3)
            .map(|_| {
                let t = Instant::now();
                black_box(FlowDump::parse(&plain, "gen").unwrap());
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        let ours_rate = N as f64 / ours;
        println!(
            "round {round}: hoptrace FlowDump::parse: {N} flows in {:.1} ms = {:.2} M flows/s",
            ours * 1e3,
            ours_rate / 1e6
        );
        let out =
            std::process::Command::new("/usr/bin/python3").arg(&script).arg(&plain_path).arg(py_n.to_string()).output();
        match out {
            Ok(o) if o.status.success() => {
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
                let py_rate = v["flows_per_s"].as_f64().unwrap_or(0.0);
                println!(
                    "round {round}: ovs.flow.ofp.OFPFlow (python3-openvswitch): {} flows in {:.2} s = {:.0} flows/s ({} parse errors)",
                    v["flows"],
                    v["seconds"].as_f64().unwrap_or(0.0),
                    py_rate,
                    v["errors"]
                );
                if py_rate > 0.0 {
                    println!("round {round}: speed-up {:.0}x", ours_rate / py_rate);
                    rounds.push((ours_rate, ours_rate / py_rate));
                }
            }
            Ok(o) => {
                println!(
                    "python parser not run: {}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                break;
            }
            Err(e) => {
                println!("python parser not run: {e}");
                break;
            }
        }
    }
    if !rounds.is_empty() {
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "median of {} rounds: hoptrace {:.2} M flows/s, speed-up {:.0}x over OVS's Python parser",
            rounds.len(),
            median(rounds.iter().map(|r| r.0).collect()) / 1e6,
            median(rounds.iter().map(|r| r.1).collect())
        );
    }
}
