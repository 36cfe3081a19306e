#!/bin/sh
# Compressed-capture benchmark against gzip and tcpdump, in the same run (docs/capture.md,
# "Compressed captures").
#
# Generates, in $BENCH_DIR (default /tmp/hoptrace-bench; never commit these files):
#   mixed.pcap      SIZE_MB (default 1000) of the traffic of compare.sh with 40 % of every payload
#                   random, so that it compresses about 4x like real traffic
#   mixed.pcap.gz   `gzip -6`;  mixed.pcap.zst  `zstd -3`;  mixed.pcap.xz  `xz -1 -T2`
# then measures with hyperfine (warm page cache, median of RUNS runs):
#   gzip -dc mixed.pcap.gz > /dev/null                       (the decompression alone)
#   hoptrace extract -j1 mixed.pcap.gz                       (decompress on one thread, scan on another)
#   zcat mixed.pcap.gz | tcpdump -r - -w /dev/null '<craft's filter>'
#   zstd -dc / hoptrace on mixed.pcap.zst;  xz -dc / hoptrace on mixed.pcap.xz;  hoptrace on mixed.pcap
# and the peak RSS of each hoptrace run with /usr/bin/time -v.
#
# Usage: benches/compress.sh [SIZE_MB] [RUNS]     (from the crate root; needs gzip, zstd, xz, tcpdump)
set -eu
size=${1:-1000}
runs=${2:-5}
dir=${BENCH_DIR:-/tmp/hoptrace-bench}
mkdir -p "$dir"
cargo build -q --release --bin hoptrace --example gen_capture
bin=$(pwd)/target/release/hoptrace
gen=target/release/examples/gen_capture
probe="$dir/probe.json"
$bin -q craft --src-ip 10.10.1.5 --dst-ip 10.96.0.10 --src-mac 02:00:00:00:00:01 \
    --dst-mac 02:00:00:00:01:01 --proto tcp --dst-port 80 --seed 1 -o "$probe"
filter=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['captureFilter'])" "$probe")
m="$dir/mixed.pcap"
[ -f "$m" ] || $gen "$probe" "$m" "$size" 1 40
[ -f "$m.gz" ] || gzip -6 -c "$m" > "$m.gz"
[ -f "$m.zst" ] || zstd -q -3 -c "$m" > "$m.zst"
[ -f "$m.xz" ] || xz -1 -T2 -c "$m" > "$m.xz"
ls -l "$m" "$m.gz" "$m.zst" "$m.xz"
ext="$bin -q extract --node bench --probe $probe -j1"
for f in "$m" "$m.gz" "$m.zst" "$m.xz"; do $ext -o "$f.json" "$f"; done
python3 - "$m.json" "$m.gz.json" "$m.zst.json" "$m.xz.json" <<'PY'
import json, sys
docs = [json.load(open(p)) for p in sys.argv[1:]]
same = all(d["sightings"] and [dict(s, file="") for s in d["sightings"]] == [dict(s, file="") for s in docs[0]["sightings"]] for d in docs)
print(f"sightings: {len(docs[0]['sightings'])}, identical for plain, gzip, zstd, xz: {same}")
PY
hyperfine --warmup 1 --runs "$runs" --export-json "$dir/compress.json" \
    -n "gzip -dc mixed.pcap.gz >/dev/null" "gzip -dc $m.gz >/dev/null" \
    -n "hoptrace -j1 mixed.pcap.gz" "$ext -o /dev/null $m.gz" \
    -n "zcat mixed.pcap.gz | tcpdump -r - (BPF filter)" "zcat $m.gz | tcpdump -r - -w /dev/null '$filter' 2>/dev/null" \
    -n "zstd -dc mixed.pcap.zst >/dev/null" "zstd -dc $m.zst >/dev/null" \
    -n "hoptrace -j1 mixed.pcap.zst" "$ext -o /dev/null $m.zst" \
    -n "xz -dc mixed.pcap.xz >/dev/null" "xz -dc $m.xz >/dev/null" \
    -n "hoptrace -j1 mixed.pcap.xz" "$ext -o /dev/null $m.xz" \
    -n "hoptrace -j1 mixed.pcap" "$ext -o /dev/null $m"
python3 - "$dir/compress.json" "$m" <<'PY'
import json, os, sys
res = json.load(open(sys.argv[1]))["results"]
size = os.path.getsize(sys.argv[2])
print(f"\n| command | median (s) | MB/s of capture |\n|---|---|---|")
for r in res:
    print(f"| {r['command']} | {r['median']:.3f} | {size / 1e6 / r['median']:,.0f} |")
by = {r["command"]: r["median"] for r in res}
print(f"hoptrace on .gz takes {by['hoptrace -j1 mixed.pcap.gz'] / by['gzip -dc mixed.pcap.gz >/dev/null']:.2f} of gzip -dc's time")
PY
for f in "$m.gz" "$m.zst" "$m.xz"; do
    rss=$(/usr/bin/time -v $ext -o /dev/null "$f" 2>&1 | awk -F': ' '/Maximum resident/ {print $2}')
    echo "peak RSS, hoptrace -j1 $(basename "$f"): ${rss} KB"
done
