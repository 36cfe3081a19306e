#!/bin/sh
# Scan benchmark against tcpdump, in the same run (docs/capture.md, "Performance").
#
# Generates, in $BENCH_DIR (default /tmp/hoptrace-bench; never commit these files):
#   one.pcap        SIZE_MB (default 1000) of mostly Geneve traffic with 1 tagged probe per 100,000 packets
#   one.pcapng      the same traffic as pcapng (two interfaces, direction flags)
#   half-a/b.pcap   the same amount split over two files
# then measures with hyperfine (warm page cache, median of RUNS runs):
#   tcpdump -r FILE -w /dev/null '<the BPF filter craft prints>'     for one.pcap and one.pcapng
#   hoptrace extract -j1 FILE  and  -j2 FILE                         (one file: -j2 splits it in chunks)
#   hoptrace extract -j1 half-a.pcap half-b.pcap  and  -j2           (two threads over two files)
# checks that -j1 and -j2 write the same evidence, and reports the peak RSS of each hoptrace
# run with /usr/bin/time -v.
#
# Usage: benches/compare.sh [SIZE_MB] [RUNS]     (from the crate root; builds the release binary)
set -eu
size=${1:-1000}
runs=${2:-5}
dir=${BENCH_DIR:-/tmp/hoptrace-bench}
mkdir -p "$dir"
cargo build -q --release --bin hoptrace --example gen_capture
bin=target/release/hoptrace
gen=target/release/examples/gen_capture
probe="$dir/probe.json"
$bin -q craft --src-ip 10.10.1.5 --dst-ip 10.96.0.10 --src-mac 02:00:00:00:00:01 \
    --dst-mac 02:00:00:00:01:01 --proto tcp --dst-port 80 --seed 1 -o "$probe"
filter=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['captureFilter'])" "$probe")
[ -f "$dir/one.pcap" ] || $gen "$probe" "$dir/one.pcap" "$size" 1
[ -f "$dir/one.pcapng" ] || $gen "$probe" "$dir/one.pcapng" "$size" 1
[ -f "$dir/half-a.pcap" ] || $gen "$probe" "$dir/half-a.pcap" $((size / 2)) 2
[ -f "$dir/half-b.pcap" ] || $gen "$probe" "$dir/half-b.pcap" $((size / 2)) 3
ext="$bin -q extract --node bench --probe $probe"
for f in one.pcap one.pcapng; do
    $ext -j1 -o "$dir/$f.j1.json" "$dir/$f"
    $ext -j2 -o "$dir/$f.j2.json" "$dir/$f"
    cmp "$dir/$f.j1.json" "$dir/$f.j2.json" && echo "$f: -j1 and -j2 evidence identical"
done
ext="$ext -o /dev/null"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$dir/results.json" \
    -n "tcpdump one.pcap (BPF filter)" "tcpdump -r $dir/one.pcap -w /dev/null '$filter'" \
    -n "hoptrace -j1 one.pcap" "$ext -j1 $dir/one.pcap" \
    -n "hoptrace -j2 one.pcap" "$ext -j2 $dir/one.pcap" \
    -n "tcpdump one.pcapng (BPF filter)" "tcpdump -r $dir/one.pcapng -w /dev/null '$filter'" \
    -n "hoptrace -j1 one.pcapng" "$ext -j1 $dir/one.pcapng" \
    -n "hoptrace -j2 one.pcapng" "$ext -j2 $dir/one.pcapng" \
    -n "hoptrace -j1 half-a/b.pcap" "$ext -j1 $dir/half-a.pcap $dir/half-b.pcap" \
    -n "hoptrace -j2 half-a/b.pcap" "$ext -j2 $dir/half-a.pcap $dir/half-b.pcap"
python3 - "$dir/results.json" "$dir/one.pcap" <<'PY'
import json, os, sys
res = json.load(open(sys.argv[1]))["results"]
size = os.path.getsize(sys.argv[2])
print(f"\n| command | median (s) | MB/s |\n|---|---|---|")
for r in res:
    print(f"| {r['command']} | {r['median']:.3f} | {size / 1e6 / r['median']:,.0f} |")
by = {r["command"]: r["median"] for r in res}
for f in ("one.pcap", "one.pcapng", "half-a/b.pcap"):
    print(f"{f}: -j2 is {by['hoptrace -j1 ' + f] / by['hoptrace -j2 ' + f]:.2f}x -j1")
PY
for f in one.pcap one.pcapng; do
    for j in 1 2; do
        rss=$(/usr/bin/time -v $ext -j$j "$dir/$f" 2>&1 | awk -F': ' '/Maximum resident/ {print $2}')
        echo "peak RSS, hoptrace -j$j $f: ${rss} KB"
    done
done
echo "CPU time (user + sys, s):"
for f in one.pcap one.pcapng; do
    /usr/bin/time -f "  tcpdump $f:      %U + %S" tcpdump -r "$dir/$f" -w /dev/null "$filter" 2>&1 | grep -v '^reading'
    /usr/bin/time -f "  hoptrace -j1 $f: %U + %S" $ext -j1 "$dir/$f" 2>&1
    /usr/bin/time -f "  hoptrace -j2 $f: %U + %S" $ext -j2 "$dir/$f" 2>&1
done
