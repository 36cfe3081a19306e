#!/bin/sh
# analyze benchmark: a 3-node input with a 1 GB capture per node (README, "Performance").
#
# Builds, in $BENCH_DIR (default /tmp/hoptrace-analyze-bench; never commit these files), a scenario
# directory from samples/pod-to-service-remote (its two nodes, flows, counters and real captures)
# plus a third node, and adds to every node a SIZE_MB (default 1000) capture of mostly Geneve
# traffic with other Traceflow-tagged packets mixed in (same DSCP, another probe's fingerprint, so
# every tagged packet must be decapsulated and fingerprinted). Then times, with hyperfine (warm
# page cache, median of RUNS runs):
#   hoptrace analyze DIR --format json -o /dev/null
# and reports the peak RSS.
#
# Usage: benches/analyze.sh [SIZE_MB] [RUNS]     (from the crate root; builds the release binary)
set -eu
size=${1:-1000}
runs=${2:-3}
dir=${BENCH_DIR:-/tmp/hoptrace-analyze-bench}
cargo build -q --release --bin hoptrace --example gen_capture
bin=$PWD/target/release/hoptrace
gen=$PWD/target/release/examples/gen_capture
scenario=$dir/scenario
rm -rf "$scenario"
mkdir -p "$scenario"
cp -r samples/pod-to-service-remote/. "$scenario/"
mkdir -p "$scenario/k8s-node3"
# The third node: the second's pipeline under another name, not on the probe's path.
for f in flows groups ovsports networkpolicies appliedtogroups addressgroups; do
    cp "samples/pod-to-service-remote/k8s-node2/$f" "$scenario/k8s-node3/$f"
done
other="$dir/other-probe.json"
$bin -q craft --src-ip 10.10.1.5 --dst-ip 10.96.0.20 --src-mac 02:00:00:00:00:01 \
    --dst-mac 02:00:00:00:01:01 --proto tcp --dst-port 80 --seed 99 -o "$other"
i=1
for n in k8s-node1 k8s-node2 k8s-node3; do
    big="$dir/$n-bulk.pcap"
    [ -f "$big" ] || $gen "$other" "$big" "$size" "$i"
    ln -sf "$big" "$scenario/$n/${n}_bulk.pcap"
    i=$((i + 1))
done
du -shL "$scenario"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$dir/results.json" \
    -n "hoptrace analyze (3 nodes x ${size} MB)" "$bin analyze $scenario --format json -o /dev/null"
rss=$(/usr/bin/time -v "$bin" analyze "$scenario" --format json -o /dev/null 2>&1 | awk -F': ' '/Maximum resident/ {print $2}')
echo "peak RSS: ${rss} KB"
"$bin" analyze "$scenario" --format table | head -8
