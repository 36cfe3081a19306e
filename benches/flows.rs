//! Parsing speed of flow dumps: a generated 100 k-flow Antrea pipeline (numeric tables), with and
//! without statistics, and in the same run OVS's own Python parser (`ovs.flow.ofp.OFPFlow` from
//! python3-openvswitch) on the same no-stats text. Targets: ≥ 2 M flows/s and ≥ 75× Python.
//!
//! `cargo bench --bench flows` (set `HOPTRACE_BENCH_PY_FLOWS` to change how many flows Python
//! parses; default 10 000, its rate does not depend on the count).

mod synth;

use criterion::{Criterion, Throughput};
use hoptrace::ovs::FlowDump;
use std::hint::black_box;
use std::time::{Duration, Instant};

const N: usize = 100_000;

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

    // Same-run comparison with OVS's Python parser.
    let ours = (0..3)
        .map(|_| {
            let t = Instant::now();
            black_box(FlowDump::parse(&plain, "gen").unwrap());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    let ours_rate = N as f64 / ours;
    let py_n = std::env::var("HOPTRACE_BENCH_PY_FLOWS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000usize);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ovs_python_parse.py");
    let out =
        std::process::Command::new("/usr/bin/python3").arg(&script).arg(&plain_path).arg(py_n.to_string()).output();
    println!("hoptrace FlowDump::parse: {N} flows in {:.1} ms = {:.2} M flows/s", ours * 1e3, ours_rate / 1e6);
    match out {
        Ok(o) if o.status.success() => {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
            let py_rate = v["flows_per_s"].as_f64().unwrap_or(0.0);
            println!(
                "ovs.flow.ofp.OFPFlow (python3-openvswitch): {} flows in {:.2} s = {:.0} flows/s ({} parse errors)",
                v["flows"],
                v["seconds"].as_f64().unwrap_or(0.0),
                py_rate,
                v["errors"]
            );
            if py_rate > 0.0 {
                println!("speed-up: {:.0}x", ours_rate / py_rate);
            }
        }
        Ok(o) => println!(
            "python parser not run: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => println!("python parser not run: {e}"),
    }
}
