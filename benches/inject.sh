#!/usr/bin/env bash
# Whole-process timings of `hoptrace inject` (hyperfine) against a named baseline: the same frame
# sent by Python through an AF_PACKET socket inside the namespace (`ip netns exec NS python3`).
# Also measures how closely --interval is kept (gaps between send records of 200 copies 1 ms apart).
# Needs root, iproute2, hyperfine, python3 and a release build (cargo build --release).
# Usage: benches/inject.sh [path/to/hoptrace]      Takes about 20 s. Creates and removes its own netns.
set -euo pipefail
BIN=${1:-$(dirname "$0")/../target/release/hoptrace}
N=hb$$
T=$(mktemp -d)
cleanup() { ip netns del ${N}a 2>/dev/null || true; ip netns del ${N}b 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
for s in a b; do
  ip netns add $N$s
  ip netns exec $N$s sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add ${N}va netns ${N}a type veth peer name ${N}vb netns ${N}b
ip -n ${N}a link set ${N}va up
ip -n ${N}b link set ${N}vb up
"$BIN" craft -q --src-ip 10.10.1.5 --dst-ip 10.10.2.5 --src-mac 02:00:00:00:01:05 \
  --dst-mac 02:00:00:00:01:01 --proto udp --dst-port 53 --seed 1 -o "$T/probe.json" 2>/dev/null
HEX=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['frame']['hex'])" "$T/probe.json")
cat > "$T/send.py" <<PY
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("${N}va", 0))
s.send(bytes.fromhex("$HEX"))
PY
hyperfine -N --warmup 3 --runs 50 \
  -n "hoptrace inject --netns (1 copy, recorded with --log)" \
  "$BIN inject $T/probe.json --iface ${N}va --netns ${N}a -q --log $T/sends.jsonl" \
  -n "hoptrace inject --netns --dry-run" \
  "$BIN inject $T/probe.json --iface ${N}va --netns ${N}a -q --dry-run" \
  -n "baseline: ip netns exec + python3 AF_PACKET send" \
  "ip netns exec ${N}a python3 $T/send.py"
rm -f "$T/sends.jsonl"
"$BIN" inject "$T/probe.json" --iface ${N}va --netns ${N}a -q --count 200 --interval 1ms --log "$T/sends.jsonl"
python3 - "$T/sends.jsonl" <<'PY'
import json, statistics, sys
t = [json.loads(l)["timeNs"] for l in open(sys.argv[1])]
gaps = [(b - a) / 1e3 for a, b in zip(t, t[1:])]
drift = (t[-1] - t[0]) / 1e3 - 199 * 1000
print(f"--interval 1ms, 200 copies: gap median {statistics.median(gaps):.1f} us, "
      f"min {min(gaps):.1f}, max {max(gaps):.1f}, stdev {statistics.pstdev(gaps):.1f} us; "
      f"total drift {drift:.1f} us")
PY
